/* iotest.h — helpers shared by the persistence tests (tests/io/): a private
 * scratch directory, writing crafted bytes and safetensors files, comparing
 * files and parameters, and the small models the tests save and load.
 * Public API only, plus the assertion macros of tests/unit/testutil.h. */
#ifndef SEQATTN_IOTEST_H
#define SEQATTN_IOTEST_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../unit/testutil.h"

static char io_dir[64];

static inline void io_cleanup(void);

/* a fresh directory under /tmp, removed by io_cleanup(), also when a REQUIRE exits */
static inline void io_setup(void)
{
    snprintf(io_dir, sizeof io_dir, "/tmp/seqattn-io-XXXXXX");
    REQUIRE(mkdtemp(io_dir) != NULL);
    atexit(io_cleanup);
}

/* "<io_dir>/<name>"; the same stable pointer for the same name, valid to the end */
static inline const char *io_path(const char *name)
{
    static struct { char name[200], path[320]; } tab[128];
    static int used;
    for (int i = 0; i < used; i++)
        if (strcmp(tab[i].name, name) == 0)
            return tab[i].path;
    REQUIRE(used < 128 && strlen(name) < sizeof tab[0].name);
    snprintf(tab[used].name, sizeof tab[used].name, "%s", name);
    snprintf(tab[used].path, sizeof tab[used].path, "%s/%s", io_dir, name);
    return tab[used++].path;
}

/* number of entries in dir (without . and ..), -1 if it cannot be read */
static inline int io_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static inline void io_cleanup(void)
{
    DIR *d = io_dir[0] ? opendir(io_dir) : NULL;
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%.255s", io_dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            chmod(p, 0700);
            rmdir(p);
        } else
            unlink(p);
    }
    closedir(d);
    rmdir(io_dir);
    io_dir[0] = '\0'; /* done: the atexit call finds nothing */
}

static inline void io_write_bytes(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    REQUIRE(f != NULL);
    REQUIRE(n == 0 || fwrite(b, 1, n, f) == n);
    REQUIRE(fclose(f) == 0);
}

