/* test_grad_attention.c — gradient checks of sa_mha and sa_sdpa (every input
 * and every parameter), a backward run twice after one forward, the weights
 * kept for sa_get_attention, and the builder's and runtime's shape errors.
 *
 * Cases cover self-attention (one node as query, key and value: its three
 * gradient contributions must add up), cross-attention with Tq != Tk and
 * kdim, vdim != E (separate q/k/v projection weights), E-wide key and value
 * nodes that are not the query (packed in_proj_weight), 3 heads, the causal
 * mask with Tq < Tk and Tq > Tk, key lengths, and bias 0 and 1. */
#include "gradcheck.h"

static const int32_t LEN2_T5[2] = {5, 3};
static const int32_t LEN3_T6[3] = {6, 2, 4};
static const int32_t LEN3_T3[3] = {3, 1, 2};

static sa_node mha(sa_graph *g, sa_node q, sa_node k, sa_node v, int32_t E, int32_t heads, int32_t causal,
                   int32_t bias)
{
    sa_mha_desc d = sa_mha_desc_default();
    d.embed_dim = E;
    d.num_heads = heads;
    d.causal = causal;
    d.bias = bias;
    return sa_mha(g, q, k, v, &d);
}

/* x [2, 5, 6] with lengths as query, key and value. Padded query rows are
 * computed as torch does (only keys are masked), so their gradient is not 0. */
static void case_self(const char *name, int32_t causal, int32_t bias, uint64_t seed)
{
    gc_case c;
    gc_init(&c, name, 2);
    sa_node x = gc_in(&c, "x", 6, 5, LEN2_T5);
    gc_out(&c, mha(c.g, x, x, x, 6, 3, causal, bias));
    gc_run(&c, seed);
}

/* q [3, Tq, 6], k [3, Tk, kdim], v [3, Tk, vdim]; k and v have lengths, so
 * their padded steps must get exactly 0 gradient */
static void case_cross(const char *name, int32_t Tq, int32_t Tk, int32_t kdim, int32_t vdim, const int32_t *klen,
                       int32_t causal, int32_t bias, uint64_t seed)
{
    gc_case c;
    gc_init(&c, name, 3);
    sa_node q = gc_in(&c, "q", 6, Tq, NULL);
    sa_node k = gc_in(&c, "k", kdim, Tk, klen);
    sa_node v = gc_in(&c, "v", vdim, Tk, klen);
    gc_out(&c, mha(c.g, q, k, v, 6, 3, causal, bias));
    c.pad_zero = 1;
    gc_run(&c, seed);
}

/* query through a dense layer, key = value = one node (self-attention over
 * another sequence's keys), and a second mha stacked on the first */
static void case_stack(void)
{
    gc_case c;
    gc_init(&c, "mha stacked, k = v node", 2);
    sa_node x = gc_in(&c, "x", 3, 4, NULL);
    sa_node m = gc_in(&c, "mem", 4, 5, LEN2_T5);
    sa_node h = mha(c.g, sa_dense(c.g, x, 4), m, m, 4, 2, 0, 1);
    gc_out(&c, mha(c.g, h, h, h, 4, 1, 1, 1));
    gc_run(&c, 3107);
}

static void case_sdpa(const char *name, int self, int32_t causal, uint64_t seed)
{
    gc_case c;
    gc_init(&c, name, 3);
    if (self) {
        sa_node x = gc_in(&c, "x", 4, 5, NULL);
        x = sa_dense(c.g, x, 4); /* parameters upstream of the attention */
        gc_out(&c, sa_sdpa(c.g, x, x, x, causal));
    } else {
        sa_node q = gc_in(&c, "q", 3, 4, NULL);
        sa_node k = gc_in(&c, "k", 3, 6, LEN3_T6);
        sa_node v = gc_in(&c, "v", 2, 6, LEN3_T6);
        gc_out(&c, sa_sdpa(c.g, q, k, v, causal));
        c.pad_zero = 1;
    }
    gc_run(&c, seed);
}

/* ------------------------------------------------------- backward twice */

/* A second backward after one forward must see the same saved state: node
 * gradients equal, parameter gradients doubled (they accumulate). */
