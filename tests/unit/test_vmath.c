/* test_vmath.c — accuracy and edge cases of the vectorised exp, sigmoid, tanh
 * and softmax (lib/kernels/vmath.c) against double-precision libm, over a
 * dense sweep, the saturation ranges, ±inf, NaN, in-place use and lengths
 * that are not multiples of any vector width — for the portable loops and,
 * where the CPU has AVX-512F, again for the intrinsics (vmath_avx512.c), with
 * the two compared value by value. Internal kernels: this test is compiled
 * with the kernels' source rather than linked to the library. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/internal.h"

static int failures;

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            failures++;                                                                    \
            if (failures < 20) {                                                           \
                printf("FAIL %s:%d: ", __FILE__, __LINE__);                                \
                printf(__VA_ARGS__);                                                       \
                printf("\n");                                                              \
            }                                                                              \
        }                                                                                  \
    } while (0)

typedef void (*vfn)(float *, const float *, size_t);
static double ref_exp(double x) { return exp(x); }
static double ref_sig(double x) { return 1.0 / (1.0 + exp(-x)); }
static double ref_tanh(double x) { return tanh(x); }

/* worst relative error of f against ref over x in [lo, hi] (n points), where
 * |ref| >= floor; absolute error below floor */
static double sweep(vfn f, double (*ref)(double), double lo, double hi, int n, double floor)
{
    float *x = malloc((size_t)n * sizeof(float)), *y = malloc((size_t)n * sizeof(float));
    for (int i = 0; i < n; i++)
        x[i] = (float)(lo + (hi - lo) * i / (n - 1));
    f(y, x, (size_t)n);
    double worst = 0;
    for (int i = 0; i < n; i++) {
        double r = ref(x[i]), e = fabs(y[i] - r);
        e = fabs(r) >= floor ? e / fabs(r) : e;
        if (!(e <= worst))
            worst = e; /* also catches NaN */
    }
    printf("  [%g, %g]: worst error %.3g\n", lo, hi, worst);
    free(x);
    free(y);
    return worst;
}

static void test_accuracy(void)
{
    /* float epsilon is 1.19e-7: the bounds allow about 4 ulp */
    double e = sweep(sa_vexp, ref_exp, -87.0, 88.0, 200001, 0);
    CHECK(e < 5e-7, "exp relative error %.3g", e);
    e = sweep(sa_vexp, ref_exp, -1e-3, 1e-3, 10001, 0);
    CHECK(e < 3e-7, "exp near 0: relative error %.3g", e);
    e = sweep(sa_vsigmoid, ref_sig, -80.0, 80.0, 200001, 1e-30);
    CHECK(e < 5e-7, "sigmoid relative error %.3g", e);
    e = sweep(sa_vtanh, ref_tanh, -20.0, 20.0, 200001, 0);
    CHECK(e < 5e-7, "tanh relative error %.3g", e);
    e = sweep(sa_vtanh, ref_tanh, -0.7, 0.7, 100001, 0);
    CHECK(e < 3e-7, "tanh near 0 (polynomial/exp switch at 0.625): relative error %.3g", e);
    e = sweep(sa_vtanh, ref_tanh, -1e-6, 1e-6, 1001, 0);
    CHECK(e < 2e-7, "tanh of tiny x: relative error %.3g", e);
}

