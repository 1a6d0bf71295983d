/* gradcheck.h — the central-difference gradient-check harness of the unit
 * tests (the pattern of test_gradcheck.c, as a header so that each test file
 * only declares its cases).
 *
 * A case builds a small graph and a scalar objective: a loss node (seeded by
 * sa_backward), or f = Σ_k sum(out_k ⊙ G_k) for fixed random G_k (seeded by
 * sa_backward_from). The analytic gradient w.r.t. every input element
 * (sa_get_grad) and every parameter element (sa_param_info.grad) is compared
 * with (f(x+ε) − f(x−ε)) / 2ε, f evaluated from sa_get_output in double.
 * A pair passes when |a − n| <= ATOL + RTOL·max(|a|, |n|); the worst pair of
 * every tensor is printed, and gc_summary() prints the worst of the file. */
#ifndef SEQATTN_GRADCHECK_H
#define SEQATTN_GRADCHECK_H

#include <string.h>

#include "testutil.h"

/* float32 forward: ε = 1e-2 keeps the rounding noise of f (~1e-6) far below
 * ATOL after dividing by 2ε, while the O(ε²) truncation error stays ~1e-5. */
#define EPS 1e-2
#define ATOL 1e-3
#define RTOL 1e-2

#define GC_MAX_IN 6
#define GC_MAX_OUT 4

typedef struct gc_input {
    sa_node node;
    int32_t F, T;
    const int32_t *len; /* NULL or B lengths */
    float scale;        /* data ~ U(-scale, scale); 0 means 1 */
    float *data;
} gc_input;

typedef struct gc_case {
    const char *name;
    sa_graph *g;
    int32_t B;
    int n_in;
    gc_input in[GC_MAX_IN];
    int n_out;
    sa_node out[GC_MAX_OUT]; /* objective Σ sum(out ⊙ G) when loss is SA_NODE_NONE */
    sa_node loss;
    int pad_zero; /* inputs with lengths must get exactly 0 gradient at padded steps */
    int replay;   /* f from SA_TRAIN forwards that replay the analytic forward's dropout
                     masks (sa_model_set_train_index), instead of SA_INFER forwards */
    uint64_t replay_index;
    void (*prepare)(sa_model *m); /* NULL, or run on the new model (e.g. to set parameters) */
} gc_case;

/* worst over one case, and over the whole file */
static double gc_case_abs, gc_case_ratio, gc_all_abs, gc_all_ratio;
static const char *gc_all_name = "";

static void gc_init(gc_case *c, const char *name, int32_t B)
{
    memset(c, 0, sizeof *c);
    c->name = name;
    c->B = B;
    c->g = sa_graph_new();
    REQUIRE(c->g != NULL);
    c->loss = SA_NODE_NONE;
}

static sa_node gc_in(gc_case *c, const char *name, int32_t F, int32_t T, const int32_t *len)
{
    REQUIRE(c->n_in < GC_MAX_IN);
    gc_input *in = &c->in[c->n_in++];
    in->node = sa_input(c->g, name, F);
    in->F = F;
    in->T = T;
    in->len = len;
    return in->node;
}

static void gc_out(gc_case *c, sa_node n)
{
    REQUIRE(c->n_out < GC_MAX_OUT);
    c->out[c->n_out++] = n;
}

static size_t gc_in_numel(const gc_case *c, const gc_input *in) { return (size_t)c->B * in->T * in->F; }

static size_t gc_out_numel(const sa_model *m, sa_node n)
{
    int32_t sh[3];
    REQUIRE_OK(sa_get_output(m, n, NULL, 0, sh));
    return (size_t)sh[0] * sh[1] * sh[2];
}

/* f at the current inputs and parameters, from an inference forward (or a replayed training one) */
static double gc_objective(sa_model *m, const gc_case *c, float *const *G, float *scratch)
{
    if (c->replay)
        REQUIRE_OK(sa_model_set_train_index(m, c->replay_index));
    REQUIRE_OK(sa_forward(m, c->replay ? SA_TRAIN : SA_INFER));
    if (c->loss != SA_NODE_NONE) {
        float v;
        REQUIRE_OK(sa_get_output(m, c->loss, &v, 1, NULL));
        return v;
    }
    double f = 0.0;
    for (int k = 0; k < c->n_out; k++) {
        size_t n = gc_out_numel(m, c->out[k]);
        REQUIRE_OK(sa_get_output(m, c->out[k], scratch, n, NULL));
        for (size_t j = 0; j < n; j++)
            f += (double)scratch[j] * G[k][j];
    }
    return f;
}

/* Compares one tensor's analytic and numeric gradients; prints its worst pair.
 * A tensor whose numeric gradient is all ~0 would pass vacuously: that fails. */
