/* moving_mnist.c — sequence generation for moving_mnist.h. */
#include "moving_mnist.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../rng.h"

/* ex_rng stream ids: one for the choice of images, one for the motion, so
 * either can change without disturbing the other. */
#define STREAM_PICK 0x4D4D5049ull   /* "MMPI" */
#define STREAM_MOTION 0x4D4D4D4Full /* "MMMO" */

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

mm_config mm_config_default(void)
{
    mm_config c;
    c.canvas = 64;
    c.frames = 100;
    c.items = 2;
    c.item_downsample = 1;
    c.speed = 3.0;
    c.seed = 1;
    return c;
}

size_t mm_frame_floats(const mm_config *cfg)
{
    return cfg ? (size_t)cfg->canvas * (size_t)cfg->canvas : 0;
}

static int check_alone(const mm_config *c, char *err, size_t errlen)
{
    if (!c)
        return fail(err, errlen, MM_E_ARG, "moving_mnist: config is NULL");
    if (c->canvas < 1 || c->canvas > MM_MAX_CANVAS)
        return fail(err, errlen, MM_E_ARG, "moving_mnist: canvas is %d; it must be 1..%d", (int)c->canvas,
                    MM_MAX_CANVAS);
    if (c->frames < 1)
        return fail(err, errlen, MM_E_ARG, "moving_mnist: frames is %d; it must be >= 1", (int)c->frames);
    if (c->items < 1 || c->items > MM_MAX_ITEMS)
        return fail(err, errlen, MM_E_ARG, "moving_mnist: items is %d; it must be 1..%d", (int)c->items,
                    MM_MAX_ITEMS);
    if (c->item_downsample < 1)
        return fail(err, errlen, MM_E_ARG, "moving_mnist: item_downsample is %d; it must be >= 1",
                    (int)c->item_downsample);
    /* Written so that NaN fails too. Faster than the canvas is no longer motion. */
    if (!(c->speed >= 0.0 && c->speed <= (double)c->canvas))
        return fail(err, errlen, MM_E_ARG, "moving_mnist: speed is %g px/frame; it must be 0..canvas (%d)",
                    c->speed, (int)c->canvas);
    return MM_OK;
}

int mm_config_check(const mm_config *c, const idx_array *images, char *err, size_t errlen)
{
    int rc = check_alone(c, err, errlen);
    if (rc != MM_OK || !images)
        return rc;
    if (images->ndims != 3 || !images->data)
        return fail(err, errlen, MM_E_IMAGES,
                    "moving_mnist: the images must be a loaded [N, H, W] array; this one has %d dimensions%s",
                    images->ndims, images->data ? "" : " and no data");
    int32_t n = images->dims[0], h = images->dims[1], w = images->dims[2];
    if (n < 1 || h < 1 || w < 1 || images->count != (size_t)n * (size_t)h * (size_t)w)
        return fail(err, errlen, MM_E_IMAGES, "moving_mnist: the image array's dims and count disagree");
    int32_t ds = c->item_downsample;
    if (h % ds != 0 || w % ds != 0)
        return fail(err, errlen, MM_E_IMAGES,
                    "moving_mnist: item_downsample %d does not divide the %d x %d images (use a divisor, e.g. 2)",
                    (int)ds, (int)h, (int)w);
    if (h / ds > c->canvas || w / ds > c->canvas)
        return fail(err, errlen, MM_E_IMAGES,
                    "moving_mnist: %d x %d items (%d x %d downsampled by %d) do not fit on a %d x %d canvas; "
                    "enlarge the canvas or raise item_downsample",
                    (int)(h / ds), (int)(w / ds), (int)h, (int)w, (int)ds, (int)c->canvas, (int)c->canvas);
    return MM_OK;
}

/* ------------------------------------------------------------ motion */

typedef struct motion {
    double x, y, vx, vy;
    double room_x, room_y; /* the top-left corner moves in [0, room] */
} motion;

/* Reflects off the walls. A reflection alone can still overshoot when the
 * speed exceeds the room (a narrow canvas), so the clamp keeps the item on the
 * canvas in every case. */
static void bounce(double *p, double *v, double room)
{
    if (*p < 0.0) {
        *p = -*p;
        *v = -*v;
    } else if (*p > room) {
        *p = 2.0 * room - *p;
        *v = -*v;
    }
    if (*p < 0.0)
        *p = 0.0;
    else if (*p > room)
        *p = room;
}

static void motion_init(motion *m, const mm_config *c, int32_t item_h, int32_t item_w, int32_t index)
{
    ex_rng r;
    ex_rng_seed(&r, c->seed, STREAM_MOTION, (uint64_t)index);
    for (int32_t k = 0; k < c->items; k++) {
        m[k].room_x = (double)(c->canvas - item_w);
        m[k].room_y = (double)(c->canvas - item_h);
        m[k].x = ex_rng_uniform(&r, 0.0, m[k].room_x);
        m[k].y = ex_rng_uniform(&r, 0.0, m[k].room_y);
        double theta = ex_rng_uniform(&r, 0.0, 6.283185307179586);
        m[k].vx = c->speed * cos(theta);
        m[k].vy = c->speed * sin(theta);
    }
}

static void motion_step(motion *m)
{
    m->x += m->vx;
    m->y += m->vy;
    bounce(&m->x, &m->vx, m->room_x);
    bounce(&m->y, &m->vy, m->room_y);
}

/* Whole pixels, as in the standard recipe: x in [0, room] rounds into [0, room]. */
static int32_t pixel(double p)
{
    return (int32_t)lround(p);
}