static void test_edges(void)
{
    const float inf = INFINITY;
    float x[8] = {inf, -inf, NAN, 1e30f, -1e30f, 0.0f, -0.0f, 100.0f}, y[8];
    sa_vexp(y, x, 8);
    CHECK(isfinite(y[0]) && y[0] > 1e38f, "exp(inf) = %g, documented as exp(88)", y[0]);
    CHECK(y[1] == 0.0f, "exp(-inf) = %g", y[1]);
    CHECK(isnan(y[2]), "exp(NaN) = %g", y[2]);
    CHECK(y[4] == 0.0f && y[5] == 1.0f && y[6] == 1.0f, "exp(-1e30, 0, -0) = %g %g %g", y[4], y[5], y[6]);
    sa_vsigmoid(y, x, 8);
    CHECK(y[0] == 1.0f && y[1] == 0.0f && isnan(y[2]), "sigmoid(inf, -inf, NaN) = %g %g %g", y[0], y[1], y[2]);
    CHECK(y[3] == 1.0f && y[4] < 1e-37f && y[4] >= 0.0f && y[5] == 0.5f, "sigmoid(1e30, -1e30, 0) = %g %g %g",
          y[3], y[4], y[5]);
    sa_vtanh(y, x, 8);
    CHECK(y[0] == 1.0f && y[1] == -1.0f && isnan(y[2]), "tanh(inf, -inf, NaN) = %g %g %g", y[0], y[1], y[2]);
    CHECK(y[3] == 1.0f && y[4] == -1.0f && y[5] == 0.0f && y[7] == 1.0f, "tanh(±1e30, 0, 100) = %g %g %g %g",
          y[3], y[4], y[5], y[7]);
    CHECK(signbit(y[6]), "tanh(-0) keeps the sign");
    /* odd symmetry, exactly */
    for (int i = 0; i < 1000; i++) {
        float a = (float)i * 0.013f, b = -a, ya, yb;
        sa_vtanh(&ya, &a, 1);
        sa_vtanh(&yb, &b, 1);
        CHECK(ya == -yb, "tanh(%g) = %g but tanh(%g) = %g", a, ya, b, yb);
    }
}

/* every length from 0 to 70 and in place: the vector loops' remainders */
static void test_lengths_in_place(void)
{
    float x[70], y[70], z[70];
    vfn fns[3] = {sa_vexp, sa_vsigmoid, sa_vtanh};
    for (int f = 0; f < 3; f++)
        for (int n = 0; n <= 70; n++) {
            for (int i = 0; i < 70; i++)
                x[i] = z[i] = y[i] = (float)((i * 37) % 23) * 0.4f - 4.0f;
            fns[f](y, x, (size_t)n);
            fns[f](z, z, (size_t)n); /* in place */
            for (int i = 0; i < 70; i++) {
                if (i >= n)
                    CHECK(y[i] == x[i], "fn %d n %d wrote past the end at %d", f, n, i);
                CHECK(y[i] == z[i], "fn %d n %d: in place differs at %d", f, n, i);
            }
            if (n > 0) { /* the same value alone gives the same result (no lane dependence) */
                float one;
                fns[f](&one, &x[n - 1], 1);
                CHECK(one == y[n - 1], "fn %d n %d: last element depends on the length", f, n);
            }
        }
}

static void test_softmax(void)
{
    for (int n = 1; n <= 41; n += 4) {
        float x[41];
        double ref[41], mx = -1e300, s = 0;
        for (int i = 0; i < n; i++) {
            x[i] = (float)(((i * 53) % 17) - 8) * 1.7f;
            mx = x[i] > mx ? x[i] : mx;
        }
        for (int i = 0; i < n; i++)
            s += ref[i] = exp(x[i] - mx);
        sa_softmax(x, n);
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += x[i];
            CHECK(fabs(x[i] - ref[i] / s) <= 1e-6 * (ref[i] / s) + 1e-9, "softmax n %d [%d]: %g vs %g", n, i,
                  x[i], ref[i] / s);
        }
        CHECK(fabs(sum - 1.0) < 1e-6, "softmax n %d sums to %.9g", n, sum);
    }
    float big[3] = {1e30f, -1e30f, 0.0f}; /* a huge spread: exact 1 and 0s, no NaN */
    sa_softmax(big, 3);
    CHECK(big[0] == 1.0f && big[1] == 0.0f && big[2] == 0.0f, "softmax of a huge spread: %g %g %g", big[0],
          big[1], big[2]);
    sa_softmax(big, 0); /* no-op */
}

/* reductions against double sums, every length 0..70 (lane remainders) */
static void test_reductions(void)
{
    float a[70], b[70];
    for (int i = 0; i < 70; i++) {
        a[i] = (float)((i * 29) % 31) * 0.37f - 5.0f;
        b[i] = (float)((i * 11) % 19) * -0.21f + 2.0f;
    }
    a[45] = 9.5f; /* the maximum, in the lane loop for long n and absent for short n */
    for (int n = 0; n <= 70; n++) {
        double sum = 0, dot = 0, mx = -INFINITY;
        for (int i = 0; i < n; i++) {
            sum += a[i];
            dot += (double)a[i] * b[i];
            mx = a[i] > mx ? a[i] : mx;
        }
        CHECK(fabs(sa_vsum(a, (size_t)n) - sum) < 1e-5 * (1 + fabs(sum)), "vsum n %d: %g vs %g", n,
              sa_vsum(a, (size_t)n), sum);
        CHECK(fabs(sa_vdot(a, b, (size_t)n) - dot) < 1e-5 * (1 + fabs(dot)), "vdot n %d: %g vs %g", n,
              sa_vdot(a, b, (size_t)n), dot);
        CHECK(sa_vmax(a, (size_t)n) == (float)mx, "vmax n %d: %g vs %g", n, sa_vmax(a, (size_t)n), mx);
    }
}

