/* test_errors_sizes.c — sizes at the limits: B*T*F that overflow, parameter
 * tables beyond the library's cap, and activation memory that cannot exist.
 * The answer must be SA_ERR_OVERFLOW or SA_ERR_NO_MEMORY, never a crash, and
 * the model must stay usable. The inputs given for impossible sizes are small
 * on purpose: the library must refuse before reading them. */
#include <stdlib.h>
#include <string.h>

#include "err_check.h"

#define MAXD (1 << 24) /* largest B, T or F accepted */

static void input_overflow(void)
{
    sa_graph *g = sa_graph_new();
    REQUIRE(g != NULL);
    sa_node wide = sa_input(g, "wide", MAXD);
    sa_node mid = sa_input(g, "mid", 1 << 15);
    sa_node one = sa_input(g, "one", 1);
    REQUIRE(sa_graph_status(g) == SA_OK);
    sa_model *m = ec_model(g);
    float *d = ec_data(16);
    /* B*T beyond int32 rows (which also covers every B*T*F beyond size_t) */
    const struct { sa_node n; int32_t B, T; } big[] = {
        {wide, MAXD, MAXD}, {mid, MAXD, MAXD}, {one, MAXD, MAXD}, {mid, 1 << 16, 1 << 16},
        {one, 1 << 16, 1 << 16}, {one, 1 << 16, 1 << 15}, {one, MAXD, 1 << 7}, {one, 1 << 7, MAXD},
    };
    for (size_t i = 0; i < sizeof big / sizeof *big; i++)
        EXPECT(SA_ERR_OVERFLOW, "sa_set_input", m, sa_set_input(m, big[i].n, d, big[i].B, big[i].T, NULL));
    /* the inputs still take sensible sizes */
    EXPECT_OK(sa_set_input(m, one, d, 4, 4, NULL));
    EXPECT_OK(sa_set_input(m, one, d, 16, 1, NULL));
    free(d);
    sa_model_destroy(m);
    sa_graph_free(g);
}

static void param_overflow(void)
{
    /* dense 2^24 x 2^24 = 2^48 weights; GRU H = 2^20: weight_hh is 3 * 2^40 */
    for (int c = 0; c < 3; c++) {
        sa_graph *g = sa_graph_new();
        REQUIRE(g != NULL);
        if (c == 0) {
            (void)sa_dense(g, sa_input(g, "x", MAXD), MAXD);
        } else {
            sa_rnn_desc d = sa_rnn_desc_default();
            d.hidden = 1 << 20;
            d.bidirectional = c == 2;
            (void)sa_gru(g, sa_input(g, "x", 1), &d);
        }
        REQUIRE(sa_graph_status(g) == SA_OK);
        sa_model *m = NULL;
        EXPECT(SA_ERR_OVERFLOW, "sa_model_create", NULL, sa_model_create(g, NULL, &m));
        CHECK(m == NULL);
        sa_graph_free(g);
    }
}

/* x [B,T,1] -> dense(2^22) -> 3 x tanh: 4 values of B*T*2^22 floats each.
 * With B = T = 2^11 that is 2^48 bytes (more with gradients): beyond any
 * address space, so the allocation fails whatever the overcommit policy. */
static void activation_memory(void)
{
    sa_graph *g = sa_graph_new();
    REQUIRE(g != NULL);
    sa_node x = sa_input(g, "x", 1);
    sa_node h = sa_dense(g, x, 1 << 22);
    for (int i = 0; i < 3; i++)
        h = sa_act(g, h, SA_ACT_TANH);
    sa_node y = sa_mean_time(g, h);
    REQUIRE(sa_graph_status(g) == SA_OK);
    sa_model *m = ec_model(g);
    sa_graph_free(g);

    const int32_t B = 1 << 11, T = 1 << 11;
    float *d = ec_data((size_t)B * T);
    REQUIRE_OK(sa_set_input(m, x, d, B, T, NULL));
    for (int mode = SA_INFER; mode <= SA_TRAIN; mode++) {
        EXPECT(SA_ERR_NO_MEMORY, "sa_forward", m, sa_forward(m, (sa_mode)mode));
        EXPECT(SA_ERR_STATE, "sa_get_output", m, sa_get_output(m, y, NULL, 0, NULL));
        EXPECT(SA_ERR_STATE, "sa_backward", m, sa_backward(m, y));
    }
    /* allocation failures leave the model usable */
    REQUIRE_OK(sa_set_input(m, x, d, 1, 1, NULL));
    EXPECT_OK(sa_forward(m, SA_TRAIN));
    int32_t sh[3] = {0};
    EXPECT_OK(sa_get_output(m, y, NULL, 0, sh));
    CHECK(sh[0] == 1 && sh[1] == 1 && sh[2] == (1 << 22));
    float *grad = calloc((size_t)1 << 22, sizeof *grad);
    REQUIRE(grad != NULL);
    const float *gs[1] = {grad};
    EXPECT_OK(sa_backward_from(m, 1, &y, gs));
    free(grad);
    free(d);
    sa_model_destroy(m);
}

void err_run(void)
{
    input_overflow();
    param_overflow();
    activation_memory();
}
