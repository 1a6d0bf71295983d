/* seq2seq_net.c — graph, training and step-execution decoding of the
 * Seq2Seq forecaster (seq2seq_net.h). */
#include "seq2seq_net.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define EVAL_BATCH 256 /* decoding needs no gradients, so larger batches are cheap */

/* ------------------------------------------------------------------ graph */

static s2s_nodes build(int attention, int with_loss, int32_t enc_hidden, uint64_t seed)
{
    sa_graph *g = sa_graph_new();
    if (!g)
        ex_die("sa_graph_new: out of memory");
    s2s_nodes n = {.y = SA_NODE_NONE, .loss = SA_NODE_NONE, .attn = SA_NODE_NONE};
    n.past = sa_input(g, "past", 1);
    n.dec_in = sa_input(g, "dec_in", 1);

    sa_rnn_desc ed = sa_rnn_desc_default();
    ed.hidden = enc_hidden;
    ed.bidirectional = 1;    /* each encoder state sees the whole window, both ways */
    ed.return_sequences = 1; /* the attention needs every step's state */
    sa_node enc = sa_name(g, sa_lstm(g, n.past, &ed), "encoder");

    /* The encoder's final h and c are [B, 1, 2H] laid out as cat(forward,
     * reverse) (seqattn.h, note on bidirectional states): exactly the initial
     * state of a one-layer decoder of hidden 2H, no reshape in between. */
    sa_rnn_desc dd = sa_rnn_desc_default();
    dd.hidden = 2 * enc_hidden;
    dd.return_sequences = 1;
    dd.initial_state = sa_rnn_final_state(g, enc);
    dd.initial_cell = sa_rnn_final_cell(g, enc);
    sa_node dec = sa_name(g, sa_lstm(g, n.dec_in, &dd), "decoder");

    sa_node head_in = dec;
    if (attention) {
        /* sa_mha rather than sa_sdpa: sdpa scores raw dot products dec_t · enc_j,
         * which asks the decoder's state to live in the same coordinates as the
         * encoder's states; nothing in training ties them together except the
         * initial state. MHA's learned query and key projections (Luong's
         * "general" score) let the model choose what to compare - e.g. the phase
         * of the fast wave - and its value projection what to read out, for
         * 4 (2H)² extra weights. With one head the weights are directly the
         * T_out x T_in alignment the documents plot. */
        sa_mha_desc md = sa_mha_desc_default();
        md.embed_dim = 2 * enc_hidden;
        md.num_heads = 1;
        n.attn = sa_name(g, sa_mha(g, dec, enc, enc, &md), "cross_attn");
        sa_node parts[2] = {dec, n.attn};
        head_in = sa_concat(g, 2, parts); /* [decoder output ; context] */
    }
    n.pred = sa_name(g, sa_dense(g, head_in, 1), "head");
    /* y comes last so both models number their layers, hence their parameters, alike */
    if (with_loss) {
        n.y = sa_input(g, "y", 1);
        n.loss = sa_loss_mse(g, n.pred, n.y);
    }
    n.m = ex_model_create(g, seed, attention ? "Seq2Seq + attention" : "Seq2Seq");
    return n;
}

/* Weights are copied as one flat vector, so both models must list the same
 * parameters in the same order; checked once, by name and size. */
static void check_same_params(const sa_model *a, const sa_model *b)
{
    int32_t count = sa_param_count(a);
    if (count != sa_param_count(b))
        ex_die("the training and decoding models have different parameter counts");
    for (int32_t i = 0; i < count; i++) {
        sa_param_info pa, pb;
        ex_check(sa_param_get(a, i, &pa), "sa_param_get");
        ex_check(sa_param_get(b, i, &pb), "sa_param_get");
        if (strcmp(pa.name, pb.name) != 0 || pa.numel != pb.numel)
            ex_die("parameter %d differs between the models: %s vs %s", (int)i, pa.name, pb.name);
    }
}

