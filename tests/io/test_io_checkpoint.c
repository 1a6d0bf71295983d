/* test_io_checkpoint.c — resuming training from a checkpoint gives bitwise
 * the parameters of the uninterrupted run (Adam with a changed lr, weight
 * decay and clipping; SGD with momentum; dropout masks through the restored
 * seed and train index); hostile and mismatched checkpoints are rejected and
 * change nothing. */
#include "iotest.h"

/* training step k uses inputs seeded by k, so two runs see the same data */
static void train(sa_model *m, sa_optim *o, int from, int to)
{
    sa_node loss;
    REQUIRE_OK(sa_model_find_node(m, "mse", &loss));
    for (int k = from; k < to; k++) {
        io_all_kinds_inputs(m, 1000 + (uint64_t)k);
        REQUIRE_OK(sa_zero_grad(m));
        REQUIRE_OK(sa_forward(m, SA_TRAIN));
        REQUIRE_OK(sa_backward(m, loss));
        REQUIRE_OK(sa_optim_step(o));
    }
}

static void resume(const sa_optim_desc *desc, const char *label)
{
    const int N = 3, M = 4;
    const char *path = io_path("ck.safetensors");

    /* the uninterrupted run, with a checkpoint after N steps */
    sa_model *a = tu_model(io_all_kinds_graph(), 21);
    sa_optim *oa = NULL;
    REQUIRE_OK(sa_optim_create(a, desc, &oa));
    train(a, oa, 0, N);
    REQUIRE_OK(sa_optim_set_lr(oa, desc->lr * 0.5f)); /* a schedule changed the lr */
    CHECK_OK(sa_checkpoint_save(a, oa, path));
    uint64_t idx_a = 0;
    REQUIRE_OK(sa_model_get_train_index(a, &idx_a));
    train(a, oa, N, N + M);

    /* a fresh model (another seed) and optimizer (other settings), resumed */
    sa_model *b = tu_model(io_all_kinds_graph(), 999);
    sa_optim_desc other = *desc;
    other.lr = 0.123f;
    other.beta1 = 0.5f;
    other.weight_decay = 0.0f;
    other.clip_norm = 0.0f;
    other.momentum = 0.0f;
    sa_optim *ob = NULL;
    REQUIRE_OK(sa_optim_create(b, &other, &ob));
    train(b, ob, 0, 1); /* some state of its own to be replaced */
    CHECK_OK(sa_checkpoint_load(b, ob, path));
    uint64_t idx_b = 1;
    CHECK_OK(sa_model_get_train_index(b, &idx_b));
    CHECK(idx_b == idx_a);
    train(b, ob, N, N + M);
    if (!io_same_params(a, b))
        fprintf(stderr, "%s: resumed parameters differ from the uninterrupted run\n", label);
    CHECK(io_same_params(a, b));

    sa_optim_destroy(oa);
    sa_optim_destroy(ob);
    sa_model_destroy(a);
    sa_model_destroy(b);
}

/* ----------------------------------------------------- hostile checkpoints */

/* path2 = path with `from` replaced by `to` in the header (length fixed up) */
static void patch(const char *path, const char *path2, const char *from, const char *to)
{
    size_t n = 0;
    unsigned char *b = io_read_file(path, &n);
    REQUIRE(b != NULL && n >= 8);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | b[i];
    char *h = calloc(hlen + 1, 1);
    REQUIRE(h != NULL);
    memcpy(h, b + 8, hlen);
    char *at = strstr(h, from);
    REQUIRE(at != NULL);
    size_t cap = hlen + strlen(to) + 1;
    char *h2 = malloc(cap);
    REQUIRE(h2 != NULL);
    snprintf(h2, cap, "%.*s%s%s", (int)(at - h), h, to, at + strlen(from));
    io_write_st(path2, h2, b + 8 + hlen, n - 8 - hlen);
    free(h2);
    free(h);
    free(b);
}

