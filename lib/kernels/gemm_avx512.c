/* gemm_avx512.c — a single-threaded sgemm with an AVX-512 kernel of our own,
 * which sa_gemm (gemm.c) calls instead of the BLAS where it is faster.
 *
 * Why: OpenBLAS picks its kernels by CPU model, and Debian's 0.3.21 runs its
 * AVX2 (Haswell) kernels on CPUs it does not know, AVX-512 ones among them
 * (an AMD EPYC of family 26 here): 85–95 GFLOP/s on the products of these
 * models where this kernel reaches 140–185 (docs/performance.md). And on the
 * small per-head attention products, OpenBLAS runs the forms with a
 * transposed operand at about half the rate of the plain one (an AVX-512
 * Xeon: S = Q Kᵀ at 55 GFLOP/s against 100 for O = P V). Here both operands
 * are first copied into panels laid out for the kernel, whatever their
 * transposition, so every form runs the same inner loop.
 *
 * The kernel keeps a 12 × 32 block of C in 24 zmm registers and adds one
 * rank-1 update per inner index: two loads of B, twelve broadcasts of A,
 * 24 fused multiply-adds. B is packed in panels padded with zeros to whole
 * blocks, A is read in place (only its last 1–3 rows are packed), so the
 * inner loop has no tail; only the stores to C are masked. Large products
 * (gemm_packed, packed_pays) pack A as well, into a per-thread space. */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>

#include "../internal.h"

#define MR 12  /* rows of C per block */
#define NR 32  /* columns of C per block: two zmm */
#define KC 128 /* inner indices per panel */
#define NC 64  /* columns per B panel: two blocks */
#define MC 384 /* rows of A kept in L2 per pass (384 × 128 floats: 192 KB) */

#if SA_HAVE_AVX512
#include <immintrin.h>
#endif

/* -1 until the first product decides; then 0 (the BLAS) or 1 (the kernel) */
static int use_simd = -1;

int sa_gemm_avx512_enable(int enable) { return sa_avx512_set(&use_simd, enable); }

#if SA_HAVE_AVX512
#define AVX512 __attribute__((target("avx512f")))
#if defined(__clang__)
#define SA_UNROLL_MR _Pragma("unroll")
#else
#define SA_UNROLL_MR _Pragma("GCC unroll 12")
#endif

/* Ap[p·MT + r] = op(A)(r, p) for r < mr, p < kc; rows mr..MT−1 are 0: the
 * last rows of A when they do not fill a block of MT (the others are read in
 * place, so that a kernel never reads past A's last row). */
#define MT 4 /* rows of C per tail block */
AVX512 static void pack_a(int transA, int mr, int kc, const float *A, int lda, float *Ap)
{
    for (int p = 0; p < kc; p++)
        for (int r = 0; r < MT; r++)
            Ap[(size_t)p * MT + r] = r < mr ? (transA ? A[(size_t)p * lda + r] : A[(size_t)r * lda + p]) : 0.0f;
}

/* r[i] = column i of the 16 × 16 tile whose rows were r[0..15]: unpack
 * pairs, then 2-float, 4-float and 8-float groups. */
AVX512 static inline __attribute__((always_inline)) void transpose16(__m512 r[16])
{
    __m512 t[16], u[16], v[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        u[4 * i + 0] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int h = 0; h < 2; h++)
        for (int i = 0; i < 4; i++) {
            v[8 * h + i] = _mm512_shuffle_f32x4(u[8 * h + i], u[8 * h + 4 + i], 0x88);
            v[8 * h + 4 + i] = _mm512_shuffle_f32x4(u[8 * h + i], u[8 * h + 4 + i], 0xdd);
        }
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(v[i], v[8 + i], 0x88);
        r[8 + i] = _mm512_shuffle_f32x4(v[i], v[8 + i], 0xdd);
    }
}

/* dst[c·ds + r] = src[r·ld + p0 + c] for r < rows (≤ 16) and c < pk (≤ 16):
 * one 16 × 16 tile transposed in registers, rows past `rows` zero and never
 * read (the matrix may end there); each stored column writes the lanes of
 * `keep` only (a panel narrower than 16). */
AVX512 static inline __attribute__((always_inline)) void tile_transposed(const float *src, int ld, int rows,
                                                                       int p0, int pk, float *dst, int ds,
                                                                       __mmask16 keep)
{
    __mmask16 m = (__mmask16)(pk == 16 ? 0xFFFF : (1u << pk) - 1);
    __m512 r[16];
    for (int i = 0; i < 16; i++)
        r[i] = i < rows ? _mm512_maskz_loadu_ps(m, src + (size_t)i * ld + p0) : _mm512_setzero_ps();
    transpose16(r);
    for (int c = 0; c < pk; c++)
        _mm512_mask_storeu_ps(dst + (size_t)c * ds, keep, r[c]);
}

/* Bp holds ceil(nc / NR) blocks, each kc rows of NR: block q, row p, column c
 * is op(B)(p, q·NR + c), 0 past nc. */
