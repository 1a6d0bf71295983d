/* dense.c — y = x Wᵀ + b on the last axis (nn.Linear layout). */
#include <math.h>
#include <string.h>

#include "../internal.h"

static int32_t dense_params(const sa_node_def *d, sa_param_spec *s)
{
    int32_t in = d->iarg[0];
    float bound = 1.0f / sqrtf((float)in);
    s[0] = (sa_param_spec){"weight", 2, {d->F, in}, SA_INIT_UNIFORM, bound};
    s[1] = (sa_param_spec){"bias", 1, {d->F, 1}, SA_INIT_UNIFORM, bound};
    return 2;
}

static sa_status dense_forward(sa_op_ctx *c)
{
    const sa_tensor *x = c->in[0];
    sa_tensor *y = c->out[0];
    int32_t rows = x->B * x->T, in = x->F, out = y->F;
    const float *W = c->param[0], *b = c->param[1];
    for (int32_t r = 0; r < rows; r++) // (rows, out) = b
        memcpy(y->data + (size_t)r * out, b, (size_t)out * sizeof(float));
    sa_gemm(0, 1, rows, out, in, 1.0f, x->data, in, W, in, 1.0f, y->data, out); // += x Wᵀ
    return SA_OK;
}

static void dense_backward(sa_op_ctx *c)
{
    const sa_tensor *x = c->in[0];
    const sa_tensor *y = c->out[0];
    int32_t rows = x->B * x->T, in = x->F, out = y->F;
    // y = x Wᵀ + b
    sa_gemm(1, 0, out, in, rows, 1.0f, y->grad, out, x->data, in, 1.0f, c->pgrad[0], in); // dW += dyᵀ x
    for (int32_t r = 0; r < rows; r++)
        for (int32_t o = 0; o < out; o++)
            c->pgrad[1][o] += y->grad[(size_t)r * out + o];
    if (x->grad)
        sa_gemm(0, 0, rows, in, out, 1.0f, y->grad, out, c->param[0], in, 1.0f, x->grad, in); // dx += dy W
}

static sa_node dense_rebuild(sa_graph *g, const sa_node_def *d) { return sa_dense(g, d->in[0], d->F); }

const sa_layer_ops sa_op_dense = {
    .kind = "dense",
    .rebuild = dense_rebuild,
    .params = dense_params,
    .reshape = sa_reshape_same,
    .forward = dense_forward,
    .per_step = 1,
    .backward = dense_backward,
};

SA_API sa_node sa_dense(sa_graph *g, sa_node x, int32_t units)
{
    if (!sa_graph_check(g, "sa_dense", 1, &x))
        return SA_NODE_INVALID;
    if (units < 1 || units > SA_MAX_DIM)
        return sa_graph_fail(g, SA_ERR_SHAPE, "sa_dense: units must be in 1..%d, got %d", SA_MAX_DIM,
                             (int)units);
    sa_node_def d = {.ops = &sa_op_dense, .F = units, .n_in = 1, .in = {x}};
    d.iarg[0] = g->nodes[x].F;
    return sa_graph_add(g, &d);
}
