/* test_step_attention.c — step execution of sa_mha and sa_sdpa equals the
 * full-sequence forward, and the attention weights of each step are the
 * matching row of the full forward's weights.
 *
 * Nets, each stepped through its input x:
 *  - causal self-attention on x (mha and sdpa), for more steps than the key
 *    and value cache first holds, so it grows;
 *  - a decoder: a static encoder (bidirectional GRU over e, with lengths) gives
 *    the keys and values of cross-attention from the stepped query, with and
 *    without the causal mask (then key j is visible to step t iff j <= t);
 *  - GRU -> causal mha -> add -> dense, and GRU -> causal sdpa.
 * Also: SA_ERR_UNSUPPORTED for the attentions a step cannot compute. */
#include <string.h>

#include "testutil.h"

#define B 3
#define T 19 /* > 16: the causal cache is reallocated while stepping */
#define TE 7
#define TOL 1e-5
#define MAX_CMP 4
#define MAX_ATT 3

typedef struct net {
    const char *name;
    sa_graph *g;
    sa_model *m;
    sa_node x, e;           /* stepped input; static input or SA_NODE_NONE */
    int32_t I, EI;          /* their features */
    int ncmp, natt;
    sa_node cmp[MAX_CMP];   /* outputs compared at every step */
    sa_node att[MAX_ATT];   /* attention nodes: weights compared at every step */
    int att_self[MAX_ATT];  /* 1: keys are the past steps (Tk = t + 1); 0: the static TE */
    float xd[B * T * 8], ed[B * TE * 8];
} net;

static const int32_t ELEN[B] = {7, 3, 5};

static void net_init(net *n, const char *name, int32_t I, int32_t EI)
{
    memset(n, 0, sizeof *n);
    n->name = name;
    n->g = sa_graph_new();
    REQUIRE(n->g != NULL);
    n->I = I;
    n->EI = EI;
    n->x = sa_input(n->g, "x", I);
    n->e = EI ? sa_input(n->g, "e", EI) : SA_NODE_NONE;
}

static void cmp(net *n, sa_node x) { n->cmp[n->ncmp++] = x; }

static sa_node att(net *n, sa_node a, int self)
{
    n->att_self[n->natt] = self;
    n->att[n->natt++] = a;
    cmp(n, a);
    return a;
}

static sa_node mha(sa_graph *g, sa_node q, sa_node k, sa_node v, int32_t E, int32_t heads, int32_t causal)
{
    sa_mha_desc d = sa_mha_desc_default();
    d.embed_dim = E;
    d.num_heads = heads;
    d.causal = causal;
    return sa_mha(g, q, k, v, &d);
}

static size_t numel(const sa_model *m, sa_node x, int32_t sh[3])
{
    REQUIRE_OK(sa_get_output(m, x, NULL, 0, sh));
    return (size_t)sh[0] * sh[1] * sh[2];
}

static size_t att_numel(const sa_model *m, sa_node a, int32_t sh[4])
{
    REQUIRE_OK(sa_get_attention(m, a, SA_HEADS_ALL, NULL, 0, sh));
    return (size_t)sh[0] * sh[1] * sh[2] * sh[3];
}

static void set_static(net *n)
{
    if (n->e != SA_NODE_NONE)
        REQUIRE_OK(sa_set_input(n->m, n->e, n->ed, B, TE, ELEN));
}

static double worst_out, worst_att; /* over the file */

/* Full forward, then T steps twice (sa_step_begin restarts); step t of every
 * compared node must equal [:, t] of the full forward, and the weights of an
 * attention node row t of the full weights, [B, heads, 1, Tk]. */