AVX512 static void pack_b(int transB, int kc, int nc, const float *B, int ldb, float *Bp)
{
    for (int q = 0; q * NR < nc; q++) {
        int w = nc - q * NR < NR ? nc - q * NR : NR;
        float *blk = Bp + (size_t)q * kc * NR;
        if (!transB) { /* rows of B are contiguous: copy them */
            __mmask16 m0 = (__mmask16)(w >= 16 ? 0xFFFF : (1u << w) - 1);
            __mmask16 m1 = (__mmask16)(w >= 32 ? 0xFFFF : w > 16 ? (1u << (w - 16)) - 1 : 0);
            const float *src = B + (size_t)q * NR;
            for (int p = 0; p < kc; p++) {
                _mm512_storeu_ps(blk + (size_t)p * NR, _mm512_maskz_loadu_ps(m0, src + (size_t)p * ldb));
                _mm512_storeu_ps(blk + (size_t)p * NR + 16,
                                 _mm512_maskz_loadu_ps(m1, src + (size_t)p * ldb + 16));
            }
        } else { /* op(B)(p, j) = B[j·ldb + p]: 16 × 16 tiles of B, transposed in registers */
            for (int h = 0; h < 2; h++) {
                int rows = w - 16 * h < 0 ? 0 : w - 16 * h > 16 ? 16 : w - 16 * h;
                const float *src = B + (size_t)(q * NR + 16 * h) * ldb;
                for (int p0 = 0; p0 < kc; p0 += 16) /* rows past w become zeros */
                    tile_transposed(src, ldb, rows, p0, kc - p0 < 16 ? kc - p0 : 16, blk + (size_t)p0 * NR + 16 * h,
                                    NR, (__mmask16)0xFFFF);
            }
        }
    }
}

/* The rows × nr block of C at C: C = beta·C + alpha·A·Bp over kc inner
 * indices, A(r, p) at A[r·rs + p·ps], storing only mr rows and nr columns;
 * rows is MR (12) or MT (4, the tail); nv (1 or 2) vectors of 16 columns are
 * computed, so a block at most 16 wide (a head width of 16, the last columns
 * of S) costs half. beta == 0 never reads C. Inlined into callers with
 * constant rows, nv and one constant stride, so that the broadcasts of a step
 * are fixed offsets from one or a few pointers. */
AVX512 static inline __attribute__((always_inline)) void kernel(int rows, int nv, int kc, const float *A,
                                                              ptrdiff_t rs, ptrdiff_t ps, const float *Bp, int mr,
                                                              int nr, float alpha, float beta, float *C, int ldc)
{
    /* fully unrolled, so that the accumulators live in registers */
    __m512 c0[MR], c1[MR];
    SA_UNROLL_MR
    for (int r = 0; r < rows; r++)
        c0[r] = c1[r] = _mm512_setzero_ps();
    for (int p = 0; p < kc; p++) {
        __m512 b0 = _mm512_loadu_ps(Bp + (size_t)p * NR);
        __m512 b1 = nv == 2 ? _mm512_loadu_ps(Bp + (size_t)p * NR + 16) : b0;
        const float *a = A + p * ps;
        SA_UNROLL_MR
        for (int r = 0; r < rows; r++) {
            __m512 ar = _mm512_set1_ps(a[r * rs]);
            c0[r] = _mm512_fmadd_ps(ar, b0, c0[r]);
            if (nv == 2)
                c1[r] = _mm512_fmadd_ps(ar, b1, c1[r]);
        }
    }
    __mmask16 m0 = (__mmask16)(nr >= 16 ? 0xFFFF : (1u << nr) - 1);
    __mmask16 m1 = (__mmask16)(nr >= 32 ? 0xFFFF : nr > 16 ? (1u << (nr - 16)) - 1 : 0);
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    SA_UNROLL_MR
    for (int r = 0; r < rows; r++) {
        if (r >= mr)
            break;
        float *row = C + (size_t)r * ldc;
        __m512 x0 = _mm512_mul_ps(va, c0[r]);
        if (beta != 0.0f)
            x0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, row), x0);
        _mm512_mask_storeu_ps(row, m0, x0);
        if (nv == 2) {
            __m512 x1 = _mm512_mul_ps(va, c1[r]);
            if (beta != 0.0f)
                x1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, row + 16), x1);
            _mm512_mask_storeu_ps(row + 16, m1, x1);
        }
    }
}

/* The forms of A the kernel reads: rows contiguous (op(A) = A) or columns
 * contiguous (op(A) = Aᵀ, or the packed tail); blocks 32 or 16 wide; 12 or
 * 4 rows high. */
typedef void (*kernel_fn)(int kc, const float *A, int lda, const float *Bp, int mr, int nr, float alpha,
                          float beta, float *C, int ldc);
