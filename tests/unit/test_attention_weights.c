/* test_attention_weights.c — what sa_get_attention() returns for attention pooling.
 *
 * For every score kind, with and without per-sample lengths, after inference and
 * training forwards, and across changes of B/T/lengths (the activation memory is
 * reused, so stale weights would show): the weights of each sample sum to 1 over
 * its valid steps, are exactly 0 on padded steps, and the pooled output equals
 * Σ_t α_t h_t recomputed here from the attention's own input (sa_get_output). */
#include <string.h>

#include "testutil.h"

#define SUM_TOL 1e-6  /* softmax of <= 6 floats: the sum is off by a few ulp at most */
#define CTX_TOL 1e-5  /* float accumulation of <= 6 products of magnitude < 1 */

typedef struct config {
    int32_t B, T;
    int32_t len[4]; /* len[0] == 0: no lengths */
} config;

static const config CONFIGS[] = {
    {3, 5, {5, 3, 1}},
    {3, 5, {0}},
    {2, 6, {2, 6}},  /* new B and T: memory is re-planned */
    {4, 3, {1, 3, 2, 1}},
};

/* Checks one forward of model m whose attention node is att over input node h. */
static void check_weights(sa_model *m, sa_node h, sa_node att, const config *cf)
{
    int32_t B = cf->B, T = cf->T;
    int32_t shape[4] = {-7, -7, -7, -7};
    /* shape query: no buffer */
    CHECK_OK(sa_get_attention(m, att, SA_HEADS_ALL, NULL, 0, shape));
    CHECK(shape[0] == B && shape[1] == 1 && shape[2] == 1 && shape[3] == T);
    size_t need = (size_t)shape[0] * shape[1] * shape[2] * shape[3];

    /* one extra sentinel float catches a copy past cap */
    float *all = malloc((need + 1) * sizeof(float));
    float *mean = malloc((need + 1) * sizeof(float));
    REQUIRE(all && mean);
    all[need] = mean[need] = -123.0f;
    CHECK_STATUS(sa_get_attention(m, att, SA_HEADS_ALL, all, need - 1, NULL), SA_ERR_SHAPE);
    CHECK_OK(sa_get_attention(m, att, SA_HEADS_ALL, all, need, shape));
    CHECK(all[need] == -123.0f);

    int32_t mshape[4] = {-7, -7, -7, -7};
    CHECK_OK(sa_get_attention(m, att, SA_HEADS_MEAN, NULL, 0, mshape));
    CHECK(mshape[0] == B && mshape[1] == 1 && mshape[2] == 1 && mshape[3] == T);
    CHECK_OK(sa_get_attention(m, att, SA_HEADS_MEAN, mean, need, NULL));
    CHECK(mean[need] == -123.0f);
    /* a single head: its mean is itself */
    CHECK(memcmp(all, mean, need * sizeof(float)) == 0);

    /* the input of the attention and its pooled output */
    int32_t hs[3];
    CHECK_OK(sa_get_output(m, h, NULL, 0, hs));
    REQUIRE(hs[0] == B && hs[1] == T);
    int32_t F = hs[2];
    float *hv = malloc((size_t)B * T * F * sizeof(float));
    float *ctx = malloc((size_t)B * F * sizeof(float));
    REQUIRE(hv && ctx);
    CHECK_OK(sa_get_output(m, h, hv, (size_t)B * T * F, NULL));
    int32_t cs[3];
    CHECK_OK(sa_get_output(m, att, ctx, (size_t)B * F, cs));
    CHECK(cs[0] == B && cs[1] == 1 && cs[2] == F);

    for (int32_t b = 0; b < B; b++) {
        int32_t L = cf->len[0] ? cf->len[b] : T;
        const float *a = all + (size_t)b * T;
        double sum = 0.0;
        for (int32_t t = 0; t < L; t++) {
            CHECK(a[t] > 0.0f && a[t] <= 1.0f);
            sum += a[t];
        }
        CHECK_NEAR(sum, 1.0, SUM_TOL);
        for (int32_t t = L; t < T; t++)
            CHECK(a[t] == 0.0f);
        for (int32_t f = 0; f < F; f++) {
            double want = 0.0;
            for (int32_t t = 0; t < L; t++)
                want += (double)a[t] * hv[((size_t)b * T + t) * F + f];
            CHECK_NEAR(ctx[(size_t)b * F + f], want, CTX_TOL);
        }
    }
    free(all);
    free(mean);
    free(hv);
    free(ctx);
}

static void fill_input(sa_model *m, sa_node x, int32_t F, const config *cf, tu_rng *rng)
{
    size_t n = (size_t)cf->B * cf->T * F;
    float *data = malloc(n * sizeof(float));
    REQUIRE(data != NULL);
    /* a wide range gives peaked weights, so the sums are not trivially uniform */
    tu_fill(rng, data, n, -2.0f, 2.0f);
    CHECK_OK(sa_set_input(m, x, data, cf->B, cf->T, cf->len[0] ? cf->len : NULL));
    free(data);
}

/* attention over a GRU's sequence (padded outputs 0) or straight over the input */
static void run_score(sa_score score, int over_gru)
{
    sa_graph *g = sa_graph_new();
    REQUIRE(g != NULL);
    const int32_t F = 3;
    sa_node x = sa_input(g, "x", F);
    sa_node h = x;
    if (over_gru) {
        sa_rnn_desc d = sa_rnn_desc_default();
        d.hidden = 4;
        d.bidirectional = 1;
        h = sa_gru(g, x, &d);
    }
    sa_node att = sa_attention_pool(g, h, score);
    sa_node other = sa_dense(g, att, 2);
    sa_model *m = tu_model(g, 11 + (uint64_t)score);

    /* a node without attention is refused */
    tu_rng rng = {77 + (uint64_t)score * 2 + (uint64_t)over_gru};
    fill_input(m, x, F, &CONFIGS[0], &rng);
    REQUIRE_OK(sa_forward(m, SA_INFER));
    int32_t shape[4];
    CHECK_STATUS(sa_get_attention(m, other, SA_HEADS_ALL, NULL, 0, shape), SA_ERR_BAD_NODE);

    for (size_t i = 0; i < sizeof CONFIGS / sizeof *CONFIGS; i++)
        for (int train = 0; train <= 1; train++) {
            fill_input(m, x, F, &CONFIGS[i], &rng);
            REQUIRE_OK(sa_forward(m, train ? SA_TRAIN : SA_INFER));
            check_weights(m, h, att, &CONFIGS[i]);
        }
    sa_model_destroy(m);
}

int main(void)
{
    const sa_score scores[3] = {SA_SCORE_ADDITIVE, SA_SCORE_TANH, SA_SCORE_LINEAR};
    for (int i = 0; i < 3; i++)
        for (int over_gru = 0; over_gru <= 1; over_gru++)
            run_score(scores[i], over_gru);
    return tu_report();
}
