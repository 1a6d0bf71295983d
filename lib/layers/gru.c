/* gru.c — multi-layer, bidirectional GRU with PyTorch numerics and layout.
 *
 *   r = σ(W_ir x + b_ir + W_hr h + b_hr)
 *   z = σ(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
 *   h' = (1 − z) ⊙ n + z ⊙ h
 *
 * Per layer and direction: one GEMM projects the input for all steps, then
 * each step does one recurrent GEMM and one fused gate loop. Backward keeps the
 * gate gradients of all steps and does the weight-gradient GEMMs once.
 * Per-sample lengths follow pack_padded_sequence: sample b runs L_b steps, the
 * reverse direction starts at t = L_b − 1, padded outputs are 0. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../internal.h"

enum { A_H, A_LAYERS, A_DIRS, A_SEQ, A_IN, A_H0 }; /* iarg slots */

typedef struct gru_dims {
    int32_t B, T, H, L, D, I;
    size_t BT;
} gru_dims;

static gru_dims dims(const sa_op_ctx *c)
{
    const int32_t *a = c->def->iarg;
    gru_dims g = {c->in[0]->B, c->in[0]->T, a[A_H], a[A_LAYERS], a[A_DIRS], a[A_IN], 0};
    g.BT = (size_t)g.B * g.T;
    return g;
}

static int32_t layer_in(const gru_dims *g, int32_t k) { return k == 0 ? g->I : g->D * g->H; }

/* Workspace, in floats:
 *   per (layer, dir): gates (BT·3H: r, z, n), hn (BT·H: W_hn h + b_hn), hprev (BT·H)
 *   per layer: output sequence (BT·DH)
 *   hfinal (L·D·B·H)
 *   scratch: xp / dxp (BT·3H), dhp (BT·3H), hproj / dhs (B·3H), h (B·H), dh (B·H),
 *            dY, dX (BT·DH each) */
typedef struct gru_ws {
    float *gates, *hn, *hprev, *outs, *hfinal, *xp, *dhp, *step, *h, *dh, *dY, *dX;
} gru_ws;

static size_t ws_layout(const gru_dims *g, float *base, gru_ws *w)
{
    size_t BT = g->BT, H = (size_t)g->H, LD = (size_t)g->L * g->D, DH = (size_t)g->D * H;
    size_t sizes[12] = {LD * BT * 3 * H, LD * BT * H, LD * BT * H, (size_t)g->L * BT * DH,
                        LD * g->B * H, BT * 3 * H, BT * 3 * H, (size_t)g->B * 3 * H,
                        (size_t)g->B * H, (size_t)g->B * H, BT * DH, BT * DH};
    float **slots[12] = {&w->gates, &w->hn, &w->hprev, &w->outs, &w->hfinal, &w->xp,
                         &w->dhp, &w->step, &w->h, &w->dh, &w->dY, &w->dX};
    size_t off = 0;
    for (int i = 0; i < 12; i++) {
        if (base)
            *slots[i] = base + off;
        off += sizes[i];
    }
    return off;
}

static size_t gru_ws_bytes(const sa_op_ctx *c)
{
    gru_dims g = dims(c);
    /* every factor is <= 2^24 and the model checks B*T*F first; the product of
     * L·D·BT·3H can still exceed size_t on 32-bit, so check in long double */
    long double est = (long double)g.L * g.D * g.BT * 8.0L * g.H + (long double)g.L * g.BT * g.D * g.H;
    if (est * sizeof(float) > (long double)(SIZE_MAX / 2))
        return SIZE_MAX;
    return ws_layout(&g, NULL, &(gru_ws){0}) * sizeof(float);
}

