/* layer_norm.c — layer normalisation over the last axis with torch
 * nn.LayerNorm numerics: y = (x - mean) / sqrt(var + eps) ⊙ weight + bias,
 * var biased (divided by F). Each step is normalised on its own, so padded
 * steps are computed like valid ones (harmless: nothing downstream reads them)
 * and one step alone gives the same result (step execution). */
#include <math.h>

#include "../internal.h"

/* workspace: mean, rstd (B*T each), written by forward, read by backward.
 * Double: x - mean must cancel exactly when |mean| >> std, as in forward. */
static size_t ln_ws(const sa_op_ctx *c)
{
    return 2 * (size_t)c->in[0]->B * c->in[0]->T * sizeof(double);
}

static int32_t ln_params(const sa_node_def *d, sa_param_spec *s)
{
    s[0] = (sa_param_spec){"weight", 1, {d->F, 1}, SA_INIT_ONE, 0.0f};
    s[1] = (sa_param_spec){"bias", 1, {d->F, 1}, SA_INIT_ZERO, 0.0f};
    return 2;
}

/* Row sums in double with DL partial sums, so the loops vectorise (float ->
 * double conversions and adds in SIMD) without reordering-by-flag. */
#define DL 8

/* Σ x_f and Σ (x_f − mu)² of one row */
SA_CLONES static double row_sum(const float *x, int32_t F)
{
    double acc[DL] = {0};
    int32_t f = 0;
    for (; f + DL <= F; f += DL)
        for (int k = 0; k < DL; k++)
            acc[k] += x[f + k];
    double s = 0.0;
    for (; f < F; f++)
        s += x[f];
    for (int k = 0; k < DL; k++)
        s += acc[k];
    return s;
}

SA_CLONES static double row_sq_dev(const float *x, int32_t F, double mu)
{
    double acc[DL] = {0};
    int32_t f = 0;
    for (; f + DL <= F; f += DL)
        for (int k = 0; k < DL; k++)
            acc[k] += (x[f + k] - mu) * (x[f + k] - mu);
    double s = 0.0;
    for (; f < F; f++)
        s += (x[f] - mu) * (x[f] - mu);
    for (int k = 0; k < DL; k++)
        s += acc[k];
    return s;
}

SA_CLONES static sa_status ln_forward(sa_op_ctx *c)
{
    const sa_tensor *x = c->in[0];
    float *y = c->out[0]->data; // (B, T, F)
    int32_t F = x->F;
    size_t rows = (size_t)x->B * x->T;
    double *mean = c->ws, *rstd = mean + rows; // (B*T) each
    const float *w = c->param[0], *b = c->param[1];
    double eps = c->def->farg[0];
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x->data + r * F;
        float *yr = y + r * F;
        /* two passes in double: the one-pass E[x²] - E[x]² loses every digit
         * when |mean| >> std (inputs offset by a large constant) */
        double mu = row_sum(xr, F) / F;
        double var = row_sq_dev(xr, F, mu) / F; // biased, as torch
        double rs = 1.0 / sqrt(var + eps);
        mean[r] = mu;
        rstd[r] = rs;
        for (int32_t f = 0; f < F; f++)
            yr[f] = (float)((xr[f] - mu) * rs) * w[f] + b[f];
    }
    return SA_OK;
}

SA_CLONES static void ln_backward(sa_op_ctx *c)
{
    const sa_tensor *x = c->in[0];
    const float *dy = c->out[0]->grad; // (B, T, F)
    int32_t F = x->F;
    size_t rows = (size_t)x->B * x->T;
    const double *mean = c->ws, *rstd = mean + rows;
    const float *w = c->param[0];
    float *restrict dw = c->pgrad[0], *restrict db = c->pgrad[1];
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x->data + r * F, *dyr = dy + r * F;
        double mu = mean[r], rs = rstd[r];
        // y = x̂ ⊙ w + b, x̂ = (x - mean) rstd
        double gs[DL] = {0}, gxs[DL] = {0}; // partial Σ dx̂, Σ dx̂ ⊙ x̂
        int32_t f = 0;
        for (; f + DL <= F; f += DL)
            for (int k = 0; k < DL; k++) {
                float xh = (float)((xr[f + k] - mu) * rs); // as forward
                float g = dyr[f + k] * w[f + k];         // dx̂
                dw[f + k] += dyr[f + k] * xh;
                db[f + k] += dyr[f + k];
                gs[k] += g;
                gxs[k] += (double)g * xh;
            }
        double g_mean = 0.0, gx_mean = 0.0;
        for (; f < F; f++) {
            float xh = (float)((xr[f] - mu) * rs);
            float g = dyr[f] * w[f];
            dw[f] += dyr[f] * xh;
            db[f] += dyr[f];
            g_mean += g;
            gx_mean += (double)g * xh;
        }
        for (int k = 0; k < DL; k++) {
            g_mean += gs[k];
            gx_mean += gxs[k];
        }
        if (!x->grad)
            continue;
        g_mean /= F;
        gx_mean /= F;
        // x̂ = (x - mean(x)) / sqrt(var(x) + eps): dx = rstd (dx̂ - mean(dx̂) - x̂ mean(dx̂ ⊙ x̂))
        float *dxr = x->grad + r * F;
        for (f = 0; f < F; f++) {
            float xh = (float)((xr[f] - mu) * rs);
            dxr[f] += (float)(rs * (dyr[f] * w[f] - g_mean - xh * gx_mean));
        }
    }
}

static sa_node norm_rebuild(sa_graph *g, const sa_node_def *d) { return sa_layer_norm(g, d->in[0], d->farg[0]); }

const sa_layer_ops sa_op_layer_norm = {
    .kind = "layer_norm",
    .rebuild = norm_rebuild,
    .params = ln_params,
    .reshape = sa_reshape_same,
    .ws_bytes = ln_ws,
    .forward = ln_forward,
    .per_step = 1,
    .backward = ln_backward,
};

SA_API sa_node sa_layer_norm(sa_graph *g, sa_node x, float eps)
{
    if (!sa_graph_check(g, "sa_layer_norm", 1, &x))
        return SA_NODE_INVALID;
    if (!(eps > 0.0f) || !isfinite(eps))
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "sa_layer_norm: eps must be finite and > 0, got %g",
                             (double)eps);
    sa_node_def d = {.ops = &sa_op_layer_norm, .F = g->nodes[x].F, .n_in = 1, .in = {x}};
    d.farg[0] = eps;
    return sa_graph_add(g, &d);
}
