/* test_errors_model.c — creating models, finding inputs, parameter access. */
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "err_check.h"

static sa_graph *small_graph(void)
{
    sa_graph *g = sa_graph_new();
    REQUIRE(g != NULL);
    sa_node x = sa_input(g, "x", 3);
    sa_node d = sa_dense(g, x, 2);
    (void)sa_name(g, d, "head");
    REQUIRE(sa_graph_status(g) == SA_OK);
    return g;
}

static void create(void)
{
    sa_graph *g = small_graph();
    sa_model *keep = ec_model(g), *m = keep;

    EXPECT(SA_ERR_INVALID_ARG, "sa_model_create", NULL, sa_model_create(NULL, NULL, &m));
    CHECK(m == NULL); /* *out is reset on failure */
    EXPECT(SA_ERR_INVALID_ARG, "sa_model_create", NULL, sa_model_create(g, NULL, NULL));
    EXPECT(SA_ERR_INVALID_ARG, "sa_model_create", NULL, sa_model_create(NULL, NULL, NULL));

    /* struct_size too small */
    const size_t bad_size[] = {0, 1, sizeof(size_t), offsetof(sa_model_options, seed) + 7};
    for (size_t i = 0; i < sizeof bad_size / sizeof *bad_size; i++) {
        sa_model_options o = sa_model_options_default();
        o.struct_size = bad_size[i];
        m = keep;
        EXPECT(SA_ERR_INVALID_ARG, "sa_model_create", NULL, sa_model_create(g, &o, &m));
        CHECK(m == NULL);
    }
    /* a newer caller's larger options struct is accepted */
    struct { sa_model_options o; uint64_t extra; } big = {sa_model_options_default(), 7};
    big.o.struct_size = sizeof big;
    m = NULL;
    EXPECT_OK(sa_model_create(g, &big.o, &m));
    sa_model_destroy(m);

    /* an empty graph */
    sa_graph *empty = sa_graph_new();
    REQUIRE(empty != NULL);
    m = keep;
    EXPECT(SA_ERR_INVALID_ARG, "sa_model_create", NULL, sa_model_create(empty, NULL, &m));
    CHECK(m == NULL);
    sa_graph_free(empty);

    /* a failed graph gives its first error (more in test_errors_graph) */
    sa_graph *bad = small_graph();
    (void)sa_act(bad, 0, (sa_activation)7);
    (void)sa_dense(bad, 0, 0);
    m = keep;
    EXPECT(SA_ERR_INVALID_ARG, "sa_model_create", NULL, sa_model_create(bad, NULL, &m));
    CHECK(m == NULL);
    CHECK(strstr(sa_last_error(), sa_graph_errmsg(bad)) != NULL);
    CHECK(ec_starts_with_fn(sa_graph_errmsg(bad), "sa_act"));
    sa_graph_free(bad);

    /* the model outlives its graph */
    sa_graph_free(g);
    sa_node x = SA_NODE_INVALID;
    EXPECT_OK(sa_model_find_input(keep, "x", &x));
    CHECK(x == 0);
    sa_model_destroy(keep);
}

static void find_input(void)
{
    sa_graph *g = small_graph();
    sa_model *m = ec_model(g);
    sa_node n = 5;
    EXPECT(SA_ERR_INVALID_ARG, "sa_model_find_input", NULL, sa_model_find_input(NULL, "x", &n));
    EXPECT(SA_ERR_INVALID_ARG, "sa_model_find_input", m, sa_model_find_input(m, NULL, &n));
    EXPECT(SA_ERR_INVALID_ARG, "sa_model_find_input", m, sa_model_find_input(m, "x", NULL));
    /* unknown names, and names of nodes that are not inputs */
    const char *unknown[] = {"", "X", "x ", "xx", "head", "dense0", "head.weight", "input0"};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
        n = 5;
        EXPECT(SA_ERR_NOT_FOUND, "sa_model_find_input", m, sa_model_find_input(m, unknown[i], &n));
        CHECK(n == SA_NODE_INVALID);
    }
    sa_model_destroy(m);
    sa_graph_free(g);
}

