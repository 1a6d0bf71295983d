/* test_errors_graph.c — the graph builder: NULL graphs, bad node ids, bad
 * arguments of every builder call, and the sticky first error. Every failure
 * is made on a fresh graph so that it is that graph's first error. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "err_check.h"

/* x [.,.,3], y [.,.,2], gru(x, H=4) [.,.,4], dense(x, 5) */
typedef struct base {
    sa_graph *g;
    sa_node x, y, gru, dense;
} base;

static base mk(void)
{
    base b;
    b.g = sa_graph_new();
    REQUIRE(b.g != NULL);
    b.x = sa_input(b.g, "x", 3);
    b.y = sa_input(b.g, "y", 2);
    sa_rnn_desc d = sa_rnn_desc_default();
    d.hidden = 4;
    b.gru = sa_gru(b.g, b.x, &d);
    b.dense = sa_dense(b.g, b.x, 5);
    REQUIRE(sa_graph_status(b.g) == SA_OK && b.dense == 3);
    return b;
}

/* ---------------------------------------------- builders taking one node */

typedef sa_node (*node_call)(sa_graph *g, const base *b, sa_node n);

static sa_node c_name(sa_graph *g, const base *b, sa_node n) { (void)b; return sa_name(g, n, "nm"); }
static sa_node c_dense(sa_graph *g, const base *b, sa_node n) { (void)b; return sa_dense(g, n, 2); }
static sa_node c_act(sa_graph *g, const base *b, sa_node n) { (void)b; return sa_act(g, n, SA_ACT_RELU); }
static sa_node c_gru(sa_graph *g, const base *b, sa_node n)
{
    (void)b;
    sa_rnn_desc d = sa_rnn_desc_default();
    d.hidden = 2;
    return sa_gru(g, n, &d);
}
static sa_node c_gru_h0(sa_graph *g, const base *b, sa_node n)
{
    sa_rnn_desc d = sa_rnn_desc_default();
    d.hidden = 2;
    d.initial_state = n;
    return sa_gru(g, b->x, &d);
}
static sa_node c_final(sa_graph *g, const base *b, sa_node n) { (void)b; return sa_rnn_final_state(g, n); }
static sa_node c_att(sa_graph *g, const base *b, sa_node n) { (void)b; return sa_attention_pool(g, n, SA_SCORE_LINEAR); }
static sa_node c_mean(sa_graph *g, const base *b, sa_node n) { (void)b; return sa_mean_time(g, n); }
static sa_node c_last(sa_graph *g, const base *b, sa_node n) { (void)b; return sa_last_step(g, n); }
static sa_node c_concat0(sa_graph *g, const base *b, sa_node n)
{
    sa_node xs[2] = {n, b->x};
    return sa_concat(g, 2, xs);
}
static sa_node c_concat1(sa_graph *g, const base *b, sa_node n)
{
    sa_node xs[3] = {b->x, b->y, n};
    return sa_concat(g, 3, xs);
}
static sa_node c_mse_p(sa_graph *g, const base *b, sa_node n) { return sa_loss_mse(g, n, b->y); }
static sa_node c_mse_t(sa_graph *g, const base *b, sa_node n) { return sa_loss_mse(g, b->y, n); }
static sa_node c_mae_p(sa_graph *g, const base *b, sa_node n) { return sa_loss_mae(g, n, b->y); }
static sa_node c_mae_t(sa_graph *g, const base *b, sa_node n) { return sa_loss_mae(g, b->y, n); }

static const struct {
    const char *fn;
    node_call call;
    int none_ok; /* SA_NODE_NONE means "no node" here */
} node_calls[] = {
    {"sa_name", c_name, 0},           {"sa_dense", c_dense, 0},         {"sa_act", c_act, 0},
    {"sa_gru", c_gru, 0},             {"sa_gru", c_gru_h0, 1},          {"sa_rnn_final_state", c_final, 0},
    {"sa_attention_pool", c_att, 0},  {"sa_mean_time", c_mean, 0},      {"sa_last_step", c_last, 0},
    {"sa_concat", c_concat0, 0},      {"sa_concat", c_concat1, 0},      {"sa_loss_mse", c_mse_p, 0},
    {"sa_loss_mse", c_mse_t, 0},      {"sa_loss_mae", c_mae_p, 0},      {"sa_loss_mae", c_mae_t, 0},
};
#define N_CALLS (sizeof node_calls / sizeof *node_calls)

