/* test_moving_mnist.c — the Moving MNIST generator (examples/data/moving_mnist.c)
 * and its PGM preview: determinism, independence of sequences, values in
 * [0, 1], frames that match an independent rendering of mm_trajectory's
 * positions (max composition, downsampling), bouncing within the canvas at
 * high speed, and every invalid config or argument refused with a message.
 * Uses synthetic images, plus the real Fashion-MNIST when it is installed. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datatest.h"
#include "fashion_mnist.h"
#include "moving_mnist.h"
#include "pgm_strip.h"
#include "rng.h"

/* n images of h x w; fill: 0 = random bytes, 1 = never zero (any pixel of an
 * item is visible), 2 = a smooth gradient (for exact rendering checks) */
static idx_array make_images(int32_t n, int32_t h, int32_t w, int fill)
{
    idx_array a;
    memset(&a, 0, sizeof a);
    a.ndims = 3;
    a.dims[0] = n;
    a.dims[1] = h;
    a.dims[2] = w;
    a.count = (size_t)n * (size_t)h * (size_t)w;
    a.data = malloc(a.count);
    REQUIRE(a.data != NULL);
    ex_rng r;
    ex_rng_seed(&r, 99, 7, (uint64_t)fill);
    for (size_t i = 0; i < a.count; i++) {
        size_t y = i / (size_t)w % (size_t)h, x = i % (size_t)w;
        if (fill == 0)
            a.data[i] = (uint8_t)ex_rng_next(&r);
        else if (fill == 1)
            a.data[i] = (uint8_t)(1 + ex_rng_below(&r, 255));
        else
            a.data[i] = (uint8_t)(8 * y + 3 * x + 1);
    }
    return a;
}

static float *gen(const mm_config *c, const idx_array *img, int32_t first, int32_t count)
{
    size_t n = (size_t)count * (size_t)c->frames * mm_frame_floats(c);
    float *f = malloc(n * sizeof(float));
    REQUIRE(f != NULL);
    char err[512];
    int rc = mm_generate(c, img, first, count, f, err, sizeof err);
    CHECK_MSG(rc == MM_OK, err);
    if (rc != MM_OK)
        memset(f, 0, n * sizeof(float));
    return f;
}

static void test_defaults(void)
{
    mm_config c = mm_config_default();
    CHECK(c.canvas == 64 && c.frames == 100 && c.items == 2 && c.item_downsample == 1);
    CHECK(c.speed > 1.9 && c.speed < 3.1);
    CHECK(mm_config_check(&c, NULL, NULL, 0) == MM_OK);
    CHECK(mm_frame_floats(&c) == 64 * 64);
}

static void test_determinism(void)
{
    idx_array img = make_images(50, 28, 28, 0);
    mm_config c = mm_config_default();
    c.frames = 20;
    c.seed = 42;
    size_t seq = (size_t)c.frames * mm_frame_floats(&c);
    float *a = gen(&c, &img, 0, 4);
    float *b = gen(&c, &img, 0, 4);
    CHECK(memcmp(a, b, 4 * seq * sizeof(float)) == 0);

    /* sequence 2 alone, or as part of another batch, is the same sequence */
    float *one = gen(&c, &img, 2, 1);
    CHECK(memcmp(one, a + 2 * seq, seq * sizeof(float)) == 0);
    float *later = gen(&c, &img, 1, 3);
    CHECK(memcmp(later, a + seq, 3 * seq * sizeof(float)) == 0);
    /* sequences differ from each other */
    CHECK(memcmp(a, a + seq, seq * sizeof(float)) != 0);

    c.seed = 43;
    float *d = gen(&c, &img, 0, 4);
    for (int s = 0; s < 4; s++)
        CHECK(memcmp(a + s * seq, d + s * seq, seq * sizeof(float)) != 0);

    /* the motion does not depend on the images: same trajectory, other set */
    int32_t xy1[20 * 2 * 2], xy2[20 * 2 * 2];
    char err[256];
    CHECK(mm_trajectory(&c, 28, 28, 3, xy1, err, sizeof err) == MM_OK);
    CHECK(mm_trajectory(&c, 28, 28, 3, xy2, err, sizeof err) == MM_OK);
    CHECK(memcmp(xy1, xy2, sizeof xy1) == 0);
    free(a);
    free(b);
    free(one);
    free(later);
    free(d);
    idx_free(&img);
}

/* Renders sequence `index` from mm_trajectory's positions independently of
 * mm_generate; with a single image, every item shows that image. */
