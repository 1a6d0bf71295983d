/* fuzz_models.h — the models the fuzz targets load into, and that
 * make_corpus.c saves as seed files: a file from the corpus matches its
 * target's model, so mutations start from inputs that get deep into the
 * loaders. Public API only. Changing a model means regenerating the corpus
 * (docs/persistence.md). */
#ifndef SEQATTN_FUZZ_MODELS_H
#define SEQATTN_FUZZ_MODELS_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "seqattn/seqattn.h"

/* x (3) -> dense "fc" (4) -> tanh -> GRU "rnn" (2) -> linear attention pool
 * "pool" -> layer norm "ln" -> dense "head" (1); 74 parameters. Returns
 * NULL on failure. */
static inline sa_model *fuzz_params_model(void)
{
    sa_graph *g = sa_graph_new();
    sa_node x = sa_input(g, "x", 3);
    sa_node h = sa_act(g, sa_name(g, sa_dense(g, x, 4), "fc"), SA_ACT_TANH);
    sa_rnn_desc rd = sa_rnn_desc_default();
    rd.hidden = 2;
    h = sa_name(g, sa_gru(g, h, &rd), "rnn");
    h = sa_name(g, sa_attention_pool(g, h, SA_SCORE_LINEAR), "pool");
    h = sa_name(g, sa_layer_norm(g, h, 1e-5f), "ln");
    sa_name(g, sa_dense(g, h, 1), "head");
    sa_model *m = NULL;
    sa_model_create(g, NULL, &m);
    sa_graph_free(g);
    return m;
}

/* fuzz_params_model() with its flat parameter values and a copy of them
 * (initial), so a target can restore the model before each input and check
 * that a failed load left it unchanged. Aborts on failure: this is set-up,
 * not the code under test. */
typedef struct fuzz_snapshot {
    sa_model *model;
    float *values, *initial;
    size_t n;
} fuzz_snapshot;

static inline fuzz_snapshot fuzz_params_snapshot(void)
{
    fuzz_snapshot f = {fuzz_params_model(), NULL, NULL, 0};
    float *grads;
    if (!f.model || sa_params_flat(f.model, &f.values, &grads, &f.n) != SA_OK)
        abort();
    f.initial = malloc(f.n * sizeof(float));
    if (!f.initial)
        abort();
    memcpy(f.initial, f.values, f.n * sizeof(float));
    return f;
}

#endif
