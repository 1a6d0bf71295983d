/* test_grad_norm.c — the transformer's element-wise and per-step layers:
 * layer norm, GELU, dropout, sinusoidal and learned positional encodings.
 *
 *  - central-difference gradient checks (gradcheck.h) of every input and
 *    parameter element. Dropout is checked in training mode: the numeric
 *    forwards replay the analytic forward's masks (gc_case.replay, which sets
 *    the model's train index back before each SA_TRAIN forward), so f is the
 *    same function of x for every evaluation;
 *  - dropout statistics and reproducibility: ~p zeros, mean preserved,
 *    identity at inference, masks a function of (seed, node, train index);
 *  - values: layer norm rows have mean 0 and variance 1, the sinusoidal table
 *    matches its formula, the learned table starts N(0, 1);
 *  - step execution of a net of all of them equals the full forward;
 *  - argument and run-time errors. */
#include <string.h>

#include "gradcheck.h"

static const int32_t LEN3_T5[3] = {5, 3, 1};

/* parameters away from their 1 / 0 / N(0,1) init, so that a backward that
 * forgets a factor (the layer norm weight in dx) cannot pass by w = 1 */
static void random_params(sa_model *m)
{
    tu_rng r = {777};
    for (int32_t p = 0; p < sa_param_count(m); p++) {
        sa_param_info info;
        REQUIRE_OK(sa_param_get(m, p, &info));
        for (size_t j = 0; j < info.numel; j++)
            info.value[j] = tu_uniform(&r, 0.5f, 1.5f) * (j % 2 ? 1.0f : -1.0f);
    }
}

/* ------------------------------------------------------- gradient checks */

/* few features make the normalisation strongly curved where a row's spread is
 * small; scale keeps it well above the difference step ε */
static void case_layer_norm(const char *name, int32_t F, const int32_t *len, float scale, uint64_t seed)
{
    gc_case c;
    gc_init(&c, name, 3);
    sa_node x = gc_in(&c, "x", F, 5, len);
    c.in[0].scale = scale;
    gc_out(&c, sa_layer_norm(c.g, x, 1e-5f));
    c.prepare = random_params;
    gc_run(&c, seed);
}

/* dense -> layer norm -> GELU -> dense: layer norm's input gradient through a
 * parameterised producer, its output read by a nonlinearity */
static void case_ln_stack(uint64_t seed)
{
    gc_case c;
    gc_init(&c, "dense ln gelu dense, lengths", 3);
    sa_node x = gc_in(&c, "x", 4, 5, LEN3_T5);
    sa_node h = sa_layer_norm(c.g, sa_dense(c.g, x, 9), 1e-3f);
    gc_out(&c, sa_dense(c.g, sa_act(c.g, h, SA_ACT_GELU), 3));
    c.prepare = random_params;
    gc_run(&c, seed);
}

static void case_gelu(uint64_t seed)
{
    gc_case c;
    gc_init(&c, "gelu", 3);
    sa_node x = gc_in(&c, "x", 6, 4, NULL);
    c.in[0].scale = 3.0f; /* both tails and the curved middle */
    gc_out(&c, sa_act(c.g, x, SA_ACT_GELU));
    gc_run(&c, seed);
}

/* dropout in training mode, masks replayed; two dropout nodes so their
 * masks must differ and both be kept for backward */
static void case_dropout(uint64_t seed)
{
    gc_case c;
    gc_init(&c, "dropout train (replayed masks)", 3);
    sa_node x = gc_in(&c, "x", 5, 5, LEN3_T5);
    sa_node d1 = sa_dropout(c.g, x, 0.3f);
    sa_node h = sa_dense(c.g, d1, 6);
    sa_node d2 = sa_dropout(c.g, sa_layer_norm(c.g, h, 1e-5f), 0.5f);
    gc_out(&c, d1);
    gc_out(&c, sa_dense(c.g, d2, 2));
    c.replay = 1;
    c.prepare = random_params;
    gc_run(&c, seed);
}

static void case_posenc_sin(uint64_t seed)
{
    gc_case c;
    gc_init(&c, "posenc sin -> ln, lengths", 3);
    sa_node x = gc_in(&c, "x", 7, 5, LEN3_T5);
    sa_node p = sa_posenc_sinusoidal(c.g, x);
    gc_out(&c, p);
    gc_out(&c, sa_layer_norm(c.g, p, 1e-5f)); /* PE inside a nonlinear function of x */
    c.prepare = random_params;
    gc_run(&c, seed);
}

