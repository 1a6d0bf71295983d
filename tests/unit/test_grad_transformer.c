/* test_grad_transformer.c — sa_transformer_block (pre-norm encoder layer):
 *
 *  - central-difference gradient checks (gradcheck.h) of every input and
 *    parameter element of a small block (E = 6, 2 heads, ff_dim 7, T = 5,
 *    B = 2), causal and not, relu and gelu, with lengths; a causal gelu block
 *    with dropout in training mode (the numeric forwards replay the analytic
 *    forward's masks); two stacked blocks. Parameters are moved off torch's
 *    init (zero biases, unit norm weights) so every term is exercised;
 *  - dropout: p > 0 changes a SA_TRAIN forward and not a SA_INFER one, its
 *    masks replay with the train index, and p = 0 is exactly the identity;
 *  - parameter names and shapes (torch's state_dict keys under the block name);
 *  - builder errors, with their statuses and messages.
 *
 * ReLU's kink: a perturbation ε that moves a pre-activation across 0 breaks
 * the central difference. Before the check, linear1's bias is shifted per
 * feature so that the pre-activations of the base point keep away from 0 (the
 * midpoint of the widest gap between a feature's values goes to 0, which
 * keeps both signs), then every ±ε step the check will take is replayed and
 * must leave every pre-activation's sign as it is. */
#include <string.h>

#include "gradcheck.h"

enum { E = 6, HEADS = 2, FF = 7, T = 5, B = 2 };
static const int32_t LEN[B] = {5, 3};

/* ------------------------------------------------------------ helpers */

static sa_node block(sa_graph *g, sa_node x, const char *name, int32_t causal, sa_activation act, float p)
{
    sa_transformer_desc d = sa_transformer_desc_default();
    d.num_heads = HEADS;
    d.ff_dim = FF;
    d.causal = causal;
    d.activation = act;
    d.dropout = p;
    d.name = name;
    return sa_transformer_block(g, x, &d);
}

static void random_params(sa_model *m, uint64_t seed)
{
    tu_rng r = {seed};
    for (int32_t p = 0; p < sa_param_count(m); p++) {
        sa_param_info info;
        REQUIRE_OK(sa_param_get(m, p, &info));
        int norm_w = strstr(info.name, ".norm") && strstr(info.name, ".weight");
        for (size_t j = 0; j < info.numel; j++) {
            if (norm_w) /* ±[0.5, 1.5): a forgotten factor of the norm weight shows */
                info.value[j] = tu_uniform(&r, 0.5f, 1.5f) * (j % 3 ? 1.0f : -1.0f);
            else if (strstr(info.name, "bias"))
                info.value[j] = tu_uniform(&r, -0.5f, 0.5f);
            else
                info.value[j] *= tu_uniform(&r, 0.8f, 1.2f);
        }
    }
}

/* the case being prepared: the prepare hook sees the model only */
static gc_case *cur;
static uint64_t cur_seed;
static sa_node cur_z = SA_NODE_INVALID; /* relu cases: the input of the first block's relu */
static double worst_margin = 1e9;

/* The first node after x that is FF wide is the first block's linear1 (the
 * next one its activation): checked below by act == relu(z) elementwise. */
static sa_node find_linear1(sa_graph *g, sa_node x)
{
    for (sa_node k = x + 1; k < sa_graph_node_count(g); k++)
        if (sa_graph_node_features(g, k) == FF)
            return k;
    return SA_NODE_INVALID;
}

/* z's sign pattern at the current inputs and parameters equals base's; max|z - base| into *dz */
static int same_signs(sa_model *m, const float *base, double *dz)
{
    enum { N = B * T * FF };
    float zd[N];
    REQUIRE_OK(sa_forward(m, SA_INFER));
    REQUIRE_OK(sa_get_output(m, cur_z, zd, N, NULL));
    int same = 1;
    for (size_t i = 0; i < N; i++) {
        same &= (zd[i] > 0.0f) == (base[i] > 0.0f);
        *dz = fmax(*dz, fabs(zd[i] - base[i]));
    }
    return same;
}

/* Shifts linear1's bias, then checks that no ±ε step of any input or
 * parameter element (the steps gc_run takes) flips a relu input's sign. */
