/* test_step_transformer.c — step execution of causal sa_transformer_block
 * stacks equals the full-sequence forward.
 *
 * Nets, each stepped through its input x for T = 23 steps (the key/value
 * cache of each block's self-attention grows past its first 16 positions):
 *  - sinusoidal positional encoding -> 2 causal relu blocks -> dense head;
 *  - dense -> learned positional encoding -> 2 causal gelu blocks with
 *    dropout 0.1 (the identity in both) -> dense head;
 *  - a static context: a non-causal block over another input s (with
 *    lengths), pooled over time and repeated along the stepped path, added to
 *    it before a causal block (the static part runs once, at the first step).
 * At every step the output of each block and of the head must equal step t
 * of the full forward (max |diff| <= 1e-5), and the weights of every
 * attention node row t of the full weights. A second pass after sa_step_begin
 * must reproduce the first pass exactly, and a full forward afterwards the
 * first full forward.
 * Also: a non-causal block on the stepped path is SA_ERR_UNSUPPORTED at
 * sa_step_begin. */
#include <string.h>

#include "testutil.h"

#define B 3
#define T 23
#define TS 6
#define TOL 1e-5
#define MAX_CMP 4
#define MAX_ATT 8
#define MAXF 16

typedef struct net {
    const char *name;
    sa_graph *g;
    sa_model *m;
    sa_node x, s;          /* stepped input; static input or SA_NODE_NONE */
    int32_t I, SI;         /* their features */
    int ncmp;
    sa_node cmp[MAX_CMP];  /* outputs compared at every step */
    float xd[B * T * MAXF], sd[B * TS * MAXF];
} net;

static const int32_t SLEN[B] = {6, 2, 4};

static sa_node block(sa_graph *g, sa_node x, const char *name, int32_t heads, int32_t ff, int32_t causal,
                     sa_activation act, float p)
{
    sa_transformer_desc d = sa_transformer_desc_default();
    d.num_heads = heads;
    d.ff_dim = ff;
    d.causal = causal;
    d.activation = act;
    d.dropout = p;
    d.name = name;
    return sa_transformer_block(g, x, &d);
}

static void net_init(net *n, const char *name, int32_t I, int32_t SI)
{
    memset(n, 0, sizeof *n);
    n->name = name;
    n->g = sa_graph_new();
    REQUIRE(n->g != NULL);
    n->I = I;
    n->SI = SI;
    n->x = sa_input(n->g, "x", I);
    n->s = SI ? sa_input(n->g, "s", SI) : SA_NODE_NONE;
}

static void cmp(net *n, sa_node x)
{
    REQUIRE(n->ncmp < MAX_CMP);
    n->cmp[n->ncmp++] = x;
}

static void set_static(net *n)
{
    if (n->s != SA_NODE_NONE)
        REQUIRE_OK(sa_set_input(n->m, n->s, n->sd, B, TS, SLEN));
}

/* biases and norm weights off their 0 / 1 init, so the stepped path must use them */
static void perturb_params(sa_model *m, uint64_t seed)
{
    tu_rng r = {seed};
    for (int32_t p = 0; p < sa_param_count(m); p++) {
        sa_param_info info;
        REQUIRE_OK(sa_param_get(m, p, &info));
        for (size_t j = 0; j < info.numel; j++)
            info.value[j] += tu_uniform(&r, -0.3f, 0.3f);
    }
}

static double worst_out, worst_att; /* over the file */

/* the attention nodes of the model, found by asking every node for weights */
static int find_attention(const sa_model *m, int32_t count, sa_node *att, int32_t *H, int32_t *Tq, int32_t *Tk)
{
    int n = 0;
    for (sa_node k = 0; k < count; k++) {
        int32_t sh[4];
        if (sa_get_attention(m, k, SA_HEADS_ALL, NULL, 0, sh) == SA_OK) {
            REQUIRE(n < MAX_ATT);
            att[n] = k;
            H[n] = sh[1];
            Tq[n] = sh[2];
            Tk[n] = sh[3];
            n++;
        }
    }
    return n;
}