static void check_rendering(int32_t S, int32_t ds, double speed)
{
    idx_array img = make_images(1, 28, 28, 2);
    mm_config c = mm_config_default();
    c.canvas = S;
    c.item_downsample = ds;
    c.speed = speed;
    c.frames = 40;
    c.items = 3;
    const int32_t index = 5, P = 28 / ds;
    float *f = gen(&c, &img, index, 1);

    float patch[28 * 28];
    for (int32_t i = 0; i < P; i++)
        for (int32_t j = 0; j < P; j++) {
            unsigned sum = 0;
            for (int32_t a = 0; a < ds; a++)
                for (int32_t b = 0; b < ds; b++)
                    sum += img.data[(i * ds + a) * 28 + j * ds + b];
            patch[i * P + j] = (float)((double)sum / (255.0 * ds * ds));
        }
    int32_t *xy = malloc((size_t)c.frames * (size_t)c.items * 2 * sizeof(int32_t));
    REQUIRE(xy != NULL);
    char err[256];
    CHECK_MSG(mm_trajectory(&c, P, P, index, xy, err, sizeof err) == MM_OK, err);
    int mismatches = 0;
    for (int32_t t = 0; t < c.frames; t++)
        for (int32_t y = 0; y < S; y++)
            for (int32_t x = 0; x < S; x++) {
                float want = 0.0f;
                for (int32_t k = 0; k < c.items; k++) {
                    int32_t x0 = xy[(t * c.items + k) * 2], y0 = xy[(t * c.items + k) * 2 + 1];
                    if (x >= x0 && x < x0 + P && y >= y0 && y < y0 + P) {
                        float v = patch[(y - y0) * P + (x - x0)];
                        want = v > want ? v : want;
                    }
                }
                mismatches += f[((size_t)t * S + y) * S + x] != want;
            }
    if (mismatches)
        fprintf(stderr, "rendering S=%d ds=%d: %d pixels differ\n", (int)S, (int)ds, mismatches);
    CHECK(mismatches == 0);
    free(xy);
    free(f);
    idx_free(&img);
}

/* Values in [0, 1], every frame shows something, nothing outside the items. */
static void check_frames(const mm_config *c, const idx_array *img, int32_t count, int never_zero)
{
    float *f = gen(c, img, 0, count);
    int32_t P = img->dims[1] / c->item_downsample;
    int32_t *xy = malloc((size_t)c->frames * (size_t)c->items * 2 * sizeof(int32_t));
    REQUIRE(xy != NULL);
    int out_of_range = 0, empty = 0, outside = 0, hidden = 0;
    for (int32_t s = 0; s < count; s++) {
        REQUIRE(mm_trajectory(c, P, P, s, xy, NULL, 0) == MM_OK);
        for (int32_t t = 0; t < c->frames; t++) {
            const float *fr = f + ((size_t)s * c->frames + t) * mm_frame_floats(c);
            double sum = 0.0;
            for (int32_t y = 0; y < c->canvas; y++)
                for (int32_t x = 0; x < c->canvas; x++) {
                    float v = fr[y * c->canvas + x];
                    out_of_range += !(v >= 0.0f && v <= 1.0f);
                    sum += v;
                    int covered = 0;
                    for (int32_t k = 0; k < c->items; k++) {
                        int32_t x0 = xy[(t * c->items + k) * 2], y0 = xy[(t * c->items + k) * 2 + 1];
                        covered |= x >= x0 && x < x0 + P && y >= y0 && y < y0 + P;
                    }
                    outside += !covered && v != 0.0f;
                    hidden += never_zero && covered && v == 0.0f;
                }
            empty += !(sum > 0.0);
        }
    }
    CHECK(out_of_range == 0);
    CHECK(empty == 0);
    CHECK(outside == 0);
    CHECK(hidden == 0);
    free(xy);
    free(f);
}

static void test_frames(void)
{
    idx_array img = make_images(30, 28, 28, 1);
    mm_config c = mm_config_default();
    check_frames(&c, &img, 6, 1);
    c.canvas = 32;
    c.item_downsample = 2;
    check_frames(&c, &img, 6, 1);
    idx_free(&img);

    img = make_images(30, 28, 28, 0); /* full 0..255 range: exactly 0 and 1 occur */
    c = mm_config_default();
    check_frames(&c, &img, 4, 0);
    idx_free(&img);

    check_rendering(64, 1, 3.0);
    check_rendering(32, 2, 2.0);
    check_rendering(28, 1, 4.0); /* no room at all: the items stay put */
    check_rendering(40, 4, 7.5);
}

