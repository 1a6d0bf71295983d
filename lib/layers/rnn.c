/* rnn.c — the recurrent driver (see rnn.h). Per-sample lengths follow
 * pack_padded_sequence: sample b runs L_b steps, the reverse direction starts
 * at t = L_b − 1, padded outputs are 0, final states are taken at L_b. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rnn.h"

typedef struct rnn_dims {
    int32_t B, T, H, L, D, I, G, S, C, P; /* C: has_c; P: parameters per (layer, dir) */
    int32_t train;                        /* keep what backward needs */
    int32_t shared_grad;                  /* the cell's sa_rnn_cell.shared_grad */
    int32_t seq;                          /* the output is the top layer's whole sequence */
    size_t BT;
} rnn_dims;

static const sa_rnn_cell *cell_of(const sa_node_def *d)
{
    return d->ops == &sa_op_lstm ? &sa_lstm_cell : &sa_gru_cell;
}

static rnn_dims dims(const sa_op_ctx *c)
{
    const int32_t *a = c->def->iarg;
    const sa_rnn_cell *cell = cell_of(c->def);
    rnn_dims g = {c->in[0]->B, c->in[0]->T, a[RNN_H], a[RNN_LAYERS], a[RNN_DIRS], a[RNN_IN],
                  cell->G, cell->S, cell->has_c, a[RNN_PEEP] ? 7 : 4, c->train ? 1 : 0, cell->shared_grad,
                a[RNN_SEQ] ? 1 : 0, 0};
    g.BT = (size_t)g.B * g.T;
    return g;
}

static int32_t layer_in(const rnn_dims *g, int32_t k) { return k == 0 ? g->I : g->D * g->H; }

/* Workspace (kept from forward to backward), in floats, training only:
 *   per (layer, dir): save (BT·S·H), what the cell keeps of each step
 *   per layer below the top, and the top one without a sequence output:
 *            output sequence (BT·D·H)
 * Scratch (sa_op_ctx.scratch, temporaries of one call):
 *   xp / dxp (BT·G·H), dhp (BT·G·H; none when the cell's projections share
 *   their gradient, the LSTM's: dhp is then dxp), step (B·G·H), h, c, dh, dc
 *   (B·H each), hfinal, cfinal (L·D·B·H each), dX (BT·D·H, L ≥ 2) and dY
 *   (BT·D·H, L ≥ 3): the gradients between layers, alternating (the top layer
 *   reads the output's gradient in place); wt: W_hh transposed (H·G·H) when
 *   wt_path(); xrow: one row of G·H per part (SA_POOL_MAX) where the cells
 *   form the first layer's input projection (fused_input).
 * In inference nothing is kept: save is an (S·H) scratch for each part a
 * step's cells may be split into (SA_POOL_MAX), the lower layers' outputs
 * are scratch, and dhp, dX, dY are empty.
 * Backward reads h_{t-1} from the layer's output sequence and c_{t-1} from the
 * previous step's save (or the initial states), so neither is copied per step. */
typedef struct rnn_ws {
    float *save, *outs, *hfinal, *cfinal, *xp, *dhp, *step, *h, *c, *dh, *dc, *dY, *dX, *wt, *xrow;
} rnn_ws;

/* A single sample's recurrent product h W_hhᵀ runs on W_hh transposed once
 * per forward (sa_vec_mat): faster than sgemv while W_hh fits in L2 (up to
 * 2^16 floats: GRU H ≤ 147, LSTM H ≤ 128) and the sequence is long enough to
 * amortise the copy. Larger matrices stay with sgemv, which is faster there
 * and uses the BLAS's threads (measured: LSTM H 256 took 1.5× longer). */
static int vec_mat_path(const rnn_dims *g)
{
    return !sa_cpu_has_avx512() && g->B == 1 && g->T >= 32 && (size_t)g->G * g->H * g->H <= ((size_t)1 << 16);
}

/* On an AVX-512 CPU a single sample's product runs on W_hh as stored, by
 * our matrix-vector kernel whatever the BLAS, with no copy: faster than both
 * sa_vec_mat and OpenBLAS's sgemv (Haswell or SkylakeX kernels) on these
 * shapes (GH × H = 256 × 64: 0.57 µs against 1.06 and 0.84; 512 × 128: 2.2
 * against 4.3 and 2.8–3.0). Backward's dhp W_hh likewise (sa_vecmat_avx512),
 * on W_hh as stored. */
static int gemv_path(const rnn_dims *g) { return g->B == 1 && sa_gemm_avx512_ok(); }

/* Every recurrent product h W_hhᵀ of a sequence runs on W_hh transposed
 * once per forward, as a plain (nn) GEMM: OpenBLAS is faster on it than on
 * the transposed-B form (64×192×64: 15.2 against 19.1 µs; 16×192×64: 3.8
 * against 7.4 µs; 64×1536×512: 1129 against 1201 µs). The copy costs about
 * one step's product, so short sequences (step execution: T = 1) keep the
 * transposed form, and so does a single sample off the vec_mat path: its
 * product is a matrix-vector one, where sgemv is faster on W_hh as stored
 * (seq2seq B 1, the decoder's 1×512×128: 0.265 → 0.310 ms per forward). */
#define SA_WT_MIN_T 8
static int wt_path(const rnn_dims *g) { return vec_mat_path(g) || (g->B > 1 && g->T >= SA_WT_MIN_T); }

/* With 8 input features or fewer (a layer over a raw signal: gru_attn's
 * F = 1), the cells form each row's input projection themselves, in a
 * per-part row (xrow), instead of one GEMM writing B·T·G·H values that the
 * cells read back from memory: at F = 1 that GEMM only streams its output
 * (GRU(512) B 256 T 50: 78 MB, 6 ms alone). Layer k's input size decides. */
#define SA_FUSED_IN_MAX 8
static int fused_input(const rnn_dims *g, int32_t k) { return k == 0 && g->I <= SA_FUSED_IN_MAX; }

/* The wt slot holds W_hh transposed (wt_path) or, where sa_gemm_bpack_use
 * says so, W_hh packed for the kernel: forward's h W_hhᵀ (GH × H) and
 * backward's dhp W_hh (H × GH), packed once per call instead of per step.
 * Sized for the packing on any AVX-512 CPU with more than one sample,
 * whether or not a call packs (the BLAS and the kernel's form may change
 * between calls, the layout must not). */
static size_t wt_floats(const rnn_dims *g)
{
    size_t GH = (size_t)g->G * g->H, n = wt_path(g) ? GH * g->H : 0;
    if (sa_cpu_has_avx512() && g->B > 1) {
        size_t f = sa_gemm_bpack_floats((int)GH, g->H), b = sa_gemm_bpack_floats(g->H, (int)GH);
        n = n > f ? n : f;
        n = n > b ? n : b;
    }
    return n;
}

