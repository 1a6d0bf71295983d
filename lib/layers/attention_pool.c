/* attention_pool.c — SimpleAttention: scores e_t over time, α = softmax over
 * each sample's valid steps, context = Σ_t α_t h_t. Keeps α for inspection. */
#include <math.h>
#include <string.h>

#include "../internal.h"

/* Workspace: the weights α and scores e (B·T each), then for additive scores
 * U = tanh(H Wᵀ + b) (B·T·F). Scratch, backward only: de (B·T), then for
 * additive scores dU (B·T·F) and each sample's share of dv and db (B·2F).
 * Backward writes only scratch, so it may run twice after one forward. */
static size_t pool_ws(const sa_op_ctx *c)
{
    const sa_tensor *h = c->in[0];
    size_t rows = (size_t)h->B * h->T;
    size_t u = c->def->iarg[0] == SA_SCORE_ADDITIVE ? rows * h->F : 0;
    return (2 * rows + u) * sizeof(float);
}

static size_t pool_scratch(const sa_op_ctx *c)
{
    const sa_tensor *h = c->in[0];
    size_t rows = (size_t)h->B * h->T;
    size_t u = c->def->iarg[0] == SA_SCORE_ADDITIVE ? rows * h->F + 2 * (size_t)h->B * h->F : 0;
    return (rows + u) * sizeof(float);
}

static int32_t pool_params(const sa_node_def *d, sa_param_spec *s)
{
    int32_t F = d->F;
    float bound = 1.0f / sqrtf((float)F);
    if (d->iarg[0] == SA_SCORE_ADDITIVE) {
        s[0] = (sa_param_spec){"weight", 2, {F, F}, SA_INIT_UNIFORM, bound};
        s[1] = (sa_param_spec){"bias", 1, {F, 1}, SA_INIT_UNIFORM, bound};
        s[2] = (sa_param_spec){"v", 1, {F, 1}, SA_INIT_UNIFORM, bound};
        return 3;
    }
    s[0] = (sa_param_spec){"weight", 2, {1, F}, SA_INIT_UNIFORM, bound};
    s[1] = (sa_param_spec){"bias", 1, {1, 1}, SA_INIT_UNIFORM, bound};
    return 2;
}

/* Additive scores of the rows of one part (of `parts`): U = tanh(U + b),
 * e = U v, in one pass over each row */
typedef struct score_rows {
    float *U, *e;
    const float *bias, *v;
    size_t rows;
    int32_t F, parts;
} score_rows;

SA_CLONES static void score_part(void *arg, int part)
{
    const score_rows *sr = arg;
    size_t r0 = sr->rows * (size_t)part / (size_t)sr->parts, r1 = sr->rows * (size_t)(part + 1) / (size_t)sr->parts;
    for (size_t r = r0; r < r1; r++) {
        float *u = sr->U + r * (size_t)sr->F;
        for (int32_t f = 0; f < sr->F; f++)
            u[f] += sr->bias[f];
        sa_vtanh(u, u, (size_t)sr->F);
        sr->e[r] = sa_vdot(u, sr->v, (size_t)sr->F);
    }
}