int mm_trajectory(const mm_config *c, int32_t item_h, int32_t item_w, int32_t index, int32_t *xy, char *err,
                  size_t errlen)
{
    int rc = check_alone(c, err, errlen);
    if (rc != MM_OK)
        return rc;
    if (item_h < 1 || item_w < 1 || item_h > c->canvas || item_w > c->canvas)
        return fail(err, errlen, MM_E_ARG, "mm_trajectory: a %d x %d item does not fit on a %d x %d canvas",
                    (int)item_h, (int)item_w, (int)c->canvas, (int)c->canvas);
    if (index < 0)
        return fail(err, errlen, MM_E_ARG, "mm_trajectory: sequence index %d is negative", (int)index);
    if (!xy)
        return fail(err, errlen, MM_E_ARG, "mm_trajectory: xy is NULL");
    motion m[MM_MAX_ITEMS];
    motion_init(m, c, item_h, item_w, index);
    for (int32_t t = 0; t < c->frames; t++)
        for (int32_t k = 0; k < c->items; k++) {
            int32_t *p = xy + ((size_t)t * (size_t)c->items + (size_t)k) * 2;
            p[0] = pixel(m[k].x);
            p[1] = pixel(m[k].y);
            motion_step(&m[k]);
        }
    return MM_OK;
}

/* ------------------------------------------------------------ generation */

/* Box-filter downsampling of image `img` by ds into patch [h/ds, w/ds], in [0, 1].
 * Dividing in double makes a full-white block exactly 1.0f. */
static void make_patch(float *patch, const idx_array *images, int32_t img, int32_t ds)
{
    int32_t h = images->dims[1], w = images->dims[2], ph = h / ds, pw = w / ds;
    const uint8_t *src = images->data + (size_t)img * (size_t)h * (size_t)w;
    double scale = 1.0 / (255.0 * (double)ds * (double)ds);
    for (int32_t i = 0; i < ph; i++)
        for (int32_t j = 0; j < pw; j++) {
            unsigned sum = 0;
            for (int32_t a = 0; a < ds; a++)
                for (int32_t b = 0; b < ds; b++)
                    sum += src[(size_t)(i * ds + a) * (size_t)w + (size_t)(j * ds + b)];
            patch[(size_t)i * (size_t)pw + (size_t)j] = (float)((double)sum * scale);
        }
}

int mm_generate(const mm_config *c, const idx_array *images, int32_t first_index, int32_t count, float *out,
                char *err, size_t errlen)
{
    if (err && errlen > 0)
        err[0] = '\0';
    if (!images)
        return fail(err, errlen, MM_E_ARG, "mm_generate: images is NULL");
    int rc = mm_config_check(c, images, err, errlen);
    if (rc != MM_OK)
        return rc;
    if (first_index < 0 || count < 0)
        return fail(err, errlen, MM_E_ARG, "mm_generate: first_index (%d) and count (%d) must be >= 0",
                    (int)first_index, (int)count);
    if ((int64_t)first_index + count - 1 > INT32_MAX)
        return fail(err, errlen, MM_E_ARG, "mm_generate: sequence indices %d .. %d + %d - 1 overflow int32",
                    (int)first_index, (int)first_index, (int)count);
    if (count == 0)
        return MM_OK;
    if (!out)
        return fail(err, errlen, MM_E_ARG, "mm_generate: out is NULL");
    size_t frame = mm_frame_floats(c);
    if ((size_t)c->frames > SIZE_MAX / frame / (size_t)count)
        return fail(err, errlen, MM_E_ARG, "mm_generate: %d sequences of %d frames overflow size_t", (int)count,
                    (int)c->frames);

    int32_t ds = c->item_downsample, ph = images->dims[1] / ds, pw = images->dims[2] / ds;
    size_t patch_floats = (size_t)ph * (size_t)pw;
    float *patches = malloc((size_t)c->items * patch_floats * sizeof(float));
    if (!patches)
        return fail(err, errlen, MM_E_NOMEM, "mm_generate: out of memory for %d items", (int)c->items);

    int32_t S = c->canvas;
    for (int32_t s = 0; s < count; s++) {
        int32_t index = first_index + s;
        ex_rng pick;
        ex_rng_seed(&pick, c->seed, STREAM_PICK, (uint64_t)index);
        for (int32_t k = 0; k < c->items; k++) {
            int32_t img = (int32_t)ex_rng_below(&pick, (uint32_t)images->dims[0]);
            make_patch(patches + (size_t)k * patch_floats, images, img, ds);
        }
        motion m[MM_MAX_ITEMS];
        motion_init(m, c, ph, pw, index);

        float *seq = out + (size_t)s * (size_t)c->frames * frame;
        for (int32_t t = 0; t < c->frames; t++) {
            float *f = seq + (size_t)t * frame;
            memset(f, 0, frame * sizeof(float));
            for (int32_t k = 0; k < c->items; k++) {
                int32_t x0 = pixel(m[k].x), y0 = pixel(m[k].y);
                const float *p = patches + (size_t)k * patch_floats;
                for (int32_t i = 0; i < ph; i++) {
                    float *row = f + (size_t)(y0 + i) * (size_t)S + (size_t)x0;
                    const float *prow = p + (size_t)i * (size_t)pw;
                    for (int32_t j = 0; j < pw; j++)
                        row[j] = row[j] > prow[j] ? row[j] : prow[j]; /* overlap: max */
                }
                motion_step(&m[k]);
            }
        }
    }
    free(patches);
    return MM_OK;
}