static void kink_margin(sa_model *m)
{
    enum { N = B * T * FF };
    sa_node z = cur_z;
    float zd[N], ad[N];
    sa_param_info bias;
    REQUIRE_OK(sa_param_find(m, "blk.linear1.bias", &bias));
    /* the inputs gc_run will set: the same generator, same order */
    tu_rng r = {cur_seed};
    float *data[GC_MAX_IN];
    for (int i = 0; i < cur->n_in; i++) {
        gc_input *in = &cur->in[i];
        size_t cnt = (size_t)B * in->T * in->F;
        data[i] = malloc(cnt * sizeof(float));
        REQUIRE(data[i] != NULL);
        float s = in->scale > 0.0f ? in->scale : 1.0f;
        tu_fill(&r, data[i], cnt, -s, s);
        REQUIRE_OK(sa_set_input(m, in->node, data[i], B, in->T, in->len));
    }
    REQUIRE_OK(sa_forward(m, SA_INFER));
    int32_t sh[3];
    REQUIRE_OK(sa_get_output(m, z, zd, N, sh));
    REQUIRE(sh[0] == B && sh[1] == T && sh[2] == FF);
    for (int32_t f = 0; f < FF; f++) { /* per feature: the widest gap between sorted values */
        float v[B * T];
        for (int32_t i = 0; i < B * T; i++)
            v[i] = zd[(size_t)i * FF + f];
        for (int32_t i = 1; i < B * T; i++) /* insertion sort */
            for (int32_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
                float t = v[j];
                v[j] = v[j - 1];
                v[j - 1] = t;
            }
        int32_t gi = 1;
        for (int32_t i = 2; i < B * T; i++)
            if (v[i] - v[i - 1] > v[gi] - v[gi - 1])
                gi = i;
        bias.value[f] -= 0.5f * (v[gi] + v[gi - 1]);
    }
    REQUIRE_OK(sa_forward(m, SA_INFER));
    REQUIRE_OK(sa_get_output(m, z, zd, N, NULL));
    REQUIRE_OK(sa_get_output(m, z + 1, ad, N, NULL));
    double margin = 1e9, dz = 0.0;
    int pos = 0, neg = 0, relu_ok = 1, flips = 0;
    for (size_t i = 0; i < N; i++) {
        margin = fmin(margin, fabs(zd[i]));
        pos += zd[i] > 0.0f;
        neg += zd[i] < 0.0f;
        relu_ok &= ad[i] == (zd[i] > 0.0f ? zd[i] : 0.0f);
    }
    REQUIRE(relu_ok); /* z really is the relu's input */
    CHECK(pos > 0 && neg > 0);

    for (int i = 0; i < cur->n_in; i++) { /* every ±ε step gc_run will take */
        gc_input *in = &cur->in[i];
        for (size_t j = 0; j < (size_t)B * in->T * in->F; j++) {
            float v0 = data[i][j];
            for (int s = -1; s <= 1; s += 2) {
                data[i][j] = v0 + (float)(s * EPS);
                REQUIRE_OK(sa_set_input(m, in->node, data[i], B, in->T, in->len));
                flips += !same_signs(m, zd, &dz);
            }
            data[i][j] = v0;
        }
        REQUIRE_OK(sa_set_input(m, in->node, data[i], B, in->T, in->len));
        free(data[i]);
    }
    for (int32_t p = 0; p < sa_param_count(m); p++) {
        sa_param_info info;
        REQUIRE_OK(sa_param_get(m, p, &info));
        for (size_t j = 0; j < info.numel; j++) {
            float v0 = info.value[j];
            for (int s = -1; s <= 1; s += 2) {
                info.value[j] = v0 + (float)(s * EPS);
                flips += !same_signs(m, zd, &dz);
            }
            info.value[j] = v0;
        }
    }
    printf("  %-30s relu inputs: min |z| = %.3f, max |dz| of one step = %.3f, %d sign flips (%d > 0, %d < 0)\n",
           cur->name, margin, dz, flips, pos, neg);
    REQUIRE(flips == 0); /* else pick another seed: the check would cross the kink */
    worst_margin = fmin(worst_margin, margin / dz);
}

