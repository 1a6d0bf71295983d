/* signal.c — the synthetic series of signal.h and their windows. */
#include "signal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

/* Stream id of the generator, so other users of the same seed (shuffling,
 * sampling) never replay the data's random numbers. */
#define SIG_STREAM 0x5167u

sig_params sig_params_default(void)
{
    sig_params p = {
        .dt = 0.04,
        .f1_min = 0.5, .f1_max = 2.0,
        .f2_min = 2.0, .f2_max = 5.0,
        .alpha_max = 0.2,
        .noise_min = 0.05, .noise_max = 0.1,
    };
    return p;
}

const char *sig_generate(const sig_params *p, uint64_t seed, int32_t n_series, int32_t length,
                         sig_dataset *out)
{
    memset(out, 0, sizeof *out);
    if (n_series < 1 || length < 2)
        return "sig_generate: need at least 1 series of 2 samples";
    out->x = malloc((size_t)n_series * (size_t)length * sizeof(float));
    out->info = malloc((size_t)n_series * sizeof *out->info);
    if (!out->x || !out->info) {
        sig_dataset_free(out);
        return "sig_generate: out of memory";
    }
    out->n_series = n_series;
    out->length = length;
    const double two_pi = 6.283185307179586;
    for (int32_t i = 0; i < n_series; i++) {
        ex_rng r;
        ex_rng_seed(&r, seed, SIG_STREAM, (uint64_t)i);
        sig_series_info s;
        s.f1 = ex_rng_uniform(&r, p->f1_min, p->f1_max);
        s.f2 = ex_rng_uniform(&r, p->f2_min, p->f2_max);
        s.alpha = ex_rng_uniform(&r, -p->alpha_max, p->alpha_max);
        s.noise = ex_rng_uniform(&r, p->noise_min, p->noise_max);
        out->info[i] = s;
        float *x = out->x + (size_t)i * length;
        for (int32_t k = 0; k < length; k++) {
            double t = k * p->dt;
            double v = sin(two_pi * s.f1 * t) + 0.5 * sin(two_pi * s.f2 * t) + s.alpha * t;
            x[k] = (float)(v + s.noise * ex_rng_normal(&r));
        }
    }
    return NULL;
}

void sig_dataset_free(sig_dataset *d)
{
    if (!d)
        return;
    free(d->x);
    free(d->info);
    memset(d, 0, sizeof *d);
}

const char *sig_split_series(int32_t n_series, double val_frac, double test_frac, sig_split *out)
{
    memset(out, 0, sizeof *out);
    if (n_series < 3)
        return "sig_split_series: need at least 3 series (one per part)";
    if (!(val_frac > 0.0 && test_frac > 0.0 && val_frac + test_frac < 1.0))
        return "sig_split_series: need val_frac, test_frac > 0 and their sum < 1";
    int32_t n_val = (int32_t)lround(val_frac * n_series);
    int32_t n_test = (int32_t)lround(test_frac * n_series);
    n_val = n_val < 1 ? 1 : n_val;
    n_test = n_test < 1 ? 1 : n_test;
    int32_t n_train = n_series - n_val - n_test;
    if (n_train < 1)
        return "sig_split_series: no series left for training";
    out->first[SIG_TRAIN] = 0;
    out->count[SIG_TRAIN] = n_train;
    out->first[SIG_VAL] = n_train;
    out->count[SIG_VAL] = n_val;
    out->first[SIG_TEST] = n_train + n_val;
    out->count[SIG_TEST] = n_test;
    return NULL;
}

const char *sig_make_windows(const sig_dataset *d, int32_t first, int32_t n, int32_t past,
                             int32_t horizon, int32_t stride, sig_windows *out)
{
    memset(out, 0, sizeof *out);
    if (past < 1 || horizon < 1 || stride < 1 || n < 1 || first < 0 || first + n > d->n_series)
        return "sig_make_windows: bad window sizes or series range";
    int32_t span = past + horizon;
    if (span > d->length)
        return "sig_make_windows: series are shorter than past + horizon";
    int32_t per_series = (d->length - span) / stride + 1;
    size_t count = (size_t)per_series * (size_t)n;
    if (count > (size_t)INT32_MAX)
        return "sig_make_windows: too many windows";
    out->past_values = malloc(count * (size_t)past * sizeof(float));
    out->future = malloc(count * (size_t)horizon * sizeof(float));
    out->series = malloc(count * sizeof(int32_t));
    out->start = malloc(count * sizeof(int32_t));
    if (!out->past_values || !out->future || !out->series || !out->start) {
        sig_windows_free(out);
        return "sig_make_windows: out of memory";
    }
    out->count = (int32_t)count;
    out->past = past;
    out->horizon = horizon;
    size_t w = 0;
    for (int32_t i = first; i < first + n; i++) {
        const float *x = d->x + (size_t)i * d->length;
        for (int32_t j = 0; j < per_series; j++, w++) {
            int32_t s = j * stride;
            memcpy(out->past_values + w * past, x + s, (size_t)past * sizeof(float));
            memcpy(out->future + w * horizon, x + s + past, (size_t)horizon * sizeof(float));
            out->series[w] = i;
            out->start[w] = s;
        }
    }
    return NULL;
}

void sig_windows_free(sig_windows *w)
{
    if (!w)
        return;
    free(w->past_values);
    free(w->future);
    free(w->series);
    free(w->start);
    memset(w, 0, sizeof *w);
}

const char *sig_prepare(uint64_t seed, int32_t n_series, int32_t length, int32_t past, int32_t horizon,
                        int32_t stride, sig_split *split, sig_windows parts[3])
{
    sig_params sp = sig_params_default();
    sig_dataset data;
    memset(parts, 0, 3 * sizeof *parts);
    const char *err = sig_generate(&sp, seed, n_series, length, &data);
    if (err)
        return err;
    err = sig_split_series(data.n_series, 0.15, 0.15, split);
    for (int p = 0; p < 3 && !err; p++)
        err = sig_make_windows(&data, split->first[p], split->count[p], past, horizon, stride, &parts[p]);
    sig_dataset_free(&data);
    if (err)
        for (int p = 0; p < 3; p++)
            sig_windows_free(&parts[p]);
    return err;
}
