/*
 * htap_rollout.h — the evaluation protocol of htap_video.c: condition on the
 * first `context` frames, then predict the rest autoregressively, feeding
 * each predicted frame back through the encoder (pixel-space feedback), by
 * step execution: the GRU carries its state and the causal transformer its
 * key/value cache, so T frames cost T steps of work.
 *
 * Frame indices here are 0-based: step s reads frame s (the true one while
 * s < context, afterwards the model's own prediction of it) and predicts
 * frame s + 1. Frames context .. T-1 (1-based: context+1 .. T) are the
 * rollout; horizon h = 1 is frame `context` (0-based).
 */
#ifndef EXAMPLES_HTAP_ROLLOUT_H
#define EXAMPLES_HTAP_ROLLOUT_H

#include <stdint.h>

#include "htap_model.h"

/** Rolls out B sequences frames [B, T, P] on a step model.
 *  @param pred receives [B, T, P]: frame 0 is zero (nothing predicts it),
 *         frame s+1 is the output of step s.
 *  @param attn NULL, or receives [B, T-1, T-1]: row s = the head-averaged
 *         attention of nd->attn at step s over steps 0..s (0 above the
 *         diagonal). Needs nd->attn. */
void htap_rollout(const htap_nodes *nd, const float *frames, int32_t B, int32_t T, int32_t P, int32_t context,
                  float *pred, float *attn);

/** The "copy last frame" forecast: every rollout frame equals the last
 *  context frame. Fills pred [B, T, P] (frames before `context` are zero). */
void htap_copy_last(const float *frames, int32_t B, int32_t T, int32_t P, int32_t context, float *pred);

/** Every rollout frame = `frame` [P] (e.g. the mean training frame). */
void htap_fill_frame(const float *frame, int32_t B, int32_t T, int32_t P, int32_t context, float *pred);

/** Adds, for every rollout frame t = context .. T-1 of every sequence, the
 *  frame's MSE to mse_sum[t - context] and its PSNR 10 log10(1 / MSE) (pixels
 *  in [0, 1]) to psnr_sum[t - context]. Divide by the number of sequences. */
void htap_accumulate(const float *truth, const float *pred, int32_t B, int32_t T, int32_t P, int32_t context,
                     double *mse_sum, double *psnr_sum);

#endif
