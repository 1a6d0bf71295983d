/*
 * regime.h — seeded sequences of varying length driven by a hidden two-state
 * regime, for the bilstm_regressor example.
 *
 * Each sequence has a length L drawn uniformly in [min_len, max_len] and a
 * hidden state s_t in {calm, active} that follows a two-state Markov chain;
 * only the observations
 *     x_t = σ_{s_t} ε_t,   ε_t ~ N(0, 1),   σ_calm < σ_active
 * are given to the model. The target is the fraction of the L steps spent in
 * the active regime, a number in [0, 1].
 *
 * Why this needs the whole sequence: the target is a count over every step,
 * so no window or single state can stand in for it. And one step alone says
 * little: with σ_calm = 0.25, σ_active = 1 a calm step already looks active
 * 9 % of the time and an active step looks calm 33 % of the time (the
 * likelihood ratio changes sign at |x| = 0.43); the regimes last several
 * steps, so neighbours on both sides decide a step - which is what a
 * bidirectional recurrent layer reads.
 *
 * Per sequence, the long-run share of the active regime q ~ U(0, 1) and a
 * mean cycle length C ~ U(cycle_min, cycle_max) are drawn; the mean dwell
 * times are q·C (active) and (1 − q)·C (calm), at least min_dwell each, and
 * the chain leaves a state with probability 1 / dwell per step. The first
 * state is active with probability q. So targets cover [0, 1] whatever the
 * length, and the mean of x is 0 for every target.
 *
 * Padding: x is 0 after each sequence's length. Zeros look like a very calm
 * stretch, so a model that did not honour the lengths would read padding as
 * calm time and underestimate the target.
 */
#ifndef EXAMPLES_REGIME_H
#define EXAMPLES_REGIME_H

#include <stdint.h>

typedef struct rg_params {
    int32_t min_len, max_len;        /* sequence lengths, uniform in [min_len, max_len] */
    double sigma_calm, sigma_active; /* observation noise std of each regime */
    double cycle_min, cycle_max;     /* mean calm + active dwell, in steps */
    double min_dwell;                /* floor of each mean dwell, in steps */
} rg_params;

/** The values documented above: lengths 30..80, σ 0.25 / 1.0, cycles of
 *  12..40 steps, dwells of at least 3 steps. */
rg_params rg_params_default(void);

/** Independent sets of sequences: sequence i of part p depends only on
 *  (seed, p, i), so a quick run's test set is the full run's test set when
 *  both ask for as many test sequences. */
enum { RG_TRAIN = 0, RG_VAL = 1, RG_TEST = 2 };

typedef struct rg_dataset {
    int32_t count, max_len;
    float *x;         /* [count, max_len], zero after each length */
    int32_t *length;  /* [count], in [min_len, max_len] */
    float *target;    /* [count], fraction of the valid steps that are active */
} rg_dataset;

/** The |x| above which one step, taken alone, is more likely active than
 *  calm (the two Gaussian densities cross there): 0.43 for the defaults.
 *  Needs 0 < sigma_calm < sigma_active, as rg_generate() does.
 *  Counting such steps is the context-free rule the example compares with. */
double rg_step_threshold(const rg_params *p);

/** Generates `count` sequences of part `part`.
 *  @return NULL on success, else a static message (bad parameters, out of memory). */
const char *rg_generate(const rg_params *p, uint64_t seed, int part, int32_t count, rg_dataset *out);
void rg_dataset_free(rg_dataset *d);

#endif
