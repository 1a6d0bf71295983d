/* test_training.c — optimizers, clipping, gradient accumulation, seeding, the flat
 * parameter view, and that a small GRU + attention model actually learns.
 *
 * Optimizer updates are compared with hand-written references of the
 * torch.optim.SGD / torch.optim.Adam update rules, fed with the very gradients
 * the library computed (copied before each step). */
#include <string.h>

#include "testutil.h"

/* ------------------------------------------------------------ the model */

/* x [B, T, 3] -> GRU(H) -> attention pool -> dense(1) = pred; MSE against y [B, 1, 1] */
typedef struct net {
    sa_model *m;
    sa_node x, y, pred, loss;
} net;

#define NB 4
#define NT 5
#define NF 3
static const int32_t NLEN[NB] = {5, 4, 3, 2};

static net make_net(uint64_t seed, int32_t F, int32_t hidden)
{
    sa_graph *g = sa_graph_new();
    REQUIRE(g != NULL);
    net n;
    n.x = sa_input(g, "x", F);
    n.y = sa_input(g, "y", 1);
    sa_rnn_desc d = sa_rnn_desc_default();
    d.hidden = hidden;
    sa_node h = sa_gru(g, n.x, &d);
    n.pred = sa_dense(g, sa_attention_pool(g, h, SA_SCORE_ADDITIVE), 1);
    n.loss = sa_loss_mse(g, n.pred, n.y);
    n.m = tu_model(g, seed);
    return n;
}

/* fixed inputs for the optimizer tests */
static void set_data(const net *n)
{
    float x[NB * NT * NF], y[NB];
    tu_rng rng = {2024};
    tu_fill(&rng, x, NB * NT * NF, -1.0f, 1.0f);
    tu_fill(&rng, y, NB, -1.0f, 1.0f);
    REQUIRE_OK(sa_set_input(n->m, n->x, x, NB, NT, NLEN));
    REQUIRE_OK(sa_set_input(n->m, n->y, y, NB, 1, NULL));
}

/* zero_grad + forward + backward: fresh gradients at the current parameters */
static void fresh_grads(const net *n)
{
    REQUIRE_OK(sa_zero_grad(n->m));
    REQUIRE_OK(sa_forward(n->m, SA_TRAIN));
    REQUIRE_OK(sa_backward(n->m, n->loss));
}

static void flat(const net *n, float **v, float **g, size_t *count)
{
    REQUIRE_OK(sa_params_flat(n->m, v, g, count));
    REQUIRE(*count > 0);
}

static float *copy_of(const float *src, size_t n)
{
    float *p = malloc(n * sizeof(float));
    REQUIRE(p != NULL);
    memcpy(p, src, n * sizeof(float));
    return p;
}

/* |a - ref| <= abs + rel·|ref| for every element; prints the worst one */
static void check_close(const char *what, const float *a, const double *ref, size_t n, double abs, double rel)
{
    double worst = 0.0;
    size_t wi = 0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - ref[i]);
        if (d > worst) {
            worst = d;
            wi = i;
        }
        bad += !(d <= abs + rel * fabs(ref[i]));
    }
    printf("  %-40s n=%zu max|diff|=%.2e (lib %.8g, ref %.8g @%zu)\n", what, n, worst, (double)a[wi], ref[wi], wi);
    if (bad)
        fprintf(stderr, "%s: %d of %zu elements outside tolerance\n", what, bad, n);
    CHECK(bad == 0);
}

/* --------------------------------------------- (a) SGD, plain and momentum */

