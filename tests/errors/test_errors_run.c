/* test_errors_run.c — sa_set_input, sa_forward and the getters: bad ids,
 * wrong node kinds, sizes, lengths, non-finite data, run-time shape
 * disagreements, call order, and buffers that are too small. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err_check.h"

/* ids that no model of the fixture (8 nodes) has */
static const sa_node bad_ids[] = {SA_NODE_INVALID, SA_NODE_NONE, -3, INT32_MIN, 8, 9, 1000, INT32_MAX};
#define N_BAD (sizeof bad_ids / sizeof *bad_ids)

static void set_input(void)
{
    ec_fix f;
    ec_fix_init(&f);
    float *d = ec_data(4 * 5 * 3);
    EXPECT(SA_ERR_INVALID_ARG, "sa_set_input", NULL, sa_set_input(NULL, f.x, d, 4, 5, NULL));
    for (size_t i = 0; i < N_BAD; i++)
        EXPECT(SA_ERR_BAD_NODE, "sa_set_input", f.m, sa_set_input(f.m, bad_ids[i], d, 4, 5, NULL));
    /* nodes that are not inputs */
    const sa_node not_input[] = {f.gru, f.att, f.pred, f.target, f.loss, f.state};
    for (size_t i = 0; i < sizeof not_input / sizeof *not_input; i++)
        EXPECT(SA_ERR_BAD_NODE, "sa_set_input", f.m, sa_set_input(f.m, not_input[i], d, 1, 1, NULL));
    EXPECT(SA_ERR_INVALID_ARG, "sa_set_input", f.m, sa_set_input(f.m, f.x, NULL, 4, 5, NULL));

    /* B, T < 1 or above 2^24 */
    const int32_t bad_dim[] = {0, -1, INT32_MIN, (1 << 24) + 1, INT32_MAX};
    for (size_t i = 0; i < sizeof bad_dim / sizeof *bad_dim; i++) {
        EXPECT(SA_ERR_SHAPE, "sa_set_input", f.m, sa_set_input(f.m, f.x, d, bad_dim[i], 5, NULL));
        EXPECT(SA_ERR_SHAPE, "sa_set_input", f.m, sa_set_input(f.m, f.x, d, 4, bad_dim[i], NULL));
    }

    /* lengths outside 1..T, first or last sample */
    const int32_t bad_len[] = {0, -1, 6, INT32_MAX, INT32_MIN};
    for (size_t i = 0; i < sizeof bad_len / sizeof *bad_len; i++) {
        int32_t first[4] = {bad_len[i], 5, 5, 5}, last[4] = {1, 2, 5, bad_len[i]};
        EXPECT(SA_ERR_SHAPE, "sa_set_input", f.m, sa_set_input(f.m, f.x, d, 4, 5, first));
        EXPECT(SA_ERR_SHAPE, "sa_set_input", f.m, sa_set_input(f.m, f.x, d, 4, 5, last));
    }

    /* NaN / Inf anywhere */
    const float bad_v[] = {NAN, -NAN, INFINITY, -INFINITY};
    const size_t where[] = {0, 31, 4 * 5 * 3 - 1};
    for (size_t i = 0; i < sizeof bad_v / sizeof *bad_v; i++)
        for (size_t w = 0; w < sizeof where / sizeof *where; w++) {
            float keep = d[where[w]];
            d[where[w]] = bad_v[i];
            EXPECT(SA_ERR_NUMERIC, "sa_set_input", f.m, sa_set_input(f.m, f.x, d, 4, 5, NULL));
            d[where[w]] = keep;
        }

    /* none of the failures above set an input */
    EXPECT(SA_ERR_STATE, "sa_forward", f.m, sa_forward(f.m, SA_INFER));
    /* valid edge values */
    int32_t ok_len[4] = {1, 5, 3, 5};
    EXPECT_OK(sa_set_input(f.m, f.x, d, 4, 5, ok_len));
    EXPECT_OK(sa_set_input(f.m, f.y, d, 4, 5, NULL));
    EXPECT_OK(sa_forward(f.m, SA_INFER));
    free(d);
    ec_fix_free(&f);
}

/* ------------------------------------------------------------- forward */

