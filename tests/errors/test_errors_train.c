/* test_errors_train.c — backward passes, optimizers and gradient clipping:
 * call order, bad ids, non-scalar losses, non-finite gradients (which must
 * leave parameters and optimizer state unchanged), bad optimizer settings. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err_check.h"

static const sa_node bad_ids[] = {SA_NODE_INVALID, SA_NODE_NONE, INT32_MIN, 8, 100, INT32_MAX};
#define N_BAD (sizeof bad_ids / sizeof *bad_ids)

/* a copy of the flat parameters, or gradients, of m */
static float *snapshot(sa_model *m, int grads, size_t *n)
{
    float *v, *g;
    REQUIRE_OK(sa_params_flat(m, &v, &g, n));
    float *c = malloc(*n * sizeof *c);
    REQUIRE(c != NULL);
    memcpy(c, grads ? g : v, *n * sizeof *c);
    return c;
}

static int same_as(sa_model *m, int grads, const float *snap)
{
    float *v, *g;
    size_t n;
    REQUIRE_OK(sa_params_flat(m, &v, &g, &n));
    return memcmp(grads ? g : v, snap, n * sizeof *snap) == 0;
}

static void backward_order(void)
{
    ec_fix f;
    ec_fix_init(&f);
    EXPECT(SA_ERR_INVALID_ARG, "sa_backward", NULL, sa_backward(NULL, f.loss));
    EXPECT(SA_ERR_STATE, "sa_backward", f.m, sa_backward(f.m, f.loss)); /* before any forward */
    ec_fix_set(&f, 3, 4, NULL);
    EXPECT(SA_ERR_STATE, "sa_backward", f.m, sa_backward(f.m, f.loss)); /* inputs set, no forward */
    REQUIRE_OK(sa_forward(f.m, SA_INFER));
    EXPECT(SA_ERR_STATE, "sa_backward", f.m, sa_backward(f.m, f.loss)); /* after SA_INFER */
    REQUIRE_OK(sa_forward(f.m, SA_TRAIN));
    ec_fix_set(&f, 3, 4, NULL);
    EXPECT(SA_ERR_STATE, "sa_backward", f.m, sa_backward(f.m, f.loss)); /* inputs changed */
    REQUIRE_OK(sa_forward(f.m, SA_TRAIN));
    EXPECT_OK(sa_backward(f.m, f.loss));
    EXPECT_OK(sa_backward(f.m, f.loss)); /* twice after one forward is fine */
    /* a failed forward leaves no forward to go back through */
    float *d = ec_data(5 * 4 * 3);
    REQUIRE_OK(sa_set_input(f.m, f.y, d, 5, 4, NULL)); /* B disagrees with x */
    REQUIRE(sa_forward(f.m, SA_TRAIN) == SA_ERR_SHAPE);
    EXPECT(SA_ERR_STATE, "sa_backward", f.m, sa_backward(f.m, f.loss));
    free(d);
    ec_fix_free(&f);
}

static void backward_nodes(void)
{
    ec_fix f;
    ec_fix_init(&f);
    ec_fix_set(&f, 3, 4, NULL);
    REQUIRE_OK(sa_forward(f.m, SA_TRAIN));
    for (size_t i = 0; i < N_BAD; i++)
        EXPECT(SA_ERR_BAD_NODE, "sa_backward", f.m, sa_backward(f.m, bad_ids[i]));
    /* not a scalar: [3,4,3], [3,4,4], [3,1,2], [3,1,4] */
    const sa_node big[] = {f.x, f.gru, f.pred, f.state, f.att};
    for (size_t i = 0; i < sizeof big / sizeof *big; i++)
        EXPECT(SA_ERR_SHAPE, "sa_backward", f.m, sa_backward(f.m, big[i]));
    float buf[64];
    EXPECT(SA_ERR_STATE, "sa_get_grad", f.m, sa_get_grad(f.m, f.x, buf, 64, NULL));
    EXPECT_OK(sa_backward(f.m, f.loss));
    ec_fix_free(&f);
}

