/* mha.c — multi-head attention (sa_mha: torch.nn.MultiheadAttention numerics
 * and layout) and scaled dot-product attention (sa_sdpa: one head, no
 * projections). Both run the attention core of kernels/attention.c; sdpa is
 * mha with every projection replaced by the identity.
 *
 * in[0] = query [B, Tq, E], in[1] = key [B, Tk, kdim], in[2] = value [B, Tk, vdim].
 * The output keeps the query's T and lengths; keys past the key's lengths are hidden.
 *
 * Step execution keeps the keys and values a step attends over in the node's
 * step state: projected once at the first step when they are static
 * (cross-attention), appended one position per step for causal self-attention. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../internal.h"

/* iarg slots. A_E: width of Q and K (mha: E, sdpa: q's F); A_DV: width of V
 * and of the attention output (mha: E, sdpa: v's F). */
enum { A_E, A_HEADS, A_CAUSAL, A_BIAS, A_KDIM, A_VDIM, A_DV };

static int is_mha(const sa_node_def *d) { return d->ops == &sa_op_mha; }

/* torch keeps one (3E, E) in_proj_weight when query, key and value are E wide */
static int packed(const sa_node_def *d)
{
    return d->iarg[A_KDIM] == d->iarg[A_E] && d->iarg[A_VDIM] == d->iarg[A_E];
}

/* feature size of input i (0 query, 1 key, 2 value) */
static int32_t in_dim(const sa_node_def *d, int i)
{
    return i == 0 ? d->iarg[A_E] : d->iarg[i == 1 ? A_KDIM : A_VDIM];
}

static int32_t mha_params(const sa_node_def *d, sa_param_spec *s)
{
    static const char *const names[3] = {"q_proj_weight", "k_proj_weight", "v_proj_weight"};
    int32_t E = d->iarg[A_E], n = 0;
    /* xavier_uniform: U(±√(6 / (fan_in + fan_out))); torch applies it to the
     * packed (3E, E) matrix as a whole, to q/k/v one by one otherwise */
    if (packed(d))
        s[n++] = (sa_param_spec){"in_proj_weight", 2, {3 * E, E}, SA_INIT_UNIFORM, sqrtf(6.0f / (4.0f * E))};
    else
        for (int i = 0; i < 3; i++) {
            int32_t in = in_dim(d, i);
            s[n] = (sa_param_spec){"", 2, {E, in}, SA_INIT_UNIFORM, sqrtf(6.0f / ((float)E + (float)in))};
            strcpy(s[n++].suffix, names[i]);
        }
    if (d->iarg[A_BIAS])
        s[n++] = (sa_param_spec){"in_proj_bias", 1, {3 * E, 1}, SA_INIT_ZERO, 0.0f};
    /* out_proj is an nn.Linear: U(±1/√E); its bias is zeroed by MHA */
    s[n++] = (sa_param_spec){"out_proj.weight", 2, {E, E}, SA_INIT_UNIFORM, 1.0f / sqrtf((float)E)};
    if (d->iarg[A_BIAS])
        s[n++] = (sa_param_spec){"out_proj.bias", 1, {E, 1}, SA_INIT_ZERO, 0.0f};
    return n;
}

/* The projections of an mha node, whatever the parameter layout. */
typedef struct mha_w {
    const float *W[3], *b[3], *Wo, *bo; /* W[i] (E, in_i); b[i], bo NULL without bias */
    float *dW[3], *db[3], *dWo, *dbo;
} mha_w;

static mha_w weights(const sa_op_ctx *c)
{
    int32_t E = c->def->iarg[A_E];
    int pk = packed(c->def), bias = c->def->iarg[A_BIAS], nw = pk ? 1 : 3;
    mha_w w = {0};
    for (int i = 0; i < 3; i++) {
        size_t off = pk ? (size_t)i * E * E : 0; // rows [iE, (i+1)E) of in_proj_weight
        w.W[i] = c->param[pk ? 0 : i] + off;
        w.dW[i] = c->pgrad[pk ? 0 : i] + off;
        if (bias) {
            w.b[i] = c->param[nw] + (size_t)i * E;
            w.db[i] = c->pgrad[nw] + (size_t)i * E;
        }
    }
    int k = nw + bias;
    w.Wo = c->param[k];
    w.dWo = c->pgrad[k];
    if (bias) {
        w.bo = c->param[k + 1];
        w.dbo = c->pgrad[k + 1];
    }
    return w;
}

