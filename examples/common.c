/* common.c — error reporting and timing shared by the examples (common.h). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_gettime(); set here so the file builds outside meson too */
#endif
#include "common.h"
#include "results.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *program = "example";

void ex_set_program(const char *name)
{
    program = name;
}

void ex_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", program);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(EXIT_FAILURE);
}

void ex_check(sa_status s, const char *what)
{
    if (s == SA_OK)
        return;
    /* The message is only valid until the next seqattn call: copy it first. */
    char msg[512];
    snprintf(msg, sizeof msg, "%s", sa_last_error());
    ex_die("%s failed: %s: %s", what, sa_status_str(s), msg);
}

sa_model *ex_model_create(sa_graph *g, uint64_t seed, const char *what)
{
    sa_status s = sa_graph_status(g);
    if (s != SA_OK)
        ex_die("building the %s graph failed: %s: %s", what, sa_status_str(s), sa_graph_errmsg(g));
    sa_model_options mo = sa_model_options_default();
    mo.seed = seed;
    sa_model *m = NULL;
    ex_check(sa_model_create(g, &mo, &m), "sa_model_create");
    sa_graph_free(g);
    return m;
}

double ex_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

unsigned long long ex_parse_u64(const char *s, const char *flag, unsigned long long lo,
                                unsigned long long hi)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    /* strtoull accepts "-1" as a huge value: refuse a sign explicitly */
    if (errno || end == s || *end != '\0' || s[0] == '-' || v < lo || v > hi)
        ex_die("%s needs an integer in %llu..%llu, got '%s'", flag, lo, hi, s);
    return v;
}

void ex_make_out_dir(const char *dir)
{
    if (res_mkdir_p(dir) != 0)
        ex_die("cannot create the output directory '%s': %s", dir, strerror(errno));
}

void ex_parse_args(int argc, char **argv, const char *usage, const char *default_out, ex_args *a)
{
    *a = (ex_args){0, 1, default_out, 0};
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--quick")) {
            a->quick = 1;
        } else if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            fputs(usage, stdout);
            exit(EXIT_SUCCESS);
        } else if (i + 1 < argc && !strcmp(s, "--seed")) {
            a->seed = ex_parse_u64(argv[++i], "--seed", 0, 1ull << 40);
        } else if (i + 1 < argc && !strcmp(s, "--out")) {
            a->out_dir = argv[++i];
        } else if (i + 1 < argc && !strcmp(s, "--epochs")) {
            a->epochs = (int32_t)ex_parse_u64(argv[++i], "--epochs", 1, 100000);
        } else {
            fputs(usage, stderr);
            ex_die("unknown or incomplete argument '%s'", s);
        }
    }
    ex_make_out_dir(a->out_dir);
}
