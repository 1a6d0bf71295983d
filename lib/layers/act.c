/* act.c — element-wise activations; backward uses the saved output (GELU,
 * whose derivative is not a function of its output, uses the input). */
#include <math.h>

#include "../internal.h"

static sa_status act_forward(sa_op_ctx *c)
{
    const float *x = c->in[0]->data;
    float *y = c->out[0]->data;
    size_t n = sa_numel(c->out[0]);
    switch ((sa_activation)c->def->iarg[0]) {
    case SA_ACT_TANH:
        sa_vtanh(y, x, n);
        break;
    case SA_ACT_SIGMOID:
        sa_vsigmoid(y, x, n);
        break;
    case SA_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case SA_ACT_GELU: // exact form, torch's approximate='none'
        for (size_t i = 0; i < n; i++)
            y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
        break;
    }
    return SA_OK;
}

static void act_backward(sa_op_ctx *c)
{
    float *dx = c->in[0]->grad;
    if (!dx)
        return;
    const float *y = c->out[0]->data, *dy = c->out[0]->grad;
    size_t n = sa_numel(c->out[0]);
    switch ((sa_activation)c->def->iarg[0]) {
    case SA_ACT_TANH: // y = tanh(x)
        for (size_t i = 0; i < n; i++)
            dx[i] += dy[i] * (1.0f - y[i] * y[i]);
        break;
    case SA_ACT_SIGMOID: // y = σ(x)
        for (size_t i = 0; i < n; i++)
            dx[i] += dy[i] * y[i] * (1.0f - y[i]);
        break;
    case SA_ACT_RELU: // y = max(x, 0)
        for (size_t i = 0; i < n; i++) { /* dy read unconditionally: a select, not a branch */
            float d = dy[i];
            dx[i] += y[i] > 0.0f ? d : 0.0f;
        }
        break;
    case SA_ACT_GELU: { // y = x Φ(x), Φ(x) = (1 + erf(x/√2)) / 2
        const float *x = c->in[0]->data;
        const float inv_sqrt_2pi = 0.3989422804014327f;
        for (size_t i = 0; i < n; i++) { // dy/dx = Φ(x) + x φ(x)
            float cdf = 0.5f * (1.0f + erff(x[i] * 0.70710678118654752f));
            float pdf = inv_sqrt_2pi * expf(-0.5f * x[i] * x[i]);
            dx[i] += dy[i] * (cdf + x[i] * pdf);
        }
        break;
    }
    }
}

static sa_node act_rebuild(sa_graph *g, const sa_node_def *d)
{
    return sa_act(g, d->in[0], (sa_activation)d->iarg[0]);
}

const sa_layer_ops sa_op_act = {
    .kind = "act",
    .rebuild = act_rebuild,
    .reshape = sa_reshape_same,
    .forward = act_forward,
    .per_step = 1,
    .backward = act_backward,
};

SA_API sa_node sa_act(sa_graph *g, sa_node x, sa_activation kind)
{
    if (!sa_graph_check(g, "sa_act", 1, &x))
        return SA_NODE_INVALID;
    if (kind != SA_ACT_TANH && kind != SA_ACT_SIGMOID && kind != SA_ACT_RELU && kind != SA_ACT_GELU)
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "sa_act: unknown activation %d", (int)kind);
    sa_node_def d = {.ops = &sa_op_act, .F = g->nodes[x].F, .n_in = 1, .in = {x}};
    d.iarg[0] = (int32_t)kind;
    return sa_graph_add(g, &d);
}