/* Y = X Wᵀ + b over `rows` rows of X (rows, in); Y's rows are ldy apart. */
static void project(float *Y, int32_t ldy, const float *X, int32_t rows, int32_t in, const float *W,
                    const float *b, int32_t E)
{
    for (int32_t r = 0; r < rows; r++)
        if (b)
            memcpy(Y + (size_t)r * ldy, b, (size_t)E * sizeof(float));
    sa_gemm(0, 1, rows, E, in, 1.0f, X, in, W, in, b ? 1.0f : 0.0f, Y, ldy);
}

/* dX = beta_dx · dX + dY W (beta_dx 0: dX's old contents are ignored). */
static void project_backward(const float *dY, int32_t ldy, const float *X, float *dX, float beta_dx, int32_t rows,
                             int32_t in, const float *W, float *dW, float *db, int32_t E)
{
    // Y = X Wᵀ + b
    sa_gemm(1, 0, E, in, rows, 1.0f, dY, ldy, X, in, 1.0f, dW, in); // dW += dYᵀ X
    if (db)
        for (int32_t r = 0; r < rows; r++)
            for (int32_t e = 0; e < E; e++)
                db[e] += dY[(size_t)r * ldy + e];
    if (dX)
        sa_gemm(0, 0, rows, in, E, 1.0f, dY, ldy, W, in, beta_dx, dX, in); // dX = β dX + dY W
}

static sa_attn_dims dims(const sa_op_ctx *c, int32_t Tk)
{
    const int32_t *a = c->def->iarg;
    int32_t H = a[A_HEADS], dk = a[A_E] / H;
    sa_attn_dims d = {c->in[0]->B, H, c->in[0]->T, Tk, dk, a[A_DV] / H, 1.0f / sqrtf((float)dk),
                      a[A_CAUSAL], 0, NULL};
    return d;
}

/* a [B, T, F] buffer as an attention operand */
static sa_attn_view seq(float *p, int32_t T, int32_t F) { return (sa_attn_view){p, (size_t)T * F, F}; }

/* Self-attention (query, key and value one node) with torch's packed
 * in_proj_weight: Q, K and V come from one GEMM against the whole (3E, E)
 * matrix, and their gradients go back through one GEMM each for dW and dX,
 * three times the size of the separate ones (and a third of the calls).
 * Q, K, V (and dQ, dK, dV) are then interleaved per row: [Q K V], rows 3E apart. */
static int fused_self(const sa_op_ctx *c)
{
    return is_mha(c->def) && packed(c->def) && !c->stepping && c->in[0] == c->in[1] && c->in[1] == c->in[2];
}

/* buf (Q, K or V, or their gradients), T rows per sample, as an attention
 * operand: rows 3E apart when fused_self() interleaves them, else E */
static sa_attn_view proj_view(const sa_op_ctx *c, float *buf, int32_t T)
{
    int32_t E = c->def->iarg[A_E], ld = fused_self(c) ? 3 * E : E;
    return (sa_attn_view){buf, (size_t)T * ld, ld};
}

/* --------------------------------------------------------------- workspace */

typedef struct attn_ws {
    float *P, *Q, *K, *V, *O, *dO, *dQ, *dK, *dV, *dS;
} attn_ws;

/* Workspace (kept for backward and the hook), in floats. Whole sequence:
 * P (B·H·Tq·Tk) first, for the hook; mha adds the projections Q, O (B·Tq·E)
 * and K, V (B·Tk·E). Stepping: mha's Q and O of the step only (keys, values
 * and P are in the step state).
 * Scratch (whole sequence): mha's dO, dQ (B·Tq·E), dK, dV (B·Tk·E); both
 * kinds' dS (Tq·Tk). Backward writes only scratch, so it can run twice after
 * one forward.
 * @return the bytes of the region `which` asks for (0: workspace, 1:
 * scratch), SIZE_MAX when it overflows. */