static sa_status pool_forward(sa_op_ctx *c)
{
    const sa_tensor *h = c->in[0];
    int32_t B = h->B, T = h->T, F = h->F;
    size_t rows = (size_t)B * T;
    float *alpha = c->ws, *e = alpha + rows, *U = e + rows;
    const float *W = c->param[0], *bias = c->param[1];
    if (c->def->iarg[0] == SA_SCORE_ADDITIVE) {
        // U = tanh(H Wᵀ + b)   (B*T, F), e = U v: the product, then one pass
        // over the rows, split over the model's threads when the pool runs
        sa_gemm(0, 1, (int)rows, F, F, 1.0f, h->data, F, W, F, 0.0f, U, F);
        score_rows sr = {U, e, bias, c->param[2], rows, F, 1};
        sr.parts = sa_rows_parts(rows > (size_t)INT32_MAX ? INT32_MAX : (int)rows, (double)rows * F);
        if (sr.parts > 1)
            sa_pool_run(sr.parts, score_part, &sr);
        else
            score_part(&sr, 0);
    } else {
        for (size_t r = 0; r < rows; r++)
            e[r] = bias[0];
        sa_gemm(0, 1, (int)rows, 1, F, 1.0f, h->data, F, W, F, 1.0f, e, 1); // e = H wᵀ + b
        if (c->def->iarg[0] == SA_SCORE_TANH)
            sa_vtanh(e, e, rows);
    }
    float *ctx = c->out[0]->data; // (B, 1, F)
    for (int32_t b = 0; b < B; b++) {
        int32_t L = sa_len(h, b);
        float *ab = alpha + (size_t)b * T;
        memcpy(ab, e + (size_t)b * T, (size_t)L * sizeof(float));
        sa_softmax(ab, L);
        memset(ab + L, 0, (size_t)(T - L) * sizeof(float));
        float *cb = ctx + (size_t)b * F;
        memset(cb, 0, (size_t)F * sizeof(float));
        for (int32_t t = 0; t < L; t++) {
            const float *ht = h->data + ((size_t)b * T + t) * F;
            for (int32_t f = 0; f < F; f++)
                cb[f] += ab[t] * ht[f];
        }
    }
    return SA_OK;
}

/* The backward passes over the rows of the samples of one part (of
 * `parts`): de from the context's gradient through the softmax, dH += α dctx,
 * and for additive scores dU = de·v·(1 − U²) with the sample's sums of
 * de·U (its share of dv) and of dU (of db), so that each row is read once
 * and the samples split over the pool; the shares are added in sample order
 * afterwards, whatever the split. */
typedef struct pool_grads {
    const sa_tensor *h;
    const float *alpha, *U, *dctx, *v;
    float *de, *dU, *share; /* share: (B, 2F) dv then db per sample; U, dU, share additive only */
    int32_t parts;
} pool_grads;

SA_CLONES static void grads_part(void *arg, int part)
{
    const pool_grads *pg = arg;
    const sa_tensor *h = pg->h;
    int32_t B = h->B, T = h->T, F = h->F;
    int32_t b0, b1;
    sa_part_range(B, part, pg->parts, &b0, &b1);
    for (int32_t b = b0; b < b1; b++) {
        int32_t L = sa_len(h, b);
        const float *ab = pg->alpha + (size_t)b * T, *gb = pg->dctx + (size_t)b * F;
        float *deb = pg->de + (size_t)b * T;
        float dot = 0.0f;
        for (int32_t t = 0; t < L; t++) { // ctx = Σ α_t h_t
            const float *ht = h->data + ((size_t)b * T + t) * F;
            float da = sa_vdot(gb, ht, (size_t)F); /* in lanes: a plain sum would stay scalar */
            deb[t] = da;
            dot += ab[t] * da;
            if (h->grad) {
                float *dht = h->grad + ((size_t)b * T + t) * F;
                for (int32_t f = 0; f < F; f++)
                    dht[f] += ab[t] * gb[f];
            }
        }
        for (int32_t t = 0; t < L; t++) // α = softmax(e) over t < L
            deb[t] = ab[t] * (deb[t] - dot);
        for (int32_t t = L; t < T; t++)
            deb[t] = 0.0f;
        if (!pg->U)
            continue;
        float *dv = pg->share + (size_t)b * 2 * F, *db = dv + F;
        memset(dv, 0, 2 * (size_t)F * sizeof(float));
        for (int32_t t = 0; t < T; t++) { // e = U v, U = tanh(H Wᵀ + b); padded rows get dU = 0
            const float *u = pg->U + ((size_t)b * T + t) * F;
            float *du = pg->dU + ((size_t)b * T + t) * F, d = deb[t];
            SA_IVDEP
            for (int32_t f = 0; f < F; f++) {
                du[f] = d * pg->v[f] * (1.0f - u[f] * u[f]);
                dv[f] += d * u[f];
                db[f] += du[f];
            }
        }
    }
}

