/* test_blas_threads.c — which OpenBLAS thread count seqattn asks for, and
 * that the caller's count comes back.
 *
 * The executable defines openblas_set_num_threads / openblas_get_num_threads
 * itself: they log every request and forward to OpenBLAS's (RTLD_NEXT). The
 * library reaches these functions through weak references, which the
 * executable's definitions interpose. So the test sees exactly what the
 * library requested during each call:
 *   - small products (a GRU of 8 units) run on one thread whatever the
 *     caller's count, and the caller's count is restored at the end of
 *     sa_forward, sa_backward and sa_step;
 *   - large products (a dense layer of 2^24 multiply-adds) run on the model's
 *     count from sa_model_set_threads, and give the same result as on one.
 * Skipped (77) when the library does not run on OpenBLAS. */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <dlfcn.h>
#include <string.h>

#include "testutil.h"

static void (*real_set)(int);
static int (*real_get)(void);
static int requests[4096];
static int n_requests;

void openblas_set_num_threads(int n)
{
    if (n_requests < (int)(sizeof requests / sizeof *requests))
        requests[n_requests++] = n;
    real_set(n);
}

int openblas_get_num_threads(void) { return real_get(); }

/* Checks the requests logged since the last call: none or only `inner`
 * before a final restore of `caller`, and at least one `inner` if `used`. */
static void check_requests(const char *what, int inner, int caller, int used)
{
    int ok = 1;
    for (int i = 0; i + 1 < n_requests; i++)
        ok &= requests[i] == inner;
    if (n_requests > 0)
        ok &= requests[n_requests - 1] == caller || (requests[n_requests - 1] == inner && inner == caller);
    if (used)
        ok &= n_requests > 0 && requests[0] == inner;
    if (!ok) {
        fprintf(stderr, "%s: requests (inner %d, caller %d):", what, inner, caller);
        for (int i = 0; i < n_requests; i++)
            fprintf(stderr, " %d", requests[i]);
        fprintf(stderr, "\n");
    }
    CHECK(ok);
    CHECK(real_get() == caller);
    n_requests = 0;
}

static void fill(float *x, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        x[i] = (float)((seed >> 40) & 0xffff) / 32768.0f - 1.0f;
    }
}

/* GRU(8) → dense(1) and an MSE loss: every product is small. */
static void small_products_run_on_one_thread(void)
{
    sa_graph *g = sa_graph_new();
    sa_node x = sa_input(g, "x", 3), y = sa_input(g, "y", 1);
    sa_rnn_desc d = sa_rnn_desc_default();
    d.hidden = 8;
    sa_node pred = sa_dense(g, sa_gru(g, x, &d), 1);
    sa_node loss = sa_loss_mse(g, pred, y);
    REQUIRE(sa_graph_status(g) == SA_OK);
    sa_model *m = NULL;
    REQUIRE_OK(sa_model_create(g, NULL, &m));
    float xs[4 * 6 * 3], ys[4 * 6];
    fill(xs, sizeof xs / sizeof *xs, 1);
    fill(ys, sizeof ys / sizeof *ys, 2);
    REQUIRE_OK(sa_set_input(m, x, xs, 4, 6, NULL));
    REQUIRE_OK(sa_set_input(m, y, ys, 4, 6, NULL));

    real_set(2);
    n_requests = 0;
    CHECK_OK(sa_forward(m, SA_TRAIN));
    check_requests("forward, caller 2", 1, 2, 1);
    CHECK_OK(sa_backward(m, loss));
    check_requests("backward, caller 2", 1, 2, 1);
    CHECK_OK(sa_model_set_threads(m, 2)); /* the model's count is for large products only */
    CHECK_OK(sa_forward(m, SA_INFER));
    check_requests("forward, model 2, caller 2", 1, 2, 1);

    real_set(1);
    n_requests = 0;
    CHECK_OK(sa_forward(m, SA_INFER)); /* already 1: nothing to request */
    check_requests("forward, caller 1", 1, 1, 0);

    /* a call that fails before running anything leaves the count alone */
    real_set(2);
    n_requests = 0;
    CHECK_STATUS(sa_backward(m, loss), SA_ERR_STATE); /* the last forward was SA_INFER */
    check_requests("failed backward", 1, 2, 0);
    sa_model_destroy(m);
    sa_graph_free(g);

    /* step execution (no loss: it needs whole sequences): one sample, one step */
    g = sa_graph_new();
    x = sa_input(g, "x", 3);
    (void)sa_dense(g, sa_gru(g, x, &d), 1);
    REQUIRE(sa_graph_status(g) == SA_OK);
    REQUIRE_OK(sa_model_create(g, NULL, &m));
    CHECK_OK(sa_step_begin(m, 1, &x));
    for (int t = 0; t < 3; t++) {
        REQUIRE_OK(sa_set_input(m, x, xs + 3 * t, 1, 1, NULL));
        n_requests = 0;
        CHECK_OK(sa_step(m));
        check_requests("sa_step, caller 2", 1, 2, 1);
    }
    sa_model_destroy(m);
    sa_graph_free(g);
}

/* dense 128 → 128 over B·T = 1024 rows: 2^24 multiply-adds, one product. */
static void large_products_use_the_model_count(void)
{
    enum { B = 16, T = 64, F = 128 };
    sa_graph *g = sa_graph_new();
    sa_node x = sa_input(g, "x", F);
    sa_node out = sa_dense(g, x, F);
    REQUIRE(sa_graph_status(g) == SA_OK);
    sa_model *m = NULL;
    REQUIRE_OK(sa_model_create(g, NULL, &m));
    static float xs[B * T * F], one[B * T * F], two[B * T * F];
    fill(xs, sizeof xs / sizeof *xs, 3);
    REQUIRE_OK(sa_set_input(m, x, xs, B, T, NULL));

    real_set(1);
    n_requests = 0;
    CHECK_OK(sa_forward(m, SA_INFER)); /* the caller's count, 1: nothing to request */
    check_requests("large forward, caller 1", 1, 1, 0);
    CHECK_OK(sa_get_output(m, out, one, sizeof one / sizeof *one, NULL));

    CHECK_OK(sa_model_set_threads(m, 2));
    CHECK_OK(sa_forward(m, SA_INFER));
    check_requests("large forward, model 2, caller 1", 2, 1, 1);
    CHECK_OK(sa_get_output(m, out, two, sizeof two / sizeof *two, NULL));
    double worst = 0;
    for (size_t i = 0; i < sizeof one / sizeof *one; i++)
        worst = fmax(worst, fabs((double)one[i] - two[i]));
    CHECK_NEAR(worst, 0.0, 1e-5);

    /* back to the caller's count: 0 */
    real_set(2);
    CHECK_OK(sa_model_set_threads(m, 0));
    n_requests = 0;
    CHECK_OK(sa_forward(m, SA_INFER));
    check_requests("large forward, model 0, caller 2", 2, 2, 0);

    sa_model_destroy(m);
    sa_graph_free(g);
}

int main(void)
{
    real_set = (void (*)(int))dlsym(RTLD_NEXT, "openblas_set_num_threads");
    real_get = (int (*)(void))dlsym(RTLD_NEXT, "openblas_get_num_threads");
    if (!real_set || !real_get) {
        printf("skipped: the library does not run on OpenBLAS\n");
        return 77;
    }
    int start = real_get();
    small_products_run_on_one_thread();
    large_products_use_the_model_count();
    real_set(start);
    return tu_report();
}
