/*
 * common.h — what every example program needs around the library: fatal
 * errors with a clear message, a checked call for every sa_* status, and a
 * wall clock for progress reports.
 */
#ifndef EXAMPLES_COMMON_H
#define EXAMPLES_COMMON_H

#include <seqattn/seqattn.h>

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

/** Monotonic wall-clock time in seconds. */
double ex_now(void);

#endif