static size_t ws_layout(const sa_op_ctx *c, float *keep, float *scratch, attn_ws *w, int which)
{
    size_t B = (size_t)c->in[0]->B, Tq = (size_t)c->in[0]->T, Tk = (size_t)c->in[1]->T;
    size_t E = (size_t)c->def->iarg[A_E], H = (size_t)c->def->iarg[A_HEADS];
    /* bound first in floating point: B·H·Tq·Tk can exceed size_t */
    long double est = (long double)B * H * Tq * Tk + 6.0L * B * (Tq + Tk) * E + (long double)Tq * Tk;
    if (est * sizeof(float) > (long double)(SIZE_MAX / 4))
        return SIZE_MAX;
    int mha = is_mha(c->def), full = !c->stepping;
    size_t q = mha ? B * Tq * E : 0, k = mha && full ? B * Tk * E : 0, gq = full ? q : 0;
    size_t sizes[10] = {full ? B * H * Tq * Tk : 0, q, k, k, q, gq, gq, k, k, full ? Tq * Tk : 0};
    float **slots[10] = {&w->P, &w->Q, &w->K, &w->V, &w->O, &w->dO, &w->dQ, &w->dK, &w->dV, &w->dS};
    size_t off[2] = {0, 0};
    for (int i = 0; i < 10; i++) {
        int r = i < 5 ? 0 : 1; /* P, Q, K, V, O are kept; the gradients are scratch */
        float *base = r == 0 ? keep : scratch;
        if (base)
            *slots[i] = base + off[r];
        off[r] += sizes[i];
    }
    if (fused_self(c) && keep) /* same total size: [Q K V] per row, see fused_self() */
        w->K = w->Q + E, w->V = w->Q + 2 * E;
    if (fused_self(c) && scratch)
        w->dK = w->dQ + E, w->dV = w->dQ + 2 * E;
    return off[which] * sizeof(float);
}

static size_t attn_ws_bytes(const sa_op_ctx *c) { return ws_layout(c, NULL, NULL, &(attn_ws){0}, 0); }
static size_t attn_scratch_bytes(const sa_op_ctx *c) { return ws_layout(c, NULL, NULL, &(attn_ws){0}, 1); }

/* ------------------------------------------------------------- step state */

/* The step state: this header, then the keys and values a step attends over,
 * position-major (tcap, B, W) with W = A_E + A_DV (a key then a value per row)
 * so causal self-attention appends a position without moving the others, then
 * P (B, H, 1, Tk) of the last step. `stepped` says whether the last run of the
 * node was a step, so the hook shows the weights that were last computed. */
typedef struct step_hdr {
    size_t tcap;   /* positions the cache holds */
    int32_t Tk;    /* keys of the last step */
    int32_t stepped;
} step_hdr;
#define HDR_BYTES 64 /* keeps the float regions aligned */

static int32_t kv_width(const sa_node_def *d) { return d->iarg[A_E] + d->iarg[A_DV]; }
static float *state_kv(step_hdr *st) { return (float *)((char *)st + HDR_BYTES); }

static float *state_P(step_hdr *st, int32_t B, int32_t W)
{
    return state_kv(st) + st->tcap * (size_t)B * W;
}

/* Grows the state to tcap positions; cached positions keep their place.
 * @return NULL when out of memory or too large. */
static step_hdr *state_reserve(sa_op_ctx *c, size_t tcap)
{
    size_t per = (size_t)c->in[0]->B * ((size_t)kv_width(c->def) + (size_t)c->def->iarg[A_HEADS]);
    if (tcap > (SIZE_MAX - HDR_BYTES) / sizeof(float) / per)
        return NULL;
    step_hdr *st = sa_ctx_state(c, HDR_BYTES + tcap * per * sizeof(float));
    if (st)
        st->tcap = tcap;
    return st;
}