static void prepare(sa_model *m)
{
    random_params(m, cur_seed + 17);
    if (cur_z != SA_NODE_INVALID)
        kink_margin(m);
}

/* ------------------------------------------------------- gradient checks */

static void case_block(const char *name, int32_t causal, sa_activation act, const int32_t *len, float p,
                       uint64_t seed)
{
    gc_case c;
    gc_init(&c, name, B);
    sa_node x = gc_in(&c, "x", E, T, len);
    gc_out(&c, block(c.g, x, "blk", causal, act, p));
    cur_z = act == SA_ACT_RELU ? find_linear1(c.g, x) : SA_NODE_INVALID;
    c.replay = p > 0.0f;
    c.prepare = prepare;
    cur = &c;
    cur_seed = seed;
    gc_run(&c, seed);
}

/* two blocks, the second reading the first; both outputs in the objective */
static void case_stack(uint64_t seed)
{
    gc_case c;
    gc_init(&c, "2 blocks causal relu+gelu len", B);
    sa_node x = gc_in(&c, "x", E, T, LEN);
    sa_node h = block(c.g, x, "blk", 1, SA_ACT_RELU, 0.0f);
    cur_z = find_linear1(c.g, x);
    gc_out(&c, h);
    gc_out(&c, block(c.g, h, "blk2", 1, SA_ACT_GELU, 0.0f));
    c.prepare = prepare;
    cur = &c;
    cur_seed = seed;
    gc_run(&c, seed);
}

/* -------------------------------------------------------------- dropout */

static void run_out(sa_model *m, sa_mode mode, sa_node n, float *dst)
{
    REQUIRE_OK(sa_forward(m, mode));
    REQUIRE_OK(sa_get_output(m, n, dst, (size_t)B * T * E, NULL));
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double d = 0.0;
    for (size_t i = 0; i < n; i++)
        d = fmax(d, fabs(a[i] - b[i]));
    return d;
}

static void test_dropout(void)
{
    enum { N = B * T * E };
    sa_model *m[2];
    sa_node x[2], y[2];
    for (int k = 0; k < 2; k++) { /* k = 0: p = 0.3; k = 1: p = 0, same names */
        sa_graph *g = sa_graph_new();
        REQUIRE(g != NULL);
        x[k] = sa_input(g, "x", E);
        y[k] = block(g, x[k], "blk", 1, SA_ACT_GELU, k ? 0.0f : 0.3f);
        m[k] = tu_model(g, 61);
    }
    random_params(m[0], 62);
    tu_copy_params(m[1], m[0]);
    tu_rng r = {63};
    float xd[N], tr[N], tr2[N], inf[N], tr0[N], inf0[N];
    tu_fill(&r, xd, N, -1.0f, 1.0f);
    for (int k = 0; k < 2; k++)
        REQUIRE_OK(sa_set_input(m[k], x[k], xd, B, T, LEN));

    run_out(m[0], SA_TRAIN, y[0], tr);
    run_out(m[0], SA_INFER, y[0], inf);
    run_out(m[1], SA_TRAIN, y[1], tr0);
    run_out(m[1], SA_INFER, y[1], inf0);
    double d_train = max_diff(tr, inf, N);
    printf("  dropout 0.3: max|train - infer| = %.3f; p = 0: |train - infer| = %.1e, "
           "|infer(0.3) - infer(0)| = %.1e\n", d_train, max_diff(tr0, inf0, N), max_diff(inf, inf0, N));
    CHECK(d_train > 1e-2);                              /* dropout acts in training */
    CHECK(memcmp(inf, inf0, sizeof inf) == 0);          /* and not at inference */
    CHECK(memcmp(tr0, inf0, sizeof tr0) == 0);          /* p = 0 is the identity, in training too */

    /* the next training forward draws other masks; setting the index back replays */
    run_out(m[0], SA_TRAIN, y[0], tr2);
    CHECK(max_diff(tr, tr2, N) > 1e-2);
    REQUIRE_OK(sa_model_set_train_index(m[0], 0));
    run_out(m[0], SA_TRAIN, y[0], tr2);
    CHECK(memcmp(tr, tr2, sizeof tr) == 0);

    /* dropout has no parameter: both blocks have torch's 12 */
    CHECK(sa_param_count(m[0]) == 12 && sa_param_count(m[1]) == 12);
    /* backward goes through the masks: the input gradients differ from p = 0's
     * (the exact values are gradient-checked above) */
    float G[N], g0[N], g1[N];
    const float *gp = G;
    tu_fill(&r, G, N, -1.0f, 1.0f);
    REQUIRE_OK(sa_model_set_train_index(m[0], 0));
    REQUIRE_OK(sa_forward(m[0], SA_TRAIN));
    REQUIRE_OK(sa_backward_from(m[0], 1, &y[0], &gp));
    REQUIRE_OK(sa_get_grad(m[0], x[0], g0, N, NULL));
    REQUIRE_OK(sa_forward(m[1], SA_TRAIN));
    REQUIRE_OK(sa_backward_from(m[1], 1, &y[1], &gp));
    REQUIRE_OK(sa_get_grad(m[1], x[1], g1, N, NULL));
    CHECK(max_diff(g0, g1, N) > 1e-3);
    for (int k = 0; k < 2; k++)
        sa_model_destroy(m[k]);
}

