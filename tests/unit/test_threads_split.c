/* test_threads_split.c — a recurrent model on 2 threads gives what it gives
 * on 1 when its products are large enough to be split over the worker pool.
 *
 * With sa_model_set_threads(m, 2), products of at least 2^25 multiply-adds
 * (on seqattn's AVX-512 kernel) are split over the pool, and while the pool is
 * running for a call the per-step cells of a recurrent layer are split over
 * batch rows as well (forward, and backward without peepholes; lib/layers/rnn.c,
 * sa_rows_parts, from 2^15 gate values per step); with 128 samples or more
 * and steps too small to split well, whole time loops are split by samples
 * instead (sa_loop_parts). Each case builds two models
 * with the same parameters, one on 1 thread and one on 2, feeds both the same
 * data and compares, array by array:
 *   - forward outputs (the sequence or last state, the final states h_n and,
 *     for an LSTM, c_n) in inference — the 2-thread model's first call starts
 *     with the pool asleep, the second with it warm — and in training;
 *   - after sa_backward from an MSE loss, and after sa_backward_from with
 *     unit-scale gradients on every output, each parameter's gradient and the
 *     input's gradient;
 *   - with additive attention pooling over the sequence (its score rows are
 *     split over the pool too, lib/layers/attention_pool.c);
 *   - step execution (unidirectional cases): the output of each T = 1 step
 *     and the final states, over two runs from sa_step_begin.
 * Every value must be finite and every array within 1e-5 · (1 + max|value|);
 * the small case, where nothing splits, must agree exactly.
 * Skipped (77) when the library cannot set a thread count (not on OpenBLAS). */
#include <string.h>

#include "testutil.h"

#define TOL 1e-5
#define MAX_ITEMS 512

typedef struct spec {
    const char *name;
    int lstm, peep, bidir, seq;
    int32_t hidden, layers, B, T, I;
    int lengths; /* 1: per-sample lengths (some 1, some T) in the full-sequence runs */
    int step;    /* 1: also compare step execution (unidirectional only) */
    int split;   /* 0: nothing is large enough to split: results must be identical */
    int attn;    /* 1: additive attention pooling over the sequence is the output */
} spec;

typedef struct net {
    sa_model *m;
    sa_node x, y, out, hs, cs, loss; /* y, loss: SA_NODE_NONE in a step model; cs for LSTM */
} net;

/* ------------------------------------------------------------ recordings */

typedef struct item {
    char what[80];
    float *v;
    size_t n;
} item;

typedef struct rec {
    item it[MAX_ITEMS];
    int n;
} rec;

static void rec_add(rec *r, const char *what, float *v, size_t n)
{
    REQUIRE(r->n < MAX_ITEMS);
    item *it = &r->it[r->n++];
    snprintf(it->what, sizeof it->what, "%s", what);
    it->v = v;
    it->n = n;
}

static void rec_output(rec *r, const char *what, const sa_model *m, sa_node node, int grad)
{
    int32_t sh[3];
    REQUIRE_OK(grad ? sa_get_grad(m, node, NULL, 0, sh) : sa_get_output(m, node, NULL, 0, sh));
    size_t n = (size_t)sh[0] * sh[1] * sh[2];
    float *v = malloc(n * sizeof(float));
    REQUIRE(v != NULL);
    REQUIRE_OK(grad ? sa_get_grad(m, node, v, n, NULL) : sa_get_output(m, node, v, n, NULL));
    rec_add(r, what, v, n);
}

static void rec_outputs(rec *r, const char *when, const net *n)
{
    char what[80];
    snprintf(what, sizeof what, "%s: output", when);
    rec_output(r, what, n->m, n->out, 0);
    snprintf(what, sizeof what, "%s: h_n", when);
    rec_output(r, what, n->m, n->hs, 0);
    if (n->cs != SA_NODE_NONE) {
        snprintf(what, sizeof what, "%s: c_n", when);
        rec_output(r, what, n->m, n->cs, 0);
    }
}

/* the input's gradient and every parameter's */
static void rec_grads(rec *r, const char *when, const net *n)
{
    char what[80];
    snprintf(what, sizeof what, "%s: grad x", when);
    rec_output(r, what, n->m, n->x, 1);
    for (int32_t i = 0; i < sa_param_count(n->m); i++) {
        sa_param_info p;
        REQUIRE_OK(sa_param_get(n->m, i, &p));
        float *v = malloc(p.numel * sizeof(float));
        REQUIRE(v != NULL);
        memcpy(v, p.grad, p.numel * sizeof(float));
        snprintf(what, sizeof what, "%s: grad %s", when, p.name);
        rec_add(r, what, v, p.numel);
    }
}