static int32_t gru_params(const sa_node_def *d, sa_param_spec *s)
{
    int32_t H = d->iarg[A_H], L = d->iarg[A_LAYERS], D = d->iarg[A_DIRS];
    float bound = 1.0f / sqrtf((float)H);
    int32_t n = 0;
    for (int32_t k = 0; k < L; k++)
        for (int32_t dir = 0; dir < D; dir++) {
            int32_t in = k == 0 ? d->iarg[A_IN] : D * H;
            const char *sfx = dir ? "_reverse" : "";
            s[n] = (sa_param_spec){"", 2, {3 * H, in}, SA_INIT_UNIFORM, bound};
            snprintf(s[n++].suffix, SA_NAME_MAX, "weight_ih_l%d%s", (int)k, sfx);
            s[n] = (sa_param_spec){"", 2, {3 * H, H}, SA_INIT_UNIFORM, bound};
            snprintf(s[n++].suffix, SA_NAME_MAX, "weight_hh_l%d%s", (int)k, sfx);
            s[n] = (sa_param_spec){"", 1, {3 * H, 1}, SA_INIT_UNIFORM, bound};
            snprintf(s[n++].suffix, SA_NAME_MAX, "bias_ih_l%d%s", (int)k, sfx);
            s[n] = (sa_param_spec){"", 1, {3 * H, 1}, SA_INIT_UNIFORM, bound};
            snprintf(s[n++].suffix, SA_NAME_MAX, "bias_hh_l%d%s", (int)k, sfx);
        }
    return n;
}

static sa_status gru_reshape(sa_op_ctx *c)
{
    const sa_node_def *d = c->def;
    if (d->iarg[A_H0] && c->in[1]->T != 1)
        return sa_fail(SA_ERR_SHAPE, "sa_gru '%s': initial state must have T=1, got T=%d", d->name,
                       (int)c->in[1]->T);
    if (d->iarg[A_SEQ])
        sa_reshape_same(c);
    else
        sa_reshape_one(c);
    return SA_OK;
}

/* time index of sample b at step s of direction dir, or -1 when b is done */
static inline int32_t step_time(const sa_tensor *x, int32_t b, int32_t s, int32_t dir)
{
    int32_t L = sa_len(x, b);
    if (s >= L)
        return -1;
    return dir ? L - 1 - s : s;
}

static void forward_dir(sa_op_ctx *c, const gru_dims *g, const gru_ws *w, int32_t k, int32_t dir,
                        const float *xin, float *yout)
{
    const sa_tensor *x = c->in[0];
    int32_t H = g->H, H3 = 3 * g->H, in = layer_in(g, k), DH = g->D * H, ld = k * g->D + dir;
    const float *Wih = c->param[ld * 4], *Whh = c->param[ld * 4 + 1];
    const float *bih = c->param[ld * 4 + 2], *bhh = c->param[ld * 4 + 3];
    float *gates = w->gates + (size_t)ld * g->BT * H3, *hn = w->hn + (size_t)ld * g->BT * H;
    float *hprev = w->hprev + (size_t)ld * g->BT * H, *h = w->h, *hp = w->step;

    for (size_t r = 0; r < g->BT; r++) // xp = X W_ihᵀ + b_ih   (BT, 3H)
        memcpy(w->xp + r * H3, bih, (size_t)H3 * sizeof(float));
    sa_gemm(0, 1, (int)g->BT, H3, in, 1.0f, xin, in, Wih, in, 1.0f, w->xp, H3);

    if (c->def->iarg[A_H0]) // h = h0[:, (k·D + dir)·H : +H]
        for (int32_t b = 0; b < g->B; b++)
            memcpy(h + (size_t)b * H, c->in[1]->data + (size_t)b * c->in[1]->F + (size_t)ld * H,
                   (size_t)H * sizeof(float));
    else
        memset(h, 0, (size_t)g->B * H * sizeof(float));

    for (int32_t s = 0; s < g->T; s++) {
        for (int32_t b = 0; b < g->B; b++) // hp = h W_hhᵀ + b_hh   (B, 3H)
            memcpy(hp + (size_t)b * H3, bhh, (size_t)H3 * sizeof(float));
        sa_gemm(0, 1, g->B, H3, H, 1.0f, h, H, Whh, H, 1.0f, hp, H3);
        for (int32_t b = 0; b < g->B; b++) {
            int32_t t = step_time(x, b, s, dir);
            if (t < 0)
                continue;
            size_t row = (size_t)b * g->T + t;
            const float *xr = w->xp + row * H3, *hr = hp + (size_t)b * H3;
            float *gr = gates + row * H3, *hb = h + (size_t)b * H;
            memcpy(hprev + row * H, hb, (size_t)H * sizeof(float));
            memcpy(hn + row * H, hr + 2 * H, (size_t)H * sizeof(float));
            for (int32_t j = 0; j < H; j++) {
                float rg = sa_sigmoidf(xr[j] + hr[j]);
                float zg = sa_sigmoidf(xr[H + j] + hr[H + j]);
                float ng = tanhf(xr[2 * H + j] + rg * hr[2 * H + j]);
                gr[j] = rg;
                gr[H + j] = zg;
                gr[2 * H + j] = ng;
                hb[j] = (1.0f - zg) * ng + zg * hb[j];
            }
            memcpy(yout + row * DH + (size_t)dir * H, hb, (size_t)H * sizeof(float));
        }
    }
    memcpy(w->hfinal + (size_t)ld * g->B * H, h, (size_t)g->B * H * sizeof(float));
}

