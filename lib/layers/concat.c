/* concat.c — concatenation on the feature axis of values with the same B and T. */
#include <string.h>

#include "../internal.h"

static sa_status concat_reshape(sa_op_ctx *c)
{
    for (int32_t i = 1; i < c->def->n_in; i++)
        if (c->in[i]->T != c->in[0]->T)
            return sa_fail(SA_ERR_SHAPE, "sa_concat '%s': input %d has T=%d, input 0 has T=%d",
                           c->def->name, (int)i, (int)c->in[i]->T, (int)c->in[0]->T);
    return sa_reshape_same(c);
}

static sa_status concat_forward(sa_op_ctx *c)
{
    sa_tensor *y = c->out[0];
    size_t rows = (size_t)y->B * y->T;
    int32_t off = 0;
    for (int32_t i = 0; i < c->def->n_in; i++) {
        const sa_tensor *x = c->in[i];
        for (size_t r = 0; r < rows; r++)
            memcpy(y->data + r * y->F + off, x->data + r * x->F, (size_t)x->F * sizeof(float));
        off += x->F;
    }
    return SA_OK;
}

static void concat_backward(sa_op_ctx *c)
{
    const sa_tensor *y = c->out[0];
    size_t rows = (size_t)y->B * y->T;
    int32_t off = 0;
    for (int32_t i = 0; i < c->def->n_in; i++) {
        sa_tensor *x = c->in[i];
        if (x->grad) // y[:, off:off+F_i] = x_i
            for (size_t r = 0; r < rows; r++)
                for (int32_t f = 0; f < x->F; f++)
                    x->grad[r * x->F + f] += y->grad[r * y->F + off + f];
        off += x->F;
    }
}

static sa_node concat_rebuild(sa_graph *g, const sa_node_def *d) { return sa_concat(g, d->n_in, d->in); }

const sa_layer_ops sa_op_concat = {
    .kind = "concat",
    .rebuild = concat_rebuild,
    .reshape = concat_reshape,
    .forward = concat_forward,
    .per_step = 1,
    .backward = concat_backward,
};

SA_API sa_node sa_concat(sa_graph *g, int32_t n, const sa_node *xs)
{
    if (!sa_graph_check(g, "sa_concat", 0, NULL))
        return SA_NODE_INVALID;
    if (!xs || n < 2 || n > SA_MAX_INPUTS)
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "sa_concat: needs 2..%d nodes, got %d%s", SA_MAX_INPUTS,
                             (int)n, xs ? "" : " (xs is NULL)");
    if (!sa_graph_check(g, "sa_concat", n, xs))
        return SA_NODE_INVALID;
    sa_node_def d = {.ops = &sa_op_concat, .n_in = n};
    int64_t F = 0;
    for (int32_t i = 0; i < n; i++) {
        d.in[i] = xs[i];
        F += g->nodes[xs[i]].F;
    }
    if (F > SA_MAX_DIM)
        return sa_graph_fail(g, SA_ERR_SHAPE, "sa_concat: %lld features exceed %d", (long long)F, SA_MAX_DIM);
    d.F = (int32_t)F;
    return sa_graph_add(g, &d);
}
