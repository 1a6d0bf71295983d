/* htap_model.c — graphs, training step and weight sync of htap_model.h. */
#include "htap_model.h"

#include <stdio.h>
#include <string.h>

#include "common.h"

const char *htap_kind_key(htap_kind k)
{
    return k == HTAP_TFM ? "htap" : "rnn";
}

/* torch layouts: dense (out, in) + (out); GRU weight_ih (3H, I), weight_hh
 * (3H, H), two biases (3H); MHA in_proj (3E, E) + (3E), out_proj (E, E) + (E);
 * layer norm weight + bias. Sinusoidal positions have none. */
size_t htap_transition_params(const htap_sizes *s, htap_kind k)
{
    size_t d = (size_t)s->latent, out = d * d + d;
    if (k == HTAP_RNN) {
        size_t h = (size_t)s->rnn_hidden;
        return 3 * h * (d + h) + 6 * h + h * d + d;
    }
    size_t ff = (size_t)s->ff;
    size_t block = (3 * d * d + 3 * d) + (d * d + d) + 2 * (2 * d) + (d * ff + ff) + (ff * d + d);
    return (size_t)s->blocks * block + out;
}

void htap_match_rnn_hidden(htap_sizes *s)
{
    size_t target = htap_transition_params(s, HTAP_TFM);
    int32_t best = 1;
    size_t best_gap = (size_t)-1;
    for (int32_t h = 1; h <= 4096; h++) {
        s->rnn_hidden = h;
        size_t p = htap_transition_params(s, HTAP_RNN);
        size_t gap = p > target ? p - target : target - p;
        if (gap < best_gap) {
            best_gap = gap;
            best = h;
        }
        if (p > target)
            break; /* the count only grows with h */
    }
    s->rnn_hidden = best;
}

/* Everything between the latent codes z and the predicted codes ẑ. */
static sa_node transition(sa_graph *g, sa_node z, htap_kind kind, const htap_sizes *s)
{
    sa_node h;
    if (kind == HTAP_RNN) {
        sa_rnn_desc rd = sa_rnn_desc_default();
        rd.hidden = s->rnn_hidden;
        rd.return_sequences = 1; /* a prediction after every frame */
        h = sa_name(g, sa_gru(g, z, &rd), "trans.gru");
    } else {
        /* Sinusoidal rather than learned positions: no parameters to take from
         * the budget, and in step execution position = step index, so the
         * rollout sees the positions of training. */
        h = sa_posenc_sinusoidal(g, z);
        for (int32_t b = 1; b <= s->blocks; b++) {
            char name[32];
            snprintf(name, sizeof name, "block%d", (int)b);
            sa_transformer_desc td = sa_transformer_desc_default();
            td.num_heads = s->heads;
            td.ff_dim = s->ff;
            td.causal = 1; /* ẑ_{t+1} may only see z_≤t: the rollout has no future */
            td.activation = SA_ACT_GELU;
            td.name = name; /* copied; also the prefix of "<name>.self_attn" */
            h = sa_transformer_block(g, h, &td);
        }
    }
    return sa_name(g, sa_dense(g, h, s->latent), "trans.out");
}

