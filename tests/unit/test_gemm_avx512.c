/* test_gemm_avx512.c — the AVX-512 kernel (lib/kernels/gemm_avx512.c),
 * reached through sa_head_gemm, against a double-precision reference: every
 * transposition, alpha and beta, odd sizes around the kernel's block edges
 * (12- and 4-row blocks, 16 and 32 columns, 64-column and 128-index panels,
 * 384-row blocks of A; in the packed form 96-row, 512-index, 2048-column
 * blocks), each form of the kernel (chosen per product, forced in place,
 * forced packed), leading dimensions wider than the matrices, NaN in C
 * with beta 0; B packed once and used by rows, split by columns or called
 * on row ranges (sa_gemm_bpack); the matrix-vector kernel; the product split over the thread pool (kernels/gemm_pool.c:
 * from two callers at once, with the pool warm, in a forked child); and both
 * paths (the kernel where the CPU has it, and sa_gemm). Internal kernel:
 * compiled with its source. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/internal.h"

static int failures;

static float frand(unsigned *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}

/* One product C = alpha op(A) op(B) + beta C with padded leading dimensions;
 * returns the worst error relative to Σ|terms| (so cancellation is fair). */
static double check(int tA, int tB, int M, int N, int K, float alpha, float beta, unsigned seed, int threads)
{
    int ra = tA ? K : M, ca = tA ? M : K, rb = tB ? N : K, cb = tB ? K : N;
    int lda = ca + 3, ldb = cb + 5, ldc = N + 7;
    float *A = malloc(sizeof(float) * (size_t)ra * lda), *B = malloc(sizeof(float) * (size_t)rb * ldb);
    float *C = malloc(sizeof(float) * (size_t)M * ldc), *C0 = malloc(sizeof(float) * (size_t)M * ldc);
    for (int i = 0; i < ra * lda; i++)
        A[i] = frand(&seed);
    for (int i = 0; i < rb * ldb; i++)
        B[i] = frand(&seed);
    for (int i = 0; i < M * ldc; i++)
        C0[i] = C[i] = beta == 0.0f ? NAN : frand(&seed); /* beta 0 must ignore C, NaN included */
    if (threads)
        sa_gemm_avx512_mt(threads, tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else
        sa_head_gemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    double worst = 0;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < ldc; j++) {
            float got = C[(size_t)i * ldc + j];
            if (j >= N) { /* the padding between rows is never written */
                if (!(got == C0[(size_t)i * ldc + j] || (isnan(got) && isnan(C0[(size_t)i * ldc + j])))) {
                    failures++;
                    printf("FAIL tA=%d tB=%d %dx%dx%d: padding (%d, %d) written\n", tA, tB, M, N, K, i, j);
                    worst = INFINITY;
                }
                continue;
            }
            double s = 0, mag = 0;
            for (int p = 0; p < K; p++) {
                double a = tA ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p];
                double b = tB ? B[(size_t)j * ldb + p] : B[(size_t)p * ldb + j];
                s += a * b;
                mag += fabs(a * b);
            }
            double want = alpha * s, scale = fabs(alpha) * mag + 1e-30;
            if (beta != 0.0f) {
                want += beta * (double)C0[(size_t)i * ldc + j];
                scale += fabs(beta * (double)C0[(size_t)i * ldc + j]);
            }
            double e = fabs(got - want) / scale;
            if (!(e <= worst))
                worst = e; /* NaN counts as the worst */
        }
    }
    free(A);
    free(B);
    free(C);
    free(C0);
    return worst;
}

static void sweep(const char *path)
{
    static const int sizes[][3] = {
        {2, 2, 1},     {12, 32, 1},   {13, 33, 7},    {11, 31, 5},   {25, 17, 3},  {128, 128, 32},
        {128, 32, 128}, {100, 100, 16}, {100, 16, 100}, {37, 65, 129}, {7, 130, 300}, {24, 64, 128},
        {50, 3, 20},   {3, 50, 257},  {1, 40, 9},     {40, 1, 9},   {13, 48, 5},  {12, 16, 130},
        {801, 70, 131}, /* more rows than one L2 block (384) */
        /* the packed form's blocks: 96 rows of A, 512 inner indices, 2048
         * columns of B; and a product that picks the packed form by itself */
        {197, 40, 1030}, {13, 2049, 9}, {20, 600, 530},
    };
    static const float ab[][2] = {{1.0f, 0.0f}, {0.25f, 1.0f}, {-1.5f, 0.5f}};
    unsigned seed = 7;
    double worst = 0;
    int n = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (int tA = 0; tA < 2; tA++)
            for (int tB = 0; tB < 2; tB++)
                for (size_t k = 0; k < sizeof ab / sizeof *ab; k++) {
                    double e = check(tA, tB, sizes[s][0], sizes[s][1], sizes[s][2], ab[k][0], ab[k][1], seed++, 0);
                    n++;
                    if (!(e < 1e-6)) {
                        failures++;
                        printf("FAIL %s tA=%d tB=%d %dx%dx%d alpha=%g beta=%g: error %.3g\n", path, tA, tB,
                               sizes[s][0], sizes[s][1], sizes[s][2], ab[k][0], ab[k][1], e);
                    }
                    if (e > worst)
                        worst = e;
                }
    printf("%s: %d products, worst relative error %.3g\n", path, n, worst);
}