static void gc_compare(const gc_case *c, const char *what, const float *a, const double *num, size_t n)
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
    printf("  %-30s %-26s n=%4zu max|a-n|=%.2e worst/tol=%.3f (a=% .5f n=% .5f @%zu)\n", c->name, what, n,
           worst_abs, worst_ratio, n ? a[wi] : 0.0, n ? num[wi] : 0.0, wi);
    if (!(worst_ratio <= 1.0))
        fprintf(stderr, "gradient mismatch: case '%s', %s, element %zu\n", c->name, what, wi);
    CHECK(worst_ratio <= 1.0);
    if (!(max_num > 1e-4))
        fprintf(stderr, "vacuous check: case '%s', %s has max|numeric| = %.2e\n", c->name, what, max_num);
    CHECK(max_num > 1e-4);
    gc_case_abs = fmax(gc_case_abs, worst_abs);
    gc_case_ratio = fmax(gc_case_ratio, worst_ratio);
}

/* Numeric derivative of f with respect to *v, restoring it. set(): makes the
 * model see the new value (sa_set_input for inputs; nothing for parameters). */
static double gc_numeric(sa_model *m, const gc_case *c, float *const *G, float *scratch, float *v,
                         void (*set)(sa_model *, const gc_case *, const gc_input *), const gc_input *in)
{
    float v0 = *v;
    *v = v0 + (float)EPS;
    if (set)
        set(m, c, in);
    double fp = gc_objective(m, c, G, scratch);
    *v = v0 - (float)EPS;
    if (set)
        set(m, c, in);
    double fm = gc_objective(m, c, G, scratch);
    *v = v0;
    /* divide by the step actually taken in float */
    return (fp - fm) / ((double)(v0 + (float)EPS) - (double)(v0 - (float)EPS));
}

static void gc_set(sa_model *m, const gc_case *c, const gc_input *in)
{
    REQUIRE_OK(sa_set_input(m, in->node, in->data, c->B, in->T, in->len));
}

static void gc_run(gc_case *c, uint64_t seed)
{
    tu_rng rng = {seed};
    sa_model *m = tu_model(c->g, seed);
    c->g = NULL;
    if (c->prepare)
        c->prepare(m);
    gc_case_abs = gc_case_ratio = 0.0;

    for (int i = 0; i < c->n_in; i++) {
        gc_input *in = &c->in[i];
        size_t n = gc_in_numel(c, in);
        float s = in->scale > 0.0f ? in->scale : 1.0f;
        in->data = malloc(n * sizeof(float));
        REQUIRE(in->data != NULL);
        tu_fill(&rng, in->data, n, -s, s);
        gc_set(m, c, in);
    }

    /* analytic gradients */
    REQUIRE_OK(sa_model_get_train_index(m, &c->replay_index));
    REQUIRE_OK(sa_forward(m, SA_TRAIN));
    float *G[GC_MAX_OUT] = {0};
    size_t max_out = 1;
    for (int k = 0; k < c->n_out; k++) {
        size_t n = gc_out_numel(m, c->out[k]);
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

    float *agrad_in[GC_MAX_IN];
    for (int i = 0; i < c->n_in; i++) {
        size_t n = gc_in_numel(c, &c->in[i]);
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

    for (int i = 0; i < c->n_in; i++) { /* every input element */
        gc_input *in = &c->in[i];
        size_t n = gc_in_numel(c, in);
        double *num = malloc(n * sizeof(double));
        REQUIRE(num != NULL);
        for (size_t j = 0; j < n; j++)
            num[j] = gc_numeric(m, c, G, scratch, &in->data[j], gc_set, in);
        gc_set(m, c, in);
        char what[64];
        snprintf(what, sizeof what, "d/d input %d", i);
        gc_compare(c, what, agrad_in[i], num, n);
        if (c->pad_zero && in->len) /* padded steps must not leak into the gradient */
            for (int32_t b = 0; b < c->B; b++)
                for (int32_t t = in->len[b]; t < in->T; t++)
                    for (int32_t f = 0; f < in->F; f++)
                        CHECK(agrad_in[i][((size_t)b * in->T + t) * in->F + f] == 0.0f);
        free(num);
    }
    for (int32_t p = 0; p < np; p++) { /* every parameter element */
        sa_param_info info;
        REQUIRE_OK(sa_param_get(m, p, &info));
        double *num = malloc(info.numel * sizeof(double));
        REQUIRE(num != NULL);
        for (size_t j = 0; j < info.numel; j++)
            num[j] = gc_numeric(m, c, G, scratch, &info.value[j], NULL, NULL);
        gc_compare(c, info.name, agrad_p[p], num, info.numel);
        free(num);
    }
    printf("CASE %-30s worst max|a-n| = %.2e, worst err/tol = %.3f\n", c->name, gc_case_abs, gc_case_ratio);
    if (gc_case_ratio > gc_all_ratio)
        gc_all_name = c->name;
    gc_all_abs = fmax(gc_all_abs, gc_case_abs);
    gc_all_ratio = fmax(gc_all_ratio, gc_case_ratio);

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

static void gc_summary(void)
{
    printf("ALL CASES worst max|a-n| = %.2e, worst err/tol = %.3f (case '%s')\n", gc_all_abs, gc_all_ratio,
           gc_all_name);
}

#endif