/* ------------------------------------------------------------- names */

static void test_names(void)
{
    static const char *const keys[12] = {
        "norm1.weight", "norm1.bias", "self_attn.in_proj_weight", "self_attn.in_proj_bias",
        "self_attn.out_proj.weight", "self_attn.out_proj.bias", "norm2.weight", "norm2.bias",
        "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias"};
    static const int32_t shapes[12][2] = {{E, 1}, {E, 1}, {3 * E, E}, {3 * E, 1}, {E, E}, {E, 1},
                                          {E, 1}, {E, 1}, {FF, E}, {FF, 1}, {E, FF}, {E, 1}};
    char long_name[64];
    memset(long_name, 'a', 52); /* 52 + strlen(".activation") = 63: the longest that fits */
    long_name[52] = '\0';
    sa_graph *g = sa_graph_new();
    REQUIRE(g != NULL);
    sa_node x = sa_input(g, "x", E);
    sa_node h = block(g, x, "layers.0", 1, SA_ACT_RELU, 0.1f);
    h = block(g, h, long_name, 0, SA_ACT_GELU, 0.1f);
    h = block(g, h, NULL, 0, SA_ACT_RELU, 0.0f);
    sa_node h2 = block(g, h, NULL, 0, SA_ACT_RELU, 0.0f);
    CHECK(sa_graph_node_features(g, h2) == E);
    sa_model *m = tu_model(g, 71);
    CHECK(sa_param_count(m) == 48);
    const char *prefixes[2] = {"layers.0", long_name};
    for (int b = 0; b < 2; b++)
        for (int k = 0; k < 12; k++) {
            char name[128];
            snprintf(name, sizeof name, "%s.%s", prefixes[b], keys[k]);
            sa_param_info info;
            CHECK_OK(sa_param_find(m, name, &info));
            if (sa_param_find(m, name, &info) == SA_OK)
                CHECK(info.shape[0] == shapes[k][0] && info.shape[1] == shapes[k][1]);
        }
    /* unnamed blocks: "transformer<k>.<key>", the two prefixes distinct */
    char pre[2][64] = {"", ""};
    for (int32_t p = 24; p < 48; p++) {
        sa_param_info info;
        REQUIRE_OK(sa_param_get(m, p, &info));
        CHECK(strncmp(info.name, "transformer", 11) == 0);
        const char *dot = strchr(info.name, '.');
        REQUIRE(dot != NULL && dot - info.name < 64);
        int b = p >= 36;
        if (!pre[b][0])
            memcpy(pre[b], info.name, (size_t)(dot - info.name));
        CHECK(strncmp(info.name, pre[b], strlen(pre[b])) == 0 && info.name[strlen(pre[b])] == '.');
    }
    CHECK(strcmp(pre[0], pre[1]) != 0);
    printf("  names: layers.0.*, %zu-char prefix, unnamed '%s' and '%s'\n", strlen(long_name), pre[0], pre[1]);
    /* torch's initial values: norm weights 1 and biases 0, MHA biases 0 */
    sa_param_info info;
    REQUIRE_OK(sa_param_find(m, "layers.0.norm2.weight", &info));
    CHECK(info.value[0] == 1.0f && info.value[E - 1] == 1.0f);
    REQUIRE_OK(sa_param_find(m, "layers.0.self_attn.in_proj_bias", &info));
    CHECK(info.value[0] == 0.0f && info.value[3 * E - 1] == 0.0f);
    sa_model_destroy(m);
}