static void rec_free(rec *r)
{
    for (int i = 0; i < r->n; i++)
        free(r->it[i].v);
    r->n = 0;
}

/* ------------------------------------------------------------- the models */

static net build(const spec *s, int with_loss, uint64_t seed)
{
    net n;
    sa_graph *g = sa_graph_new();
    REQUIRE(g != NULL);
    n.x = sa_input(g, "x", s->I);
    sa_rnn_desc d = sa_rnn_desc_default();
    d.hidden = s->hidden;
    d.num_layers = s->layers;
    d.bidirectional = s->bidir;
    d.return_sequences = s->seq;
    d.peephole = s->peep;
    sa_node rnn = s->lstm ? sa_lstm(g, n.x, &d) : sa_gru(g, n.x, &d);
    n.out = s->attn ? sa_attention_pool(g, rnn, SA_SCORE_ADDITIVE) : rnn;
    n.hs = sa_rnn_final_state(g, rnn);
    n.cs = s->lstm ? sa_rnn_final_cell(g, rnn) : SA_NODE_NONE;
    n.y = n.loss = SA_NODE_NONE;
    if (with_loss) {
        n.y = sa_input(g, "y", (1 + s->bidir) * s->hidden);
        n.loss = sa_loss_mse(g, n.out, n.y);
    }
    n.m = tu_model(g, seed);
    return n;
}

typedef struct data {
    float *x, *y, *gout, *ghs, *gcs;
    int32_t *len; /* NULL: all T */
} data;

static data make_data(const spec *s, uint64_t seed)
{
    tu_rng r = {seed};
    size_t DH = (size_t)(1 + s->bidir) * s->hidden, To = s->seq && !s->attn ? (size_t)s->T : 1;
    size_t nx = (size_t)s->B * s->T * s->I, ny = (size_t)s->B * To * DH, ns = (size_t)s->B * s->layers * DH;
    data d = {malloc(nx * sizeof(float)), malloc(ny * sizeof(float)), malloc(ny * sizeof(float)),
              malloc(ns * sizeof(float)), malloc(ns * sizeof(float)), NULL};
    REQUIRE(d.x && d.y && d.gout && d.ghs && d.gcs);
    tu_fill(&r, d.x, nx, -1, 1);
    tu_fill(&r, d.y, ny, -0.5f, 0.5f);
    tu_fill(&r, d.gout, ny, -1, 1);
    tu_fill(&r, d.ghs, ns, -1, 1);
    tu_fill(&r, d.gcs, ns, -1, 1);
    if (s->lengths) { /* 1, T, then a mix; the last sample (in the last part) short too */
        d.len = malloc((size_t)s->B * sizeof(int32_t));
        REQUIRE(d.len != NULL);
        for (int32_t b = 0; b < s->B; b++)
            d.len[b] = b == 0 || b == s->B - 1 ? 1 : b == 1 ? s->T : 1 + (int32_t)(tu_next(&r) % (uint64_t)s->T);
    }
    return d;
}

static void free_data(data *d)
{
    free(d->x);
    free(d->y);
    free(d->gout);
    free(d->ghs);
    free(d->gcs);
    free(d->len);
}

/* Whole sequences: two inference forwards, a training forward, backward from
 * the loss, then backward from gradients on every output. */
static void run_full(const net *n, const spec *s, const data *d, rec *r)
{
    REQUIRE_OK(sa_set_input(n->m, n->x, d->x, s->B, s->T, d->len));
    REQUIRE_OK(sa_set_input(n->m, n->y, d->y, s->B, s->seq && !s->attn ? s->T : 1, NULL));
    CHECK_OK(sa_forward(n->m, SA_INFER));
    rec_outputs(r, "infer (1st call)", n);
    CHECK_OK(sa_forward(n->m, SA_INFER));
    rec_outputs(r, "infer (2nd call)", n);

    CHECK_OK(sa_forward(n->m, SA_TRAIN));
    rec_outputs(r, "train", n);
    CHECK_OK(sa_zero_grad(n->m));
    CHECK_OK(sa_backward(n->m, n->loss));
    rec_grads(r, "backward(mse)", n);

    CHECK_OK(sa_forward(n->m, SA_TRAIN));
    CHECK_OK(sa_zero_grad(n->m));
    sa_node nodes[3] = {n->out, n->hs, n->cs};
    const float *grads[3] = {d->gout, d->ghs, d->gcs};
    CHECK_OK(sa_backward_from(n->m, n->cs != SA_NODE_NONE ? 3 : 2, nodes, grads));
    rec_grads(r, "backward_from", n);
}