static void test_sgd_plain(void)
{
    net n = make_net(1, NF, 4);
    set_data(&n);
    fresh_grads(&n);
    float *v, *g;
    size_t cnt;
    flat(&n, &v, &g, &cnt);
    float *p0 = copy_of(v, cnt), *g0 = copy_of(g, cnt);

    sa_optim_desc d = sa_optim_desc_default();
    d.kind = SA_OPTIM_SGD;
    d.lr = 0.1f;
    sa_optim *o = NULL;
    REQUIRE_OK(sa_optim_create(n.m, &d, &o));
    CHECK_OK(sa_optim_step(o));

    /* p1 = p0 − lr·g exactly: the same float operations, rounded once each
     * (or once in total, should the compiler fuse them into an FMA) */
    int wrong = 0, moved = 0;
    for (size_t i = 0; i < cnt; i++) {
        volatile float step = d.lr * g0[i];
        float sep = p0[i] - step, fused = fmaf(-d.lr, g0[i], p0[i]);
        wrong += v[i] != sep && v[i] != fused;
        moved += v[i] != p0[i];
    }
    if (wrong)
        fprintf(stderr, "SGD: %d of %zu parameters did not move by exactly -lr*grad\n", wrong, cnt);
    CHECK(wrong == 0);
    CHECK(moved > (int)cnt / 2); /* non-vacuous: most gradients are non-zero */
    CHECK(memcmp(g, g0, cnt * sizeof(float)) == 0); /* a step does not touch the gradients */
    printf("  SGD plain: %zu parameters, %d moved, %d off\n", cnt, moved, wrong);

    sa_optim_destroy(o);
    free(p0);
    free(g0);
    sa_model_destroy(n.m);
}

/* torch.optim.SGD(momentum=μ, weight_decay=λ, dampening=0, nesterov=False):
 *   d = g + λp;  buf = d (first step) else μ·buf + d;  p -= lr·buf */
static void test_sgd_momentum(void)
{
    const double lr = 0.05, mu = 0.9, wd = 0.05;
    net n = make_net(2, NF, 4);
    set_data(&n);
    float *v, *g;
    size_t cnt;
    flat(&n, &v, &g, &cnt);
    double *p = malloc(cnt * sizeof(double)), *buf = malloc(cnt * sizeof(double));
    REQUIRE(p && buf);
    for (size_t i = 0; i < cnt; i++)
        p[i] = v[i];
    float *p0 = copy_of(v, cnt);

    sa_optim_desc d = sa_optim_desc_default();
    d.kind = SA_OPTIM_SGD;
    d.lr = (float)lr;
    d.momentum = (float)mu;
    d.weight_decay = (float)wd;
    sa_optim *o = NULL;
    REQUIRE_OK(sa_optim_create(n.m, &d, &o));
    for (int step = 0; step < 3; step++) {
        fresh_grads(&n);
        for (size_t i = 0; i < cnt; i++) {
            double di = g[i] + (double)d.weight_decay * p[i];
            buf[i] = step == 0 ? di : (double)d.momentum * buf[i] + di;
            p[i] -= (double)d.lr * buf[i];
        }
        CHECK_OK(sa_optim_step(o));
        char what[64];
        snprintf(what, sizeof what, "SGD momentum+wd, step %d", step + 1);
        check_close(what, v, p, cnt, 1e-6, 1e-5);
    }
    /* the updates must be large next to the tolerance for the check to mean anything */
    double moved = 0.0;
    for (size_t i = 0; i < cnt; i++)
        moved = fmax(moved, fabs(v[i] - p0[i]));
    CHECK(moved > 1e-2);

    sa_optim_destroy(o);
    free(p);
    free(buf);
    free(p0);
    sa_model_destroy(n.m);
}

/* ----------------------------------------------------------- (b) Adam */

/* torch.optim.Adam(lr, betas, eps, weight_decay) (L2, not AdamW):
 *   d = g + λp;  m = β1 m + (1−β1) d;  v = β2 v + (1−β2) d²
 *   p -= lr / (1−β1^t) · m / (√v / √(1−β2^t) + eps) */