/* ------------------------------------------------------------------ errors */

enum {
    E_NULL_DESC, E_SMALL_STRUCT, E_FF0, E_FF_NEG, E_FF_BIG, E_ACT_TANH, E_ACT_BAD, E_P_NEG, E_P_ONE,
    E_P_NAN, E_HEADS_DIV, E_HEADS0, E_EPS, E_NAME_LONG, E_NAME_HUGE, E_NAME_DUP, E_NAME_CHARS, E_BAD_NODE,
    E_COUNT
};

static void expect_error(int kind, sa_status want, const char *prefix, const char *alt_prefix)
{
    sa_graph *g = sa_graph_new();
    REQUIRE(g != NULL);
    sa_node x = sa_input(g, "x", E);
    sa_transformer_desc d = sa_transformer_desc_default();
    d.num_heads = HEADS;
    d.ff_dim = FF;
    char name[128];
    memset(name, 'b', sizeof name);
    const sa_transformer_desc *dp = &d;
    switch (kind) {
    case E_NULL_DESC: dp = NULL; break;
    case E_SMALL_STRUCT: d.struct_size = sizeof d - 1; break;
    case E_FF0: d.ff_dim = 0; break;
    case E_FF_NEG: d.ff_dim = -7; break;
    case E_FF_BIG: d.ff_dim = (1 << 24) + 1; break;
    case E_ACT_TANH: d.activation = SA_ACT_TANH; break;
    case E_ACT_BAD: d.activation = (sa_activation)7; break;
    case E_P_NEG: d.dropout = -0.1f; break;
    case E_P_ONE: d.dropout = 1.0f; break;
    case E_P_NAN: d.dropout = NAN; break;
    case E_HEADS_DIV: d.num_heads = 4; break; /* 6 % 4 != 0 */
    case E_HEADS0: d.num_heads = 0; break;
    case E_EPS: d.norm_eps = 0.0f; break;
    case E_NAME_LONG: name[53] = '\0'; d.name = name; break; /* "<53>.activation" has 64 characters */
    case E_NAME_HUGE: name[100] = '\0'; d.name = name; break;
    case E_NAME_DUP: d.name = "blk"; REQUIRE(sa_transformer_block(g, x, &d) >= 0); break;
    case E_NAME_CHARS: d.name = "my block"; break;
    case E_BAD_NODE: x = 99; break;
    }
    sa_node n = sa_transformer_block(g, x, dp);
    CHECK(n == SA_NODE_INVALID);
    CHECK_STATUS(sa_graph_status(g), want);
    const char *msg = sa_graph_errmsg(g);
    int ok = strncmp(msg, prefix, strlen(prefix)) == 0 ||
             (alt_prefix && strncmp(msg, alt_prefix, strlen(alt_prefix)) == 0);
    if (!ok)
        fprintf(stderr, "error %d: message '%s' does not start with '%s'\n", kind, msg, prefix);
    CHECK(ok);
    /* the thread's message is the first failure too, not that of a later
     * sub-builder that found the graph already failed */
    CHECK(strcmp(sa_last_error(), msg) == 0);
    printf("  build error %2d: %s\n", kind, msg);
    if (kind == E_NAME_DUP || kind == E_NAME_CHARS) /* the message names the offending node */
        CHECK(strstr(msg, kind == E_NAME_DUP ? "blk.norm1" : "my block") != NULL);
    /* sticky: later builder calls do nothing, the first error stays */
    char first[256];
    snprintf(first, sizeof first, "%s", msg);
    d = sa_transformer_desc_default();
    d.ff_dim = FF;
    CHECK(sa_transformer_block(g, 0, &d) == SA_NODE_INVALID);
    CHECK(strcmp(sa_graph_errmsg(g), first) == 0);
    sa_graph_free(g);
}

