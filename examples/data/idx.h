/*
 * idx.h — reading IDX files (the MNIST / Fashion-MNIST container format).
 *
 * An IDX file is a 4-byte magic (0x00 0x00 <type> <ndims>), ndims big-endian
 * uint32 dimensions, then the elements in row-major order. The files are
 * usually shipped gzipped; idx_load() reads through zlib, which passes an
 * uncompressed file through unchanged, so either form works.
 *
 * Only element type 0x08 (unsigned byte) is accepted: it is what the image and
 * label files use, and keeping the data as bytes avoids a conversion layer
 * nobody needs yet. Files are data from outside the program, so everything in
 * the header is checked before it is used, and a corrupt or truncated file
 * gives an error code and a message, never a crash or a huge allocation:
 *   - ndims must be 1..IDX_MAX_DIMS and every dimension >= 1;
 *   - the element count is computed with overflow checks and must not exceed
 *     IDX_MAX_BYTES (1 GiB);
 *   - the buffer grows with the data actually read (doubling, capped at the
 *     declared size), so a tiny file claiming 1 GiB costs little memory;
 *   - a short read is IDX_E_TRUNCATED;
 *   - bytes after the last element are IDX_E_TRAILING: the header fully
 *     determines the size, so extra bytes mean the header does not describe
 *     the file and the data would be misread. (Bytes after the end of a gzip
 *     stream that are not another gzip member are ignored by zlib itself and
 *     cannot be seen here.)
 */
#ifndef EXAMPLES_DATA_IDX_H
#define EXAMPLES_DATA_IDX_H

#include <stddef.h>
#include <stdint.h>

#define IDX_MAX_DIMS 4
#define IDX_MAX_BYTES ((size_t)1 << 30) /* 1 GiB: far above MNIST-sized data */
#define IDX_TYPE_U8 0x08

/* Return codes of idx_load(); each comes with a message in err. */
enum {
    IDX_OK = 0,
    IDX_E_ARG = -1,       /* NULL path or out */
    IDX_E_OPEN = -2,      /* the file cannot be opened (missing, permissions) */
    IDX_E_READ = -3,      /* an I/O or decompression error while reading */
    IDX_E_FORMAT = -4,    /* bad magic, unsupported type, bad ndims or a zero dimension */
    IDX_E_TOO_LARGE = -5, /* the dimensions describe more than IDX_MAX_BYTES */
    IDX_E_TRUNCATED = -6, /* the file ends before the header or the data does */
    IDX_E_TRAILING = -7,  /* bytes follow the last element */
    IDX_E_NOMEM = -8,     /* out of memory */
};

typedef struct idx_array {
    int ndims;                   /* 1..IDX_MAX_DIMS */
    int32_t dims[IDX_MAX_DIMS];  /* dims[0] is the slowest-varying (item) axis; unused ones are 0 */
    size_t count;                /* product of the dims = bytes in data */
    uint8_t *data;               /* row-major, owned; release with idx_free() */
} idx_array;

/** Loads path (gzipped or not) into *out.
 *  @return IDX_OK, or a negative IDX_E_* code with a one-line message in err
 *  (when err is non-NULL and errlen > 0). On failure *out is zeroed, so
 *  idx_free() is always safe to call. */
int idx_load(const char *path, idx_array *out, char *err, size_t errlen);

/** Frees the data and zeroes *a; a zeroed array or NULL is fine. */
void idx_free(idx_array *a);

/** The name of an IDX_* code, e.g. "IDX_E_TRUNCATED". */
const char *idx_status_str(int code);

#endif
