/* rnn.h — the recurrent driver shared by the GRU and LSTM layers.
 *
 * The driver owns everything that is the same for every cell: layers and
 * directions, per-sample lengths, initial and final states, the input
 * projection of all steps in one GEMM, one recurrent GEMM per step, and the
 * weight-gradient GEMMs done once after the backward time loop. A cell only
 * says how one unit turns its gate pre-activations into a new state, and back. */
#ifndef SA_RNN_H
#define SA_RNN_H

#include "../internal.h"

/* iarg slots of a recurrent node */
enum { RNN_H, RNN_LAYERS, RNN_DIRS, RNN_SEQ, RNN_IN, RNN_H0, RNN_C0, RNN_PEEP };

typedef struct sa_rnn_cell {
    int32_t G;      /* gate blocks of H in each projection (GRU 3, LSTM 4) */
    int32_t S;      /* floats saved per unit and step for backward */
    int32_t has_c;  /* carries a cell state c besides h */
    int32_t shared_grad; /* the input and recurrent projections get the same
                            gradient: bwd writes dx only and dhr is NULL */
    /* One step of one sample. xr, hr: (G·H) input and recurrent projections
     * (biases included; the cell may overwrite hr as scratch); h, c: state in,
     * new state out; save: (S·H) for backward (scratch in inference); peep:
     * (3·H) peephole weights or NULL. */
    void (*fwd)(int32_t H, const float *xr, float *hr, float *h, float *c, float *save,
                const float *peep);
    /* Inverse of fwd. dh: in dL/dh_t, out the part of dL/dh_{t-1} that does not
     * go through W_hh; dc: in dL/dc_t, out dL/dc_{t-1}; dx, dhr: (G·H) gradients
     * of the input and recurrent projections (dhr NULL if shared_grad); dpeep:
     * (3·H) accumulated. */
    void (*bwd)(int32_t H, const float *save, const float *hprev, const float *cprev, float *dh,
                float *dc, float *dx, float *dhr, const float *peep, float *dpeep);
} sa_rnn_cell;

extern const sa_rnn_cell sa_gru_cell, sa_lstm_cell;

/* Shared op functions; the cell comes from the node's ops (sa_op_gru / sa_op_lstm). */
int32_t sa_rnn_params(const sa_node_def *d, sa_param_spec *s);
sa_status sa_rnn_reshape(sa_op_ctx *c);
size_t sa_rnn_ws_bytes(const sa_op_ctx *c);
size_t sa_rnn_scratch_bytes(const sa_op_ctx *c);
sa_status sa_rnn_forward(sa_op_ctx *c);
void sa_rnn_backward(sa_op_ctx *c);
sa_status sa_rnn_step(sa_op_ctx *c);
sa_status sa_rnn_can_step(const sa_node_def *d, const unsigned char *in_stepped);

/* Builds a recurrent node of the given ops after validating desc. */
sa_node sa_rnn_add(sa_graph *g, sa_node x, const sa_rnn_desc *desc, const sa_layer_ops *ops,
                   const char *fn);

#endif