static void run(net *n, uint64_t seed, int expect_att)
{
    int32_t count = sa_graph_node_count(n->g);
    n->m = tu_model(n->g, seed);
    n->g = NULL;
    perturb_params(n->m, seed + 1);
    tu_rng r = {seed};
    tu_fill(&r, n->xd, (size_t)B * T * n->I, -1.5f, 1.5f);
    tu_fill(&r, n->sd, (size_t)B * TS * n->SI, -1.5f, 1.5f);

    REQUIRE_OK(sa_set_input(n->m, n->x, n->xd, B, T, NULL));
    set_static(n);
    REQUIRE_OK(sa_forward(n->m, SA_INFER));
    float *full[MAX_CMP], *steps[MAX_CMP], *fatt[MAX_ATT];
    int32_t F[MAX_CMP], H[MAX_ATT], TqF[MAX_ATT], TkF[MAX_ATT];
    sa_node att[MAX_ATT];
    for (int k = 0; k < n->ncmp; k++) {
        int32_t sh[3];
        REQUIRE_OK(sa_get_output(n->m, n->cmp[k], NULL, 0, sh));
        REQUIRE(sh[0] == B && sh[1] == T && sh[2] <= MAXF);
        F[k] = sh[2];
        size_t cnt = (size_t)B * T * F[k];
        full[k] = malloc(cnt * sizeof(float));
        steps[k] = malloc(cnt * sizeof(float)); /* the first pass, [B, T, F] */
        REQUIRE(full[k] && steps[k]);
        REQUIRE_OK(sa_get_output(n->m, n->cmp[k], full[k], cnt, NULL));
        double dt = 0.0; /* not vacuous: the values change along time */
        for (size_t i = (size_t)F[k]; i < cnt; i++)
            dt = fmax(dt, fabs(full[k][i] - full[k][i - F[k]]));
        CHECK(dt > 1e-2);
    }
    int natt = find_attention(n->m, count, att, H, TqF, TkF);
    CHECK(natt == expect_att);
    for (int k = 0; k < natt; k++) {
        size_t cnt = (size_t)B * H[k] * TqF[k] * TkF[k];
        fatt[k] = malloc(cnt * sizeof(float));
        REQUIRE(fatt[k] != NULL);
        REQUIRE_OK(sa_get_attention(n->m, att[k], SA_HEADS_ALL, fatt[k], cnt, NULL));
    }

    double wo = 0.0, wa = 0.0;
    int repro = 1;
    for (int pass = 0; pass < 2; pass++) {
        REQUIRE_OK(sa_step_begin(n->m, 1, &n->x));
        CHECK(sa_step_position(n->m) == 0);
        if (pass) /* statics may also be given after sa_step_begin */
            set_static(n);
        for (int32_t t = 0; t < T; t++) {
            float xt[B * MAXF];
            for (int b = 0; b < B; b++)
                memcpy(xt + b * n->I, n->xd + ((size_t)b * T + t) * n->I, (size_t)n->I * sizeof(float));
            REQUIRE_OK(sa_set_input(n->m, n->x, xt, B, 1, NULL));
            REQUIRE_OK(sa_step(n->m));
            for (int k = 0; k < n->ncmp; k++) {
                float o[B * MAXF];
                int32_t sh[3];
                CHECK_OK(sa_get_output(n->m, n->cmp[k], o, sizeof o / sizeof *o, sh));
                CHECK(sh[0] == B && sh[1] == 1 && sh[2] == F[k]);
                for (int b = 0; b < B; b++)
                    for (int32_t j = 0; j < F[k]; j++) {
                        size_t at = ((size_t)b * T + t) * F[k] + j;
                        wo = fmax(wo, fabs(o[b * F[k] + j] - full[k][at]));
                        if (pass == 0)
                            steps[k][at] = o[b * F[k] + j];
                        else
                            repro &= steps[k][at] == o[b * F[k] + j];
                    }
            }
            for (int k = 0; k < natt; k++) {
                /* a stepped (causal self-) attention: this step's row, over t + 1
                 * keys; a static one (computed at the first step): all of it */
                int self = TqF[k] == T;
                int32_t sh[4], Tq = self ? 1 : TqF[k], Tk = self ? t + 1 : TkF[k];
                REQUIRE_OK(sa_get_attention(n->m, att[k], SA_HEADS_ALL, NULL, 0, sh));
                CHECK(sh[0] == B && sh[1] == H[k] && sh[2] == Tq && sh[3] == Tk);
                float a[B * 4 * T * T];
                REQUIRE((size_t)B * H[k] * Tq * Tk <= sizeof a / sizeof *a && sh[2] == Tq && sh[3] == Tk);
                CHECK_OK(sa_get_attention(n->m, att[k], SA_HEADS_ALL, a, sizeof a / sizeof *a, NULL));
                for (int b = 0; b < B; b++)
                    for (int32_t h = 0; h < H[k]; h++)
                        for (int32_t i = 0; i < Tq; i++)
                            for (int32_t j = 0; j < Tk; j++) {
                                size_t row = ((size_t)b * H[k] + h) * TqF[k] + (self ? t : i);
                                float want = fatt[k][row * TkF[k] + j];
                                wa = fmax(wa, fabs(a[(((size_t)b * H[k] + h) * Tq + i) * Tk + j] - want));
                            }
            }
            CHECK(sa_step_position(n->m) == t + 1);
        }
    }
    printf("  %-44s step vs full: outputs max|diff| = %.2e, weights %.2e (%d attention nodes)\n", n->name, wo,
           wa, natt);
    CHECK(wo <= TOL);
    CHECK(wa <= TOL);
    CHECK(repro); /* a restart with sa_step_begin gives the first pass exactly */
    worst_out = fmax(worst_out, wo);
    worst_att = fmax(worst_att, wa);

    /* a full forward afterwards leaves step execution and gives the first one's values */
    REQUIRE_OK(sa_set_input(n->m, n->x, n->xd, B, T, NULL));
    CHECK_OK(sa_forward(n->m, SA_INFER));
    CHECK(sa_step_position(n->m) == -1);
    for (int k = 0; k < n->ncmp; k++) {
        size_t cnt = (size_t)B * T * F[k];
        REQUIRE_OK(sa_get_output(n->m, n->cmp[k], steps[k], cnt, NULL));
        CHECK(memcmp(steps[k], full[k], cnt * sizeof(float)) == 0);
        free(full[k]);
        free(steps[k]);
    }
    for (int k = 0; k < natt; k++)
        free(fatt[k]);
    sa_model_destroy(n->m);
}

