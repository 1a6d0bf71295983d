/* idx.c — the checked IDX reader of idx.h (zlib's gz* functions do the reading). */
#include "idx.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *idx_status_str(int code)
{
    switch (code) {
    case IDX_OK: return "IDX_OK";
    case IDX_E_ARG: return "IDX_E_ARG";
    case IDX_E_OPEN: return "IDX_E_OPEN";
    case IDX_E_READ: return "IDX_E_READ";
    case IDX_E_FORMAT: return "IDX_E_FORMAT";
    case IDX_E_TOO_LARGE: return "IDX_E_TOO_LARGE";
    case IDX_E_TRUNCATED: return "IDX_E_TRUNCATED";
    case IDX_E_TRAILING: return "IDX_E_TRAILING";
    case IDX_E_NOMEM: return "IDX_E_NOMEM";
    default: return "IDX_E_UNKNOWN";
    }
}

void idx_free(idx_array *a)
{
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* The names make "type 0x0D is not supported" actionable. */
static const char *type_name(int t)
{
    switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return NULL;
    }
}

/* gzread's error after it returned -1, turned into a code and a message. */
static int read_error(gzFile gz, const char *path, char *err, size_t errlen)
{
    int zerr = Z_OK;
    const char *msg = gzerror(gz, &zerr);
    if (zerr == Z_ERRNO)
        return fail(err, errlen, IDX_E_READ, "%s: read error: %s", path, strerror(errno));
    if (zerr == Z_MEM_ERROR)
        return fail(err, errlen, IDX_E_NOMEM, "%s: out of memory while decompressing", path);
    if (!msg)
        msg = "unknown zlib error";
    /* zlib prefixes its message with the path, which ours already has */
    size_t n = strlen(path);
    if (strncmp(msg, path, n) == 0 && strncmp(msg + n, ": ", 2) == 0)
        msg += n + 2;
    return fail(err, errlen, IDX_E_READ, "%s: corrupt gzip data: %s", path, msg);
}

/* Reads up to n bytes, looping over short reads (gzread takes an unsigned
 * count and returns an int, so large requests go in pieces).
 * @return bytes read (< n only at the end of the file), or -1 on an error. */
static long long read_some(gzFile gz, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        size_t want = n - got;
        if (want > (size_t)1 << 26)
            want = (size_t)1 << 26;
        int r = gzread(gz, (unsigned char *)buf + got, (unsigned)want);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (long long)got;
}

/* A truncated gzip stream reads like a short file; zlib's note says which. */
static const char *eof_note(gzFile gz)
{
    int zerr = Z_OK;
    gzerror(gz, &zerr);
    return zerr == Z_BUF_ERROR ? " (the gzip stream is cut short)" : "";
}