static void case_posenc_learned(const int32_t *len, uint64_t seed)
{
    gc_case c;
    gc_init(&c, len ? "posenc learned, lengths" : "posenc learned", 3);
    sa_node x = gc_in(&c, "x", 4, 5, len);
    c.in[0].scale = 2.0f; /* rows of 4 features: keep their spread well above the step ε */
    sa_node p = sa_posenc_learned(c.g, x, 5); /* T == max_len: every row used */
    gc_out(&c, sa_layer_norm(c.g, p, 1e-5f));
    gc_run(&c, seed);
}

/* ------------------------------------------------------------- dropout */

static sa_model *dropout_model(float p, uint64_t seed, sa_node *x, sa_node *d, int32_t F)
{
    sa_graph *g = sa_graph_new();
    REQUIRE(g != NULL);
    *x = sa_input(g, "x", F);
    *d = sa_dropout(g, *x, p);
    return tu_model(g, seed);
}

static void run_out(sa_model *m, sa_mode mode, sa_node n, float *dst, size_t cap)
{
    REQUIRE_OK(sa_forward(m, mode));
    REQUIRE_OK(sa_get_output(m, n, dst, cap, NULL));
}

static void dropout_stats(void)
{
    enum { DB = 4, DT = 250, DF = 100, N = DB * DT * DF };
    const float p = 0.3f;
    float *x = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float)), *y2 = malloc(N * sizeof(float));
    REQUIRE(x && y && y2);
    for (size_t i = 0; i < N; i++)
        x[i] = 1.0f;
    sa_node xn, dn;
    sa_model *m = dropout_model(p, 5, &xn, &dn, DF);
    REQUIRE_OK(sa_set_input(m, xn, x, DB, DT, NULL));

    uint64_t idx = 99;
    CHECK_OK(sa_model_get_train_index(m, &idx));
    CHECK(idx == 0);
    run_out(m, SA_TRAIN, dn, y, N);
    size_t zeros = 0, bad = 0;
    double sum = 0.0;
    for (size_t i = 0; i < N; i++) {
        zeros += y[i] == 0.0f;
        bad += y[i] != 0.0f && y[i] != 1.0f / (1.0f - p); /* kept values scaled by 1/(1-p) */
        sum += y[i];
    }
    /* binomial: std of the zero fraction is sqrt(p(1-p)/N) = 0.0014, of the
     * mean sqrt(p/(1-p)/N) = 0.0021; 0.01 is ~5 sigma */
    printf("dropout p=0.3: zero fraction %.4f, mean %.4f over %d values\n", (double)zeros / N, sum / N, N);
    CHECK_NEAR((double)zeros / N, p, 0.01);
    CHECK_NEAR(sum / N, 1.0, 0.01);
    CHECK(bad == 0);

    /* inference is the identity */
    run_out(m, SA_INFER, dn, y2, N);
    CHECK(memcmp(y2, x, N * sizeof(float)) == 0);

    /* the next training forward draws a new mask */
    CHECK_OK(sa_model_get_train_index(m, &idx));
    CHECK(idx == 1); /* the SA_INFER forward took no index */
    run_out(m, SA_TRAIN, dn, y2, N);
    CHECK(memcmp(y, y2, N * sizeof(float)) != 0);
    /* setting the index back replays the first mask */
    CHECK_OK(sa_model_set_train_index(m, 0));
    run_out(m, SA_TRAIN, dn, y2, N);
    CHECK(memcmp(y, y2, N * sizeof(float)) == 0);
    CHECK_OK(sa_model_get_train_index(m, &idx));
    CHECK(idx == 1);

    /* same seed, another model: the same masks on the same forwards */
    sa_node xn2, dn2;
    sa_model *m2 = dropout_model(p, 5, &xn2, &dn2, DF);
    REQUIRE_OK(sa_set_input(m2, xn2, x, DB, DT, NULL));
    run_out(m2, SA_TRAIN, dn2, y2, N);
    CHECK(memcmp(y, y2, N * sizeof(float)) == 0);
    sa_model_destroy(m2);
    /* another seed: another mask */
    m2 = dropout_model(p, 6, &xn2, &dn2, DF);
    REQUIRE_OK(sa_set_input(m2, xn2, x, DB, DT, NULL));
    run_out(m2, SA_TRAIN, dn2, y2, N);
    CHECK(memcmp(y, y2, N * sizeof(float)) != 0);
    sa_model_destroy(m2);
    sa_model_destroy(m);

    /* two dropout nodes on one input in one forward: different masks */
    sa_graph *g = sa_graph_new();
    REQUIRE(g != NULL);
    sa_node xi = sa_input(g, "x", DF);
    sa_node a = sa_dropout(g, xi, p), b = sa_dropout(g, xi, p), z = sa_dropout(g, xi, 0.0f);
    m = tu_model(g, 5);
    REQUIRE_OK(sa_set_input(m, xi, x, DB, DT, NULL));
    run_out(m, SA_TRAIN, a, y, N);
    REQUIRE_OK(sa_get_output(m, b, y2, N, NULL));
    CHECK(memcmp(y, y2, N * sizeof(float)) != 0);
    REQUIRE_OK(sa_get_output(m, z, y2, N, NULL)); /* p = 0: the identity in training too */
    CHECK(memcmp(y2, x, N * sizeof(float)) == 0);
    sa_model_destroy(m);

    CHECK_STATUS(sa_model_get_train_index(NULL, &idx), SA_ERR_INVALID_ARG);
    CHECK_STATUS(sa_model_set_train_index(NULL, 0), SA_ERR_INVALID_ARG);
    free(x);
    free(y);
    free(y2);
}