#define KERNEL_FORM(name, rows, nv, rs, ps)                                                           \
    AVX512 static void name(int kc, const float *A, int lda, const float *Bp, int mr, int nr, float alpha, \
                            float beta, float *C, int ldc)                                          \
    {                                                                                               \
        kernel(rows, nv, kc, A, rs, ps, Bp, mr, nr, alpha, beta, C, ldc);                           \
    }
KERNEL_FORM(rows32, MR, 2, lda, 1)
KERNEL_FORM(cols32, MR, 2, 1, lda)
KERNEL_FORM(rows16, MR, 1, lda, 1)
KERNEL_FORM(cols16, MR, 1, 1, lda)
KERNEL_FORM(rows32t, MT, 2, lda, 1)
KERNEL_FORM(cols32t, MT, 2, 1, lda)
KERNEL_FORM(rows16t, MT, 1, lda, 1)
KERNEL_FORM(cols16t, MT, 1, 1, lda)

/* kernel for a block `rows` high (MR or MT) and nr wide, reading A by rows
 * or by columns */
static kernel_fn pick(int rows, int nr, int by_cols)
{
    static const kernel_fn k[2][2][2] = {{{rows16, rows32}, {cols16, cols32}},
                                         {{rows16t, rows32t}, {cols16t, cols32t}}};
    return k[rows == MT][by_cols][nr > 16];
}

AVX512 static void gemm_avx512(int transA, int transB, int M, int N, int K, float alpha, const float *A,
                               int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    /* 2 KB + 32 KB of panels: on the stack, so that no call allocates */
    _Alignas(64) float Ap[MT * KC];
    _Alignas(64) float Bp[KC * NC];
    /* A block of MC rows stays in L2 while every column panel of B passes
     * over it (12800×512×1536: 97 → 125 GFLOP/s; before, all of A was
     * streamed once per panel), at the price of packing each B panel once per
     * block. Not for a transposed B, whose packing (16 × 16 transposes) costs
     * more than the blocking saves (6400×256×128 Bᵀ: 135 → 117 GFLOP/s): there
     * mc is all of M. */
    int mc_max = transB ? M : MC;
    for (int pc = 0; pc < K; pc += KC) {
        int kc = K - pc < KC ? K - pc : KC;
        /* the first panel applies beta; the later ones add to it */
        float b = pc == 0 ? beta : 1.0f;
        for (int i0 = 0; i0 < M; i0 += mc_max) {
            int mc = M - i0 < mc_max ? M - i0 : mc_max;
            for (int jc = 0; jc < N; jc += NC) {
                int nc = N - jc < NC ? N - jc : NC;
                const float *Bsrc = transB ? B + (size_t)jc * ldb + pc : B + (size_t)pc * ldb + jc;
                pack_b(transB, kc, nc, Bsrc, ldb, Bp);
                /* blocks of MR rows, then of MT; the last, partial one packed */
                for (int ic = i0; ic < i0 + mc;) {
                    int left = i0 + mc - ic;
                    int rows = left >= MR ? MR : MT;
                    int mr = left < rows ? left : rows;
                    const float *Ab = transA ? A + (size_t)pc * lda + ic : A + (size_t)ic * lda + pc;
                    int ld = lda, by_cols = transA;
                    if (mr < rows) {
                        pack_a(transA, mr, kc, Ab, lda, Ap);
                        Ab = Ap, ld = MT, by_cols = 1;
                    }
                    for (int jr = 0; jr < nc; jr += NR) {
                        int nr = nc - jr < NR ? nc - jr : NR;
                        pick(rows, nr, by_cols)(kc, Ab, ld, Bp + (size_t)(jr / NR) * kc * NR, mr, nr, alpha, b,
                                                C + (size_t)ic * ldc + jc + jr, ldc);
                    }
                    ic += rows;
                }
            }
        }
    }
}

/* The packed form, for products large enough that copying A pays: B packed
 * once per KC2 inner indices for up to NCB columns, A packed per MC2 × KC2
 * block into panels of MR (then MT) rows, so the kernel reads both operands
 * contiguously. Reading A in place had two costs this removes: rows whose
 * stride is a power of two share L1 sets with each other and with the B
 * panel (256×2048×512: 129 GFLOP/s at K 512 against 170 at K 500), and with
 * a transposed B all of A was streamed once per 64 columns, from memory once
 * A outgrew L2 (25600×2048×1024 Bᵀ: 68 GFLOP/s). */
#ifndef KC2
#define KC2 512
#endif
#ifndef MC2
#define MC2 96
#endif
#ifndef NCB
#define NCB 2048
#endif

/* The mc × kc block of op(A) at A as panels: MR rows while MR are left, then
 * MT, the last zero-padded; panel of `rows` rows: Ap[p·rows + r] = op(A)(r, p). */
