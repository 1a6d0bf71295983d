/* sgemm_bench.c — the machine's reference rate: cblas_sgemm on one shape.
 *
 * Usage: sgemm_bench M N K [min_time_s]
 * Times C (M x N) = A (M x K) · Bᵀ (B stored N x K, row-major: the x Wᵀ of a
 * layer, as seqattn calls it) with beta = 1, call by call, for at least
 * min_time seconds (default 0.5) after a warm-up, and prints one JSON line
 * with the median time and GFLOP/s = 2 M N K / median. Threads come from
 * OPENBLAS_NUM_THREADS, as for the runners. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: sgemm_bench M N K [min_time_s]\n");
        return 2;
    }
    int M = atoi(argv[1]), N = atoi(argv[2]), K = atoi(argv[3]);
    double min_time = argc > 4 ? atof(argv[4]) : 0.5;
    if (M < 1 || N < 1 || K < 1)
        return fprintf(stderr, "sgemm_bench: sizes must be >= 1\n"), 2;
    size_t na = (size_t)M * K, nb = (size_t)N * K, nc = (size_t)M * N;
    float *A = malloc(na * sizeof(float)), *B = malloc(nb * sizeof(float)), *C = calloc(nc, sizeof(float));
    if (!A || !B || !C)
        return fprintf(stderr, "sgemm_bench: out of memory\n"), 1;
    for (size_t i = 0; i < na; i++)
        A[i] = (float)((i * 7919u) % 1000u) / 1000.0f - 0.5f;
    for (size_t i = 0; i < nb; i++)
        B[i] = (float)((i * 104729u) % 1000u) / 1000.0f - 0.5f;
    /* alternate beta 1 / -1 so C stays bounded however many calls run */
    float beta = 1.0f;
    double t0 = bu_now();
    while (bu_now() - t0 < min_time / 4) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1e-3f, A, K, B, K, beta, C, N);
        beta = -beta;
    }
    size_t cap = 1u << 22, n = 0;
    double *ms = malloc(cap * sizeof(double));
    t0 = bu_now();
    while (n < cap && (n < 5 || bu_now() - t0 < min_time)) {
        double a = bu_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1e-3f, A, K, B, K, beta, C, N);
        ms[n++] = 1e3 * (bu_now() - a);
        beta = -beta;
    }
    double med = bu_quantile(ms, n, 0.5);
    printf("{\"impl\": \"sgemm\", \"M\": %d, \"N\": %d, \"K\": %d, \"blas_threads\": %d, \"iters\": %zu, "
           "\"median_ms\": %.6f, \"gflops\": %.3f, \"check\": %g, \"blas\": \"%s\"}\n",
           M, N, K, bu_blas_threads(), n, med, 2.0 * M * N * K / (med * 1e6), (double)C[0], bu_blas_config());
    free(A);
    free(B);
    free(C);
    free(ms);
    return 0;
}
