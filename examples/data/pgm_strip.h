/*
 * pgm_strip.h — a quick look at generated frames without any image library:
 * a binary PGM (P5) grid, one row per sequence, every k-th frame left to
 * right, separated by a mid-grey line. tools/plot_frames.py turns it into a PNG.
 */
#ifndef EXAMPLES_DATA_PGM_STRIP_H
#define EXAMPLES_DATA_PGM_STRIP_H

#include <stddef.h>
#include <stdint.h>

#include "moving_mnist.h" /* the MM_* return codes */

#define MM_PGM_GAP 2        /* separator width in pixels */
#define MM_PGM_MAX_SIDE 65536 /* refuse images wider or taller than this */

/** Writes frames [nseq, T, S*S] (values in [0, 1], clamped; NaN shows black)
 *  as a PGM: frames 0, every_k, 2*every_k, ... < T of each sequence.
 *  @return MM_OK, or MM_E_ARG / MM_E_IO / MM_E_NOMEM with a message in err. */
int mm_write_pgm_strip(const char *path, const float *frames, int32_t nseq, int32_t T, int32_t S, int32_t every_k,
                       char *err, size_t errlen);

#endif
