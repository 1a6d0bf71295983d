/* err_check.h — checks shared by the error-path tests (tests/errors/).
 *
 * Each test executable defines err_run(); err_check.c's main() runs it in a
 * child process whose stdout and stderr go to a pipe (the test's own messages
 * go to the real stderr), so the parent can fail the test if the library — or
 * a sanitizer — printed anything, or if the child crashed.
 *
 * EXPECT(want, fn, m, call) is the core check of a failing call:
 *  - the status equals `want`;
 *  - sa_last_error() starts with the function name `fn` (then ':' or ' ');
 *  - when m is not NULL, sa_model_errmsg(m) starts with `fn` too.
 * Both messages are first overwritten by an unrelated failing call, so a
 * message left over from earlier cannot make the check pass.
 *
 * EXPECT_BUILD_FAIL(g, want, fn, call) checks the first failing builder call
 * of graph g: SA_NODE_INVALID, graph status `want`, graph and thread messages
 * starting with `fn`, and no node added. */
#ifndef SEQATTN_ERR_CHECK_H
#define SEQATTN_ERR_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "seqattn/seqattn.h"

extern int ec_checks;
extern int ec_failures;

/* Defined by each test file. */
void err_run(void);

void ec_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Puts a message not written by `fn` in the thread slot and, if m, in the model. */
void ec_prime(const char *fn, const sa_model *m);
/* 1 if msg is "fn: ..." or "fn ..." */
int ec_starts_with_fn(const char *msg, const char *fn);
void ec_status(const char *file, int line, const char *expr, sa_status got, sa_status want, const char *fn,
               const sa_model *m);
void ec_build_fail(const char *file, int line, const char *expr, const sa_graph *g, int32_t count_before,
                   sa_node got, sa_status want, const char *fn);
void ec_ok(const char *file, int line, const char *expr, sa_status got);
/* Ends the test now (set-up step failed): report and exit the child. */
void ec_abort(const char *file, int line, const char *what) __attribute__((noreturn));

#define CHECK(cond)                                                                                   \
    do {                                                                                              \
        ec_checks++;                                                                                  \
        if (!(cond))                                                                                  \
            ec_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                                          \
    } while (0)

#define EXPECT(want, fn, m, call)                                                                     \
    do {                                                                                              \
        ec_prime((fn), (m));                                                                          \
        sa_status ec_s_ = (call);                                                                     \
        ec_status(__FILE__, __LINE__, #call, ec_s_, (want), (fn), (m));                               \
    } while (0)

#define EXPECT_OK(call) ec_ok(__FILE__, __LINE__, #call, (call))

#define REQUIRE(cond)                                                                                 \
    do {                                                                                              \
        if (!(cond))                                                                                  \
            ec_abort(__FILE__, __LINE__, #cond);                                                      \
    } while (0)

#define REQUIRE_OK(call)                                                                              \
    do {                                                                                              \
        if ((call) != SA_OK)                                                                          \
            ec_abort(__FILE__, __LINE__, #call);                                                      \
    } while (0)

#define EXPECT_BUILD_FAIL(g, want, fn, call)                                                          \
    do {                                                                                              \
        int32_t ec_n_ = sa_graph_node_count(g);                                                       \
        ec_prime((fn), NULL);                                                                         \
        sa_node ec_r_ = (call);                                                                       \
        ec_build_fail(__FILE__, __LINE__, #call, (g), ec_n_, ec_r_, (want), (fn));                    \
    } while (0)

/* ------------------------------------------------------------- fixtures */

/* x [B,T,3] -> gru(H=4, sequences) -> attention_pool -> dense(2) = pred [B,1,2];
 * y [B,T,2] -> mean_time = target [B,1,2]; loss = mse(pred, target);
 * state = sa_rnn_final_state(gru) [B,1,4]. */
typedef struct ec_fix {
    sa_graph *g;
    sa_model *m;
    sa_node x, y, gru, att, pred, target, loss, state;
} ec_fix;

void ec_fix_init(ec_fix *f);
/* Sets x and y to finite data of B samples, T steps; lengths may be NULL. */
void ec_fix_set(ec_fix *f, int32_t B, int32_t T, const int32_t *lengths);
void ec_fix_free(ec_fix *f);

/* A model from g; aborts the test if creation fails. */
sa_model *ec_model(const sa_graph *g);
/* n floats of deterministic finite data (caller frees). */
float *ec_data(size_t n);

#endif