static void pool_backward(sa_op_ctx *c)
{
    sa_tensor *h = c->in[0];
    int32_t B = h->B, T = h->T, F = h->F;
    size_t rows = (size_t)B * T;
    const int additive = c->def->iarg[0] == SA_SCORE_ADDITIVE;
    const float *alpha = c->ws, *e = alpha + rows, *U = e + rows;
    float *de = c->scratch, *dU = de + rows, *share = dU + rows * F;
    pool_grads pg = {h, alpha, additive ? U : NULL, c->out[0]->grad, additive ? c->param[2] : NULL, de, dU, share, 1};
    pg.parts = sa_rows_parts(B, (double)rows * F);
    if (pg.parts > 1)
        sa_pool_run(pg.parts, grads_part, &pg);
    else
        grads_part(&pg, 0);
    if (additive) {
        const float *W = c->param[0];
        float *dv = c->pgrad[2], *db = c->pgrad[1];
        for (int32_t b = 0; b < B; b++) { // the samples' shares, in order
            const float *sv = share + (size_t)b * 2 * F, *sb = sv + F;
            for (int32_t f = 0; f < F; f++) {
                dv[f] += sv[f];
                db[f] += sb[f];
            }
        }
        sa_gemm(1, 0, F, F, (int)rows, 1.0f, dU, F, h->data, F, 1.0f, c->pgrad[0], F); // dW += dUᵀ H
        if (h->grad)
            sa_gemm(0, 0, (int)rows, F, F, 1.0f, dU, F, W, F, 1.0f, h->grad, F); // dH += dU W
        return;
    }
    if (c->def->iarg[0] == SA_SCORE_TANH) // e = tanh(H wᵀ + b)
        for (size_t r = 0; r < rows; r++)
            de[r] *= 1.0f - e[r] * e[r];
    // pre = H wᵀ + b
    sa_gemm(1, 0, 1, F, (int)rows, 1.0f, de, 1, h->data, F, 1.0f, c->pgrad[0], F); // dw += deᵀ H
    for (size_t r = 0; r < rows; r++)
        c->pgrad[1][0] += de[r];
    if (h->grad)
        sa_gemm(0, 0, (int)rows, F, 1, 1.0f, de, 1, c->param[0], F, 1.0f, h->grad, F); // dH += de w
}

static const float *pool_attention(const sa_op_ctx *c, int32_t shape[4])
{
    shape[0] = c->in[0]->B;
    shape[1] = 1;
    shape[2] = 1;
    shape[3] = c->in[0]->T;
    return c->ws;
}

static sa_node pool_rebuild(sa_graph *g, const sa_node_def *d)
{
    return sa_attention_pool(g, d->in[0], (sa_score)d->iarg[0]);
}

const sa_layer_ops sa_op_attention_pool = {
    .kind = "attention_pool",
    .rebuild = pool_rebuild,
    .params = pool_params,
    .reshape = sa_reshape_one,
    .ws_bytes = pool_ws,
    .scratch_bytes = pool_scratch,
    .forward = pool_forward,
    .backward = pool_backward,
    .attention = pool_attention,
};

SA_API sa_node sa_attention_pool(sa_graph *g, sa_node h, sa_score score)
{
    if (!sa_graph_check(g, "sa_attention_pool", 1, &h))
        return SA_NODE_INVALID;
    if (score != SA_SCORE_ADDITIVE && score != SA_SCORE_TANH && score != SA_SCORE_LINEAR)
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "sa_attention_pool: unknown score %d", (int)score);
    sa_node_def d = {.ops = &sa_op_attention_pool, .F = g->nodes[h].F, .n_in = 1, .in = {h}};
    d.iarg[0] = (int32_t)score;
    return sa_graph_add(g, &d);
}
