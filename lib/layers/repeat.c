/* repeat.c — a per-sequence vector repeated over the time of another node
 * (e.g. an encoder summary fed to every decoder step). in[0] = x [B, 1, F],
 * in[1] = like [B, T, *]; only like's T and lengths are read.
 *
 * Padded steps of the output are 0 and send no gradient back, as the padded
 * outputs of the recurrent layers: a sample of length L sees x exactly L times. */
#include <string.h>

#include "../internal.h"

static sa_status repeat_reshape(sa_op_ctx *c)
{
    const sa_tensor *x = c->in[0], *like = c->in[1];
    if (x->T != 1)
        return sa_fail(SA_ERR_SHAPE, "sa_repeat_time '%s': x must have T=1, got T=%d", c->def->name, (int)x->T);
    c->out[0]->T = like->T;
    c->out[0]->len = like->len;
    return SA_OK;
}

static sa_status repeat_forward(sa_op_ctx *c)
{
    const sa_tensor *x = c->in[0];
    sa_tensor *y = c->out[0]; // (B, T, F): y[b, t] = x[b, 0] for t < L_b, else 0
    int32_t F = y->F;
    for (int32_t b = 0; b < y->B; b++) {
        int32_t L = sa_len(y, b);
        float *yb = y->data + (size_t)b * y->T * F;
        for (int32_t t = 0; t < L; t++)
            memcpy(yb + (size_t)t * F, x->data + (size_t)b * F, (size_t)F * sizeof(float));
        memset(yb + (size_t)L * F, 0, (size_t)(y->T - L) * F * sizeof(float));
    }
    return SA_OK;
}

static void repeat_backward(sa_op_ctx *c)
{
    sa_tensor *x = c->in[0];
    const sa_tensor *y = c->out[0];
    if (!x->grad)
        return;
    int32_t F = y->F;
    for (int32_t b = 0; b < y->B; b++) { // y[b, t] = x[b, 0] for t < L_b
        float *dx = x->grad + (size_t)b * F;
        for (int32_t t = 0; t < sa_len(y, b); t++) {
            const float *dy = y->grad + ((size_t)b * y->T + t) * F;
            for (int32_t f = 0; f < F; f++)
                dx[f] += dy[f];
        }
    }
    /* like's values are not read: it gets no gradient */
}

/* Stepped through like, each step repeats x once; stepped through x alone the
 * output would be like's whole static sequence at every step, not one step. */
static sa_status repeat_can_step(const sa_node_def *d, const unsigned char *in_stepped)
{
    if (in_stepped && !in_stepped[1])
        return sa_fail(SA_ERR_UNSUPPORTED, "sa_step_begin: '%s' (repeat_time) is stepped through x only; its "
                       "like node must be stepped too", d->name);
    return SA_OK;
}

static sa_node repeat_rebuild(sa_graph *g, const sa_node_def *d) { return sa_repeat_time(g, d->in[0], d->in[1]); }

const sa_layer_ops sa_op_repeat_time = {
    .kind = "repeat_time",
    .rebuild = repeat_rebuild,
    .reshape = repeat_reshape,
    .forward = repeat_forward,
    .per_step = 1,
    .can_step = repeat_can_step,
    .backward = repeat_backward,
};

SA_API sa_node sa_repeat_time(sa_graph *g, sa_node x, sa_node like)
{
    sa_node xs[2] = {x, like};
    if (!sa_graph_check(g, "sa_repeat_time", 2, xs))
        return SA_NODE_INVALID;
    sa_node_def d = {.ops = &sa_op_repeat_time, .F = g->nodes[x].F, .n_in = 2, .in = {x, like}};
    return sa_graph_add(g, &d);
}