/* Fast items still stay inside, move at the set speed and turn at walls. */
static void test_bouncing(void)
{
    const double speeds[] = {2.5, 9.0, 30.0, 36.0};
    for (size_t si = 0; si < sizeof speeds / sizeof speeds[0]; si++) {
        mm_config c = mm_config_default();
        c.speed = speeds[si];
        c.items = 2;
        const int32_t P = 28, room = c.canvas - P;
        int32_t xy[100 * 2 * 2];
        int out = 0, too_fast = 0, turned = 0, seqs = 20;
        for (int32_t s = 0; s < seqs; s++) {
            REQUIRE(mm_trajectory(&c, P, P, s, xy, NULL, 0) == MM_OK);
            for (int32_t k = 0; k < c.items; k++) {
                int turns = 0;
                for (int32_t t = 0; t < c.frames; t++) {
                    const int32_t *p = xy + (t * c.items + k) * 2;
                    out += p[0] < 0 || p[0] > room || p[1] < 0 || p[1] > room;
                    if (t == 0)
                        continue;
                    const int32_t *q = p - c.items * 2;
                    double dx = p[0] - q[0], dy = p[1] - q[1];
                    /* whole-pixel rounding adds at most half a pixel at each end */
                    too_fast += sqrt(dx * dx + dy * dy) > c.speed + 1.5;
                    if (t >= 2) {
                        const int32_t *o = q - c.items * 2;
                        turns += (double)(q[0] - o[0]) * dx < 0 || (double)(q[1] - o[1]) * dy < 0;
                    }
                }
                turned += turns > 0;
            }
        }
        CHECK(out == 0);
        CHECK(too_fast == 0);
        /* 100 frames cover >= 250 px in a 36 px room: every item bounces */
        if (turned != seqs * c.items)
            fprintf(stderr, "speed %g: %d of %d items never turned\n", c.speed, turned, seqs * c.items);
        CHECK(turned == seqs * c.items);
    }
    /* speed 0: nothing moves */
    mm_config c = mm_config_default();
    c.speed = 0.0;
    int32_t xy[100 * 2 * 2];
    REQUIRE(mm_trajectory(&c, 28, 28, 0, xy, NULL, 0) == MM_OK);
    int moved = 0;
    for (int t = 1; t < 100; t++)
        moved += memcmp(xy + t * 4, xy, 4 * sizeof(int32_t)) != 0;
    CHECK(moved == 0);
}

/* A config change that must be refused with `want`, a message, and out untouched. */
static void check_refused(const char *what, const mm_config *c, const idx_array *img, int32_t first, int32_t count,
                          float *out, int want)
{
    char err[512] = "";
    out[0] = 123.0f;
    int rc = mm_generate(c, img, first, count, out, err, sizeof err);
    printf("  %-26s %d  %s\n", what, rc, err);
    CHECK(rc == want);
    CHECK(err[0] != '\0');
    CHECK(out[0] == 123.0f);
}

