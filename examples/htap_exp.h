/*
 * htap_exp.h — what one htap_video.c experiment is (its settings) and what
 * it measures (per seed and pooled), shared by the runner (htap_video.c)
 * and the writer of the outputs (htap_report.c).
 */
#ifndef EXAMPLES_HTAP_EXP_H
#define EXAMPLES_HTAP_EXP_H

#include <stddef.h>
#include <stdint.h>

#include "htap_model.h"

typedef struct htap_config {
    const char *name;
    /* data */
    int32_t canvas, frames, downsample, items;
    double speed;
    int32_t n_train, n_test, context;
    /* model (both variants) */
    int32_t hidden, latent, heads, ff, blocks;
    /* training budget, the same for both variants */
    int32_t steps, batch;
    float lr, clip_norm;
    int32_t seeds; /* default number of seeds */
} htap_config;

/* The last 20% of the updates run at lr * HTAP_LR_DECAY: smaller steps settle
 * the noisy end of training, for both variants alike. */
#define HTAP_LR_DECAY_AT 0.8
#define HTAP_LR_DECAY 0.3f

/* Methods compared, in output order. Two references without learning:
 * copy-last (every predicted frame = the last context frame) and mean-frame
 * (every predicted frame = the per-pixel mean of the training frames): the
 * MSE-optimal guess that knows nothing about the sequence, i.e. the level a
 * rollout falls to once it has lost track of the items and only blurs. */
enum { M_COPY = 0, M_MEAN = 1, M_RNN = 2, M_HTAP = 3, N_METHODS = 4 };
extern const char *const htap_method_key[N_METHODS]; /* "copy_last", "mean_frame", "rnn", "htap" */
#define STRIP_ROWS 3 /* true, RNN, H-TAP */

/* The horizon windows, as 0-based offsets into the rollout (h = 0 is frame
 * context+1): near = [0, near_n), far = [H - far_n, H). */
typedef struct htap_windows {
    int32_t H, near_n, far_n;
} htap_windows;

/** Near = the first 2/9 and far = the last 1/3 of the rollout, rounded: for
 *  the full setting (10 context frames, 90 predicted) exactly frames 11-30
 *  and 71-100. */
htap_windows htap_windows_for(const htap_config *c);

#define HTAP_LOG_POINTS 20 /* training-loss points kept per run */

typedef struct htap_seed_result {
    uint64_t seed;
    double *mse[N_METHODS], *psnr[N_METHODS]; /* [H] each, mean over test sequences */
    double near[N_METHODS], far[N_METHODS], near_psnr[N_METHODS], far_psnr[N_METHODS];
    double train_seconds[N_METHODS], eval_seconds[N_METHODS]; /* models only */
    double loss_log[N_METHODS][HTAP_LOG_POINTS];              /* mean train loss per 1/20 of the steps */
    double span_mean, span_rollout;                           /* H-TAP attention span over the test set */
} htap_seed_result;

/** Results of the first seed that are pictures rather than numbers. */
typedef struct htap_capture {
    int32_t len;     /* frames in each strip row: the last context frame and the rollout */
    float *strip;    /* [STRIP_ROWS, len, P]: true, RNN, H-TAP for test sequence 0 */
    float *attn_seq; /* [T-1, T-1] H-TAP last-block attention, test sequence 0 */
    double *attn_mean; /* [T-1, T-1] the same averaged over the test set */
} htap_capture;

typedef struct htap_run {
    htap_config cfg;
    htap_windows win;
    htap_sizes sizes;
    size_t params[N_METHODS], transition_params[N_METHODS];
    int32_t n_seeds;
    htap_seed_result *seed;
    htap_capture cap;
    double seconds;
    int passed; /* both models beat copy-last at the near horizon for every seed */
} htap_run;

/** Σ_j A_ij (i - j) for the row i of a [n, n] lower-triangular map: how far
 *  back, in frames, query step i looks on average. */
double htap_attention_span(const double *row, int32_t i);

/** Writes metrics.json, attention.csv, frames.pgm into dir. Dies on I/O errors. */
void htap_write_outputs(const char *dir, const htap_run *r);

#endif