/* the kept masks belong to the last forward: backward after changing the index still uses them */
static void dropout_backward_mask(void)
{
    enum { N = 2 * 3 * 8 };
    float x[N], y[N], g[N], dx[N];
    tu_rng r = {3};
    tu_fill(&r, x, N, 0.5f, 1.5f); /* nonzero: a zero output means a dropped element */
    for (int i = 0; i < N; i++)
        g[i] = 1.0f;
    sa_node xn, dn;
    sa_model *m = dropout_model(0.5f, 11, &xn, &dn, 8);
    REQUIRE_OK(sa_set_input(m, xn, x, 2, 3, NULL));
    run_out(m, SA_TRAIN, dn, y, N);
    CHECK_OK(sa_model_set_train_index(m, 1234));
    const float *gs[1] = {g};
    CHECK_OK(sa_backward_from(m, 1, &dn, gs));
    CHECK_OK(sa_get_grad(m, xn, dx, N, NULL));
    int dropped = 0;
    for (int i = 0; i < N; i++) {
        dropped += y[i] == 0.0f;
        CHECK(dx[i] == (y[i] == 0.0f ? 0.0f : 2.0f)); /* dy (1-p)^-1 where kept */
    }
    CHECK(dropped > 0 && dropped < N);
    sa_model_destroy(m);
}

/* --------------------------------------------------------------- values */

static void layer_norm_values(void)
{
    enum { LB = 2, LT = 3, LF = 33 };
    float x[LB * LT * LF], y[LB * LT * LF];
    tu_rng r = {8};
    tu_fill(&r, x, LB * LT * LF, -2.0f, 2.0f);
    for (int i = 0; i < LF; i++)
        x[LF + i] += 1000.0f; /* row 1: |mean| >> std, where E[x²] - E[x]² would fail */
    sa_graph *g = sa_graph_new();
    REQUIRE(g != NULL);
    sa_node xn = sa_input(g, "x", LF);
    sa_node ln = sa_layer_norm(g, xn, 1e-5f);
    sa_model *m = tu_model(g, 1);
    sa_param_info w, b;
    REQUIRE_OK(sa_param_find(m, "layer_norm0.weight", &w));
    REQUIRE_OK(sa_param_find(m, "layer_norm0.bias", &b));
    CHECK(w.ndim == 1 && w.shape[0] == LF && b.ndim == 1 && b.shape[0] == LF);
    int init_ok = 1;
    for (int i = 0; i < LF; i++)
        init_ok &= w.value[i] == 1.0f && b.value[i] == 0.0f;
    CHECK(init_ok);
    REQUIRE_OK(sa_set_input(m, xn, x, LB, LT, NULL));
    run_out(m, SA_INFER, ln, y, LB * LT * LF);
    for (int rw = 0; rw < LB * LT; rw++) {
        double mu = 0.0, var = 0.0;
        for (int f = 0; f < LF; f++)
            mu += y[rw * LF + f];
        mu /= LF;
        for (int f = 0; f < LF; f++)
            var += (y[rw * LF + f] - mu) * (y[rw * LF + f] - mu);
        var /= LF;
        CHECK_NEAR(mu, 0.0, 1e-5);
        CHECK_NEAR(var, 1.0, 1e-3); /* eps / var of U(-2, 2) ~ 1e-5 */
    }
    sa_model_destroy(m);
}