/* Keys (i = 1) or values (i = 2) of `rows` input rows X into Y, rows ldy
 * apart: projected by mha, copied by sdpa. */
static void kv_rows(const sa_op_ctx *c, int i, const float *X, int32_t rows, float *Y, int32_t ldy)
{
    int32_t in = in_dim(c->def, i);
    if (!is_mha(c->def)) {
        for (int32_t r = 0; r < rows; r++)
            memcpy(Y + (size_t)r * ldy, X + (size_t)r * in, (size_t)in * sizeof(float));
        return;
    }
    mha_w p = weights(c);
    project(Y, ldy, X, rows, in, p.W[i], p.b[i], c->def->iarg[A_E]);
}

/* ------------------------------------------------------------------ forward */

static sa_status attn_reshape(sa_op_ctx *c)
{
    if (c->in[1]->T != c->in[2]->T)
        return sa_fail(SA_ERR_SHAPE, "sa_%s '%s': key has T=%d, value has T=%d", c->def->ops->kind, c->def->name,
                       (int)c->in[1]->T, (int)c->in[2]->T);
    return sa_reshape_same(c);
}

/* The step state, when the node has one, learns that the last run was a whole sequence. */
static void mark_full(sa_op_ctx *c)
{
    step_hdr *st = sa_ctx_state(c, 0);
    if (st)
        st->stepped = 0;
}

static sa_status attn_forward(sa_op_ctx *c)
{
    const sa_tensor *q = c->in[0], *k = c->in[1], *v = c->in[2];
    sa_tensor *y = c->out[0];
    sa_attn_dims a = dims(c, k->T);
    a.klen = k->len;
    attn_ws w;
    ws_layout(c, c->ws, c->scratch, &w, 0);
    mark_full(c);
    if (!is_mha(c->def)) {
        sa_attn_forward(&a, seq(q->data, q->T, q->F), seq(k->data, k->T, k->F), seq(v->data, v->T, v->F), w.P,
                        seq(y->data, y->T, y->F));
        return SA_OK;
    }
    int32_t B = q->B, Tq = q->T, Tk = k->T, E = c->def->iarg[A_E];
    mha_w p = weights(c);
    if (fused_self(c)) { // [Q K V] = x W_inᵀ + b_in   (B·T, 3E)
        project(w.Q, 3 * E, q->data, B * Tq, q->F, p.W[0], p.b[0], 3 * E);
    } else {
        project(w.Q, E, q->data, B * Tq, q->F, p.W[0], p.b[0], E); // Q = q Wqᵀ + bq   (B·Tq, E)
        project(w.K, E, k->data, B * Tk, k->F, p.W[1], p.b[1], E); // K = k Wkᵀ + bk   (B·Tk, E)
        project(w.V, E, v->data, B * Tk, v->F, p.W[2], p.b[2], E); // V = v Wvᵀ + bv   (B·Tk, E)
    }
    // O = concat_h softmax(Q_h K_hᵀ / √d) V_h   (B·Tq, E)
    sa_attn_forward(&a, proj_view(c, w.Q, Tq), proj_view(c, w.K, Tk), proj_view(c, w.V, Tk), w.P,
                    seq(w.O, Tq, E));
    project(y->data, E, w.O, B * Tq, E, p.Wo, p.bo, E); // y = O Woᵀ + bo   (B·Tq, E)
    return SA_OK;
}