static void forward_state_and_mode(void)
{
    ec_fix f;
    ec_fix_init(&f);
    EXPECT(SA_ERR_INVALID_ARG, "sa_forward", NULL, sa_forward(NULL, SA_TRAIN));
    EXPECT(SA_ERR_STATE, "sa_forward", f.m, sa_forward(f.m, SA_TRAIN)); /* no input set */
    float *d = ec_data(2 * 3 * 3);
    REQUIRE_OK(sa_set_input(f.m, f.x, d, 2, 3, NULL));
    EXPECT(SA_ERR_STATE, "sa_forward", f.m, sa_forward(f.m, SA_INFER)); /* y not set */
    REQUIRE_OK(sa_set_input(f.m, f.y, d, 2, 3, NULL));
    EXPECT(SA_ERR_INVALID_ARG, "sa_forward", f.m, sa_forward(f.m, (sa_mode)2));
    EXPECT(SA_ERR_INVALID_ARG, "sa_forward", f.m, sa_forward(f.m, (sa_mode)-1));
    EXPECT_OK(sa_forward(f.m, SA_TRAIN));
    /* inputs with different B */
    REQUIRE_OK(sa_set_input(f.m, f.y, d, 3, 3, NULL));
    EXPECT(SA_ERR_SHAPE, "sa_forward", f.m, sa_forward(f.m, SA_INFER));
    EXPECT(SA_ERR_STATE, "sa_get_output", f.m, sa_get_output(f.m, f.pred, NULL, 0, NULL));
    /* the model is usable again once the inputs agree */
    REQUIRE_OK(sa_set_input(f.m, f.y, d, 2, 3, NULL));
    EXPECT_OK(sa_forward(f.m, SA_INFER));
    free(d);
    ec_fix_free(&f);
}

/* two inputs a, b of F features; build(g, a, b) adds what is tested */
typedef void (*build_fn)(sa_graph *g, sa_node a, sa_node b);

static sa_model *two_inputs(build_fn build, int32_t F, sa_node *a, sa_node *b)
{
    sa_graph *g = sa_graph_new();
    REQUIRE(g != NULL);
    *a = sa_input(g, "a", F);
    *b = sa_input(g, "b", F);
    build(g, *a, *b);
    REQUIRE(sa_graph_status(g) == SA_OK);
    sa_model *m = ec_model(g);
    sa_graph_free(g);
    return m;
}

static void b_mse(sa_graph *g, sa_node a, sa_node b) { (void)sa_loss_mse(g, a, b); }
static void b_mae(sa_graph *g, sa_node a, sa_node b) { (void)sa_loss_mae(g, sa_act(g, a, SA_ACT_TANH), b); }
static void b_concat(sa_graph *g, sa_node a, sa_node b)
{
    sa_node xs[3] = {a, a, b};
    (void)sa_mean_time(g, sa_concat(g, 3, xs));
}
static void b_gru_h0(sa_graph *g, sa_node a, sa_node b)
{
    sa_rnn_desc d = sa_rnn_desc_default();
    d.hidden = 4;
    d.initial_state = b;
    (void)sa_gru(g, a, &d);
}
/* a [B,1,1] per-sample value against the [1,1,1] output of a loss */
static void b_loss_target(sa_graph *g, sa_node a, sa_node b)
{
    sa_node l = sa_loss_mse(g, a, b);
    sa_node p = sa_dense(g, sa_mean_time(g, a), 8);
    sa_node q = sa_dense(g, l, 8); /* last in the arena: reading B rows of it overruns */
    (void)sa_loss_mse(g, p, q);
}
static void b_loss_concat(sa_graph *g, sa_node a, sa_node b)
{
    sa_node xs[2];
    xs[0] = sa_last_step(g, a);
    xs[1] = sa_loss_mae(g, a, b);
    (void)sa_concat(g, 2, xs);
}
static void b_loss_h0(sa_graph *g, sa_node a, sa_node b)
{
    sa_rnn_desc d = sa_rnn_desc_default();
    d.hidden = 3;
    d.initial_state = sa_dense(g, sa_loss_mse(g, a, b), 3);
    (void)sa_gru(g, a, &d);
}