static void test_backward_twice(void)
{
    enum { B = 2, T = 5, E = 6 };
    sa_graph *g = sa_graph_new();
    sa_node x = sa_input(g, "x", E);
    sa_node y = mha(g, x, x, x, E, 3, 1, 1);
    sa_model *m = tu_model(g, 11);
    tu_rng r = {12};
    float xd[B * T * E], G[B * T * E], g1[B * T * E], g2[B * T * E];
    tu_fill(&r, xd, B * T * E, -1, 1);
    tu_fill(&r, G, B * T * E, -1, 1);
    REQUIRE_OK(sa_set_input(m, x, xd, B, T, LEN2_T5));
    REQUIRE_OK(sa_forward(m, SA_TRAIN));
    const float *gp = G;
    REQUIRE_OK(sa_zero_grad(m));
    REQUIRE_OK(sa_backward_from(m, 1, &y, &gp));
    REQUIRE_OK(sa_get_grad(m, x, g1, B * T * E, NULL));
    float *v, *pg;
    size_t n;
    REQUIRE_OK(sa_params_flat(m, &v, &pg, &n));
    float *p1 = malloc(n * sizeof(float));
    REQUIRE(p1 != NULL);
    memcpy(p1, pg, n * sizeof(float));
    REQUIRE_OK(sa_backward_from(m, 1, &y, &gp));
    REQUIRE_OK(sa_get_grad(m, x, g2, B * T * E, NULL));
    double dx = 0.0, dp = 0.0;
    for (int i = 0; i < B * T * E; i++)
        dx = fmax(dx, fabs(g1[i] - g2[i]));
    for (size_t i = 0; i < n; i++)
        dp = fmax(dp, fabs(pg[i] - 2.0f * p1[i]));
    printf("  backward twice: max|dx1 - dx2| = %.2e, max|dp2 - 2 dp1| = %.2e\n", dx, dp);
    CHECK(dx == 0.0);
    CHECK(dp <= 1e-6);
    free(p1);
    sa_model_destroy(m);
}

/* ------------------------------------------------------ attention weights */

/* [B, heads, Tq, Tk]: each row sums to 1 over its visible keys (j < len_k,
 * and j <= i when causal) and is exactly 0 elsewhere; the mean over heads is
 * the mean. Checked for mha and sdpa, and again after B, T and lengths change. */
static void check_weights(sa_model *m, sa_node att, int32_t B, int32_t H, int32_t Tq, int32_t Tk,
                          const int32_t *klen, int causal)
{
    int32_t sh[4];
    REQUIRE_OK(sa_get_attention(m, att, SA_HEADS_ALL, NULL, 0, sh));
    CHECK(sh[0] == B && sh[1] == H && sh[2] == Tq && sh[3] == Tk);
    size_t n = (size_t)B * H * Tq * Tk;
    float *a = malloc(n * sizeof(float)), *mean = malloc((n / H) * sizeof(float));
    REQUIRE(a && mean);
    CHECK_OK(sa_get_attention(m, att, SA_HEADS_ALL, a, n, NULL));
    CHECK_OK(sa_get_attention(m, att, SA_HEADS_MEAN, mean, n / H, sh));
    CHECK(sh[1] == 1);
    double worst_sum = 0.0, worst_mean = 0.0;
    int hidden_ok = 1;
    for (int32_t b = 0; b < B; b++)
        for (int32_t i = 0; i < Tq; i++) {
            int32_t vis = klen ? klen[b] : Tk;
            if (causal && i + 1 < vis)
                vis = i + 1;
            for (int32_t h = 0; h < H; h++) {
                const float *row = a + (((size_t)b * H + h) * Tq + i) * Tk;
                double s = 0.0;
                for (int32_t j = 0; j < Tk; j++) {
                    if (j < vis)
                        s += row[j];
                    else
                        hidden_ok &= row[j] == 0.0f;
                }
                worst_sum = fmax(worst_sum, fabs(s - 1.0));
            }
            for (int32_t j = 0; j < Tk; j++) {
                double s = 0.0;
                for (int32_t h = 0; h < H; h++)
                    s += a[(((size_t)b * H + h) * Tq + i) * Tk + j];
                worst_mean = fmax(worst_mean, fabs(s / H - mean[((size_t)b * Tq + i) * Tk + j]));
            }
        }
    CHECK(hidden_ok);
    CHECK(worst_sum <= 1e-5);
    CHECK(worst_mean <= 1e-6);
    free(a);
    free(mean);
}