void s2s_create(s2s_net *n, int attention, int32_t enc_hidden, uint64_t seed, int32_t max_batch,
                s2s_scaling scale)
{
    memset(n, 0, sizeof *n);
    n->attention = attention;
    n->scale = scale;
    n->max_batch = max_batch > EVAL_BATCH ? max_batch : EVAL_BATCH;
    n->train = build(attention, 1, enc_hidden, seed);
    n->decoder = build(attention, 0, enc_hidden, seed);
    check_same_params(n->train.m, n->decoder.m);
    size_t b = (size_t)n->max_batch;
    n->past = malloc(b * S2S_PAST * sizeof(float));
    n->dec = malloc(b * S2S_HORIZON * sizeof(float));
    n->y = malloc(b * S2S_HORIZON * sizeof(float));
    n->out = malloc(b * S2S_HORIZON * sizeof(float));
    n->step_in = malloc(b * sizeof(float));
    n->step_out = malloc(b * sizeof(float));
    n->row = malloc(b * S2S_PAST * sizeof(float));
    if (!n->past || !n->dec || !n->y || !n->out || !n->step_in || !n->step_out || !n->row)
        ex_die("out of memory");
}

void s2s_destroy(s2s_net *n)
{
    sa_model_destroy(n->train.m);
    sa_model_destroy(n->decoder.m);
    free(n->past);
    free(n->dec);
    free(n->y);
    free(n->out);
    free(n->step_in);
    free(n->step_out);
    free(n->row);
    memset(n, 0, sizeof *n);
}

/* ------------------------------------------------------------------- data */

s2s_scaling s2s_measure_scaling(const sig_windows *w)
{
    double sx = 0.0, sy = 0.0;
    for (int32_t i = 0; i < w->count; i++) {
        const float *p = w->past_values + (size_t)i * S2S_PAST;
        const float *f = w->future + (size_t)i * S2S_HORIZON;
        double last = p[S2S_PAST - 1];
        for (int32_t t = 0; t < S2S_PAST; t++)
            sx += (p[t] - last) * (p[t] - last);
        for (int32_t h = 0; h < S2S_HORIZON; h++)
            sy += (f[h] - last) * (f[h] - last);
    }
    s2s_scaling s = {(float)sqrt(sx / ((double)w->count * S2S_PAST)),
                     (float)sqrt(sy / ((double)w->count * S2S_HORIZON))};
    if (!(s.in > 0.0f) || !(s.out > 0.0f))
        ex_die("the training windows are constant: nothing to learn");
    return s;
}

/* Fills the batch buffers from windows idx[0..b): every value minus the
 * window's last past value, then scaled. The first decoder input is the last
 * past value itself, i.e. 0; the next ones are the true previous values
 * (teacher forcing). */
static void gather(s2s_net *n, const sig_windows *w, const int32_t *idx, int32_t b)
{
    const s2s_scaling *sc = &n->scale;
    for (int32_t i = 0; i < b; i++) {
        const float *p = w->past_values + (size_t)idx[i] * S2S_PAST;
        const float *f = w->future + (size_t)idx[i] * S2S_HORIZON;
        float last = p[S2S_PAST - 1];
        for (int32_t t = 0; t < S2S_PAST; t++)
            n->past[(size_t)i * S2S_PAST + t] = (p[t] - last) / sc->in;
        for (int32_t h = 0; h < S2S_HORIZON; h++) {
            n->y[(size_t)i * S2S_HORIZON + h] = (f[h] - last) / sc->out;
            n->dec[(size_t)i * S2S_HORIZON + h] = h == 0 ? 0.0f : (f[h - 1] - last) / sc->out;
        }
    }
}

/* --------------------------------------------------------------- training */

