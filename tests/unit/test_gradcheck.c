/* test_gradcheck.c — central-difference gradient checks of every layer and loss.
 *
 * Each case builds a small graph and a scalar objective: a loss node (seeded by
 * sa_backward), or f = Σ_k sum(out_k ⊙ G_k) for fixed random G_k (seeded by
 * sa_backward_from). The analytic gradient w.r.t. every input element
 * (sa_get_grad) and every parameter element (sa_param_info.grad) is compared with
 * (f(x+ε) − f(x−ε)) / 2ε, where f is evaluated from sa_get_output in double.
 * A pair passes when |a − n| <= ATOL + RTOL·max(|a|, |n|); the worst pair of
 * every tensor is printed so a regression shows how far off it is. */
#include <string.h>

#include "testutil.h"

/* float32 forward: ε = 1e-2 keeps the rounding noise of f (~1e-6) well below
 * ATOL after dividing by 2ε, while the O(ε²) truncation error stays ~1e-5.
 * Observed worst |a − n| is ~1e-4 (GRU), so ATOL = 1e-3 leaves a 10x margin
 * while still catching a dropped term in the many GRU gradients of size ~1e-2. */
#define EPS 1e-2
#define ATOL 1e-3
#define RTOL 1e-2
/* inputs of kinked functions (relu, mae) are kept this far from the kink */
#define KINK_MARGIN 0.25f

#define MAX_IN 4
#define MAX_OUT 3

typedef struct gc_input {
    sa_node node;
    int32_t F, T;
    const int32_t *len; /* NULL or B lengths */
    int away;           /* 1: |x| >= KINK_MARGIN (relu inputs) */
    float *data;
} gc_input;

typedef struct gc_case gc_case;
struct gc_case {
    const char *name;
    sa_graph *g;
    int32_t B;
    int n_in;
    gc_input in[MAX_IN];
    int n_out;
    sa_node out[MAX_OUT];   /* objective Σ sum(out ⊙ G) when loss is SA_NODE_NONE */
    sa_node loss;
    int pad_zero;           /* inputs with lengths must get exactly 0 at padded steps */
    const char *zero_param; /* a parameter with no effect (softmax shift invariance) */
    void (*prepare)(sa_model *m, gc_case *c); /* moves data away from kinks */
    sa_node pred;           /* for prepare */
};

/* worst result of each case, for the summary */
static double case_worst_abs, case_worst_ratio;

static void case_init(gc_case *c, const char *name, int32_t B)
{
    memset(c, 0, sizeof *c);
    c->name = name;
    c->B = B;
    c->g = sa_graph_new();
    REQUIRE(c->g != NULL);
    c->loss = SA_NODE_NONE;
    c->pred = SA_NODE_NONE;
}

static sa_node add_in(gc_case *c, const char *name, int32_t F, int32_t T, const int32_t *len)
{
    REQUIRE(c->n_in < MAX_IN);
    gc_input *in = &c->in[c->n_in++];
    in->node = sa_input(c->g, name, F);
    in->F = F;
    in->T = T;
    in->len = len;
    return in->node;
}

static void add_out(gc_case *c, sa_node n)
{
    REQUIRE(c->n_out < MAX_OUT);
    c->out[c->n_out++] = n;
}

static size_t in_numel(const gc_case *c, const gc_input *in) { return (size_t)c->B * in->T * in->F; }

static void set_inputs(sa_model *m, const gc_case *c)
{
    for (int i = 0; i < c->n_in; i++)
        REQUIRE_OK(sa_set_input(m, c->in[i].node, c->in[i].data, c->B, c->in[i].T, c->in[i].len));
}

static size_t out_numel(const sa_model *m, sa_node n)
{
    int32_t sh[3];
    REQUIRE_OK(sa_get_output(m, n, NULL, 0, sh));
    return (size_t)sh[0] * sh[1] * sh[2];
}