static void test_hostile(void)
{
    const char *path = io_path("adam.st"), *bad = io_path("bad.st");
    sa_optim_desc d = sa_optim_desc_default();
    d.lr = 0.01f;
    sa_model *a = tu_model(io_all_kinds_graph(), 1);
    sa_optim *oa = NULL;
    REQUIRE_OK(sa_optim_create(a, &d, &oa));
    train(a, oa, 0, 2);
    REQUIRE_OK(sa_checkpoint_save(a, oa, path));

    sa_model *b = tu_model(io_all_kinds_graph(), 2);
    sa_optim *ob = NULL;
    REQUIRE_OK(sa_optim_create(b, &d, &ob));
    size_t n;
    float *before = io_params(b, &n);
    char lr[32], lr_key[64];
    snprintf(lr, sizeof lr, "%.9g", (double)d.lr);
    snprintf(lr_key, sizeof lr_key, "\"seqattn.optim.lr\":\"%s\"", lr);

    struct { const char *from, *to; sa_status want; } cases[] = {
        {"\"seqattn.optim.kind\":\"adam\"", "\"seqattn.optim.kind\":\"rmsprop\"", SA_ERR_FORMAT},
        {"\"seqattn.optim.kind\"", "\"seqattn.optim.kinds\"", SA_ERR_FORMAT},
        {"\"seqattn.optim.lr\"", "\"seqattn.optim.lx\"", SA_ERR_FORMAT},
        {lr_key, "\"seqattn.optim.lr\":\"-1\"", SA_ERR_FORMAT},
        {lr_key, "\"seqattn.optim.lr\":\"nan\"", SA_ERR_FORMAT},
        {lr_key, "\"seqattn.optim.lr\":\"1e99\"", SA_ERR_FORMAT},
        {lr_key, "\"seqattn.optim.lr\":\" 0.1\"", SA_ERR_FORMAT},
        {lr_key, "\"seqattn.optim.lr\":\"0.1x\"", SA_ERR_FORMAT},
        {lr_key, "\"seqattn.optim.lr\":\"\"", SA_ERR_FORMAT},
        {"\"seqattn.optim.step\":\"", "\"seqattn.optim.step\":\"x", SA_ERR_FORMAT},
        {"\"seqattn.optim.step\":\"", "\"seqattn.optim.step\":\"99999999999999999999", SA_ERR_FORMAT},
        {"\"seqattn.optim.step\":\"", "\"seqattn.optim.step\":\"1000000000000000000", SA_ERR_FORMAT},
        {"\"seqattn.train_index\"", "\"seqattn.train_indx\"", SA_ERR_FORMAT},
        {"\"seqattn.seed\"", "\"seqattn.sed\"", SA_ERR_FORMAT},
        {"\"__optim.m2\"", "\"__optim.m3\"", SA_ERR_NOT_FOUND},
        {"\"__optim.m1\":{\"dtype\":\"F32\",\"shape\":[", "\"__optim.m1\":{\"dtype\":\"F32\",\"shape\":[1,",
         SA_ERR_SHAPE},
        {"\"blk.linear1.bias\"", "\"blk.linear1.bias_\"", SA_ERR_NOT_FOUND},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        patch(path, bad, cases[i].from, cases[i].to);
        sa_status s = sa_checkpoint_load(b, ob, bad);
        tu_checks++;
        if (s != cases[i].want) {
            fprintf(stderr, "case %zu (%s): got %s, want %s: %s\n", i, cases[i].to, sa_status_str(s),
                    sa_status_str(cases[i].want), sa_last_error());
            tu_failures++;
        }
        CHECK(strncmp(sa_last_error(), "sa_checkpoint_load: ", 20) == 0);
    }
    /* an Adam checkpoint read as SGD: its moments are no part of SGD's state */
    sa_optim_desc sd = sa_optim_desc_default();
    sd.kind = SA_OPTIM_SGD;
    sa_optim *os = NULL;
    REQUIRE_OK(sa_optim_create(b, &sd, &os));
    patch(path, bad, "\"seqattn.optim.kind\":\"adam\"", "\"seqattn.optim.kind\":\"sgd\"");
    CHECK_STATUS(sa_checkpoint_load(b, os, bad), SA_ERR_NOT_FOUND);
    /* kinds must match */
    CHECK_STATUS(sa_checkpoint_load(b, os, path), SA_ERR_INVALID_ARG);
    CHECK(strstr(sa_last_error(), "Adam") != NULL);
    /* a parameter-only file is no checkpoint */
    REQUIRE_OK(sa_save_params(a, bad));
    CHECK_STATUS(sa_checkpoint_load(b, ob, bad), SA_ERR_FORMAT);
    /* the optimizer of another model */
    CHECK_STATUS(sa_checkpoint_load(b, oa, path), SA_ERR_INVALID_ARG);
    CHECK_STATUS(sa_checkpoint_save(b, oa, bad), SA_ERR_INVALID_ARG);

    /* nothing above changed b */
    float *after = io_params(b, &n);
    CHECK(memcmp(before, after, n * sizeof(float)) == 0);
    free(after);
    free(before);
    /* and b's optimizer still works with a good checkpoint */
    CHECK_OK(sa_checkpoint_load(b, ob, path));
    CHECK(io_same_params(a, b));
    train(a, oa, 2, 4);
    train(b, ob, 2, 4);
    CHECK(io_same_params(a, b));

    sa_optim_destroy(os);
    sa_optim_destroy(oa);
    sa_optim_destroy(ob);
    sa_model_destroy(a);
    sa_model_destroy(b);
}

