/* safetensors_read.c — parses and checks a safetensors header, then reads
 * tensors as float32. The file is hostile: every number is checked before it
 * is used, sizes are computed with overflow checks, and nothing is allocated
 * beyond what the header's (checked) length allows. The rules follow the
 * reference implementation: header length at most 100,000,000 bytes and
 * within the file, a JSON object starting with '{', no duplicate keys,
 * "__metadata__" a string-to-string map, and tensor byte ranges that cover
 * the data section exactly, without holes or overlaps. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"

typedef struct dtype_info { const char *name; int32_t size; } dtype_info;

/* every dtype of the format with a whole-byte size, so files holding other
 * tensors (e.g. an I64 counter in a torch state_dict) still parse */
static const dtype_info dtypes[] = {
    {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"I16", 2}, {"U16", 2}, {"F16", 2},
    {"BF16", 2}, {"I32", 4}, {"U32", 4}, {"F32", 4},      {"F64", 8},     {"I64", 8}, {"U64", 8},
};

static uint64_t le64(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

/* a JSON integer >= 0 */
static int get_u64(const json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return 0;
    *out = (uint64_t)json_integer_value(v);
    return 1;
}

static sa_status parse_entry(const char *name, json_t *v, const sa_st_file *f, sa_st_tensor *t, const char *fn)
{
    if (!json_is_object(v))
        return sa_fail(SA_ERR_FORMAT, "%s: header entry '%.80s' is not an object", fn, name);
    t->name = name;
    const char *dt = json_string_value(json_object_get(v, "dtype"));
    if (!dt)
        return sa_fail(SA_ERR_FORMAT, "%s: tensor '%.80s' has no string \"dtype\"", fn, name);
    for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes && !t->dtype; i++)
        if (strcmp(dt, dtypes[i].name) == 0) {
            t->dtype = dtypes[i].name;
            t->elem = dtypes[i].size;
        }
    if (!t->dtype)
        return sa_fail(SA_ERR_FORMAT, "%s: tensor '%.80s' has unknown dtype '%.20s'", fn, name, dt);

    json_t *shape = json_object_get(v, "shape");
    if (!json_is_array(shape))
        return sa_fail(SA_ERR_FORMAT, "%s: tensor '%.80s' has no \"shape\" array", fn, name);
    if (json_array_size(shape) > SA_ST_MAX_DIMS)
        return sa_fail(SA_ERR_FORMAT, "%s: tensor '%.80s' has %zu dimensions, at most %d are supported", fn, name,
                       json_array_size(shape), SA_ST_MAX_DIMS);
    t->ndim = (int32_t)json_array_size(shape);
    uint64_t numel = 1;
    for (int32_t i = 0; i < t->ndim; i++) {
        uint64_t d;
        if (!get_u64(json_array_get(shape, (size_t)i), &d))
            return sa_fail(SA_ERR_FORMAT, "%s: tensor '%.80s': shape[%d] is not an integer >= 0", fn, name, (int)i);
        /* checked at every step: a 0 later on does not excuse an overflow, as
         * in the reference implementation */
        if (__builtin_mul_overflow(numel, d, &numel))
            return sa_fail(SA_ERR_FORMAT, "%s: tensor '%.80s': the shape's element count overflows", fn, name);
        t->shape[i] = (int64_t)d;
    }
    t->numel = numel;

    json_t *offs = json_object_get(v, "data_offsets");
    uint64_t begin, end, nbytes;
    if (!json_is_array(offs) || json_array_size(offs) != 2 || !get_u64(json_array_get(offs, 0), &begin) ||
        !get_u64(json_array_get(offs, 1), &end))
        return sa_fail(SA_ERR_FORMAT, "%s: tensor '%.80s' needs \"data_offsets\": [begin, end], integers >= 0", fn,
                       name);
    if (begin > end || end > f->data_len)
        return sa_fail(SA_ERR_FORMAT, "%s: tensor '%.80s': data_offsets [%llu, %llu] are outside the %llu-byte "
                       "data section", fn, name, (unsigned long long)begin, (unsigned long long)end,
                       (unsigned long long)f->data_len);
    if (__builtin_mul_overflow(numel, (uint64_t)t->elem, &nbytes))
        return sa_fail(SA_ERR_FORMAT, "%s: tensor '%.80s': the shape's byte count overflows", fn, name);
    if (nbytes != end - begin)
        return sa_fail(SA_ERR_FORMAT, "%s: tensor '%.80s': data_offsets span %llu bytes, its shape and dtype need "
                       "%llu", fn, name, (unsigned long long)(end - begin), (unsigned long long)nbytes);
    t->off = f->data_off + begin;
    t->nbytes = nbytes;
    return SA_OK;
}

