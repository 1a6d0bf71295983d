/* datatest.h — assertion helpers for the data tests (no library involved).
 *
 * CHECK records a failure (file:line and the expression) and carries on, so
 * one run shows every broken check; REQUIRE is for set-up steps whose failure
 * makes the rest meaningless: it reports and exits. main() ends with
 * `return dt_report();`, non-zero on any failure. */
#ifndef SEQATTN_DATATEST_H
#define SEQATTN_DATATEST_H

#include <stdio.h>
#include <stdlib.h>

/* one translation unit per test executable, so file-scope state is enough */
static int dt_checks;
static int dt_failures;

#define CHECK(cond)                                                                                    \
    do {                                                                                               \
        dt_checks++;                                                                                   \
        if (!(cond)) {                                                                                 \
            dt_failures++;                                                                             \
            fprintf(stderr, "%s:%d: FAILED: CHECK(%s)\n", __FILE__, __LINE__, #cond);                  \
        }                                                                                              \
    } while (0)

/* A CHECK that also prints the library's message when it fails. */
#define CHECK_MSG(cond, msg)                                                                           \
    do {                                                                                               \
        dt_checks++;                                                                                   \
        if (!(cond)) {                                                                                 \
            dt_failures++;                                                                             \
            fprintf(stderr, "%s:%d: FAILED: CHECK(%s) | %s\n", __FILE__, __LINE__, #cond, (msg));      \
        }                                                                                              \
    } while (0)

#define REQUIRE(cond)                                                                                  \
    do {                                                                                               \
        if (!(cond)) {                                                                                 \
            fprintf(stderr, "%s:%d: FAILED: REQUIRE(%s)\n", __FILE__, __LINE__, #cond);                \
            exit(1);                                                                                   \
        }                                                                                              \
    } while (0)

static int dt_report(void)
{
    printf("%d checks, %d failed\n", dt_checks, dt_failures);
    return dt_failures ? 1 : 0;
}

#endif
