/* pgm_strip.c — the PGM frame grid of pgm_strip.h. */
#include "pgm_strip.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static unsigned char to_byte(float v)
{
    if (!(v > 0.0f)) /* also NaN */
        return 0;
    if (v >= 1.0f)
        return 255;
    return (unsigned char)(v * 255.0f + 0.5f);
}

int mm_write_pgm_strip(const char *path, const float *frames, int32_t nseq, int32_t T, int32_t S, int32_t every_k,
                       char *err, size_t errlen)
{
    if (err && errlen > 0)
        err[0] = '\0';
    if (!path || !frames)
        return fail(err, errlen, MM_E_ARG, "mm_write_pgm_strip: path and frames must not be NULL");
    if (nseq < 1 || T < 1 || S < 1 || every_k < 1)
        return fail(err, errlen, MM_E_ARG,
                    "mm_write_pgm_strip: nseq (%d), T (%d), S (%d) and every_k (%d) must all be >= 1", (int)nseq,
                    (int)T, (int)S, (int)every_k);
    int64_t cols = (T - 1) / every_k + 1;
    int64_t width = cols * S + (cols - 1) * MM_PGM_GAP;
    int64_t height = (int64_t)nseq * S + (int64_t)(nseq - 1) * MM_PGM_GAP;
    if (width > MM_PGM_MAX_SIDE || height > MM_PGM_MAX_SIDE)
        return fail(err, errlen, MM_E_ARG,
                    "mm_write_pgm_strip: a %lld x %lld image is too large (limit %d per side); raise every_k or "
                    "write fewer sequences",
                    (long long)width, (long long)height, MM_PGM_MAX_SIDE);

    unsigned char *line = malloc((size_t)width);
    if (!line)
        return fail(err, errlen, MM_E_NOMEM, "mm_write_pgm_strip: out of memory");
    FILE *f = fopen(path, "wb");
    if (!f) {
        int e = errno;
        free(line);
        return fail(err, errlen, MM_E_IO, "cannot write %s: %s", path, strerror(e));
    }
    fprintf(f, "P5\n# %d sequence(s), every %d-th of %d frames of %dx%d\n%lld %lld\n255\n", (int)nseq,
            (int)every_k, (int)T, (int)S, (int)S, (long long)width, (long long)height);

    size_t frame = (size_t)S * (size_t)S;
    for (int32_t s = 0; s < nseq; s++) {
        if (s > 0) { /* separator rows between sequences */
            memset(line, 128, (size_t)width);
            for (int g = 0; g < MM_PGM_GAP; g++)
                fwrite(line, 1, (size_t)width, f);
        }
        for (int32_t r = 0; r < S; r++) {
            memset(line, 128, (size_t)width);
            for (int64_t c = 0; c < cols; c++) {
                const float *src = frames + ((size_t)s * (size_t)T + (size_t)(c * every_k)) * frame + (size_t)r * (size_t)S;
                unsigned char *dst = line + c * (S + MM_PGM_GAP);
                for (int32_t x = 0; x < S; x++)
                    dst[x] = to_byte(src[x]);
            }
            fwrite(line, 1, (size_t)width, f);
        }
    }
    free(line);
    int bad = ferror(f);
    int e = errno;
    if (fclose(f) != 0) {
        bad = 1;
        e = errno;
    }
    if (bad)
        return fail(err, errlen, MM_E_IO, "error writing %s: %s", path, strerror(e));
    return MM_OK;
}
