/* testutil.h — tiny assertion helpers and a seeded generator for the C unit tests.
 *
 * CHECK* macros record a failure (file:line, the expression, and the library's
 * sa_last_error() so a failing status explains itself) and carry on, so one run
 * shows every broken check. REQUIRE* macros are for set-up steps whose failure
 * makes the rest of the test meaningless: they report and exit(1).
 * A test's main() ends with `return tu_report();`, non-zero on any failure. */
#ifndef SEQATTN_TESTUTIL_H
#define SEQATTN_TESTUTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seqattn/seqattn.h"

/* one translation unit per test executable, so file-scope state is enough */
static int tu_checks;
static int tu_failures;

static inline void tu_fail_at(const char *file, int line, const char *what)
{
    tu_failures++;
    const char *err = sa_last_error();
    fprintf(stderr, "%s:%d: FAILED: %s%s%s\n", file, line, what, err[0] ? " | sa_last_error: " : "", err);
}

#define CHECK(cond)                                                                                    \
    do {                                                                                               \
        tu_checks++;                                                                                   \
        if (!(cond))                                                                                   \
            tu_fail_at(__FILE__, __LINE__, "CHECK(" #cond ")");                                        \
    } while (0)

/* A status-returning call that must give SA_OK; prints the status name. */
#define CHECK_OK(expr)                                                                                 \
    do {                                                                                               \
        tu_checks++;                                                                                   \
        sa_status tu_s_ = (expr);                                                                      \
        if (tu_s_ != SA_OK) {                                                                          \
            fprintf(stderr, "%s:%d: %s returned %s\n", __FILE__, __LINE__, #expr, sa_status_str(tu_s_)); \
            tu_fail_at(__FILE__, __LINE__, "CHECK_OK");                                                \
        }                                                                                              \
    } while (0)

/* A call that must fail with one specific status. */
#define CHECK_STATUS(expr, want)                                                                       \
    do {                                                                                               \
        tu_checks++;                                                                                   \
        sa_status tu_s_ = (expr);                                                                      \
        if (tu_s_ != (want)) {                                                                         \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s\n", __FILE__, __LINE__, #expr,         \
                    sa_status_str(tu_s_), sa_status_str(want));                                        \
            tu_fail_at(__FILE__, __LINE__, "CHECK_STATUS");                                            \
        }                                                                                              \
    } while (0)

/* |a - b| <= tol, with both values printed on failure. */
#define CHECK_NEAR(a, b, tol)                                                                          \
    do {                                                                                               \
        tu_checks++;                                                                                   \
        double tu_a_ = (double)(a), tu_b_ = (double)(b);                                               \
        if (!(fabs(tu_a_ - tu_b_) <= (double)(tol))) {                                                 \
            fprintf(stderr, "%s:%d: %s = %.9g, %s = %.9g, |diff| = %.3g > %.3g\n", __FILE__, __LINE__, \
                    #a, tu_a_, #b, tu_b_, fabs(tu_a_ - tu_b_), (double)(tol));                         \
            tu_fail_at(__FILE__, __LINE__, "CHECK_NEAR");                                              \
        }                                                                                              \
    } while (0)

#define REQUIRE(cond)                                                                                  \
    do {                                                                                               \
        if (!(cond)) {                                                                                 \
            tu_fail_at(__FILE__, __LINE__, "REQUIRE(" #cond ")");                                      \
            exit(1);                                                                                   \
        }                                                                                              \
    } while (0)

#define REQUIRE_OK(expr)                                                                               \
    do {                                                                                               \
        sa_status tu_s_ = (expr);                                                                      \
        if (tu_s_ != SA_OK) {                                                                          \
            fprintf(stderr, "%s:%d: %s returned %s\n", __FILE__, __LINE__, #expr, sa_status_str(tu_s_)); \
            tu_fail_at(__FILE__, __LINE__, "REQUIRE_OK");                                              \
            exit(1);                                                                                   \
        }                                                                                              \
    } while (0)

static inline int tu_report(void)
{
    fprintf(stderr, "%d checks, %d failed\n", tu_checks, tu_failures);
    return tu_failures ? 1 : 0;
}

/* Seeded generator (splitmix64) for test data: independent of the library's own
 * generator, so the tests do not share a bug with it. */
typedef struct tu_rng { uint64_t s; } tu_rng;

static inline uint64_t tu_next(tu_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* uniform in [lo, hi) */
static inline float tu_uniform(tu_rng *r, float lo, float hi)
{
    double u = (double)(tu_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(lo + (hi - lo) * u);
}

static inline void tu_fill(tu_rng *r, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = tu_uniform(r, lo, hi);
}

/* Builds a model from g (which must be healthy) and frees g. */
static inline sa_model *tu_model(sa_graph *g, uint64_t seed)
{
    REQUIRE(g != NULL);
    if (sa_graph_status(g) != SA_OK)
        fprintf(stderr, "graph error: %s\n", sa_graph_errmsg(g));
    REQUIRE_OK(sa_graph_status(g));
    sa_model_options o = sa_model_options_default();
    o.seed = seed;
    sa_model *m = NULL;
    REQUIRE_OK(sa_model_create(g, &o, &m));
    sa_graph_free(g);
    return m;
}

/* dst's parameters := src's, matched by name (models of the same graph) */
static inline void tu_copy_params(sa_model *dst, const sa_model *src)
{
    REQUIRE(sa_param_count(dst) == sa_param_count(src));
    for (int32_t p = 0; p < sa_param_count(src); p++) {
        sa_param_info s, d;
        REQUIRE_OK(sa_param_get(src, p, &s));
        REQUIRE_OK(sa_param_find(dst, s.name, &d));
        REQUIRE(d.numel == s.numel);
        memcpy(d.value, s.value, s.numel * sizeof(float));
    }
}

#endif