/* Places the buffers: kept ones from `keep`, temporaries from `scratch`
 * (either may be NULL to size only). @return the floats of the region
 * `which` asks for (0: workspace, 1: scratch). */
static size_t ws_layout(const rnn_dims *g, float *keep, float *scratch, rnn_ws *w, int which)
{
    size_t BT = g->BT, H = (size_t)g->H, LD = (size_t)g->L * g->D, DH = (size_t)g->D * H;
    size_t GH = (size_t)g->G * H, BH = (size_t)g->B * H, C = (size_t)g->C;
    size_t K = g->train ? 1 : 0; /* what only backward reads */
    size_t DHP = g->shared_grad ? 0 : K; /* dhp is dxp when the cell shares the gradient */
    size_t KX = g->L >= 2 ? K : 0, KY = g->L >= 3 ? K : 0;
    size_t own_outs = (size_t)g->L - (g->seq ? 1 : 0); /* a sequence output is the top layer's */
    size_t sizes[15] = {K ? LD * BT * g->S * H : SA_POOL_MAX * (size_t)g->S * H,
                        own_outs * BT * DH, LD * BH, C * LD * BH, BT * GH, DHP * BT * GH,
                        (size_t)g->B * GH, BH, BH, BH, BH, KY * BT * DH, KX * BT * DH,
                        wt_floats(g), fused_input(g, 0) ? SA_POOL_MAX * GH : 0};
    float **slots[15] = {&w->save, &w->outs, &w->hfinal, &w->cfinal, &w->xp,
                         &w->dhp, &w->step, &w->h, &w->c, &w->dh, &w->dc, &w->dY, &w->dX, &w->wt, &w->xrow};
    size_t off[2] = {0, 0};
    for (int i = 0; i < 15; i++) {
        int r = (i <= 1 && g->train) ? 0 : 1; /* save and outs are kept in training */
        float *base = r == 0 ? keep : scratch;
        if (base)
            *slots[i] = base + off[r];
        off[r] += sizes[i];
    }
    return off[which];
}

size_t sa_rnn_ws_bytes(const sa_op_ctx *c)
{
    rnn_dims g = dims(c);
    /* bound first in floating point: L·D·BT·(S+3)·H can exceed size_t */
    long double est = (long double)g.L * g.D * g.BT * g.H * (g.S + 3 + 2 * g.G + 4.0L);
    if (est * sizeof(float) > (long double)(SIZE_MAX / 4))
        return SIZE_MAX;
    return ws_layout(&g, NULL, NULL, &(rnn_ws){0}, 0) * sizeof(float);
}

size_t sa_rnn_scratch_bytes(const sa_op_ctx *c)
{
    if (sa_rnn_ws_bytes(c) == SIZE_MAX) /* the same bound covers both regions */
        return SIZE_MAX;
    rnn_dims g = dims(c);
    return ws_layout(&g, NULL, NULL, &(rnn_ws){0}, 1) * sizeof(float);
}

int32_t sa_rnn_params(const sa_node_def *d, sa_param_spec *s)
{
    const sa_rnn_cell *cell = cell_of(d);
    int32_t H = d->iarg[RNN_H], L = d->iarg[RNN_LAYERS], D = d->iarg[RNN_DIRS], GH = cell->G * H;
    float bound = 1.0f / sqrtf((float)H);
    static const char *const names[7] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh",
                                         "weight_ci", "weight_cf", "weight_co"};
    int32_t n = 0, per = d->iarg[RNN_PEEP] ? 7 : 4;
    for (int32_t k = 0; k < L; k++)
        for (int32_t dir = 0; dir < D; dir++)
            for (int32_t j = 0; j < per; j++) {
                int32_t in = k == 0 ? d->iarg[RNN_IN] : D * H;
                int32_t rows = j < 4 ? GH : H, cols = j == 0 ? in : j == 1 ? H : 1;
                s[n] = (sa_param_spec){"", j < 2 ? 2 : 1, {rows, cols}, SA_INIT_UNIFORM, bound};
                snprintf(s[n++].suffix, SA_NAME_MAX, "%s_l%d%s", names[j], (int)k, dir ? "_reverse" : "");
            }
    return n;
}

