/* test_gemm.c — sa_gemm (lib/kernels/gemm.c) against a naive product for every
 * transpose combination, padded strides, the matrix-vector routes (M = 1,
 * N = 1), K = 0, and beta = 0 over a C full of NaN (which must be ignored).
 * Internal kernel: compiled into the test from source, linked to the CBLAS. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../lib/internal.h"

static int failures, cases;

static float val(int i, int j, int salt) { return (float)(((i * 31 + j * 17 + salt * 7) % 13) - 6) * 0.25f; }

static void one(int tA, int tB, int M, int N, int K, float alpha, float beta, int pad)
{
    /* op(A) is (M, K), op(B) is (K, N); stored with row strides padded by pad */
    int ar = tA ? K : M, ac = tA ? M : K, br = tB ? N : K, bc = tB ? K : N;
    int lda = ac + pad, ldb = bc + pad, ldc = N + pad;
    float *A = malloc(sizeof(float) * (size_t)(ar * lda + 1)), *B = malloc(sizeof(float) * (size_t)(br * ldb + 1));
    float *C = malloc(sizeof(float) * (size_t)(M * ldc + 1));
    for (int i = 0; i < ar * lda; i++)
        A[i] = val(i / lda, i % lda, 1);
    for (int i = 0; i < br * ldb; i++)
        B[i] = val(i / ldb, i % ldb, 2);
    for (int i = 0; i < M * ldc; i++)
        C[i] = beta == 0.0f ? NAN : val(i / ldc, i % ldc, 3);
    float *C0 = malloc(sizeof(float) * (size_t)(M * ldc + 1));
    for (int i = 0; i < M * ldc; i++)
        C0[i] = C[i];
    sa_gemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    cases++;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldc; j++) {
            float got = C[i * ldc + j];
            if (j >= N) { /* padding columns untouched */
                if (!(got == C0[i * ldc + j] || (isnan(got) && isnan(C0[i * ldc + j])))) {
                    failures++;
                    printf("FAIL tA %d tB %d %dx%dx%d: padding (%d,%d) changed\n", tA, tB, M, N, K, i, j);
                }
                continue;
            }
            double ref = beta == 0.0f ? 0.0 : (double)beta * C0[i * ldc + j];
            for (int k = 0; k < K; k++) {
                float a = tA ? A[k * lda + i] : A[i * lda + k];
                float b = tB ? B[j * ldb + k] : B[k * ldb + j];
                ref += (double)alpha * a * b;
            }
            if (!(fabs(got - ref) <= 1e-4 * (1 + fabs(ref)))) {
                failures++;
                if (failures < 20)
                    printf("FAIL tA %d tB %d %dx%dx%d alpha %g beta %g pad %d: C(%d,%d) = %g, want %g\n", tA, tB,
                           M, N, K, alpha, beta, pad, i, j, got, ref);
            }
        }
    free(A);
    free(B);
    free(C);
    free(C0);
}

int main(void)
{
    const int shapes[][3] = {{1, 1, 1}, {1, 7, 5}, {5, 1, 7}, {1, 33, 64}, {33, 1, 64}, {4, 6, 3},
                             {17, 9, 1}, {1, 1, 9}, {3, 5, 0}, {1, 4, 0}};
    const float betas[] = {0.0f, 1.0f, 0.5f};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int tA = 0; tA < 2; tA++)
            for (int tB = 0; tB < 2; tB++)
                for (int bi = 0; bi < 3; bi++)
                    for (int pad = 0; pad < 3; pad += 2)
                        one(tA, tB, shapes[s][0], shapes[s][1], shapes[s][2], bi == 2 ? -1.5f : 1.0f, betas[bi],
                            pad);
    printf("%s: %d cases, %d failures\n", __FILE__, cases, failures);
    return failures ? 1 : 0;
}