/* sa_gemv_avx512 on rows of W against double precision: row counts around
 * its 8-row blocks, K around 16, a strided y, beta 0 over NaN; rows read
 * from the end give the same bits. */
static void gemv(void)
{
    /* rows around its 16- and 8-row blocks */
    static const int ns[] = {1, 7, 8, 9, 15, 16, 17, 25, 33, 512}, ks[] = {1, 15, 16, 17, 128, 130};
    unsigned seed = 3;
    double worst = 0;
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
        for (size_t b = 0; b < sizeof ks / sizeof *ks; b++)
            for (int v = 0; v < 3; v++) { /* y contiguous over NaN, strided, contiguous */
                int n = ns[a], K = ks[b], ldw = K + 2, incy = v == 1 ? 3 : 1;
                float alpha = v ? -0.75f : 1.0f, beta = v ? 0.5f : 0.0f;
                float *W = malloc(sizeof(float) * (size_t)n * ldw), *x = malloc(sizeof(float) * (size_t)K);
                float *y = malloc(sizeof(float) * (size_t)n * incy), *y0 = malloc(sizeof(float) * (size_t)n * incy);
                for (int i = 0; i < n * ldw; i++)
                    W[i] = frand(&seed);
                for (int i = 0; i < K; i++)
                    x[i] = frand(&seed);
                for (int i = 0; i < n * incy; i++)
                    y0[i] = y[i] = beta == 0.0f ? NAN : frand(&seed);
                /* read from the last row: the same bits as from the first */
                float *yb = malloc(sizeof(float) * (size_t)n * incy);
                memcpy(yb, y0, sizeof(float) * (size_t)n * incy);
                sa_gemv_avx512(n, K, alpha, W, ldw, x, beta, yb, incy, 1);
                sa_gemv_avx512(n, K, alpha, W, ldw, x, beta, y, incy, 0);
                if (memcmp(y, yb, sizeof(float) * (size_t)n * incy) != 0) {
                    failures++;
                    printf("FAIL gemv %dx%d incy %d: rows read from the end give other bits\n", n, K, incy);
                }
                free(yb);
                for (int i = 0; i < n * incy; i++) {
                    if (i % incy) { /* between the strided outputs: untouched */
                        if (!(y[i] == y0[i] || (isnan(y[i]) && isnan(y0[i])))) {
                            failures++;
                            printf("FAIL gemv %dx%d: y[%d] written\n", n, K, i);
                        }
                        continue;
                    }
                    int r = i / incy;
                    double s = 0, mag = 0;
                    for (int k = 0; k < K; k++) {
                        s += (double)W[(size_t)r * ldw + k] * x[k];
                        mag += fabs((double)W[(size_t)r * ldw + k] * x[k]);
                    }
                    double want = alpha * s + (beta != 0.0f ? beta * (double)y0[i] : 0.0);
                    double e = fabs(y[i] - want) / (fabs(alpha) * mag + fabs(beta * (double)y0[i]) + 1e-30);
                    if (!(e <= worst))
                        worst = e;
                }
                free(W);
                free(x);
                free(y);
                free(y0);
            }
    if (!(worst < 1e-6)) {
        failures++;
        printf("FAIL gemv: worst relative error %.3g\n", worst);
    }
    printf("gemv kernel: worst relative error %.3g\n", worst);
}

/* sa_vecmat_avx512 (y = beta y + alpha xᵀW) against double precision:
 * column counts around its 16-wide vectors and 128-wide blocks, K odd and
 * even (its two interleaved sums), beta 0 over NaN; y past N untouched; the
 * blocks taken from the end give the same bits. */