sa_status sa_rnn_reshape(sa_op_ctx *c)
{
    const sa_node_def *d = c->def;
    for (int slot = RNN_H0; slot <= RNN_C0; slot++)
        if (d->iarg[slot] && c->in[d->iarg[slot]]->T != 1)
            return sa_fail(SA_ERR_SHAPE, "sa_%s '%s': initial %s must have T=1, got T=%d",
                           d->ops->kind, d->name, slot == RNN_H0 ? "state" : "cell",
                           (int)c->in[d->iarg[slot]]->T);
    if (d->iarg[RNN_SEQ])
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

/* state = init[:, ld·H : +H] of a [B, 1, L·D·H] node, or zeros */
static void load_state(float *dst, const sa_tensor *init, const rnn_dims *g, int32_t ld)
{
    if (!init) {
        memset(dst, 0, (size_t)g->B * g->H * sizeof(float));
        return;
    }
    for (int32_t b = 0; b < g->B; b++)
        memcpy(dst + (size_t)b * g->H, init->data + (size_t)b * init->F + (size_t)ld * g->H,
               (size_t)g->H * sizeof(float));
}

static const sa_tensor *init_of(const sa_op_ctx *c, int slot)
{
    return c->def->iarg[slot] ? c->in[c->def->iarg[slot]] : NULL;
}

/* One step's cells for the samples of one part (of `parts`) */
typedef struct step_cells {
    const sa_rnn_cell *cell;
    const rnn_dims *g;
    const sa_tensor *x;
    const float *bih, *bhh, *peep; /* bhh NULL: already in hp */
    const float *xin, *Wih; /* fused input projection (fused_input): the layer's input and W_ih, else NULL */
    int32_t in;
    float *xp, *save, *yout, *h, *cs, *hp, *xrow; /* xrow: SA_POOL_MAX rows of G·H when fused */
    int32_t s, dir, keep, parts;
} step_cells;

/* The cells of samples b0 .. b1 − 1; `slot` picks the inference save scratch */
SA_CLONES static void cells_rows(const step_cells *sc, int32_t b0, int32_t b1, int slot)
{
    const rnn_dims *g = sc->g;
    int32_t H = g->H, GH = g->G * g->H, DH = g->D * H;
    size_t SH = (size_t)g->S * H;
    for (int32_t b = b0; b < b1; b++) {
        int32_t t = step_time(sc->x, b, sc->s, sc->dir);
        if (t < 0)
            continue;
        size_t row = (size_t)b * g->T + t;
        float *hr = sc->hp + (size_t)b * GH, *hb = sc->h + (size_t)b * H, *xr;
        float *cb = g->C ? sc->cs + (size_t)b * H : NULL;
        if (sc->Wih) { // xr = b_ih + W_ih x_t, in the order the GEMM and the bias would give
            xr = sc->xrow + (size_t)slot * GH;
            const float *xt = sc->xin + row * sc->in, *W = sc->Wih, *bih = sc->bih;
            if (sc->in == 1) { /* the common case, vectorised */
                float x0 = xt[0];
                SA_IVDEP
                for (int32_t j = 0; j < GH; j++)
                    xr[j] = x0 * W[j] + bih[j];
            } else
                for (int32_t j = 0; j < GH; j++) {
                    float acc = 0.0f;
                    for (int32_t f = 0; f < sc->in; f++)
                        acc += xt[f] * W[(size_t)j * sc->in + f];
                    xr[j] = acc + bih[j];
                }
        } else {
            xr = sc->xp + row * GH;
            for (int32_t j = 0; j < GH; j++)
                xr[j] += sc->bih[j];
        }
        if (sc->bhh)
            for (int32_t j = 0; j < GH; j++)
                hr[j] += sc->bhh[j];
        sc->cell->fwd(H, xr, hr, hb, cb, sc->keep ? sc->save + row * SH : sc->save + slot * SH, sc->peep);
        memcpy(sc->yout + row * DH + (size_t)sc->dir * H, hb, (size_t)H * sizeof(float));
    }
}

static void cells_part(void *arg, int part)
{
    const step_cells *sc = arg;
    int32_t b0, b1;
    sa_part_range(sc->g->B, part, sc->parts, &b0, &b1);
    cells_rows(sc, b0, b1, part);
}

/* Splits the samples into chunks of about equal work for a loop over
 * `parts` threads: chunk c is samples bounds[c] .. bounds[c + 1] − 1, work
 * counted as sample lengths when there are any. The first `parts` chunks
 * carry 7/8 of the work, one per thread; the last eighth, in up to 2·parts
 * chunks of 16 samples or more, goes to whichever thread is done first,
 * so a thread slowed by its core (a VM's second vCPU ran the same rows
 * 5–15 % slower) waits less.
 * @return the number of chunks (at most SA_LOOP_CHUNKS) */
#define SA_LOOP_CHUNKS (3 * SA_POOL_MAX)
static int64_t sample_work(const sa_tensor *x, int32_t b) { return x->len ? sa_len(x, b) : 1; }

static int sample_chunks(const sa_tensor *x, int32_t B, int parts, int32_t *bounds)
{
    int64_t total = 0;
    for (int32_t b = 0; b < B; b++)
        total += sample_work(x, b);
    /* small chunks of 16 samples or more only: fewer rows slow the products */
    int tail = B / 16 - parts < 2 * parts ? B / 16 - parts : 2 * parts;
    tail = tail > 0 ? tail : 0;
    int n = parts + tail;
    int64_t head = tail ? total * 7 / 8 : total;
    int64_t sum = 0;
    int32_t b = 0;
    bounds[0] = 0;
    for (int c = 1; c < n; c++) {
        /* cumulative goal: 7/8 over the first `parts`, 1/8 over the rest */
        int64_t goal = c <= parts ? head * c / parts : head + (total - head) * (c - parts) / tail;
        for (; b < B && sum + sample_work(x, b) <= goal; b++)
            sum += sample_work(x, b);
        bounds[c] = b;
    }
    bounds[n] = B;
    return n;
}

/* A forward time loop split by samples: each part runs every step on its
 * samples, its rows of the recurrent product then their cells, with no
 * synchronisation between steps (rows of the product are independent). */
typedef struct fwd_loop {
    step_cells sc;
    const sa_gemm_bp *bp; /* W_hh packed, or NULL */
    const float *W; /* W_hh transposed (H, GH) when wt, else W_hh (GH, H) */
    int wt, chunks, next; /* next: the first chunk not yet taken (atomic) */
    int32_t bounds[SA_LOOP_CHUNKS + 1];
} fwd_loop;

SA_CLONES static void fwd_loop_part(void *arg, int part)
{
    fwd_loop *f = arg;
    const rnn_dims *g = f->sc.g;
    int32_t H = g->H, GH = g->G * H;
    step_cells sc = f->sc;
    for (int ch; (ch = __atomic_fetch_add(&f->next, 1, __ATOMIC_RELAXED)) < f->chunks;) {
        int32_t b0 = f->bounds[ch], b1 = f->bounds[ch + 1], n = b1 - b0;
        const float *h = sc.h + (size_t)b0 * H;
        float *hp = sc.hp + (size_t)b0 * GH;
        for (int32_t s = 0; n > 0 && s < g->T; s++) {
            if (f->bp)
                sa_gemm_bpacked_rows(f->bp, n, h, hp);
            else if (f->wt)
                sa_gemm_avx512_rows(g->B, 0, 0, n, GH, H, 1.0f, h, H, f->W, GH, 0.0f, hp, GH);
            else
                sa_gemm_avx512_rows(g->B, 0, 1, n, GH, H, 1.0f, h, H, f->W, H, 0.0f, hp, GH);
            sc.s = s;
            cells_rows(&sc, b0, b1, part);
        }
    }
}

/* carry: NULL to start from the initial-state inputs (or zeros), else the
 * (L·D, B, H) h then c states to start from (step execution) */
SA_CLONES static void forward_dir(sa_op_ctx *c, const rnn_dims *g, const rnn_ws *w, int32_t k, int32_t dir,
                        const float *xin, float *yout, const float *carry)
{
    const sa_rnn_cell *cell = cell_of(c->def);
    const sa_tensor *x = c->in[0];
    int32_t H = g->H, GH = g->G * g->H, in = layer_in(g, k), ld = k * g->D + dir;
    float *const *p = &c->param[ld * g->P];
    const float *Wih = p[0], *Whh = p[1], *bih = p[2], *bhh = p[3], *peep = g->P == 7 ? p[4] : NULL;
    size_t SH = (size_t)g->S * H;
    const int keep = g->train; /* inference: save is a scratch per part */
    float *save = keep ? w->save + (size_t)ld * g->BT * SH : w->save;
    float *h = w->h, *cs = w->c, *hp = w->step;

    // xp = X W_ihᵀ   (BT, GH); the cells add b_ih to the rows they use
    const int fused = fused_input(g, k);
    if (!fused)
        sa_gemm(0, 1, (int)g->BT, GH, in, 1.0f, xin, in, Wih, in, 0.0f, w->xp, GH);
    size_t BH = (size_t)g->B * H, LDBH = (size_t)g->L * g->D * BH;
    if (carry) {
        memcpy(h, carry + ld * BH, BH * sizeof(float));
        if (g->C)
            memcpy(cs, carry + LDBH + ld * BH, BH * sizeof(float));
    } else {
        load_state(h, init_of(c, RNN_H0), g, ld);
        if (g->C)
            load_state(cs, init_of(c, RNN_C0), g, ld);
    }

    /* at most one holds: gemv_path needs the AVX-512 CPU that vec_mat_path,
     * and so wt_path for one sample, exclude */
    const int gv = gemv_path(g), vm = vec_mat_path(g), wtp = wt_path(g);
    /* hp = h W_hhᵀ: op(B) = W_hhᵀ (H × GH), W_hh read transposed */
    const sa_gemm_bp bp = {0, 1, GH, H, H, H, GH, 1.0f, 0.0f, w->wt, Whh};
    const int bpk = !vm && !gv && sa_gemm_bpack_use(1, g->B, GH, H);
    if (bpk) // wt = W_hhᵀ packed for the kernel
        sa_gemm_bpack(1, GH, H, Whh, H, w->wt);
    else if (wtp) // wt = W_hhᵀ   (H, GH), in tiles so reads and writes both stay in cache
        for (int32_t r0 = 0; r0 < GH; r0 += 32)
            for (int32_t j0 = 0; j0 < H; j0 += 32)
                for (int32_t r = r0; r < r0 + 32 && r < GH; r++)
                    for (int32_t j = j0; j < j0 + 32 && j < H; j++)
                        w->wt[(size_t)j * GH + r] = Whh[(size_t)r * H + j];

    /* the samples' cells of a step, split over the model's threads once the
     * pool runs for the products (asked per step: the first step's product
     * may be what warms it; inference: one save scratch per part) */
    step_cells sc = {cell,  g,    x,    bih,   vm ? NULL : bhh, peep, fused ? xin : NULL, fused ? Wih : NULL, in,
                     w->xp, save, yout, h, cs,    hp,              w->xrow, 0,   dir,  keep,               1};
    /* large enough, the whole loop splits by samples (one job); else each
     * step's product and cells may split on their own */
    int lp = vm || gv ? 1 : sa_loop_parts(g->B, (double)g->B * GH * H, g->T);
    if (lp > 1) {
        fwd_loop f = {sc, bpk ? &bp : NULL, wtp ? w->wt : Whh, wtp, 0, 0, {0}};
        f.chunks = sample_chunks(x, g->B, lp, f.bounds);
        long long t0 = sa_blas_clock_ns();
        sa_pool_run(lp, fwd_loop_part, &f);
        sa_blas_scope_large(sa_blas_clock_ns() - t0, lp);
    }
    for (int32_t s = 0; lp == 1 && s < g->T; s++) {
        if (vm) { // hp = b_hh + h W_hhᵀ   (1, GH)
            memcpy(hp, bhh, (size_t)GH * sizeof(float));
            sa_vec_mat(H, GH, h, w->wt, hp);
        } else if (gv) // hp = W_hh h; the cell adds b_hh. Rows in alternate orders: W_hh stays warm
            sa_gemv_avx512(GH, H, 1.0f, Whh, H, h, 0.0f, hp, 1, s & 1);
        else if (bpk)
            sa_gemm_bpacked(&bp, g->B, h, hp);
        else if (wtp) // hp = h W_hhᵀ; the cells add b_hh
            sa_gemm(0, 0, g->B, GH, H, 1.0f, h, H, w->wt, GH, 0.0f, hp, GH);
        else
            sa_gemm(0, 1, g->B, GH, H, 1.0f, h, H, Whh, H, 0.0f, hp, GH);
        sc.s = s;
        sc.parts = sa_rows_parts(g->B, (double)g->B * GH);
        if (sc.parts > 1)
            sa_pool_run(sc.parts, cells_part, &sc);
        else
            cells_part(&sc, 0);
    }
    memcpy(w->hfinal + (size_t)ld * g->B * H, h, (size_t)g->B * H * sizeof(float));
    if (g->C)
        memcpy(w->cfinal + (size_t)ld * g->B * H, cs, (size_t)g->B * H * sizeof(float));
}

static float *layer_out(const sa_op_ctx *c, const rnn_dims *g, const rnn_ws *w, int32_t k)
{
    if (k == g->L - 1 && c->def->iarg[RNN_SEQ])
        return c->out[0]->data;
    return w->outs + (size_t)k * g->BT * g->D * g->H;
}

/* [B, 1, L·D·H] in PyTorch's (L·D, B, H) order, per sample */
static void store_states(float *dst, const float *src, const rnn_dims *g)
{
    size_t LD = (size_t)g->L * g->D, H = (size_t)g->H;
    for (int32_t b = 0; b < g->B; b++)
        for (size_t ld = 0; ld < LD; ld++)
            memcpy(dst + ((size_t)b * LD + ld) * H, src + (ld * g->B + b) * H, H * sizeof(float));
}

static sa_status run_forward(sa_op_ctx *c, const float *carry)
{
    rnn_dims g = dims(c);
    rnn_ws w;
    ws_layout(&g, c->ws, c->scratch, &w, 0);
    size_t H = (size_t)g.H;
    for (int32_t k = 0; k < g.L; k++) {
        const float *xin = k == 0 ? c->in[0]->data : layer_out(c, &g, &w, k - 1);
        float *y = layer_out(c, &g, &w, k);
        memset(y, 0, g.BT * g.D * H * sizeof(float));
        for (int32_t dir = 0; dir < g.D; dir++)
            forward_dir(c, &g, &w, k, dir, xin, y, carry);
    }
    int32_t DH = g.D * g.H;
    if (!c->def->iarg[RNN_SEQ]) // last state of the top layer, directions side by side
        for (int32_t b = 0; b < g.B; b++)
            for (int32_t dir = 0; dir < g.D; dir++)
                memcpy(c->out[0]->data + (size_t)b * DH + (size_t)dir * H,
                       w.hfinal + ((size_t)((g.L - 1) * g.D + dir) * g.B + b) * H, H * sizeof(float));
    if (c->out[1])
        store_states(c->out[1]->data, w.hfinal, &g);
    if (c->out[2])
        store_states(c->out[2]->data, w.cfinal, &g);
    return SA_OK;
}

sa_status sa_rnn_forward(sa_op_ctx *c) { return run_forward(c, NULL); }

/* One step (T = 1) from the states kept since the previous step; the first
 * step starts from the initial-state inputs. States live in the node's step
 * state as (L·D, B, H) h then c. */
sa_status sa_rnn_step(sa_op_ctx *c)
{
    rnn_dims g = dims(c);
    size_t LDBH = (size_t)g.L * g.D * g.B * g.H;
    float *carry = sa_ctx_state(c, 2 * LDBH * sizeof(float));
    if (!carry)
        return sa_fail(SA_ERR_NO_MEMORY, "sa_step: cannot allocate the states of '%s'", c->def->name);
    rnn_ws w;
    ws_layout(&g, c->ws, c->scratch, &w, 0);
    sa_status s = run_forward(c, c->pos == 0 ? NULL : carry);
    memcpy(carry, w.hfinal, LDBH * sizeof(float));
    if (g.C)
        memcpy(carry + LDBH, w.cfinal, LDBH * sizeof(float));
    return s;
}

sa_status sa_rnn_can_step(const sa_node_def *d, const unsigned char *in_stepped)
{
    if (d->iarg[RNN_DIRS] != 1)
        return sa_fail(SA_ERR_UNSUPPORTED, "sa_step_begin: '%s' is bidirectional: its reverse direction needs "
                       "the whole sequence", d->name);
    for (int slot = RNN_H0; slot <= RNN_C0; slot++)
        if (d->iarg[slot] && in_stepped[d->iarg[slot]])
            return sa_fail(SA_ERR_UNSUPPORTED, "sa_step_begin: the initial state of '%s' depends on a stepped "
                           "input; it is read at the first step only", d->name);
    if (!in_stepped[0])
        return sa_fail(SA_ERR_UNSUPPORTED, "sa_step_begin: '%s' would be stepped through its initial state "
                       "only", d->name);
    return SA_OK;
}

/* dst[b] += port gradient of (layer, dir) ld, from a [B, 1, L·D·H] gradient */
static void add_state_grad(float *dst, const sa_tensor *port, const rnn_dims *g, int32_t ld)
{
    if (!port || !port->grad)
        return;
    size_t LDH = (size_t)g->L * g->D * g->H;
    for (int32_t b = 0; b < g->B; b++)
        for (int32_t j = 0; j < g->H; j++)
            dst[(size_t)b * g->H + j] += port->grad[(size_t)b * LDH + (size_t)ld * g->H + j];
}

/* dW_hh += Σ_rows dhp[row]ᵀ h_prev(row), where h_prev is the layer's output one
 * step earlier in this direction — y[row − 1] forward, y[row + 1] in reverse,
 * rows being b·T + t — except at each sample's first step, where it is h0[b].
 * One GEMM over the shifted rows, then one rank-B correction: at each first
 * step, remove the pair the shift made with the neighbouring row (a row of
 * another sample, or a padded row, which is 0) and add h0. Padded rows have
 * dhp = 0 and add nothing. R (B, G·H) and D (B, H) are scratch. */
static void hh_weight_grad(const rnn_dims *g, const sa_tensor *x, int32_t dir, const float *dhp, const float *y,
                           const float *h0, float *R, float *D, float *dW)
{
    int32_t H = g->H, GH = g->G * H, DH = g->D * H;
    size_t BT = g->BT;
    if (BT > 1) {
        if (dir)
            sa_gemm(1, 0, GH, H, (int)BT - 1, 1.0f, dhp, GH, y + DH, DH, 1.0f, dW, H);
        else
            sa_gemm(1, 0, GH, H, (int)BT - 1, 1.0f, dhp + GH, GH, y, DH, 1.0f, dW, H);
    }
    for (int32_t b = 0; b < g->B; b++) {
        size_t first = (size_t)b * g->T + (dir ? (size_t)sa_len(x, b) - 1 : 0);
        /* the neighbour the shifted GEMM paired with the first step, if any */
        int paired = dir ? first + 1 < BT : first >= 1;
        const float *nb = paired ? y + (dir ? first + 1 : first - 1) * DH : NULL;
        memcpy(R + (size_t)b * GH, dhp + first * GH, (size_t)GH * sizeof(float));
        for (int32_t j = 0; j < H; j++)
            D[(size_t)b * H + j] = h0[(size_t)b * H + j] - (nb ? nb[j] : 0.0f);
    }
    sa_gemm(1, 0, GH, H, g->B, 1.0f, R, GH, D, H, 1.0f, dW, H);
}

/* dy: the gradient of layer k's output sequence, or NULL (only the final
 * state has one); dxin: the gradient of its input, accumulated, or NULL. */
/* One step's backward cells for the samples of one part (of `parts`) */
typedef struct step_grads {
    const sa_rnn_cell *cell;
    const rnn_dims *g;
    const sa_tensor *x;
    const float *save, *y, *h0, *c0, *dy, *peep;
    float *dpeep, *dxp, *dhp, *dhs, *dh, *dc;
    int32_t s, dir, parts;
} step_grads;

SA_CLONES static void grads_rows(const step_grads *sg, int32_t b0, int32_t b1)
{
    const rnn_dims *g = sg->g;
    int32_t H = g->H, GH = g->G * H, DH = g->D * H, s = sg->s, dir = sg->dir;
    size_t SH = (size_t)g->S * H;
    const int dense = !sg->x->len;
    for (int32_t b = b0; b < b1; b++) {
        int32_t t = step_time(sg->x, b, s, dir);
        if (t < 0)
            continue;
        size_t row = (size_t)b * g->T + t;
        float *dhb = sg->dh + (size_t)b * H;
        if (sg->dy) {
            const float *dyr = sg->dy + row * DH + (size_t)dir * H;
            for (int32_t j = 0; j < H; j++) // y_t = h_t
                dhb[j] += dyr[j];
        }
        float *dhr = g->shared_grad ? NULL : dense ? sg->dhp + row * GH : sg->dhs + (size_t)b * GH;
        /* the state this step started from: the previous step's, or the initial one */
        size_t prev = dir ? row + 1 : row - 1;
        const float *hprev = s == 0 ? sg->h0 + (size_t)b * H : sg->y + prev * DH;
        const float *cprev = !g->C ? NULL : s == 0 ? sg->c0 + (size_t)b * H : sg->save + prev * SH + 4 * (size_t)H;
        sg->cell->bwd(H, sg->save + row * SH, hprev, cprev, dhb, g->C ? sg->dc + (size_t)b * H : NULL,
                      sg->dxp + row * GH, dhr, sg->peep, sg->dpeep);
        if (!dense && dhr)
            memcpy(sg->dhp + row * GH, dhr, (size_t)GH * sizeof(float));
        else if (!dense)
            memcpy(sg->dhs + (size_t)b * GH, sg->dhp + row * GH, (size_t)GH * sizeof(float));
    }
}

static void grads_part(void *arg, int part)
{
    const step_grads *sg = arg;
    int32_t b0, b1;
    sa_part_range(sg->g->B, part, sg->parts, &b0, &b1);
    grads_rows(sg, b0, b1);
}

/* The backward time loop split by samples, like fwd_loop: each part runs
 * every step's cells on its samples, then their rows of dh += dhp W_hh. */
typedef struct bwd_loop {
    step_grads sg;
    const sa_gemm_bp *bp; /* W_hh packed, or NULL */
    const float *Whh;
    int chunks, next;
    int32_t bounds[SA_LOOP_CHUNKS + 1];
} bwd_loop;

SA_CLONES static void bwd_loop_part(void *arg, int part)
{
    (void)part;
    bwd_loop *f = arg;
    const rnn_dims *g = f->sg.g;
    int32_t H = g->H, GH = g->G * H;
    step_grads sg = f->sg;
    const int dense = !sg.x->len;
    for (int ch; (ch = __atomic_fetch_add(&f->next, 1, __ATOMIC_RELAXED)) < f->chunks;) {
        int32_t b0 = f->bounds[ch], b1 = f->bounds[ch + 1], n = b1 - b0;
        float *dh = sg.dh + (size_t)b0 * H, *dhs = sg.dhs + (size_t)b0 * GH;
        for (int32_t s = g->T - 1; n > 0 && s >= 0; s--) {
            if (!dense)
                memset(dhs, 0, (size_t)n * GH * sizeof(float));
            sg.s = s;
            grads_rows(&sg, b0, b1);
            int32_t t_all = sg.dir ? g->T - 1 - s : s;
            // dh += dhp[:, t] W_hh (rows in place, stride T·GH) or dhs W_hh
            const float *dr = dense ? sg.dhp + ((size_t)b0 * g->T + t_all) * GH : dhs;
            if (f->bp)
                sa_gemm_bpacked_rows(f->bp, n, dr, dh);
            else
                sa_gemm_avx512_rows(g->B, 0, 0, n, H, GH, 1.0f, dr, dense ? g->T * GH : GH, f->Whh, H, 1.0f, dh, H);
        }
    }
}

/* The bias gradients are column sums over all B·T rows of dxp (and dhp),
 * taken per sample first: sum[b] = Σ_t rows b·T + t, split over the pool by
 * samples (each part streams whole rows; split by columns, 2 threads were
 * slower than 1: 14–18 → 25–43 ms on LSTM(512) B 256 T 100), then
 * db += Σ_b sum[b] in sample order, so the bits do not depend on the split. */
typedef struct bias_sums {
    const float *src;
    float *sum; /* (B, GH) */
    int32_t B, T, GH, parts;
} bias_sums;

SA_CLONES static void bias_part(void *arg, int part)
{
    const bias_sums *bs = arg;
    int32_t b0, b1;
    sa_part_range(bs->B, part, bs->parts, &b0, &b1);
    for (int32_t b = b0; b < b1; b++) {
        float *acc = bs->sum + (size_t)b * bs->GH;
        const float *r = bs->src + (size_t)b * bs->T * bs->GH;
        memcpy(acc, r, (size_t)bs->GH * sizeof(float));
        for (int32_t t = 1; t < bs->T; t++) {
            r += bs->GH;
            SA_IVDEP
            for (int32_t j = 0; j < bs->GH; j++)
                acc[j] += r[j];
        }
    }
}

/* db += Σ_r src[r] (and db2 += the same sums when not NULL); sum: (B, GH) scratch */
static void bias_grad(const rnn_dims *g, const float *src, float *sum, float *db, float *db2)
{
    int32_t GH = g->G * g->H;
    bias_sums bs = {src, sum, g->B, g->T, GH, sa_rows_parts(g->B, (double)g->BT * GH)};
    if (bs.parts > 1)
        sa_pool_run(bs.parts, bias_part, &bs);
    else
        bias_part(&bs, 0);
    for (int32_t b = 1; b < g->B; b++) { // row 0 gathers the samples' sums, in order
        const float *r = sum + (size_t)b * GH;
        SA_IVDEP
        for (int32_t j = 0; j < GH; j++)
            sum[j] += r[j];
    }
    for (int32_t j = 0; j < GH; j++) {
        db[j] += sum[j];
        if (db2)
            db2[j] += sum[j];
    }
}

SA_CLONES static void backward_dir(sa_op_ctx *c, const rnn_dims *g, const rnn_ws *w, int32_t k, int32_t dir,
                         const float *xin, const float *dy, float *dxin)
{
    const sa_rnn_cell *cell = cell_of(c->def);
    const sa_tensor *x = c->in[0];
    int32_t H = g->H, GH = g->G * H, in = layer_in(g, k), DH = g->D * H, ld = k * g->D + dir;
    float *const *p = &c->param[ld * g->P];
    float *const *dp = &c->pgrad[ld * g->P];
    const float *Wih = p[0], *Whh = p[1], *peep = g->P == 7 ? p[4] : NULL;
    size_t SH = (size_t)g->S * H;
    const float *save = w->save + (size_t)ld * g->BT * SH;
    const float *y = layer_out(c, g, w, k) + (size_t)dir * H; /* h_t of this direction, row stride DH */
    float *dxp = w->xp, *dhp = g->shared_grad ? w->xp : w->dhp, *dhs = w->step, *dh = w->dh, *dc = w->dc;
    float *h0 = w->h, *c0 = w->c; /* the states before each sample's first step, as forward had them */
    load_state(h0, init_of(c, RNN_H0), g, ld);
    if (g->C)
        load_state(c0, init_of(c, RNN_C0), g, ld);
    /* padded rows are never written by the time loop and must be 0 for the
     * weight-gradient GEMMs; without lengths every row is written */
    if (x->len) {
        memset(dxp, 0, g->BT * GH * sizeof(float));
        if (dhp != dxp)
            memset(dhp, 0, g->BT * GH * sizeof(float));
    }

    /* the carried gradients start from those of this direction's final states */
    memset(dh, 0, (size_t)g->B * H * sizeof(float));
    memset(dc, 0, (size_t)g->B * H * sizeof(float));
    add_state_grad(dh, c->out[1], g, ld);
    add_state_grad(dc, c->out[2], g, ld);
    if (k == g->L - 1 && !c->def->iarg[RNN_SEQ])
        for (int32_t b = 0; b < g->B; b++)
            for (int32_t j = 0; j < H; j++)
                dh[(size_t)b * H + j] += c->out[0]->grad[(size_t)b * DH + (size_t)dir * H + j];

    /* Without lengths every sample is at the same t at step s, so the
     * recurrent gradients of one step are rows t of dhp with stride T·G·H:
     * the cell writes them there and the GEMM reads them in place. With
     * lengths, samples are at different t: gather them in dhs (zero for the
     * samples that are done). A cell with shared_grad writes dxp only, which
     * is then dhp. */
    const int dense = !x->len;
    /* the samples' cells of a step, split like forward's; not with
     * peepholes, whose gradient all samples add to */
    step_grads sg = {cell, g, x, save, y, h0, c0, dy, peep, peep ? dp[4] : NULL, dxp, dhp, dhs, dh, dc, 0, dir, 1};
    /* dh += dhp_t W_hh: op(B) = W_hh (GH × H), packed once for every step */
    const sa_gemm_bp bp = {0, 0, H, GH, dense ? g->T * GH : GH, H, H, 1.0f, 1.0f, w->wt, Whh};
    const int gv = gemv_path(g), bpk = !gv && sa_gemm_bpack_use(0, g->B, H, GH);
    if (bpk)
        sa_gemm_bpack(0, H, GH, Whh, H, w->wt);
    int lp = peep || g->B == 1 ? 1 : sa_loop_parts(g->B, (double)g->B * GH * H, g->T);
    if (lp > 1) {
        bwd_loop f = {sg, bpk ? &bp : NULL, Whh, 0, 0, {0}};
        f.chunks = sample_chunks(x, g->B, lp, f.bounds);
        long long t0 = sa_blas_clock_ns();
        sa_pool_run(lp, bwd_loop_part, &f);
        sa_blas_scope_large(sa_blas_clock_ns() - t0, lp);
    }
    for (int32_t s = g->T - 1; lp == 1 && s >= 0; s--) {
        if (!dense)
            memset(dhs, 0, (size_t)g->B * GH * sizeof(float));
        int32_t t_all = dir ? g->T - 1 - s : s;
        sg.s = s;
        sg.parts = peep ? 1 : sa_rows_parts(g->B, (double)g->B * GH);
        if (sg.parts > 1)
            sa_pool_run(sg.parts, grads_part, &sg);
        else
            grads_part(&sg, 0);
        if (gv) // dh += dhp_t W_hh, W_hh's columns in alternate orders as forward's rows
            sa_vecmat_avx512(GH, H, 1.0f, dense ? dhp + (size_t)t_all * GH : dhs, Whh, H, 1.0f, dh, s & 1);
        else if (bpk)
            sa_gemm_bpacked(&bp, g->B, dense ? dhp + (size_t)t_all * GH : dhs, dh);
        else if (dense) // dh += dhp[:, t] W_hh
            sa_gemm(0, 0, g->B, H, GH, 1.0f, dhp + (size_t)t_all * GH, g->T * GH, Whh, H, 1.0f, dh, H);
        else       // dh += dhs W_hh
            sa_gemm(0, 0, g->B, H, GH, 1.0f, dhs, GH, Whh, H, 1.0f, dh, H);
    }
    /* dh, dc are now the gradients of the initial states */
    for (int slot = RNN_H0; slot <= RNN_C0; slot++) {
        const sa_tensor *init = init_of(c, slot);
        const float *src = slot == RNN_H0 ? dh : dc;
        if (init && init->grad)
            for (int32_t b = 0; b < g->B; b++)
                for (int32_t j = 0; j < H; j++)
                    init->grad[(size_t)b * init->F + (size_t)ld * H + j] += src[(size_t)b * H + j];
    }
    hh_weight_grad(g, x, dir, dhp, y, h0, w->step, dh, dp[1]);
    sa_gemm(1, 0, GH, in, (int)g->BT, 1.0f, dxp, GH, xin, in, 1.0f, dp[0], in); // dW_ih += dxpᵀ X
    /* the bias gradients (w->step, B·GH, is free once the loop is done);
     * when dhp is dxp (LSTM) one pass gives both */
    bias_grad(g, dxp, w->step, dp[2], dhp == dxp ? dp[3] : NULL);
    if (dhp != dxp)
        bias_grad(g, dhp, w->step, dp[3], NULL);
    if (dxin)
        sa_gemm(0, 0, (int)g->BT, in, GH, 1.0f, dxp, GH, Wih, in, 1.0f, dxin, in); // dX += dxp W_ih
}

void sa_rnn_backward(sa_op_ctx *c)
{
    rnn_dims g = dims(c);
    rnn_ws w;
    ws_layout(&g, c->ws, c->scratch, &w, 0);
    size_t seq = g.BT * g.D * g.H;
    /* the top layer reads the output's gradient in place (NULL without a
     * sequence output); below it the layers alternate between dX and dY */
    const float *dy = c->def->iarg[RNN_SEQ] ? c->out[0]->grad : NULL;
    float *between[2] = {w.dX, w.dY};
    for (int32_t k = g.L - 1; k >= 0; k--) {
        const float *xin = k == 0 ? c->in[0]->data : layer_out(c, &g, &w, k - 1);
        float *dxin = k == 0 ? c->in[0]->grad : between[(g.L - 1 - k) % 2];
        if (k > 0)
            memset(dxin, 0, seq * sizeof(float));
        for (int32_t dir = 0; dir < g.D; dir++)
            backward_dir(c, &g, &w, k, dir, xin, dy, dxin);
        dy = dxin; // the input gradient of layer k is the output gradient of layer k − 1
    }
}

static sa_node rnn_rebuild(sa_graph *g, const sa_node_def *d);
static sa_node rnn_port(sa_graph *g, sa_node p, int32_t k);

/* GRU and LSTM differ only in their cell (cell_of), so they share every op */
#define RNN_OPS                                                                                  \
    .params = sa_rnn_params, .reshape = sa_rnn_reshape, .ws_bytes = sa_rnn_ws_bytes,            \
    .scratch_bytes = sa_rnn_scratch_bytes, .forward = sa_rnn_forward, .backward = sa_rnn_backward, \
    .step = sa_rnn_step,                                                                         \
    .can_step = sa_rnn_can_step, .rebuild = rnn_rebuild, .port = rnn_port

const sa_layer_ops sa_op_gru = {.kind = "gru", RNN_OPS};
const sa_layer_ops sa_op_lstm = {.kind = "lstm", RNN_OPS};

SA_API sa_rnn_desc sa_rnn_desc_default(void)
{
    sa_rnn_desc d = {SA_RNN_DESC_INIT};
    return d;
}

/* the value of a desc field, or its default when the caller's struct predates it */
#define DESC_FIELD(desc, field, dflt)                                                          \
    ((desc)->struct_size >= offsetof(sa_rnn_desc, field) + sizeof((desc)->field) ? (desc)->field \
                                                                                  : (dflt))

static int add_init(sa_graph *g, sa_node_def *d, sa_node n, int slot, const char *what, const char *fn)
{
    if (n == SA_NODE_NONE)
        return 1;
    if (!sa_graph_check(g, fn, 1, &n))
        return 0;
    int32_t need = d->iarg[RNN_LAYERS] * d->iarg[RNN_DIRS] * d->iarg[RNN_H];
    if (g->nodes[n].F != need) {
        sa_graph_fail(g, SA_ERR_SHAPE, "%s: %s has %d features, needs layers*dirs*hidden = %d", fn, what,
                      (int)g->nodes[n].F, (int)need);
        return 0;
    }
    d->iarg[slot] = d->n_in;
    d->in[d->n_in++] = n;
    return 1;
}

sa_node sa_rnn_add(sa_graph *g, sa_node x, const sa_rnn_desc *desc, const sa_layer_ops *ops, const char *fn)
{
    if (!sa_graph_check(g, fn, 1, &x))
        return SA_NODE_INVALID;
    if (!desc)
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "%s: desc is NULL", fn);
    if (desc->struct_size < offsetof(sa_rnn_desc, initial_state) + sizeof(sa_node))
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "%s: desc->struct_size %zu is too small "
                             "(use SA_RNN_DESC_INIT)", fn, desc->struct_size);
    int32_t H = desc->hidden, L = desc->num_layers, D = desc->bidirectional ? 2 : 1;
    int32_t peep = DESC_FIELD(desc, peephole, 0);
    sa_node c0 = DESC_FIELD(desc, initial_cell, SA_NODE_NONE);
    if (H < 1 || H > (1 << 20))
        return sa_graph_fail(g, SA_ERR_SHAPE, "%s: hidden must be in 1..%d, got %d", fn, 1 << 20, (int)H);
    if (desc->bidirectional != 0 && desc->bidirectional != 1)
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "%s: bidirectional must be 0 or 1", fn);
    if (peep != 0 && peep != 1)
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "%s: peephole must be 0 or 1", fn);
    if (peep && ops != &sa_op_lstm)
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "%s: peephole connections exist for LSTM only", fn);
    if (c0 != SA_NODE_NONE && ops != &sa_op_lstm)
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "%s: initial_cell exists for LSTM only", fn);
    int32_t per = peep ? 7 : 4;
    if (L < 1 || L > SA_MAX_PARAMS / (per * D))
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "%s: num_layers must be in 1..%d, got %d", fn,
                             SA_MAX_PARAMS / (per * D), (int)L);
    sa_node_def d = {.ops = ops, .F = D * H, .n_in = 1, .in = {x}};
    d.iarg[RNN_H] = H;
    d.iarg[RNN_LAYERS] = L;
    d.iarg[RNN_DIRS] = D;
    d.iarg[RNN_SEQ] = desc->return_sequences ? 1 : 0;
    d.iarg[RNN_IN] = g->nodes[x].F;
    d.iarg[RNN_PEEP] = peep;
    if (!add_init(g, &d, desc->initial_state, RNN_H0, "initial_state", fn) ||
        !add_init(g, &d, c0, RNN_C0, "initial_cell", fn))
        return SA_NODE_INVALID;
    return sa_graph_add(g, &d);
}

