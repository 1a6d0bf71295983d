/* add.c — element-wise sum of two values of the same shape (residual
 * connections). The output keeps a's lengths. */
#include "../internal.h"

static sa_status add_reshape(sa_op_ctx *c)
{
    if (c->in[1]->T != c->in[0]->T)
        return sa_fail(SA_ERR_SHAPE, "sa_add '%s': b has T=%d, a has T=%d", c->def->name, (int)c->in[1]->T,
                       (int)c->in[0]->T);
    return sa_reshape_same(c);
}

static sa_status add_forward(sa_op_ctx *c)
{
    const float *a = c->in[0]->data, *b = c->in[1]->data;
    float *y = c->out[0]->data; // (B, T, F)
    size_t n = sa_numel(c->out[0]);
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
    return SA_OK;
}

static void add_backward(sa_op_ctx *c)
{
    const float *dy = c->out[0]->grad;
    size_t n = sa_numel(c->out[0]);
    for (int k = 0; k < 2; k++) { // y = a + b
        float *dx = c->in[k]->grad;
        if (dx)
            for (size_t i = 0; i < n; i++)
                dx[i] += dy[i];
    }
}

static sa_node add_rebuild(sa_graph *g, const sa_node_def *d) { return sa_add(g, d->in[0], d->in[1]); }

const sa_layer_ops sa_op_add = {
    .kind = "add",
    .rebuild = add_rebuild,
    .reshape = add_reshape,
    .forward = add_forward,
    .per_step = 1,
    .backward = add_backward,
};

SA_API sa_node sa_add(sa_graph *g, sa_node a, sa_node b)
{
    sa_node xs[2] = {a, b};
    if (!sa_graph_check(g, "sa_add", 2, xs))
        return SA_NODE_INVALID;
    if (g->nodes[a].F != g->nodes[b].F)
        return sa_graph_fail(g, SA_ERR_SHAPE, "sa_add: '%s' has %d features, '%s' has %d", g->nodes[a].name,
                             (int)g->nodes[a].F, g->nodes[b].name, (int)g->nodes[b].F);
    sa_node_def d = {.ops = &sa_op_add, .F = g->nodes[a].F, .n_in = 2, .in = {a, b}};
    return sa_graph_add(g, &d);
}