static void attn_backward(sa_op_ctx *c)
{
    sa_tensor *q = c->in[0], *k = c->in[1], *v = c->in[2];
    const sa_tensor *y = c->out[0];
    sa_attn_dims a = dims(c, k->T);
    a.klen = k->len;
    attn_ws w;
    ws_layout(c, c->ws, c->scratch, &w, 0);
    /* self-attention passes one node three times: its gradient pointers are
     * the same, and every contribution below is added (+=), never stored */
    if (!is_mha(c->def)) {
        sa_attn_backward(&a, seq(q->data, q->T, q->F), seq(k->data, k->T, k->F), seq(v->data, v->T, v->F), w.P,
                         seq(y->grad, y->T, y->F), w.dS, seq(q->grad, q->T, q->F), seq(k->grad, k->T, k->F),
                         seq(v->grad, v->T, v->F), 1.0f);
        return;
    }
    int32_t B = q->B, Tq = q->T, Tk = k->T, E = c->def->iarg[A_E];
    mha_w p = weights(c);
    /* dO, dQ, dK, dV are scratch written whole (beta 0): no clearing first */
    // y = O Woᵀ + bo
    project_backward(y->grad, E, w.O, w.dO, 0.0f, B * Tq, E, p.Wo, p.dWo, p.dbo, E);
    // O = concat_h softmax(Q_h K_hᵀ / √d) V_h
    sa_attn_backward(&a, proj_view(c, w.Q, Tq), proj_view(c, w.K, Tk), proj_view(c, w.V, Tk), w.P,
                     seq(w.dO, Tq, E), w.dS, proj_view(c, w.dQ, Tq), proj_view(c, w.dK, Tk),
                     proj_view(c, w.dV, Tk), 0.0f);
    if (fused_self(c)) { // [Q K V] = x W_inᵀ + b_in
        project_backward(w.dQ, 3 * E, q->data, q->grad, 1.0f, B * Tq, q->F, p.W[0], p.dW[0], p.db[0], 3 * E);
        return;
    }
    // Q = q Wqᵀ + bq,  K = k Wkᵀ + bk,  V = v Wvᵀ + bv
    project_backward(w.dQ, E, q->data, q->grad, 1.0f, B * Tq, q->F, p.W[0], p.dW[0], p.db[0], E);
    project_backward(w.dK, E, k->data, k->grad, 1.0f, B * Tk, k->F, p.W[1], p.dW[1], p.db[1], E);
    project_backward(w.dV, E, v->data, v->grad, 1.0f, B * Tk, v->F, p.W[2], p.dW[2], p.db[2], E);
}

static const float *attn_attention(const sa_op_ctx *c, int32_t shape[4])
{
    shape[0] = c->in[0]->B;
    shape[1] = c->def->iarg[A_HEADS];
    shape[2] = c->in[0]->T;
    shape[3] = c->in[1]->T;
    step_hdr *st = sa_ctx_state((sa_op_ctx *)c, 0); /* bytes 0: only looks it up */
    if (!st || !st->stepped)
        return c->ws; // P comes first
    shape[2] = 1;
    shape[3] = st->Tk;
    return state_P(st, c->in[0]->B, kv_width(c->def));
}

/* --------------------------------------------------------------------- step */

/* Keys and values either static (projected at the first step) or this very
 * query's sequence under a causal mask (appended each step): see attn_can_step. */