static void test_errors(void)
{
    sa_model *m = io_small_model(1);
    sa_optim_desc d = sa_optim_desc_default();
    sa_optim *o = NULL;
    REQUIRE_OK(sa_optim_create(m, &d, &o));
    const char *path = io_path("e.st");
    CHECK_STATUS(sa_checkpoint_save(NULL, o, path), SA_ERR_INVALID_ARG);
    CHECK(strncmp(sa_last_error(), "sa_checkpoint_save", 18) == 0);
    CHECK_STATUS(sa_checkpoint_save(m, NULL, path), SA_ERR_INVALID_ARG);
    CHECK_STATUS(sa_checkpoint_save(m, o, NULL), SA_ERR_INVALID_ARG);
    CHECK_STATUS(sa_checkpoint_save(m, o, io_path("no/dir.st")), SA_ERR_IO);
    CHECK_OK(sa_checkpoint_save(m, o, path));
    CHECK_STATUS(sa_checkpoint_load(NULL, o, path), SA_ERR_INVALID_ARG);
    CHECK_STATUS(sa_checkpoint_load(m, NULL, path), SA_ERR_INVALID_ARG);
    CHECK_STATUS(sa_checkpoint_load(m, o, NULL), SA_ERR_INVALID_ARG);
    CHECK(strncmp(sa_model_errmsg(m), "sa_checkpoint_load", 18) == 0);
    CHECK_STATUS(sa_checkpoint_load(m, o, io_path("missing.st")), SA_ERR_IO);
    CHECK_STATUS(sa_checkpoint_load(m, o, io_dir), SA_ERR_IO);
    CHECK_OK(sa_checkpoint_load(m, o, path));
    /* a checkpoint is also a parameter file (lenient: the moments are extra) */
    CHECK_STATUS(sa_load_params(m, path, SA_LOAD_STRICT), SA_ERR_NOT_FOUND);
    CHECK_OK(sa_load_params(m, path, SA_LOAD_LENIENT));
    sa_optim_destroy(o);
    sa_model_destroy(m);
}

int main(void)
{
    io_setup();
    sa_optim_desc adam = sa_optim_desc_default();
    adam.lr = 0.01f;
    adam.weight_decay = 0.01f;
    adam.clip_norm = 0.5f;
    resume(&adam, "adam");
    sa_optim_desc sgd = sa_optim_desc_default();
    sgd.kind = SA_OPTIM_SGD;
    sgd.lr = 0.05f;
    sgd.momentum = 0.9f;
    resume(&sgd, "sgd+momentum");
    sgd.momentum = 0.0f;
    resume(&sgd, "sgd");
    test_hostile();
    test_errors();
    io_cleanup();
    return tu_report();
}
