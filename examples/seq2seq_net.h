/*
 * seq2seq_net.h — the Seq2Seq forecaster of seq2seq_forecast.c: graph,
 * teacher-forced training and autoregressive decoding by step execution.
 *
 *   past [B, 50, 1] ─ LSTM(H, bidirectional, return_sequences) ─ enc [B, 50, 2H]
 *                                     │ final h and c, each [B, 1, 2H] = cat(forward, reverse)
 *   dec_in [B, 20, 1] ─ LSTM(2H, initial state and cell from the encoder) ─ dec [B, 20, 2H]
 *   with attention:    ctx = MHA(query dec, keys = values = enc, 1 head)   [B, 20, 2H]
 *                      pred = dense(1)(concat(dec, ctx))                   [B, 20, 1]
 *   without attention: pred = dense(1)(dec)
 *
 * Values are fed relative to the last past value and scaled by training
 * statistics (s2s_scaling); every error this module returns is in series units.
 *
 * Two models share the weights: `train` holds the MSE loss and learns with
 * teacher forcing (decoder input at step t = the true value of step t-1, the
 * last past value for t = 0); `decoder` is the same graph without the loss,
 * because a loss needs the whole sequence and cannot be stepped. Before
 * decoding, the trained weights are copied into it.
 */
#ifndef EXAMPLES_SEQ2SEQ_NET_H
#define EXAMPLES_SEQ2SEQ_NET_H

#include <seqattn/seqattn.h>

#include "rng.h"
#include "signal.h"

#define S2S_PAST 50    /* input steps per window */
#define S2S_HORIZON 20 /* forecast steps */

/** Spreads of the shifted inputs (past) and of the shifted future values
 *  (decoder inputs and targets share one scale, so a prediction can be fed
 *  back as the next input unchanged). */
typedef struct s2s_scaling {
    float in, out;
} s2s_scaling;

/** Measures the scaling on training windows; dies if they are constant. */
s2s_scaling s2s_measure_scaling(const sig_windows *train);

typedef struct s2s_nodes {
    sa_model *m;
    sa_node past, dec_in, pred;
    sa_node y, loss; /* SA_NODE_NONE in the decoder model */
    sa_node attn;    /* SA_NODE_NONE without attention */
} s2s_nodes;

typedef struct s2s_net {
    int attention;
    int32_t max_batch;
    s2s_scaling scale;
    s2s_nodes train, decoder;
    /* batch buffers, [max_batch, ...] */
    float *past, *dec, *y, *out, *step_in, *step_out, *row;
} s2s_net;

/** Builds both models with the weights of `seed` (the same seed gives the
 *  same initial weights). enc_hidden is H above. Dies on failure. */
void s2s_create(s2s_net *n, int attention, int32_t enc_hidden, uint64_t seed, int32_t max_batch,
                s2s_scaling scale);
void s2s_destroy(s2s_net *n);

/** One teacher-forced pass over w in a seeded random order, batches of `batch`.
 *  @return the mean training MSE over the epoch, in series units. */
double s2s_train_epoch(s2s_net *n, sa_optim *opt, const sig_windows *w, int32_t *order, int32_t batch,
                       ex_rng *rng);

/** Autoregressive forecasts of every window of w with the current trained
 *  weights: the decoder sees its own previous prediction, as in real use.
 *  @param mse_h receives S2S_HORIZON per-step MSEs (series units).
 *  @param pred NULL or receives w->count * S2S_HORIZON forecasts (series units).
 *  @param attn NULL or receives w->count matrices [S2S_HORIZON, S2S_PAST] of
 *              cross-attention weights (attention model only).
 *  @return the MSE over all steps. */
double s2s_evaluate(s2s_net *n, const sig_windows *w, double *mse_h, float *pred, float *attn);

/** Runs the first b windows of w teacher-forced twice on the decoder model:
 *  one full-sequence forward, and S2S_HORIZON sa_step() calls fed the same
 *  inputs. Step execution promises equal outputs.
 *  @param max_attn NULL or receives the largest attention difference.
 *  @return the largest absolute difference of the (scaled) outputs. */
double s2s_check_stepping(s2s_net *n, const sig_windows *w, int32_t b, double *max_attn);

#endif