/* Step execution, twice from sa_step_begin: each step's output, then the
 * final states. The stepped input has no lengths. */
static void run_steps(const net *n, const spec *s, const data *d, rec *r)
{
    float *xt = malloc((size_t)s->B * s->I * sizeof(float));
    REQUIRE(xt != NULL);
    char what[80];
    for (int pass = 1; pass <= 2; pass++) {
        REQUIRE_OK(sa_step_begin(n->m, 1, &n->x));
        for (int32_t t = 0; t < s->T; t++) {
            for (int32_t b = 0; b < s->B; b++)
                memcpy(xt + (size_t)b * s->I, d->x + ((size_t)b * s->T + t) * s->I, (size_t)s->I * sizeof(float));
            REQUIRE_OK(sa_set_input(n->m, n->x, xt, s->B, 1, NULL));
            CHECK_OK(sa_step(n->m));
            snprintf(what, sizeof what, "step run %d, t=%d: output", pass, (int)t);
            rec_output(r, what, n->m, n->out, 0);
        }
        snprintf(what, sizeof what, "step run %d", pass);
        rec_outputs(r, what, n);
    }
    free(xt);
}

/* ------------------------------------------------------------- comparison */

static double all_worst;

/* a (1 thread) against b (2 threads), item by item */
static void compare(const spec *s, const rec *a, const rec *b)
{
    REQUIRE(a->n == b->n);
    double worst = 0, worst_rel = 0;
    const char *worst_what = "";
    size_t values = 0;
    int identical = 0;
    for (int i = 0; i < a->n; i++) {
        const item *p = &a->it[i], *q = &b->it[i];
        REQUIRE(p->n == q->n && strcmp(p->what, q->what) == 0);
        double maxabs = 0, diff = 0;
        size_t nonfinite = 0;
        for (size_t j = 0; j < p->n; j++) {
            if (!isfinite(p->v[j]) || !isfinite(q->v[j])) {
                nonfinite++;
                continue;
            }
            maxabs = fmax(maxabs, fmax(fabs(p->v[j]), fabs(q->v[j])));
            diff = fmax(diff, fabs((double)p->v[j] - q->v[j]));
        }
        values += p->n;
        identical += memcmp(p->v, q->v, p->n * sizeof(float)) == 0;
        double tol = s->split ? TOL * (1 + maxabs) : 0.0;
        tu_checks++;
        if (nonfinite || !(diff <= tol)) {
            tu_failures++;
            printf("FAIL %s, %s: max|diff| = %.3g (tolerance %.3g, max|value| %.3g), %zu non-finite of %zu\n",
                   s->name, p->what, diff, tol, maxabs, nonfinite, p->n);
        }
        if (diff > worst) {
            worst = diff;
            worst_what = p->what;
        }
        worst_rel = fmax(worst_rel, diff / (1 + maxabs));
    }
    printf("  %-42s %2d arrays (%2d bit-identical), %8zu values: worst max|diff| = %.3g%s%s%s, "
           "worst diff/(1+max|v|) = %.3g\n",
           s->name, a->n, identical, values, worst, worst > 0 ? " (" : "", worst_what, worst > 0 ? ")" : "",
           worst_rel);
    all_worst = fmax(all_worst, worst_rel);
}