AVX512 static void pack_a_block(int transA, int mc, int kc, const float *A, int lda, float *Ap)
{
    for (int i = 0; i < mc;) {
        int left = mc - i, rows = left >= MR ? MR : MT, mr = left < rows ? left : rows;
        __mmask16 rm = (__mmask16)((1u << mr) - 1);
        if (transA) { /* op(A)(r, p) = A[p·lda + r]: rows of the panel are contiguous */
            const float *src = A + i;
            for (int p = 0; p < kc; p++)
                _mm512_mask_storeu_ps(Ap + (size_t)p * rows, (__mmask16)((1u << rows) - 1),
                                      _mm512_maskz_loadu_ps(rm, src + (size_t)p * lda));
        } else if (rows == MR && mr == MR) { /* 16 × 16 tiles of 12 rows, transposed in registers */
            for (int p0 = 0; p0 < kc; p0 += 16)
                tile_transposed(A + (size_t)i * lda, lda, MR, p0, kc - p0 < 16 ? kc - p0 : 16, Ap + (size_t)p0 * MR,
                                MR, (__mmask16)((1u << MR) - 1));
        } else
            pack_a(0, mr, kc, A + (size_t)i * lda, lda, Ap);
        Ap += (size_t)kc * rows;
        i += rows;
    }
}

/* One kc-deep slab of the packed form: every MC2 block of op(A) (A at the
 * slab's first inner index) packed into Ap, then the kernel over the B
 * panels at Bp for columns lo .. hi − 1 (lo a multiple of NR) of C. */
AVX512 static void packed_panels(int transA, int M, int kc, const float *A, int lda, const float *Bp, int lo, int hi,
                                 float alpha, float b, float *C, int ldc, float *Ap)
{
    for (int ic = 0; ic < M; ic += MC2) {
        int mc = M - ic < MC2 ? M - ic : MC2;
        pack_a_block(transA, mc, kc, transA ? A + ic : A + (size_t)ic * lda, lda, Ap);
        for (int jr = lo; jr < hi; jr += NR) {
            int nr = hi - jr < NR ? hi - jr : NR;
            const float *bp = Bp + (size_t)(jr / NR) * kc * NR, *ap = Ap;
            for (int ir = 0; ir < mc;) {
                int left = mc - ir, rows = left >= MR ? MR : MT, mr = left < rows ? left : rows;
                pick(rows, nr, 1)(kc, ap, rows, bp, mr, nr, alpha, b, C + (size_t)(ic + ir) * ldc + jr, ldc);
                ap += (size_t)kc * rows;
                ir += rows;
            }
        }
    }
}

AVX512 static void gemm_packed(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                               const float *B, int ldb, float beta, float *C, int ldc, float *Ap, float *Bp)
{
    for (int jc = 0; jc < N; jc += NCB) {
        int nc = N - jc < NCB ? N - jc : NCB;
        for (int pc = 0; pc < K; pc += KC2) {
            int kc = K - pc < KC2 ? K - pc : KC2;
            float b = pc == 0 ? beta : 1.0f;
            pack_b(transB, kc, nc, transB ? B + (size_t)jc * ldb + pc : B + (size_t)pc * ldb + jc, ldb, Bp);
            packed_panels(transA, M, kc, transA ? A + (size_t)pc * lda : A + pc, lda, Bp, 0, nc, alpha, b, C + jc, ldc,
                          Ap);
        }
    }
}

/* gemm_packed's loops with op(B) packed beforehand (sa_gemm_bpack: for each
 * NCB block of columns, for each KC2 block of inner indices, pack_b's
 * panels), for columns c0 .. c1 − 1 of C only (c0 a multiple of NR): a
 * recurrent layer's W_hh, packed once per call instead of once per step.
 * The same blocks and kernel as gemm_packed, so the same bits. */
AVX512 static void gemm_bpacked(int transA, int M, int N, int K, int c0, int c1, float alpha, const float *A,
                                int lda, const float *Bpk, float beta, float *C, int ldc, float *Ap)
{
    size_t base = 0;
    for (int jc = 0; jc < N; jc += NCB) {
        int nc = N - jc < NCB ? N - jc : NCB, ncp = (nc + NR - 1) / NR * NR;
        int lo = c0 > jc ? c0 - jc : 0, hi = c1 < jc + nc ? c1 - jc : nc;
        for (int pc = 0; lo < hi && pc < K; pc += KC2) {
            int kc = K - pc < KC2 ? K - pc : KC2;
            float b = pc == 0 ? beta : 1.0f;
            packed_panels(transA, M, kc, transA ? A + (size_t)pc * lda : A + pc, lda, Bpk + base + (size_t)pc * ncp,
                          lo, hi, alpha, b, C + jc, ldc, Ap);
        }
        base += (size_t)ncp * K;
    }
}

/* The sums of the 16 lanes of each of a0 … a7, in that order, as one vector:
 * the eight reductions share their shuffles (17 in all, against 32 for eight
 * _mm512_reduce_add_ps) and add in the same order, so the same bits. */
