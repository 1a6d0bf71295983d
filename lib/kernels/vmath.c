/* vmath.c — exp, sigmoid and tanh over arrays, written as plain loops the
 * compiler vectorises (no libm call inside, no data-dependent branch).
 *
 * Why: the gate loops of the recurrent cells spent 34–68 % of a step in
 * scalar expf/tanhf (docs/performance.md). These are Cephes' single-precision
 * algorithms (range reduction + minimax polynomial), accurate to about 2 ulp,
 * evaluated branch-free so that each loop becomes SIMD code.
 *
 * Each loop is compiled per instruction set (SA_CLONES, internal.h). On a CPU
 * with AVX-512F, exp, sigmoid and tanh go instead to the same algorithms in
 * intrinsics (vmath_avx512.c), 1.6–2.2× faster; the two may differ in the
 * last bit. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../internal.h"

/* exp(x) for any float. Inputs above EXP_HI give exp(EXP_HI) (≈1.7e38, not
 * inf: sigmoid and softmax only need "huge"); below EXP_LO give 0 (the true
 * value is under 1.7e-38); NaN stays NaN. */
#define EXP_HI 88.0f
#define EXP_LO -87.0f

static inline float exp_one(float x)
{
    float xc = x > EXP_HI ? EXP_HI : x;
    xc = xc < EXP_LO ? EXP_LO : xc;
    xc = x == x ? xc : 0.0f; /* keep NaN out of the float -> int conversion */
    /* n = round(x / ln 2) with the 1.5·2^23 trick: exact, and vectorises
     * where floorf/nearbyintf would need SSE4.1 */
    const float magic = 12582912.0f;
    float n = (xc * 1.44269504088896341f + magic) - magic;
    /* r = x − n ln 2 in two parts (Cody–Waite) so r keeps its low bits */
    float r = xc - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float e = p * r * r + r + 1.0f;
    /* × 2^n through the exponent bits; n is in [-126, 127] after clamping */
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    e *= scale;
    e = x < EXP_LO ? 0.0f : e;
    return x == x ? e : x;
}

SA_CLONES static void vexp_loop(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = exp_one(x[i]);
}

SA_CLONES static void vsigmoid_loop(float *y, const float *x, size_t n)
{
    /* exp(−x) is 0 or huge at the extremes: the quotient is 1 or ≈0, never
     * NaN; below −EXP_HI the true value is under 1e-38: give 0 */
    for (size_t i = 0; i < n; i++) {
        float s = 1.0f / (1.0f + exp_one(-x[i]));
        y[i] = x[i] < -EXP_HI ? 0.0f : s;
    }
}

SA_CLONES static void vtanh_loop(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i], a = v < 0.0f ? -v : v;
        /* small |x|: odd polynomial, keeps full relative accuracy near 0 */
        float z = v * v;
        float p = -5.70498872745e-3f;
        p = p * z + 2.06390887954e-2f;
        p = p * z - 5.37397155531e-2f;
        p = p * z + 1.33314422036e-1f;
        p = p * z - 3.33332819422e-1f;
        float small = v * (1.0f + p * z); /* not v + v·z·p, which turns −0 into +0 */
        /* larger |x|: 1 − 2 / (e^{2|x|} + 1), which saturates to 1 cleanly */
        float big = 1.0f - 2.0f / (exp_one(a + a) + 1.0f);
        big = v < 0.0f ? -big : big;
        y[i] = a < 0.625f ? small : big;
    }
}

void sa_vexp(float *y, const float *x, size_t n)
{
    if (sa_vmath_avx512_ok())
        sa_vexp_avx512(y, x, n);
    else
        vexp_loop(y, x, n);
}

void sa_vsigmoid(float *y, const float *x, size_t n)
{
    if (sa_vmath_avx512_ok())
        sa_vsigmoid_avx512(y, x, n);
    else
        vsigmoid_loop(y, x, n);
}

void sa_vtanh(float *y, const float *x, size_t n)
{
    if (sa_vmath_avx512_ok())
        sa_vtanh_avx512(y, x, n);
    else
        vtanh_loop(y, x, n);
}

/* Reductions keep LANES partial results so the compiler can vectorise them
 * without -ffast-math (which would let it reorder every sum in the library).
 * The order of additions therefore differs from a left-to-right loop. */
#define LANES 16

SA_CLONES float sa_vmax(const float *x, size_t n)
{
    if (n == 0)
        return -INFINITY;
    float m[LANES];
    for (int k = 0; k < LANES; k++)
        m[k] = x[0];
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++)
            m[k] = x[i + k] > m[k] ? x[i + k] : m[k];
    for (; i < n; i++)
        m[0] = x[i] > m[0] ? x[i] : m[0];
    float r = m[0];
    for (int k = 1; k < LANES; k++)
        r = m[k] > r ? m[k] : r;
    return r;
}

SA_CLONES float sa_vdot(const float *a, const float *b, size_t n)
{
    float acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++)
            acc[k] += a[i + k] * b[i + k];
    float s = 0.0f;
    for (; i < n; i++)
        s += a[i] * b[i];
    for (int k = 0; k < LANES; k++)
        s += acc[k];
    return s;
}

SA_CLONES float sa_vsum(const float *x, size_t n)
{
    float acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++)
            acc[k] += x[i + k];
    float s = 0.0f;
    for (; i < n; i++)
        s += x[i];
    for (int k = 0; k < LANES; k++)
        s += acc[k];
    return s;
}

void sa_softmax(float *x, int32_t n)
{
    if (n <= 0)
        return;
    float mx = sa_vmax(x, (size_t)n);
    for (int32_t i = 0; i < n; i++)
        x[i] -= mx;
    sa_vexp(x, x, (size_t)n);
    float inv = 1.0f / sa_vsum(x, (size_t)n);
    for (int32_t i = 0; i < n; i++)
        x[i] *= inv;
}

/* y[0..N) += Σ_k x[k] · Wt[k, 0..N), Wt (K, N) row-major (a transposed
 * weight matrix). Outputs go in blocks of VM_BLOCK kept in registers across
 * the k loop, so there is no horizontal sum and each Wt row is read once —
 * this is the recurrent product of a single sample, which OpenBLAS's sgemv
 * (dot products per output) runs at about half this rate. */
#define VM_BLOCK 64

SA_CLONES void sa_vec_mat(int32_t K, int32_t N, const float *restrict x, const float *restrict Wt,
                          float *restrict y)
{
    int32_t n0 = 0;
    for (; n0 + VM_BLOCK <= N; n0 += VM_BLOCK) {
        float acc[VM_BLOCK];
        for (int l = 0; l < VM_BLOCK; l++)
            acc[l] = y[n0 + l];
        for (int32_t k = 0; k < K; k++) {
            const float xk = x[k], *w = Wt + (size_t)k * N + n0;
            for (int l = 0; l < VM_BLOCK; l++)
                acc[l] += xk * w[l];
        }
        for (int l = 0; l < VM_BLOCK; l++)
            y[n0 + l] = acc[l];
    }
    if (n0 < N) /* the last partial block */
        for (int32_t k = 0; k < K; k++) {
            const float xk = x[k], *w = Wt + (size_t)k * N;
            for (int32_t n = n0; n < N; n++)
                y[n] += xk * w[n];
        }
}
