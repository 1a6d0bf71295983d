/* checkpoint.c — training checkpoints: parameters, the optimizer's state
 * (kind, settings, step count as metadata; moments as the tensors
 * "__optim.m1" and "__optim.m2", flat in sa_param_get order) and the model's
 * seed and train index, which together fix every later dropout mask. With all
 * of it restored, a resumed run computes exactly what the uninterrupted run
 * would have. Loading stages everything and commits only when the whole file
 * checked out, so a failed load changes neither the model nor the optimizer. */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../model/model_internal.h"
#include "io.h"

#define OPT "seqattn.optim."
#define MOMENT_PREFIX "__optim."
static const char *const moment_names[2] = {MOMENT_PREFIX "m1", MOMENT_PREFIX "m2"};

/* the float settings of sa_optim_desc, by metadata key */
typedef struct float_field { const char *key; size_t off; } float_field;
static const float_field float_fields[] = {
    {OPT "lr", offsetof(sa_optim_desc, lr)},
    {OPT "momentum", offsetof(sa_optim_desc, momentum)},
    {OPT "beta1", offsetof(sa_optim_desc, beta1)},
    {OPT "beta2", offsetof(sa_optim_desc, beta2)},
    {OPT "eps", offsetof(sa_optim_desc, eps)},
    {OPT "weight_decay", offsetof(sa_optim_desc, weight_decay)},
    {OPT "clip_norm", offsetof(sa_optim_desc, clip_norm)},
};
#define N_FLOAT (sizeof float_fields / sizeof *float_fields)

static float *field(sa_optim_desc *d, size_t i) { return (float *)((char *)d + float_fields[i].off); }

/* ------------------------------------------------------------------ save */

static json_t *checkpoint_meta(const sa_model *m, const sa_optim_state *st)
{
    json_t *meta = sa_io_meta("checkpoint");
    int ok = meta && sa_io_meta_u64(meta, SA_META_SEED, m->seed) &&
             sa_io_meta_u64(meta, "seqattn.train_index", m->train_index) &&
             sa_io_meta_u64(meta, OPT "step", (uint64_t)st->step) &&
             json_object_set_new(meta, OPT "kind", json_string(st->desc.kind == SA_OPTIM_ADAM ? "adam" : "sgd")) == 0;
    sa_optim_desc d = st->desc;
    for (size_t i = 0; ok && i < N_FLOAT; i++) {
        char buf[32]; /* 9 significant digits give the float back exactly */
        snprintf(buf, sizeof buf, "%.9g", (double)*field(&d, i));
        ok = json_object_set_new(meta, float_fields[i].key, json_string(buf)) == 0;
    }
    if (!ok) {
        json_decref(meta);
        return NULL;
    }
    return meta;
}

SA_API sa_status sa_checkpoint_save(const sa_model *m, const sa_optim *o, const char *path)
{
    const char *fn = "sa_checkpoint_save";
    sa_clear_error();
    if (!m || !o || !path)
        return sa_model_fail(m, sa_fail(SA_ERR_INVALID_ARG, "%s: %s is NULL", fn,
                                        !m ? "model" : !o ? "optimizer" : "path"));
    if (sa_optim_model(o) != m)
        return sa_model_fail(m, sa_fail(SA_ERR_INVALID_ARG, "%s: the optimizer belongs to another model", fn));
    sa_optim_state st;
    sa_optim_get_state(o, &st);
    const float *moments[2] = {st.m1, st.m2};
    sa_st_out extra[2];
    int k = sa_optim_moments(&st.desc);
    for (int j = 0; j < k; j++)
        extra[j] = (sa_st_out){moment_names[j], 1, {(int64_t)m->nflat, 1}, moments[j], m->nflat};
    json_t *meta = checkpoint_meta(m, &st);
    sa_status s = meta ? sa_io_save(m, path, extra, (size_t)k, meta, fn)
                       : sa_fail(SA_ERR_NO_MEMORY, "%s: out of memory", fn);
    json_decref(meta);
    return s == SA_OK ? SA_OK : sa_model_fail(m, s);
}

/* ------------------------------------------------------------------ load */

static sa_status get_float(const sa_st_file *f, const char *key, float *out, const char *fn)
{
    const char *s = sa_st_meta(f, key);
    char *end = NULL;
    float x = s && *s && !isspace((unsigned char)*s) ? strtof(s, &end) : NAN;
    if (!s || !end || *end || !isfinite(x))
        return sa_fail(SA_ERR_FORMAT, "%s: metadata '%s' must hold a finite number", fn, key);
    *out = x;
    return SA_OK;
}

static sa_status get_required_u64(const sa_st_file *f, const char *key, uint64_t *v, const char *fn)
{
    sa_status s = sa_io_get_u64(f, key, v, fn);
    if (s == SA_ERR_NOT_FOUND)
        return sa_fail(SA_ERR_FORMAT, "%s: metadata '%s' is missing", fn, key);
    return s;
}

