/* model_file.c — whole-model files: the parameters plus the graph spec and
 * the seed in the metadata, so sa_model_load() rebuilds the model with no
 * code. Loading rebuilds the graph through the builders (graph_spec.c), then
 * checks that the file can hold the parameters the graph needs before
 * allocating them, then loads them strictly. */
#include <stdlib.h>
#include <string.h>

#include "../model/model_internal.h"
#include "io.h"

SA_API sa_status sa_model_save(const sa_model *m, const char *path)
{
    const char *fn = "sa_model_save";
    sa_clear_error();
    if (!m || !path)
        return sa_model_fail(m, sa_fail(SA_ERR_INVALID_ARG, "%s: %s is NULL", fn, !m ? "model" : "path"));
    char *spec = NULL;
    sa_status s = sa_spec_encode(m, &spec, fn);
    json_t *meta = s == SA_OK ? sa_io_meta("model") : NULL;
    if (s == SA_OK && (!meta || json_object_set_new(meta, SA_META_GRAPH, json_string(spec)) != 0 ||
                       !sa_io_meta_u64(meta, SA_META_SEED, m->seed)))
        s = sa_fail(SA_ERR_NO_MEMORY, "%s: out of memory", fn);
    if (s == SA_OK)
        s = sa_io_save(m, path, NULL, 0, meta, fn);
    json_decref(meta);
    free(spec);
    return s == SA_OK ? SA_OK : sa_model_fail(m, s);
}

/* Parameters need at least 2 bytes each in the file (F16, BF16), and a strict
 * load needs all of them: a graph asking for more is rejected before its
 * parameters are allocated, so a small hostile file cannot ask for terabytes. */
static sa_status check_budget(const sa_graph *g, uint64_t data_len, const char *fn)
{
    sa_param_spec specs[SA_MAX_PARAMS];
    uint64_t total = 0, cap = data_len / 2;
    for (int32_t i = 0; i < g->count; i++) {
        const sa_node_def *d = &g->nodes[i];
        int32_t n = d->ops->params ? d->ops->params(d, specs) : 0;
        for (int32_t k = 0; k < n; k++) {
            /* sizes passed the builders' checks: each factor is below 2^26 */
            uint64_t numel = (uint64_t)specs[k].shape[0] * (uint64_t)(specs[k].ndim > 1 ? specs[k].shape[1] : 1);
            if (numel > cap - total)
                return sa_fail(SA_ERR_FORMAT, "%s: the graph needs more parameters than the file's %llu data bytes "
                               "can hold (at '%s.%s')", fn, (unsigned long long)data_len, d->name, specs[k].suffix);
            total += numel;
        }
    }
    return SA_OK;
}

sa_status sa_io_model_load(const sa_src *src, const sa_model_options *opts, sa_model **out, const char *fn)
{
    *out = NULL;
    sa_st_file f;
    sa_status s = sa_st_parse(src, &f, fn);
    if (s != SA_OK)
        return s;
    sa_graph *g = NULL;
    sa_model *m = NULL;
    const char *spec = sa_st_meta(&f, SA_META_GRAPH);
    if (!spec)
        s = sa_fail(SA_ERR_FORMAT, "%s: the file has no graph (metadata \"%s\"): it holds parameters only; build "
                    "the model and call sa_load_params", fn, SA_META_GRAPH);
    if (s == SA_OK)
        s = sa_spec_decode(spec, &g, fn);
    if (s == SA_OK)
        s = check_budget(g, f.data_len, fn);
    sa_model_options o = sa_model_options_default();
    if (s == SA_OK && !opts) { /* the saved model's seed: same dropout masks */
        s = sa_io_get_u64(&f, SA_META_SEED, &o.seed, fn);
        if (s == SA_ERR_NOT_FOUND)
            s = SA_OK;
    }
    if (s == SA_OK) {
        s = sa_model_create(g, opts ? opts : &o, &m);
        if (s != SA_OK)
            s = sa_io_prefix(s, fn, "");
    }
    if (s == SA_OK) /* a new model: nothing to keep on failure, no staging needed */
        s = sa_io_read_params(m, &f, SA_LOAD_STRICT, NULL, m->values, fn);
    sa_graph_free(g);
    sa_st_free(&f);
    if (s != SA_OK) {
        sa_model_destroy(m);
        return s;
    }
    *out = m;
    return SA_OK;
}

SA_API sa_status sa_model_load(const char *path, const sa_model_options *opts, sa_model **out)
{
    const char *fn = "sa_model_load";
    sa_clear_error();
    if (out)
        *out = NULL;
    if (!path || !out)
        return sa_fail(SA_ERR_INVALID_ARG, "%s: %s is NULL", fn, !path ? "path" : "out");
    sa_src src;
    sa_status s = sa_src_open(&src, path, fn);
    if (s != SA_OK)
        return s;
    s = sa_io_model_load(&src, opts, out, fn);
    sa_src_close(&src);
    return s;
}
