/* gemm.c — every matrix product: the one place that calls CBLAS, and where
 * a product goes to our AVX-512 kernel instead (gemm_avx512.c). */
#include <cblas.h>
#include <string.h>

#include "../internal.h"

#define SA_POOL_SPLIT_MACS (1.0 * (1 << 25))

/* A product with one row or one column is a matrix-vector product, and
 * OpenBLAS's sgemm is slow there (its small-matrix kernel: 7.6 GFLOP/s on
 * 1×1536×512 against 38 for sgemv, docs/performance.md). This is every
 * recurrent step at batch 1. */
static void gemv(int own, int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc)
{
    /* Dot products along contiguous rows with a contiguous vector go to our
     * AVX-512 kernel where it runs the GEMMs: OpenBLAS's AVX2 sgemv took
     * 4.8 µs on the decoder's 512×128 step (seq2seq at B 1). */
    if (own && M == 1 && transB && !transA) {
        sa_gemv_avx512(N, K, alpha, B, ldb, A, beta, C, 1, 0);
        return;
    }
    if (own && N == 1 && !transA && transB) {
        sa_gemv_avx512(M, K, alpha, A, lda, B, beta, C, ldc, 0);
        return;
    }
    /* and a contiguous row times B as stored (a dense layer's dX at one
     * sample): OpenBLAS's transposed sgemv was a quarter of a GRU(512)
     * training step at B 1 */
    if (own && M == 1 && !transA && !transB) {
        sa_vecmat_avx512(K, N, alpha, A, B, ldb, beta, C, 0);
        return;
    }
    /* beta == 0 must ignore C's old contents, NaN included: clear it first
     * rather than rely on the BLAS's scaling by 0 */
    if (beta == 0.0f) {
        if (M == 1)
            memset(C, 0, (size_t)N * sizeof(float));
        else
            for (int i = 0; i < M; i++)
                C[(size_t)i * ldc] = 0.0f;
    }
    if (M == 1) { /* C[0, :] = alpha · x op(B) + beta · C, x the single row of op(A) */
        int incx = transA ? lda : 1;
        if (transB) /* op(B) = Bᵀ, B is (N, K): y = B x */
            cblas_sgemv(CblasRowMajor, CblasNoTrans, N, K, alpha, B, ldb, A, incx, beta, C, 1);
        else        /* B is (K, N): y = Bᵀ x */
            cblas_sgemv(CblasRowMajor, CblasTrans, K, N, alpha, B, ldb, A, incx, beta, C, 1);
        return;
    }
    /* N == 1: C[:, 0] = alpha · op(A) b + beta · C, b the single column of op(B) */
    int incb = transB ? 1 : ldb;
    if (transA) /* A is (K, M) */
        cblas_sgemv(CblasRowMajor, CblasTrans, K, M, alpha, A, lda, B, incb, beta, C, ldc);
    else        /* A is (M, K) */
        cblas_sgemv(CblasRowMajor, CblasNoTrans, M, K, alpha, A, lda, B, incb, beta, C, ldc);
}

void sa_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0) { /* BLAS leaves C alone for K == 0 only when beta == 1 */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
                C[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[(size_t)i * ldc + j];
        return;
    }
    /* With our kernel in use the model's threads are its pool's: OpenBLAS's
     * matrix-vector products then stay on one thread, because its threads
     * spin (sched_yield) after each threaded call and would hold the second
     * core from the pool's worker (a gru_attn B 64 training step took 6.8 ms
     * on 2 threads against 3.3 on 1 that way). */
    int own = sa_gemm_avx512_ok() && !sa_blas_has_avx512();
    int threads = sa_blas_threads_for(M, N, K, own && (M == 1 || N == 1));
    if (M == 1 || N == 1) {
        gemv(own, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    /* Where the BLAS runs AVX-512 kernels itself they are as fast or faster
     * (SkylakeX: 0.76–1.1× ours), so it keeps those products. */
    if (own) {
        /* The pool's workers spin through a call once it splits anything,
         * which slowed the calling thread by 5–10 % on the 2-vCPU VM; a split
         * pays that back from about 2^25 multiply-adds (0.2 ms on one
         * thread): a GRU(64) step at batch 64 never splits, a GRU(512) step
         * at batch 64 does. */
        if (threads > 1 && (double)M * N * K >= SA_POOL_SPLIT_MACS) {
            /* timed: the call's record of how much its large products weigh */
            long long t0 = sa_blas_clock_ns();
            int parts = sa_blas_scope_split() ? threads : 1;
            if (parts > 1)
                sa_gemm_avx512_mt(threads, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
            else
                sa_gemm_avx512(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
            sa_blas_scope_large(sa_blas_clock_ns() - t0, parts);
        } else
            sa_gemm_avx512(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void sa_gemm_bpacked(const sa_gemm_bp *p, int M, const float *A, float *C)
{
    /* sa_gemm's rule for splitting and timing; only our kernel gets here */
    int threads = sa_blas_threads_for(M, p->N, p->K, 0);
    if (threads > 1 && (double)M * p->N * p->K >= SA_POOL_SPLIT_MACS) {
        long long t0 = sa_blas_clock_ns();
        int parts = sa_blas_scope_split() ? threads : 1;
        sa_gemm_bpacked_mt(parts, p, M, A, C);
        sa_blas_scope_large(sa_blas_clock_ns() - t0, parts);
    } else
        sa_gemm_bpacked_rows(p, M, A, C);
}

void sa_head_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc)
{
    /* one row or column is sgemv's; K == 0 needs sa_gemm's exact beta */
    if (M > 1 && N > 1 && K > 0 && sa_gemm_avx512_ok()) {
        sa_gemm_avx512(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    sa_gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
