/*
 * htap_model.h — the latent video predictor of htap_video.c, in its two
 * variants, which differ only in the latent transition:
 *
 *   x_t [B, T, P]  ─ enc.fc1 dense(hidden) ─ RELU ─ enc.fc2 dense(d) ─ z_t [B, T, d]
 *   transition over z_≤t:
 *     HTAP_RNN  (baseline)  z ─ GRU(H, return_sequences) ─ trans.out dense(d)
 *     HTAP_TFM  (H-TAP)     z ─ sinusoidal positions ─ causal transformer block ×2
 *                             (heads, ff, GELU, pre-norm) ─ trans.out dense(d)
 *                                                                ─ ẑ_{t+1} [B, T, d]
 *   ẑ ─ dec.fc1 dense(hidden) ─ RELU ─ dec.fc2 dense(P) ─ SIGMOID ─ x̂_{t+1} [B, T, P]
 *
 * P = S*S pixels of a frame. The GRU's hidden size H is chosen so that the
 * two transitions have about the same number of parameters
 * (htap_match_rnn_hidden), so a difference in the results is not a
 * difference in capacity.
 *
 * Each variant holds two models with the same weights: `train` has a target
 * input and the MSE loss and learns with teacher forcing (frames 1..T-1 in,
 * 2..T as targets); `step` is the same graph without the loss — a loss needs
 * the whole sequence and cannot be stepped — used for the autoregressive
 * rollout. htap_sync() copies the trained weights into it.
 */
#ifndef EXAMPLES_HTAP_MODEL_H
#define EXAMPLES_HTAP_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <seqattn/seqattn.h>

typedef enum htap_kind {
    HTAP_RNN = 0, /* recurrent latent transition: the baseline */
    HTAP_TFM = 1  /* causal temporal transformer over the latent history: H-TAP */
} htap_kind;

/** "rnn" or "htap": the key used in the outputs. */
const char *htap_kind_key(htap_kind k);

typedef struct htap_sizes {
    int32_t pixels;     /* P = S*S */
    int32_t hidden;     /* encoder / decoder hidden layer */
    int32_t latent;     /* d */
    int32_t heads;      /* attention heads, divides d */
    int32_t ff;         /* feed-forward size of each block */
    int32_t blocks;     /* transformer blocks */
    int32_t rnn_hidden; /* H of the GRU; htap_match_rnn_hidden() sets it */
} htap_sizes;

/** Parameters of each transition, from the sizes alone (the library's
 *  layouts: torch's). Used to pick H; the reported counts come from the
 *  models themselves (htap_net.params). */
size_t htap_transition_params(const htap_sizes *s, htap_kind k);
/** Sets s->rnn_hidden to the H whose GRU transition is closest in size to
 *  the transformer transition. */
void htap_match_rnn_hidden(htap_sizes *s);

/** Name of the attention node whose weights are reported: the last block's
 *  self-attention. */
#define HTAP_LAST_ATTN_FMT "block%d.self_attn"

typedef struct htap_nodes {
    sa_model *m;
    sa_node x, pred;
    sa_node y, loss; /* SA_NODE_NONE in the step model */
    sa_node attn;    /* the last block's self_attn (HTAP_TFM), else SA_NODE_NONE */
} htap_nodes;

typedef struct htap_net {
    htap_kind kind;
    htap_sizes sizes;
    htap_nodes train, step;
    size_t params;            /* all parameters */
    size_t transition_params; /* those outside enc.* and dec.* */
} htap_net;

/** Builds both models with the initial weights of `seed`. Dies on failure. */
void htap_create(htap_net *n, htap_kind kind, const htap_sizes *s, uint64_t seed);
void htap_destroy(htap_net *n);

/** One teacher-forced update on x, y [B, T, P] (inputs = frames 1..T-1,
 *  targets = frames 2..T of the same sequences). @return the batch MSE. */
double htap_train_step(htap_net *n, sa_optim *opt, const float *x, const float *y, int32_t B, int32_t T);

/** Copies the trained weights into the step model. */
void htap_sync(htap_net *n);

#endif
