/* bench_util.h — timing, order statistics and memory readings shared by the
 * C runners (sa_bench.c, sgemm_bench.c). */
#ifndef SA_BENCH_UTIL_H
#define SA_BENCH_UTIL_H

#include <stddef.h>

/* monotonic wall clock, seconds */
double bu_now(void);
/* CPU time of the whole process (all threads), seconds */
double bu_cpu(void);

/* Sorts v[0..n) in place and returns its q-quantile (0 <= q <= 1, linear
 * interpolation, as numpy's default); 0 for n == 0. */
double bu_quantile(double *v, size_t n, double q);

/* A field of /proc/self/status in kB ("VmHWM", "VmRSS"); falls back to
 * getrusage's ru_maxrss for VmHWM; -1 when unknown. */
long bu_status_kb(const char *field);

/* OpenBLAS's thread count (openblas_get_num_threads), -1 for another BLAS */
int bu_blas_threads(void);

/* openblas_get_config() + openblas_get_corename() ("OpenBLAS 0.3.21 ... / Zen"),
 * or "unknown" for another BLAS; a static buffer */
const char *bu_blas_config(void);

#endif
