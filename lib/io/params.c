/* params.c — parameters to and from safetensors files: sa_save_params,
 * sa_load_params, and the matching of a file's tensors to a model's
 * parameters that whole-model files and checkpoints share. */
#include <stdlib.h>
#include <string.h>

#include "../model/model_internal.h"
#include "io.h"

sa_status sa_io_save(const sa_model *m, const char *path, const sa_st_out *extra, size_t n_extra, json_t *meta,
                     const char *fn)
{
    size_t n = (size_t)m->np + n_extra;
    sa_st_out *t = calloc(n ? n : 1, sizeof *t);
    if (!t)
        return sa_fail(SA_ERR_NO_MEMORY, "%s: out of memory", fn);
    for (int32_t i = 0; i < m->np; i++) {
        const sa_param_entry *e = &m->ptab[i];
        t[i] = (sa_st_out){e->name, e->ndim, {e->shape[0], e->shape[1]}, m->values + e->off, e->numel};
    }
    if (n_extra)
        memcpy(t + m->np, extra, n_extra * sizeof *extra);
    sa_status s = sa_st_write(path, t, n, meta, fn);
    free(t);
    return s;
}

static void shape_str(char *buf, size_t cap, int32_t ndim, const int64_t *shape)
{
    size_t at = (size_t)snprintf(buf, cap, "[");
    for (int32_t i = 0; i < ndim && at < cap; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (at < cap)
        snprintf(buf + at, cap - at, "]");
}

static int same_shape(const sa_param_entry *e, const sa_st_tensor *t)
{
    if (t->ndim != e->ndim)
        return 0;
    for (int32_t i = 0; i < e->ndim; i++)
        if (t->shape[i] != e->shape[i])
            return 0;
    return 1;
}

static int is_float(const sa_st_tensor *t)
{
    return !strcmp(t->dtype, "F32") || !strcmp(t->dtype, "F64") || !strcmp(t->dtype, "F16") ||
           !strcmp(t->dtype, "BF16");
}

/* everything that can be checked without reading data, so a file that fails
 * is rejected cheaply and with the first problem in parameter order */
static sa_status check_params(const sa_model *m, const sa_st_file *f, sa_load_mode mode, const char *skip,
                              unsigned char *used, const char *fn)
{
    for (int32_t i = 0; i < m->np; i++) {
        const sa_param_entry *e = &m->ptab[i];
        const sa_st_tensor *t = sa_st_find(f, e->name);
        if (!t) {
            if (mode == SA_LOAD_STRICT)
                return sa_fail(SA_ERR_NOT_FOUND, "%s: parameter '%s' is not in the file (strict load)", fn,
                               e->name);
            continue;
        }
        if (!same_shape(e, t)) {
            char want[64], got[160];
            int64_t ws[2] = {e->shape[0], e->shape[1]};
            shape_str(want, sizeof want, e->ndim, ws);
            shape_str(got, sizeof got, t->ndim, t->shape);
            return sa_fail(SA_ERR_SHAPE, "%s: tensor '%s' has shape %s, the parameter has %s", fn, e->name, got,
                           want);
        }
        if (!is_float(t))
            return sa_fail(SA_ERR_FORMAT, "%s: tensor '%s' has dtype %s; parameters need F32 (or F64, F16, BF16, "
                           "converted)", fn, e->name, t->dtype);
        used[t - f->t] = 1;
    }
    if (mode == SA_LOAD_STRICT)
        for (size_t j = 0; j < f->n; j++)
            if (!used[j] && !(skip && strncmp(f->t[j].name, skip, strlen(skip)) == 0))
                return sa_fail(SA_ERR_NOT_FOUND, "%s: the file's tensor '%.80s' is not a parameter of the model "
                               "(strict load; SA_LOAD_LENIENT ignores it)", fn, f->t[j].name);
    return SA_OK;
}

sa_status sa_io_read_params(const sa_model *m, const sa_st_file *f, sa_load_mode mode, const char *skip_prefix,
                            float *stage, const char *fn)
{
    unsigned char *used = calloc(f->n ? f->n : 1, 1);
    if (!used)
        return sa_fail(SA_ERR_NO_MEMORY, "%s: out of memory", fn);
    sa_status s = check_params(m, f, mode, skip_prefix, used, fn);
    for (int32_t i = 0; i < m->np && s == SA_OK; i++) {
        const sa_st_tensor *t = sa_st_find(f, m->ptab[i].name);
        if (t)
            s = sa_st_read_f32(f, t, stage + m->ptab[i].off, fn);
    }
    free(used);
    return s;
}

sa_status sa_io_load_params(sa_model *m, const sa_src *src, sa_load_mode mode, const char *fn)
{
    sa_st_file f;
    sa_status s = sa_st_parse(src, &f, fn);
    if (s != SA_OK)
        return s;
    /* staged, so a file that fails half-way (bad value, read error) changes nothing */
    float *stage = malloc((m->nflat ? m->nflat : 1) * sizeof(float));
    if (!stage)
        s = sa_fail(SA_ERR_NO_MEMORY, "%s: cannot allocate %zu floats", fn, m->nflat);
    else {
        memcpy(stage, m->values, m->nflat * sizeof(float));
        s = sa_io_read_params(m, &f, mode, NULL, stage, fn);
        if (s == SA_OK)
            memcpy(m->values, stage, m->nflat * sizeof(float));
    }
    free(stage);
    sa_st_free(&f);
    return s;
}

/* ------------------------------------------------------------ public API */

SA_API sa_status sa_save_params(const sa_model *m, const char *path)
{
    const char *fn = "sa_save_params";
    sa_clear_error();
    if (!m || !path)
        return sa_model_fail(m, sa_fail(SA_ERR_INVALID_ARG, "%s: %s is NULL", fn, !m ? "model" : "path"));
    json_t *meta = sa_io_meta("params");
    sa_status s = meta ? sa_io_save(m, path, NULL, 0, meta, fn)
                       : sa_fail(SA_ERR_NO_MEMORY, "%s: out of memory", fn);
    json_decref(meta);
    return s == SA_OK ? SA_OK : sa_model_fail(m, s);
}

SA_API sa_status sa_load_params(sa_model *m, const char *path, sa_load_mode mode)
{
    const char *fn = "sa_load_params";
    sa_clear_error();
    if (!m || !path)
        return sa_model_fail(m, sa_fail(SA_ERR_INVALID_ARG, "%s: %s is NULL", fn, !m ? "model" : "path"));
    if (mode != SA_LOAD_STRICT && mode != SA_LOAD_LENIENT)
        return sa_model_fail(m, sa_fail(SA_ERR_INVALID_ARG, "%s: unknown mode %d", fn, (int)mode));
    sa_src src;
    sa_status s = sa_src_open(&src, path, fn);
    if (s == SA_OK) {
        s = sa_io_load_params(m, &src, mode, fn);
        sa_src_close(&src);
    }
    return s == SA_OK ? SA_OK : sa_model_fail(m, s);
}