/* settings, step and RNG state from the metadata */
static sa_status read_meta(const sa_st_file *f, const sa_optim *o, sa_optim_state *st, uint64_t *seed,
                           uint64_t *train_index, const char *fn)
{
    const char *kind = sa_st_meta(f, OPT "kind");
    if (!kind)
        return sa_fail(SA_ERR_FORMAT, "%s: the file is not a checkpoint (no metadata '" OPT "kind')", fn);
    if (strcmp(kind, "adam") && strcmp(kind, "sgd"))
        return sa_fail(SA_ERR_FORMAT, "%s: unknown optimizer kind '%.20s'", fn, kind);
    sa_optim_state cur;
    sa_optim_get_state(o, &cur);
    st->desc = cur.desc;
    st->desc.kind = strcmp(kind, "adam") == 0 ? SA_OPTIM_ADAM : SA_OPTIM_SGD;
    if (st->desc.kind != cur.desc.kind)
        return sa_fail(SA_ERR_INVALID_ARG, "%s: the checkpoint holds a%s optimizer, the one given is %s", fn,
                       st->desc.kind == SA_OPTIM_ADAM ? "n Adam" : " SGD",
                       cur.desc.kind == SA_OPTIM_ADAM ? "Adam" : "SGD");
    for (size_t i = 0; i < N_FLOAT; i++) {
        sa_status s = get_float(f, float_fields[i].key, field(&st->desc, i), fn);
        if (s != SA_OK)
            return s;
    }
    uint64_t step;
    sa_status s = get_required_u64(f, OPT "step", &step, fn);
    if (s == SA_OK && step > INT64_MAX)
        s = sa_fail(SA_ERR_FORMAT, "%s: step %" PRIu64 " is out of range", fn, step);
    st->step = (int64_t)step;
    if (s == SA_OK)
        s = get_required_u64(f, SA_META_SEED, seed, fn);
    if (s == SA_OK)
        s = get_required_u64(f, "seqattn.train_index", train_index, fn);
    return s;
}

/* the moments the settings need, into new buffers; no other "__optim." tensor */
static sa_status read_moments(const sa_st_file *f, const sa_model *m, sa_optim_state *st, const char *fn)
{
    int k = sa_optim_moments(&st->desc);
    float **bufs[2] = {&st->m1, &st->m2};
    for (int j = 0; j < k; j++) {
        const sa_st_tensor *t = sa_st_find(f, moment_names[j]);
        if (!t)
            return sa_fail(SA_ERR_NOT_FOUND, "%s: tensor '%s' is missing", fn, moment_names[j]);
        if (t->ndim != 1 || (uint64_t)t->shape[0] != (uint64_t)m->nflat)
            return sa_fail(SA_ERR_SHAPE, "%s: tensor '%s' must have shape [%zu] (the model's parameter count)", fn,
                           moment_names[j], m->nflat);
        *bufs[j] = malloc((m->nflat ? m->nflat : 1) * sizeof(float));
        if (!*bufs[j])
            return sa_fail(SA_ERR_NO_MEMORY, "%s: cannot allocate %zu floats", fn, m->nflat);
        sa_status s = sa_st_read_f32(f, t, *bufs[j], fn);
        if (s != SA_OK)
            return s;
    }
    for (size_t i = 0; i < f->n; i++) {
        const char *name = f->t[i].name;
        int wanted = 0;
        for (int j = 0; j < k; j++)
            wanted |= strcmp(name, moment_names[j]) == 0;
        if (!wanted && strncmp(name, MOMENT_PREFIX, strlen(MOMENT_PREFIX)) == 0)
            return sa_fail(SA_ERR_NOT_FOUND, "%s: tensor '%.80s' is no part of this optimizer's state", fn, name);
    }
    return SA_OK;
}

sa_status sa_io_checkpoint_load(sa_model *m, sa_optim *o, const sa_src *src, const char *fn)
{
    if (sa_optim_model(o) != m)
        return sa_fail(SA_ERR_INVALID_ARG, "%s: the optimizer belongs to another model", fn);
    sa_st_file f;
    sa_status s = sa_st_parse(src, &f, fn);
    if (s != SA_OK)
        return s;
    sa_optim_state st = {0};
    uint64_t seed = 0, train_index = 0;
    float *stage = NULL;
    s = read_meta(&f, o, &st, &seed, &train_index, fn);
    if (s == SA_OK) {
        stage = malloc((m->nflat ? m->nflat : 1) * sizeof(float));
        s = stage ? sa_io_read_params(m, &f, SA_LOAD_STRICT, MOMENT_PREFIX, stage, fn)
                  : sa_fail(SA_ERR_NO_MEMORY, "%s: cannot allocate %zu floats", fn, m->nflat);
    }
    if (s == SA_OK)
        s = read_moments(&f, m, &st, fn);
    if (s == SA_OK) {
        s = sa_optim_set_state(o, &st); /* the last check; takes the moments */
        if (s != SA_OK)
            s = sa_io_prefix(SA_ERR_FORMAT, fn, "the file's optimizer settings are invalid: ");
    }
    if (s == SA_OK) { /* commit: nothing below can fail */
        memcpy(m->values, stage, m->nflat * sizeof(float));
        m->seed = seed;
        m->train_index = train_index;
    } else {
        free(st.m1);
        free(st.m2);
    }
    free(stage);
    sa_st_free(&f);
    return s;
}

SA_API sa_status sa_checkpoint_load(sa_model *m, sa_optim *o, const char *path)
{
    const char *fn = "sa_checkpoint_load";
    sa_clear_error();
    if (!m || !o || !path)
        return sa_model_fail(m, sa_fail(SA_ERR_INVALID_ARG, "%s: %s is NULL", fn,
                                        !m ? "model" : !o ? "optimizer" : "path"));
    sa_src src;
    sa_status s = sa_src_open(&src, path, fn);
    if (s == SA_OK) {
        s = sa_io_checkpoint_load(m, o, &src, fn);
        sa_src_close(&src);
    }
    return s == SA_OK ? SA_OK : sa_model_fail(m, s);
}
