/* math.c — scalar helpers shared by layers. */
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

void sa_softmax(float *x, int32_t n)
{
    if (n <= 0)
        return;
    float mx = x[0];
    for (int32_t i = 1; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    float s = 0.0f;
    for (int32_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        s += x[i];
    }
    for (int32_t i = 0; i < n; i++)
        x[i] /= s;
}
