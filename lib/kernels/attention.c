/* attention.c — the scaled dot-product attention core shared by sa_mha and
 * sa_sdpa: per (sample, head), P = softmax(scale Q Kᵀ + mask), O = P V, and
 * its backward. Operands are strided views (see sa_attn_view), so a head is a
 * column slice of a [T, E] matrix and a KV cache can be position-major. */
#include <string.h>

#include "../internal.h"

/* Keys visible to query row i of sample b. Both masks hide a suffix of the
 * keys (padding: j >= len_b; causal: j > qoff + i), so the visible keys are
 * always the prefix [0, n). */
static int32_t visible(const sa_attn_dims *a, int32_t b, int32_t i)
{
    int32_t n = a->Tk;
    if (a->klen && a->klen[b] < n)
        n = a->klen[b];
    if (a->causal) {
        int64_t last = (int64_t)a->qoff + i; // the last key this query may see
        if (last + 1 < n)
            n = last < 0 ? 0 : (int32_t)(last + 1);
    }
    return n < 0 ? 0 : n;
}

/* element (b, t = 0) of head h in view v, whose heads are hw wide */
static inline float *head(sa_attn_view v, int32_t b, int32_t h, int32_t hw)
{
    return v.data + (size_t)b * v.bs + (size_t)h * hw;
}

void sa_attn_forward(const sa_attn_dims *a, sa_attn_view Q, sa_attn_view K, sa_attn_view V, float *P,
                     sa_attn_view O)
{
    int32_t Tq = a->Tq, Tk = a->Tk, dk = a->dk, dv = a->dv;
    for (int32_t b = 0; b < a->B; b++)
        for (int32_t h = 0; h < a->H; h++) {
            float *Pbh = P + ((size_t)b * a->H + h) * Tq * Tk; // (Tq, Tk)
            // S = scale Q Kᵀ, computed in place of P
            sa_head_gemm(0, 1, Tq, Tk, dk, a->scale, head(Q, b, h, dk), Q.ld, head(K, b, h, dk), K.ld, 0.0f,
                    Pbh, Tk);
            for (int32_t i = 0; i < Tq; i++) {
                float *row = Pbh + (size_t)i * Tk;
                int32_t n = visible(a, b, i);
                /* hidden keys get exactly 0; a row that sees no key stays all 0
                 * (zero output, no NaN) instead of torch's 0/0 */
                sa_softmax(row, n);
                memset(row + n, 0, (size_t)(Tk - n) * sizeof(float));
            }
            // O = P V   (Tq, dv)
            sa_head_gemm(0, 0, Tq, dv, Tk, 1.0f, Pbh, Tk, head(V, b, h, dv), V.ld, 0.0f, head(O, b, h, dv), O.ld);
        }
}

void sa_attn_backward(const sa_attn_dims *a, sa_attn_view Q, sa_attn_view K, sa_attn_view V, const float *P,
                      sa_attn_view dO, float *dS, sa_attn_view dQ, sa_attn_view dK, sa_attn_view dV, float beta)
{
    int32_t Tq = a->Tq, Tk = a->Tk, dk = a->dk, dv = a->dv;
    for (int32_t b = 0; b < a->B; b++)
        for (int32_t h = 0; h < a->H; h++) {
            const float *Pbh = P + ((size_t)b * a->H + h) * Tq * Tk;
            const float *dObh = head(dO, b, h, dv);
            // O = P V
            sa_head_gemm(0, 1, Tq, Tk, dv, 1.0f, dObh, dO.ld, head(V, b, h, dv), V.ld, 0.0f, dS, Tk); // dP = dO Vᵀ
            if (dV.data)
                sa_head_gemm(1, 0, Tk, dv, Tq, 1.0f, Pbh, Tk, dObh, dO.ld, beta, head(dV, b, h, dv), dV.ld); // dV = β dV + Pᵀ dO
            // P = softmax(S) over the visible keys: dS = P ⊙ (dP − Σ_j P dP); hidden
            // keys have P = 0, so they (and an all-hidden row) get no gradient
            for (int32_t i = 0; i < Tq; i++) {
                const float *p = Pbh + (size_t)i * Tk;
                float *d = dS + (size_t)i * Tk;
                float dot = sa_vdot(p, d, (size_t)Tk);
                for (int32_t j = 0; j < Tk; j++)
                    d[j] = p[j] * (d[j] - dot);
            }
            // S = scale Q Kᵀ
            if (dQ.data)
                sa_head_gemm(0, 0, Tq, dk, Tk, a->scale, dS, Tk, head(K, b, h, dk), K.ld, beta, head(dQ, b, h, dk),
                        dQ.ld); // dQ = β dQ + scale dS K
            if (dK.data)
                sa_head_gemm(1, 0, Tk, dk, Tq, a->scale, dS, Tk, head(Q, b, h, dk), Q.ld, beta, head(dK, b, h, dk),
                        dK.ld); // dK = β dK + scale dSᵀ Q
        }
}