static void bad_node_ids(void)
{
    /* a bigger graph whose last ids do not exist in a base graph */
    sa_graph *other = sa_graph_new();
    REQUIRE(other != NULL);
    sa_node o = sa_input(other, "o", 3);
    for (int i = 0; i < 8; i++)
        o = sa_act(other, o, SA_ACT_TANH);
    REQUIRE(o == 8);
    const sa_node bad[] = {SA_NODE_INVALID, SA_NODE_NONE, -3, INT32_MIN, 4, 5, INT32_MAX, o};
    for (size_t c = 0; c < N_CALLS; c++)
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            if (bad[i] == SA_NODE_NONE && node_calls[c].none_ok)
                continue;
            base b = mk();
            EXPECT_BUILD_FAIL(b.g, SA_ERR_BAD_NODE, node_calls[c].fn, node_calls[c].call(b.g, &b, bad[i]));
            sa_graph_free(b.g);
        }
    sa_graph_free(other);
}

static void null_graph(void)
{
    base b = mk();
    for (size_t c = 0; c < N_CALLS; c++) {
        ec_prime(node_calls[c].fn, NULL);
        sa_node r = node_calls[c].call(NULL, &b, b.x);
        CHECK(r == SA_NODE_INVALID);
        CHECK(ec_starts_with_fn(sa_last_error(), node_calls[c].fn));
    }
    ec_prime("sa_input", NULL);
    CHECK(sa_input(NULL, "x", 3) == SA_NODE_INVALID);
    CHECK(ec_starts_with_fn(sa_last_error(), "sa_input"));
    EXPECT(SA_ERR_INVALID_ARG, "sa_graph_status", NULL, sa_graph_status(NULL));
    CHECK(sa_graph_status(b.g) == SA_OK); /* nothing above touched b.g */
    sa_graph_free(b.g);
}