static void backward_from(void)
{
    ec_fix f;
    ec_fix_init(&f);
    float *ones = malloc(64 * sizeof *ones);
    REQUIRE(ones != NULL);
    for (int i = 0; i < 64; i++)
        ones[i] = 1.0f;
    const float *g1[1] = {ones};
    sa_node n1[1] = {f.pred};

    EXPECT(SA_ERR_INVALID_ARG, "sa_backward_from", NULL, sa_backward_from(NULL, 1, n1, g1));
    EXPECT(SA_ERR_STATE, "sa_backward_from", f.m, sa_backward_from(f.m, 1, n1, g1)); /* no forward */
    ec_fix_set(&f, 2, 3, NULL);
    REQUIRE_OK(sa_forward(f.m, SA_INFER));
    EXPECT(SA_ERR_STATE, "sa_backward_from", f.m, sa_backward_from(f.m, 1, n1, g1));
    REQUIRE_OK(sa_forward(f.m, SA_TRAIN));
    ec_fix_set(&f, 2, 3, NULL);
    EXPECT(SA_ERR_STATE, "sa_backward_from", f.m, sa_backward_from(f.m, 1, n1, g1));
    REQUIRE_OK(sa_forward(f.m, SA_TRAIN));

    const int32_t bad_n[] = {0, -1, INT32_MIN};
    for (size_t i = 0; i < sizeof bad_n / sizeof *bad_n; i++)
        EXPECT(SA_ERR_INVALID_ARG, "sa_backward_from", f.m, sa_backward_from(f.m, bad_n[i], n1, g1));
    EXPECT(SA_ERR_INVALID_ARG, "sa_backward_from", f.m, sa_backward_from(f.m, 1, NULL, g1));
    EXPECT(SA_ERR_INVALID_ARG, "sa_backward_from", f.m, sa_backward_from(f.m, 1, n1, NULL));
    sa_node n2[2] = {f.pred, f.state};
    const float *g2[2] = {ones, NULL};
    EXPECT(SA_ERR_INVALID_ARG, "sa_backward_from", f.m, sa_backward_from(f.m, 2, n2, g2));
    for (size_t i = 0; i < N_BAD; i++) {
        n2[1] = bad_ids[i];
        g2[1] = ones;
        EXPECT(SA_ERR_BAD_NODE, "sa_backward_from", f.m, sa_backward_from(f.m, 2, n2, g2));
    }

    /* non-finite supplied gradients: SA_ERR_NUMERIC, nothing changed */
    REQUIRE_OK(sa_backward(f.m, f.loss)); /* non-zero parameter gradients to compare */
    size_t n;
    float *before = snapshot(f.m, 1, &n);
    const float bad_v[] = {NAN, INFINITY, -INFINITY};
    n2[1] = f.state; /* [2,1,4] = 8 values */
    for (size_t i = 0; i < sizeof bad_v / sizeof *bad_v; i++)
        for (int where = 0; where < 8; where += 7) {
            float *gs = malloc(8 * sizeof *gs);
            REQUIRE(gs != NULL);
            for (int k = 0; k < 8; k++)
                gs[k] = 0.5f;
            gs[where] = bad_v[i];
            g2[1] = gs;
            EXPECT(SA_ERR_NUMERIC, "sa_backward_from", f.m, sa_backward_from(f.m, 2, n2, g2));
            CHECK(same_as(f.m, 1, before));
            /* a rejected call changes nothing: the last backward's node gradients stay readable */
            EXPECT_OK(sa_get_grad(f.m, f.x, NULL, 0, NULL));
            free(gs);
        }
    g2[1] = ones;
    EXPECT_OK(sa_backward_from(f.m, 2, n2, g2));
    EXPECT_OK(sa_get_grad(f.m, f.x, NULL, 0, NULL));
    free(before);
    free(ones);
    ec_fix_free(&f);
}

/* ----------------------------------------------------------- optimizers */

