/* math.c — scalar helpers shared by layers (array versions: vmath.c). */
#include <math.h>

#include "../internal.h"

float sa_sigmoidf(float x)
{
    /* split by sign so exp never overflows */
    if (x >= 0.0f) {
        float e = expf(-x);
        return 1.0f / (1.0f + e);
    }
    float e = expf(x);
    return e / (1.0f + e);
}
