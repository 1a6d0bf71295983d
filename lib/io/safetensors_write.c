/* safetensors_write.c — writes float32 tensors and string metadata as a
 * safetensors file, through an atomic file replacement. Tensors follow one
 * another in the order given; the header is padded with spaces to a multiple
 * of 8 bytes, as the reference writer does, so the data stays aligned. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"

static int host_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static int put(FILE *fp, const void *p, size_t n) { return n == 0 || fwrite(p, 1, n, fp) == n; }

/* floats as little-endian bytes whatever the host */
static int put_f32(FILE *fp, const float *x, size_t n)
{
    if (host_little_endian())
        return put(fp, x, n * sizeof(float));
    unsigned char buf[4096];
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        for (; k < sizeof buf / 4 && i < n; k++, i++) {
            uint32_t u;
            memcpy(&u, &x[i], 4);
            for (int j = 0; j < 4; j++)
                buf[4 * k + (size_t)j] = (unsigned char)(u >> (8 * j));
        }
        if (!put(fp, buf, 4 * k))
            return 0;
    }
    return 1;
}

/* {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]} */
static json_t *entry(const sa_st_out *t, uint64_t begin, uint64_t end)
{
    json_t *shape = json_array();
    for (int32_t i = 0; shape && i < t->ndim; i++)
        if (json_array_append_new(shape, json_integer((json_int_t)t->shape[i])) != 0) {
            json_decref(shape);
            shape = NULL;
        }
    if (!shape)
        return NULL;
    return json_pack("{s:s, s:o, s:[I, I]}", "dtype", "F32", "shape", shape, "data_offsets", (json_int_t)begin,
                     (json_int_t)end);
}

static char *header_text(const sa_st_out *t, size_t n, json_t *meta, const char *fn, sa_status *s)
{
    json_t *root = json_object();
    *s = root ? SA_OK : SA_ERR_NO_MEMORY;
    if (root && meta && json_object_set(root, "__metadata__", meta) != 0)
        *s = SA_ERR_NO_MEMORY;
    uint64_t off = 0;
    for (size_t i = 0; i < n && *s == SA_OK; i++) {
        if (json_object_get(root, t[i].name)) {
            *s = sa_fail(SA_ERR_INVALID_ARG, "%s: two tensors are named '%s' (rename a node)", fn, t[i].name);
            break;
        }
        uint64_t end = off + (uint64_t)t[i].numel * sizeof(float);
        json_t *e = entry(&t[i], off, end);
        if (!e || json_object_set_new(root, t[i].name, e) != 0)
            *s = SA_ERR_NO_MEMORY;
        off = end;
    }
    char *text = *s == SA_OK ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (*s == SA_OK && !text)
        *s = SA_ERR_NO_MEMORY;
    if (*s == SA_ERR_NO_MEMORY)
        sa_fail(SA_ERR_NO_MEMORY, "%s: out of memory building the header", fn);
    return text;
}

sa_status sa_st_write(const char *path, const sa_st_out *t, size_t n, json_t *meta, const char *fn)
{
    sa_status s;
    char *text = header_text(t, n, meta, fn, &s);
    if (!text)
        return s;
    size_t len = strlen(text), pad = (8 - len % 8) % 8;
    uint64_t hlen = (uint64_t)(len + pad);
    unsigned char lenb[8];
    for (int i = 0; i < 8; i++)
        lenb[i] = (unsigned char)(hlen >> (8 * i));

    sa_atomic_file af;
    s = sa_atomic_begin(&af, path, fn);
    if (s != SA_OK) {
        free(text);
        return s;
    }
    int ok = put(af.fp, lenb, 8) && put(af.fp, text, len) && put(af.fp, "       ", pad);
    for (size_t i = 0; i < n && ok; i++)
        ok = put_f32(af.fp, t[i].data, t[i].numel);
    free(text);
    if (!ok) { /* stop at the first failed write rather than pushing gigabytes at a full disk */
        s = sa_fail(SA_ERR_IO, "%s: cannot write '%s': %s", fn, path, strerror(errno));
        sa_atomic_abort(&af);
        return s;
    }
    return sa_atomic_commit(&af, fn);
}