static float *layer_out(const sa_op_ctx *c, const gru_dims *g, const gru_ws *w, int32_t k)
{
    if (k == g->L - 1 && c->def->iarg[A_SEQ])
        return c->out[0]->data;
    return w->outs + (size_t)k * g->BT * g->D * g->H;
}

static sa_status gru_forward(sa_op_ctx *c)
{
    gru_dims g = dims(c);
    gru_ws w;
    ws_layout(&g, c->ws, &w);
    size_t LD = (size_t)g.L * g.D, H = (size_t)g.H;
    /* padded rows are never written by the time loop but are read (times a zero
     * gradient) by the batched weight-gradient GEMMs: they must hold finite values */
    if (c->in[0]->len) {
        memset(w.gates, 0, LD * g.BT * 3 * H * sizeof(float));
        memset(w.hprev, 0, LD * g.BT * H * sizeof(float));
    }
    for (int32_t k = 0; k < g.L; k++) {
        const float *xin = k == 0 ? c->in[0]->data : layer_out(c, &g, &w, k - 1);
        float *y = layer_out(c, &g, &w, k);
        memset(y, 0, g.BT * g.D * H * sizeof(float));
        for (int32_t dir = 0; dir < g.D; dir++)
            forward_dir(c, &g, &w, k, dir, xin, y);
    }
    int32_t DH = g.D * g.H;
    if (!c->def->iarg[A_SEQ]) // last state of the top layer, directions side by side
        for (int32_t b = 0; b < g.B; b++)
            for (int32_t dir = 0; dir < g.D; dir++)
                memcpy(c->out[0]->data + (size_t)b * DH + (size_t)dir * H,
                       w.hfinal + ((size_t)((g.L - 1) * g.D + dir) * g.B + b) * H, H * sizeof(float));
    if (c->out[1]) // h_n in PyTorch order, per sample
        for (int32_t b = 0; b < g.B; b++)
            for (size_t ld = 0; ld < LD; ld++)
                memcpy(c->out[1]->data + ((size_t)b * LD + ld) * H, w.hfinal + (ld * g.B + b) * H,
                       H * sizeof(float));
    return SA_OK;
}

