/* sa_models.c — the benchmark workloads as seqattn graphs (see sa_models.h). */
#include "sa_models.h"

#include <stdio.h>
#include <string.h>

static void add_input(sa_graph *g, bm_model *bm, const char *name, int32_t T, int32_t F)
{
    int i = bm->n_in++;
    bm->in[i] = sa_input(g, name, F);
    bm->in_T[i] = T;
    bm->in_F[i] = F;
}

static sa_rnn_desc rnn(int32_t H, int32_t layers, int32_t bidir)
{
    sa_rnn_desc d = sa_rnn_desc_default();
    d.hidden = H;
    d.num_layers = layers;
    d.bidirectional = bidir;
    d.return_sequences = 1;
    return d;
}

/* GRU(H) -> additive attention pooling -> dense(1): pred [B, 1, 1] */
static sa_node gru_attn(sa_graph *g, bm_model *bm, const bm_size *s)
{
    add_input(g, bm, "x", s->T, 1);
    sa_rnn_desc d = rnn(s->H, 1, 0);
    sa_node h = sa_gru(g, bm->in[0], &d);
    return sa_dense(g, sa_attention_pool(g, h, SA_SCORE_ADDITIVE), 1);
}

/* BiLSTM(H) encoder -> LSTM(2H) decoder from the encoder's final h, c ->
 * cross-attention (1 head) -> concat -> dense(1): pred [B, t_out, 1] */
static sa_node seq2seq(sa_graph *g, bm_model *bm, const bm_size *s)
{
    add_input(g, bm, "past", s->T, 1);
    add_input(g, bm, "dec_in", s->t_out, 1);
    sa_rnn_desc ed = rnn(s->H, 1, 1);
    sa_node enc = sa_lstm(g, bm->in[0], &ed);
    sa_rnn_desc dd = rnn(2 * s->H, 1, 0);
    dd.initial_state = sa_rnn_final_state(g, enc);
    dd.initial_cell = sa_rnn_final_cell(g, enc);
    sa_node dec = sa_lstm(g, bm->in[1], &dd);
    sa_mha_desc md = sa_mha_desc_default();
    md.embed_dim = 2 * s->H;
    md.num_heads = 1;
    sa_node parts[2] = {dec, sa_mha(g, dec, enc, enc, &md)};
    return sa_dense(g, sa_concat(g, 2, parts), 1);
}

/* 2-layer BiLSTM(H) -> mean over time -> dense(64) relu -> dense(1) sigmoid */
static sa_node lstm_stack(sa_graph *g, bm_model *bm, const bm_size *s)
{
    add_input(g, bm, "x", s->T, 1);
    sa_rnn_desc d = rnn(s->H, 2, 1);
    sa_node m = sa_mean_time(g, sa_lstm(g, bm->in[0], &d));
    sa_node h = sa_act(g, sa_dense(g, m, 64), SA_ACT_RELU);
    return sa_act(g, sa_dense(g, h, 1), SA_ACT_SIGMOID);
}

/* self-attention MHA(E = H, 4 heads) -> mean over time -> dense(1) */
static sa_node mha(sa_graph *g, bm_model *bm, const bm_size *s)
{
    add_input(g, bm, "x", s->T, s->H);
    sa_mha_desc md = sa_mha_desc_default();
    md.embed_dim = s->H;
    md.num_heads = 4;
    sa_node x = bm->in[0];
    return sa_dense(g, sa_mean_time(g, sa_mha(g, x, x, x, &md)), 1);
}

/* 2 causal pre-norm blocks (d = H, 4 heads, ff = 4H) -> dense(1) per step */
static sa_node tiny_transformer(sa_graph *g, bm_model *bm, const bm_size *s)
{
    add_input(g, bm, "x", s->T, s->H);
    sa_transformer_desc td = sa_transformer_desc_default();
    td.num_heads = 4;
    td.ff_dim = 4 * s->H;
    td.causal = 1;
    sa_node h = bm->in[0];
    for (int k = 0; k < 2; k++)
        h = sa_transformer_block(g, h, &td);
    return sa_dense(g, h, 1);
}

/* GRU(H) -> dense(1), fed one step at a time (sa_step) */
static sa_node stream(sa_graph *g, bm_model *bm, const bm_size *s)
{
    add_input(g, bm, "x", 1, 1);
    sa_rnn_desc d = rnn(s->H, 1, 0);
    return sa_dense(g, sa_gru(g, bm->in[0], &d), 1);
}

int bm_build(const char *name, const bm_size *s, int with_loss, bm_model *out)
{
    static const struct {
        const char *name;
        sa_node (*build)(sa_graph *, bm_model *, const bm_size *);
        int per_step_target; /* target [B, T_pred, 1] follows the prediction's T */
    } table[] = {{"gru_attn", gru_attn, 0}, {"seq2seq", seq2seq, 1}, {"lstm_stack", lstm_stack, 0},
                 {"mha", mha, 0}, {"tiny_transformer", tiny_transformer, 1}, {"stream", stream, 0}};
    memset(out, 0, sizeof *out);
    out->loss = SA_NODE_NONE;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(name, table[i].name) != 0)
            continue;
        sa_graph *g = sa_graph_new();
        if (!g)
            return fprintf(stderr, "sa_graph_new: out of memory\n"), -1;
        out->pred = table[i].build(g, out, s);
        if (with_loss) {
            int32_t tp = !table[i].per_step_target ? 1 : strcmp(name, "seq2seq") == 0 ? s->t_out : s->T;
            add_input(g, out, "target", tp, 1);
            out->loss = sa_loss_mse(g, out->pred, out->in[out->n_in - 1]);
        }
        sa_status st = sa_graph_status(g);
        if (st != SA_OK)
            fprintf(stderr, "building %s: %s: %s\n", name, sa_status_str(st), sa_graph_errmsg(g));
        else if ((st = sa_model_create(g, NULL, &out->m)) != SA_OK)
            fprintf(stderr, "creating %s: %s: %s\n", name, sa_status_str(st), sa_last_error());
        sa_graph_free(g);
        return st == SA_OK ? 0 : -1;
    }
    fprintf(stderr, "unknown workload '%s'\n", name);
    return -1;
}