static int by_offset(const void *a, const void *b)
{
    const sa_st_tensor *x = a, *y = b;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const sa_st_tensor *)a)->name, ((const sa_st_tensor *)b)->name);
}

/* the spec: the ranges, in order, tile the data section exactly */
static sa_status check_coverage(sa_st_file *f, const char *fn)
{
    qsort(f->t, f->n, sizeof *f->t, by_offset);
    uint64_t at = f->data_off;
    for (size_t i = 0; i < f->n; i++) {
        if (f->t[i].off != at)
            return sa_fail(SA_ERR_FORMAT, "%s: tensor '%.80s' starts at data byte %llu, expected %llu: tensor data "
                           "must follow without holes or overlaps", fn, f->t[i].name,
                           (unsigned long long)(f->t[i].off - f->data_off), (unsigned long long)(at - f->data_off));
        at += f->t[i].nbytes;
    }
    if (at - f->data_off != f->data_len)
        return sa_fail(SA_ERR_FORMAT, "%s: the tensors cover %llu bytes of the %llu-byte data section", fn,
                       (unsigned long long)(at - f->data_off), (unsigned long long)f->data_len);
    return SA_OK;
}

static sa_status parse_metadata(sa_st_file *f, json_t *v, const char *fn)
{
    if (json_is_null(v)) /* the reference implementation writes no key, but reads null as none */
        return SA_OK;
    if (!json_is_object(v))
        return sa_fail(SA_ERR_FORMAT, "%s: \"__metadata__\" is not an object", fn);
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val) {
        if (!json_is_string(val))
            return sa_fail(SA_ERR_FORMAT, "%s: metadata '%.80s' is not a string", fn, key);
    }
    f->meta = v;
    return SA_OK;
}

static sa_status parse_header(sa_st_file *f, const char *fn)
{
    const sa_src *src = f->src;
    unsigned char b[8];
    if (src->size < 8)
        return sa_fail(SA_ERR_FORMAT, "%s: the file has %llu bytes, too few for a safetensors header", fn,
                       (unsigned long long)src->size);
    sa_status s = sa_src_read(src, 0, b, 8, fn);
    if (s != SA_OK)
        return s;
    uint64_t n = le64(b);
    if (n > SA_ST_MAX_HEADER)
        return sa_fail(SA_ERR_FORMAT, "%s: header length %llu exceeds the limit of %u bytes", fn,
                       (unsigned long long)n, SA_ST_MAX_HEADER);
    if (n > src->size - 8)
        return sa_fail(SA_ERR_FORMAT, "%s: header length %llu is larger than the rest of the file (%llu bytes)",
                       fn, (unsigned long long)n, (unsigned long long)(src->size - 8));
    char *text = malloc(n ? (size_t)n : 1);
    if (!text)
        return sa_fail(SA_ERR_NO_MEMORY, "%s: cannot allocate a %llu-byte header", fn, (unsigned long long)n);
    s = sa_src_read(src, 8, text, (size_t)n, fn);
    if (s == SA_OK && (n == 0 || text[0] != '{'))
        s = sa_fail(SA_ERR_FORMAT, "%s: the header does not start with '{'", fn);
    if (s == SA_OK) {
        json_error_t err;
        f->root = json_loadb(text, (size_t)n, JSON_REJECT_DUPLICATES, &err);
        if (!f->root)
            s = sa_fail(SA_ERR_FORMAT, "%s: the header is not valid JSON: %s (at byte %d)", fn, err.text,
                        err.position);
        else if (!json_is_object(f->root))
            s = sa_fail(SA_ERR_FORMAT, "%s: the header is not a JSON object", fn);
    }
    free(text);
    f->data_off = 8 + n;
    f->data_len = src->size - f->data_off;
    return s;
}

