/* htap_rollout.c — step-execution rollout and per-frame errors (htap_rollout.h). */
#include "htap_rollout.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* PSNR of a frame predicted exactly would be infinite; this floor caps it at
 * 100 dB so one perfect frame cannot dominate an average. */
#define MSE_FLOOR 1e-10

void htap_rollout(const htap_nodes *nd, const float *frames, int32_t B, int32_t T, int32_t P, int32_t context,
                  float *pred, float *attn)
{
    if (attn && nd->attn == SA_NODE_NONE)
        ex_die("htap_rollout: attention asked of a model without attention");
    size_t frame = (size_t)P, seq = (size_t)T * frame;
    float *in = malloc((size_t)B * frame * sizeof(float));
    float *row = attn ? malloc((size_t)B * (size_t)T * sizeof(float)) : NULL;
    if (!in || (attn && !row))
        ex_die("out of memory");
    memset(pred, 0, (size_t)B * seq * sizeof(float));
    if (attn)
        memset(attn, 0, (size_t)B * (size_t)(T - 1) * (size_t)(T - 1) * sizeof(float));

    sa_node x = nd->x;
    ex_check(sa_step_begin(nd->m, 1, &x), "sa_step_begin");
    for (int32_t s = 0; s + 1 < T; s++) {
        /* The true frame while conditioning, then the model's own last output. */
        const float *src = s < context ? frames : pred;
        for (int32_t b = 0; b < B; b++)
            memcpy(in + (size_t)b * frame, src + (size_t)b * seq + (size_t)s * frame, frame * sizeof(float));
        ex_check(sa_set_input(nd->m, nd->x, in, B, 1, NULL), "sa_set_input(x step)");
        ex_check(sa_step(nd->m), "sa_step");
        int32_t shape[4];
        ex_check(sa_get_output(nd->m, nd->pred, in, (size_t)B * frame, shape), "sa_get_output(pred step)");
        if (shape[0] != B || shape[1] != 1 || shape[2] != P)
            ex_die("a rollout step returned [%d, %d, %d], expected [%d, 1, %d]", (int)shape[0], (int)shape[1],
                   (int)shape[2], (int)B, (int)P);
        for (int32_t b = 0; b < B; b++)
            memcpy(pred + (size_t)b * seq + (size_t)(s + 1) * frame, in + (size_t)b * frame, frame * sizeof(float));
        if (!attn)
            continue;
        ex_check(sa_get_attention(nd->m, nd->attn, SA_HEADS_MEAN, row, (size_t)B * (size_t)(s + 1), shape),
                 "sa_get_attention(step)");
        if (shape[0] != B || shape[1] != 1 || shape[2] != 1 || shape[3] != s + 1)
            ex_die("sa_get_attention at step %d returned [%d, %d, %d, %d], expected [%d, 1, 1, %d]", (int)s,
                   (int)shape[0], (int)shape[1], (int)shape[2], (int)shape[3], (int)B, (int)(s + 1));
        for (int32_t b = 0; b < B; b++)
            memcpy(attn + ((size_t)b * (size_t)(T - 1) + (size_t)s) * (size_t)(T - 1), row + (size_t)b * (size_t)(s + 1),
                   (size_t)(s + 1) * sizeof(float));
    }
    free(in);
    free(row);
}

void htap_copy_last(const float *frames, int32_t B, int32_t T, int32_t P, int32_t context, float *pred)
{
    size_t frame = (size_t)P, seq = (size_t)T * frame;
    memset(pred, 0, (size_t)B * seq * sizeof(float));
    for (int32_t b = 0; b < B; b++)
        for (int32_t t = context; t < T; t++)
            memcpy(pred + (size_t)b * seq + (size_t)t * frame, frames + (size_t)b * seq + (size_t)(context - 1) * frame,
                   frame * sizeof(float));
}

void htap_fill_frame(const float *frame, int32_t B, int32_t T, int32_t P, int32_t context, float *pred)
{
    size_t seq = (size_t)T * (size_t)P;
    memset(pred, 0, (size_t)B * seq * sizeof(float));
    for (int32_t b = 0; b < B; b++)
        for (int32_t t = context; t < T; t++)
            memcpy(pred + (size_t)b * seq + (size_t)t * P, frame, (size_t)P * sizeof(float));
}

void htap_accumulate(const float *truth, const float *pred, int32_t B, int32_t T, int32_t P, int32_t context,
                     double *mse_sum, double *psnr_sum)
{
    size_t frame = (size_t)P, seq = (size_t)T * frame;
    for (int32_t b = 0; b < B; b++)
        for (int32_t t = context; t < T; t++) {
            const float *a = truth + (size_t)b * seq + (size_t)t * frame;
            const float *p = pred + (size_t)b * seq + (size_t)t * frame;
            double sum = 0.0;
            for (size_t i = 0; i < frame; i++) {
                double d = (double)p[i] - (double)a[i];
                sum += d * d;
            }
            double mse = sum / (double)frame;
            mse_sum[t - context] += mse;
            psnr_sum[t - context] += 10.0 * log10(1.0 / (mse > MSE_FLOOR ? mse : MSE_FLOOR));
        }
}
