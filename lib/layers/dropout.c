/* dropout.c — inverted dropout: in a SA_TRAIN forward each element is zeroed
 * with probability p and the others are scaled by 1/(1-p), so inference (and
 * step execution) is the identity with no rescaling.
 *
 * The mask is a pure function of (model seed, node name, training-forward
 * index): it differs between nodes and between forwards, and a forward can be
 * repeated with the same masks (sa_model_set_train_index). The mask of the
 * last training forward is kept in the workspace for backward. */
#include <math.h>
#include <string.h>

#include "../internal.h"

/* workspace: the keep mask (B*T*F bytes, 1 = kept), training forwards only */
static size_t dropout_ws(const sa_op_ctx *c)
{
    return c->train ? sa_numel(c->in[0]) : 0;
}

static sa_status dropout_forward(sa_op_ctx *c)
{
    const float *x = c->in[0]->data;
    float *y = c->out[0]->data; // (B, T, F)
    size_t n = sa_numel(c->out[0]);
    float p = c->def->farg[0];
    if (!c->train || p == 0.0f) {
        memcpy(y, x, n * sizeof(float));
        return SA_OK;
    }
    unsigned char *keep = c->ws;
    float scale = 1.0f / (1.0f - p); // as torch: noise = bernoulli(1 - p) / (1 - p)
    /* compare 53-bit integers: P(drop) is p to 2^-53, with no float rounding */
    uint64_t drop_below = (uint64_t)((double)p * 9007199254740992.0);
    sa_rng rng;
    sa_rng_seed_at(&rng, c->seed, c->def->name, c->forward_index);
    for (size_t i = 0; i < n; i++) {
        keep[i] = (sa_rng_next(&rng) >> 11) >= drop_below;
        y[i] = keep[i] ? x[i] * scale : 0.0f;
    }
    return SA_OK;
}

static void dropout_backward(sa_op_ctx *c)
{
    float *dx = c->in[0]->grad;
    if (!dx)
        return;
    const float *dy = c->out[0]->grad;
    size_t n = sa_numel(c->out[0]);
    float p = c->def->farg[0];
    if (p == 0.0f) { // y = x
        for (size_t i = 0; i < n; i++)
            dx[i] += dy[i];
        return;
    }
    const unsigned char *keep = c->ws;
    float scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) // y = keep ? x / (1 - p) : 0
        dx[i] += keep[i] ? dy[i] * scale : 0.0f;
}

static sa_node dropout_rebuild(sa_graph *g, const sa_node_def *d) { return sa_dropout(g, d->in[0], d->farg[0]); }

const sa_layer_ops sa_op_dropout = {
    .kind = "dropout",
    .rebuild = dropout_rebuild,
    .reshape = sa_reshape_same,
    .ws_bytes = dropout_ws,
    .forward = dropout_forward,
    .per_step = 1, /* step execution is inference: the identity */
    .backward = dropout_backward,
};

SA_API sa_node sa_dropout(sa_graph *g, sa_node x, float p)
{
    if (!sa_graph_check(g, "sa_dropout", 1, &x))
        return SA_NODE_INVALID;
    if (!(p >= 0.0f && p < 1.0f)) /* also rejects NaN */
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "sa_dropout: p must be in [0, 1), got %g", (double)p);
    sa_node_def d = {.ops = &sa_op_dropout, .F = g->nodes[x].F, .n_in = 1, .in = {x}};
    d.farg[0] = p;
    return sa_graph_add(g, &d);
}
