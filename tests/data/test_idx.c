/* test_idx.c — the IDX reader (examples/data/idx.c) and the Fashion-MNIST
 * lookup (fashion_mnist.c): round trips on files written here, plain and
 * gzipped; every kind of bad file rejected with its code and a message; 2000
 * random mutations that must load or fail cleanly (the suite also runs this
 * under ASan/UBSan); and the real Fashion-MNIST files when they are installed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "datatest.h"
#include "fashion_mnist.h"
#include "idx.h"
#include "rng.h"

static char dir[512];  /* a fresh temporary directory */
static char path[600]; /* the file under test */

/* ------------------------------------------------------------ writing files */

/* Each file is written afresh after an unlink: rewriting through O_TRUNC makes
 * ext4 (auto_da_alloc) flush the data on close, which made the fuzz loop
 * take seconds of I/O waits. */
static void write_plain(const char *p, const uint8_t *b, size_t n)
{
    remove(p);
    FILE *f = fopen(p, "wb");
    REQUIRE(f != NULL);
    REQUIRE(fwrite(b, 1, n, f) == n);
    REQUIRE(fclose(f) == 0);
}

static void write_gz(const char *p, const uint8_t *b, size_t n)
{
    remove(p);
    gzFile g = gzopen(p, "wb");
    REQUIRE(g != NULL);
    REQUIRE(n == 0 || gzwrite(g, b, (unsigned)n) == (int)n);
    REQUIRE(gzclose(g) == Z_OK);
}