static void find_node(void)
{
    sa_graph *g = small_graph();
    sa_model *m = ec_model(g);
    sa_node n = 5;
    EXPECT(SA_ERR_INVALID_ARG, "sa_model_find_node", NULL, sa_model_find_node(NULL, "x", &n));
    EXPECT(SA_ERR_INVALID_ARG, "sa_model_find_node", m, sa_model_find_node(m, NULL, &n));
    EXPECT(SA_ERR_INVALID_ARG, "sa_model_find_node", m, sa_model_find_node(m, "x", NULL));
    const char *unknown[] = {"", "X", "x ", "xx", "head.weight", "input0"};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
        n = 5;
        EXPECT(SA_ERR_NOT_FOUND, "sa_model_find_node", m, sa_model_find_node(m, unknown[i], &n));
        CHECK(n == SA_NODE_INVALID);
    }
    /* unlike sa_model_find_input, layers are found too */
    EXPECT_OK(sa_model_find_node(m, "x", &n));
    CHECK(n == 0);
    EXPECT_OK(sa_model_find_node(m, "head", &n));
    CHECK(n > 0 && n < sa_graph_node_count(g));
    sa_model_destroy(m);
    sa_graph_free(g);
}

static void params(void)
{
    sa_graph *g = small_graph();
    sa_model *m = ec_model(g);
    sa_param_info info;
    memset(&info, 0, sizeof info);
    CHECK(sa_param_count(m) == 2);

    /* sa_param_get */
    EXPECT(SA_ERR_INVALID_ARG, "sa_param_get", NULL, sa_param_get(NULL, 0, &info));
    EXPECT(SA_ERR_INVALID_ARG, "sa_param_get", m, sa_param_get(m, 0, NULL));
    const int32_t bad_i[] = {-1, 2, 3, INT32_MAX, INT32_MIN};
    for (size_t i = 0; i < sizeof bad_i / sizeof *bad_i; i++)
        EXPECT(SA_ERR_NOT_FOUND, "sa_param_get", m, sa_param_get(m, bad_i[i], &info));
    CHECK(info.name == NULL); /* untouched by the failures */
    EXPECT_OK(sa_param_get(m, 1, &info));
    CHECK(info.name && strcmp(info.name, "head.bias") == 0);

    /* sa_param_find */
    EXPECT(SA_ERR_INVALID_ARG, "sa_param_find", NULL, sa_param_find(NULL, "head.weight", &info));
    EXPECT(SA_ERR_INVALID_ARG, "sa_param_find", m, sa_param_find(m, NULL, &info));
    EXPECT(SA_ERR_INVALID_ARG, "sa_param_find", m, sa_param_find(m, "head.weight", NULL));
    const char *unknown[] = {"", "head", "head.", "head.weight ", "HEAD.weight", "dense0.weight", "x", "x.weight",
                             ".weight"};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
        EXPECT(SA_ERR_NOT_FOUND, "sa_param_find", m, sa_param_find(m, unknown[i], &info));
    EXPECT_OK(sa_param_find(m, "head.weight", &info));
    CHECK(info.numel == 6 && info.ndim == 2 && info.shape[0] == 2 && info.shape[1] == 3);

    /* sa_params_flat */
    float *v = NULL, *gr = NULL;
    size_t n = 0;
    EXPECT(SA_ERR_INVALID_ARG, "sa_params_flat", NULL, sa_params_flat(NULL, &v, &gr, &n));
    EXPECT(SA_ERR_INVALID_ARG, "sa_params_flat", m, sa_params_flat(m, NULL, &gr, &n));
    EXPECT(SA_ERR_INVALID_ARG, "sa_params_flat", m, sa_params_flat(m, &v, NULL, &n));
    EXPECT(SA_ERR_INVALID_ARG, "sa_params_flat", m, sa_params_flat(m, &v, &gr, NULL));
    EXPECT_OK(sa_params_flat(m, &v, &gr, &n));
    CHECK(v != NULL && gr != NULL && n == 8);

    /* sa_zero_grad */
    EXPECT(SA_ERR_INVALID_ARG, "sa_zero_grad", NULL, sa_zero_grad(NULL));
    EXPECT_OK(sa_zero_grad(m));
    sa_model_destroy(m);
    sa_graph_free(g);

    /* a model without parameters: count 0, every index out of range, flat n = 0 */
    g = sa_graph_new();
    REQUIRE(g != NULL);
    (void)sa_mean_time(g, sa_input(g, "x", 2));
    m = ec_model(g);
    CHECK(sa_param_count(m) == 0);
    EXPECT(SA_ERR_NOT_FOUND, "sa_param_get", m, sa_param_get(m, 0, &info));
    EXPECT(SA_ERR_NOT_FOUND, "sa_param_find", m, sa_param_find(m, "mean_time0.weight", &info));
    EXPECT_OK(sa_params_flat(m, &v, &gr, &n));
    CHECK(n == 0);
    EXPECT_OK(sa_zero_grad(m));
    sa_model_destroy(m);
    sa_graph_free(g);
}

