/* rng.c — small seeded generator (splitmix64). Each parameter draws from its
 * own stream, derived from the model seed and the parameter's name, so adding
 * a layer does not change the initial weights of the others. */
#include <math.h>

#include "../internal.h"

void sa_rng_seed(sa_rng *r, uint64_t seed, const char *stream)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a of the stream name */
    for (const char *p = stream ? stream : ""; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    r->s = seed ^ (h * 0x9E3779B97F4A7C15ull);
}

void sa_rng_seed_at(sa_rng *r, uint64_t seed, const char *stream, uint64_t index)
{
    sa_rng_seed(r, seed, stream);
    /* mix the index through one splitmix step of its own, so that nearby
     * indices (forward k and k+1) start far apart in the sequence */
    sa_rng k = {index};
    r->s ^= sa_rng_next(&k);
}

uint64_t sa_rng_next(sa_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float sa_rng_uniform(sa_rng *r, float lo, float hi)
{
    double u = (double)(sa_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(lo + (hi - lo) * u);
}

float sa_rng_normal(sa_rng *r)
{
    double u1 = ((double)(sa_rng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
    double u2 = (double)(sa_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}