/* y += xᵀ Wt against a double loop: block-sized, partial and tiny N */
static void test_vec_mat(void)
{
    const int Ns[] = {1, 7, 63, 64, 65, 130, 192}, Ks[] = {1, 5, 64};
    for (size_t a = 0; a < sizeof Ns / sizeof Ns[0]; a++)
        for (size_t b = 0; b < sizeof Ks / sizeof Ks[0]; b++) {
            int N = Ns[a], K = Ks[b];
            float *x = malloc(sizeof(float) * (size_t)K), *W = malloc(sizeof(float) * (size_t)(K * N));
            float *y = malloc(sizeof(float) * (size_t)(N + 1));
            for (int k = 0; k < K; k++)
                x[k] = (float)((k * 7) % 11) * 0.3f - 1.5f;
            for (int i = 0; i < K * N; i++)
                W[i] = (float)((i * 13) % 17) * 0.1f - 0.8f;
            for (int n = 0; n <= N; n++)
                y[n] = (float)n * 0.01f; /* y[N]: a guard that must stay */
            sa_vec_mat(K, N, x, W, y);
            for (int n = 0; n < N; n++) {
                double ref = n * 0.01;
                for (int k = 0; k < K; k++)
                    ref += (double)x[k] * W[(size_t)k * N + n];
                CHECK(fabs(y[n] - ref) < 1e-5 * (1 + fabs(ref)), "vec_mat K %d N %d [%d]: %g vs %g", K, N, n, y[n],
                      ref);
            }
            CHECK(y[N] == (float)N * 0.01f, "vec_mat K %d N %d wrote past the end", K, N);
            free(x);
            free(W);
            free(y);
        }
}

/* the AVX-512 and portable forms agree within 2 ulp on a dense sweep, and
 * exactly on what the contract fixes (saturation, ±0, NaN) */
static void test_forms_agree(void)
{
    enum { N = 100003 };
    float *x = malloc(N * sizeof(float)), *a = malloc(N * sizeof(float)), *b = malloc(N * sizeof(float));
    vfn fns[3] = {sa_vexp, sa_vsigmoid, sa_vtanh};
    for (int i = 0; i < N; i++)
        x[i] = -95.0f + 190.0f * (float)i / (N - 1);
    x[0] = NAN, x[1] = INFINITY, x[2] = -INFINITY, x[3] = -0.0f;
    for (int f = 0; f < 3; f++) {
        sa_vmath_avx512_enable(1);
        fns[f](a, x, N);
        sa_vmath_avx512_enable(0);
        fns[f](b, x, N);
        int worst = 0;
        for (int i = 0; i < N; i++) {
            int32_t ia, ib;
            memcpy(&ia, &a[i], 4);
            memcpy(&ib, &b[i], 4);
            int d = isnan(a[i]) && isnan(b[i]) ? 0 : abs(ia - ib);
            worst = d > worst ? d : worst;
            if (i < 4)
                CHECK(d == 0, "fn %d: forms differ at special value %d: %g vs %g", f, i, a[i], b[i]);
        }
        CHECK(worst <= 2, "fn %d: forms differ by %d ulp", f, worst);
        printf("  fn %d: AVX-512 and portable forms within %d ulp\n", f, worst);
    }
    free(x);
    free(a);
    free(b);
}

static void run_all(void)
{
    test_vec_mat();
    test_reductions();
    test_accuracy();
    test_edges();
    test_lengths_in_place();
    test_softmax();
}

int main(void)
{
    sa_vmath_avx512_enable(0);
    printf("portable loops:\n");
    run_all();
    if (sa_vmath_avx512_enable(1)) {
        printf("AVX-512 intrinsics:\n");
        run_all();
        test_forms_agree();
    } else
        printf("no AVX-512F on this CPU: the intrinsics are not exercised\n");
    printf("%s: %d failures\n", __FILE__, failures);
    return failures ? 1 : 0;
}
