/* make_corpus.c — writes the seed corpus of the fuzz targets (committed under
 * tests/fuzz/corpus/): valid files for each target's model, a few other
 * small graphs, and some broken files. Run it again after changing a model
 * in fuzz_models.h:  build-fuzz/tests/fuzz/make_corpus tests/fuzz/corpus
 * Public API only; deterministic (seeded models, fixed data). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_models.h"

static const char *out;

static void die(const char *what)
{
    fprintf(stderr, "make_corpus: %s: %s\n", what, sa_last_error());
    exit(1);
}

static const char *path(const char *dir, const char *name)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/%s", out, dir);
    mkdir(buf, 0777);
    snprintf(buf, sizeof buf, "%s/%s/%s", out, dir, name);
    return buf;
}

static unsigned char *slurp(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    if (!f)
        die(p);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n + 1);
    if (!b || fread(b, 1, *n, f) != *n)
        die("read");
    fclose(f);
    return b;
}

static void spit(const char *p, const void *b, size_t n)
{
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0)
        die(p);
}

/* broken variants of a valid file: cut in half, header length too large,
 * one byte of the JSON changed */
static void breakages(const char *dir, const char *name)
{
    size_t n;
    char src[1024];
    snprintf(src, sizeof src, "%s", path(dir, name));
    unsigned char *b = slurp(src, &n);
    char nm[256];
    snprintf(nm, sizeof nm, "broken-cut-%s", name);
    spit(path(dir, nm), b, n / 2);
    b[0] ^= 0x40;
    snprintf(nm, sizeof nm, "broken-len-%s", name);
    spit(path(dir, nm), b, n);
    b[0] ^= 0x40;
    b[8 + 20] = '}';
    snprintf(nm, sizeof nm, "broken-json-%s", name);
    spit(path(dir, nm), b, n);
    free(b);
}

static void fill(sa_model *m, float scale)
{
    float *v, *g;
    size_t n;
    if (sa_params_flat(m, &v, &g, &n) != SA_OK)
        die("params");
    for (size_t i = 0; i < n; i++)
        v[i] = scale * (float)((int)(i * 7919 % 23) - 11) / 16.0f;
}

static sa_model *create(sa_graph *g)
{
    sa_model *m = NULL;
    if (sa_model_create(g, NULL, &m) != SA_OK)
        die("create");
    sa_graph_free(g);
    return m;
}

static void load_params_seeds(void)
{
    sa_model *m = fuzz_params_model();
    if (!m)
        die("model");
    fill(m, 1.0f);
    if (sa_save_params(m, path("load_params", "valid.st")) != SA_OK)
        die("save");
    breakages("load_params", "valid.st");
    /* a lenient-only file: the dense layers alone, in F16 and BF16 */
    static const char hdr[] =
        "{\"__metadata__\":{\"format\":\"pt\"},"
        "\"fc.weight\":{\"dtype\":\"F16\",\"shape\":[4,3],\"data_offsets\":[0,24]},"
        "\"fc.bias\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[24,32]},"
        "\"head.weight\":{\"dtype\":\"F64\",\"shape\":[1,2],\"data_offsets\":[32,48]},"
        "\"head.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[48,52]}}";
    unsigned char buf[8 + sizeof hdr + 52];
    size_t h = sizeof hdr - 1;
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(buf + 8, hdr, h);
    unsigned char *d = buf + 8 + h;
    for (int i = 0; i < 12; i++) { /* F16 0.5, -0.25, ... */
        d[2 * i] = 0;
        d[2 * i + 1] = i & 1 ? 0xb4 : 0x38;
    }
    for (int i = 0; i < 4; i++) { /* BF16 1.0 */
        d[24 + 2 * i] = 0x80;
        d[24 + 2 * i + 1] = 0x3f;
    }
    double hw[2] = {0.125, -2.0};
    float hb = 0.75f;
    memcpy(d + 32, hw, sizeof hw);
    memcpy(d + 48, &hb, sizeof hb);
    spit(path("load_params", "subset-mixed-dtypes.st"), buf, 8 + h + 52);
    sa_model_destroy(m);
}