static void test_weights(void)
{
    sa_graph *g = sa_graph_new();
    sa_node q = sa_input(g, "q", 6), k = sa_input(g, "k", 3), x = sa_input(g, "x", 6);
    sa_node cross = mha(g, q, k, k, 6, 3, 1, 1);
    sa_node self = sa_sdpa(g, x, x, x, 0);
    sa_model *m = tu_model(g, 21);
    tu_rng r = {22};
    float qd[4 * 5 * 6], kd[4 * 6 * 3], xd[4 * 5 * 6];
    tu_fill(&r, qd, sizeof qd / sizeof *qd, -2, 2);
    tu_fill(&r, kd, sizeof kd / sizeof *kd, -2, 2);
    tu_fill(&r, xd, sizeof xd / sizeof *xd, -2, 2);
    static const int32_t KL4[4] = {6, 1, 3, 5}, XL4[4] = {5, 2, 4, 1};
    for (int mode = 0; mode < 2; mode++) {
        /* 3 samples, then 4 with other T and lengths: memory is re-planned */
        int32_t B = mode ? 4 : 3, Tq = mode ? 5 : 4, Tk = mode ? 6 : 3;
        const int32_t *kl = mode ? KL4 : LEN3_T3, *xl = mode ? XL4 : NULL;
        REQUIRE_OK(sa_set_input(m, q, qd, B, Tq, NULL));
        REQUIRE_OK(sa_set_input(m, k, kd, B, Tk, kl));
        REQUIRE_OK(sa_set_input(m, x, xd, B, 5, xl));
        REQUIRE_OK(sa_forward(m, mode ? SA_TRAIN : SA_INFER));
        check_weights(m, cross, B, 3, Tq, Tk, kl, 1);
        check_weights(m, self, B, 1, 5, 5, xl, 0);
    }
    /* a non-attention node keeps none */
    CHECK_STATUS(sa_get_attention(m, q, SA_HEADS_ALL, NULL, 0, NULL), SA_ERR_BAD_NODE);
    sa_model_destroy(m);
}

/* ------------------------------------------------------------------ errors */

static void expect_build_error(sa_status want, const char *prefix, int kind)
{
    sa_graph *g = sa_graph_new();
    sa_node q = sa_input(g, "q", 6), k = sa_input(g, "k", 4), n = SA_NODE_INVALID;
    sa_mha_desc d = sa_mha_desc_default();
    d.embed_dim = 6;
    d.num_heads = 3;
    switch (kind) {
    case 0: d.num_heads = 4; break;  /* 6 % 4 != 0 */
    case 1: d.num_heads = 0; break;
    case 2: d.embed_dim = 4; d.num_heads = 2; break; /* query has 6 features */
    case 3: d.embed_dim = 0; break;
    case 4: d.causal = 2; break;
    case 5: d.bias = -1; break;
    case 6: d.struct_size = 8; break;
    }
    if (kind <= 6)
        n = sa_mha(g, q, k, k, &d);
    else if (kind == 7)
        n = sa_mha(g, q, k, k, NULL);
    else if (kind == 8)
        n = sa_sdpa(g, q, k, q, 0); /* q and k widths differ */
    else
        n = sa_sdpa(g, k, k, q, 3);
    CHECK(n == SA_NODE_INVALID);
    CHECK_STATUS(sa_graph_status(g), want);
    CHECK(strncmp(sa_graph_errmsg(g), prefix, strlen(prefix)) == 0);
    printf("  build error %d: %s\n", kind, sa_graph_errmsg(g));
    /* sticky: a later builder call on the failed graph does nothing */
    CHECK(sa_sdpa(g, q, q, q, 0) == SA_NODE_INVALID);
    sa_graph_free(g);
}