static void posenc_values(void)
{
    enum { PB = 2, PT = 40, PF = 9 }; /* odd F: the last feature is a sine */
    float x[PB * PT * PF], y[PB * PT * PF];
    memset(x, 0, sizeof x);
    sa_graph *g = sa_graph_new();
    REQUIRE(g != NULL);
    sa_node xn = sa_input(g, "x", PF);
    sa_node pe = sa_posenc_sinusoidal(g, xn);
    sa_model *m = tu_model(g, 1);
    CHECK(sa_param_count(m) == 0);
    REQUIRE_OK(sa_set_input(m, xn, x, PB, PT, NULL));
    run_out(m, SA_INFER, pe, y, PB * PT * PF);
    double worst = 0.0;
    for (int b = 0; b < PB; b++)
        for (int t = 0; t < PT; t++)
            for (int f = 0; f < PF; f++) {
                double a = t / pow(10000.0, (f - f % 2) / (double)PF);
                double want = f % 2 ? cos(a) : sin(a);
                worst = fmax(worst, fabs(y[(b * PT + t) * PF + f] - want));
            }
    printf("sinusoidal table: max |seqattn - formula| = %.2e\n", worst);
    CHECK(worst < 1e-6);
    sa_model_destroy(m);

    /* learned table: N(0, 1) init, shape (max_len, F) */
    g = sa_graph_new();
    REQUIRE(g != NULL);
    xn = sa_input(g, "x", 64);
    sa_posenc_learned(g, xn, 512);
    m = tu_model(g, 1);
    sa_param_info w;
    REQUIRE_OK(sa_param_find(m, "posenc_learned0.weight", &w));
    CHECK(w.ndim == 2 && w.shape[0] == 512 && w.shape[1] == 64);
    double mu = 0.0, sq = 0.0;
    for (size_t i = 0; i < w.numel; i++) {
        mu += w.value[i];
        sq += (double)w.value[i] * w.value[i];
    }
    mu /= (double)w.numel;
    double sd = sqrt(sq / (double)w.numel - mu * mu);
    printf("learned table init: mean %.4f, std %.4f over %zu values\n", mu, sd, w.numel);
    CHECK_NEAR(mu, 0.0, 0.03); /* std of the mean: 1/sqrt(32768) = 0.0055 */
    CHECK_NEAR(sd, 1.0, 0.03);
    sa_model_destroy(m);
}

/* ------------------------------------------------------ step execution */

/* dense -> sinusoidal PE -> layer norm -> dropout -> learned PE -> GELU -> dense,
 * stepped through x: every step equals that step of the full forward */
static void step_equals_full(void)
{
    enum { SB = 2, ST = 7, SF = 5, SH = 6 };
    sa_graph *g = sa_graph_new();
    REQUIRE(g != NULL);
    sa_node x = sa_input(g, "x", SF);
    sa_node h = sa_posenc_sinusoidal(g, sa_dense(g, x, SH));
    sa_node ln = sa_layer_norm(g, h, 1e-5f);
    sa_node dr = sa_dropout(g, ln, 0.4f);
    sa_node pl = sa_posenc_learned(g, dr, ST);
    sa_node out = sa_dense(g, sa_act(g, pl, SA_ACT_GELU), 3);
    const sa_node cmp[] = {h, ln, dr, pl, out};
    const int32_t F_of[] = {SH, SH, SH, SH, 3};
    enum { NC = sizeof cmp / sizeof *cmp };
    sa_model *m = tu_model(g, 21);
    float xd[SB * ST * SF];
    tu_rng r = {4};
    tu_fill(&r, xd, SB * ST * SF, -1.0f, 1.0f);
    REQUIRE_OK(sa_set_input(m, x, xd, SB, ST, NULL));
    /* a training forward first: its masks must not leak into step execution */
    REQUIRE_OK(sa_forward(m, SA_TRAIN));
    REQUIRE_OK(sa_forward(m, SA_INFER));
    float full[NC][SB * ST * SH];
    for (int k = 0; k < NC; k++)
        REQUIRE_OK(sa_get_output(m, cmp[k], full[k], SB * ST * SH, NULL));

    REQUIRE_OK(sa_step_begin(m, 1, &x));
    double worst = 0.0;
    for (int t = 0; t < ST; t++) {
        float xs[SB * SF], ys[SB * SH];
        for (int b = 0; b < SB; b++)
            memcpy(xs + b * SF, xd + (b * ST + t) * SF, SF * sizeof(float));
        REQUIRE_OK(sa_set_input(m, x, xs, SB, 1, NULL));
        CHECK_OK(sa_step(m));
        for (int k = 0; k < NC; k++) {
            int32_t sh[3];
            CHECK_OK(sa_get_output(m, cmp[k], ys, SB * SH, sh));
            CHECK(sh[0] == SB && sh[1] == 1 && sh[2] == F_of[k]);
            for (int b = 0; b < SB; b++)
                for (int f = 0; f < F_of[k]; f++)
                    worst = fmax(worst, fabs(ys[b * F_of[k] + f] - full[k][(b * ST + t) * F_of[k] + f]));
        }
    }
    printf("step vs full forward: max |diff| = %.2e over %d steps\n", worst, ST);
    CHECK(worst <= 1e-5);
    /* one step past the learned table */
    float xs[SB * SF] = {0};
    REQUIRE_OK(sa_set_input(m, x, xs, SB, 1, NULL));
    CHECK_STATUS(sa_step(m), SA_ERR_SHAPE);
    sa_model_destroy(m);
}