static void run_case(build_fn build, int32_t F, int32_t Ba, int32_t Ta, int32_t Bb, int32_t Tb, sa_status want)
{
    sa_node a, b;
    sa_model *m = two_inputs(build, F, &a, &b);
    float *d = ec_data((size_t)(Ba > Bb ? Ba : Bb) * (Ta > Tb ? Ta : Tb) * F);
    REQUIRE_OK(sa_set_input(m, a, d, Ba, Ta, NULL));
    REQUIRE_OK(sa_set_input(m, b, d, Bb, Tb, NULL));
    if (want == SA_OK) {
        EXPECT_OK(sa_forward(m, SA_TRAIN));
    } else {
        EXPECT(want, "sa_forward", m, sa_forward(m, SA_INFER)); /* first: the smaller arena */
        EXPECT(want, "sa_forward", m, sa_forward(m, SA_TRAIN));
        EXPECT(SA_ERR_STATE, "sa_node_shape", m, sa_node_shape(m, 0, (int32_t[3]){0}));
    }
    free(d);
    sa_model_destroy(m);
}

static void forward_shapes(void)
{
    /* T disagreement at run time */
    run_case(b_mse, 2, 3, 4, 3, 5, SA_ERR_SHAPE);
    run_case(b_mae, 2, 3, 5, 3, 4, SA_ERR_SHAPE);
    run_case(b_concat, 2, 2, 7, 2, 6, SA_ERR_SHAPE);
    run_case(b_mse, 2, 3, 4, 3, 4, SA_OK);
    run_case(b_concat, 2, 2, 7, 2, 7, SA_OK);
    /* initial state must be one step: [B, 1, L*D*H] */
    run_case(b_gru_h0, 4, 2, 5, 2, 2, SA_ERR_SHAPE);
    run_case(b_gru_h0, 4, 2, 5, 2, 1, SA_OK);
    /* B disagreement between inputs */
    run_case(b_gru_h0, 4, 2, 5, 3, 1, SA_ERR_SHAPE);
    /* B disagreement inside the graph: a loss is [1,1,1] */
    run_case(b_loss_target, 1, 1000, 1, 1000, 1, SA_ERR_SHAPE);
    run_case(b_loss_target, 1, 1, 1, 1, 1, SA_OK);
    run_case(b_loss_concat, 1, 64, 3, 64, 3, SA_ERR_SHAPE);
    run_case(b_loss_concat, 1, 1, 3, 1, 3, SA_OK);
    run_case(b_loss_h0, 3, 50, 4, 50, 4, SA_ERR_SHAPE);
    run_case(b_loss_h0, 3, 1, 4, 1, 4, SA_OK);
}

/* ------------------------------------------------------------- getters */

static void getters_order(void)
{
    ec_fix f;
    ec_fix_init(&f);
    int32_t sh[4] = {0}, len[4];
    float buf[64];
    /* before any forward */
    EXPECT(SA_ERR_STATE, "sa_node_shape", f.m, sa_node_shape(f.m, f.pred, sh));
    EXPECT(SA_ERR_STATE, "sa_get_output", f.m, sa_get_output(f.m, f.pred, buf, 64, sh));
    EXPECT(SA_ERR_STATE, "sa_get_output", f.m, sa_get_output(f.m, f.pred, NULL, 0, sh));
    EXPECT(SA_ERR_STATE, "sa_get_grad", f.m, sa_get_grad(f.m, f.pred, buf, 64, sh));
    EXPECT(SA_ERR_STATE, "sa_get_lengths", f.m, sa_get_lengths(f.m, f.x, len, 4));
    EXPECT(SA_ERR_STATE, "sa_get_attention", f.m, sa_get_attention(f.m, f.att, SA_HEADS_ALL, buf, 64, sh));
    /* after a forward, then new inputs */
    ec_fix_set(&f, 2, 3, NULL);
    REQUIRE_OK(sa_forward(f.m, SA_INFER));
    EXPECT_OK(sa_get_output(f.m, f.pred, buf, 64, sh));
    ec_fix_set(&f, 2, 3, NULL);
    EXPECT(SA_ERR_STATE, "sa_node_shape", f.m, sa_node_shape(f.m, f.pred, sh));
    EXPECT(SA_ERR_STATE, "sa_get_output", f.m, sa_get_output(f.m, f.pred, buf, 64, sh));
    EXPECT(SA_ERR_STATE, "sa_get_lengths", f.m, sa_get_lengths(f.m, f.x, len, 4));
    EXPECT(SA_ERR_STATE, "sa_get_attention", f.m, sa_get_attention(f.m, f.att, SA_HEADS_MEAN, buf, 64, sh));
    /* gradients: none after an SA_INFER forward, none after SA_TRAIN before backward */
    REQUIRE_OK(sa_forward(f.m, SA_INFER));
    EXPECT(SA_ERR_STATE, "sa_get_grad", f.m, sa_get_grad(f.m, f.x, buf, 64, sh));
    REQUIRE_OK(sa_forward(f.m, SA_TRAIN));
    EXPECT(SA_ERR_STATE, "sa_get_grad", f.m, sa_get_grad(f.m, f.x, buf, 64, sh));
    REQUIRE_OK(sa_backward(f.m, f.loss));
    EXPECT_OK(sa_get_grad(f.m, f.x, buf, 64, sh));
    REQUIRE_OK(sa_forward(f.m, SA_TRAIN)); /* a new forward drops the old gradients */
    EXPECT(SA_ERR_STATE, "sa_get_grad", f.m, sa_get_grad(f.m, f.x, buf, 64, sh));
    REQUIRE_OK(sa_backward(f.m, f.loss));
    REQUIRE_OK(sa_forward(f.m, SA_INFER));
    EXPECT(SA_ERR_STATE, "sa_get_grad", f.m, sa_get_grad(f.m, f.x, buf, 64, sh));
    ec_fix_free(&f);
}