static sa_node final_port(sa_graph *g, sa_node rnn, int32_t port, const char *fn)
{
    if (!sa_graph_check(g, fn, 1, &rnn))
        return SA_NODE_INVALID;
    const sa_node_def *d = &g->nodes[rnn];
    if (d->ops != &sa_op_gru && d->ops != &sa_op_lstm)
        return sa_graph_fail(g, SA_ERR_BAD_NODE, "%s: node '%s' is a %s, not a recurrent layer", fn, d->name,
                             d->ops->kind);
    if (port == 2 && d->ops != &sa_op_lstm)
        return sa_graph_fail(g, SA_ERR_BAD_NODE, "%s: node '%s' is a %s, which has no cell state", fn,
                             d->name, d->ops->kind);
    return sa_graph_port(g, rnn, port, d->iarg[RNN_LAYERS] * d->iarg[RNN_DIRS] * d->iarg[RNN_H]);
}

SA_API sa_node sa_rnn_final_state(sa_graph *g, sa_node rnn)
{
    return final_port(g, rnn, 1, "sa_rnn_final_state");
}

SA_API sa_node sa_rnn_final_cell(sa_graph *g, sa_node rnn)
{
    return final_port(g, rnn, 2, "sa_rnn_final_cell");
}

/* ------------------------------------------------ persistence (sa_model_load) */