static void model_load_seeds(void)
{
    sa_model *m = fuzz_params_model();
    fill(m, 1.0f);
    if (sa_model_save(m, path("model_load", "main.st")) != SA_OK)
        die("save");
    sa_model_destroy(m);
    breakages("model_load", "main.st");

    /* bidirectional LSTM with peepholes, initial states from ports, concat, MSE */
    sa_graph *g = sa_graph_new();
    sa_node x = sa_input(g, "x", 2), y = sa_input(g, "y", 1);
    sa_rnn_desc gd = sa_rnn_desc_default();
    gd.hidden = 2;
    sa_node enc = sa_gru(g, x, &gd);
    sa_node hn = sa_rnn_final_state(g, enc);
    sa_rnn_desc ld = sa_rnn_desc_default();
    ld.hidden = 1;
    ld.bidirectional = 1;
    ld.peephole = 1;
    ld.return_sequences = 0;
    ld.initial_state = hn;
    sa_node dec = sa_lstm(g, enc, &ld);
    sa_node parts[2] = {dec, sa_rnn_final_cell(g, dec)};
    sa_node o = sa_dense(g, sa_concat(g, 2, parts), 1);
    sa_loss_mse(g, o, y);
    m = create(g);
    fill(m, 0.5f);
    if (sa_model_save(m, path("model_load", "lstm.st")) != SA_OK)
        die("save");
    sa_model_destroy(m);

    /* a tiny transformer block with dropout over learned positions, MAE */
    g = sa_graph_new();
    x = sa_input(g, "x", 4);
    y = sa_input(g, "y", 1);
    sa_transformer_desc td = sa_transformer_desc_default();
    td.num_heads = 2;
    td.ff_dim = 2;
    td.dropout = 0.1f;
    td.name = "blk";
    sa_node t = sa_transformer_block(g, sa_posenc_learned(g, x, 4), &td);
    sa_loss_mae(g, sa_dense(g, sa_mean_time(g, t), 1), y);
    m = create(g);
    fill(m, 0.25f);
    if (sa_model_save(m, path("model_load", "transformer.st")) != SA_OK)
        die("save");
    sa_model_destroy(m);

    /* attention and structure without parameters besides one projection */
    g = sa_graph_new();
    x = sa_input(g, "x", 2);
    sa_node k = sa_input(g, "k", 3);
    sa_mha_desc md = sa_mha_desc_default();
    md.embed_dim = 2;
    md.causal = 1;
    md.bias = 0;
    sa_node a = sa_mha(g, x, k, k, &md);
    sa_node s = sa_sdpa(g, sa_posenc_sinusoidal(g, a), a, sa_slice_features(g, k, 1, 2), 0);
    sa_node r = sa_repeat_time(g, sa_last_step(g, s), x);
    sa_node sum = sa_add(g, r, sa_dropout(g, sa_slice_time(g, x, 0, 3), 0.5f));
    sa_layer_norm(g, sa_act(g, sum, SA_ACT_GELU), 1e-3f);
    m = create(g);
    fill(m, 1.0f);
    if (sa_model_save(m, path("model_load", "attention.st")) != SA_OK)
        die("save");
    sa_model_destroy(m);
}

static void checkpoint_seeds(void)
{
    const char *names[2] = {"adam.st", "sgd-momentum.st"};
    for (int k = 0; k < 2; k++) {
        sa_model *m = fuzz_params_model();
        fill(m, 1.0f);
        sa_optim_desc d = sa_optim_desc_default();
        if (k) {
            d.kind = SA_OPTIM_SGD;
            d.momentum = 0.9f;
        }
        sa_optim *o = NULL;
        float *v, *grads;
        size_t n;
        if (sa_optim_create(m, &d, &o) != SA_OK || sa_params_flat(m, &v, &grads, &n) != SA_OK)
            die("optim");
        for (int step = 0; step < 2; step++) { /* moments from made-up gradients */
            for (size_t i = 0; i < n; i++)
                grads[i] = (float)((int)(i % 5) - 2) * 0.1f;
            if (sa_optim_step(o) != SA_OK)
                die("step");
        }
        if (sa_checkpoint_save(m, o, path("checkpoint_load", names[k])) != SA_OK)
            die("save");
        sa_optim_destroy(o);
        sa_model_destroy(m);
    }
    breakages("checkpoint_load", "adam.st");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus DIR   (e.g. tests/fuzz/corpus)\n");
        return 2;
    }
    out = argv[1];
    mkdir(out, 0777);
    load_params_seeds();
    model_load_seeds();
    checkpoint_seeds();
    return 0;
}