static void test_adam(void)
{
    net n = make_net(3, NF, 4);
    set_data(&n);
    float *v, *g;
    size_t cnt;
    flat(&n, &v, &g, &cnt);
    double *p = malloc(cnt * sizeof(double)), *m1 = calloc(cnt, sizeof(double)),
           *m2 = calloc(cnt, sizeof(double));
    REQUIRE(p && m1 && m2);
    for (size_t i = 0; i < cnt; i++)
        p[i] = v[i];

    sa_optim_desc d = sa_optim_desc_default();
    d.kind = SA_OPTIM_ADAM;
    d.lr = 0.01f;
    d.beta1 = 0.9f;
    d.beta2 = 0.999f;
    d.eps = 1e-8f;
    d.weight_decay = 0.01f;
    const double b1 = d.beta1, b2 = d.beta2;
    sa_optim *o = NULL;
    REQUIRE_OK(sa_optim_create(n.m, &d, &o));
    for (int t = 1; t <= 3; t++) {
        fresh_grads(&n);
        double bc1 = 1.0 - pow(b1, t), bc2 = 1.0 - pow(b2, t);
        for (size_t i = 0; i < cnt; i++) {
            double di = g[i] + (double)d.weight_decay * p[i];
            m1[i] = b1 * m1[i] + (1.0 - b1) * di;
            m2[i] = b2 * m2[i] + (1.0 - b2) * di * di;
            p[i] -= (double)d.lr / bc1 * m1[i] / (sqrt(m2[i]) / sqrt(bc2) + (double)d.eps);
        }
        CHECK_OK(sa_optim_step(o));
        char what[64];
        snprintf(what, sizeof what, "Adam, step %d", t);
        /* each step moves a parameter by ~lr = 1e-2: 1e-6 is far below any formula slip */
        check_close(what, v, p, cnt, 1e-6, 1e-5);
    }
    sa_optim_destroy(o);
    free(p);
    free(m1);
    free(m2);
    sa_model_destroy(n.m);
}

/* ------------------------------------------------------- (c) clipping */

/* L2 norm of all gradients, gathered tensor by tensor (not through the flat view) */
static double hand_norm(const sa_model *m)
{
    double s = 0.0;
    for (int32_t i = 0; i < sa_param_count(m); i++) {
        sa_param_info info;
        REQUIRE_OK(sa_param_get(m, i, &info));
        for (size_t j = 0; j < info.numel; j++)
            s += (double)info.grad[j] * info.grad[j];
    }
    return sqrt(s);
}

static void test_clip(void)
{
    net n = make_net(4, NF, 4);
    set_data(&n);
    fresh_grads(&n);
    float *v, *g;
    size_t cnt;
    flat(&n, &v, &g, &cnt);
    float *g0 = copy_of(g, cnt);
    double norm = hand_norm(n.m);
    REQUIRE(norm > 0.0);

    /* max_norm 0 and max_norm above the norm: report only, leave gradients alone */
    float got = -1.0f;
    CHECK_OK(sa_clip_grad_norm(n.m, 0.0f, &got));
    CHECK_NEAR(got, norm, 1e-6 * norm);
    CHECK(memcmp(g, g0, cnt * sizeof(float)) == 0);
    CHECK_OK(sa_clip_grad_norm(n.m, (float)(2.0 * norm), &got));
    CHECK_NEAR(got, norm, 1e-6 * norm);
    CHECK(memcmp(g, g0, cnt * sizeof(float)) == 0);

    /* max_norm below: scaled to max_norm, direction kept */
    float max_norm = (float)(norm / 4.0);
    got = -1.0f;
    CHECK_OK(sa_clip_grad_norm(n.m, max_norm, &got));
    CHECK_NEAR(got, norm, 1e-6 * norm);
    double after = hand_norm(n.m);
    printf("  clip: norm %.6g -> %.6g (max_norm %.6g)\n", norm, after, (double)max_norm);
    CHECK_NEAR(after, max_norm, 1e-4 * max_norm);
    double ratio = (double)max_norm / norm;
    int off = 0;
    for (size_t i = 0; i < cnt; i++)
        off += !(fabs(g[i] - g0[i] * ratio) <= 1e-4 * fabs(g0[i] * ratio) + 1e-12);
    CHECK(off == 0);

    /* the optimizer's clip_norm clips before the update: SGD with lr 1 then
     * moves the parameters by exactly the clipped gradient */
    fresh_grads(&n);
    memcpy(g0, g, cnt * sizeof(float));
    norm = hand_norm(n.m);
    float *p0 = copy_of(v, cnt);
    sa_optim_desc d = sa_optim_desc_default();
    d.kind = SA_OPTIM_SGD;
    d.lr = 1.0f;
    d.clip_norm = (float)(norm / 3.0);
    sa_optim *o = NULL;
    REQUIRE_OK(sa_optim_create(n.m, &d, &o));
    CHECK_OK(sa_optim_step(o));
    double *want = malloc(cnt * sizeof(double));
    REQUIRE(want != NULL);
    for (size_t i = 0; i < cnt; i++)
        want[i] = p0[i] - g0[i] * ((double)d.clip_norm / norm);
    check_close("SGD step with clip_norm", v, want, cnt, 1e-6, 1e-5);
    CHECK_NEAR(hand_norm(n.m), d.clip_norm, 1e-4 * d.clip_norm);

    sa_optim_destroy(o);
    free(want);
    free(p0);
    free(g0);
    sa_model_destroy(n.m);
}

