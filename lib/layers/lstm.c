/* lstm.c — the LSTM cell, PyTorch numerics (gate order i, f, g, o), with
 * optional peephole connections (Gers & Schmidhuber; seed 003):
 *
 *   i = σ(x_i + h_i + w_ci ⊙ c)     x_* = W_i* x + b_i*,  h_* = W_h* h + b_h*
 *   f = σ(x_f + h_f + w_cf ⊙ c)
 *   g = tanh(x_g + h_g)
 *   c' = f ⊙ c + i ⊙ g
 *   o = σ(x_o + h_o + w_co ⊙ c')
 *   h' = o ⊙ tanh(c')
 *
 * Without peepholes the w_c* terms are absent, exactly as torch.nn.LSTM. */

#include "rnn.h"

/* save: i, f, g, o, c' (5·H); peep: w_ci, w_cf, w_co (3·H) or NULL.
 * Gates are formed in save and squashed in place (one vectorised call per
 * nonlinearity). tanh(c') is not kept: forward forms it in hr, which is free
 * once the gates are summed, and backward recomputes it (one vtanh of H per
 * step, against H floats per step kept for every step of the sequence). */
SA_CLONES static void lstm_fwd(int32_t H, const float *restrict xr, float *restrict hr, float *restrict h,
                               float *restrict c, float *restrict save, const float *restrict peep)
{
    float *gi = save, *gf = save + H, *gg = save + 2 * H, *go = save + 3 * H, *cn = save + 4 * H;
    SA_IVDEP
    for (int32_t j = 0; j < 4 * H; j++)
        save[j] = xr[j] + hr[j];
    if (peep) {
        SA_IVDEP
        for (int32_t j = 0; j < H; j++) {
            gi[j] += peep[j] * c[j];
            gf[j] += peep[H + j] * c[j];
        }
    }
    sa_vsigmoid(gi, gi, 2 * (size_t)H); /* i and f */
    sa_vtanh(gg, gg, (size_t)H);
    SA_IVDEP
    for (int32_t j = 0; j < H; j++)
        cn[j] = c[j] = gf[j] * c[j] + gi[j] * gg[j];
    if (peep) {
        SA_IVDEP
        for (int32_t j = 0; j < H; j++)
            go[j] += peep[2 * H + j] * cn[j];
    }
    sa_vsigmoid(go, go, (size_t)H);
    float *tc = hr;
    sa_vtanh(tc, cn, (size_t)H);
    SA_IVDEP
    for (int32_t j = 0; j < H; j++)
        h[j] = go[j] * tc[j];
}

/* The backward loop, specialised by the compiler for P = 0 and P = 1 (with
 * peepholes) so that neither version has a branch inside and both vectorise.
 * The input and recurrent projections get the same gradient (both feed the
 * same gate sums), so there is one output, dx (sa_lstm_cell.shared_grad).
 * dxo holds tanh(c') on entry: each iteration reads it, then writes do. */
static inline __attribute__((always_inline)) void
lstm_bwd_loop(int32_t H, const float *restrict save, const float *restrict cprev, float *restrict dh,
              float *restrict dc, float *restrict dx, const float *restrict peep, float *restrict dpeep,
              const int P)
{
    const float *si = save, *sf = save + H, *sg = save + 2 * H, *so = save + 3 * H, *sc = save + 4 * H;
    float *dxi = dx, *dxf = dx + H, *dxg = dx + 2 * H, *dxo = dx + 3 * H;
    SA_IVDEP
    for (int32_t j = 0; j < H; j++) {
        float i = si[j], f = sf[j], g = sg[j], o = so[j], cn = sc[j], tc = dxo[j], cp = cprev[j];
        // h' = o tanh(c')
        float dao = dh[j] * tc * o * (1.0f - o);
        float dcn = dc[j] + dh[j] * o * (1.0f - tc * tc);
        if (P) // o = σ(… + w_co c')
            dcn += dao * peep[2 * H + j];
        // c' = f c + i g
        float dai = dcn * g * i * (1.0f - i), daf = dcn * cp * f * (1.0f - f);
        float dag = dcn * i * (1.0f - g * g);
        float dcp = dcn * f;
        if (P) {
            dcp += dai * peep[j] + daf * peep[H + j];
            dpeep[j] += dai * cp;
            dpeep[H + j] += daf * cp;
            dpeep[2 * H + j] += dao * cn;
        }
        dxi[j] = dai;
        dxf[j] = daf;
        dxg[j] = dag;
        dxo[j] = dao;
        dh[j] = 0.0f; // h_{t-1} reaches the cell only through W_hh
        dc[j] = dcp;
    }
}

SA_CLONES static void lstm_bwd(int32_t H, const float *restrict save, const float *hprev,
                               const float *restrict cprev, float *restrict dh, float *restrict dc,
                               float *restrict dx, float *restrict dhr, const float *restrict peep,
                               float *restrict dpeep)
{
    (void)hprev;
    (void)dhr;
    sa_vtanh(dx + 3 * H, save + 4 * H, (size_t)H); /* tanh(c'), see lstm_bwd_loop */
    if (peep)
        lstm_bwd_loop(H, save, cprev, dh, dc, dx, peep, dpeep, 1);
    else
        lstm_bwd_loop(H, save, cprev, dh, dc, dx, NULL, NULL, 0);
}

const sa_rnn_cell sa_lstm_cell = {.G = 4, .S = 5, .has_c = 1, .shared_grad = 1, .fwd = lstm_fwd,
                                  .bwd = lstm_bwd};


SA_API sa_node sa_lstm(sa_graph *g, sa_node x, const sa_rnn_desc *desc)
{
    return sa_rnn_add(g, x, desc, &sa_op_lstm, "sa_lstm");
}