sa_status sa_st_parse(const sa_src *src, sa_st_file *f, const char *fn)
{
    memset(f, 0, sizeof *f);
    f->src = src;
    sa_status s = parse_header(f, fn);
    if (s != SA_OK) {
        sa_st_free(f);
        return s;
    }
    size_t cap = json_object_size(f->root);
    f->t = calloc(cap ? cap : 1, sizeof *f->t);
    if (!f->t) {
        sa_st_free(f);
        return sa_fail(SA_ERR_NO_MEMORY, "%s: out of memory for %zu tensors", fn, cap);
    }
    const char *key;
    json_t *v;
    json_object_foreach(f->root, key, v) {
        s = strcmp(key, "__metadata__") == 0 ? parse_metadata(f, v, fn) : parse_entry(key, v, f, &f->t[f->n++], fn);
        if (s != SA_OK)
            break;
    }
    if (s == SA_OK)
        s = check_coverage(f, fn);
    if (s != SA_OK) {
        sa_st_free(f);
        return s;
    }
    qsort(f->t, f->n, sizeof *f->t, by_name);
    return SA_OK;
}

void sa_st_free(sa_st_file *f)
{
    json_decref(f->root);
    free(f->t);
    memset(f, 0, sizeof *f);
}

const sa_st_tensor *sa_st_find(const sa_st_file *f, const char *name)
{
    sa_st_tensor key = {.name = name};
    return f->n ? bsearch(&key, f->t, f->n, sizeof *f->t, by_name) : NULL;
}

const char *sa_st_meta(const sa_st_file *f, const char *key)
{
    return f->meta ? json_string_value(json_object_get(f->meta, key)) : NULL;
}

/* ------------------------------------------------------------ conversion */

static float f32_of(const unsigned char *b)
{
    uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static float bf16_of(const unsigned char *b)
{
    unsigned char w[4] = {0, 0, b[0], b[1]}; /* the high half of a float32 */
    return f32_of(w);
}

static float f16_of(const unsigned char *b)
{
    uint32_t h = (uint32_t)b[0] | (uint32_t)b[1] << 8;
    uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, u;
    if (exp == 0 && man == 0)
        u = sign;
    else if (exp == 0) { /* subnormal: man · 2^-24, normalised for float32 */
        int32_t e = 113;
        while (!(man & 0x400u)) {
            man <<= 1;
            e--;
        }
        u = sign | (uint32_t)e << 23 | (man & 0x3ffu) << 13;
    } else if (exp == 31)
        u = sign | 0x7f800000u | man << 13;
    else
        u = sign | (exp + 112) << 23 | man << 13;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* 0 when the value is outside float's range (converting it would be undefined) */
static int f64_of(const unsigned char *b, float *out)
{
    uint64_t u = le64(b);
    double d;
    memcpy(&d, &u, sizeof d);
    if (!(fabs(d) <= FLT_MAX))
        return 0;
    *out = (float)d;
    return 1;
}

sa_status sa_st_read_f32(const sa_st_file *f, const sa_st_tensor *t, float *dst, const char *fn)
{
    int f32 = strcmp(t->dtype, "F32") == 0, f64 = strcmp(t->dtype, "F64") == 0;
    int f16 = strcmp(t->dtype, "F16") == 0, bf16 = strcmp(t->dtype, "BF16") == 0;
    if (!f32 && !f64 && !f16 && !bf16)
        return sa_fail(SA_ERR_FORMAT, "%s: tensor '%.80s' has dtype %s; parameters need F32 (or F64, F16, BF16, "
                       "converted)", fn, t->name, t->dtype);
    /* read in chunks through a small buffer: the file's bytes are little-endian
     * whatever the host, and other dtypes need converting anyway */
    enum { CHUNK = 2048 };
    unsigned char buf[CHUNK * 8];
    size_t n = (size_t)t->numel, done = 0;
    while (done < n) {
        size_t k = n - done < CHUNK ? n - done : CHUNK;
        sa_status s = sa_src_read(f->src, t->off + (uint64_t)done * t->elem, buf, k * (size_t)t->elem, fn);
        if (s != SA_OK)
            return s;
        for (size_t i = 0; i < k; i++) {
            const unsigned char *b = buf + i * (size_t)t->elem;
            float x = 0.0f;
            int ok = 1;
            if (f32)
                x = f32_of(b);
            else if (bf16)
                x = bf16_of(b);
            else if (f16)
                x = f16_of(b);
            else
                ok = f64_of(b, &x);
            if (!ok || !isfinite(x))
                return sa_fail(SA_ERR_NUMERIC, "%s: tensor '%.80s' holds %s at element %zu", fn, t->name,
                               ok ? "NaN or Inf" : "a value outside float32's range", done + i);
            dst[done + i] = x;
        }
        done += k;
    }
    return SA_OK;
}