/* f at the current inputs and parameters, from an inference forward */
static double objective(sa_model *m, const gc_case *c, float *const *G, float *scratch)
{
    REQUIRE_OK(sa_forward(m, SA_INFER));
    if (c->loss != SA_NODE_NONE) {
        float v;
        REQUIRE_OK(sa_get_output(m, c->loss, &v, 1, NULL));
        return v;
    }
    double f = 0.0;
    for (int k = 0; k < c->n_out; k++) {
        size_t n = out_numel(m, c->out[k]);
        REQUIRE_OK(sa_get_output(m, c->out[k], scratch, n, NULL));
        for (size_t j = 0; j < n; j++)
            f += (double)scratch[j] * G[k][j];
    }
    return f;
}

/* Compares one tensor's analytic and numeric gradients; prints its worst pair. */
static void compare(const gc_case *c, const char *what, const float *a, const double *num, size_t n,
                    int expect_zero)
{
    double worst_ratio = 0.0, worst_abs = 0.0, max_num = 0.0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - num[i]);
        double ratio = d / (ATOL + RTOL * fmax(fabs(a[i]), fabs(num[i])));
        if (ratio > worst_ratio) {
            worst_ratio = ratio;
            wi = i;
        }
        worst_abs = fmax(worst_abs, d);
        max_num = fmax(max_num, fabs(num[i]));
    }
    printf("  %-24s %-30s n=%4zu max|a-n|=%.2e worst/tol=%.3f (a=% .5f n=% .5f @%zu)\n", c->name, what, n,
           worst_abs, worst_ratio, n ? a[wi] : 0.0, n ? num[wi] : 0.0, wi);
    if (!(worst_ratio <= 1.0))
        fprintf(stderr, "gradient mismatch: case '%s', %s, element %zu\n", c->name, what, wi);
    CHECK(worst_ratio <= 1.0);
    /* a tensor whose numeric gradient is all ~0 would pass vacuously: only the
     * parameter that provably has no effect may do so */
    if (expect_zero)
        CHECK(max_num <= ATOL);
    else {
        if (!(max_num > 1e-4))
            fprintf(stderr, "vacuous check: case '%s', %s has max|numeric| = %.2e\n", c->name, what, max_num);
        CHECK(max_num > 1e-4);
    }
    case_worst_abs = fmax(case_worst_abs, worst_abs);
    case_worst_ratio = fmax(case_worst_ratio, worst_ratio);
}

