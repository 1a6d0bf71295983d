/* slice.c — windows of a value: a range of time steps (sa_slice_time) and a
 * range of features (sa_slice_features). Both are plain copies; the backward
 * adds the window's gradient back at the same place. */
#include <string.h>

#include "../internal.h"

enum { SLICE_START, SLICE_COUNT };

/* ------------------------------------------------------------------ time */

/* Output lengths are clip(len − start, 1, count): the valid steps that fall in
 * the window, and at least one because every sequence of the library has
 * length >= 1 (a sample whose steps all end before the window keeps one step,
 * a padded step of x). They are stored in the node's persistent state, which
 * slice_time never uses for stepping, so consumers can keep the pointer. */
static sa_status slice_time_reshape(sa_op_ctx *c)
{
    const sa_tensor *x = c->in[0];
    sa_tensor *y = c->out[0];
    int32_t start = c->def->iarg[SLICE_START], count = c->def->iarg[SLICE_COUNT];
    if ((int64_t)start + count > x->T)
        return sa_fail(SA_ERR_SHAPE, "sa_slice_time '%s': window [%d, %d) is beyond T=%d", c->def->name,
                       (int)start, (int)(start + count), (int)x->T);
    y->T = count;
    y->len = NULL;
    if (!x->len)
        return SA_OK; /* every sample covers the whole window */
    int32_t *len = sa_ctx_state(c, (size_t)x->B * sizeof(int32_t));
    if (!len)
        return sa_fail(SA_ERR_NO_MEMORY, "sa_slice_time '%s': cannot allocate %d lengths", c->def->name,
                       (int)x->B);
    int partial = 0;
    for (int32_t b = 0; b < x->B; b++) {
        int32_t n = sa_len(x, b) - start;
        len[b] = n < 1 ? 1 : n > count ? count : n;
        partial |= len[b] != count;
    }
    y->len = partial ? len : NULL; /* all full: no lengths, as sa_set_input */
    return SA_OK;
}

static sa_status slice_time_forward(sa_op_ctx *c)
{
    const sa_tensor *x = c->in[0];
    sa_tensor *y = c->out[0]; // (B, count, F) = x[:, start:start+count, :]
    size_t n = (size_t)y->T * y->F;
    for (int32_t b = 0; b < y->B; b++)
        memcpy(y->data + (size_t)b * n, x->data + ((size_t)b * x->T + c->def->iarg[SLICE_START]) * x->F,
               n * sizeof(float));
    return SA_OK;
}

static void slice_time_backward(sa_op_ctx *c)
{
    sa_tensor *x = c->in[0];
    const sa_tensor *y = c->out[0];
    if (!x->grad)
        return;
    size_t n = (size_t)y->T * y->F;
    for (int32_t b = 0; b < y->B; b++) { // y = x[:, start:start+count, :]
        float *dx = x->grad + ((size_t)b * x->T + c->def->iarg[SLICE_START]) * x->F;
        const float *dy = y->grad + (size_t)b * n;
        for (size_t i = 0; i < n; i++)
            dx[i] += dy[i];
    }
}

/* no per_step/step: a window in time needs the whole sequence */
static sa_node time_rebuild(sa_graph *g, const sa_node_def *d)
{
    return sa_slice_time(g, d->in[0], d->iarg[SLICE_START], d->iarg[SLICE_COUNT]);
}

const sa_layer_ops sa_op_slice_time = {
    .kind = "slice_time",
    .rebuild = time_rebuild,
    .reshape = slice_time_reshape,
    .forward = slice_time_forward,
    .backward = slice_time_backward,
};

SA_API sa_node sa_slice_time(sa_graph *g, sa_node x, int32_t start, int32_t count)
{
    if (!sa_graph_check(g, "sa_slice_time", 1, &x))
        return SA_NODE_INVALID;
    if (start < 0 || count < 1 || count > SA_MAX_DIM || start > SA_MAX_DIM - count)
        return sa_graph_fail(g, SA_ERR_SHAPE, "sa_slice_time: needs start >= 0, count >= 1 and "
                             "start + count <= %d, got start=%d count=%d", SA_MAX_DIM, (int)start, (int)count);
    sa_node_def d = {.ops = &sa_op_slice_time, .F = g->nodes[x].F, .n_in = 1, .in = {x}};
    d.iarg[SLICE_START] = start;
    d.iarg[SLICE_COUNT] = count;
    return sa_graph_add(g, &d);
}

/* -------------------------------------------------------------- features */

static sa_status slice_features_forward(sa_op_ctx *c)
{
    const sa_tensor *x = c->in[0];
    sa_tensor *y = c->out[0]; // (B, T, count) = x[:, :, start:start+count]
    size_t rows = (size_t)y->B * y->T;
    const float *src = x->data + c->def->iarg[SLICE_START];
    for (size_t r = 0; r < rows; r++)
        memcpy(y->data + r * y->F, src + r * x->F, (size_t)y->F * sizeof(float));
    return SA_OK;
}

static void slice_features_backward(sa_op_ctx *c)
{
    sa_tensor *x = c->in[0];
    const sa_tensor *y = c->out[0];
    if (!x->grad)
        return;
    size_t rows = (size_t)y->B * y->T;
    float *dst = x->grad + c->def->iarg[SLICE_START];
    for (size_t r = 0; r < rows; r++) // y = x[:, :, start:start+count]
        for (int32_t f = 0; f < y->F; f++)
            dst[r * x->F + f] += y->grad[r * y->F + f];
}

static sa_node features_rebuild(sa_graph *g, const sa_node_def *d)
{
    return sa_slice_features(g, d->in[0], d->iarg[SLICE_START], d->iarg[SLICE_COUNT]);
}

const sa_layer_ops sa_op_slice_features = {
    .kind = "slice_features",
    .rebuild = features_rebuild,
    .reshape = sa_reshape_same,
    .forward = slice_features_forward,
    .per_step = 1, /* each step is sliced on its own */
    .backward = slice_features_backward,
};

SA_API sa_node sa_slice_features(sa_graph *g, sa_node x, int32_t start, int32_t count)
{
    if (!sa_graph_check(g, "sa_slice_features", 1, &x))
        return SA_NODE_INVALID;
    int32_t F = g->nodes[x].F;
    if (start < 0 || count < 1 || start > F - count)
        return sa_graph_fail(g, SA_ERR_SHAPE, "sa_slice_features: window [%d, %lld) is outside the %d "
                             "features of '%s' (needs start >= 0, count >= 1)", (int)start,
                             (long long)start + count, (int)F, g->nodes[x].name);
    sa_node_def d = {.ops = &sa_op_slice_features, .F = count, .n_in = 1, .in = {x}};
    d.iarg[SLICE_START] = start;
    d.iarg[SLICE_COUNT] = count;
    return sa_graph_add(g, &d);
}