static void vecmat(void)
{
    static const int ns[] = {1, 15, 16, 17, 64, 127, 128, 129, 200, 512}, ks[] = {1, 2, 3, 16, 17, 192, 1536};
    unsigned seed = 11;
    double worst = 0;
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
        for (size_t b = 0; b < sizeof ks / sizeof *ks; b++)
            for (int v = 0; v < 2; v++) {
                int N = ns[a], K = ks[b], ldw = N + 3, pad = 5;
                float alpha = v ? -0.75f : 1.0f, beta = v ? 0.5f : 0.0f;
                float *W = malloc(sizeof(float) * (size_t)K * ldw), *x = malloc(sizeof(float) * (size_t)K);
                float *y = malloc(sizeof(float) * (size_t)(N + pad)), *yb = malloc(sizeof(float) * (size_t)(N + pad));
                float *y0 = malloc(sizeof(float) * (size_t)(N + pad));
                for (int i = 0; i < K * ldw; i++)
                    W[i] = frand(&seed);
                for (int i = 0; i < K; i++)
                    x[i] = frand(&seed);
                for (int i = 0; i < N + pad; i++)
                    y0[i] = y[i] = yb[i] = beta == 0.0f || i >= N ? NAN : frand(&seed);
                sa_vecmat_avx512(K, N, alpha, x, W, ldw, beta, y, 0);
                sa_vecmat_avx512(K, N, alpha, x, W, ldw, beta, yb, 1);
                if (memcmp(y, yb, sizeof(float) * (size_t)N) != 0) {
                    failures++;
                    printf("FAIL vecmat %dx%d: blocks from the end give other bits\n", K, N);
                }
                for (int j = N; j < N + pad; j++)
                    if (!isnan(y[j]) || !isnan(yb[j])) {
                        failures++;
                        printf("FAIL vecmat %dx%d: y[%d] past the end written\n", K, N, j);
                        break;
                    }
                for (int j = 0; j < N; j++) {
                    double s = 0, mag = 0;
                    for (int k = 0; k < K; k++) {
                        s += (double)x[k] * W[(size_t)k * ldw + j];
                        mag += fabs((double)x[k] * W[(size_t)k * ldw + j]);
                    }
                    double want = alpha * s + (beta != 0.0f ? beta * (double)y0[j] : 0.0);
                    double e = fabs(y[j] - want) / (fabs(alpha) * mag + fabs(beta * (double)y0[j]) + 1e-30);
                    if (!(e <= worst))
                        worst = e;
                }
                free(W), free(x), free(y), free(yb), free(y0);
            }
    if (!(worst < 1e-6)) {
        failures++;
        printf("FAIL vecmat: worst relative error %.3g\n", worst);
    }
    printf("vecmat kernel: worst relative error %.3g\n", worst);
}

/* The product split over the pool: by columns (N >= 128) and by rows, more
 * threads than parts, uneven parts. */
static double threaded_sweep(unsigned seed)
{
    static const int sizes[][4] = {
        {2, 13, 300, 17}, {3, 13, 300, 17}, {2, 50, 40, 33},   {3, 25, 31, 9},
        {16, 7, 129, 5},  {2, 1000, 64, 40}, {4, 130, 200, 130},
        /* more rows than columns: split by rows in the packed form */
        {2, 700, 130, 50}, {3, 301, 257, 20},
    };
    double worst = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (int tA = 0; tA < 2; tA++)
            for (int tB = 0; tB < 2; tB++) {
                double e = check(tA, tB, sizes[s][1], sizes[s][2], sizes[s][3], 0.5f, 1.0f, seed++, sizes[s][0]);
                if (!(e <= worst))
                    worst = e;
            }
    return worst;
}

/* Two callers at once: one of them finds the pool busy and runs alone. */
static void *caller(void *arg)
{
    double *worst = arg;
    for (int i = 0; i < 20; i++) {
        double e = threaded_sweep(1000u + (unsigned)i);
        if (!(e <= *worst))
            *worst = e;
    }
    return NULL;
}

static void threaded(void)
{
    double e = threaded_sweep(99);
    if (!(e < 1e-6)) {
        failures++;
        printf("FAIL threaded kernel: error %.3g\n", e);
    }
    double w[2] = {0, 0};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, caller, &w[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    if (!(w[0] < 1e-6 && w[1] < 1e-6)) {
        failures++;
        printf("FAIL threaded kernel, two callers: errors %.3g %.3g\n", w[0], w[1]);
    }
    /* warm: the workers spin between jobs */
    sa_pool_warm(3);
    double hot = threaded_sweep(7);
    sa_pool_cool();
    if (!(hot < 1e-6)) {
        failures++;
        printf("FAIL threaded kernel, warm pool: error %.3g\n", hot);
    }
    /* a child of fork() has none of the parent's workers: it starts its own */
    pid_t pid = fork();
    if (pid == 0)
        _exit(threaded_sweep(5) < 1e-6 ? 0 : 1);
    int status = -1;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        failures++;
        printf("FAIL threaded kernel in a forked child: status %d\n", status);
    }
    printf("threaded kernel: worst relative error %.3g alone, %.3g / %.3g with two callers, %.3g warm; "
           "forked child %s\n",
           e, w[0], w[1], hot, status == 0 ? "OK" : "failed");
}

