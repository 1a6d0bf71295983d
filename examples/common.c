/* common.c — error reporting and timing shared by the examples (common.h). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_gettime(); set here so the file builds outside meson too */
#endif
#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

double ex_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