static void format_dims(char *s, size_t n, const uint32_t *d, int nd)
{
    size_t used = 0;
    s[0] = '\0';
    for (int i = 0; i < nd && used < n; i++) {
        int w = snprintf(s + used, n - used, "%s%lu", i ? " x " : "", (unsigned long)d[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* Everything after a successful gzopen; the caller closes gz. */
static int load_open(gzFile gz, const char *path, idx_array *out, char *err, size_t errlen)
{
    unsigned char head[4];
    long long r = read_some(gz, head, sizeof head);
    if (r < 0)
        return read_error(gz, path, err, errlen);
    if (r == 0)
        return fail(err, errlen, IDX_E_TRUNCATED, "%s: the file is empty%s", path, eof_note(gz));
    if (r < 4)
        return fail(err, errlen, IDX_E_TRUNCATED, "%s: the file ends inside the 4-byte magic (%lld bytes)%s",
                    path, r, eof_note(gz));

    if (head[0] != 0 || head[1] != 0) {
        /* gzip's magic here means the decompressed content is itself gzipped */
        const char *hint = head[0] == 0x1F && head[1] == 0x8B ? " (the content is gzipped twice)" : "";
        return fail(err, errlen, IDX_E_FORMAT,
                    "%s: not an IDX file: magic starts with 0x%02X 0x%02X, expected 0x00 0x00%s", path,
                    head[0], head[1], hint);
    }
    int type = head[2], nd = head[3];
    if (type != IDX_TYPE_U8) {
        const char *name = type_name(type);
        if (name)
            return fail(err, errlen, IDX_E_FORMAT,
                        "%s: element type 0x%02X (%s) is not supported; only 0x08 (unsigned byte) is", path,
                        type, name);
        return fail(err, errlen, IDX_E_FORMAT, "%s: unknown element type 0x%02X (expected 0x08, unsigned byte)",
                    path, type);
    }
    if (nd < 1 || nd > IDX_MAX_DIMS)
        return fail(err, errlen, IDX_E_FORMAT, "%s: %d dimensions in the header; supported are 1 to %d", path,
                    nd, IDX_MAX_DIMS);

    unsigned char raw[4 * IDX_MAX_DIMS];
    r = read_some(gz, raw, 4 * (size_t)nd);
    if (r < 0)
        return read_error(gz, path, err, errlen);
    if (r < 4 * nd)
        return fail(err, errlen, IDX_E_TRUNCATED, "%s: the header ends after %lld of its %d dimension bytes%s",
                    path, r, 4 * nd, eof_note(gz));

    uint32_t dims[IDX_MAX_DIMS];
    for (int i = 0; i < nd; i++)
        dims[i] = (uint32_t)raw[4 * i] << 24 | (uint32_t)raw[4 * i + 1] << 16 | (uint32_t)raw[4 * i + 2] << 8 |
                  (uint32_t)raw[4 * i + 3];
    char shape[128];
    format_dims(shape, sizeof shape, dims, nd);

    /* count <= IDX_MAX_BYTES before each multiplication, and the division
     * test keeps the product from ever overflowing. */
    size_t count = 1;
    for (int i = 0; i < nd; i++) {
        if (dims[i] == 0)
            return fail(err, errlen, IDX_E_FORMAT, "%s: dimension %d of %s is 0", path, i, shape);
        if (dims[i] > IDX_MAX_BYTES / count)
            return fail(err, errlen, IDX_E_TOO_LARGE, "%s: dimensions %s describe more than %zu bytes (1 GiB limit)",
                        path, shape, IDX_MAX_BYTES);
        count *= dims[i];
    }

    /* Grow with the data actually present rather than trusting the header
     * with one big allocation: a corrupt 20-byte file then costs 1 MiB, not 1 GiB. */
    size_t cap = count < ((size_t)1 << 20) ? count : (size_t)1 << 20;
    uint8_t *data = malloc(cap);
    if (!data)
        return fail(err, errlen, IDX_E_NOMEM, "%s: out of memory for %zu bytes", path, cap);
    size_t got = 0;
    while (got < count) {
        if (got == cap) {
            size_t ncap = cap > count / 2 ? count : cap * 2;
            uint8_t *p = realloc(data, ncap);
            if (!p) {
                free(data);
                return fail(err, errlen, IDX_E_NOMEM, "%s: out of memory for %zu bytes", path, ncap);
            }
            data = p;
            cap = ncap;
        }
        r = read_some(gz, data + got, cap - got);
        if (r < 0) {
            free(data);
            return read_error(gz, path, err, errlen);
        }
        got += (size_t)r;
        if (got < cap) { /* a short read is the end of the file */
            free(data);
            return fail(err, errlen, IDX_E_TRUNCATED, "%s: the data ends after %zu of the %zu bytes that %s needs%s",
                        path, got, count, shape, eof_note(gz));
        }
    }

    /* Reading one byte more also makes zlib check the gzip trailer (CRC and
     * length), which it has not necessarily reached yet. */
    unsigned char extra;
    r = read_some(gz, &extra, 1);
    if (r != 0) {
        free(data);
        if (r < 0)
            return read_error(gz, path, err, errlen);
        return fail(err, errlen, IDX_E_TRAILING,
                    "%s: unexpected bytes after the %zu data bytes of %s (the header does not describe the file)",
                    path, count, shape);
    }

    out->ndims = nd;
    for (int i = 0; i < nd; i++)
        out->dims[i] = (int32_t)dims[i]; /* each dim <= count <= 1 GiB < INT32_MAX */
    out->count = count;
    out->data = data;
    return IDX_OK;
}

int idx_load(const char *path, idx_array *out, char *err, size_t errlen)
{
    if (err && errlen > 0)
        err[0] = '\0';
    if (!out)
        return fail(err, errlen, IDX_E_ARG, "idx_load: out is NULL");
    memset(out, 0, sizeof *out);
    if (!path)
        return fail(err, errlen, IDX_E_ARG, "idx_load: path is NULL");

    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz) {
        if (errno == 0) /* zlib's own allocation failed */
            return fail(err, errlen, IDX_E_NOMEM, "%s: out of memory opening the file", path);
        return fail(err, errlen, IDX_E_OPEN, "cannot open %s: %s", path, strerror(errno));
    }
    gzbuffer(gz, 1u << 17); /* fewer read() calls than the 8 KiB default */

    int rc = load_open(gz, path, out, err, errlen);
    int zc = gzclose_r(gz);
    if (rc == IDX_OK && zc != Z_OK) {
        idx_free(out);
        rc = fail(err, errlen, IDX_E_READ, "%s: error closing the file (zlib code %d)", path, zc);
    }
    return rc;
}
