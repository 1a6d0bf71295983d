/* memory.c — sa_model_memory(): what a model holds, by kind. */
#include <stddef.h>
#include <string.h>

#include "model_internal.h"

SA_API sa_status sa_model_memory(const sa_model *m, sa_memory_info *out)
{
    sa_clear_error();
    if (!m || !out)
        return sa_fail(SA_ERR_INVALID_ARG, "sa_model_memory: %s is NULL", !m ? "model" : "out");
    /* the struct grew by `scratch`; a caller's older, shorter one gets the rest */
    const size_t oldest = offsetof(sa_memory_info, step_state) + sizeof(size_t);
    if (out->struct_size < oldest)
        return sa_model_fail(m, sa_fail(SA_ERR_INVALID_ARG, "sa_model_memory: out->struct_size %zu is smaller "
                                        "than %zu (use SA_MEMORY_INFO_INIT)", out->struct_size, oldest));
    sa_memory_info r = {sizeof r, 0, 0, 0, 0, 0, 0, 0, 0};
    r.params = 2 * m->nflat * sizeof(float);
    for (sa_node id = 0; id < m->count; id++) {
        const sa_input_buf *ib = &m->inputs[id];
        r.inputs += ib->cap * sizeof(float) + (size_t)ib->len_cap * sizeof(int32_t);
        r.step_state += m->state_cap[id];
    }
    r.values = m->plan_values;
    r.grads = m->grad_region_bytes;
    r.workspace = m->plan_ws;
    r.arena = m->arena_cap;
    r.scratch = m->plan_scratch;
    size_t keep = out->struct_size; /* a newer caller's struct keeps its extra fields */
    memcpy(out, &r, keep < sizeof r ? keep : sizeof r);
    out->struct_size = keep;
    return SA_OK;
}
