/*
 * baselines.h — forecasts that need no training, to measure a model against.
 *
 * Both forecast `horizon` values after a window of `past` values:
 *  - repeat last: every future value equals the last observed one;
 *  - linear extrapolation: the least-squares line through the last k values,
 *    continued. k trades noise (small k: the line follows the noise of two or
 *    three samples) against bias (large k: the line averages over a bend of
 *    the signal), so it is chosen on validation windows, never on test ones.
 */
#ifndef EXAMPLES_BASELINES_H
#define EXAMPLES_BASELINES_H

#include <stdint.h>

#include "signal.h"

typedef enum bl_kind {
    BL_REPEAT_LAST = 0,
    BL_LINEAR = 1
} bl_kind;

/** Forecasts out[0 .. horizon) from past[0 .. n_past).
 *  @param k for BL_LINEAR, the number of last values the line is fitted to
 *           (2 <= k <= n_past); ignored for BL_REPEAT_LAST. */
void bl_forecast(bl_kind kind, int32_t k, const float *past, int32_t n_past, int32_t horizon, float *out);

/** Squared error of a baseline on every window of w, per horizon step.
 *  @param mse_h receives w->horizon means, in series units.
 *  @param pred NULL, or receives w->count * w->horizon forecasts.
 *  @return the mean over all horizon steps. */
double bl_evaluate(bl_kind kind, int32_t k, const sig_windows *w, double *mse_h, float *pred);

/** The k in [k_min, k_max] whose linear extrapolation has the lowest mean
 *  squared error over all horizon steps of w (the validation windows).
 *  @param mse NULL or receives that error. */
int32_t bl_choose_linear_k(const sig_windows *w, int32_t k_min, int32_t k_max, double *mse);

#endif
