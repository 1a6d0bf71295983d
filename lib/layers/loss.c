/* loss.c — MSE and MAE, averaged over the valid elements of pred. */
#include <math.h>

#include "../internal.h"

enum { LOSS_MSE = 0, LOSS_MAE = 1 };

static sa_status loss_reshape(sa_op_ctx *c)
{
    const sa_tensor *p = c->in[0], *t = c->in[1];
    if (p->T != t->T)
        return sa_fail(SA_ERR_SHAPE, "%s '%s': pred has T=%d, target has T=%d", c->def->ops->kind, c->def->name,
                       (int)p->T, (int)t->T);
    c->out[0]->B = 1;
    return sa_reshape_one(c);
}

static size_t valid_count(const sa_tensor *p)
{
    size_t n = 0;
    for (int32_t b = 0; b < p->B; b++)
        n += (size_t)sa_len(p, b);
    return n * (size_t)p->F;
}

static sa_status loss_forward(sa_op_ctx *c)
{
    const sa_tensor *p = c->in[0], *t = c->in[1];
    double acc = 0.0; // double: a large batch of small errors must not lose digits
    for (int32_t b = 0; b < p->B; b++)
        for (int32_t s = 0; s < sa_len(p, b); s++)
            for (int32_t f = 0; f < p->F; f++) {
                size_t i = ((size_t)b * p->T + s) * p->F + f;
                double e = (double)p->data[i] - t->data[i];
                acc += c->def->iarg[0] == LOSS_MSE ? e * e : fabs(e);
            }
    c->out[0]->data[0] = (float)(acc / (double)valid_count(p));
    return SA_OK;
}

static void loss_backward(sa_op_ctx *c)
{
    sa_tensor *p = c->in[0], *t = c->in[1];
    float scale = c->out[0]->grad[0] / (float)valid_count(p);
    for (int32_t b = 0; b < p->B; b++)
        for (int32_t s = 0; s < sa_len(p, b); s++)
            for (int32_t f = 0; f < p->F; f++) {
                size_t i = ((size_t)b * p->T + s) * p->F + f;
                float e = p->data[i] - t->data[i];
                // mse: L = Σ e² / n ; mae: L = Σ |e| / n (sign(0) = 0)
                float g = c->def->iarg[0] == LOSS_MSE ? 2.0f * e * scale
                                                      : (e > 0.0f ? scale : e < 0.0f ? -scale : 0.0f);
                if (p->grad)
                    p->grad[i] += g;
                if (t->grad)
                    t->grad[i] -= g;
            }
}

static sa_node loss_rebuild(sa_graph *g, const sa_node_def *d)
{
    if (d->iarg[0] == LOSS_MSE)
        return sa_loss_mse(g, d->in[0], d->in[1]);
    if (d->iarg[0] == LOSS_MAE)
        return sa_loss_mae(g, d->in[0], d->in[1]);
    return sa_graph_fail(g, SA_ERR_INVALID_ARG, "loss '%s': unknown loss kind %d", d->name, (int)d->iarg[0]);
}

const sa_layer_ops sa_op_loss = {
    .kind = "loss",
    .rebuild = loss_rebuild,
    .reshape = loss_reshape,
    .forward = loss_forward,
    .backward = loss_backward,
};

static sa_node add_loss(sa_graph *g, sa_node pred, sa_node target, int kind, const char *fn)
{
    sa_node xs[2] = {pred, target};
    if (!sa_graph_check(g, fn, 2, xs))
        return SA_NODE_INVALID;
    if (g->nodes[pred].F != g->nodes[target].F)
        return sa_graph_fail(g, SA_ERR_SHAPE, "%s: pred has %d features, target has %d", fn,
                             (int)g->nodes[pred].F, (int)g->nodes[target].F);
    sa_node_def d = {.ops = &sa_op_loss, .F = 1, .n_in = 2, .in = {pred, target}};
    d.iarg[0] = kind;
    return sa_graph_add(g, &d);
}

SA_API sa_node sa_loss_mse(sa_graph *g, sa_node p, sa_node t) { return add_loss(g, p, t, LOSS_MSE, "sa_loss_mse"); }
SA_API sa_node sa_loss_mae(sa_graph *g, sa_node p, sa_node t) { return add_loss(g, p, t, LOSS_MAE, "sa_loss_mae"); }