double s2s_train_epoch(s2s_net *n, sa_optim *opt, const sig_windows *w, int32_t *order, int32_t batch,
                       ex_rng *rng)
{
    const s2s_nodes *t = &n->train;
    ex_rng_shuffle(rng, order, w->count);
    double sum = 0.0;
    for (int32_t s = 0; s < w->count; s += batch) {
        int32_t b = w->count - s < batch ? w->count - s : batch;
        gather(n, w, order + s, b);
        ex_check(sa_set_input(t->m, t->past, n->past, b, S2S_PAST, NULL), "sa_set_input(past)");
        ex_check(sa_set_input(t->m, t->dec_in, n->dec, b, S2S_HORIZON, NULL), "sa_set_input(dec_in)");
        ex_check(sa_set_input(t->m, t->y, n->y, b, S2S_HORIZON, NULL), "sa_set_input(y)");
        ex_check(sa_zero_grad(t->m), "sa_zero_grad");
        ex_check(sa_forward(t->m, SA_TRAIN), "sa_forward(train)");
        ex_check(sa_backward(t->m, t->loss), "sa_backward");
        ex_check(sa_optim_step(opt), "sa_optim_step");
        float loss;
        ex_check(sa_get_output(t->m, t->loss, &loss, 1, NULL), "sa_get_output(loss)");
        sum += (double)loss * b; /* the loss is a batch mean; weight the last short batch fairly */
    }
    return sum / w->count * (double)n->scale.out * n->scale.out;
}

/* ---------------------------------------------------------------- decoding */

static void sync_weights(s2s_net *n)
{
    float *src, *dst, *g;
    size_t ns, nd;
    ex_check(sa_params_flat(n->train.m, &src, &g, &ns), "sa_params_flat(train)");
    ex_check(sa_params_flat(n->decoder.m, &dst, &g, &nd), "sa_params_flat(decoder)");
    if (ns != nd)
        ex_die("the training and decoding models have different sizes");
    memcpy(dst, src, ns * sizeof(float));
}

/* Decodes the b windows in the batch buffers into n->out [b, S2S_HORIZON]
 * (scaled units) by step execution. The encoder and the attention's keys and
 * values depend only on `past`, so they run once, at the first sa_step; each
 * step then costs one decoder step. teacher: feed n->dec (the true previous
 * values) instead of the previous prediction, for the equivalence check.
 * attn: NULL or receives [b, S2S_HORIZON, S2S_PAST] weights. */
static void decode(s2s_net *n, int32_t b, int teacher, float *attn)
{
    const s2s_nodes *d = &n->decoder;
    ex_check(sa_step_begin(d->m, 1, &d->dec_in), "sa_step_begin");
    ex_check(sa_set_input(d->m, d->past, n->past, b, S2S_PAST, NULL), "sa_set_input(past)");
    for (int32_t i = 0; i < b; i++)
        n->step_in[i] = 0.0f; /* the last past value, relative to itself */
    for (int32_t t = 0; t < S2S_HORIZON; t++) {
        if (teacher)
            for (int32_t i = 0; i < b; i++)
                n->step_in[i] = n->dec[(size_t)i * S2S_HORIZON + t];
        ex_check(sa_set_input(d->m, d->dec_in, n->step_in, b, 1, NULL), "sa_set_input(dec_in step)");
        ex_check(sa_step(d->m), "sa_step");
        int32_t shape[4];
        ex_check(sa_get_output(d->m, d->pred, n->step_out, (size_t)b, shape), "sa_get_output(pred step)");
        if (shape[0] != b || shape[1] != 1 || shape[2] != 1)
            ex_die("a decoder step returned [%d, %d, %d], expected [%d, 1, 1]", (int)shape[0], (int)shape[1],
                   (int)shape[2], (int)b);
        for (int32_t i = 0; i < b; i++) {
            n->out[(size_t)i * S2S_HORIZON + t] = n->step_out[i];
            n->step_in[i] = n->step_out[i]; /* fed back at the next step */
        }
        if (!attn)
            continue;
        ex_check(sa_get_attention(d->m, d->attn, SA_HEADS_MEAN, n->row, (size_t)b * S2S_PAST, shape),
                 "sa_get_attention(step)");
        if (shape[0] != b || shape[1] != 1 || shape[2] != 1 || shape[3] != S2S_PAST)
            ex_die("sa_get_attention during a step returned [%d, %d, %d, %d], expected [%d, 1, 1, %d]",
                   (int)shape[0], (int)shape[1], (int)shape[2], (int)shape[3], (int)b, S2S_PAST);
        for (int32_t i = 0; i < b; i++)
            memcpy(attn + ((size_t)i * S2S_HORIZON + t) * S2S_PAST, n->row + (size_t)i * S2S_PAST,
                   S2S_PAST * sizeof(float));
    }
}