static sa_node rnn_rebuild(sa_graph *g, const sa_node_def *d)
{
    const char *fn = d->ops == &sa_op_lstm ? "sa_lstm" : "sa_gru";
    const int32_t *a = d->iarg;
    sa_rnn_desc desc = sa_rnn_desc_default();
    desc.hidden = a[RNN_H];
    desc.num_layers = a[RNN_LAYERS];
    desc.bidirectional = a[RNN_DIRS] == 2;
    desc.return_sequences = a[RNN_SEQ];
    desc.peephole = a[RNN_PEEP];
    sa_node *init[2] = {&desc.initial_state, &desc.initial_cell};
    for (int slot = RNN_H0; slot <= RNN_C0; slot++) {
        if (!a[slot]) /* slot 0 is x: an initial state is never input 0 */
            continue;
        if (a[slot] < 1 || a[slot] >= d->n_in) /* an index into in[]: check before use */
            return sa_graph_fail(g, SA_ERR_INVALID_ARG, "%s '%s': initial-state input %d is outside 1..%d", fn,
                                 d->name, (int)a[slot], (int)d->n_in - 1);
        *init[slot - RNN_H0] = d->in[a[slot]];
    }
    return sa_rnn_add(g, d->in[0], &desc, d->ops, fn);
}

static sa_node rnn_port(sa_graph *g, sa_node p, int32_t k)
{
    if (k != 1 && k != 2)
        return sa_graph_fail(g, SA_ERR_BAD_NODE, "port of '%s': a recurrent layer has ports 1 (h_n) and 2 (c_n), "
                             "not %d", g->nodes[p].name, (int)k);
    return final_port(g, p, k, k == 1 ? "sa_rnn_final_state" : "sa_rnn_final_cell");
}
