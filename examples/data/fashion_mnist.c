/* fashion_mnist.c — locating the Fashion-MNIST files (fashion_mnist.h). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* stat(); set here so the file builds outside meson too */
#endif
#include "fashion_mnist.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

const char *fmnist_dir(void)
{
    const char *d = getenv(FMNIST_DIR_ENV);
    return d && d[0] ? d : FMNIST_DEFAULT_DIR;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* kind: "images-idx3" or "labels-idx1" */
static int load(fmnist_split split, const char *kind, idx_array *out, char *err, size_t errlen)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!out)
        return fail(err, errlen, IDX_E_ARG, "fashion_mnist: out is NULL");
    if (split != FMNIST_TRAIN && split != FMNIST_TEST)
        return fail(err, errlen, IDX_E_ARG, "fashion_mnist: unknown split %d", (int)split);

    const char *dir = fmnist_dir();
    const char *prefix = split == FMNIST_TRAIN ? "train" : "t10k";
    char plain[4096], gz[sizeof plain + 3]; /* gz is plain + ".gz" */
    int n = snprintf(plain, sizeof plain, "%s/%s-%s-ubyte", dir, prefix, kind);
    if (n < 0 || (size_t)n >= sizeof plain)
        return fail(err, errlen, IDX_E_ARG, "fashion_mnist: the directory name %s is too long", dir);
    snprintf(gz, sizeof gz, "%s.gz", plain);

    const char *path = exists(gz) ? gz : exists(plain) ? plain : NULL;
    if (!path) {
        const char *env = getenv(FMNIST_DIR_ENV);
        if (env && env[0])
            return fail(err, errlen, IDX_E_OPEN,
                        "Fashion-MNIST file %s is missing (nor is it there uncompressed); %s=%s names a "
                        "directory without it: unset %s to use %s from the Debian package %s",
                        gz, FMNIST_DIR_ENV, env, FMNIST_DIR_ENV, FMNIST_DEFAULT_DIR, FMNIST_PACKAGE);
        return fail(err, errlen, IDX_E_OPEN,
                    "Fashion-MNIST file %s is missing; it comes with the Debian package %s "
                    "(apt-get install %s, or run tools/install-deps.sh), or set %s to a directory that holds "
                    "%s-%s-ubyte.gz",
                    gz, FMNIST_PACKAGE, FMNIST_PACKAGE, FMNIST_DIR_ENV, prefix, kind);
    }
    return idx_load(path, out, err, errlen);
}

int fmnist_load_images(fmnist_split split, idx_array *out, char *err, size_t errlen)
{
    int rc = load(split, "images-idx3", out, err, errlen);
    if (rc != IDX_OK)
        return rc;
    if (out->ndims != 3) {
        int nd = out->ndims;
        idx_free(out);
        return fail(err, errlen, IDX_E_FORMAT, "Fashion-MNIST images in %s have %d dimensions, expected 3 [N, H, W]",
                    fmnist_dir(), nd);
    }
    return IDX_OK;
}

int fmnist_load_labels(fmnist_split split, idx_array *out, char *err, size_t errlen)
{
    int rc = load(split, "labels-idx1", out, err, errlen);
    if (rc != IDX_OK)
        return rc;
    if (out->ndims != 1) {
        int nd = out->ndims;
        idx_free(out);
        return fail(err, errlen, IDX_E_FORMAT, "Fashion-MNIST labels in %s have %d dimensions, expected 1 [N]",
                    fmnist_dir(), nd);
    }
    for (size_t i = 0; i < out->count; i++)
        if (out->data[i] > 9) {
            int v = out->data[i];
            idx_free(out);
            return fail(err, errlen, IDX_E_FORMAT, "Fashion-MNIST label %zu in %s is %d, expected a class 0..9", i,
                        fmnist_dir(), v);
        }
    return IDX_OK;
}