static sa_status attn_step(sa_op_ctx *c)
{
    const sa_node_def *d = c->def;
    const sa_tensor *q = c->in[0], *k = c->in[1], *v = c->in[2];
    sa_tensor *y = c->out[0];
    int self = c->in_stepped[1]; // causal self-attention
    int32_t B = q->B, E = d->iarg[A_E], W = kv_width(d);
    if (q->T != 1)
        return sa_fail(SA_ERR_INTERNAL, "sa_step: '%s' got T=%d, a step has T=1", d->name, (int)q->T);
    if ((int64_t)B * W > INT32_MAX)
        return sa_fail(SA_ERR_OVERFLOW, "sa_step: '%s' caches rows of B*%d = %lld floats, more than %d",
                       d->name, (int)W, (long long)B * W, INT32_MAX);
    int32_t Tk = self ? c->pos + 1 : k->T, ldkv = B * W;
    step_hdr *st = c->pos == 0 ? NULL : sa_ctx_state(c, 0);
    if (!st || (size_t)Tk > st->tcap) {
        /* static keys: exactly Tk; a growing cache doubles, so T steps copy O(T) */
        size_t tcap = !self ? (size_t)Tk : st ? 2 * st->tcap : 16;
        if (!(st = state_reserve(c, tcap)))
            return sa_fail(SA_ERR_NO_MEMORY, "sa_step: cannot hold the keys and values of %zu steps for '%s'",
                           tcap, d->name);
    }
    float *kv = state_kv(st);
    if (self) { // this step's key and value, at position pos
        float *row = kv + (size_t)c->pos * ldkv;
        kv_rows(c, 1, k->data, B, row, W);
        kv_rows(c, 2, v->data, B, row + E, W);
    } else if (c->pos == 0) // static keys and values, once
        for (int32_t b = 0; b < B; b++) {
            kv_rows(c, 1, k->data + (size_t)b * Tk * k->F, Tk, kv + (size_t)b * W, ldkv);
            kv_rows(c, 2, v->data + (size_t)b * Tk * v->F, Tk, kv + (size_t)b * W + E, ldkv);
        }
    st->Tk = Tk;
    st->stepped = 1;
    sa_attn_dims a = dims(c, Tk);
    a.qoff = c->pos; // the step is query row pos of the whole sequence
    a.klen = self ? NULL : k->len;
    sa_attn_view K = {kv, (size_t)W, ldkv}, V = {kv + E, (size_t)W, ldkv};
    float *P = state_P(st, B, W);
    if (!is_mha(d)) {
        sa_attn_forward(&a, seq(q->data, 1, q->F), K, V, P, seq(y->data, 1, y->F));
        return SA_OK;
    }
    attn_ws w;
    ws_layout(c, c->ws, c->scratch, &w, 0);
    mha_w p = weights(c);
    project(w.Q, E, q->data, B, E, p.W[0], p.b[0], E); // Q = q Wqᵀ + bq   (B, E)
    sa_attn_forward(&a, seq(w.Q, 1, E), K, V, P, seq(w.O, 1, E));
    project(y->data, E, w.O, B, E, p.Wo, p.bo, E); // y = O Woᵀ + bo   (B, E)
    return SA_OK;
}

static sa_status attn_can_step(const sa_node_def *d, const unsigned char *in_stepped)
{
    if (!in_stepped || (!in_stepped[1] && !in_stepped[2]))
        return SA_OK; // static keys and values: cross-attention from the stepped query
    if (!in_stepped[0] || d->in[0] != d->in[1] || d->in[1] != d->in[2])
        return sa_fail(SA_ERR_UNSUPPORTED, "sa_step_begin: '%s' (%s) has stepped keys or values: a step can "
                       "attend to static keys and values, or to the past steps of its own query (causal "
                       "self-attention, the same node as query, key and value)", d->name, d->ops->kind);
    if (!d->iarg[A_CAUSAL])
        return sa_fail(SA_ERR_UNSUPPORTED, "sa_step_begin: '%s' (%s) is a self-attention without causal=1: "
                       "each step would attend to steps that come after it", d->name, d->ops->kind);
    return SA_OK;
}

static sa_node mha_rebuild(sa_graph *g, const sa_node_def *d)
{
    sa_mha_desc md = sa_mha_desc_default();
    md.embed_dim = d->iarg[A_E];
    md.num_heads = d->iarg[A_HEADS];
    md.causal = d->iarg[A_CAUSAL];
    md.bias = d->iarg[A_BIAS];
    return sa_mha(g, d->in[0], d->in[1], d->in[2], &md);
}

static sa_node sdpa_rebuild(sa_graph *g, const sa_node_def *d)
{
    return sa_sdpa(g, d->in[0], d->in[1], d->in[2], d->iarg[A_CAUSAL]);
}

const sa_layer_ops sa_op_mha = {
    .kind = "mha",
    .rebuild = mha_rebuild,
    .params = mha_params,
    .reshape = attn_reshape,
    .ws_bytes = attn_ws_bytes,
    .scratch_bytes = attn_scratch_bytes,
    .forward = attn_forward,
    .backward = attn_backward,
    .attention = attn_attention,
    .step = attn_step,
    .can_step = attn_can_step,
};