AVX512 static inline __m256 reduce8(__m512 a0, __m512 a1, __m512 a2, __m512 a3, __m512 a4, __m512 a5, __m512 a6,
                                    __m512 a7)
{
    /* lanes i and i + 8: each pair of rows as [row a: 8 partials, row b: 8] */
    __m512 p01 = _mm512_add_ps(_mm512_shuffle_f32x4(a0, a1, 0x44), _mm512_shuffle_f32x4(a0, a1, 0xEE));
    __m512 p23 = _mm512_add_ps(_mm512_shuffle_f32x4(a2, a3, 0x44), _mm512_shuffle_f32x4(a2, a3, 0xEE));
    __m512 p45 = _mm512_add_ps(_mm512_shuffle_f32x4(a4, a5, 0x44), _mm512_shuffle_f32x4(a4, a5, 0xEE));
    __m512 p67 = _mm512_add_ps(_mm512_shuffle_f32x4(a6, a7, 0x44), _mm512_shuffle_f32x4(a6, a7, 0xEE));
    /* lanes i and i + 4: 128-bit lane j holds row j's (q0) or row 4 + j's (q1) 4 partials */
    __m512 q0 = _mm512_add_ps(_mm512_shuffle_f32x4(p01, p23, 0x88), _mm512_shuffle_f32x4(p01, p23, 0xDD));
    __m512 q1 = _mm512_add_ps(_mm512_shuffle_f32x4(p45, p67, 0x88), _mm512_shuffle_f32x4(p45, p67, 0xDD));
    /* lanes i and i + 2, then i and i + 1: lane j's elements 0 and 1 end as rows j and 4 + j */
    __m512 u = _mm512_add_ps(_mm512_unpacklo_ps(q0, q1), _mm512_unpackhi_ps(q0, q1));
    __m512 v = _mm512_add_ps(u, _mm512_permute_ps(u, 0x4E));
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 0, 0, 0, 0, 0, 0, 0, 0);
    return _mm512_castps512_ps256(_mm512_permutexvar_ps(order, v));
}

/* y[r·incy] = beta·y[r·incy] + alpha·s[r] for r < 8 */
AVX512 static inline void put8(__m256 s, float alpha, float beta, float *y, int incy)
{
    __m256 v = _mm256_mul_ps(_mm256_set1_ps(alpha), s);
    if (incy == 1) {
        if (beta != 0.0f)
            v = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(beta), _mm256_loadu_ps(y)), v);
        _mm256_storeu_ps(y, v);
        return;
    }
    float vs[8];
    _mm256_storeu_ps(vs, v);
    for (int r = 0; r < 8; r++) {
        float *yr = y + (size_t)r * incy;
        *yr = beta == 0.0f ? vs[r] : beta * *yr + vs[r];
    }
}

/* y[i·incy] = beta·y[i·incy] + alpha · Σ_k W[i·ldw + k] x[k] for row i alone */
AVX512 static inline void gemv_row(int i, int K, float alpha, const float *W, int ldw, const float *x, float beta,
                                   float *y, int incy)
{
    __mmask16 tail = (__mmask16)((1u << (K % 16)) - 1);
    int kfull = K - K % 16;
    __m512 acc = _mm512_setzero_ps();
    const float *w = W + (size_t)i * ldw;
    for (int k = 0; k < kfull; k += 16)
        acc = _mm512_fmadd_ps(_mm512_loadu_ps(w + k), _mm512_loadu_ps(x + k), acc);
    if (tail)
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, w + kfull), _mm512_maskz_loadu_ps(tail, x + kfull), acc);
    float v = alpha * _mm512_reduce_add_ps(acc);
    float *yr = y + (size_t)i * incy;
    *yr = beta == 0.0f ? v : beta * *yr + v;
}

/* The same for all n rows, eight at a time, each row's sum kept in a vector
 * across k, the eight reduced together (reduce8: eight separate reductions
 * took a third of the time on 128 × 64 and 192 × 64, W in L1). Reading each
 * row whole instead (W in address order) was faster alone on 256 × 64 and
 * 512 × 128 but 5–10 % slower inside the recurrent loops. from_end reads
 * the rows last to first: see sa_gemv_avx512. */
AVX512 static void gemv_rows(int n, int K, float alpha, const float *W, int ldw, const float *x, float beta,
                             float *y, int incy, int from_end)
{
    __mmask16 tail = (__mmask16)((1u << (K % 16)) - 1);
    int kfull = K - K % 16, nb = n / 8;
    for (int i = n - 1; from_end && i >= 8 * nb; i--)
        gemv_row(i, K, alpha, W, ldw, x, beta, y, incy);
    for (int blk = 0; blk < nb; blk++) {
        int i = 8 * (from_end ? nb - 1 - blk : blk);
        __m512 acc[8];
        SA_UNROLL_MR
        for (int r = 0; r < 8; r++)
            acc[r] = _mm512_setzero_ps();
        for (int k = 0; k < kfull; k += 16) {
            __m512 xv = _mm512_loadu_ps(x + k);
            SA_UNROLL_MR
            for (int r = 0; r < 8; r++)
                acc[r] = _mm512_fmadd_ps(_mm512_loadu_ps(W + (size_t)(i + r) * ldw + k), xv, acc[r]);
        }
        if (tail) {
            __m512 xv = _mm512_maskz_loadu_ps(tail, x + kfull);
            SA_UNROLL_MR
            for (int r = 0; r < 8; r++)
                acc[r] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, W + (size_t)(i + r) * ldw + kfull), xv, acc[r]);
        }
        put8(reduce8(acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]), alpha, beta,
             y + (size_t)i * incy, incy);
    }
    for (int i = 8 * nb; !from_end && i < n; i++)
        gemv_row(i, K, alpha, W, ldw, x, beta, y, incy);
}