static void optim_create(void)
{
    ec_fix f;
    ec_fix_init(&f);
    sa_optim_desc d = sa_optim_desc_default();
    sa_optim *keep = NULL, *o;
    REQUIRE_OK(sa_optim_create(f.m, &d, &keep));
    o = keep;
    EXPECT(SA_ERR_INVALID_ARG, "sa_optim_create", NULL, sa_optim_create(NULL, &d, &o));
    CHECK(o == NULL);
    o = keep;
    EXPECT(SA_ERR_INVALID_ARG, "sa_optim_create", f.m, sa_optim_create(f.m, NULL, &o));
    CHECK(o == NULL);
    EXPECT(SA_ERR_INVALID_ARG, "sa_optim_create", f.m, sa_optim_create(f.m, &d, NULL));

    /* one bad field at a time, on SGD and on Adam */
    enum { F_SIZE, F_KIND, F_LR, F_MOM, F_B1, F_B2, F_EPS, F_WD, F_CLIP };
    const struct { int field; float v; } bad[] = {
        {F_SIZE, 0},          {F_SIZE, 8},          {F_SIZE, (float)offsetof(sa_optim_desc, clip_norm)},
        {F_KIND, 2},          {F_KIND, -1},         {F_LR, 0.0f},
        {F_LR, -0.0f},        {F_LR, -1e-3f},       {F_LR, NAN},
        {F_LR, INFINITY},     {F_LR, -INFINITY},    {F_MOM, 1.0f},
        {F_MOM, 1.5f},        {F_MOM, -0.1f},       {F_MOM, NAN},
        {F_MOM, INFINITY},    {F_B1, 1.0f},         {F_B1, -0.5f},
        {F_B1, NAN},          {F_B2, 1.0f},         {F_B2, 2.0f},
        {F_B2, NAN},          {F_EPS, 0.0f},        {F_EPS, -1e-8f},
        {F_EPS, NAN},         {F_WD, -1e-4f},       {F_WD, NAN},
        {F_WD, INFINITY},     {F_WD, -INFINITY},    {F_CLIP, -1.0f},
        {F_CLIP, NAN},        {F_CLIP, INFINITY},
    };
    for (int kind = SA_OPTIM_SGD; kind <= SA_OPTIM_ADAM; kind++)
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            sa_optim_desc b = sa_optim_desc_default();
            b.kind = (sa_optim_kind)kind;
            switch (bad[i].field) {
            case F_SIZE: b.struct_size = (size_t)bad[i].v; break;
            case F_KIND: b.kind = (sa_optim_kind)(int)bad[i].v; break;
            case F_LR: b.lr = bad[i].v; break;
            case F_MOM: b.momentum = bad[i].v; break;
            case F_B1: b.beta1 = bad[i].v; break;
            case F_B2: b.beta2 = bad[i].v; break;
            case F_EPS: b.eps = bad[i].v; break;
            case F_WD: b.weight_decay = bad[i].v; break;
            case F_CLIP: b.clip_norm = bad[i].v; break;
            }
            o = keep;
            EXPECT(SA_ERR_INVALID_ARG, "sa_optim_create", f.m, sa_optim_create(f.m, &b, &o));
            CHECK(o == NULL);
        }
    /* accepted edges: momentum 0 and just below 1, zero weight decay and clip */
    d.kind = SA_OPTIM_SGD;
    d.momentum = 0.999f;
    o = NULL;
    EXPECT_OK(sa_optim_create(f.m, &d, &o));
    sa_optim_destroy(o);
    sa_optim_destroy(keep);
    ec_fix_free(&f);
}

