/*
 * rng.h — the examples' own seeded random numbers (splitmix64).
 *
 * The examples do not borrow the library's generator: it is private to
 * seqattn, and the data must not change when the library's initialisation
 * streams do. Every consumer derives its own stream from (seed, purpose, index)
 * so that, e.g., series 7 is the same whatever the number of series asked for.
 */
#ifndef EXAMPLES_RNG_H
#define EXAMPLES_RNG_H

#include <stdint.h>

typedef struct ex_rng {
    uint64_t s;
} ex_rng;

/** Seeds a stream; distinct (seed, stream, index) give independent streams. */
void ex_rng_seed(ex_rng *r, uint64_t seed, uint64_t stream, uint64_t index);
uint64_t ex_rng_next(ex_rng *r);
/** Uniform double in [lo, hi). */
double ex_rng_uniform(ex_rng *r, double lo, double hi);
/** Standard normal draw (Box-Muller). */
double ex_rng_normal(ex_rng *r);
/** Uniform integer in [0, n), n >= 1 (Lemire's unbiased range reduction). */
uint32_t ex_rng_below(ex_rng *r, uint32_t n);
/** In-place Fisher-Yates shuffle of n ints. */
void ex_rng_shuffle(ex_rng *r, int32_t *v, int32_t n);

#endif