/* ------------------------------------------------------------------- nets */

static void net_sinusoidal(void)
{
    net n;
    net_init(&n, "sin posenc -> 2 causal relu blocks -> dense", 6, 0);
    sa_node h = sa_posenc_sinusoidal(n.g, n.x);
    sa_node b0 = block(n.g, h, "layers.0", 2, 9, 1, SA_ACT_RELU, 0.0f);
    sa_node b1 = block(n.g, b0, "layers.1", 2, 9, 1, SA_ACT_RELU, 0.0f);
    cmp(&n, b0);
    cmp(&n, b1);
    cmp(&n, sa_dense(n.g, b1, 3));
    run(&n, 6001, 2);
}

static void net_learned(void)
{
    net n;
    net_init(&n, "dense -> learned posenc -> 2 causal gelu blocks", 5, 0);
    sa_node h = sa_posenc_learned(n.g, sa_dense(n.g, n.x, 8), 32);
    sa_node b0 = block(n.g, h, "enc.layers.0", 4, 11, 1, SA_ACT_GELU, 0.1f);
    sa_node b1 = block(n.g, b0, "enc.layers.1", 2, 5, 1, SA_ACT_GELU, 0.1f);
    cmp(&n, b0);
    cmp(&n, b1);
    cmp(&n, sa_dense(n.g, b1, 2));
    run(&n, 6002, 2);
}

/* the non-causal block only sees the static input: it runs once */
static void net_context(void)
{
    net n;
    net_init(&n, "static non-causal ctx + causal block", 6, 6);
    sa_node ctx = block(n.g, n.s, "ctx", 3, 7, 0, SA_ACT_GELU, 0.0f);
    sa_node h = sa_posenc_sinusoidal(n.g, n.x);
    h = sa_add(n.g, h, sa_repeat_time(n.g, sa_mean_time(n.g, ctx), h));
    sa_node b = block(n.g, h, "dec", 2, 8, 1, SA_ACT_RELU, 0.0f);
    cmp(&n, h);
    cmp(&n, b);
    cmp(&n, sa_dense(n.g, b, 4));
    run(&n, 6003, 2);
}

/* ----------------------------------------------------------------- errors */

static void test_unsupported(void)
{
    sa_graph *g = sa_graph_new();
    REQUIRE(g != NULL);
    sa_node x = sa_input(g, "x", 6), s = sa_input(g, "s", 6);
    sa_node c = block(g, x, "causal", 2, 5, 1, SA_ACT_RELU, 0.0f);
    block(g, c, "bidir", 2, 5, 0, SA_ACT_RELU, 0.0f); /* sees the future */
    block(g, s, "enc", 2, 5, 0, SA_ACT_RELU, 0.0f);
    sa_model *m = tu_model(g, 9);
    CHECK_STATUS(sa_step_begin(m, 1, &x), SA_ERR_UNSUPPORTED);
    printf("  non-causal block on the stepped path: %s\n", sa_last_error());
    CHECK(strncmp(sa_last_error(), "sa_step_begin:", 14) == 0);
    CHECK(strstr(sa_last_error(), "bidir.self_attn") != NULL); /* names the node */
    CHECK(sa_step_position(m) == -1);
    CHECK_STATUS(sa_step(m), SA_ERR_STATE);
    /* stepping s puts "enc" on the stepped path instead */
    CHECK_STATUS(sa_step_begin(m, 1, &s), SA_ERR_UNSUPPORTED);
    CHECK(strstr(sa_last_error(), "enc.self_attn") != NULL);
    sa_model_destroy(m);

    /* a non-causal block that only sees static inputs is fine */
    g = sa_graph_new();
    REQUIRE(g != NULL);
    x = sa_input(g, "x", 6);
    s = sa_input(g, "s", 6);
    block(g, x, "causal", 2, 5, 1, SA_ACT_RELU, 0.0f);
    block(g, s, "enc", 2, 5, 0, SA_ACT_RELU, 0.0f);
    m = tu_model(g, 10);
    CHECK_OK(sa_step_begin(m, 1, &x));
    CHECK(sa_step_position(m) == 0);
    sa_model_destroy(m);
}

int main(void)
{
    net_sinusoidal();
    net_learned();
    net_context();
    test_unsupported();
    printf("ALL CASES worst step vs full: outputs %.2e, weights %.2e (tolerance %.0e)\n", worst_out, worst_att,
           TOL);
    return tu_report();
}