static void node_features(void)
{
    base b = mk();
    sa_node st = sa_rnn_final_state(b.g, b.gru);
    CHECK(sa_graph_node_features(b.g, b.x) == 3);
    CHECK(sa_graph_node_features(b.g, b.dense) == 5);
    CHECK(sa_graph_node_features(b.g, st) == 4);
    const sa_node bad[] = {SA_NODE_INVALID, SA_NODE_NONE, INT32_MIN, 5, INT32_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(sa_graph_node_features(b.g, bad[i]) == -1);
    CHECK(sa_graph_status(b.g) == SA_OK); /* a query is not a builder failure */
    sa_graph_free(b.g);
}

/* ------------------------------------------------------------- sa_name */

static void names(void)
{
    char n63[64], n64[65];
    memset(n63, 'a', 63);
    n63[63] = '\0';
    memset(n64, 'b', 64);
    n64[64] = '\0';
    const char *bad[] = {NULL, "", n64, "a b", ".a", "a.", "a..b", "a-b", "a:b", "caf\xc3\xa9", "tab\t", "y", "dense0"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        base b = mk();
        EXPECT_BUILD_FAIL(b.g, SA_ERR_INVALID_ARG, "sa_name", sa_name(b.g, b.x, bad[i]));
        sa_graph_free(b.g);
    }
    base b = mk();
    CHECK(sa_name(b.g, b.x, n63) == b.x);       /* 63 characters are fine */
    CHECK(sa_name(b.g, b.x, n63) == b.x);       /* its own name again */
    CHECK(sa_name(b.g, b.dense, "Enc_1") == b.dense);
    CHECK(sa_name(b.g, b.gru, "Enc_1") == SA_NODE_INVALID); /* a later rename clashes */
    CHECK(sa_graph_status(b.g) == SA_ERR_INVALID_ARG);
    sa_graph_free(b.g);
}

/* ------------------------------------------------------------- sa_input */

static void inputs(void)
{
    const int32_t bad_f[] = {0, -1, INT32_MIN, (1 << 24) + 1, INT32_MAX};
    for (size_t i = 0; i < sizeof bad_f / sizeof *bad_f; i++) {
        base b = mk();
        EXPECT_BUILD_FAIL(b.g, SA_ERR_SHAPE, "sa_input", sa_input(b.g, "z", bad_f[i]));
        sa_graph_free(b.g);
    }
    char n64[65];
    memset(n64, 'q', 64);
    n64[64] = '\0';
    const char *bad_n[] = {NULL, "", n64, "with space", "a/b", "x", "dense0", "gru0"};
    for (size_t i = 0; i < sizeof bad_n / sizeof *bad_n; i++) {
        base b = mk();
        EXPECT_BUILD_FAIL(b.g, SA_ERR_INVALID_ARG, "sa_input", sa_input(b.g, bad_n[i], 2));
        sa_graph_free(b.g);
    }
    base b = mk();
    CHECK(sa_input(b.g, "big", 1 << 24) >= 0); /* the largest F is accepted */
    CHECK(sa_graph_status(b.g) == SA_OK);
    sa_graph_free(b.g);
}

/* -------------------------------------------------- per-layer arguments */

static void dense_act_pool(void)
{
    const int32_t bad_u[] = {0, -1, INT32_MIN, (1 << 24) + 1, INT32_MAX};
    for (size_t i = 0; i < sizeof bad_u / sizeof *bad_u; i++) {
        base b = mk();
        EXPECT_BUILD_FAIL(b.g, SA_ERR_SHAPE, "sa_dense", sa_dense(b.g, b.x, bad_u[i]));
        sa_graph_free(b.g);
    }
    const int bad_k[] = {-1, 3, 100};   /* sa_score: 3 is one past the last */
    const int bad_act[] = {-1, 4, 100}; /* sa_activation: 4 is one past SA_ACT_GELU */
    for (size_t i = 0; i < sizeof bad_k / sizeof *bad_k; i++) {
        base b = mk();
        EXPECT_BUILD_FAIL(b.g, SA_ERR_INVALID_ARG, "sa_act", sa_act(b.g, b.x, (sa_activation)bad_act[i]));
        sa_graph_free(b.g);
        b = mk();
        EXPECT_BUILD_FAIL(b.g, SA_ERR_INVALID_ARG, "sa_attention_pool",
                          sa_attention_pool(b.g, b.gru, (sa_score)bad_k[i]));
        sa_graph_free(b.g);
    }
}

static sa_node gru_with(sa_graph *g, sa_node x, int32_t H, int32_t L, int32_t bi, size_t size, sa_node h0)
{
    sa_rnn_desc d = sa_rnn_desc_default();
    d.struct_size = size;
    d.hidden = H;
    d.num_layers = L;
    d.bidirectional = bi;
    d.initial_state = h0;
    return sa_gru(g, x, &d);
}

static void gru(void)
{
    base b = mk();
    EXPECT_BUILD_FAIL(b.g, SA_ERR_INVALID_ARG, "sa_gru", sa_gru(b.g, b.x, NULL));
    sa_graph_free(b.g);

    const size_t bad_size[] = {0, 1, sizeof(size_t), offsetof(sa_rnn_desc, initial_state),
                               offsetof(sa_rnn_desc, initial_state) + sizeof(sa_node) - 1};
    for (size_t i = 0; i < sizeof bad_size / sizeof *bad_size; i++) {
        b = mk();
        EXPECT_BUILD_FAIL(b.g, SA_ERR_INVALID_ARG, "sa_gru",
                          gru_with(b.g, b.x, 4, 1, 0, bad_size[i], SA_NODE_NONE));
        sa_graph_free(b.g);
    }
    const int32_t bad_h[] = {0, -1, INT32_MIN, (1 << 20) + 1, INT32_MAX};
    for (size_t i = 0; i < sizeof bad_h / sizeof *bad_h; i++) {
        b = mk();
        EXPECT_BUILD_FAIL(b.g, SA_ERR_SHAPE, "sa_gru",
                          gru_with(b.g, b.x, bad_h[i], 1, 0, sizeof(sa_rnn_desc), SA_NODE_NONE));
        sa_graph_free(b.g);
    }
    /* num_layers: 1..16 one-way, 1..8 bidirectional (64 parameter tensors) */
    const struct { int32_t L, bi; } bad_l[] = {{0, 0}, {-1, 0}, {17, 0}, {INT32_MIN, 0}, {INT32_MAX, 0},
                                               {9, 1}, {INT32_MAX, 1}, {INT32_MAX / 2 + 1, 1}};
    for (size_t i = 0; i < sizeof bad_l / sizeof *bad_l; i++) {
        b = mk();
        EXPECT_BUILD_FAIL(b.g, SA_ERR_INVALID_ARG, "sa_gru",
                          gru_with(b.g, b.x, 4, bad_l[i].L, bad_l[i].bi, sizeof(sa_rnn_desc), SA_NODE_NONE));
        sa_graph_free(b.g);
    }
    const int32_t bad_bi[] = {2, -1, INT32_MAX};
    for (size_t i = 0; i < sizeof bad_bi / sizeof *bad_bi; i++) {
        b = mk();
        EXPECT_BUILD_FAIL(b.g, SA_ERR_INVALID_ARG, "sa_gru",
                          gru_with(b.g, b.x, 4, 1, bad_bi[i], sizeof(sa_rnn_desc), SA_NODE_NONE));
        sa_graph_free(b.g);
    }
    /* initial_state needs L*D*H features: x has 3, dense 5, the gru 4 */
    b = mk();
    EXPECT_BUILD_FAIL(b.g, SA_ERR_SHAPE, "sa_gru", gru_with(b.g, b.x, 4, 1, 0, sizeof(sa_rnn_desc), b.x));
    sa_graph_free(b.g);
    b = mk();
    EXPECT_BUILD_FAIL(b.g, SA_ERR_SHAPE, "sa_gru", gru_with(b.g, b.x, 2, 2, 1, sizeof(sa_rnn_desc), b.gru));
    sa_graph_free(b.g);
    /* the largest accepted values, and a larger struct_size (newer caller), build */
    b = mk();
    CHECK(gru_with(b.g, b.x, 2, 8, 0, sizeof(sa_rnn_desc), SA_NODE_NONE) >= 0);
    CHECK(gru_with(b.g, b.x, 2, 4, 1, sizeof(sa_rnn_desc) + 16, SA_NODE_NONE) >= 0);
    CHECK(gru_with(b.g, b.x, 4, 1, 0, sizeof(sa_rnn_desc), b.gru) >= 0);
    CHECK(sa_graph_status(b.g) == SA_OK);
    sa_graph_free(b.g);
}

static void final_state(void)
{
    base b = mk();
    sa_node st = sa_rnn_final_state(b.g, b.gru);
    CHECK(st >= 0 && sa_rnn_final_state(b.g, b.gru) == st); /* asking twice: same node */
    sa_node att = sa_attention_pool(b.g, b.gru, SA_SCORE_TANH);
    sa_node loss = sa_loss_mae(b.g, sa_dense(b.g, att, 2), sa_mean_time(b.g, b.y));
    REQUIRE(sa_graph_status(b.g) == SA_OK);
    sa_graph_free(b.g);
    const int which[] = {0, 1, 2, 3, 4}; /* input, dense, state port, attention, loss */
    for (size_t i = 0; i < sizeof which / sizeof *which; i++) {
        b = mk();
        st = sa_rnn_final_state(b.g, b.gru);
        att = sa_attention_pool(b.g, b.gru, SA_SCORE_TANH);
        loss = sa_loss_mae(b.g, sa_dense(b.g, att, 2), sa_mean_time(b.g, b.y));
        REQUIRE(sa_graph_status(b.g) == SA_OK);
        const sa_node n[] = {b.x, b.dense, st, att, loss};
        EXPECT_BUILD_FAIL(b.g, SA_ERR_BAD_NODE, "sa_rnn_final_state", sa_rnn_final_state(b.g, n[which[i]]));
        sa_graph_free(b.g);
    }
}

static void concat(void)
{
    const int32_t bad_n[] = {0, 1, -1, 17, INT32_MAX, INT32_MIN};
    for (size_t i = 0; i < sizeof bad_n / sizeof *bad_n; i++) {
        base b = mk();
        sa_node xs[17];
        for (int k = 0; k < 17; k++)
            xs[k] = b.x;
        EXPECT_BUILD_FAIL(b.g, SA_ERR_INVALID_ARG, "sa_concat", sa_concat(b.g, bad_n[i], xs));
        sa_graph_free(b.g);
    }
    base b = mk();
    EXPECT_BUILD_FAIL(b.g, SA_ERR_INVALID_ARG, "sa_concat", sa_concat(b.g, 2, NULL));
    sa_graph_free(b.g);
    /* features add up beyond 2^24 */
    b = mk();
    sa_node big = sa_input(b.g, "big", 1 << 24);
    sa_node xs[2] = {big, b.x};
    EXPECT_BUILD_FAIL(b.g, SA_ERR_SHAPE, "sa_concat", sa_concat(b.g, 2, xs));
    sa_graph_free(b.g);
    b = mk();
    sa_node half = sa_input(b.g, "half", 1 << 23);
    sa_node hs[2] = {half, half};
    CHECK(sa_concat(b.g, 2, hs) >= 0); /* exactly 2^24 is fine */
    sa_node all[16];
    for (int k = 0; k < 16; k++)
        all[k] = k % 2 ? b.x : b.y;
    CHECK(sa_concat(b.g, 16, all) >= 0);
    CHECK(sa_graph_status(b.g) == SA_OK);
    sa_graph_free(b.g);
}

static void losses(void)
{
    base b = mk();
    EXPECT_BUILD_FAIL(b.g, SA_ERR_SHAPE, "sa_loss_mse", sa_loss_mse(b.g, b.x, b.y));
    sa_graph_free(b.g);
    b = mk();
    EXPECT_BUILD_FAIL(b.g, SA_ERR_SHAPE, "sa_loss_mae", sa_loss_mae(b.g, b.dense, b.gru));
    sa_graph_free(b.g);
}

/* ------------------------------------------------------------- sticky */

static void sticky(void)
{
    base b = mk();
    EXPECT_BUILD_FAIL(b.g, SA_ERR_SHAPE, "sa_dense", sa_dense(b.g, b.x, 0));
    char first[256];
    snprintf(first, sizeof first, "%s", sa_graph_errmsg(b.g));
    int32_t count = sa_graph_node_count(b.g);

    /* later calls, valid or not, do nothing and keep the first error */
    sa_rnn_desc d = sa_rnn_desc_default();
    d.hidden = 3;
    sa_node xs[2] = {b.x, b.y};
    struct { const char *fn; sa_node r; } later[] = {
        {"sa_act", sa_act(b.g, SA_NODE_INVALID, SA_ACT_TANH)},
        {"sa_act", sa_act(b.g, b.x, (sa_activation)99)},
        {"sa_dense", sa_dense(b.g, b.x, 2)},
        {"sa_gru", sa_gru(b.g, b.x, &d)},
        {"sa_gru", sa_gru(b.g, b.x, NULL)},
        {"sa_input", sa_input(b.g, "fresh", 3)},
        {"sa_input", sa_input(b.g, "", 0)},
        {"sa_name", sa_name(b.g, b.x, "ok")},
        {"sa_concat", sa_concat(b.g, 2, xs)},
        {"sa_loss_mse", sa_loss_mse(b.g, b.x, b.x)},
        {"sa_rnn_final_state", sa_rnn_final_state(b.g, b.gru)},
        {"sa_mean_time", sa_mean_time(b.g, b.x)},
    };
    for (size_t i = 0; i < sizeof later / sizeof *later; i++)
        CHECK(later[i].r == SA_NODE_INVALID);
    /* the thread message names the later call and repeats the first error */
    ec_prime("sa_last_step", NULL);
    CHECK(sa_last_step(b.g, b.x) == SA_NODE_INVALID);
    CHECK(ec_starts_with_fn(sa_last_error(), "sa_last_step"));
    CHECK(strstr(sa_last_error(), first) != NULL);
    CHECK(sa_graph_status(b.g) == SA_ERR_SHAPE);
    CHECK(strcmp(sa_graph_errmsg(b.g), first) == 0);
    CHECK(sa_graph_node_count(b.g) == count);

    /* sa_model_create reports the first error's status and message */
    base ok = mk();
    sa_model *keep = ec_model(ok.g), *m = keep; /* *out must be reset to NULL */
    EXPECT(SA_ERR_SHAPE, "sa_model_create", NULL, sa_model_create(b.g, NULL, &m));
    CHECK(m == NULL);
    sa_model_destroy(keep);
    sa_graph_free(ok.g);
    CHECK(strstr(sa_last_error(), first) != NULL);
    sa_graph_free(b.g);

    /* an invalid id given to a healthy graph is that graph's first error */
    b = mk();
    EXPECT_BUILD_FAIL(b.g, SA_ERR_BAD_NODE, "sa_mean_time", sa_mean_time(b.g, SA_NODE_INVALID));
    sa_model *m2 = NULL;
    EXPECT(SA_ERR_BAD_NODE, "sa_model_create", NULL, sa_model_create(b.g, NULL, &m2));
    CHECK(m2 == NULL);
    sa_graph_free(b.g);
}

void err_run(void)
{
    bad_node_ids();
    null_graph();
    node_features();
    names();
    inputs();
    dense_act_pool();
    gru();
    final_state();
    concat();
    losses();
    sticky();
}