static void optim_lr(void)
{
    ec_fix f;
    ec_fix_init(&f);
    sa_optim_desc d = sa_optim_desc_default();
    d.kind = SA_OPTIM_SGD;
    d.lr = 0.5f;
    sa_optim *o = NULL;
    REQUIRE_OK(sa_optim_create(f.m, &d, &o));
    EXPECT(SA_ERR_INVALID_ARG, "sa_optim_set_lr", NULL, sa_optim_set_lr(NULL, 0.1f));
    const float bad[] = {0.0f, -0.0f, -1.0f, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        EXPECT(SA_ERR_INVALID_ARG, "sa_optim_set_lr", f.m, sa_optim_set_lr(o, bad[i]));
    /* the rate is still 0.5: one SGD step with all gradients 1 moves every value by -0.5 */
    float *v, *g;
    size_t n;
    REQUIRE_OK(sa_params_flat(f.m, &v, &g, &n));
    for (size_t i = 0; i < n; i++)
        g[i] = 1.0f;
    float *before = snapshot(f.m, 0, &n);
    EXPECT_OK(sa_optim_step(o));
    int moved = 1;
    for (size_t i = 0; i < n; i++)
        moved &= fabsf(v[i] - (before[i] - 0.5f)) < 1e-6f;
    CHECK(moved);
    free(before);
    sa_optim_destroy(o);
    ec_fix_free(&f);
}

/* Non-finite gradients: sa_optim_step fails, changes no parameter and no
 * optimizer state: the next good step equals a fresh optimizer's first step. */
static void optim_step_nonfinite(sa_optim_kind kind, float momentum, float clip)
{
    ec_fix f, ref;
    ec_fix_init(&f);
    ec_fix_init(&ref); /* same graph and seed: same weights */
    sa_optim_desc d = sa_optim_desc_default();
    d.kind = kind;
    d.momentum = momentum;
    d.clip_norm = clip;
    d.weight_decay = 0.01f;
    sa_optim *o = NULL, *ro = NULL;
    REQUIRE_OK(sa_optim_create(f.m, &d, &o));
    REQUIRE_OK(sa_optim_create(ref.m, &d, &ro));
    EXPECT(SA_ERR_INVALID_ARG, "sa_optim_step", NULL, sa_optim_step(NULL));

    float *v, *g, *rv, *rg;
    size_t n, rn;
    REQUIRE_OK(sa_params_flat(f.m, &v, &g, &n));
    REQUIRE_OK(sa_params_flat(ref.m, &rv, &rg, &rn));
    REQUIRE(n == rn && n > 10);
    const float bad[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        for (size_t where = 0; where < n; where += n - 1) {
            for (size_t k = 0; k < n; k++)
                g[k] = 0.25f;
            g[where] = bad[i];
            float *before = snapshot(f.m, 0, &n);
            EXPECT(SA_ERR_NUMERIC, "sa_optim_step", f.m, sa_optim_step(o));
            CHECK(same_as(f.m, 0, before));
            free(before);
        }
    /* good gradients now: both optimizers take their first step */
    for (size_t k = 0; k < n; k++)
        g[k] = rg[k] = 0.25f;
    EXPECT_OK(sa_optim_step(o));
    EXPECT_OK(sa_optim_step(ro));
    CHECK(memcmp(v, rv, n * sizeof *v) == 0);
    for (size_t k = 0; k < n; k++)
        g[k] = rg[k] = -0.125f;
    EXPECT_OK(sa_optim_step(o));
    EXPECT_OK(sa_optim_step(ro));
    CHECK(memcmp(v, rv, n * sizeof *v) == 0);
    sa_optim_destroy(o);
    sa_optim_destroy(ro);
    ec_fix_free(&f);
    ec_fix_free(&ref);
}

static void clip(void)
{
    ec_fix f;
    ec_fix_init(&f);
    float norm = -1.0f;
    EXPECT(SA_ERR_INVALID_ARG, "sa_clip_grad_norm", NULL, sa_clip_grad_norm(NULL, 1.0f, &norm));
    const float bad[] = {-1.0f, -1e-30f, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        EXPECT(SA_ERR_INVALID_ARG, "sa_clip_grad_norm", f.m, sa_clip_grad_norm(f.m, bad[i], &norm));
    float *v, *g;
    size_t n;
    REQUIRE_OK(sa_params_flat(f.m, &v, &g, &n));
    for (size_t k = 0; k < n; k++)
        g[k] = 1.0f;
    g[n / 2] = NAN;
    float *before = snapshot(f.m, 1, &n);
    EXPECT(SA_ERR_NUMERIC, "sa_clip_grad_norm", f.m, sa_clip_grad_norm(f.m, 1.0f, &norm));
    EXPECT(SA_ERR_NUMERIC, "sa_clip_grad_norm", f.m, sa_clip_grad_norm(f.m, 0.0f, NULL));
    CHECK(!isfinite(norm));
    CHECK(same_as(f.m, 1, before)); /* bytes: NaN != NaN as a float */
    g[n / 2] = -INFINITY;
    EXPECT(SA_ERR_NUMERIC, "sa_clip_grad_norm", f.m, sa_clip_grad_norm(f.m, 1.0f, NULL));
    g[n / 2] = 1.0f;
    EXPECT_OK(sa_clip_grad_norm(f.m, 1.0f, &norm));
    CHECK(fabsf(norm - sqrtf((float)n)) < 1e-3f);
    EXPECT_OK(sa_clip_grad_norm(f.m, 0.0f, NULL));
    free(before);
    ec_fix_free(&f);
}

void err_run(void)
{
    backward_order();
    backward_nodes();
    backward_from();
    optim_create();
    optim_lr();
    optim_step_nonfinite(SA_OPTIM_SGD, 0.0f, 0.0f);
    optim_step_nonfinite(SA_OPTIM_SGD, 0.9f, 0.0f);
    optim_step_nonfinite(SA_OPTIM_ADAM, 0.0f, 0.0f);
    optim_step_nonfinite(SA_OPTIM_ADAM, 0.0f, 1.0f);
    clip();
}