static void run_case(gc_case *c, uint64_t seed)
{
    tu_rng rng = {seed};
    sa_model *m = tu_model(c->g, seed);
    c->g = NULL;
    case_worst_abs = case_worst_ratio = 0.0;

    for (int i = 0; i < c->n_in; i++) {
        gc_input *in = &c->in[i];
        size_t n = in_numel(c, in);
        in->data = malloc(n * sizeof(float));
        REQUIRE(in->data != NULL);
        tu_fill(&rng, in->data, n, -1.0f, 1.0f);
        if (in->away) /* map U(-1,1) to ±[KINK_MARGIN, 1) */
            for (size_t j = 0; j < n; j++)
                in->data[j] = copysignf(KINK_MARGIN + (1.0f - KINK_MARGIN) * fabsf(in->data[j]), in->data[j]);
    }
    set_inputs(m, c);
    if (c->prepare)
        c->prepare(m, c);

    /* analytic gradients */
    REQUIRE_OK(sa_forward(m, SA_TRAIN));
    float *G[MAX_OUT] = {0};
    size_t max_out = 1;
    for (int k = 0; k < c->n_out; k++) {
        size_t n = out_numel(m, c->out[k]);
        max_out = n > max_out ? n : max_out;
        G[k] = malloc(n * sizeof(float));
        REQUIRE(G[k] != NULL);
        tu_fill(&rng, G[k], n, -1.0f, 1.0f);
    }
    float *scratch = malloc(max_out * sizeof(float));
    REQUIRE(scratch != NULL);
    REQUIRE_OK(sa_zero_grad(m));
    if (c->loss != SA_NODE_NONE)
        REQUIRE_OK(sa_backward(m, c->loss));
    else
        REQUIRE_OK(sa_backward_from(m, c->n_out, c->out, (const float *const *)G));

    float *agrad_in[MAX_IN];
    for (int i = 0; i < c->n_in; i++) {
        size_t n = in_numel(c, &c->in[i]);
        agrad_in[i] = malloc(n * sizeof(float));
        REQUIRE(agrad_in[i] != NULL);
        REQUIRE_OK(sa_get_grad(m, c->in[i].node, agrad_in[i], n, NULL));
    }
    int32_t np = sa_param_count(m);
    float **agrad_p = calloc((size_t)np + 1, sizeof *agrad_p);
    REQUIRE(agrad_p != NULL);
    for (int32_t p = 0; p < np; p++) {
        sa_param_info info;
        REQUIRE_OK(sa_param_get(m, p, &info));
        agrad_p[p] = malloc(info.numel * sizeof(float));
        REQUIRE(agrad_p[p] != NULL);
        memcpy(agrad_p[p], info.grad, info.numel * sizeof(float));
    }

    /* numeric gradients: inputs */
    for (int i = 0; i < c->n_in; i++) {
        gc_input *in = &c->in[i];
        size_t n = in_numel(c, in);
        double *num = malloc(n * sizeof(double));
        REQUIRE(num != NULL);
        for (size_t j = 0; j < n; j++) {
            float x0 = in->data[j];
            in->data[j] = x0 + (float)EPS;
            REQUIRE_OK(sa_set_input(m, in->node, in->data, c->B, in->T, in->len));
            double fp = objective(m, c, G, scratch);
            in->data[j] = x0 - (float)EPS;
            REQUIRE_OK(sa_set_input(m, in->node, in->data, c->B, in->T, in->len));
            double fm = objective(m, c, G, scratch);
            in->data[j] = x0;
            /* divide by the step actually taken in float */
            num[j] = (fp - fm) / ((double)(x0 + (float)EPS) - (double)(x0 - (float)EPS));
        }
        REQUIRE_OK(sa_set_input(m, in->node, in->data, c->B, in->T, in->len));
        char what[64];
        snprintf(what, sizeof what, "d/d input %d", i);
        compare(c, what, agrad_in[i], num, n, 0);
        if (c->pad_zero && in->len) { /* padded steps must not leak into the gradient */
            for (int32_t b = 0; b < c->B; b++)
                for (int32_t t = in->len[b]; t < in->T; t++)
                    for (int32_t f = 0; f < in->F; f++)
                        CHECK(agrad_in[i][((size_t)b * in->T + t) * in->F + f] == 0.0f);
        }
        free(num);
    }
    /* numeric gradients: parameters */
    for (int32_t p = 0; p < np; p++) {
        sa_param_info info;
        REQUIRE_OK(sa_param_get(m, p, &info));
        double *num = malloc(info.numel * sizeof(double));
        REQUIRE(num != NULL);
        for (size_t j = 0; j < info.numel; j++) {
            float v0 = info.value[j];
            info.value[j] = v0 + (float)EPS;
            double fp = objective(m, c, G, scratch);
            info.value[j] = v0 - (float)EPS;
            double fm = objective(m, c, G, scratch);
            info.value[j] = v0;
            num[j] = (fp - fm) / ((double)(v0 + (float)EPS) - (double)(v0 - (float)EPS));
        }
        int expect_zero = c->zero_param && strcmp(info.name, c->zero_param) == 0;
        compare(c, info.name, agrad_p[p], num, info.numel, expect_zero);
        free(num);
    }
    printf("CASE %-24s worst max|a-n| = %.2e, worst err/tol = %.3f\n", c->name, case_worst_abs,
           case_worst_ratio);

    for (int32_t p = 0; p < np; p++)
        free(agrad_p[p]);
    free(agrad_p);
    for (int i = 0; i < c->n_in; i++) {
        free(agrad_in[i]);
        free(c->in[i].data);
    }
    for (int k = 0; k < c->n_out; k++)
        free(G[k]);
    free(scratch);
    sa_model_destroy(m);
}

/* ------------------------------------------------------------------ cases */

static const int32_t LEN3[3] = {4, 2, 1}; /* B = 3, T = 4: full, partial, single step */
static const int32_t LEN3_T5[3] = {5, 3, 1};

static void case_dense(void)
{
    gc_case c;
    case_init(&c, "dense", 3);
    sa_node x = add_in(&c, "x", 5, 4, NULL);
    add_out(&c, sa_dense(c.g, x, 3));
    run_case(&c, 101);
}

