/* bench_util.c — see bench_util.h. */
#define _POSIX_C_SOURCE 200809L
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* weak: resolved when the process has OpenBLAS loaded (through libseqattn or directly) */
extern int openblas_get_num_threads(void) __attribute__((weak));
extern char *openblas_get_config(void) __attribute__((weak));
extern char *openblas_get_corename(void) __attribute__((weak));

double bu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double bu_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bu_quantile(double *v, size_t n, double q)
{
    if (n == 0)
        return 0.0;
    qsort(v, n, sizeof *v, cmp_double);
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    if (i + 1 >= n)
        return v[n - 1];
    return v[i] + (pos - (double)i) * (v[i + 1] - v[i]);
}

long bu_status_kb(const char *field)
{
    long kb = -1;
    size_t len = strlen(field);
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f))
            if (strncmp(line, field, len) == 0 && line[len] == ':') {
                kb = strtol(line + len + 1, NULL, 10);
                break;
            }
        fclose(f);
    }
    if (kb < 0 && strcmp(field, "VmHWM") == 0) {
        struct rusage ru;
        if (getrusage(RUSAGE_SELF, &ru) == 0)
            kb = ru.ru_maxrss; /* kB on Linux */
    }
    return kb;
}

int bu_blas_threads(void)
{
    return openblas_get_num_threads ? openblas_get_num_threads() : -1;
}

const char *bu_blas_config(void)
{
    static char buf[256];
    if (!openblas_get_config)
        return "unknown";
    snprintf(buf, sizeof buf, "%s / core %s", openblas_get_config(),
             openblas_get_corename ? openblas_get_corename() : "?");
    return buf;
}
