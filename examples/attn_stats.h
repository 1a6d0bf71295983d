/*
 * attn_stats.h — two numbers that summarise where a cross-attention looks.
 *
 * A is one sample's T_out x T_in attention matrix: row i holds the weights
 * that output step i (time position T_in + i, 0-based) puts on input step j
 * (position j); each row sums to 1.
 *
 *   span_i    = Σ_j A_ij |(T_in + i) − j|     how far back, in input steps,
 *                                            the weighted look goes (>= i + 1)
 *   entropy_i = −Σ_j A_ij ln A_ij            0 for one input step,
 *                                            ln T_in for uniform weights
 *
 * Both are averaged over samples per output step; the overall figures are the
 * mean over output steps too. docs/models/seq2seq_forecast.md says how to read them.
 */
#ifndef EXAMPLES_ATTN_STATS_H
#define EXAMPLES_ATTN_STATS_H

#include <stdint.h>

typedef struct as_summary {
    int32_t t_out, t_in;
    double *span;         /* [t_out] mean span per output step */
    double *entropy;      /* [t_out] mean entropy per output step, in nats */
    double span_mean;     /* mean of span[] */
    double entropy_mean;  /* mean of entropy[] */
    double entropy_norm;  /* entropy_mean / ln t_in: 0 = one step, 1 = uniform */
} as_summary;

/** Summarises n matrices stored one after the other in A ([n, t_out, t_in]).
 *  @param mean NULL, or receives the element-wise mean matrix [t_out, t_in].
 *  @return NULL on success, else a static message (bad size, out of memory). */
const char *as_summarise(const float *A, int32_t n, int32_t t_out, int32_t t_in, as_summary *out,
                         float *mean);
void as_summary_free(as_summary *s);

#endif