static void case_act(sa_activation kind, const char *name)
{
    gc_case c;
    case_init(&c, name, 3);
    sa_node x = add_in(&c, "x", 4, 4, NULL);
    c.in[0].away = kind == SA_ACT_RELU; /* no element within ε of relu's kink */
    /* dense after the activation gives the check parameters downstream of it */
    add_out(&c, sa_dense(c.g, sa_act(c.g, x, kind), 2));
    run_case(&c, 102 + (uint64_t)kind);
}

/* GRU on x [3, 5, 3]; optionally with lengths and an initial state input */
static void case_gru(const char *name, int32_t layers, int32_t bidir, int32_t seq, const int32_t *len,
                     int with_h0)
{
    gc_case c;
    case_init(&c, name, 3);
    sa_rnn_desc d = sa_rnn_desc_default();
    d.hidden = 4;
    d.num_layers = layers;
    d.bidirectional = bidir;
    d.return_sequences = seq;
    sa_node x = add_in(&c, "x", 3, 5, len);
    if (with_h0) /* h0 [B, 1, L*D*H] */
        d.initial_state = add_in(&c, "h0", layers * (bidir ? 2 : 1) * d.hidden, 1, NULL);
    add_out(&c, sa_gru(c.g, x, &d));
    c.pad_zero = 1;
    run_case(&c, 200 + (uint64_t)(layers * 8 + bidir * 4 + seq * 2 + (len != NULL)) + (uint64_t)with_h0 * 64);
}

/* the final-state port feeding a dense layer and a second GRU's initial state */
static void case_gru_final_state(void)
{
    gc_case c;
    case_init(&c, "gru final_state port", 3);
    sa_rnn_desc enc = sa_rnn_desc_default();
    enc.hidden = 3;
    enc.num_layers = 2;
    enc.bidirectional = 1;
    enc.return_sequences = 1;
    sa_node x = add_in(&c, "x", 2, 5, LEN3_T5);
    sa_node y = add_in(&c, "y", 2, 3, NULL);
    sa_node e = sa_gru(c.g, x, &enc);
    sa_node s = sa_rnn_final_state(c.g, e); /* [B, 1, 2*2*3] */
    sa_rnn_desc dec = enc; /* same L, D, H: h0 needs L*D*H features */
    dec.return_sequences = 0;
    dec.initial_state = s;
    add_out(&c, e);
    add_out(&c, sa_dense(c.g, s, 2));
    add_out(&c, sa_gru(c.g, y, &dec));
    c.pad_zero = 1;
    run_case(&c, 300);
}

static void case_attention(sa_score score, const char *name, int with_len)
{
    gc_case c;
    case_init(&c, name, 3);
    sa_node x = add_in(&c, "x", 5, 4, with_len ? LEN3 : NULL);
    add_out(&c, sa_name(c.g, sa_attention_pool(c.g, x, score), "att"));
    c.pad_zero = 1;
    /* softmax is shift invariant: a linear score's bias cannot change α */
    c.zero_param = score == SA_SCORE_LINEAR ? "att.bias" : NULL;
    run_case(&c, 400 + (uint64_t)score * 2 + (uint64_t)with_len);
}

static void case_time_pool(int last)
{
    gc_case c;
    case_init(&c, last ? "last_step lengths" : "mean_time lengths", 3);
    sa_node x = add_in(&c, "x", 3, 4, LEN3);
    sa_node h = sa_dense(c.g, x, 4); /* parameters upstream of the pooling */
    add_out(&c, last ? sa_last_step(c.g, h) : sa_mean_time(c.g, h));
    c.pad_zero = 1;
    run_case(&c, 500 + (uint64_t)last);
}

/* one node read by several consumers: their gradients must add up (+=), which a
 * single-consumer graph cannot tell from plain assignment */
static void case_fanout(void)
{
    gc_case c;
    case_init(&c, "fan-out (shared node)", 3);
    sa_node x = add_in(&c, "x", 3, 4, LEN3);
    sa_node h = sa_dense(c.g, x, 4);
    add_out(&c, sa_last_step(c.g, h));
    add_out(&c, sa_mean_time(c.g, h));
    add_out(&c, sa_attention_pool(c.g, h, SA_SCORE_TANH));
    c.pad_zero = 1;
    run_case(&c, 550);
}