static void backward_dir(sa_op_ctx *c, const gru_dims *g, const gru_ws *w, int32_t k, int32_t dir,
                         const float *xin, float *dxin)
{
    const sa_tensor *x = c->in[0];
    int32_t H = g->H, H3 = 3 * H, in = layer_in(g, k), DH = g->D * H, ld = k * g->D + dir;
    const float *Wih = c->param[ld * 4], *Whh = c->param[ld * 4 + 1];
    const float *gates = w->gates + (size_t)ld * g->BT * H3, *hn = w->hn + (size_t)ld * g->BT * H;
    const float *hprev = w->hprev + (size_t)ld * g->BT * H;
    float *dxp = w->xp, *dhp = w->dhp, *dhs = w->step, *dh = w->dh;
    memset(dxp, 0, g->BT * H3 * sizeof(float));
    memset(dhp, 0, g->BT * H3 * sizeof(float));

    /* dh starts from the gradient of this direction's final state */
    memset(dh, 0, (size_t)g->B * H * sizeof(float));
    if (c->out[1] && c->out[1]->grad)
        for (int32_t b = 0; b < g->B; b++)
            for (int32_t j = 0; j < H; j++)
                dh[(size_t)b * H + j] += c->out[1]->grad[((size_t)b * g->L * g->D + ld) * H + j];
    if (k == g->L - 1 && !c->def->iarg[A_SEQ])
        for (int32_t b = 0; b < g->B; b++)
            for (int32_t j = 0; j < H; j++)
                dh[(size_t)b * H + j] += c->out[0]->grad[(size_t)b * DH + (size_t)dir * H + j];

    for (int32_t s = g->T - 1; s >= 0; s--) {
        memset(dhs, 0, (size_t)g->B * H3 * sizeof(float));
        for (int32_t b = 0; b < g->B; b++) {
            int32_t t = step_time(x, b, s, dir);
            if (t < 0)
                continue;
            size_t row = (size_t)b * g->T + t;
            const float *gr = gates + row * H3, *hpr = hprev + row * H, *hnr = hn + row * H;
            const float *dyr = w->dY + row * DH + (size_t)dir * H;
            float *dhb = dh + (size_t)b * H, *dx = dxp + row * H3, *dhr = dhs + (size_t)b * H3;
            for (int32_t j = 0; j < H; j++) {
                float r = gr[j], z = gr[H + j], n = gr[2 * H + j];
                float d = dhb[j] + dyr[j];
                // h' = (1 − z) n + z h
                float dn = d * (1.0f - z), dz = d * (hpr[j] - n);
                // n = tanh(xn + r ⊙ hn)
                float dan = dn * (1.0f - n * n);
                float dr = dan * hnr[j];
                float dar = dr * r * (1.0f - r), daz = dz * z * (1.0f - z);
                dx[j] = dar;
                dx[H + j] = daz;
                dx[2 * H + j] = dan;
                dhr[j] = dar;
                dhr[H + j] = daz;
                dhr[2 * H + j] = dan * r;
                dhb[j] = d * z;
            }
            memcpy(dhp + row * H3, dhr, (size_t)H3 * sizeof(float));
        }
        sa_gemm(0, 0, g->B, H, H3, 1.0f, dhs, H3, Whh, H, 1.0f, dh, H); // dh += dhs W_hh
    }
    if (c->def->iarg[A_H0] && c->in[1]->grad) // dh is now the gradient of h0
        for (int32_t b = 0; b < g->B; b++)
            for (int32_t j = 0; j < H; j++)
                c->in[1]->grad[(size_t)b * c->in[1]->F + (size_t)ld * H + j] += dh[(size_t)b * H + j];

    float *dWih = c->pgrad[ld * 4], *dWhh = c->pgrad[ld * 4 + 1];
    float *dbih = c->pgrad[ld * 4 + 2], *dbhh = c->pgrad[ld * 4 + 3];
    sa_gemm(1, 0, H3, H, (int)g->BT, 1.0f, dhp, H3, hprev, H, 1.0f, dWhh, H); // dW_hh += dhpᵀ hprev
    sa_gemm(1, 0, H3, in, (int)g->BT, 1.0f, dxp, H3, xin, in, 1.0f, dWih, in); // dW_ih += dxpᵀ X
    for (size_t r = 0; r < g->BT; r++)
        for (int32_t j = 0; j < H3; j++) {
            dbih[j] += dxp[r * H3 + j];
            dbhh[j] += dhp[r * H3 + j];
        }
    if (dxin)
        sa_gemm(0, 0, (int)g->BT, in, H3, 1.0f, dxp, H3, Wih, in, 1.0f, dxin, in); // dX += dxp W_ih
}