static void test_errors(void)
{
    const char *fn = "sa_transformer_block:";
    expect_error(E_NULL_DESC, SA_ERR_INVALID_ARG, fn, NULL);
    expect_error(E_SMALL_STRUCT, SA_ERR_INVALID_ARG, fn, NULL);
    expect_error(E_FF0, SA_ERR_SHAPE, fn, NULL);
    expect_error(E_FF_NEG, SA_ERR_SHAPE, fn, NULL);
    expect_error(E_FF_BIG, SA_ERR_SHAPE, fn, NULL);
    expect_error(E_ACT_TANH, SA_ERR_INVALID_ARG, fn, NULL);
    expect_error(E_ACT_BAD, SA_ERR_INVALID_ARG, fn, NULL);
    expect_error(E_P_NEG, SA_ERR_INVALID_ARG, fn, NULL);
    expect_error(E_P_ONE, SA_ERR_INVALID_ARG, fn, NULL);
    expect_error(E_P_NAN, SA_ERR_INVALID_ARG, fn, NULL);
    /* the parts' own checks: heads by sa_mha, eps by sa_layer_norm */
    expect_error(E_HEADS_DIV, SA_ERR_SHAPE, "sa_mha:", NULL);
    expect_error(E_HEADS0, SA_ERR_INVALID_ARG, "sa_mha:", NULL);
    expect_error(E_EPS, SA_ERR_INVALID_ARG, "sa_layer_norm:", NULL);
    expect_error(E_NAME_LONG, SA_ERR_INVALID_ARG, fn, NULL);
    expect_error(E_NAME_HUGE, SA_ERR_INVALID_ARG, fn, NULL);
    /* a clash or a bad character is found on the first sub-node ("<name>.norm1");
     * the message names that node */
    expect_error(E_NAME_DUP, SA_ERR_INVALID_ARG, fn, NULL);
    expect_error(E_NAME_CHARS, SA_ERR_INVALID_ARG, fn, NULL);
    expect_error(E_BAD_NODE, SA_ERR_BAD_NODE, fn, NULL);

    /* NULL graph: nothing to record in, the thread's message */
    sa_transformer_desc d = sa_transformer_desc_default();
    d.ff_dim = FF;
    CHECK(sa_transformer_block(NULL, 0, &d) == SA_NODE_INVALID);
    CHECK(strncmp(sa_last_error(), fn, strlen(fn)) == 0);

    /* the defaults of the header */
    CHECK(d.struct_size == sizeof d && d.num_heads == 1 && d.causal == 0 && d.activation == SA_ACT_RELU &&
          d.dropout == 0.0f && d.norm_eps == 1e-5f && d.name == NULL);
    sa_transformer_desc init = {SA_TRANSFORMER_DESC_INIT};
    init.ff_dim = FF;
    CHECK(init.struct_size == d.struct_size && init.num_heads == d.num_heads && init.ff_dim == d.ff_dim &&
          init.causal == d.causal && init.activation == d.activation && init.dropout == d.dropout &&
          init.norm_eps == d.norm_eps && init.name == d.name);
}

int main(void)
{
    case_block("block relu lengths", 0, SA_ACT_RELU, LEN, 0.0f, 5101);
    case_block("block relu causal lengths", 1, SA_ACT_RELU, LEN, 0.0f, 5102);
    case_block("block gelu", 0, SA_ACT_GELU, NULL, 0.0f, 5103);
    case_block("block gelu causal lengths", 1, SA_ACT_GELU, LEN, 0.0f, 5104);
    case_block("block gelu causal dropout 0.2", 1, SA_ACT_GELU, LEN, 0.2f, 5105);
    case_stack(5106);
    gc_summary();
    printf("relu kink: smallest min|z| / max|dz| = %.2f (> 1: no step crosses it)\n", worst_margin);
    test_dropout();
    test_names();
    test_errors();
    return tu_report();
}