static void run(net *n, uint64_t seed)
{
    n->m = tu_model(n->g, seed);
    n->g = NULL;
    tu_rng r = {seed};
    tu_fill(&r, n->xd, (size_t)B * T * n->I, -1.5f, 1.5f);
    tu_fill(&r, n->ed, (size_t)B * TE * n->EI, -1.5f, 1.5f);

    REQUIRE_OK(sa_set_input(n->m, n->x, n->xd, B, T, NULL));
    set_static(n);
    REQUIRE_OK(sa_forward(n->m, SA_INFER));
    float *full[MAX_CMP], *fatt[MAX_ATT];
    int32_t F[MAX_CMP], H[MAX_ATT], TkF[MAX_ATT];
    for (int k = 0; k < n->ncmp; k++) {
        int32_t sh[3];
        size_t cnt = numel(n->m, n->cmp[k], sh);
        REQUIRE(sh[0] == B && sh[1] == T);
        F[k] = sh[2];
        full[k] = malloc(cnt * sizeof(float));
        REQUIRE(full[k] != NULL);
        REQUIRE_OK(sa_get_output(n->m, n->cmp[k], full[k], cnt, NULL));
    }
    for (int k = 0; k < n->natt; k++) {
        int32_t sh[4];
        size_t cnt = att_numel(n->m, n->att[k], sh);
        REQUIRE(sh[0] == B && sh[2] == T);
        H[k] = sh[1];
        TkF[k] = sh[3];
        fatt[k] = malloc(cnt * sizeof(float));
        REQUIRE(fatt[k] != NULL);
        REQUIRE_OK(sa_get_attention(n->m, n->att[k], SA_HEADS_ALL, fatt[k], cnt, NULL));
    }

    double wo = 0.0, wa = 0.0;
    for (int pass = 0; pass < 2; pass++) {
        REQUIRE_OK(sa_step_begin(n->m, 1, &n->x));
        if (pass) /* statics may also be given after sa_step_begin */
            set_static(n);
        for (int32_t t = 0; t < T; t++) {
            float xt[B * 8];
            for (int b = 0; b < B; b++)
                memcpy(xt + b * n->I, n->xd + ((size_t)b * T + t) * n->I, (size_t)n->I * sizeof(float));
            REQUIRE_OK(sa_set_input(n->m, n->x, xt, B, 1, NULL));
            REQUIRE_OK(sa_step(n->m));
            for (int k = 0; k < n->ncmp; k++) {
                float o[B * 16];
                int32_t sh[3];
                REQUIRE(numel(n->m, n->cmp[k], sh) <= sizeof o / sizeof *o);
                CHECK_OK(sa_get_output(n->m, n->cmp[k], o, sizeof o / sizeof *o, NULL));
                CHECK(sh[0] == B && sh[1] == 1 && sh[2] == F[k]);
                for (int b = 0; b < B; b++)
                    for (int32_t j = 0; j < F[k]; j++)
                        wo = fmax(wo, fabs(o[b * F[k] + j] - full[k][((size_t)b * T + t) * F[k] + j]));
            }
            for (int k = 0; k < n->natt; k++) {
                int32_t sh[4], Tk = n->att_self[k] ? t + 1 : TkF[k];
                float a[B * 4 * 32], mean[B * 32];
                size_t cnt = att_numel(n->m, n->att[k], sh);
                CHECK(sh[0] == B && sh[1] == H[k] && sh[2] == 1 && sh[3] == Tk);
                REQUIRE(cnt <= sizeof a / sizeof *a && sh[3] == Tk);
                CHECK_OK(sa_get_attention(n->m, n->att[k], SA_HEADS_ALL, a, cnt, NULL));
                CHECK_OK(sa_get_attention(n->m, n->att[k], SA_HEADS_MEAN, mean, sizeof mean / sizeof *mean, sh));
                CHECK(sh[1] == 1 && sh[2] == 1 && sh[3] == Tk);
                for (int b = 0; b < B; b++)
                    for (int32_t j = 0; j < Tk; j++) {
                        double s = 0.0;
                        for (int32_t h = 0; h < H[k]; h++) {
                            float want = fatt[k][((((size_t)b * H[k] + h) * T + t) * TkF[k]) + j];
                            float got = a[((size_t)b * H[k] + h) * Tk + j];
                            wa = fmax(wa, fabs(got - want));
                            s += want;
                        }
                        wa = fmax(wa, fabs(mean[(size_t)b * Tk + j] - s / H[k]));
                    }
                /* a causal self-attention's full row t is 0 past t: nothing was cut off */
                if (n->att_self[k])
                    for (int b = 0; b < B; b++)
                        for (int32_t h = 0; h < H[k]; h++)
                            for (int32_t j = Tk; j < TkF[k]; j++)
                                CHECK(fatt[k][(((size_t)b * H[k] + h) * T + t) * TkF[k] + j] == 0.0f);
            }
            CHECK(sa_step_position(n->m) == t + 1);
        }
    }
    printf("  %-34s step vs full: outputs max|diff| = %.2e, weights %.2e\n", n->name, wo, wa);
    CHECK(wo <= TOL);
    CHECK(wa <= TOL);
    worst_out = fmax(worst_out, wo);
    worst_att = fmax(worst_att, wa);

    /* a full forward afterwards leaves step execution and shows full weights again */
    REQUIRE_OK(sa_set_input(n->m, n->x, n->xd, B, T, NULL));
    CHECK_OK(sa_forward(n->m, SA_TRAIN));
    for (int k = 0; k < n->natt; k++) {
        int32_t sh[4];
        att_numel(n->m, n->att[k], sh);
        CHECK(sh[2] == T && sh[3] == TkF[k]);
    }
    for (int k = 0; k < n->ncmp; k++)
        free(full[k]);
    for (int k = 0; k < n->natt; k++)
        free(fatt[k]);
    sa_model_destroy(n->m);
}