static void run_case(const spec *s, uint64_t seed)
{
    data d = make_data(s, seed);
    net n1 = build(s, 1, seed), n2 = build(s, 1, seed + 1);
    REQUIRE(sa_param_count(n1.m) > 0);
    tu_copy_params(n2.m, n1.m);
    REQUIRE_OK(sa_model_set_threads(n1.m, 1));
    REQUIRE_OK(sa_model_set_threads(n2.m, 2));
    net s1 = {0}, s2 = {0};
    if (s->step) {
        s1 = build(s, 0, seed + 2);
        s2 = build(s, 0, seed + 3);
        tu_copy_params(s1.m, n1.m);
        tu_copy_params(s2.m, n1.m);
        REQUIRE_OK(sa_model_set_threads(s1.m, 1));
        REQUIRE_OK(sa_model_set_threads(s2.m, 2));
    }

    /* all 1-thread calls first: the 2-thread model's first call then starts
     * with the pool asleep (it warms at the first split product) and its
     * later calls with it warm (the previous call on this thread split) */
    static rec r1, r2;
    run_full(&n1, s, &d, &r1);
    if (s->step)
        run_steps(&s1, s, &d, &r1);
    run_full(&n2, s, &d, &r2);
    if (s->step)
        run_steps(&s2, s, &d, &r2);
    compare(s, &r1, &r2);

    rec_free(&r1);
    rec_free(&r2);
    sa_model_destroy(n1.m);
    sa_model_destroy(n2.m);
    sa_model_destroy(s1.m);
    sa_model_destroy(s2.m);
    free_data(&d);
}

int main(void)
{
    /* the thread count must be settable (OpenBLAS) */
    {
        sa_graph *g = sa_graph_new();
        (void)sa_dense(g, sa_input(g, "x", 2), 2);
        sa_model *m = tu_model(g, 1);
        sa_status st = sa_model_set_threads(m, 2);
        sa_model_destroy(m);
        if (st == SA_ERR_UNSUPPORTED) {
            printf("skipped: the library cannot set its thread count (not on OpenBLAS)\n");
            return 77;
        }
        REQUIRE_OK(st);
    }
    /* name, lstm, peep, bidir, seq, hidden, layers, B, T, I, lengths, step, split, attn.
     * Per-step recurrent products: 67×1536×512 = 52.7M and 61×1536×384 = 36.0M
     * multiply-adds (split, >= 2^25); 50×1536×384 = 29.5M is not, but the
     * second layer's input projection (150×1536×768 per direction) is, and
     * the cells split whenever the pool runs. Cells per step: B·G·H >= 2^15. */
    static const spec cases[] = {
        {"gru(512) B=67 T=4, sequence", 0, 0, 0, 1, 512, 1, 67, 4, 3, 0, 1, 1, 0},
        {"bi-lstm(384) x2 B=50 T=3, lengths, last", 1, 0, 1, 0, 384, 2, 50, 3, 3, 1, 0, 1, 0},
        {"peephole lstm(384) x2 B=61 T=3, lengths", 1, 1, 0, 1, 384, 2, 61, 3, 3, 1, 1, 1, 0},
        {"gru(16) B=4 T=4 (nothing splits)", 0, 0, 0, 1, 16, 1, 4, 4, 3, 0, 1, 0, 0},
        /* the attention pooling's score rows split too (268 rows of 512) */
        {"gru(512) B=67 T=4, lengths, attention", 0, 0, 0, 1, 512, 1, 67, 4, 3, 1, 0, 1, 1},
        /* whole time loops split by samples (sa_loop_parts: 128 samples or
         * more, steps under 2^27 multiply-adds, 2^25 or more in all), in
         * chunks taken by whichever thread is free: 131×288×96 × 12 steps =
         * 43.5M; 140×256×64 × 30 = 68.8M per direction and layer; the
         * peephole LSTM's forward splits, its backward does not */
        {"gru(96) B=131 T=12, loop split", 0, 0, 0, 1, 96, 1, 131, 12, 3, 0, 1, 1, 0},
        {"bi-lstm(64) x2 B=140 T=30, lengths, loop split", 1, 0, 1, 0, 64, 2, 140, 30, 2, 1, 0, 1, 0},
        {"peephole lstm(64) B=129 T=40, lengths, loop", 1, 1, 0, 1, 64, 1, 129, 40, 3, 1, 0, 1, 0},
        {"gru(64) B=130 T=40, lengths, attention, loop", 0, 0, 0, 1, 64, 1, 130, 40, 3, 1, 0, 1, 1},
    };
    printf("1 thread against 2, tolerance 1e-5 * (1 + max|value|) (exact where nothing splits)\n");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        run_case(&cases[i], 9100 + 10 * i);
    printf("%s: worst diff/(1+max|v|) over all cases = %.3g\n", tu_failures ? "FAILED" : "OK", all_worst);
    return tu_report();
}