static void getters_args(void)
{
    ec_fix f;
    ec_fix_init(&f);
    const int32_t B = 2, T = 3;
    int32_t lens[2] = {3, 2};
    ec_fix_set(&f, B, T, lens);
    REQUIRE_OK(sa_forward(f.m, SA_TRAIN));
    REQUIRE_OK(sa_backward(f.m, f.loss));
    float buf[64];
    int32_t sh[4], len[8];

    /* NULL model, bad ids */
    EXPECT(SA_ERR_INVALID_ARG, "sa_node_shape", NULL, sa_node_shape(NULL, 0, sh));
    EXPECT(SA_ERR_INVALID_ARG, "sa_get_output", NULL, sa_get_output(NULL, 0, buf, 64, sh));
    EXPECT(SA_ERR_INVALID_ARG, "sa_get_grad", NULL, sa_get_grad(NULL, 0, buf, 64, sh));
    EXPECT(SA_ERR_INVALID_ARG, "sa_get_lengths", NULL, sa_get_lengths(NULL, 0, len, 8));
    EXPECT(SA_ERR_INVALID_ARG, "sa_get_attention", NULL, sa_get_attention(NULL, 3, SA_HEADS_ALL, buf, 64, sh));
    for (size_t i = 0; i < N_BAD; i++) {
        sa_node n = bad_ids[i];
        EXPECT(SA_ERR_BAD_NODE, "sa_node_shape", f.m, sa_node_shape(f.m, n, sh));
        EXPECT(SA_ERR_BAD_NODE, "sa_get_output", f.m, sa_get_output(f.m, n, buf, 64, sh));
        EXPECT(SA_ERR_BAD_NODE, "sa_get_grad", f.m, sa_get_grad(f.m, n, buf, 64, sh));
        EXPECT(SA_ERR_BAD_NODE, "sa_get_lengths", f.m, sa_get_lengths(f.m, n, len, 8));
        EXPECT(SA_ERR_BAD_NODE, "sa_get_attention", f.m, sa_get_attention(f.m, n, SA_HEADS_ALL, buf, 64, sh));
    }
    EXPECT(SA_ERR_INVALID_ARG, "sa_node_shape", f.m, sa_node_shape(f.m, f.pred, NULL));

    /* x is [2, 3, 3] = 18 floats: too small buffers leave dst untouched */
    const size_t small[] = {0, 1, 17};
    for (size_t i = 0; i < sizeof small / sizeof *small; i++) {
        for (int k = 0; k < 64; k++)
            buf[k] = 12345.0f;
        EXPECT(SA_ERR_SHAPE, "sa_get_output", f.m, sa_get_output(f.m, f.x, buf, small[i], NULL));
        EXPECT(SA_ERR_SHAPE, "sa_get_grad", f.m, sa_get_grad(f.m, f.x, buf, small[i], NULL));
        CHECK(buf[0] == 12345.0f && buf[16] == 12345.0f);
    }
    EXPECT(SA_ERR_INVALID_ARG, "sa_get_output", f.m, sa_get_output(f.m, f.x, NULL, 18, sh));
    EXPECT(SA_ERR_INVALID_ARG, "sa_get_grad", f.m, sa_get_grad(f.m, f.x, NULL, 18, sh));
    /* shape-only queries */
    memset(sh, 0, sizeof sh);
    EXPECT_OK(sa_get_output(f.m, f.x, NULL, 0, sh));
    CHECK(sh[0] == B && sh[1] == T && sh[2] == 3);
    memset(sh, 0, sizeof sh);
    EXPECT_OK(sa_get_grad(f.m, f.pred, NULL, 0, sh));
    CHECK(sh[0] == B && sh[1] == 1 && sh[2] == 2);
    EXPECT_OK(sa_get_output(f.m, f.loss, NULL, 0, NULL));
    EXPECT_OK(sa_get_output(f.m, f.x, buf, 18, NULL));
    EXPECT_OK(sa_get_grad(f.m, f.x, buf, 18, NULL));

    /* lengths */
    EXPECT(SA_ERR_INVALID_ARG, "sa_get_lengths", f.m, sa_get_lengths(f.m, f.x, NULL, 8));
    EXPECT(SA_ERR_INVALID_ARG, "sa_get_lengths", f.m, sa_get_lengths(f.m, f.x, NULL, 0));
    len[0] = -7;
    EXPECT(SA_ERR_SHAPE, "sa_get_lengths", f.m, sa_get_lengths(f.m, f.x, len, 1));
    EXPECT(SA_ERR_SHAPE, "sa_get_lengths", f.m, sa_get_lengths(f.m, f.x, len, 0));
    CHECK(len[0] == -7);
    EXPECT_OK(sa_get_lengths(f.m, f.gru, len, 2));
    CHECK(len[0] == 3 && len[1] == 2);

    /* attention: only attention nodes keep weights */
    const sa_node no_att[] = {f.x, f.y, f.gru, f.pred, f.target, f.loss, f.state};
    for (size_t i = 0; i < sizeof no_att / sizeof *no_att; i++) {
        EXPECT(SA_ERR_BAD_NODE, "sa_get_attention", f.m, sa_get_attention(f.m, no_att[i], SA_HEADS_ALL, buf, 64, sh));
        EXPECT(SA_ERR_BAD_NODE, "sa_get_attention", f.m, sa_get_attention(f.m, no_att[i], SA_HEADS_MEAN, NULL, 0, sh));
    }
    EXPECT(SA_ERR_INVALID_ARG, "sa_get_attention", f.m, sa_get_attention(f.m, f.att, (sa_heads)2, buf, 64, sh));
    EXPECT(SA_ERR_INVALID_ARG, "sa_get_attention", f.m, sa_get_attention(f.m, f.att, (sa_heads)-1, buf, 64, sh));
    /* [2, 1, 1, 3] = 6 floats */
    for (int k = 0; k < 64; k++)
        buf[k] = 12345.0f;
    EXPECT(SA_ERR_SHAPE, "sa_get_attention", f.m, sa_get_attention(f.m, f.att, SA_HEADS_ALL, buf, 5, NULL));
    EXPECT(SA_ERR_SHAPE, "sa_get_attention", f.m, sa_get_attention(f.m, f.att, SA_HEADS_MEAN, buf, 1, NULL));
    EXPECT(SA_ERR_SHAPE, "sa_get_attention", f.m, sa_get_attention(f.m, f.att, SA_HEADS_ALL, buf, 0, NULL));
    CHECK(buf[0] == 12345.0f);
    EXPECT(SA_ERR_INVALID_ARG, "sa_get_attention", f.m, sa_get_attention(f.m, f.att, SA_HEADS_ALL, NULL, 6, sh));
    for (int mode = SA_HEADS_ALL; mode <= SA_HEADS_MEAN; mode++) {
        memset(sh, 0, sizeof sh);
        EXPECT_OK(sa_get_attention(f.m, f.att, (sa_heads)mode, NULL, 0, sh));
        CHECK(sh[0] == B && sh[1] == 1 && sh[2] == 1 && sh[3] == T);
        EXPECT_OK(sa_get_attention(f.m, f.att, (sa_heads)mode, buf, 6, NULL));
        CHECK(buf[5] == 0.0f && fabsf(buf[3] + buf[4] - 1.0f) < 1e-5f); /* padded step of sample 1 */
    }
    ec_fix_free(&f);
}

void err_run(void)
{
    set_input();
    forward_state_and_mode();
    forward_shapes();
    getters_order();
    getters_args();
}