/* W packed once (sa_gemm_bpack, into exactly sa_gemm_bpack_floats(N, K)
 * floats) and used by sa_gemm_bpacked_rows, by its split over 2 and 3
 * threads (columns) and by two calls on row ranges: each must give the bits
 * of the packed form on B as stored (itself checked against double precision
 * in the sweeps). Sizes around the blocks: 2048 columns, 512 inner indices,
 * 96 rows, 32-column panels. */
static void prepacked(void)
{
    static const int sizes[][3] = {{2, 33, 1}, {5, 37, 9}, {13, 530, 513}, {97, 2100, 40}, {20, 64, 1030}, {40, 512, 512}};
    static const float ab[][2] = {{1.0f, 0.0f}, {-1.5f, 0.5f}};
    unsigned seed = 99;
    int n = 0, bad = 0;
    sa_gemm_avx512_form(1);
    for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++)
        for (int tA = 0; tA < 2; tA++)
            for (int tB = 0; tB < 2; tB++)
                for (size_t k = 0; k < sizeof ab / sizeof *ab; k++) {
                    int M = sizes[z][0], N = sizes[z][1], K = sizes[z][2];
                    int ra = tA ? K : M, ca = tA ? M : K, rb = tB ? N : K, cb = tB ? K : N;
                    int lda = ca + 3, ldb = cb + 5, ldc = N + 7;
                    size_t cn = (size_t)M * ldc;
                    float *A = malloc(sizeof(float) * (size_t)ra * lda), *B = malloc(sizeof(float) * (size_t)rb * ldb);
                    float *Bpk = malloc(sizeof(float) * sa_gemm_bpack_floats(N, K));
                    float *C0 = malloc(sizeof(float) * cn), *want = malloc(sizeof(float) * cn),
                          *got = malloc(sizeof(float) * cn);
                    for (size_t i = 0; i < (size_t)ra * lda; i++)
                        A[i] = frand(&seed);
                    for (size_t i = 0; i < (size_t)rb * ldb; i++)
                        B[i] = frand(&seed);
                    for (size_t i = 0; i < cn; i++)
                        C0[i] = frand(&seed);
                    memcpy(want, C0, sizeof(float) * cn);
                    sa_gemm_avx512(tA, tB, M, N, K, ab[k][0], A, lda, B, ldb, ab[k][1], want, ldc);
                    sa_gemm_bpack(tB, N, K, B, ldb, Bpk);
                    sa_gemm_bp p = {tA, tB, N, K, lda, ldb, ldc, ab[k][0], ab[k][1], Bpk, B};
                    for (int way = 0; way < 4; way++) {
                        memcpy(got, C0, sizeof(float) * cn);
                        if (way == 0)
                            sa_gemm_bpacked_rows(&p, M, A, got);
                        else if (way <= 2)
                            sa_gemm_bpacked_mt(way + 1, &p, M, A, got);
                        else { /* rows 0 .. m1 − 1, then the rest */
                            int m1 = M / 2;
                            sa_gemm_bpacked_rows(&p, m1, A, got);
                            sa_gemm_bpacked_rows(&p, M - m1, tA ? A + m1 : A + (size_t)m1 * lda, got + (size_t)m1 * ldc);
                        }
                        n++;
                        if (memcmp(got, want, sizeof(float) * cn) != 0) {
                            bad++;
                            failures++;
                            printf("FAIL prepacked tA=%d tB=%d %dx%dx%d alpha=%g beta=%g way %d: not the packed form's bits\n",
                                   tA, tB, M, N, K, ab[k][0], ab[k][1], way);
                        }
                    }
                    free(A), free(B), free(Bpk), free(C0), free(want), free(got);
                }
    sa_gemm_avx512_form(-1);
    printf("prepacked B: %d products, %d not bit-identical to the packed form\n", n, bad);
}

int main(void)
{
    int simd = sa_gemm_avx512_enable(1);
    printf("AVX-512 kernel: %s\n", simd ? "available" : "not on this CPU (sa_gemm only)");
    if (simd) {
        sweep("kernel");
        sa_gemm_avx512_form(0);
        sweep("kernel, in place");
        sa_gemm_avx512_form(1);
        sweep("kernel, packed");
        threaded(); /* each worker packs into its own space */
        sa_gemm_avx512_form(-1);
        prepacked();
        gemv();
        vecmat();
        threaded();
    }
    if (sa_gemm_avx512_enable(0) != 0 || sa_gemm_avx512_ok() != 0) {
        failures++;
        printf("FAIL: sa_gemm_avx512_enable(0) did not turn the kernel off\n");
    }
    sweep("sa_gemm");
    printf("%s\n", failures ? "FAILED" : "OK");
    return failures ? 1 : 0;
}
