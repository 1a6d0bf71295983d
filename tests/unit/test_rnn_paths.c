/* test_rnn_paths.c — the recurrent driver takes different routes for the
 * same arithmetic: a single sample with a long sequence uses W_hh transposed
 * and sa_vec_mat, a batch uses GEMMs, inference keeps nothing for backward,
 * and sequences without lengths write recurrent gradients in place. Each
 * sample run alone must give what it gives inside a batch (forward, and input
 * and parameter gradients of a sum-of-outputs loss), for GRU and LSTM,
 * 2 layers, bidirectional, on both sides of the single-sample threshold. */
#include <string.h>

#include "testutil.h"

enum { I = 3, H = 19, L = 2, BMAX = 3 };

static sa_model *build(int lstm, sa_node *x, sa_node *y)
{
    sa_graph *g = sa_graph_new();
    *x = sa_input(g, "x", I);
    sa_rnn_desc d = sa_rnn_desc_default();
    d.hidden = H;
    d.num_layers = L;
    d.bidirectional = 1;
    d.peephole = lstm;
    *y = lstm ? sa_lstm(g, *x, &d) : sa_gru(g, *x, &d);
    return tu_model(g, 5);
}

static void compare(int lstm, int T, int with_len)
{
    sa_node x, y;
    sa_model *batch = build(lstm, &x, &y), *one = build(lstm, &x, &y); /* same seed: same weights */
    size_t n = (size_t)BMAX * T * I, per = (size_t)T * 2 * H;
    float *xd = malloc(n * sizeof(float)), *yb = malloc(BMAX * per * sizeof(float)), *y1 = malloc(per * sizeof(float));
    float *gx = malloc(n * sizeof(float)), *ones = malloc(BMAX * per * sizeof(float));
    tu_rng r = {(uint64_t)T * 31 + (uint64_t)lstm};
    tu_fill(&r, xd, n, -1, 1);
    for (size_t i = 0; i < BMAX * per; i++)
        ones[i] = 1.0f;
    int32_t len[BMAX] = {T, T - 3, T / 2};
    const int32_t *lp = with_len ? len : NULL;
    int32_t shape[3];

    /* the batch: inference, then training with backward from all-ones */
    CHECK_OK(sa_set_input(batch, x, xd, BMAX, T, lp));
    CHECK_OK(sa_forward(batch, SA_INFER));
    CHECK_OK(sa_get_output(batch, y, yb, BMAX * per, shape));
    CHECK_OK(sa_forward(batch, SA_TRAIN));
    const float *g1[1] = {ones};
    CHECK_OK(sa_backward_from(batch, 1, &y, g1));
    CHECK_OK(sa_get_grad(batch, x, gx, n, shape));

    double worst = 0, worst_g = 0, worst_p = 0;
    CHECK_OK(sa_zero_grad(one)); /* parameter gradients accumulate over the samples */
    for (int b = 0; b < BMAX; b++) {
        /* the same sample alone, its own length as T */
        int32_t Tb = with_len ? len[b] : T;
        CHECK_OK(sa_set_input(one, x, xd + (size_t)b * T * I, 1, Tb, NULL));
        CHECK_OK(sa_forward(one, SA_INFER));
        CHECK_OK(sa_get_output(one, y, y1, per, shape));
        for (int32_t i = 0; i < Tb * 2 * H; i++) {
            double e = fabs(y1[i] - yb[b * per + i]);
            worst = e > worst ? e : worst;
        }
        CHECK_OK(sa_forward(one, SA_TRAIN));
        CHECK_OK(sa_backward_from(one, 1, &y, g1));
        float gx1[64 * I];
        CHECK_OK(sa_get_grad(one, x, gx1, sizeof gx1 / sizeof gx1[0], shape));
        for (int32_t i = 0; i < Tb * I; i++) {
            double e = fabs(gx1[i] - gx[(size_t)b * T * I + i]);
            worst_g = e > worst_g ? e : worst_g;
        }
    }
    float *pv, *pb, *p1;
    size_t nb, n1;
    CHECK_OK(sa_params_flat(batch, &pv, &pb, &nb));
    CHECK_OK(sa_params_flat(one, &pv, &p1, &n1));
    CHECK(nb == n1);
    for (size_t i = 0; i < nb && i < n1; i++) {
        double e = fabs(p1[i] - pb[i]) / (1.0 + fabs(pb[i]));
        worst_p = e > worst_p ? e : worst_p;
    }
    fprintf(stderr, "%s T %d lengths %d: alone vs in the batch: outputs %.2g, input gradients %.2g, "
            "parameter gradients (relative) %.2g\n", lstm ? "lstm" : "gru", T, with_len, worst, worst_g, worst_p);
    CHECK(worst < 1e-5);
    CHECK(worst_g < 1e-4);
    CHECK(worst_p < 1e-4);
    free(xd);
    free(yb);
    free(y1);
    free(gx);
    free(ones);
    sa_model_destroy(batch);
    sa_model_destroy(one);
}

int main(void)
{
    for (int lstm = 0; lstm < 2; lstm++)
        for (int with_len = 0; with_len < 2; with_len++) {
            compare(lstm, 12, with_len); /* below the single-sample threshold */
            compare(lstm, 45, with_len); /* above it (for the full-length sample) */
        }
    return tu_report();
}