const sa_layer_ops sa_op_sdpa = {
    .kind = "sdpa",
    .rebuild = sdpa_rebuild,
    .reshape = attn_reshape,
    .ws_bytes = attn_ws_bytes,
    .scratch_bytes = attn_scratch_bytes,
    .forward = attn_forward,
    .backward = attn_backward,
    .attention = attn_attention,
    .step = attn_step,
    .can_step = attn_can_step,
};

/* ----------------------------------------------------------------- builders */

SA_API sa_mha_desc sa_mha_desc_default(void)
{
    sa_mha_desc d = {SA_MHA_DESC_INIT};
    return d;
}

SA_API sa_node sa_mha(sa_graph *g, sa_node query, sa_node key, sa_node value, const sa_mha_desc *desc)
{
    sa_node xs[3] = {query, key, value};
    if (!sa_graph_check(g, "sa_mha", 3, xs))
        return SA_NODE_INVALID;
    if (!desc)
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "sa_mha: desc is NULL");
    if (desc->struct_size < offsetof(sa_mha_desc, bias) + sizeof desc->bias)
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "sa_mha: desc->struct_size %zu is too small "
                             "(use SA_MHA_DESC_INIT or sa_mha_desc_default())", desc->struct_size);
    int32_t E = desc->embed_dim, H = desc->num_heads;
    if (E < 1 || E > SA_MAX_DIM)
        return sa_graph_fail(g, SA_ERR_SHAPE, "sa_mha: embed_dim must be in 1..%d, got %d", SA_MAX_DIM, (int)E);
    if (H < 1)
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "sa_mha: num_heads must be >= 1, got %d", (int)H);
    if (E % H)
        return sa_graph_fail(g, SA_ERR_SHAPE, "sa_mha: embed_dim %d is not divisible by num_heads %d", (int)E,
                             (int)H);
    if (desc->causal != 0 && desc->causal != 1)
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "sa_mha: causal must be 0 or 1, got %d", (int)desc->causal);
    if (desc->bias != 0 && desc->bias != 1)
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "sa_mha: bias must be 0 or 1, got %d", (int)desc->bias);
    if (g->nodes[query].F != E)
        return sa_graph_fail(g, SA_ERR_SHAPE, "sa_mha: query '%s' has %d features, embed_dim is %d",
                             g->nodes[query].name, (int)g->nodes[query].F, (int)E);
    sa_node_def d = {.ops = &sa_op_mha, .F = E, .n_in = 3, .in = {query, key, value}};
    d.iarg[A_E] = E;
    d.iarg[A_HEADS] = H;
    d.iarg[A_CAUSAL] = desc->causal;
    d.iarg[A_BIAS] = desc->bias;
    d.iarg[A_KDIM] = g->nodes[key].F;
    d.iarg[A_VDIM] = g->nodes[value].F;
    d.iarg[A_DV] = E;
    return sa_graph_add(g, &d);
}

SA_API sa_node sa_sdpa(sa_graph *g, sa_node q, sa_node k, sa_node v, int32_t causal)
{
    sa_node xs[3] = {q, k, v};
    if (!sa_graph_check(g, "sa_sdpa", 3, xs))
        return SA_NODE_INVALID;
    if (causal != 0 && causal != 1)
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "sa_sdpa: causal must be 0 or 1, got %d", (int)causal);
    if (g->nodes[q].F != g->nodes[k].F)
        return sa_graph_fail(g, SA_ERR_SHAPE, "sa_sdpa: q '%s' has %d features, k '%s' has %d; they must be equal",
                             g->nodes[q].name, (int)g->nodes[q].F, g->nodes[k].name, (int)g->nodes[k].F);
    sa_node_def d = {.ops = &sa_op_sdpa, .F = g->nodes[v].F, .n_in = 3, .in = {q, k, v}};
    d.iarg[A_E] = g->nodes[q].F;
    d.iarg[A_HEADS] = 1;
    d.iarg[A_CAUSAL] = causal;
    d.iarg[A_KDIM] = g->nodes[k].F;
    d.iarg[A_VDIM] = g->nodes[v].F;
    d.iarg[A_DV] = g->nodes[v].F;
    return sa_graph_add(g, &d);
}