/* ------------------------------------------------------------------- nets */

static void net_self(void)
{
    net n;
    net_init(&n, "causal self mha / sdpa on x", 6, 0);
    sa_node a = att(&n, mha(n.g, n.x, n.x, n.x, 6, 3, 1), 1);
    cmp(&n, sa_dense(n.g, a, 2));
    att(&n, sa_sdpa(n.g, n.x, n.x, n.x, 1), 1);
    run(&n, 4001);
}

/* the query is the stepped decoder input through a dense layer; keys and
 * values are a static encoder's outputs (kdim = vdim = 8 != E = 6) */
static void net_decoder(int causal, uint64_t seed)
{
    net n;
    net_init(&n, causal ? "decoder: cross mha/sdpa, causal" : "decoder: cross mha/sdpa", 3, 5);
    sa_rnn_desc d = sa_rnn_desc_default();
    d.hidden = 4;
    d.bidirectional = 1;
    sa_node enc = sa_gru(n.g, n.e, &d); /* [B, TE, 8], lengths ELEN */
    sa_node q = sa_dense(n.g, n.x, 6);
    sa_node a = att(&n, mha(n.g, q, enc, enc, 6, 2, causal), 0);
    cmp(&n, sa_dense(n.g, a, 2));
    att(&n, sa_sdpa(n.g, sa_dense(n.g, n.x, 8), enc, sa_dense(n.g, enc, 3), causal), 0);
    run(&n, seed);
}

static void net_gru_stack(void)
{
    net n;
    net_init(&n, "gru -> causal mha -> add -> dense", 3, 0);
    sa_rnn_desc d = sa_rnn_desc_default();
    d.hidden = 6;
    sa_node h = sa_gru(n.g, n.x, &d);
    sa_node a = att(&n, mha(n.g, h, h, h, 6, 2, 1), 1);
    cmp(&n, h);
    cmp(&n, sa_dense(n.g, sa_add(n.g, a, h), 2));
    att(&n, sa_sdpa(n.g, h, h, h, 1), 1);
    run(&n, 4003);
}

/* ----------------------------------------------------------------- errors */