/* Columns j0 … j0 + 16·NV − 1 of y = beta·y + alpha·xᵀW (the last vector
 * masked by `last`): NV vectors of sums across the K rows, kept twice (even
 * and odd k) so that 2·NV chains of fused multiply-adds are in flight, added
 * at the end. NV is a constant at each call: the sums stay in registers. */
AVX512 static inline __attribute__((always_inline)) void
vecmat_block(const int NV, int K, float alpha, const float *x, const float *W, int ldw, float beta, float *y,
             __mmask16 last)
{
    __m512 ev[8], od[8];
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++)
        ev[v] = od[v] = _mm512_setzero_ps();
    int k = 0;
    for (; k + 2 <= K; k += 2) {
        const float *w0 = W + (size_t)k * ldw, *w1 = w0 + ldw;
        __m512 x0 = _mm512_set1_ps(x[k]), x1 = _mm512_set1_ps(x[k + 1]);
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) {
            __mmask16 m = v == NV - 1 ? last : 0xFFFF;
            ev[v] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w0 + 16 * v), x0, ev[v]);
            od[v] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w1 + 16 * v), x1, od[v]);
        }
    }
    if (k < K) {
        const float *w0 = W + (size_t)k * ldw;
        __m512 x0 = _mm512_set1_ps(x[k]);
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++)
            ev[v] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(v == NV - 1 ? last : 0xFFFF, w0 + 16 * v), x0, ev[v]);
    }
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) {
        __mmask16 m = v == NV - 1 ? last : 0xFFFF;
        __m512 r = _mm512_mul_ps(_mm512_set1_ps(alpha), _mm512_add_ps(ev[v], od[v]));
        if (beta != 0.0f)
            r = _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_maskz_loadu_ps(m, y + 16 * v), r);
        _mm512_mask_storeu_ps(y + 16 * v, m, r);
    }
}

/* y = beta·y + alpha·xᵀW over N columns, blocks of up to 128 columns, the
 * blocks in reverse order when from_end (see sa_vecmat_avx512) */
AVX512 static void vecmat_cols(int K, int N, float alpha, const float *x, const float *W, int ldw, float beta,
                               float *y, int from_end)
{
    int nblk = (N + 127) / 128;
    for (int b = 0; b < nblk; b++) {
        int j0 = 128 * (from_end ? nblk - 1 - b : b), nc = N - j0 < 128 ? N - j0 : 128;
        int nv = (nc + 15) / 16;
        __mmask16 last = (__mmask16)(nc % 16 ? (1u << (nc % 16)) - 1 : 0xFFFF);
        const float *Wb = W + j0;
        float *yb = y + j0;
        switch (nv) {
        case 1: vecmat_block(1, K, alpha, x, Wb, ldw, beta, yb, last); break;
        case 2: vecmat_block(2, K, alpha, x, Wb, ldw, beta, yb, last); break;
        case 3: vecmat_block(3, K, alpha, x, Wb, ldw, beta, yb, last); break;
        case 4: vecmat_block(4, K, alpha, x, Wb, ldw, beta, yb, last); break;
        case 5: vecmat_block(5, K, alpha, x, Wb, ldw, beta, yb, last); break;
        case 6: vecmat_block(6, K, alpha, x, Wb, ldw, beta, yb, last); break;
        case 7: vecmat_block(7, K, alpha, x, Wb, ldw, beta, yb, last); break;
        default: vecmat_block(8, K, alpha, x, Wb, ldw, beta, yb, last); break;
        }
    }
}
#endif

int sa_gemm_avx512_ok(void) { return sa_avx512_get(&use_simd); }

void sa_gemv_avx512(int n, int K, float alpha, const float *W, int ldw, const float *x, float beta, float *y,
                    int incy, int from_end)
{
#if SA_HAVE_AVX512
    gemv_rows(n, K, alpha, W, ldw, x, beta, y, incy, from_end);
#else
    (void)n, (void)K, (void)alpha, (void)W, (void)ldw, (void)x, (void)beta, (void)y, (void)incy, (void)from_end;
#endif
}

void sa_vecmat_avx512(int K, int N, float alpha, const float *x, const float *W, int ldw, float beta, float *y,
                      int from_end)
{
#if SA_HAVE_AVX512
    vecmat_cols(K, N, alpha, x, W, ldw, beta, y, from_end);
#else
    (void)K, (void)N, (void)alpha, (void)x, (void)W, (void)ldw, (void)beta, (void)y, (void)from_end;
#endif
}

