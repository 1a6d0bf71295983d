/* baselines.c — repeat-last and linear-extrapolation forecasts (baselines.h). */
#include "baselines.h"

#include <math.h>
#include <stdlib.h>

void bl_forecast(bl_kind kind, int32_t k, const float *past, int32_t n_past, int32_t horizon, float *out)
{
    float last = past[n_past - 1];
    if (kind == BL_REPEAT_LAST) {
        for (int32_t h = 0; h < horizon; h++)
            out[h] = last;
        return;
    }
    /* Least squares on u = 0 .. k-1 centred at its mean, so the slope is
     * Σ(u-ū)(x-x̄) / Σ(u-ū)² with no ill-conditioned normal equations. In
     * double: the fits are short but the extrapolation reaches 20+ steps out. */
    const float *x = past + (n_past - k);
    double ubar = 0.5 * (k - 1), xbar = 0.0;
    for (int32_t u = 0; u < k; u++)
        xbar += x[u];
    xbar /= k;
    double sxy = 0.0, sxx = 0.0;
    for (int32_t u = 0; u < k; u++) {
        sxy += (u - ubar) * (x[u] - xbar);
        sxx += (u - ubar) * (u - ubar);
    }
    double slope = sxy / sxx;
    /* Future step h sits at u = k + h on the same axis. */
    for (int32_t h = 0; h < horizon; h++)
        out[h] = (float)(xbar + slope * (k + h - ubar));
}

double bl_evaluate(bl_kind kind, int32_t k, const sig_windows *w, double *mse_h, float *pred)
{
    int32_t H = w->horizon;
    float *f = malloc((size_t)H * sizeof(float));
    if (!f)
        return NAN;
    for (int32_t h = 0; h < H; h++)
        mse_h[h] = 0.0;
    for (int32_t i = 0; i < w->count; i++) {
        bl_forecast(kind, k, w->past_values + (size_t)i * w->past, w->past, H, f);
        const float *truth = w->future + (size_t)i * H;
        for (int32_t h = 0; h < H; h++) {
            double d = (double)f[h] - truth[h];
            mse_h[h] += d * d;
            if (pred)
                pred[(size_t)i * H + h] = f[h];
        }
    }
    free(f);
    double all = 0.0;
    for (int32_t h = 0; h < H; h++) {
        mse_h[h] /= w->count;
        all += mse_h[h];
    }
    return all / H;
}

int32_t bl_choose_linear_k(const sig_windows *w, int32_t k_min, int32_t k_max, double *mse)
{
    double *mse_h = malloc((size_t)w->horizon * sizeof(double));
    int32_t best_k = -1;
    double best = INFINITY;
    for (int32_t k = k_min; mse_h && k <= k_max; k++) {
        double e = bl_evaluate(BL_LINEAR, k, w, mse_h, NULL);
        if (e < best) {
            best = e;
            best_k = k;
        }
    }
    free(mse_h);
    if (mse)
        *mse = best;
    return best_k;
}