static void handle_messages(void)
{
    /* two models: a failure on one is not recorded on the other */
    sa_graph *g = small_graph();
    sa_model *a = ec_model(g), *b = ec_model(g);
    sa_node n;
    EXPECT(SA_ERR_NOT_FOUND, "sa_model_find_input", a, sa_model_find_input(a, "nope", &n));
    CHECK(sa_model_errmsg(b)[0] == '\0');
    CHECK(strstr(sa_model_errmsg(a), "nope") != NULL);
    sa_model_destroy(a);
    sa_model_destroy(b);
    sa_graph_free(g);
}

static void memory(void)
{
    sa_graph *g = small_graph();
    sa_model *m = ec_model(g);
    sa_memory_info info = {SA_MEMORY_INFO_INIT};
    EXPECT(SA_ERR_INVALID_ARG, "sa_model_memory", NULL, sa_model_memory(NULL, &info));
    EXPECT(SA_ERR_INVALID_ARG, "sa_model_memory", NULL, sa_model_memory(m, NULL));
    EXPECT(SA_ERR_INVALID_ARG, "sa_model_memory", NULL, sa_model_memory(NULL, NULL));
    const size_t oldest = offsetof(sa_memory_info, step_state) + sizeof(size_t); /* before `scratch` */
    const size_t bad_size[] = {0, 1, oldest - 1};
    for (size_t i = 0; i < sizeof bad_size / sizeof *bad_size; i++) {
        sa_memory_info small = {SA_MEMORY_INFO_INIT};
        small.struct_size = bad_size[i];
        small.params = 12345; /* a rejected call writes nothing */
        EXPECT(SA_ERR_INVALID_ARG, "sa_model_memory", m, sa_model_memory(m, &small));
        CHECK(small.params == 12345);
    }
    /* an older caller's struct, without `scratch`: filled up to its size */
    struct { sa_memory_info i; } old = {{SA_MEMORY_INFO_INIT}};
    old.i.struct_size = oldest;
    old.i.scratch = 54321;
    EXPECT_OK(sa_model_memory(m, &old.i));
    CHECK(old.i.struct_size == oldest && old.i.scratch == 54321 && old.i.params > 0);
    /* a newer caller's larger struct: known fields filled, the rest and struct_size kept */
    struct { sa_memory_info i; size_t extra; } big = {{SA_MEMORY_INFO_INIT}, 77};
    big.i.struct_size = sizeof big;
    EXPECT_OK(sa_model_memory(m, &big.i));
    CHECK(big.i.struct_size == sizeof big && big.extra == 77);
    CHECK(big.i.params == 2 * (3 * 2 + 2) * sizeof(float)); /* dense 3 -> 2: weight and bias, values and grads */
    CHECK(big.i.values == 0 && big.i.arena == 0);            /* nothing planned yet */
    sa_model_destroy(m);
    sa_graph_free(g);
}

static void set_threads(void)
{
    sa_graph *g = small_graph();
    sa_model *m = ec_model(g);
    EXPECT(SA_ERR_INVALID_ARG, "sa_model_set_threads", NULL, sa_model_set_threads(NULL, 2));
    EXPECT(SA_ERR_INVALID_ARG, "sa_model_set_threads", NULL, sa_model_set_threads(NULL, 0));
    const int bad[] = {-1, INT_MIN, 1025, INT_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        EXPECT(SA_ERR_INVALID_ARG, "sa_model_set_threads", m, sa_model_set_threads(m, bad[i]));
    EXPECT_OK(sa_model_set_threads(m, 0)); /* 0 (the caller's count) works with any BLAS */
    /* a model whose setting was refused still runs */
    float x[3] = {1, 2, 3};
    sa_node in;
    REQUIRE_OK(sa_model_find_input(m, "x", &in));
    EXPECT_OK(sa_set_input(m, in, x, 1, 1, NULL));
    EXPECT_OK(sa_forward(m, SA_INFER));
    sa_model_destroy(m);
    sa_graph_free(g);
}

void err_run(void)
{
    set_threads();
    memory();
    create();
    find_input();
    find_node();
    params();
    handle_messages();
}