#if SA_HAVE_AVX512
/* Each thread's packing space for the packed form, grown to the largest
 * product it has run and kept, so that a model's steps allocate nothing
 * once they have run a shape; freed when the thread exits. */
static __thread float *pack_space;
static __thread size_t pack_floats;
static pthread_key_t pack_key;
static int pack_key_ok;
static pthread_once_t pack_once = PTHREAD_ONCE_INIT;

static void pack_key_make(void) { pack_key_ok = pthread_key_create(&pack_key, free) == 0; }

/* @return `floats` floats of this thread's packing space, or NULL when it
 * cannot be had (then the product runs in the unpacked form) */
static float *pack_space_for(size_t floats)
{
    if (pack_floats >= floats)
        return pack_space;
    pthread_once(&pack_once, pack_key_make);
    if (!pack_key_ok)
        return NULL;
    size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes);
    if (!p || pthread_setspecific(pack_key, p) != 0) {
        free(p);
        return NULL;
    }
    free(pack_space);
    pack_space = p;
    pack_floats = bytes / sizeof(float);
    return p;
}
#endif

/* -1: each product picks its form (packed_pays); 0 / 1: always in place /
 * packed (sa_gemm_avx512_form, for tests and benchmarks) */
static int form = -1;

int sa_gemm_avx512_form(int f)
{
    int old = __atomic_load_n(&form, __ATOMIC_RELAXED);
    __atomic_store_n(&form, f < 0 ? -1 : f > 0, __ATOMIC_RELAXED);
    return old;
}

/* Packing A pays where the in-place form reads A badly and each packed row
 * serves 512 columns of C or more: with 512 inner indices or more (rows of
 * A far apart: 12800×512×1536, 124 → 171 GFLOP/s; 2048×1024×25600 Aᵀ, 127
 * → 155), or with a transposed B and 4096 rows or more (all of A streamed
 * per 64 columns: 6400×1024×256 Bᵀ, 115 → 149). Elsewhere the in-place form
 * is as fast or faster (64×512×128: 191 against 177; 1280×512×256 Bᵀ: level;
 * 4096×384×128 Bᵀ: 186 against 153). */
static int packed_pays(int transB, int M, int N, int K)
{
    int f = __atomic_load_n(&form, __ATOMIC_RELAXED);
    return f >= 0 ? f : N >= 512 && (K >= 512 || (transB && M >= 4096));
}

/* The product in the packed form when `packed` and the packing space can be
 * had, else in place */
