/*
 * common.h — what every example program needs around the library: fatal
 * errors with a clear message, a checked call for every sa_* status, and a
 * wall clock for progress reports.
 */
#ifndef EXAMPLES_COMMON_H
#define EXAMPLES_COMMON_H

#include <seqattn/seqattn.h>
#include <stdint.h>

/** Sets the program name that prefixes every error message. */
void ex_set_program(const char *name);

/** Prints "<program>: <message>" on stderr and exits with EXIT_FAILURE.
 *  The examples have nothing to salvage after a failure. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
_Noreturn void ex_die(const char *fmt, ...);

/** Returns if s is SA_OK; otherwise dies with `what`, the status name and
 *  sa_last_error(), so a failed call never turns into meaningless numbers. */
void ex_check(sa_status s, const char *what);

/** Creates a model from g with the given seed and frees g. Dies with the
 *  builder's first error (builder errors are sticky, so one check covers
 *  every call that built g) or the sa_model_create failure; `what` names the
 *  graph in the message. */
sa_model *ex_model_create(sa_graph *g, uint64_t seed, const char *what);

/** Monotonic wall-clock time in seconds. */
double ex_now(void);

/** Parses s as a decimal integer in lo..hi, or dies naming flag. */
unsigned long long ex_parse_u64(const char *s, const char *flag, unsigned long long lo,
                                unsigned long long hi);

/** The command line the examples share: [--quick] [--seed N] [--out DIR] [--epochs N]. */
typedef struct ex_args {
    int quick;           /**< --quick given */
    uint64_t seed;       /**< --seed, default 1 */
    const char *out_dir; /**< --out, default the caller's */
    int32_t epochs;      /**< --epochs in 1..100000, or 0: the setting's own */
} ex_args;

/** Creates dir and its parents, or dies saying why. The examples call it
 *  before training, so a bad --out fails in a second, not after the run. */
void ex_make_out_dir(const char *dir);

/** Parses argv into a, then creates a->out_dir (ex_make_out_dir). --help/-h
 *  prints usage on stdout and exits 0; any other argument prints usage on
 *  stderr and dies. usage is the whole help text. */
void ex_parse_args(int argc, char **argv, const char *usage, const char *default_out, ex_args *a);

#endif
