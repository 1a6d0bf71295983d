/* gru.c — the GRU cell, PyTorch numerics (gate order r, z, n):
 *
 *   r = σ(x_r + h_r)          x_* = W_i* x + b_i*,  h_* = W_h* h + b_h*
 *   z = σ(x_z + h_z)
 *   n = tanh(x_n + r ⊙ h_n)   (b_hn stays inside r ⊙ (…))
 *   h' = (1 − z) ⊙ n + z ⊙ h
 *
 * Layers, directions, lengths and states are the recurrent driver's (rnn.c). */

#include "rnn.h"

/* save: r, z, n, h_n (4·H). The pre-activations are formed in save and
 * squashed there in place, so each nonlinearity is one vectorised call. */
SA_CLONES static void gru_fwd(int32_t H, const float *restrict xr, float *restrict hr, float *restrict h,
                              float *c, float *restrict save, const float *peep)
{
    (void)c, (void)peep;
    float *r = save, *z = save + H, *n = save + 2 * H, *hn = save + 3 * H;
    SA_IVDEP
    for (int32_t j = 0; j < 2 * H; j++)
        r[j] = xr[j] + hr[j]; /* r and z pre-activations, side by side */
    sa_vsigmoid(r, r, 2 * (size_t)H);
    SA_IVDEP
    for (int32_t j = 0; j < H; j++) {
        hn[j] = hr[2 * H + j];
        n[j] = xr[2 * H + j] + r[j] * hn[j];
    }
    sa_vtanh(n, n, (size_t)H);
    SA_IVDEP
    for (int32_t j = 0; j < H; j++)
        h[j] = (1.0f - z[j]) * n[j] + z[j] * h[j];
}

SA_CLONES static void gru_bwd(int32_t H, const float *restrict save, const float *restrict hprev,
                              const float *cprev, float *restrict dh, float *dc, float *restrict dx,
                              float *restrict dhr, const float *peep, float *dpeep)
{
    (void)cprev, (void)dc, (void)peep, (void)dpeep;
    SA_IVDEP
    for (int32_t j = 0; j < H; j++) {
        float r = save[j], z = save[H + j], n = save[2 * H + j], hn = save[3 * H + j], d = dh[j];
        // h' = (1 − z) n + z h
        float dn = d * (1.0f - z), dz = d * (hprev[j] - n);
        // n = tanh(x_n + r ⊙ h_n)
        float dan = dn * (1.0f - n * n);
        float dar = dan * hn * r * (1.0f - r), daz = dz * z * (1.0f - z);
        dx[j] = dhr[j] = dar;
        dx[H + j] = dhr[H + j] = daz;
        dx[2 * H + j] = dan;
        dhr[2 * H + j] = dan * r;
        dh[j] = d * z;
    }
}

const sa_rnn_cell sa_gru_cell = {.G = 3, .S = 4, .has_c = 0, .fwd = gru_fwd, .bwd = gru_bwd};


SA_API sa_node sa_gru(sa_graph *g, sa_node x, const sa_rnn_desc *desc)
{
    return sa_rnn_add(g, x, desc, &sa_op_gru, "sa_gru");
}