/* ------------------------------------------------- (d) accumulation */

static void test_accumulate(void)
{
    net n = make_net(5, NF, 4);
    set_data(&n);
    fresh_grads(&n);
    float *v, *g;
    size_t cnt;
    flat(&n, &v, &g, &cnt);
    float *g1 = copy_of(g, cnt);
    float dx1[NB * NT * NF], dx2[NB * NT * NF];
    CHECK_OK(sa_get_grad(n.m, n.x, dx1, NB * NT * NF, NULL));

    /* a second backward on the same forward adds the same gradient again */
    CHECK_OK(sa_backward(n.m, n.loss));
    double *want = malloc(cnt * sizeof(double));
    REQUIRE(want != NULL);
    for (size_t i = 0; i < cnt; i++)
        want[i] = 2.0 * g1[i];
    check_close("grads after 2 backward calls = 2 g", g, want, cnt, 1e-7, 1e-5);
    /* node (input) gradients are those of the last call only */
    CHECK_OK(sa_get_grad(n.m, n.x, dx2, NB * NT * NF, NULL));
    CHECK(memcmp(dx1, dx2, sizeof dx1) == 0);

    /* and across a new forward too */
    REQUIRE_OK(sa_forward(n.m, SA_TRAIN));
    CHECK_OK(sa_backward(n.m, n.loss));
    for (size_t i = 0; i < cnt; i++)
        want[i] = 3.0 * g1[i];
    check_close("grads after 3 backward calls = 3 g", g, want, cnt, 1e-7, 1e-5);

    CHECK_OK(sa_zero_grad(n.m));
    int nonzero = 0;
    for (size_t i = 0; i < cnt; i++)
        nonzero += g[i] != 0.0f;
    CHECK(nonzero == 0);
    for (int32_t i = 0; i < sa_param_count(n.m); i++) { /* seen through sa_param_get too */
        sa_param_info info;
        CHECK_OK(sa_param_get(n.m, i, &info));
        for (size_t j = 0; j < info.numel; j++)
            nonzero += info.grad[j] != 0.0f;
    }
    CHECK(nonzero == 0);

    /* after zeroing, one backward gives g again */
    REQUIRE_OK(sa_forward(n.m, SA_TRAIN));
    CHECK_OK(sa_backward(n.m, n.loss));
    for (size_t i = 0; i < cnt; i++)
        want[i] = g1[i];
    check_close("grads after zero_grad + backward = g", g, want, cnt, 1e-7, 1e-5);
    free(want);
    free(g1);
    sa_model_destroy(n.m);
}

/* ------------------------------------------------------------ (e) seeds */

static void test_seeds(void)
{
    net a = make_net(7, NF, 4), b = make_net(7, NF, 4), c = make_net(8, NF, 4);
    REQUIRE(sa_param_count(a.m) == sa_param_count(c.m));
    for (int32_t i = 0; i < sa_param_count(a.m); i++) {
        sa_param_info pa, pb, pc;
        REQUIRE_OK(sa_param_get(a.m, i, &pa));
        REQUIRE_OK(sa_param_get(b.m, i, &pb));
        REQUIRE_OK(sa_param_get(c.m, i, &pc));
        REQUIRE(pa.numel == pb.numel && pa.numel == pc.numel);
        /* same seed: bit-identical; different seed: every tensor differs */
        CHECK(memcmp(pa.value, pb.value, pa.numel * sizeof(float)) == 0);
        size_t same = 0;
        for (size_t j = 0; j < pa.numel; j++)
            same += pa.value[j] == pc.value[j];
        if (same == pa.numel)
            fprintf(stderr, "seed 7 and 8 give the same %s\n", pa.name);
        CHECK(same < pa.numel);
    }
    sa_model_destroy(a.m);
    sa_model_destroy(b.m);
    sa_model_destroy(c.m);
}