static void case_concat(void)
{
    gc_case c;
    case_init(&c, "concat", 3);
    sa_node a = add_in(&c, "a", 2, 4, NULL);
    sa_node b = add_in(&c, "b", 3, 4, NULL);
    sa_node d = add_in(&c, "d", 1, 4, NULL);
    sa_node xs[3] = {a, sa_dense(c.g, b, 4), d};
    add_out(&c, sa_concat(c.g, 3, xs));
    run_case(&c, 600);
}

/* keeps every valid |pred − target| >= 2·KINK_MARGIN so no perturbation crosses
 * MAE's kink */
static void mae_prepare(sa_model *m, gc_case *c)
{
    gc_input *t = &c->in[1];
    size_t n = in_numel(c, t);
    float *p = malloc(n * sizeof(float));
    REQUIRE(p != NULL);
    REQUIRE_OK(sa_forward(m, SA_INFER));
    REQUIRE(out_numel(m, c->pred) == n);
    REQUIRE_OK(sa_get_output(m, c->pred, p, n, NULL));
    for (size_t j = 0; j < n; j++)
        if (fabsf(t->data[j] - p[j]) < 2.0f * KINK_MARGIN)
            t->data[j] = p[j] + (t->data[j] >= p[j] ? 2.0f : -2.0f) * KINK_MARGIN;
    REQUIRE_OK(sa_set_input(m, t->node, t->data, c->B, t->T, t->len));
    free(p);
}

static void case_loss(int mae)
{
    gc_case c;
    case_init(&c, mae ? "loss_mae lengths" : "loss_mse lengths", 3);
    sa_node x = add_in(&c, "x", 3, 4, LEN3);
    sa_node t = add_in(&c, "target", 2, 4, NULL);
    c.pred = sa_dense(c.g, x, 2);
    c.loss = mae ? sa_loss_mae(c.g, c.pred, t) : sa_loss_mse(c.g, c.pred, t);
    c.pad_zero = 1;
    if (mae)
        c.prepare = mae_prepare;
    run_case(&c, 700 + (uint64_t)mae);
}

int main(void)
{
    case_dense();
    case_act(SA_ACT_TANH, "act tanh");
    case_act(SA_ACT_SIGMOID, "act sigmoid");
    case_act(SA_ACT_RELU, "act relu");

    case_gru("gru L1 seq", 1, 0, 1, NULL, 0);
    case_gru("gru L1 last", 1, 0, 0, NULL, 0);
    case_gru("gru L1 seq lengths", 1, 0, 1, LEN3_T5, 0);
    case_gru("gru L1 last lengths", 1, 0, 0, LEN3_T5, 0);
    case_gru("gru L2 bi seq", 2, 1, 1, NULL, 0);
    case_gru("gru L2 bi last", 2, 1, 0, NULL, 0);
    case_gru("gru L2 bi seq lengths", 2, 1, 1, LEN3_T5, 0);
    case_gru("gru L2 bi last lengths", 2, 1, 0, LEN3_T5, 0);
    case_gru("gru L3 last lengths", 3, 0, 0, LEN3_T5, 0); /* gradients between layers alternate */
    case_gru("gru L3 bi seq", 3, 1, 1, NULL, 0);           /* ... with the top read in place */
    case_gru("gru L1 h0 last", 1, 0, 0, NULL, 1);
    case_gru("gru L2 bi h0 seq lengths", 2, 1, 1, LEN3_T5, 1);
    case_gru_final_state();

    case_attention(SA_SCORE_ADDITIVE, "attn additive", 0);
    case_attention(SA_SCORE_ADDITIVE, "attn additive lengths", 1);
    case_attention(SA_SCORE_TANH, "attn tanh", 0);
    case_attention(SA_SCORE_TANH, "attn tanh lengths", 1);
    case_attention(SA_SCORE_LINEAR, "attn linear", 0);
    case_attention(SA_SCORE_LINEAR, "attn linear lengths", 1);

    case_time_pool(0);
    case_time_pool(1);
    case_fanout();
    case_concat();
    case_loss(0);
    case_loss(1);
    return tu_report();
}