static void test_errors(void)
{
    expect_build_error(SA_ERR_SHAPE, "sa_mha:", 0);
    expect_build_error(SA_ERR_INVALID_ARG, "sa_mha:", 1);
    expect_build_error(SA_ERR_SHAPE, "sa_mha:", 2);
    expect_build_error(SA_ERR_SHAPE, "sa_mha:", 3);
    expect_build_error(SA_ERR_INVALID_ARG, "sa_mha:", 4);
    expect_build_error(SA_ERR_INVALID_ARG, "sa_mha:", 5);
    expect_build_error(SA_ERR_INVALID_ARG, "sa_mha:", 6);
    expect_build_error(SA_ERR_INVALID_ARG, "sa_mha:", 7);
    expect_build_error(SA_ERR_SHAPE, "sa_sdpa:", 8);
    expect_build_error(SA_ERR_INVALID_ARG, "sa_sdpa:", 9);

    /* parameter names and shapes: packed for E-wide key and value, else separate */
    sa_graph *g = sa_graph_new();
    sa_node q = sa_input(g, "q", 6), k = sa_input(g, "k", 4), v = sa_input(g, "v", 5);
    sa_node a = mha(g, q, k, v, 6, 2, 0, 1);
    sa_node b = mha(g, q, q, q, 6, 2, 0, 0);
    sa_node s = sa_sdpa(g, q, q, v, 0);
    CHECK(sa_graph_node_features(g, s) == 5);
    sa_model *m = tu_model(g, 31);
    CHECK(sa_param_count(m) == 8);
    static const char *const names[8] = {"mha0.q_proj_weight", "mha0.k_proj_weight", "mha0.v_proj_weight",
                                         "mha0.in_proj_bias", "mha0.out_proj.weight", "mha0.out_proj.bias",
                                         "mha1.in_proj_weight", "mha1.out_proj.weight"};
    static const int32_t shapes[8][2] = {{6, 6}, {6, 4}, {6, 5}, {18, 1}, {6, 6}, {6, 1}, {18, 6}, {6, 6}};
    for (int32_t i = 0; i < 8 && i < sa_param_count(m); i++) {
        sa_param_info info;
        CHECK_OK(sa_param_get(m, i, &info));
        CHECK(strcmp(info.name, names[i]) == 0);
        CHECK(info.shape[0] == shapes[i][0] && info.shape[1] == shapes[i][1]);
        /* biases start at 0; weights are xavier (bound √(6/(fan_in+fan_out))) or 1/√E */
        float bound = strstr(info.name, "bias") ? 0.0f
                    : strstr(info.name, "out_proj") ? 1.0f / sqrtf(6.0f)
                    : sqrtf(6.0f / (float)(info.shape[0] + (i == 6 ? 6 : info.shape[1])));
        float mx = 0.0f;
        for (size_t j = 0; j < info.numel; j++)
            mx = fmaxf(mx, fabsf(info.value[j]));
        CHECK(mx <= bound && (bound == 0.0f || mx > 0.5f * bound));
    }
    /* runtime: key and value must have the same T */
    float qd[2 * 4 * 6] = {0}, kd[2 * 4 * 4] = {0}, vd[2 * 5 * 5] = {0};
    REQUIRE_OK(sa_set_input(m, q, qd, 2, 3, NULL));
    REQUIRE_OK(sa_set_input(m, k, kd, 2, 4, NULL));
    REQUIRE_OK(sa_set_input(m, v, vd, 2, 5, NULL));
    CHECK_STATUS(sa_forward(m, SA_INFER), SA_ERR_SHAPE);
    CHECK(strncmp(sa_last_error(), "sa_forward:", 11) == 0 && strstr(sa_last_error(), "mha0") != NULL);
    printf("  forward error: %s\n", sa_last_error());
    REQUIRE_OK(sa_set_input(m, v, vd, 2, 4, NULL));
    REQUIRE_OK(sa_set_input(m, q, qd, 2, 4, NULL)); /* the sdpa's key */
    CHECK_OK(sa_forward(m, SA_INFER));
    (void)a;
    (void)b;
    sa_model_destroy(m);
}

int main(void)
{
    case_self("mha self lengths", 0, 1, 3101);
    case_self("mha self causal lengths", 1, 1, 3102);
    case_self("mha self causal no bias", 1, 0, 3103);
    case_cross("mha cross kdim3 vdim5", 4, 6, 3, 5, LEN3_T6, 0, 1, 3104);
    case_cross("mha cross Tq>Tk causal nobias", 5, 3, 4, 2, LEN3_T3, 1, 0, 3105);
    case_cross("mha cross packed causal", 4, 6, 6, 6, LEN3_T6, 1, 1, 3106);
    case_stack();
    case_sdpa("sdpa cross lengths", 0, 0, 3201);
    case_sdpa("sdpa cross causal lengths", 0, 1, 3202);
    case_sdpa("sdpa self causal", 1, 1, 3203);
    gc_summary();
    test_backward_twice();
    test_weights();
    test_errors();
    return tu_report();
}