/* The whole file as bytes (to corrupt a gzip stream itself). */
static uint8_t *read_all(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    REQUIRE(f != NULL);
    REQUIRE(fseek(f, 0, SEEK_END) == 0);
    long len = ftell(f);
    REQUIRE(len >= 0);
    rewind(f);
    uint8_t *b = malloc((size_t)len + 1);
    REQUIRE(b != NULL);
    REQUIRE(fread(b, 1, (size_t)len, f) == (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* header + data; returns the total size. buf must hold it. */
static size_t make_idx(uint8_t *buf, int type, int nd, const uint32_t *dims, size_t data_bytes)
{
    buf[0] = 0;
    buf[1] = 0;
    buf[2] = (uint8_t)type;
    buf[3] = (uint8_t)nd;
    size_t at = 4;
    for (int i = 0; i < nd; i++) {
        buf[at++] = (uint8_t)(dims[i] >> 24);
        buf[at++] = (uint8_t)(dims[i] >> 16);
        buf[at++] = (uint8_t)(dims[i] >> 8);
        buf[at++] = (uint8_t)dims[i];
    }
    for (size_t i = 0; i < data_bytes; i++)
        buf[at + i] = (uint8_t)(i * 7 + 3);
    return at + data_bytes;
}

static int all_zero(const idx_array *a)
{
    static const idx_array zero;
    return memcmp(a, &zero, sizeof zero) == 0;
}

/* ------------------------------------------------------------ checks */

static void check_loads(const char *what, int nd, const uint32_t *dims, size_t count)
{
    idx_array a;
    char err[512];
    int rc = idx_load(path, &a, err, sizeof err);
    CHECK_MSG(rc == IDX_OK, err);
    if (rc != IDX_OK) {
        fprintf(stderr, "  (%s)\n", what);
        return;
    }
    CHECK(a.ndims == nd);
    for (int i = 0; i < nd; i++)
        CHECK(a.dims[i] == (int32_t)dims[i]);
    for (int i = nd; i < IDX_MAX_DIMS; i++)
        CHECK(a.dims[i] == 0);
    CHECK(a.count == count);
    CHECK(a.data != NULL);
    int same = 1;
    for (size_t i = 0; i < count; i++)
        same &= a.data[i] == (uint8_t)(i * 7 + 3);
    CHECK(same);
    idx_free(&a);
    CHECK(all_zero(&a));
}

/* Loading must fail with `want`, a non-empty message containing `needle`
 * (when given), and a zeroed array. Messages are printed for the log. */
static void check_fails(const char *what, int want, const char *needle)
{
    idx_array a;
    memset(&a, 0x5A, sizeof a); /* garbage in: must come back zeroed */
    char err[512];
    memset(err, 0, sizeof err);
    int rc = idx_load(path, &a, err, sizeof err);
    printf("  %-34s %-16s %s\n", what, idx_status_str(rc), err);
    if (rc != want)
        fprintf(stderr, "  %s: got %s, expected %s\n", what, idx_status_str(rc), idx_status_str(want));
    CHECK(rc == want);
    CHECK(err[0] != '\0');
    CHECK(!needle || strstr(err, needle) != NULL);
    CHECK(all_zero(&a));
    idx_free(&a);
}

static void test_round_trip(void)
{
    static uint8_t buf[4096];
    const uint32_t d3[] = {3, 5, 4}, d1[] = {10}, d4[] = {2, 1, 3, 2}, dbig[] = {3, 700, 700};
    struct {
        int nd;
        const uint32_t *d;
        size_t count;
    } cases[] = {{3, d3, 60}, {1, d1, 10}, {4, d4, 12}};
    for (int gz = 0; gz < 2; gz++)
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            size_t n = make_idx(buf, IDX_TYPE_U8, cases[c].nd, cases[c].d, cases[c].count);
            (gz ? write_gz : write_plain)(path, buf, n);
            check_loads(gz ? "gzipped" : "plain", cases[c].nd, cases[c].d, cases[c].count);
        }

    /* Larger than the first 1 MiB buffer, so the growing path is exercised. */
    size_t count = 3u * 700u * 700u;
    uint8_t *big = malloc(16 + count);
    REQUIRE(big != NULL);
    size_t n = make_idx(big, IDX_TYPE_U8, 3, dbig, count);
    write_plain(path, big, n);
    check_loads("1.4 MiB plain", 3, dbig, count);
    write_gz(path, big, n);
    check_loads("1.4 MiB gzipped", 3, dbig, count);
    free(big);
}

static void test_rejections(void)
{
    static uint8_t buf[4096];
    const uint32_t d3[] = {3, 5, 4};
    size_t n = make_idx(buf, IDX_TYPE_U8, 3, d3, 60);

    printf("rejections:\n");
    uint8_t bad[4096];
    memcpy(bad, buf, n);
    bad[0] = 0x01;
    write_plain(path, bad, n);
    check_fails("bad magic", IDX_E_FORMAT, "magic");

    write_gz(path, buf, n); /* now gzip that gzip file: the content starts 1F 8B */
    size_t gn;
    uint8_t *g = read_all(path, &gn);
    write_gz(path, g, gn);
    free(g);
    check_fails("gzipped twice", IDX_E_FORMAT, "twice");

    memcpy(bad, buf, n);
    bad[2] = 0x0D;
    write_plain(path, bad, n);
    check_fails("float32 type", IDX_E_FORMAT, "float32");
    bad[2] = 0x42;
    write_plain(path, bad, n);
    check_fails("unknown type", IDX_E_FORMAT, "0x42");

    uint8_t h0[] = {0, 0, 8, 0, 1, 2, 3};
    write_plain(path, h0, sizeof h0);
    check_fails("ndims 0", IDX_E_FORMAT, "dimensions");
    const uint32_t d5[] = {1, 1, 1, 1, 1};
    size_t n5 = make_idx(bad, IDX_TYPE_U8, 5, d5, 1);
    write_plain(path, bad, n5);
    check_fails("ndims 5", IDX_E_FORMAT, "dimensions");

    const uint32_t dz[] = {3, 0, 4};
    write_plain(path, bad, make_idx(bad, IDX_TYPE_U8, 3, dz, 0));
    check_fails("zero dimension", IDX_E_FORMAT, "is 0");

    const uint32_t dover[] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
    write_plain(path, bad, make_idx(bad, IDX_TYPE_U8, 4, dover, 16));
    check_fails("product overflows 64 bits", IDX_E_TOO_LARGE, "1 GiB");
    const uint32_t dgib[] = {1024, 1024, 1025};
    write_plain(path, bad, make_idx(bad, IDX_TYPE_U8, 3, dgib, 16));
    check_fails("just over 1 GiB", IDX_E_TOO_LARGE, "1 GiB");
    const uint32_t done[] = {0x40000001u};
    write_plain(path, bad, make_idx(bad, IDX_TYPE_U8, 1, done, 16));
    check_fails("one dim over 1 GiB", IDX_E_TOO_LARGE, "1 GiB");
    /* exactly 1 GiB is allowed by the header; the missing data is the error,
     * found without allocating the gigabyte */
    const uint32_t dexact[] = {1024, 1024, 1024};
    write_plain(path, bad, make_idx(bad, IDX_TYPE_U8, 3, dexact, 100));
    check_fails("1 GiB header, 100 bytes", IDX_E_TRUNCATED, "100 of the 1073741824");

    write_plain(path, buf, n - 1);
    check_fails("data short by one byte", IDX_E_TRUNCATED, "59 of the 60");
    write_gz(path, buf, n - 1);
    check_fails("gzipped, short by one byte", IDX_E_TRUNCATED, "59 of the 60");
    write_plain(path, buf, 10);
    check_fails("header cut in the dims", IDX_E_TRUNCATED, "header");
    write_plain(path, buf, 2);
    check_fails("cut in the magic", IDX_E_TRUNCATED, "magic");
    write_plain(path, buf, 0);
    check_fails("empty file", IDX_E_TRUNCATED, "empty");

    write_gz(path, buf, n); /* a gzip stream cut in half */
    g = read_all(path, &gn);
    write_plain(path, g, gn / 2);
    check_fails("gzip stream cut in half", IDX_E_TRUNCATED, "cut short");
    g[gn - 8] ^= 0xFF; /* the CRC-32 in the gzip trailer */
    write_plain(path, g, gn);
    check_fails("gzip CRC mismatch", IDX_E_READ, "gzip");
    free(g);

    memcpy(bad, buf, n);
    bad[n] = 0xAB;
    write_plain(path, bad, n + 1);
    check_fails("one trailing byte", IDX_E_TRAILING, "unexpected bytes");
    write_gz(path, bad, n + 1);
    check_fails("gzipped, one trailing byte", IDX_E_TRAILING, "unexpected bytes");

    snprintf(path, sizeof path, "%s/no-such-file.gz", dir);
    check_fails("missing file", IDX_E_OPEN, "no-such-file.gz");
    snprintf(path, sizeof path, "%s", dir);
    check_fails("a directory", IDX_E_READ, "Is a directory");
    snprintf(path, sizeof path, "%s/test.idx", dir);

    idx_array a;
    char err[256];
    CHECK(idx_load(NULL, &a, err, sizeof err) == IDX_E_ARG && err[0] && all_zero(&a));
    CHECK(idx_load(path, NULL, err, sizeof err) == IDX_E_ARG && err[0]);
    CHECK(idx_load(NULL, &a, NULL, 0) == IDX_E_ARG); /* no message buffer is fine */
    idx_free(NULL);
    CHECK(strcmp(idx_status_str(IDX_E_TRAILING), "IDX_E_TRAILING") == 0);
}

/* ------------------------------------------------------------ robustness */

static void mutate(ex_rng *r, uint8_t *b, size_t *n, size_t cap)
{
    static const uint8_t interesting[] = {0, 1, 2, 3, 4, 5, 8, 0x0D, 0x40, 0x7F, 0x80, 0xFF};
    int ops = 1 + (int)ex_rng_below(r, 4);
    for (int k = 0; k < ops; k++) {
        switch (ex_rng_below(r, 6)) {
        case 0: /* flip a bit */
            if (*n)
                b[ex_rng_below(r, (uint32_t)*n)] ^= (uint8_t)(1u << ex_rng_below(r, 8));
            break;
        case 1: /* a random byte */
            if (*n)
                b[ex_rng_below(r, (uint32_t)*n)] = (uint8_t)ex_rng_next(r);
            break;
        case 2: /* an interesting value in the header, where it matters most */
            if (*n)
                b[ex_rng_below(r, (uint32_t)(*n < 20 ? *n : 20))] = interesting[ex_rng_below(r, sizeof interesting)];
            break;
        case 3: /* truncate */
            *n = ex_rng_below(r, (uint32_t)*n + 1);
            break;
        case 4: /* append garbage */
            for (uint32_t e = 1 + ex_rng_below(r, 8); e > 0 && *n < cap; e--)
                b[(*n)++] = (uint8_t)ex_rng_next(r);
            break;
        default: /* bytes - 1 or + 1 somewhere */
            if (*n)
                b[ex_rng_below(r, (uint32_t)*n)] += ex_rng_below(r, 2) ? 1 : 0xFF;
            break;
        }
    }
}

static void test_fuzz(void)
{
    enum { ITER = 2000, CAP = 4096 };
    static uint8_t base[CAP], b[CAP];
    const uint32_t d3[] = {3, 5, 4};
    size_t base_n = make_idx(base, IDX_TYPE_U8, 3, d3, 60);
    int outcomes[9] = {0};
    int bad = 0;
    ex_rng r;
    ex_rng_seed(&r, 12345, 1, 0);
    for (int it = 0; it < ITER; it++) {
        int mode = it % 3; /* mutated plain, mutated then gzipped, gzipped then mutated */
        size_t n = base_n;
        if (mode == 2) {
            write_gz(path, base, base_n);
            uint8_t *g = read_all(path, &n);
            REQUIRE(n <= CAP - 16);
            memcpy(b, g, n);
            free(g);
        } else {
            memcpy(b, base, n);
        }
        mutate(&r, b, &n, CAP);
        (mode == 1 ? write_gz : write_plain)(path, b, n);

        idx_array a;
        char err[512] = "";
        int rc = idx_load(path, &a, err, sizeof err);
        if (rc == IDX_OK) {
            size_t prod = 1;
            int ok = a.ndims >= 1 && a.ndims <= IDX_MAX_DIMS && a.data != NULL;
            for (int i = 0; ok && i < a.ndims; i++) {
                ok &= a.dims[i] >= 1;
                prod *= (size_t)a.dims[i];
            }
            ok &= prod == a.count && a.count <= IDX_MAX_BYTES;
            if (ok && mode == 0) /* a plain file is exactly header + data */
                ok &= n == 4 + 4 * (size_t)a.ndims + a.count;
            unsigned sum = 0;
            for (size_t i = 0; ok && i < a.count; i++) /* every byte readable (ASan) */
                sum += a.data[i];
            (void)sum;
            if (!ok) {
                bad++;
                fprintf(stderr, "fuzz %d: loaded an inconsistent array\n", it);
            }
            idx_free(&a);
            outcomes[0]++;
        } else {
            int known = rc <= IDX_E_ARG && rc >= IDX_E_NOMEM;
            if (!known || !err[0] || !all_zero(&a)) {
                bad++;
                fprintf(stderr, "fuzz %d: code %d, message '%s'\n", it, rc, err);
            }
            if (known)
                outcomes[-rc]++;
        }
    }
    CHECK(bad == 0);
    printf("fuzz: %d mutated files:", ITER);
    for (int c = 0; c <= 8; c++)
        if (outcomes[c])
            printf(" %s %d", idx_status_str(-c), outcomes[c]);
    printf("\n");
    /* the mutations must reach both outcomes, or the loop tests little */
    CHECK(outcomes[0] > 0 && outcomes[0] < ITER);
}

/* ------------------------------------------------------------ Fashion-MNIST */

static void test_fashion_mnist(void)
{
    idx_array a;
    char err[1024];

    /* An override directory without the files: the message names the file,
     * the variable and the package. */
    REQUIRE(setenv(FMNIST_DIR_ENV, dir, 1) == 0);
    int rc = fmnist_load_images(FMNIST_TRAIN, &a, err, sizeof err);
    printf("missing (override):  %s\n", err);
    CHECK(rc == IDX_E_OPEN);
    CHECK(strstr(err, "train-images-idx3-ubyte.gz") && strstr(err, FMNIST_DIR_ENV) && strstr(err, FMNIST_PACKAGE));

    /* An uncompressed file found there is used. */
    static uint8_t buf[256];
    const uint32_t d[] = {2, 4, 3};
    char p[700];
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte", dir);
    write_plain(p, buf, make_idx(buf, IDX_TYPE_U8, 3, d, 24));
    rc = fmnist_load_images(FMNIST_TEST, &a, err, sizeof err);
    CHECK_MSG(rc == IDX_OK && a.dims[0] == 2 && a.dims[1] == 4 && a.dims[2] == 3, err);
    idx_free(&a);
    /* labels must be classes 0..9; these bytes (i*7+3) are not */
    snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte", dir);
    const uint32_t dl[] = {5};
    write_plain(p, buf, make_idx(buf, IDX_TYPE_U8, 1, dl, 5));
    rc = fmnist_load_labels(FMNIST_TEST, &a, err, sizeof err);
    printf("bad labels:          %s\n", err);
    CHECK(rc == IDX_E_FORMAT && all_zero(&a));
    /* images in the labels' shape are refused */
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte", dir);
    write_plain(p, buf, make_idx(buf, IDX_TYPE_U8, 1, dl, 5));
    CHECK(fmnist_load_images(FMNIST_TEST, &a, err, sizeof err) == IDX_E_FORMAT && all_zero(&a));
    CHECK(fmnist_load_images((fmnist_split)7, &a, err, sizeof err) == IDX_E_ARG);
    remove(p);
    snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte", dir);
    remove(p);

    REQUIRE(unsetenv(FMNIST_DIR_ENV) == 0);
    CHECK(strcmp(fmnist_dir(), FMNIST_DEFAULT_DIR) == 0);
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte.gz", FMNIST_DEFAULT_DIR);
    if (access(p, R_OK) != 0) {
        printf("the real Fashion-MNIST is not installed (%s): those checks skipped\n", p);
        return;
    }
    rc = fmnist_load_images(FMNIST_TRAIN, &a, err, sizeof err);
    CHECK_MSG(rc == IDX_OK, err);
    CHECK(a.ndims == 3 && a.dims[0] == 60000 && a.dims[1] == 28 && a.dims[2] == 28);
    CHECK(a.count == (size_t)60000 * 28 * 28);
    size_t nonzero = 0;
    for (size_t i = 0; i < a.count; i++)
        nonzero += a.data[i] != 0;
    CHECK(nonzero > a.count / 4); /* real pictures, not a zero-filled buffer */
    idx_free(&a);

    rc = fmnist_load_labels(FMNIST_TEST, &a, err, sizeof err);
    CHECK_MSG(rc == IDX_OK, err);
    CHECK(a.ndims == 1 && a.dims[0] == 10000);
    int per_class[10] = {0};
    for (size_t i = 0; rc == IDX_OK && i < a.count; i++)
        per_class[a.data[i]]++;
    for (int c = 0; c < 10; c++)
        CHECK(per_class[c] == 1000); /* the test split is balanced */
    idx_free(&a);
    printf("real Fashion-MNIST: train images 60000x28x28 and balanced test labels loaded\n");
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/seqattn-idx-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/test.idx", dir);

    test_round_trip();
    test_rejections();
    test_fuzz();
    test_fashion_mnist();

    remove(path);
    CHECK(rmdir(dir) == 0);
    return dt_report();
}
