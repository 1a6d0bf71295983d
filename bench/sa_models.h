/* sa_models.h — the benchmark workloads as seqattn graphs (the same models
 * as bench/torch_models.py; bench/flops.py counts their work). */
#ifndef SA_BENCH_MODELS_H
#define SA_BENCH_MODELS_H

#include <seqattn/seqattn.h>

#define BM_MAX_IN 3

typedef struct bm_size {
    int32_t B, T, H, t_out; /* batch, sequence (encoder) length, hidden/embed size, decoder steps */
} bm_size;

/* A built workload: its inputs in the order they are fed, with their shapes,
 * the prediction and (training graphs only) the loss. */
typedef struct bm_model {
    sa_model *m;
    int n_in;
    sa_node in[BM_MAX_IN];
    int32_t in_T[BM_MAX_IN], in_F[BM_MAX_IN];
    sa_node pred, loss; /* loss is SA_NODE_NONE without a target */
} bm_model;

/* Builds workload `name` (gru_attn, seq2seq, lstm_stack, mha,
 * tiny_transformer, stream). with_loss adds the target input (last) and an
 * MSE loss. @return 0, or -1 with a message on stderr. */
int bm_build(const char *name, const bm_size *s, int with_loss, bm_model *out);

#endif