static void build(htap_nodes *nd, htap_kind kind, const htap_sizes *s, int with_loss, uint64_t seed)
{
    sa_graph *g = sa_graph_new();
    if (!g)
        ex_die("sa_graph_new: out of memory");
    nd->x = sa_input(g, "x", s->pixels);
    sa_node h = sa_name(g, sa_dense(g, nd->x, s->hidden), "enc.fc1");
    h = sa_act(g, h, SA_ACT_RELU);
    sa_node z = sa_name(g, sa_dense(g, h, s->latent), "enc.fc2");
    sa_node zh = transition(g, z, kind, s);
    h = sa_act(g, sa_name(g, sa_dense(g, zh, s->hidden), "dec.fc1"), SA_ACT_RELU);
    /* Sigmoid: pixels live in [0, 1], and a fed-back frame must too. */
    nd->pred = sa_act(g, sa_name(g, sa_dense(g, h, s->pixels), "dec.fc2"), SA_ACT_SIGMOID);
    nd->y = nd->loss = nd->attn = SA_NODE_NONE;
    if (with_loss) {
        nd->y = sa_input(g, "y", s->pixels);
        nd->loss = sa_loss_mse(g, nd->pred, nd->y);
    }
    nd->m = ex_model_create(g, seed, htap_kind_key(kind));
    if (kind == HTAP_TFM) {
        /* sa_transformer_block returns only its output node; the attention
         * node inside is found by the name the block gave it. */
        char name[48];
        snprintf(name, sizeof name, HTAP_LAST_ATTN_FMT, (int)s->blocks);
        ex_check(sa_model_find_node(nd->m, name, &nd->attn), "sa_model_find_node(last self_attn)");
    }
}

static void count_params(htap_net *n)
{
    sa_model *m = n->train.m;
    int32_t k = sa_param_count(m);
    n->params = n->transition_params = 0;
    for (int32_t i = 0; i < k; i++) {
        sa_param_info pi;
        ex_check(sa_param_get(m, i, &pi), "sa_param_get");
        n->params += pi.numel;
        if (strncmp(pi.name, "enc.", 4) != 0 && strncmp(pi.name, "dec.", 4) != 0)
            n->transition_params += pi.numel;
    }
}

void htap_create(htap_net *n, htap_kind kind, const htap_sizes *s, uint64_t seed)
{
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->sizes = *s;
    build(&n->train, kind, s, 1, seed);
    build(&n->step, kind, s, 0, seed);
    count_params(n);
    /* htap_sync copies flat vectors: both models must list the same tensors. */
    if (sa_param_count(n->train.m) != sa_param_count(n->step.m))
        ex_die("the training and step models of %s have different parameters", htap_kind_key(kind));
    for (int32_t i = 0; i < sa_param_count(n->train.m); i++) {
        sa_param_info a, b;
        ex_check(sa_param_get(n->train.m, i, &a), "sa_param_get(train)");
        ex_check(sa_param_get(n->step.m, i, &b), "sa_param_get(step)");
        if (strcmp(a.name, b.name) != 0 || a.numel != b.numel)
            ex_die("parameter %d differs between the training (%s) and step (%s) models", (int)i, a.name, b.name);
    }
}

void htap_destroy(htap_net *n)
{
    sa_model_destroy(n->train.m);
    sa_model_destroy(n->step.m);
    memset(n, 0, sizeof *n);
}

double htap_train_step(htap_net *n, sa_optim *opt, const float *x, const float *y, int32_t B, int32_t T)
{
    sa_model *m = n->train.m;
    ex_check(sa_set_input(m, n->train.x, x, B, T, NULL), "sa_set_input(x)");
    ex_check(sa_set_input(m, n->train.y, y, B, T, NULL), "sa_set_input(y)");
    ex_check(sa_zero_grad(m), "sa_zero_grad");
    ex_check(sa_forward(m, SA_TRAIN), "sa_forward(train)");
    ex_check(sa_backward(m, n->train.loss), "sa_backward");
    ex_check(sa_optim_step(opt), "sa_optim_step");
    float loss;
    ex_check(sa_get_output(m, n->train.loss, &loss, 1, NULL), "sa_get_output(loss)");
    return loss;
}

void htap_sync(htap_net *n)
{
    float *src, *dst, *g;
    size_t ns, nd;
    ex_check(sa_params_flat(n->train.m, &src, &g, &ns), "sa_params_flat(train)");
    ex_check(sa_params_flat(n->step.m, &dst, &g, &nd), "sa_params_flat(step)");
    if (ns != nd)
        ex_die("the training and step models have different sizes");
    memcpy(dst, src, ns * sizeof(float));
}