double s2s_evaluate(s2s_net *n, const sig_windows *w, double *mse_h, float *pred, float *attn)
{
    if (attn && !n->attention)
        ex_die("s2s_evaluate: attention asked of the model without attention");
    sync_weights(n);
    int32_t bmax = n->max_batch;
    int32_t *idx = malloc((size_t)bmax * sizeof(int32_t));
    if (!idx)
        ex_die("out of memory");
    for (int32_t h = 0; h < S2S_HORIZON; h++)
        mse_h[h] = 0.0;
    for (int32_t s = 0; s < w->count; s += bmax) {
        int32_t b = w->count - s < bmax ? w->count - s : bmax;
        for (int32_t i = 0; i < b; i++)
            idx[i] = s + i;
        gather(n, w, idx, b);
        decode(n, b, 0, attn ? attn + (size_t)s * S2S_HORIZON * S2S_PAST : NULL);
        for (int32_t i = 0; i < b; i++) {
            float last = w->past_values[(size_t)(s + i) * S2S_PAST + S2S_PAST - 1];
            for (int32_t h = 0; h < S2S_HORIZON; h++) {
                size_t k = (size_t)i * S2S_HORIZON + h;
                /* the shift cancels in the difference; the scale is undone */
                double e = ((double)n->out[k] - n->y[k]) * n->scale.out;
                mse_h[h] += e * e;
                if (pred)
                    pred[(size_t)(s + i) * S2S_HORIZON + h] = n->out[k] * n->scale.out + last;
            }
        }
    }
    free(idx);
    double all = 0.0;
    for (int32_t h = 0; h < S2S_HORIZON; h++) {
        mse_h[h] /= w->count;
        all += mse_h[h];
    }
    return all / S2S_HORIZON;
}

double s2s_check_stepping(s2s_net *n, const sig_windows *w, int32_t b, double *max_attn)
{
    const s2s_nodes *d = &n->decoder;
    if (b > w->count)
        b = w->count;
    if (b > n->max_batch)
        b = n->max_batch;
    size_t no = (size_t)b * S2S_HORIZON, na = no * S2S_PAST;
    float *full = malloc(no * sizeof(float));
    float *full_attn = n->attention ? malloc(na * sizeof(float)) : NULL;
    float *step_attn = n->attention ? malloc(na * sizeof(float)) : NULL;
    int32_t *idx = malloc((size_t)b * sizeof(int32_t));
    if (!full || !idx || (n->attention && (!full_attn || !step_attn)))
        ex_die("out of memory");
    for (int32_t i = 0; i < b; i++)
        idx[i] = i;
    sync_weights(n);
    gather(n, w, idx, b);

    /* The whole sequence at once (this also leaves any step execution). */
    ex_check(sa_set_input(d->m, d->past, n->past, b, S2S_PAST, NULL), "sa_set_input(past)");
    ex_check(sa_set_input(d->m, d->dec_in, n->dec, b, S2S_HORIZON, NULL), "sa_set_input(dec_in)");
    ex_check(sa_forward(d->m, SA_INFER), "sa_forward(check)");
    ex_check(sa_get_output(d->m, d->pred, full, no, NULL), "sa_get_output(check)");
    if (n->attention)
        ex_check(sa_get_attention(d->m, d->attn, SA_HEADS_MEAN, full_attn, na, NULL), "sa_get_attention(check)");

    /* The same inputs, one step at a time. */
    decode(n, b, 1, step_attn);
    double diff = 0.0, adiff = 0.0;
    for (size_t k = 0; k < no; k++)
        diff = fmax(diff, fabs((double)full[k] - n->out[k]));
    for (size_t k = 0; n->attention && k < na; k++)
        adiff = fmax(adiff, fabs((double)full_attn[k] - step_attn[k]));
    /* fmax drops NaN: a NaN anywhere must fail the check, not pass it */
    for (size_t k = 0; k < no; k++)
        if (!isfinite(n->out[k]) || !isfinite(full[k]))
            diff = INFINITY;
    if (max_attn)
        *max_attn = adiff;
    free(full);
    free(full_attn);
    free(step_attn);
    free(idx);
    return diff;
}
