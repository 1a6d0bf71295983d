/*
 * signal.h — seeded synthetic series and their (past -> future) windows.
 *
 * Each series follows
 *     x(t) = sin(2π f1 t) + 0.5 sin(2π f2 t) + α t + ε,   t = k·dt, k = 0 .. length-1
 * with f1, f2, α and the noise level drawn once per series and ε ~ N(0, σ²)
 * drawn per sample. Ranges (sig_params_default(), time in arbitrary units):
 *     dt = 0.04            a 50-step window spans 2 units: 1-4 cycles of the
 *                          slow wave (enough to tell its frequency) and 4-10 of
 *                          the fast one, which keeps >= 5 samples per cycle.
 *                          A finer step makes consecutive samples differ by
 *                          less than the noise, so "repeat the last value" is
 *                          near the noise floor and no forecaster can beat it
 *                          by much (at dt = 0.02 the best linear predictor on
 *                          the 50 past values is only ~2.3x better)
 *     f1 in [0.5, 2]       slow component, cycles per unit time
 *     f2 in [2, 5]         fast component, cycles per unit time
 *     α  in [-0.2, 0.2]    linear trend, per unit time
 *     σ  in [0.05, 0.1]    noise standard deviation
 *
 * Windows pair `past` consecutive samples with the `horizon` samples that
 * follow (horizon 1: next-value prediction; a seq2seq example uses 50 -> 20).
 * The split into train / validation / test is by series, never by window:
 * overlapping windows of one series share samples, so splitting windows would
 * leak test samples into training.
 */
#ifndef EXAMPLES_SIGNAL_H
#define EXAMPLES_SIGNAL_H

#include <stdint.h>

typedef struct sig_params {
    double dt;                   /* time between samples */
    double f1_min, f1_max;       /* slow frequency range, cycles per unit time */
    double f2_min, f2_max;       /* fast frequency range */
    double alpha_max;            /* trend slope drawn in [-alpha_max, alpha_max] */
    double noise_min, noise_max; /* per-series noise std range */
} sig_params;

/** The ranges documented above. */
sig_params sig_params_default(void);

/** What was drawn for one series (kept for inspection and reports). */
typedef struct sig_series_info {
    double f1, f2, alpha, noise;
} sig_series_info;

typedef struct sig_dataset {
    int32_t n_series, length;
    float *x;              /* [n_series, length], row-major */
    sig_series_info *info; /* [n_series] */
} sig_dataset;

/** Generates n_series series of `length` samples. Series i depends only on
 *  (seed, i), so a smaller run is a prefix of a larger one.
 *  @return NULL on success, else a static message (bad size, out of memory). */
const char *sig_generate(const sig_params *p, uint64_t seed, int32_t n_series, int32_t length,
                         sig_dataset *out);
void sig_dataset_free(sig_dataset *d);

enum { SIG_TRAIN = 0, SIG_VAL = 1, SIG_TEST = 2 };

/** Contiguous series ranges per part. Series are drawn independently, so
 *  contiguous blocks are as random as any permutation. */
typedef struct sig_split {
    int32_t first[3], count[3]; /* indexed by SIG_TRAIN, SIG_VAL, SIG_TEST */
} sig_split;

/** Splits n_series into train / val / test by the given fractions (each part
 *  gets at least one series). @return NULL or a static message. */
const char *sig_split_series(int32_t n_series, double val_frac, double test_frac, sig_split *out);

typedef struct sig_windows {
    int32_t count, past, horizon;
    float *past_values; /* [count, past] */
    float *future;      /* [count, horizon] */
    int32_t *series;    /* [count] source series index */
    int32_t *start;     /* [count] sample index of the first past value */
} sig_windows;

/** All windows of series [first, first + n) taken every `stride` samples.
 *  @return NULL or a static message (no window fits, bad size, out of memory). */
const char *sig_make_windows(const sig_dataset *d, int32_t first, int32_t n, int32_t past,
                             int32_t horizon, int32_t stride, sig_windows *out);
void sig_windows_free(sig_windows *w);

/** The forecasting examples' data in one call: n_series series of the default
 *  parameters, split 70 / 15 / 15 by series, then windows cut inside each part
 *  (so no test value was ever inside a training window). The series
 *  themselves are freed before returning; free the three parts with
 *  sig_windows_free. @return NULL, or a static message with nothing left
 *  allocated. */
const char *sig_prepare(uint64_t seed, int32_t n_series, int32_t length, int32_t past, int32_t horizon,
                        int32_t stride, sig_split *split, sig_windows parts[3]);

#endif