/* --------------------------------------------------------------- errors */

static void errors(void)
{
    const float bad_p[] = {-0.1f, 1.0f, 2.0f, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_p / sizeof *bad_p; i++) {
        sa_graph *g = sa_graph_new();
        CHECK(sa_dropout(g, sa_input(g, "x", 3), bad_p[i]) == SA_NODE_INVALID);
        CHECK(sa_graph_status(g) == SA_ERR_INVALID_ARG);
        sa_graph_free(g);
    }
    const float bad_eps[] = {0.0f, -1e-5f, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_eps / sizeof *bad_eps; i++) {
        sa_graph *g = sa_graph_new();
        CHECK(sa_layer_norm(g, sa_input(g, "x", 3), bad_eps[i]) == SA_NODE_INVALID);
        CHECK(sa_graph_status(g) == SA_ERR_INVALID_ARG);
        sa_graph_free(g);
    }
    const int32_t bad_len[] = {0, -1, (1 << 24) + 1};
    for (size_t i = 0; i < sizeof bad_len / sizeof *bad_len; i++) {
        sa_graph *g = sa_graph_new();
        CHECK(sa_posenc_learned(g, sa_input(g, "x", 3), bad_len[i]) == SA_NODE_INVALID);
        CHECK(sa_graph_status(g) == SA_ERR_SHAPE);
        sa_graph_free(g);
    }
    /* invalid node in: sticky, nothing recorded twice */
    sa_graph *g = sa_graph_new();
    CHECK(sa_posenc_sinusoidal(g, 5) == SA_NODE_INVALID);
    CHECK(sa_graph_status(g) == SA_ERR_BAD_NODE);
    sa_graph_free(g);

    /* T > max_len at run time */
    g = sa_graph_new();
    sa_node x = sa_input(g, "x", 2);
    sa_posenc_learned(g, x, 4);
    sa_model *m = tu_model(g, 1);
    float xd[5 * 2] = {0};
    REQUIRE_OK(sa_set_input(m, x, xd, 1, 5, NULL));
    CHECK_STATUS(sa_forward(m, SA_INFER), SA_ERR_SHAPE);
    CHECK(strstr(sa_last_error(), "max_len") != NULL);
    REQUIRE_OK(sa_set_input(m, x, xd, 1, 4, NULL));
    CHECK_OK(sa_forward(m, SA_INFER));
    sa_model_destroy(m);
}

int main(void)
{
    case_layer_norm("layer norm F=7 lengths", 7, LEN3_T5, 1.0f, 2001);
    case_layer_norm("layer norm F=3", 3, NULL, 2.0f, 2002);
    case_layer_norm("layer norm F=5 wide inputs", 5, NULL, 4.0f, 2003);
    case_ln_stack(2004);
    case_gelu(2005);
    case_dropout(2006);
    case_posenc_sin(2007);
    case_posenc_learned(NULL, 2008);
    case_posenc_learned(LEN3_T5, 2009);
    gc_summary();
    dropout_stats();
    dropout_backward_mask();
    layer_norm_values();
    posenc_values();
    step_equals_full();
    errors();
    return tu_report();
}