static void gemm_form(int packed, int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                      const float *B, int ldb, float beta, float *C, int ldc)
{
#if SA_HAVE_AVX512
    if (packed) {
        int nc = N < NCB ? N : NCB, kc = K < KC2 ? K : KC2, mc = M < MC2 ? M : MC2;
        size_t a_floats = (size_t)(mc + MT) * kc, b_floats = (size_t)(nc + NR - 1) / NR * NR * kc;
        float *space = pack_space_for(a_floats + b_floats);
        if (space) {
            gemm_packed(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, space, space + a_floats);
            return;
        }
    }
    gemm_avx512(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
    (void)packed, (void)transA, (void)transB, (void)M, (void)N, (void)K, (void)alpha, (void)A, (void)lda, (void)B,
        (void)ldb, (void)beta, (void)C, (void)ldc;
#endif
}

void sa_gemm_avx512(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc)
{
    gemm_form(packed_pays(transB, M, N, K), transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void sa_gemm_avx512_rows(int whole_M, int transA, int transB, int M, int N, int K, float alpha, const float *A,
                         int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    gemm_form(packed_pays(transB, whole_M, N, K), transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}


/* A product split into parts for sa_pool_run: by columns of C in whole B
 * panels when there are enough (each part then packs only its own columns of
 * B) unless the packed form would copy A into every part where B would be
 * smaller, else by rows in whole row blocks. */
typedef struct gemm_split {
    int transA, transB, M, N, K, lda, ldb, ldc;
    float alpha, beta;
    const float *A, *B;
    float *C;
    int parts, units, by_cols, packed;
} gemm_split;

static void run_part(void *arg, int part)
{
    const gemm_split *g = arg;
    int unit = g->by_cols ? NC : MR, extent = g->by_cols ? g->N : g->M;
    int u0 = (int)((long long)g->units * part / g->parts), u1 = (int)((long long)g->units * (part + 1) / g->parts);
    int lo = u0 * unit, hi = u1 * unit < extent ? u1 * unit : extent;
    if (hi <= lo)
        return;
    if (g->by_cols)
        gemm_form(g->packed, g->transA, g->transB, g->M, hi - lo, g->K, g->alpha, g->A, g->lda,
                  g->transB ? g->B + (size_t)lo * g->ldb : g->B + lo, g->ldb, g->beta, g->C + lo, g->ldc);
    else
        gemm_form(g->packed, g->transA, g->transB, hi - lo, g->N, g->K, g->alpha,
                  g->transA ? g->A + lo : g->A + (size_t)lo * g->lda, g->lda, g->B, g->ldb, g->beta,
                  g->C + (size_t)lo * g->ldc, g->ldc);
}

void sa_gemm_avx512_mt(int threads, int transA, int transB, int M, int N, int K, float alpha, const float *A,
                       int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    /* the form is the whole product's: a part of it may look small enough
     * for the in-place form (12800×512×512 Bᵀ in two 256-column parts) while
     * it still streams all of A per 64 columns */
    int packed = packed_pays(transB, M, N, K);
    /* In the packed form each part packs the operand it shares whole: A
     * when split by columns, B when split by rows; so a product with more
     * rows than columns splits by rows (2 threads: 25600×1024×2048 300 →
     * 325–329 GFLOP/s, 2048×512×25599 Aᵀ 260 → 290–297, 1536×512×12799 Aᵀ
     * 291–300 → 313–327). In place only B is packed, per part's columns. */
    int by_cols = N >= 2 * NC && !(packed && M > N && M >= 2 * MR);
    gemm_split g = {transA, transB, M, N, K, lda, ldb, ldc, alpha, beta, A, B, C, 0, 0, by_cols, packed};
    g.units = g.by_cols ? (N + NC - 1) / NC : (M + MR - 1) / MR;
    g.parts = threads < g.units ? threads : g.units;
    if (g.parts <= 1) {
        gemm_form(g.packed, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    sa_pool_run(g.parts, run_part, &g);
}

size_t sa_gemm_bpack_floats(int N, int K)
{
    size_t cols = 0;
    for (int jc = 0; jc < N; jc += NCB) {
        int nc = N - jc < NCB ? N - jc : NCB;
        cols += (size_t)(nc + NR - 1) / NR * NR;
    }
    return cols * (size_t)K;
}

int sa_gemm_bpack_use(int transB, int M, int N, int K)
{
    return sa_gemm_avx512_ok() && !sa_blas_has_avx512() && M > 1 && packed_pays(transB, M, N, K);
}

void sa_gemm_bpack(int transB, int N, int K, const float *B, int ldb, float *Bpk)
{
#if SA_HAVE_AVX512
    for (int jc = 0; jc < N; jc += NCB) {
        int nc = N - jc < NCB ? N - jc : NCB, ncp = (nc + NR - 1) / NR * NR;
        for (int pc = 0; pc < K; pc += KC2) {
            int kc = K - pc < KC2 ? K - pc : KC2;
            pack_b(transB, kc, nc, transB ? B + (size_t)jc * ldb + pc : B + (size_t)pc * ldb + jc, ldb,
                   Bpk + (size_t)pc * ncp);
        }
        Bpk += (size_t)ncp * K;
    }
#else
    (void)transB, (void)N, (void)K, (void)B, (void)ldb, (void)Bpk;
#endif
}

/* columns c0 .. c1 − 1 of the product; without packing space for A, the
 * in-place form on B as stored (other bits, as any product then) */
static void bpacked_cols(const sa_gemm_bp *p, int M, const float *A, float *C, int c0, int c1)
{
#if SA_HAVE_AVX512
    int kc = p->K < KC2 ? p->K : KC2, mc = M < MC2 ? M : MC2;
    float *Ap = pack_space_for((size_t)(mc + MT) * kc);
    if (Ap) {
        gemm_bpacked(p->transA, M, p->N, p->K, c0, c1, p->alpha, A, p->lda, p->Bpk, p->beta, C, p->ldc, Ap);
        return;
    }
    gemm_avx512(p->transA, p->transB, M, c1 - c0, p->K, p->alpha, A, p->lda,
                p->transB ? p->B + (size_t)c0 * p->ldb : p->B + c0, p->ldb, p->beta, C + c0, p->ldc);
#else
    (void)p, (void)M, (void)A, (void)C, (void)c0, (void)c1;
#endif
}

void sa_gemm_bpacked_rows(const sa_gemm_bp *p, int M, const float *A, float *C)
{
    bpacked_cols(p, M, A, C, 0, p->N);
}

typedef struct bp_split {
    const sa_gemm_bp *p;
    int M, parts, units;
    const float *A;
    float *C;
} bp_split;

static void bp_part(void *arg, int part)
{
    const bp_split *s = arg;
    int u0 = (int)((long long)s->units * part / s->parts), u1 = (int)((long long)s->units * (part + 1) / s->parts);
    int c1 = u1 * NC < s->p->N ? u1 * NC : s->p->N;
    if (u0 * NC < c1)
        bpacked_cols(s->p, s->M, s->A, s->C, u0 * NC, c1);
}

void sa_gemm_bpacked_mt(int threads, const sa_gemm_bp *p, int M, const float *A, float *C)
{
    bp_split s = {p, M, threads, (p->N + NC - 1) / NC, A, C};
    s.parts = threads < s.units ? threads : s.units;
    if (s.parts <= 1)
        bpacked_cols(p, M, A, C, 0, p->N);
    else
        sa_pool_run(s.parts, bp_part, &s);
}
