/* regime.c — the hidden-regime sequences of regime.h. */
#include "regime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

/* Stream ids: one per part, and none shared with other users of the seed
 * (weight init lives in the library, shuffling uses its own stream). */
#define RG_STREAM 0x5247u

rg_params rg_params_default(void)
{
    rg_params p = {
        .min_len = 30, .max_len = 80,
        .sigma_calm = 0.25, .sigma_active = 1.0,
        .cycle_min = 12.0, .cycle_max = 40.0,
        .min_dwell = 3.0,
    };
    return p;
}

double rg_step_threshold(const rg_params *p)
{
    /* Equal densities: x² (1/σc² − 1/σa²) / 2 = ln(σa / σc). */
    double c = p->sigma_calm, a = p->sigma_active;
    return sqrt(2.0 * log(a / c) / (1.0 / (c * c) - 1.0 / (a * a)));
}

static double max_d(double a, double b)
{
    return a > b ? a : b;
}

/* One sequence: draws its length, share and cycle, runs the chain and fills
 * x up to the length (the caller has zeroed the rest).
 * @return the fraction of active steps. */
static float one_sequence(const rg_params *p, ex_rng *r, int32_t *length, float *x)
{
    int32_t L = p->min_len + (int32_t)ex_rng_below(r, (uint32_t)(p->max_len - p->min_len + 1));
    double q = ex_rng_uniform(r, 0.0, 1.0);
    double cycle = ex_rng_uniform(r, p->cycle_min, p->cycle_max);
    double leave_active = 1.0 / max_d(q * cycle, p->min_dwell);
    double leave_calm = 1.0 / max_d((1.0 - q) * cycle, p->min_dwell);
    int s = ex_rng_uniform(r, 0.0, 1.0) < q;
    int32_t active = 0;
    for (int32_t t = 0; t < L; t++) {
        if (t > 0 && ex_rng_uniform(r, 0.0, 1.0) < (s ? leave_active : leave_calm))
            s = !s;
        active += s;
        x[t] = (float)((s ? p->sigma_active : p->sigma_calm) * ex_rng_normal(r));
    }
    *length = L;
    return (float)((double)active / L);
}

const char *rg_generate(const rg_params *p, uint64_t seed, int part, int32_t count, rg_dataset *out)
{
    memset(out, 0, sizeof *out);
    if (count < 1 || p->min_len < 1 || p->max_len < p->min_len || part < RG_TRAIN || part > RG_TEST)
        return "rg_generate: need count >= 1, 1 <= min_len <= max_len and a known part";
    if (!(p->sigma_calm > 0.0 && p->sigma_active > p->sigma_calm && p->cycle_min > 0.0 &&
          p->cycle_max >= p->cycle_min && p->min_dwell >= 1.0))
        return "rg_generate: need 0 < sigma_calm < sigma_active, positive cycles and min_dwell >= 1";
    size_t cells = (size_t)count * (size_t)p->max_len;
    out->x = calloc(cells, sizeof(float)); /* calloc: the padding is zero */
    out->length = malloc((size_t)count * sizeof(int32_t));
    out->target = malloc((size_t)count * sizeof(float));
    if (!out->x || !out->length || !out->target) {
        rg_dataset_free(out);
        return "rg_generate: out of memory";
    }
    out->count = count;
    out->max_len = p->max_len;
    for (int32_t i = 0; i < count; i++) {
        ex_rng r;
        ex_rng_seed(&r, seed, RG_STREAM + (uint64_t)part, (uint64_t)i);
        size_t row = (size_t)i * p->max_len;
        out->target[i] = one_sequence(p, &r, &out->length[i], out->x + row);
    }
    return NULL;
}

void rg_dataset_free(rg_dataset *d)
{
    if (!d)
        return;
    free(d->x);
    free(d->length);
    free(d->target);
    memset(d, 0, sizeof *d);
}