/* ------------------------------------------------------ (g) flat view */

static void test_flat_layout(void)
{
    net n = make_net(9, NF, 4);
    float *v, *g;
    size_t cnt;
    flat(&n, &v, &g, &cnt);
    size_t off = 0;
    int32_t np = sa_param_count(n.m);
    CHECK(np == 4 + 3 + 2); /* GRU 4 tensors, additive attention 3, dense 2 */
    for (int32_t i = 0; i < np; i++) {
        sa_param_info info;
        REQUIRE_OK(sa_param_get(n.m, i, &info));
        /* tensor i starts where tensor i−1 ended, in values and grads alike */
        CHECK(info.value == v + off);
        CHECK(info.grad == g + off);
        size_t numel = 1;
        for (int32_t k = 0; k < info.ndim; k++)
            numel *= (size_t)info.shape[k];
        CHECK(numel == info.numel);
        sa_param_info byname;
        CHECK_OK(sa_param_find(n.m, info.name, &byname));
        CHECK(byname.value == info.value);
        off += info.numel;
    }
    CHECK(off == cnt); /* no gap and nothing after the last tensor */
    /* writes through the flat view are what the layers see */
    sa_param_info last;
    REQUIRE_OK(sa_param_get(n.m, np - 1, &last));
    v[cnt - 1] = 0.25f;
    CHECK(last.value[last.numel - 1] == 0.25f);
    sa_model_destroy(n.m);
}

/* --------------------------------------------------------- (f) learning */

/* Full-batch Adam on a fixed set of 32 sequences of 2..6 steps in U(-1, 1);
 * the target is the mean of each sequence's valid steps. A correct forward and
 * backward drive the MSE down by far more than 10x in 200 steps; a wrong
 * gradient anywhere in GRU → attention → dense stalls well above that. */
static void test_learns_mean(void)
{
    enum { B = 32, T = 6, STEPS = 200 };
    net n = make_net(10, 1, 8);
    float x[B * T], y[B];
    int32_t len[B];
    tu_rng rng = {99};
    tu_fill(&rng, x, B * T, -1.0f, 1.0f);
    for (int32_t b = 0; b < B; b++) {
        len[b] = 2 + (int32_t)(tu_next(&rng) % (T - 1));
        double s = 0.0;
        for (int32_t t = 0; t < len[b]; t++)
            s += x[b * T + t];
        y[b] = (float)(s / len[b]);
    }
    REQUIRE_OK(sa_set_input(n.m, n.x, x, B, T, len));
    REQUIRE_OK(sa_set_input(n.m, n.y, y, B, 1, NULL));

    sa_optim_desc d = sa_optim_desc_default();
    d.kind = SA_OPTIM_ADAM;
    d.lr = 0.01f;
    sa_optim *o = NULL;
    REQUIRE_OK(sa_optim_create(n.m, &d, &o));
    float first = -1.0f, last = -1.0f;
    for (int step = 0; step <= STEPS; step++) {
        REQUIRE_OK(sa_zero_grad(n.m));
        REQUIRE_OK(sa_forward(n.m, SA_TRAIN));
        REQUIRE_OK(sa_get_output(n.m, n.loss, &last, 1, NULL));
        if (step == 0)
            first = last;
        if (step == STEPS)
            break; /* `last` is the loss after STEPS updates */
        REQUIRE_OK(sa_backward(n.m, n.loss));
        REQUIRE_OK(sa_optim_step(o));
    }
    printf("  learn mean: MSE %.6g -> %.6g after %d Adam steps (%.1fx)\n", first, last, STEPS,
           (double)(first / last));
    CHECK(isfinite(last));
    CHECK(last * 10.0f <= first);
    sa_optim_destroy(o);
    sa_model_destroy(n.m);
}

int main(void)
{
    test_sgd_plain();
    test_sgd_momentum();
    test_adam();
    test_clip();
    test_accumulate();
    test_seeds();
    test_flat_layout();
    test_learns_mean();
    return tu_report();
}
