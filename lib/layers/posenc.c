/* posenc.c — positional encodings added to a sequence: fixed sinusoids
 * (Vaswani et al.) or a learned table (nn.Embedding over positions).
 *
 * Position t is the step index in the sequence, and in step execution the
 * step's index since sa_step_begin (c->pos), so a decoder run one step at a
 * time sees the positions of the full-sequence forward. Padded steps get
 * their encoding added like valid ones: the op stays a function of the
 * position alone, as in torch, and nothing downstream reads padded steps. */
#include <math.h>
#include <string.h>

#include "../internal.h"

/* first position of the values in this call: 0, or the step index when stepping */
static int32_t first_pos(const sa_op_ctx *c) { return c->stepping ? c->pos : 0; }

/* y = x + pe[t0 + t], pe (T, F) rows for this call's positions */
static void add_rows(const sa_tensor *x, sa_tensor *y, const float *pe)
{
    int32_t T = x->T, F = x->F;
    for (int32_t b = 0; b < x->B; b++)
        for (int32_t t = 0; t < T; t++) {
            size_t r = ((size_t)b * T + t) * F;
            const float *pt = pe + (size_t)t * F;
            for (int32_t f = 0; f < F; f++)
                y->data[r + f] = x->data[r + f] + pt[f];
        }
}

static void x_backward(sa_op_ctx *c)
{
    float *dx = c->in[0]->grad;
    if (!dx)
        return;
    const float *dy = c->out[0]->grad;
    size_t n = sa_numel(c->out[0]);
    for (size_t i = 0; i < n; i++) // y = x + pe
        dx[i] += dy[i];
}

/* ------------------------------------------------------------ sinusoidal */

/* workspace: the table pe (T, F) for this call's positions */
static size_t sin_ws(const sa_op_ctx *c)
{
    return (size_t)c->in[0]->T * c->in[0]->F * sizeof(float);
}

static sa_status sin_forward(sa_op_ctx *c)
{
    const sa_tensor *x = c->in[0];
    int32_t T = x->T, F = x->F, t0 = first_pos(c);
    float *pe = c->ws; // (T, F)
    for (int32_t f = 0; f < F; f++) {
        /* pe[t, 2i] = sin(t / 10000^(2i/F)), pe[t, 2i+1] = cos(same angle);
         * double, so the angle keeps its digits at large t */
        double freq = pow(10000.0, -(double)(f & ~1) / F);
        for (int32_t t = 0; t < T; t++) {
            double a = (double)(t0 + t) * freq;
            pe[(size_t)t * F + f] = (float)(f & 1 ? cos(a) : sin(a));
        }
    }
    add_rows(x, c->out[0], pe);
    return SA_OK;
}

static sa_node sin_rebuild(sa_graph *g, const sa_node_def *d) { return sa_posenc_sinusoidal(g, d->in[0]); }

const sa_layer_ops sa_op_posenc_sin = {
    .kind = "posenc_sin",
    .rebuild = sin_rebuild,
    .reshape = sa_reshape_same,
    .ws_bytes = sin_ws,
    .forward = sin_forward,
    .backward = x_backward,
    .step = sin_forward, /* not per_step: a step needs its position */
};

SA_API sa_node sa_posenc_sinusoidal(sa_graph *g, sa_node x)
{
    if (!sa_graph_check(g, "sa_posenc_sinusoidal", 1, &x))
        return SA_NODE_INVALID;
    sa_node_def d = {.ops = &sa_op_posenc_sin, .F = g->nodes[x].F, .n_in = 1, .in = {x}};
    return sa_graph_add(g, &d);
}

/* --------------------------------------------------------------- learned */

static int32_t learned_params(const sa_node_def *d, sa_param_spec *s)
{
    /* N(0, 1), nn.Embedding's default */
    s[0] = (sa_param_spec){"weight", 2, {d->iarg[0], d->F}, SA_INIT_NORMAL, 1.0f};
    return 1;
}

static sa_status learned_reshape(sa_op_ctx *c)
{
    if (c->in[0]->T > c->def->iarg[0])
        return sa_fail(SA_ERR_SHAPE, "sa_posenc_learned '%s': T=%d exceeds max_len=%d", c->def->name,
                       (int)c->in[0]->T, (int)c->def->iarg[0]);
    return sa_reshape_same(c);
}

static sa_status learned_forward(sa_op_ctx *c)
{
    int32_t t0 = first_pos(c);
    if ((int64_t)t0 + c->in[0]->T > c->def->iarg[0]) /* only reachable when stepping */
        return sa_fail(SA_ERR_SHAPE, "sa_posenc_learned '%s': step %d is past max_len=%d", c->def->name,
                       (int)t0, (int)c->def->iarg[0]);
    add_rows(c->in[0], c->out[0], c->param[0] + (size_t)t0 * c->in[0]->F); // P rows t0 .. t0+T-1
    return SA_OK;
}

static void learned_backward(sa_op_ctx *c)
{
    const sa_tensor *y = c->out[0];
    int32_t T = y->T, F = y->F;
    float *dP = c->pgrad[0]; // (max_len, F); a backward follows a full forward, t0 = 0
    // y[b, t] = x[b, t] + P[t]
    for (int32_t b = 0; b < y->B; b++)
        for (int32_t t = 0; t < T; t++) {
            const float *g = y->grad + ((size_t)b * T + t) * F;
            for (int32_t f = 0; f < F; f++)
                dP[(size_t)t * F + f] += g[f];
        }
    x_backward(c);
}

static sa_node learned_rebuild(sa_graph *g, const sa_node_def *d)
{
    return sa_posenc_learned(g, d->in[0], d->iarg[0]);
}

const sa_layer_ops sa_op_posenc_learned = {
    .kind = "posenc_learned",
    .rebuild = learned_rebuild,
    .params = learned_params,
    .reshape = learned_reshape,
    .forward = learned_forward,
    .backward = learned_backward,
    .step = learned_forward,
};

SA_API sa_node sa_posenc_learned(sa_graph *g, sa_node x, int32_t max_len)
{
    if (!sa_graph_check(g, "sa_posenc_learned", 1, &x))
        return SA_NODE_INVALID;
    if (max_len < 1 || max_len > SA_MAX_DIM)
        return sa_graph_fail(g, SA_ERR_SHAPE, "sa_posenc_learned: max_len must be in 1..%d, got %d", SA_MAX_DIM,
                             (int)max_len);
    sa_node_def d = {.ops = &sa_op_posenc_learned, .F = g->nodes[x].F, .n_in = 1, .in = {x}};
    d.iarg[0] = max_len;
    return sa_graph_add(g, &d);
}
