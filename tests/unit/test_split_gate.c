/* test_split_gate.c — when a model call may split its large products over
 * the GEMM pool (lib/kernels/blas_threads.c): a kind of call not yet
 * measured may; then only if its previous call spent at least 30 % of its
 * one-thread time in large products; every call measures that share into
 * the model's record; outside a model call a product may always split.
 * Drives the scope directly, as a model call does, with products simulated
 * by sa_blas_scope_large and time by busy waits. Internal API: compiled with
 * its source. Skipped (77) where the pool is not used (no AVX-512, OpenBLAS
 * on its AVX-512 kernels, or no OpenBLAS thread control). */
#include <stdio.h>

#include "../../lib/internal.h"

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        failures++;
        printf("FAIL %s\n", what);
    }
}

static void busy_ns(long long ns)
{
    long long t0 = sa_blas_clock_ns();
    while (sa_blas_clock_ns() - t0 < ns)
        ;
}

/* One model call of 4 ms of which `large_ms` are a large product on one
 * thread; @return whether the scope allowed a split */
static int call(sa_split_record *rec, double large_ms)
{
    sa_blas_scope_begin(2, rec);
    int may = sa_blas_scope_split();
    busy_ns((long long)((4.0 - large_ms) * 1e6));
    long long t0 = sa_blas_clock_ns();
    busy_ns((long long)(large_ms * 1e6));
    sa_blas_scope_large(sa_blas_clock_ns() - t0, 1);
    sa_blas_scope_end();
    return may;
}

int main(void)
{
    if (!sa_blas_threads_settable() || !sa_gemm_avx512_ok() || sa_blas_has_avx512()) {
        printf("SKIP: products do not go to seqattn's pool here\n");
        return 77;
    }
    check(sa_blas_scope_split() == 1, "outside a model call a product may split");

    sa_split_record light = {0};
    check(call(&light, 0.4) == 1, "a kind of call not yet measured may split");
    check(light.known == 1, "the call measured its share");
    check(light.share > 0.05f && light.share < 0.2f, "share of 0.4 ms in 4 ms is about 0.1");
    check(call(&light, 0.4) == 0, "a light kind of call does not split");

    sa_split_record heavy = {0};
    call(&heavy, 3.0);
    check(heavy.share > 0.6f && heavy.share <= 1.0f, "share of 3 ms in 4 ms is about 0.75");
    check(call(&heavy, 3.0) == 1, "a heavy kind of call splits");
    /* a large product split over 2 threads counts twice its time: 1.5 ms
     * on 2 threads in a 2.5 ms call is 3 ms of 4 on one thread */
    sa_blas_scope_begin(2, &heavy);
    busy_ns(1000000);
    long long t0 = sa_blas_clock_ns();
    busy_ns(1500000);
    sa_blas_scope_large(sa_blas_clock_ns() - t0, 2);
    sa_blas_scope_end();
    check(heavy.share > 0.6f && heavy.share < 0.9f, "a split product's one-thread share");
    float heavy_share = heavy.share;

    /* a call with a single thread never splits, and a NULL record is allowed */
    sa_blas_scope_begin(1, &heavy);
    check(sa_blas_scope_split() == 0, "one thread does not split");
    sa_blas_scope_end();
    sa_blas_scope_begin(2, NULL);
    check(sa_blas_scope_split() == 1, "a call without a record may split");
    sa_blas_scope_end();

    printf("shares: light %.3f, heavy %.3f\n", light.share, heavy_share);
    printf("%s\n", failures ? "FAILED" : "OK");
    return failures ? 1 : 0;
}
