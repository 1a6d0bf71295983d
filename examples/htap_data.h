/*
 * htap_data.h — the Moving Fashion-MNIST sequences of htap_video.c.
 *
 * Training sequences are built from the 60000 Fashion-MNIST training images,
 * test sequences from the 10000 t10k images, so no test item was ever seen in
 * training; the two sets also use different sequence seeds (2*seed and
 * 2*seed + 1), so motions differ too. Sequences are generated when a batch
 * needs them (mm_generate is cheap, and sequence i depends only on the
 * config and i), which keeps memory flat even for 64x64x100 sequences.
 */
#ifndef EXAMPLES_HTAP_DATA_H
#define EXAMPLES_HTAP_DATA_H

#include <stdint.h>

#include "data/idx.h"
#include "data/moving_mnist.h"

typedef struct htap_data {
    idx_array images[2]; /* [0] training images, [1] t10k images */
    mm_config cfg[2];    /* the same recipe with the training / test sequence seed */
} htap_data;

enum { HTAP_TRAIN = 0, HTAP_TEST = 1 };

/** Loads both image sets (dies with the loader's message, which names the
 *  missing file and package) and checks `recipe` against them. */
void htap_data_load(htap_data *d, const mm_config *recipe);
/** Sets the sequence seeds of both sets for experiment seed `seed`. */
void htap_data_seed(htap_data *d, uint64_t seed);
void htap_data_free(htap_data *d);

/** Generates sequences idx[0..B) of a set into frames [B, T, P]. */
void htap_data_batch(const htap_data *d, int set, const int32_t *idx, int32_t B, float *frames);

/** Teacher forcing pairs from frames [B, T, P]: x = frames 0..T-2,
 *  y = frames 1..T-1, each [B, T-1, P]. */
void htap_split_xy(const float *frames, int32_t B, int32_t T, int32_t P, float *x, float *y);

#endif