/* x stepped, s static: which attentions a step cannot compute */
static void expect_unsupported(const char *what, int kind)
{
    sa_graph *g = sa_graph_new();
    REQUIRE(g != NULL);
    sa_node x = sa_input(g, "x", 4), s = sa_input(g, "s", 4);
    switch (kind) {
    case 0: mha(g, x, x, x, 4, 2, 0); break;                  /* self, not causal */
    case 1: sa_sdpa(g, x, x, x, 0); break;
    case 2: mha(g, s, x, x, 4, 2, 1); break;                  /* stepped keys, static query */
    case 3: mha(g, sa_dense(g, x, 4), x, x, 4, 2, 1); break; /* query and keys differ */
    case 4: sa_sdpa(g, x, x, s, 1); break;                   /* stepped keys, static values */
    case 5: sa_sdpa(g, x, s, x, 1); break;                   /* static keys, stepped values */
    }
    sa_model *m = tu_model(g, 9);
    CHECK_STATUS(sa_step_begin(m, 1, &x), SA_ERR_UNSUPPORTED);
    printf("  unsupported, %-28s: %s\n", what, sa_last_error());
    CHECK(strncmp(sa_last_error(), "sa_step_begin:", 14) == 0);
    CHECK(sa_step_position(m) == -1);
    CHECK_STATUS(sa_step(m), SA_ERR_STATE);
    /* the same nodes on a static path are fine (4, 5 step through s too) */
    if (kind < 4)
        CHECK_OK(sa_step_begin(m, 1, &s));
    sa_model_destroy(m);
}

/* A rejected sa_step_begin after some steps leaves the last step's results
 * readable (the driver keeps them): the weights must still be that step's
 * [B, heads, 1, Tk], read from where the step put them. */
static void test_rejected_begin(void)
{
    sa_graph *g = sa_graph_new();
    REQUIRE(g != NULL);
    sa_node x = sa_input(g, "x", 4), s = sa_input(g, "s", 4);
    sa_node a = mha(g, x, x, x, 4, 2, 1);
    sa_mean_time(g, s); /* cannot be stepped */
    sa_model *m = tu_model(g, 8);
    float xd[B * 4] = {0.5f, -1.0f, 0.25f, 2.0f}, sd[B * 5 * 4] = {0};
    REQUIRE_OK(sa_set_input(m, s, sd, B, 5, NULL));
    REQUIRE_OK(sa_step_begin(m, 1, &x));
    for (int t = 0; t < 3; t++) {
        REQUIRE_OK(sa_set_input(m, x, xd, B, 1, NULL));
        REQUIRE_OK(sa_step(m));
    }
    float w1[B * 2 * 3], w2[B * 2 * 3];
    int32_t sh[4];
    CHECK_OK(sa_get_attention(m, a, SA_HEADS_ALL, w1, B * 2 * 3, sh));
    CHECK(sh[0] == B && sh[1] == 2 && sh[2] == 1 && sh[3] == 3);
    CHECK_STATUS(sa_step_begin(m, 1, &s), SA_ERR_UNSUPPORTED);
    sh[3] = -1;
    if (sa_get_attention(m, a, SA_HEADS_ALL, NULL, 0, sh) == SA_OK) {
        CHECK(sh[2] == 1 && sh[3] == 3);
        CHECK_OK(sa_get_attention(m, a, SA_HEADS_ALL, w2, B * 2 * 3, NULL));
        CHECK(memcmp(w1, w2, sizeof w1) == 0);
    }
    sa_model_destroy(m);
}

int main(void)
{
    net_self();
    net_decoder(0, 4002);
    net_decoder(1, 4004);
    net_gru_stack();
    expect_unsupported("self-attention, not causal", 0);
    expect_unsupported("sdpa self, not causal", 1);
    expect_unsupported("keys stepped, query static", 2);
    expect_unsupported("query and keys differ", 3);
    expect_unsupported("values static, keys stepped", 4);
    expect_unsupported("keys static, values stepped", 5);
    test_rejected_begin();
    printf("ALL CASES worst step vs full: outputs %.2e, weights %.2e (tolerance %.0e)\n", worst_out, worst_att,
           TOL);
    return tu_report();
}
