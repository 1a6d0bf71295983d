/* test_split_gate.c — when a model call may split its large products over
 * the GEMM pool (lib/kernels/blas_threads.c): a kind of call not yet
 * measured may; then only if its previous call spent at least 30 % of its
 * one-thread time in large products; every call measures that share into
 * the model's record; outside a model call a product may always split.
 * Drives the scope directly, as a model call does, with products reported
 * through sa_blas_scope_large and calls lasting busy waits. Internal API: compiled with
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

/* One model call lasting at least 40 ms, reporting a large product of
 * `large_ms` on one thread (reported, not waited for, so that preemption by
 * the tests running alongside can only lengthen the call and lower the
 * share); @return whether the scope allowed a split */
static int call(sa_split_record *rec, double large_ms)
{
    sa_blas_scope_begin(2, rec);
    int may = sa_blas_scope_split();
    busy_ns(40000000);
    sa_blas_scope_large((long long)(large_ms * 1e6), 1);
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
    check(call(&light, 4.0) == 1, "a kind of call not yet measured may split");
    check(light.known == 1, "the call measured its share");
    check(light.share > 0.0f && light.share <= 0.1f, "share of 4 ms in 40 ms is at most 0.1");
    check(call(&light, 4.0) == 0, "a light kind of call does not split");

    sa_split_record heavy = {0};
    call(&heavy, 36.0);
    check(heavy.share > 0.3f && heavy.share <= 0.9f, "share of 36 ms in 40 ms: at most 0.9");
    check(call(&heavy, 36.0) == 1, "a heavy kind of call splits");
    /* a large product split over 2 threads counts twice its time: 15 ms on
     * 2 threads in a 25 ms call is 30 ms of 40 on one thread */
    sa_blas_scope_begin(2, &heavy);
    busy_ns(25000000);
    sa_blas_scope_large(15000000, 2);
    sa_blas_scope_end();
    check(heavy.share > 0.3f && heavy.share <= 0.75f, "a split product's one-thread share: at most 0.75");
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
