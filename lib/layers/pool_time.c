/* pool_time.c — reductions over time that honour lengths: mean of the valid
 * steps, and the last valid step. */
#include <string.h>

#include "../internal.h"

static sa_status mean_forward(sa_op_ctx *c)
{
    const sa_tensor *x = c->in[0];
    float *y = c->out[0]->data; // (B, 1, F)
    int32_t F = x->F;
    for (int32_t b = 0; b < x->B; b++) {
        int32_t L = sa_len(x, b);
        float *yb = y + (size_t)b * F;
        memset(yb, 0, (size_t)F * sizeof(float));
        for (int32_t t = 0; t < L; t++) {
            const float *xt = x->data + ((size_t)b * x->T + t) * F;
            for (int32_t f = 0; f < F; f++)
                yb[f] += xt[f];
        }
        for (int32_t f = 0; f < F; f++)
            yb[f] /= (float)L;
    }
    return SA_OK;
}

static void mean_backward(sa_op_ctx *c)
{
    const sa_tensor *x = c->in[0];
    if (!x->grad)
        return;
    const float *dy = c->out[0]->grad;
    int32_t F = x->F;
    for (int32_t b = 0; b < x->B; b++) { // y = Σ_t<L x_t / L
        int32_t L = sa_len(x, b);
        for (int32_t t = 0; t < L; t++) {
            float *dxt = x->grad + ((size_t)b * x->T + t) * F;
            for (int32_t f = 0; f < F; f++)
                dxt[f] += dy[(size_t)b * F + f] / (float)L;
        }
    }
}

static sa_node mean_rebuild(sa_graph *g, const sa_node_def *d) { return sa_mean_time(g, d->in[0]); }

const sa_layer_ops sa_op_mean_time = {
    .kind = "mean_time",
    .rebuild = mean_rebuild,
    .reshape = sa_reshape_one,
    .forward = mean_forward,
    .backward = mean_backward,
};

static sa_status last_forward(sa_op_ctx *c)
{
    const sa_tensor *x = c->in[0];
    int32_t F = x->F;
    for (int32_t b = 0; b < x->B; b++)
        memcpy(c->out[0]->data + (size_t)b * F, x->data + ((size_t)b * x->T + sa_len(x, b) - 1) * F,
               (size_t)F * sizeof(float));
    return SA_OK;
}

static void last_backward(sa_op_ctx *c)
{
    const sa_tensor *x = c->in[0];
    if (!x->grad)
        return;
    int32_t F = x->F;
    for (int32_t b = 0; b < x->B; b++) { // y = x[b, L-1]
        float *dx = x->grad + ((size_t)b * x->T + sa_len(x, b) - 1) * F;
        for (int32_t f = 0; f < F; f++)
            dx[f] += c->out[0]->grad[(size_t)b * F + f];
    }
}

static sa_node last_rebuild(sa_graph *g, const sa_node_def *d) { return sa_last_step(g, d->in[0]); }

const sa_layer_ops sa_op_last_step = {
    .kind = "last_step",
    .rebuild = last_rebuild,
    .reshape = sa_reshape_one,
    .forward = last_forward,
    .backward = last_backward,
};

static sa_node add_pool(sa_graph *g, sa_node x, const sa_layer_ops *ops, const char *fn)
{
    if (!sa_graph_check(g, fn, 1, &x))
        return SA_NODE_INVALID;
    sa_node_def d = {.ops = ops, .F = g->nodes[x].F, .n_in = 1, .in = {x}};
    return sa_graph_add(g, &d);
}

SA_API sa_node sa_mean_time(sa_graph *g, sa_node x) { return add_pool(g, x, &sa_op_mean_time, "sa_mean_time"); }
SA_API sa_node sa_last_step(sa_graph *g, sa_node x) { return add_pool(g, x, &sa_op_last_step, "sa_last_step"); }
