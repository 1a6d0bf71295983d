/* status.c — status names, the thread-local error message, checked sizes. */
#include <stdio.h>
#include <string.h>

#include "../internal.h"

static _Thread_local char tls_error[512];

sa_status sa_fail(sa_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tls_error, sizeof tls_error, fmt, ap);
    va_end(ap);
    return s;
}

void sa_clear_error(void) { tls_error[0] = '\0'; }

const char *sa_tls_error(void) { return tls_error; }

SA_API const char *sa_last_error(void) { return tls_error; }

SA_API const char *sa_status_str(sa_status s)
{
    switch (s) {
    case SA_OK: return "SA_OK";
    case SA_ERR_INVALID_ARG: return "SA_ERR_INVALID_ARG";
    case SA_ERR_BAD_NODE: return "SA_ERR_BAD_NODE";
    case SA_ERR_SHAPE: return "SA_ERR_SHAPE";
    case SA_ERR_OVERFLOW: return "SA_ERR_OVERFLOW";
    case SA_ERR_NO_MEMORY: return "SA_ERR_NO_MEMORY";
    case SA_ERR_STATE: return "SA_ERR_STATE";
    case SA_ERR_NOT_FOUND: return "SA_ERR_NOT_FOUND";
    case SA_ERR_NUMERIC: return "SA_ERR_NUMERIC";
    case SA_ERR_UNSUPPORTED: return "SA_ERR_UNSUPPORTED";
    case SA_ERR_IO: return "SA_ERR_IO";
    case SA_ERR_FORMAT: return "SA_ERR_FORMAT";
    case SA_ERR_INTERNAL: return "SA_ERR_INTERNAL";
    }
    return "SA_ERR_UNKNOWN";
}

int sa_mul_ok(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

int sa_add_ok(size_t a, size_t b, size_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}
