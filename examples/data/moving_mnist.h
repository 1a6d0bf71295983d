/*
 * moving_mnist.h — Moving-MNIST-style sequences built from IDX images.
 *
 * The standard recipe (Srivastava et al., 2015) on any [N, H, W] byte images
 * (here Fashion-MNIST items): each sequence has `items` images on an S x S
 * black canvas, each starting at a uniform random position with a uniform
 * random direction and moving at a constant `speed` (pixels per frame),
 * bouncing off the canvas edges; overlapping items are composed with max;
 * pixels are floats in [0, 1].
 *
 * Reproducible: sequence i depends only on (config, images, i) — never on
 * which other sequences are generated with it — because its random numbers
 * come from its own ex_rng stream (seed, purpose, i). The motion uses a stream
 * apart from the choice of images, so a trajectory does not depend on the
 * image set either (mm_trajectory needs no images).
 */
#ifndef EXAMPLES_DATA_MOVING_MNIST_H
#define EXAMPLES_DATA_MOVING_MNIST_H

#include <stddef.h>
#include <stdint.h>

#include "idx.h"

#define MM_MAX_ITEMS 16
#define MM_MAX_CANVAS 1024

/* Return codes; each comes with a message in err. */
enum {
    MM_OK = 0,
    MM_E_ARG = -1,    /* an invalid config value or argument */
    MM_E_IMAGES = -2, /* the images do not fit the config (shape, downsample) */
    MM_E_IO = -3,     /* a file could not be read or written */
    MM_E_NOMEM = -4,  /* out of memory */
};

typedef struct mm_config {
    int32_t canvas;          /* S: the frames are S x S (default 64) */
    int32_t frames;          /* T: frames per sequence (default 100) */
    int32_t items;           /* images per sequence, 1..MM_MAX_ITEMS (default 2) */
    int32_t item_downsample; /* integer box-filter factor dividing H and W: 1 keeps
                              * 28 x 28 items, 2 gives 14 x 14 for small canvases (default 1) */
    double speed;            /* pixels per frame, 0..canvas (default 3.0) */
    uint64_t seed;           /* (default 1) */
} mm_config;

/** The defaults above: 64 x 64 canvas, 100 frames, 2 items of 28 x 28, 3 px/frame. */
mm_config mm_config_default(void);

/** Checks cfg on its own (images == NULL) or also against the images:
 *  they must be [N, H, W] with N >= 1, H and W divisible by item_downsample,
 *  and the downsampled item no larger than the canvas.
 *  @return MM_OK, or MM_E_ARG / MM_E_IMAGES with a message in err. */
int mm_config_check(const mm_config *cfg, const idx_array *images, char *err, size_t errlen);

/** Floats in one frame (S * S). */
size_t mm_frame_floats(const mm_config *cfg);

/** Writes sequences first_index .. first_index + count - 1 into
 *  out [count, T, S*S] (row-major frames). count 0 does nothing.
 *  @return MM_OK, or a negative MM_E_* code with a message in err (out is
 *  then untouched). */
int mm_generate(const mm_config *cfg, const idx_array *images, int32_t first_index, int32_t count, float *out,
                char *err, size_t errlen);

/** The top-left corner (x = column, y = row) of every item in every frame of
 *  sequence `index`: xy [T, items, 2]. mm_generate places the items exactly
 *  here. item_h, item_w: the downsampled item size (the positions depend on
 *  it through the room S - size the items move in).
 *  @return MM_OK, or MM_E_ARG with a message in err. */
int mm_trajectory(const mm_config *cfg, int32_t item_h, int32_t item_w, int32_t index, int32_t *xy, char *err,
                  size_t errlen);

#endif
