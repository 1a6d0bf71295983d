/* step.c — stateful step execution: the part of the graph that depends on a
 * stepped input runs one time step per call; the rest runs once. */
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

SA_API int32_t sa_step_position(const sa_model *m)
{
    return m && m->step_mode ? m->step_pos : -1;
}

SA_API sa_status sa_step_begin(sa_model *m, int32_t n, const sa_node *stepped)
{
    sa_clear_error();
    if (!m)
        return sa_fail(SA_ERR_INVALID_ARG, "sa_step_begin: model is NULL");
    if (n < 1 || !stepped)
        return sa_model_fail(m, sa_fail(SA_ERR_INVALID_ARG, "sa_step_begin: needs n >= 1 stepped inputs"));
    for (int32_t i = 0; i < n; i++) {
        sa_status s = sa_model_check_node(m, stepped[i], "sa_step_begin");
        if (s != SA_OK)
            return s;
        if (m->nodes[stepped[i]].ops != &sa_op_input)
            return sa_model_fail(m, sa_fail(SA_ERR_BAD_NODE, "sa_step_begin: node '%s' is a %s, not an input",
                                            m->nodes[stepped[i]].name, m->nodes[stepped[i]].ops->kind));
    }
    /* mark into a scratch array and commit only when every node can step, so
     * a rejected call leaves the model exactly as it was */
    unsigned char *mark = calloc((size_t)m->count, 1);
    if (!mark)
        return sa_model_fail(m, sa_fail(SA_ERR_NO_MEMORY, "sa_step_begin: out of memory"));
    for (int32_t i = 0; i < n; i++)
        mark[stepped[i]] = 1;
    /* ids are topological: one pass marks everything downstream of a stepped input */
    for (sa_node id = 0; id < m->count; id++) {
        const sa_node_def *d = &m->nodes[id];
        unsigned char in_stepped[SA_MAX_INPUTS] = {0};
        int any = 0;
        for (int32_t i = 0; i < d->n_in; i++)
            any |= in_stepped[i] = mark[d->in[i]];
        if (!any || d->ops == &sa_op_input)
            continue;
        mark[id] = 1;
        if (d->ops == &sa_op_port)
            continue; /* written by its producer */
        sa_status s = SA_OK;
        if (!d->ops->step && !d->ops->per_step)
            s = sa_fail(SA_ERR_UNSUPPORTED, "sa_step_begin: '%s' (%s) needs the whole sequence and cannot run "
                        "step by step", d->name, d->ops->kind);
        else if (d->ops->can_step)
            s = d->ops->can_step(d, in_stepped);
        if (s != SA_OK) {
            free(mark);
            return sa_model_fail(m, s);
        }
    }
    memcpy(m->stepped, mark, (size_t)m->count);
    free(mark);
    m->step_mode = 1;
    m->step_pos = 0;
    m->static_dirty = 0;
    m->fwd_state = SA_FWD_NONE;
    m->have_grads = 0;
    return SA_OK;
}

static sa_status check_stepped_inputs(sa_model *m)
{
    int32_t B = -1;
    for (sa_node id = 0; id < m->count; id++) {
        const sa_input_buf *ib = &m->inputs[id];
        if (m->nodes[id].ops != &sa_op_input)
            continue;
        if (!ib->set)
            return sa_fail(SA_ERR_STATE, "sa_step: input '%s' was not set", m->nodes[id].name);
        if (m->stepped[id] && ib->T != 1)
            return sa_fail(SA_ERR_SHAPE, "sa_step: stepped input '%s' must have T=1, got T=%d",
                           m->nodes[id].name, (int)ib->T);
        if (B >= 0 && ib->B != B)
            return sa_fail(SA_ERR_SHAPE, "sa_step: input '%s' has B=%d, another input has B=%d",
                           m->nodes[id].name, (int)ib->B, (int)B);
        B = ib->B;
        /* after the first step the layout is fixed: a stepped input keeps its B */
        if (m->step_pos > 0 && m->stepped[id] && ib->B != m->val[id].B)
            return sa_fail(SA_ERR_SHAPE, "sa_step: stepped input '%s' changed B from %d to %d; "
                           "call sa_step_begin to start again", m->nodes[id].name, (int)m->val[id].B,
                           (int)ib->B);
    }
    return SA_OK;
}

static sa_status run_node(sa_model *m, sa_node id)
{
    const sa_node_def *d = &m->nodes[id];
    sa_op_ctx c;
    sa_model_ctx(m, id, &c);
    if (c.stepping && d->ops->step)
        return d->ops->step(&c);
    return d->ops->forward ? d->ops->forward(&c) : SA_OK;
}

SA_API sa_status sa_step(sa_model *m)
{
    sa_clear_error();
    if (!m)
        return sa_fail(SA_ERR_INVALID_ARG, "sa_step: model is NULL");
    if (!m->step_mode)
        return sa_model_fail(m, sa_fail(SA_ERR_STATE, "sa_step: call sa_step_begin first"));
    if (m->static_dirty)
        return sa_model_fail(m, sa_fail(SA_ERR_STATE, "sa_step: a non-stepped input changed after the first "
                                        "step; call sa_step_begin to start again"));
    sa_status s = check_stepped_inputs(m);
    if (s != SA_OK)
        return sa_model_fail(m, s);
    if (m->step_pos == 0) {
        /* the first step plans memory for T = 1 on the stepped path and runs
         * everything; later steps reuse that layout, so the once-only values
         * (encoder outputs, cross-attention keys) stay in place */
        m->fwd_state = SA_FWD_INFER;
        if ((s = sa_model_plan(m, 0, "sa_step")) != SA_OK) {
            m->fwd_state = SA_FWD_NONE;
            return sa_model_fail(m, s);
        }
    } else
        for (sa_node id = 0; id < m->count; id++)
            if (m->nodes[id].ops == &sa_op_input && m->stepped[id])
                m->val[id].data = m->inputs[id].data;
    sa_blas_scope_begin(m->threads, &m->split_step);
    for (sa_node id = 0; id < m->count && s == SA_OK; id++)
        if (m->step_pos == 0 || m->stepped[id])
            s = run_node(m, id);
    sa_blas_scope_end();
    if (s != SA_OK) {
        m->fwd_state = SA_FWD_NONE;
        m->step_mode = 0;
        return sa_model_fail(m, s);
    }
    m->step_pos++;
    return SA_OK;
}