static void test_invalid(void)
{
    idx_array img = make_images(3, 28, 28, 1);
    static float out[64 * 64];
    mm_config c;
    printf("refused:\n");
#define BAD(field, value, want)                                                                        \
    do {                                                                                               \
        c = mm_config_default();                                                                       \
        c.field = value;                                                                               \
        check_refused(#field " = " #value, &c, &img, 0, 1, out, want);                                \
    } while (0)
    BAD(canvas, 0, MM_E_ARG);
    BAD(canvas, -5, MM_E_ARG);
    BAD(canvas, MM_MAX_CANVAS + 1, MM_E_ARG);
    BAD(canvas, 27, MM_E_IMAGES); /* 28 x 28 items do not fit */
    BAD(frames, 0, MM_E_ARG);
    BAD(items, 0, MM_E_ARG);
    BAD(items, MM_MAX_ITEMS + 1, MM_E_ARG);
    BAD(item_downsample, 0, MM_E_ARG);
    BAD(item_downsample, 3, MM_E_IMAGES); /* does not divide 28 */
    BAD(speed, -1.0, MM_E_ARG);
    BAD(speed, NAN, MM_E_ARG);
    BAD(speed, INFINITY, MM_E_ARG);
    BAD(speed, 65.0, MM_E_ARG);
#undef BAD
    c = mm_config_default();
    c.canvas = 14; /* fits only downsampled */
    c.item_downsample = 2;
    char err[512];
    CHECK(mm_config_check(&c, &img, err, sizeof err) == MM_OK);

    c = mm_config_default();
    check_refused("first_index -1", &c, &img, -1, 1, out, MM_E_ARG);
    check_refused("count -1", &c, &img, 0, -1, out, MM_E_ARG);
    check_refused("indices overflow int32", &c, &img, INT32_MAX, 2, out, MM_E_ARG);
    check_refused("NULL config", NULL, &img, 0, 1, out, MM_E_ARG);
    check_refused("NULL images", &c, NULL, 0, 1, out, MM_E_ARG);
    CHECK(mm_generate(&c, &img, 0, 1, NULL, err, sizeof err) == MM_E_ARG && err[0]);
    CHECK(mm_generate(&c, &img, 0, 0, NULL, err, sizeof err) == MM_OK); /* nothing to do */
    /* the last index, INT32_MAX, is valid (a 1-frame 28 x 28 config fits out) */
    mm_config tiny = mm_config_default();
    tiny.canvas = 28;
    tiny.frames = 1;
    CHECK_MSG(mm_generate(&tiny, &img, INT32_MAX, 1, out, err, sizeof err) == MM_OK, err);

    idx_array flat = img;
    flat.ndims = 2;
    check_refused("2-D images", &c, &flat, 0, 1, out, MM_E_IMAGES);
    idx_array empty;
    memset(&empty, 0, sizeof empty);
    check_refused("unloaded images", &c, &empty, 0, 1, out, MM_E_IMAGES);
    idx_array lying = img;
    lying.count = 5;
    check_refused("dims and count disagree", &c, &lying, 0, 1, out, MM_E_IMAGES);

    int32_t xy[8];
    CHECK(mm_trajectory(&c, c.canvas + 1, 28, 0, xy, err, sizeof err) == MM_E_ARG && err[0]);
    CHECK(mm_trajectory(&c, 0, 28, 0, xy, err, sizeof err) == MM_E_ARG && err[0]);
    CHECK(mm_trajectory(&c, 28, 28, -1, xy, err, sizeof err) == MM_E_ARG && err[0]);
    CHECK(mm_trajectory(&c, 28, 28, 0, NULL, err, sizeof err) == MM_E_ARG && err[0]);
    idx_free(&img);
}

static void test_pgm(void)
{
    idx_array img = make_images(10, 28, 28, 1);
    mm_config c = mm_config_default();
    c.canvas = 32;
    c.item_downsample = 2;
    c.frames = 20;
    float *f = gen(&c, &img, 0, 3);
    const char *tmp = getenv("TMPDIR");
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/seqattn-mm-%ld.pgm", tmp && tmp[0] ? tmp : "/tmp", (long)getpid());
    CHECK_MSG(mm_write_pgm_strip(path, f, 3, 20, 32, 5, err, sizeof err) == MM_OK, err);

    /* 4 frames per row (0, 5, 10, 15), 3 rows, 2-pixel separators */
    FILE *in = fopen(path, "rb");
    REQUIRE(in != NULL);
    char magic[3] = "";
    int w = 0, h = 0, maxv = 0;
    CHECK(fscanf(in, "%2s", magic) == 1 && strcmp(magic, "P5") == 0);
    int ch = fgetc(in);
    while (ch == '\n' || ch == ' ')
        ch = fgetc(in);
    if (ch == '#')
        while (ch != '\n' && ch != EOF)
            ch = fgetc(in);
    CHECK(fscanf(in, "%d %d %d", &w, &h, &maxv) == 3);
    CHECK(w == 4 * 32 + 3 * MM_PGM_GAP && h == 3 * 32 + 2 * MM_PGM_GAP && maxv == 255);
    fgetc(in);
    long start = ftell(in);
    fseek(in, 0, SEEK_END);
    CHECK(ftell(in) - start == (long)w * h);
    fclose(in);
    remove(path);

    CHECK(mm_write_pgm_strip("/nonexistent-dir/x.pgm", f, 1, 20, 32, 5, err, sizeof err) == MM_E_IO);
    CHECK(strstr(err, "/nonexistent-dir/x.pgm") != NULL);
    CHECK(mm_write_pgm_strip(path, f, 0, 20, 32, 5, err, sizeof err) == MM_E_ARG && err[0]);
    CHECK(mm_write_pgm_strip(path, f, 1, 20, 32, 0, err, sizeof err) == MM_E_ARG && err[0]);
    CHECK(mm_write_pgm_strip(path, NULL, 1, 20, 32, 5, err, sizeof err) == MM_E_ARG && err[0]);
    CHECK(mm_write_pgm_strip(path, f, 1, 100000, 1000, 1, err, sizeof err) == MM_E_ARG && err[0]); /* too wide */
    CHECK(access(path, F_OK) != 0); /* refused before creating anything */
    free(f);
    idx_free(&img);
}

static void test_real_data(void)
{
    char p[600];
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte.gz", fmnist_dir());
    if (access(p, R_OK) != 0) {
        printf("the real Fashion-MNIST is not installed (%s): those checks skipped\n", p);
        return;
    }
    idx_array img;
    char err[1024];
    REQUIRE(fmnist_load_images(FMNIST_TRAIN, &img, err, sizeof err) == IDX_OK);
    mm_config c = mm_config_default();
    check_frames(&c, &img, 8, 0);
    c.canvas = 32;
    c.item_downsample = 2;
    check_frames(&c, &img, 8, 0);
    idx_free(&img);
    printf("real Fashion-MNIST: frames checked\n");
}

int main(void)
{
    test_defaults();
    test_determinism();
    test_frames();
    test_bouncing();
    test_invalid();
    test_pgm();
    test_real_data();
    return dt_report();
}
