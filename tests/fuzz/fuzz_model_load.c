/* fuzz_model_load.c — libFuzzer target for sa_model_load: the input is a
 * file's bytes. A model that loads is then run (inference and training
 * forwards, backward from each loss) on small inputs when its graph is small,
 * so a hostile graph that passes the checks must also be safe to execute. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/io/io.h"
#include "../../lib/model/model_internal.h"

static void run(sa_model *m)
{
    int64_t total = 0;
    for (int32_t i = 0; i < m->count; i++)
        total += m->nodes[i].F;
    if (m->count > 200 || total > 4096) /* keep each input cheap; loading was the point */
        return;
    const int32_t B = 2, T = 3, len[2] = {3, 2};
    float buf[2 * 3 * 4096];
    for (size_t i = 0; i < sizeof buf / sizeof *buf; i++)
        buf[i] = (float)((i * 37) % 11) / 11.0f - 0.5f;
    for (int32_t i = 0; i < m->count; i++)
        if (m->nodes[i].ops == &sa_op_input && sa_set_input(m, i, buf, B, T, len) != SA_OK)
            return;
    if (sa_forward(m, SA_INFER) != SA_OK)
        return;
    if (sa_forward(m, SA_TRAIN) != SA_OK)
        return;
    for (int32_t i = 0; i < m->count; i++)
        if (m->nodes[i].ops == &sa_op_loss)
            sa_backward(m, i);
}

static int same_node(const sa_node_def *a, const sa_node_def *b)
{
    return a->ops == b->ops && !strcmp(a->name, b->name) && a->F == b->F && a->n_in == b->n_in &&
           !memcmp(a->in, b->in, (size_t)a->n_in * sizeof *a->in) && !memcmp(a->iarg, b->iarg, sizeof a->iarg) &&
           !memcmp(a->farg, b->farg, sizeof a->farg) && a->port_of == b->port_of && a->port_index == b->port_index &&
           !memcmp(a->ports, b->ports, sizeof a->ports);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sa_src src = sa_src_mem(data, size);
    sa_model *m = (sa_model *)1;
    sa_clear_error();
    sa_status s = sa_io_model_load(&src, NULL, &m, "fuzz");
    if (s != SA_OK) {
        if (m != NULL || sa_last_error()[0] == '\0')
            __builtin_trap(); /* failures give no model and a message */
        return 0;
    }
    run(m);
    /* the loaded graph saves again as a spec that loads to the same graph */
    char *spec = NULL;
    sa_graph *g = NULL;
    if (sa_spec_encode(m, &spec, "fuzz") != SA_OK || sa_spec_decode(spec, &g, "fuzz") != SA_OK ||
        g->count != m->count)
        __builtin_trap();
    for (int32_t i = 0; i < m->count; i++)
        if (!same_node(&g->nodes[i], &m->nodes[i]))
            __builtin_trap();
    free(spec);
    sa_graph_free(g);
    sa_model_destroy(m);
    return 0;
}
