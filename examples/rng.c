/* rng.c — splitmix64 streams for the examples (see rng.h for why they are ours). */
#include "rng.h"

#include <math.h>

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void ex_rng_seed(ex_rng *r, uint64_t seed, uint64_t stream, uint64_t index)
{
    /* Mixing each component separately keeps nearby (stream, index) pairs
     * from producing overlapping splitmix sequences. */
    r->s = mix(mix(mix(seed) ^ (stream * 0x9E3779B97F4A7C15ull)) ^ (index + 0x632BE59BD9B4E019ull));
}

uint64_t ex_rng_next(ex_rng *r)
{
    return mix(r->s += 0x9E3779B97F4A7C15ull);
}

double ex_rng_uniform(ex_rng *r, double lo, double hi)
{
    double u = (double)(ex_rng_next(r) >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
    return lo + (hi - lo) * u;
}

double ex_rng_normal(ex_rng *r)
{
    /* u1 in (0, 1] so log(u1) is finite. */
    double u1 = ((double)(ex_rng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double u2 = (double)(ex_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint32_t ex_rng_below(ex_rng *r, uint32_t n)
{
    uint64_t m = (uint64_t)(uint32_t)(ex_rng_next(r) >> 32) * n;
    uint32_t lo = (uint32_t)m;
    if (lo < n) {
        uint32_t t = (uint32_t)(-n) % n;
        while (lo < t) {
            m = (uint64_t)(uint32_t)(ex_rng_next(r) >> 32) * n;
            lo = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

void ex_rng_shuffle(ex_rng *r, int32_t *v, int32_t n)
{
    for (int32_t i = n - 1; i > 0; i--) {
        int32_t j = (int32_t)ex_rng_below(r, (uint32_t)i + 1u);
        int32_t t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}
