/* attn_stats.c — attention span and entropy (attn_stats.h). */
#include "attn_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *as_summarise(const float *A, int32_t n, int32_t t_out, int32_t t_in, as_summary *out,
                         float *mean)
{
    memset(out, 0, sizeof *out);
    if (n < 1 || t_out < 1 || t_in < 2)
        return "as_summarise: need n >= 1, t_out >= 1 and t_in >= 2";
    out->span = calloc((size_t)t_out, sizeof(double));
    out->entropy = calloc((size_t)t_out, sizeof(double));
    double *acc = mean ? calloc((size_t)t_out * t_in, sizeof(double)) : NULL;
    if (!out->span || !out->entropy || (mean && !acc)) {
        free(acc);
        as_summary_free(out);
        return "as_summarise: out of memory";
    }
    out->t_out = t_out;
    out->t_in = t_in;
    for (int32_t s = 0; s < n; s++)
        for (int32_t i = 0; i < t_out; i++) {
            const float *row = A + ((size_t)s * t_out + i) * t_in;
            double span = 0.0, ent = 0.0;
            for (int32_t j = 0; j < t_in; j++) {
                double a = row[j];
                span += a * fabs((double)(t_in + i) - j);
                /* a ln a -> 0 as a -> 0; softmax weights can underflow to 0 */
                if (a > 0.0)
                    ent -= a * log(a);
                if (acc)
                    acc[(size_t)i * t_in + j] += a;
            }
            out->span[i] += span;
            out->entropy[i] += ent;
        }
    for (int32_t i = 0; i < t_out; i++) {
        out->span[i] /= n;
        out->entropy[i] /= n;
        out->span_mean += out->span[i] / t_out;
        out->entropy_mean += out->entropy[i] / t_out;
    }
    out->entropy_norm = out->entropy_mean / log((double)t_in);
    if (mean)
        for (size_t k = 0; k < (size_t)t_out * t_in; k++)
            mean[k] = (float)(acc[k] / n);
    free(acc);
    return NULL;
}

void as_summary_free(as_summary *s)
{
    if (!s)
        return;
    free(s->span);
    free(s->entropy);
    memset(s, 0, sizeof *s);
}