static void gru_backward(sa_op_ctx *c)
{
    gru_dims g = dims(c);
    gru_ws w;
    ws_layout(&g, c->ws, &w);
    size_t seq = g.BT * g.D * g.H;
    if (c->def->iarg[A_SEQ])
        memcpy(w.dY, c->out[0]->grad, seq * sizeof(float));
    else
        memset(w.dY, 0, seq * sizeof(float));
    for (int32_t k = g.L - 1; k >= 0; k--) {
        const float *xin = k == 0 ? c->in[0]->data : layer_out(c, &g, &w, k - 1);
        float *dxin = k == 0 ? c->in[0]->grad : w.dX;
        if (k > 0)
            memset(w.dX, 0, seq * sizeof(float));
        for (int32_t dir = 0; dir < g.D; dir++)
            backward_dir(c, &g, &w, k, dir, xin, dxin);
        if (k > 0) { // the input gradient of layer k is the output gradient of layer k − 1
            float *t = w.dY;
            w.dY = w.dX;
            w.dX = t;
        }
    }
}

const sa_layer_ops sa_op_gru = {
    .kind = "gru",
    .params = gru_params,
    .reshape = gru_reshape,
    .ws_bytes = gru_ws_bytes,
    .forward = gru_forward,
    .backward = gru_backward,
};

SA_API sa_rnn_desc sa_rnn_desc_default(void)
{
    sa_rnn_desc d = {SA_RNN_DESC_INIT};
    return d;
}

SA_API sa_node sa_gru(sa_graph *g, sa_node x, const sa_rnn_desc *desc)
{
    if (!sa_graph_check(g, "sa_gru", 1, &x))
        return SA_NODE_INVALID;
    if (!desc)
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "sa_gru: desc is NULL");
    if (desc->struct_size < offsetof(sa_rnn_desc, initial_state) + sizeof(sa_node))
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "sa_gru: desc->struct_size %zu is too small "
                             "(use SA_RNN_DESC_INIT)", desc->struct_size);
    int32_t H = desc->hidden, L = desc->num_layers, D = desc->bidirectional ? 2 : 1;
    if (H < 1 || H > (1 << 20))
        return sa_graph_fail(g, SA_ERR_SHAPE, "sa_gru: hidden must be in 1..%d, got %d", 1 << 20, (int)H);
    if (L < 1 || L > SA_MAX_PARAMS / (4 * D))
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "sa_gru: num_layers must be in 1..%d, got %d",
                             SA_MAX_PARAMS / (4 * D), (int)L);
    if (desc->bidirectional != 0 && desc->bidirectional != 1)
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "sa_gru: bidirectional must be 0 or 1");
    sa_node_def d = {.ops = &sa_op_gru, .F = D * H, .n_in = 1, .in = {x}};
    d.iarg[A_H] = H;
    d.iarg[A_LAYERS] = L;
    d.iarg[A_DIRS] = D;
    d.iarg[A_SEQ] = desc->return_sequences ? 1 : 0;
    d.iarg[A_IN] = g->nodes[x].F;
    if (desc->initial_state != SA_NODE_NONE) {
        sa_node h0 = desc->initial_state;
        if (!sa_graph_check(g, "sa_gru (initial_state)", 1, &h0))
            return SA_NODE_INVALID;
        if (g->nodes[h0].F != L * D * H)
            return sa_graph_fail(g, SA_ERR_SHAPE,
                                 "sa_gru: initial_state has %d features, needs layers*dirs*hidden = %d",
                                 (int)g->nodes[h0].F, (int)(L * D * H));
        d.in[1] = h0;
        d.n_in = 2;
        d.iarg[A_H0] = 1;
    }
    return sa_graph_add(g, &d);
}

SA_API sa_node sa_rnn_final_state(sa_graph *g, sa_node rnn)
{
    if (!sa_graph_check(g, "sa_rnn_final_state", 1, &rnn))
        return SA_NODE_INVALID;
    const sa_node_def *d = &g->nodes[rnn];
    if (d->ops != &sa_op_gru)
        return sa_graph_fail(g, SA_ERR_BAD_NODE, "sa_rnn_final_state: node '%s' is a %s, not a recurrent layer",
                             d->name, d->ops->kind);
    return sa_graph_port(g, rnn, 1, d->iarg[A_LAYERS] * d->iarg[A_DIRS] * d->iarg[A_H]);
}