/* the whole file, malloc'd; *n receives its size */
static inline unsigned char *io_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(len > 0 ? (size_t)len : 1);
    REQUIRE(b != NULL);
    REQUIRE(len == 0 || fread(b, 1, (size_t)len, f) == (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* 1 when the file at path holds exactly b[0..n) */
static inline int io_file_equals(const char *path, const unsigned char *b, size_t n)
{
    size_t m = 0;
    unsigned char *c = io_read_file(path, &m);
    int same = c && m == n && memcmp(b, c, n) == 0;
    free(c);
    return same;
}

/* A safetensors file: 8-byte little-endian length of header, header, data. */
static inline void io_write_st_len(const char *path, uint64_t hlen, const char *header, const void *data,
                                   size_t n)
{
    size_t h = strlen(header);
    unsigned char *b = malloc(8 + h + n + 1);
    REQUIRE(b != NULL);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(hlen >> (8 * i));
    memcpy(b + 8, header, h);
    if (n)
        memcpy(b + 8 + h, data, n);
    io_write_bytes(path, b, 8 + h + n);
    free(b);
}

static inline void io_write_st(const char *path, const char *header, const void *data, size_t n)
{
    io_write_st_len(path, strlen(header), header, data, n);
}

/* copies all parameter values of m into a new array */
static inline float *io_params(const sa_model *m, size_t *n)
{
    float *v, *g;
    REQUIRE_OK(sa_params_flat((sa_model *)m, &v, &g, n));
    float *c = malloc((*n ? *n : 1) * sizeof(float));
    REQUIRE(c != NULL);
    memcpy(c, v, *n * sizeof(float));
    return c;
}

/* 1 when a and b have parameters of the same names, shapes and bits */
static inline int io_same_params(const sa_model *a, const sa_model *b)
{
    if (sa_param_count(a) != sa_param_count(b))
        return 0;
    for (int32_t i = 0; i < sa_param_count(a); i++) {
        sa_param_info pa, pb;
        if (sa_param_get(a, i, &pa) != SA_OK || sa_param_get(b, i, &pb) != SA_OK)
            return 0;
        if (strcmp(pa.name, pb.name) || pa.ndim != pb.ndim || memcmp(pa.shape, pb.shape, sizeof pa.shape) ||
            pa.numel != pb.numel || memcmp(pa.value, pb.value, pa.numel * sizeof(float)))
            return 0;
    }
    return 1;
}

/* Fills every parameter of m with values from a seeded generator. */
static inline void io_randomize(sa_model *m, uint64_t seed)
{
    float *v, *g;
    size_t n;
    REQUIRE_OK(sa_params_flat(m, &v, &g, &n));
    tu_rng r = {seed};
    tu_fill(&r, v, n, -0.5f, 0.5f);
}

/* input "x" (2) -> dense "fc" (3): parameters fc.weight (3, 2), fc.bias (3) */
static inline sa_model *io_small_model(uint64_t seed)
{
    sa_graph *g = sa_graph_new();
    sa_node x = sa_input(g, "x", 2);
    sa_name(g, sa_dense(g, x, 3), "fc");
    return tu_model(g, seed);
}

/* A graph with every layer kind of the registry, ports (one made before its
 * producer was renamed, one renamed), a transformer block and dropout:
 * inputs "x" (6) and "y" (1); the output node is named "out", the losses
 * "mse" and "mae". Needs T >= 2 at run time. */
static inline sa_graph *io_all_kinds_graph(void)
{
    sa_graph *g = sa_graph_new();
    sa_node x = sa_input(g, "x", 6), y = sa_input(g, "y", 1);
    sa_node h = sa_posenc_sinusoidal(g, x);
    h = sa_posenc_learned(g, h, 16);
    h = sa_layer_norm(g, h, 1e-5f);
    h = sa_dropout(g, h, 0.25f);

    sa_rnn_desc gd = sa_rnn_desc_default();
    gd.hidden = 5;
    gd.num_layers = 2;
    gd.bidirectional = 1;
    sa_node gru = sa_gru(g, h, &gd);                     /* [B, T, 10] */
    sa_node gs = sa_rnn_final_state(g, gru);             /* [B, 1, 20], named "gru0:1" */
    sa_name(g, gru, "encoder");                          /* the port keeps its old name */

    sa_rnn_desc ld = sa_rnn_desc_default();
    ld.hidden = 3;
    ld.bidirectional = 1;
    ld.peephole = 1;
    ld.initial_state = sa_slice_features(g, gs, 0, 6);
    ld.initial_cell = sa_slice_features(g, gs, 6, 6);
    sa_node lstm = sa_lstm(g, gru, &ld);                 /* [B, T, 6] */
    sa_node lc = sa_name(g, sa_rnn_final_cell(g, lstm), "cell_n");
    sa_node a = sa_act(g, lstm, SA_ACT_TANH);

    sa_transformer_desc td = sa_transformer_desc_default();
    td.num_heads = 2;
    td.ff_dim = 8;
    td.dropout = 0.1f;
    td.activation = SA_ACT_GELU;
    td.name = "blk";
    sa_node tb = sa_transformer_block(g, a, &td);

    sa_mha_desc md = sa_mha_desc_default();
    md.embed_dim = 6;
    md.num_heads = 3;
    sa_node cross = sa_name(g, sa_mha(g, tb, gru, gru, &md), "cross"); /* kdim = vdim = 10 */
    sa_node s = sa_sdpa(g, cross, cross, a, 1);
    sa_node p1 = sa_attention_pool(g, s, SA_SCORE_ADDITIVE);
    sa_node p2 = sa_mean_time(g, sa_slice_time(g, s, 0, 2));
    sa_node p3 = sa_last_step(g, s);
    sa_node r = sa_add(g, sa_repeat_time(g, p1, s), s);
    sa_node p4 = sa_mean_time(g, sa_act(g, r, SA_ACT_RELU));
    sa_node parts[4] = {p1, p2, p3, lc};
    sa_node c = sa_concat(g, 4, parts);
    sa_node c2[2] = {c, p4};
    sa_node out = sa_name(g, sa_dense(g, sa_concat(g, 2, c2), 1), "out");
    sa_name(g, sa_loss_mse(g, out, y), "mse");
    sa_name(g, sa_loss_mae(g, sa_act(g, out, SA_ACT_SIGMOID), y), "mae");
    return g;
}

/* Sets inputs x [2, 5, 6] (lengths 5, 3) and y [2, 1, 1] from a seeded generator. */
static inline void io_all_kinds_inputs(sa_model *m, uint64_t seed)
{
    float x[2 * 5 * 6], y[2];
    tu_rng r = {seed};
    tu_fill(&r, x, sizeof x / sizeof *x, -1.0f, 1.0f);
    tu_fill(&r, y, 2, -1.0f, 1.0f);
    int32_t len[2] = {5, 3};
    sa_node xi, yi;
    REQUIRE_OK(sa_model_find_input(m, "x", &xi));
    REQUIRE_OK(sa_model_find_input(m, "y", &yi));
    REQUIRE_OK(sa_set_input(m, xi, x, 2, 5, len));
    REQUIRE_OK(sa_set_input(m, yi, y, 2, 1, NULL));
}

#endif
