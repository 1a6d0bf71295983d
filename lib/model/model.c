/* model.c — creating a model from a graph: validation, parameter table,
 * seeded initialisation; destruction and parameter access. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

SA_API sa_model_options sa_model_options_default(void)
{
    sa_model_options o = {SA_MODEL_OPTIONS_INIT};
    return o;
}

sa_status sa_model_fail(const sa_model *m, sa_status s)
{
    if (m) /* the per-handle message is a cache of the thread slot */
        snprintf(((sa_model *)m)->errmsg, sizeof m->errmsg, "%s", sa_tls_error());
    return s;
}

sa_status sa_model_check_node(const sa_model *m, sa_node n, const char *fn)
{
    if (!m)
        return sa_fail(SA_ERR_INVALID_ARG, "%s: model is NULL", fn);
    if (n < 0 || n >= m->count)
        return sa_model_fail(m, sa_fail(SA_ERR_BAD_NODE, "%s: node id %d is not in this model (%d nodes)",
                                        fn, (int)n, (int)m->count));
    return SA_OK;
}

SA_API const char *sa_model_errmsg(const sa_model *m)
{
    return m ? m->errmsg : "sa_model_errmsg: model is NULL";
}

/* Threads come from OpenBLAS's own pool; more than it was built for are
 * clamped by it. The bound only rejects nonsense. */
#define SA_MAX_THREADS 1024

SA_API sa_status sa_model_set_threads(sa_model *m, int n)
{
    sa_clear_error();
    if (!m)
        return sa_fail(SA_ERR_INVALID_ARG, "sa_model_set_threads: model is NULL");
    if (n < 0 || n > SA_MAX_THREADS)
        return sa_model_fail(m, sa_fail(SA_ERR_INVALID_ARG, "sa_model_set_threads: n = %d is outside 0..%d",
                                        n, SA_MAX_THREADS));
    if (n > 0 && !sa_blas_threads_settable())
        return sa_model_fail(m, sa_fail(SA_ERR_UNSUPPORTED, "sa_model_set_threads: the BLAS this library "
                                        "runs on is not OpenBLAS; its thread count cannot be set"));
    m->threads = n;
    return SA_OK;
}

static sa_status build_param_table(sa_model *m)
{
    sa_param_spec specs[SA_MAX_PARAMS];
    int32_t total = 0;
    for (int32_t i = 0; i < m->count; i++)
        total += m->nodes[i].ops->params ? m->nodes[i].ops->params(&m->nodes[i], specs) : 0;
    m->ptab = calloc(total ? (size_t)total : 1, sizeof *m->ptab);
    m->pfirst = calloc((size_t)m->count, sizeof *m->pfirst);
    m->pcount = calloc((size_t)m->count, sizeof *m->pcount);
    if (!m->ptab || !m->pfirst || !m->pcount)
        return sa_fail(SA_ERR_NO_MEMORY, "sa_model_create: out of memory");
    size_t off = 0;
    for (int32_t i = 0; i < m->count; i++) {
        const sa_node_def *d = &m->nodes[i];
        int32_t n = d->ops->params ? d->ops->params(d, specs) : 0;
        m->pfirst[i] = m->np;
        m->pcount[i] = n;
        for (int32_t k = 0; k < n; k++) {
            sa_param_entry *e = &m->ptab[m->np++];
            snprintf(e->name, sizeof e->name, "%.63s.%.63s", d->name, specs[k].suffix);
            e->ndim = specs[k].ndim;
            e->shape[0] = specs[k].shape[0];
            e->shape[1] = specs[k].ndim > 1 ? specs[k].shape[1] : 1;
            e->shape[2] = e->shape[3] = 1;
            if (!sa_mul_ok((size_t)e->shape[0], (size_t)e->shape[1], &e->numel))
                return sa_fail(SA_ERR_OVERFLOW, "sa_model_create: parameter %s is too large", e->name);
            e->off = off;
            if (!sa_add_ok(off, e->numel, &off) || off > ((size_t)1 << 40) / sizeof(float))
                return sa_fail(SA_ERR_OVERFLOW, "sa_model_create: parameters exceed 4 TiB at %s",
                               e->name);
        }
    }
    m->nflat = off;
    m->values = calloc(off ? off : 1, sizeof(float));
    m->grads = calloc(off ? off : 1, sizeof(float));
    if (!m->values || !m->grads)
        return sa_fail(SA_ERR_NO_MEMORY, "sa_model_create: cannot allocate %zu parameters", off);
    return SA_OK;
}

static void init_params(sa_model *m, uint64_t seed)
{
    sa_param_spec specs[SA_MAX_PARAMS];
    for (int32_t i = 0; i < m->count; i++) {
        const sa_node_def *d = &m->nodes[i];
        if (!m->pcount[i])
            continue;
        d->ops->params(d, specs);
        for (int32_t k = 0; k < m->pcount[i]; k++) {
            const sa_param_entry *e = &m->ptab[m->pfirst[i] + k];
            float *v = m->values + e->off;
            sa_rng rng;
            sa_rng_seed(&rng, seed, e->name);
            for (size_t j = 0; j < e->numel; j++)
                v[j] = specs[k].init == SA_INIT_ZERO     ? 0.0f
                     : specs[k].init == SA_INIT_ONE    ? 1.0f
                     : specs[k].init == SA_INIT_NORMAL ? specs[k].bound * sa_rng_normal(&rng)
                     : sa_rng_uniform(&rng, -specs[k].bound, specs[k].bound);
        }
    }
}

SA_API sa_status sa_model_create(const sa_graph *g, const sa_model_options *opts, sa_model **out)
{
    sa_clear_error();
    if (out)
        *out = NULL;
    if (!g || !out)
        return sa_fail(SA_ERR_INVALID_ARG, "sa_model_create: %s is NULL", !g ? "graph" : "out");
    sa_model_options o = sa_model_options_default();
    if (opts) {
        if (opts->struct_size < offsetof(sa_model_options, seed) + sizeof opts->seed)
            return sa_fail(SA_ERR_INVALID_ARG, "sa_model_create: opts->struct_size %zu is too small",
                           opts->struct_size);
        o.seed = opts->seed;
    }
    if (g->status != SA_OK)
        return sa_fail(g->status, "sa_model_create: graph has an error: %s", g->errmsg);
    if (g->count == 0)
        return sa_fail(SA_ERR_INVALID_ARG, "sa_model_create: graph is empty");

    sa_model *m = calloc(1, sizeof *m);
    if (!m)
        return sa_fail(SA_ERR_NO_MEMORY, "sa_model_create: out of memory");
    m->count = g->count;
    m->nodes = malloc((size_t)g->count * sizeof *m->nodes);
    m->val = calloc((size_t)g->count, sizeof *m->val);
    m->ws = calloc((size_t)g->count, sizeof *m->ws);
    m->inputs = calloc((size_t)g->count, sizeof *m->inputs);
    m->live = calloc((size_t)g->count, 1);
    m->state = calloc((size_t)g->count, sizeof *m->state);
    m->state_cap = calloc((size_t)g->count, sizeof *m->state_cap);
    m->stepped = calloc((size_t)g->count, 1);
    sa_status s = SA_OK;
    if (!m->nodes || !m->val || !m->ws || !m->inputs || !m->live || !m->state || !m->state_cap || !m->stepped)
        s = sa_fail(SA_ERR_NO_MEMORY, "sa_model_create: out of memory");
    else {
        memcpy(m->nodes, g->nodes, (size_t)g->count * sizeof *m->nodes);
        s = build_param_table(m);
    }
    if (s != SA_OK) {
        sa_model_destroy(m);
        return s;
    }
    m->seed = o.seed;
    init_params(m, o.seed);
    *out = m;
    return SA_OK;
}

SA_API void sa_model_destroy(sa_model *m)
{
    if (!m)
        return;
    if (m->inputs)
        for (int32_t i = 0; i < m->count; i++) {
            free(m->inputs[i].data);
            free(m->inputs[i].len);
        }
    if (m->state)
        for (int32_t i = 0; i < m->count; i++)
            free(m->state[i]);
    free(m->state);
    free(m->state_cap);
    free(m->stepped);
    free(m->inputs);
    free(m->nodes);
    free(m->pfirst);
    free(m->pcount);
    free(m->ptab);
    free(m->values);
    free(m->grads);
    free(m->val);
    free(m->ws);
    free(m->live);
    free(m->arena);
    free(m);
}

static sa_status find_node(const sa_model *m, const char *name, sa_node *out, int inputs_only, const char *fn)
{
    if (!m || !name || !out)
        return sa_model_fail(m, sa_fail(SA_ERR_INVALID_ARG, "%s: %s is NULL", fn,
                                        !m ? "model" : !name ? "name" : "out"));
    for (int32_t i = 0; i < m->count; i++)
        if ((!inputs_only || m->nodes[i].ops == &sa_op_input) && strcmp(m->nodes[i].name, name) == 0) {
            *out = i;
            return SA_OK;
        }
    *out = SA_NODE_INVALID;
    return sa_model_fail(m, sa_fail(SA_ERR_NOT_FOUND, "%s: no %s named '%s'", fn, inputs_only ? "input" : "node",
                                    name));
}

SA_API sa_status sa_model_find_input(const sa_model *m, const char *name, sa_node *out)
{
    return find_node(m, name, out, 1, "sa_model_find_input");
}

SA_API sa_status sa_model_find_node(const sa_model *m, const char *name, sa_node *out)
{
    return find_node(m, name, out, 0, "sa_model_find_node");
}

/* ---------------------------------------------------- training randomness */

SA_API sa_status sa_model_get_train_index(const sa_model *m, uint64_t *index)
{
    if (!m || !index)
        return sa_model_fail(m, sa_fail(SA_ERR_INVALID_ARG, "sa_model_get_train_index: %s is NULL",
                                        !m ? "model" : "index"));
    *index = m->train_index;
    return SA_OK;
}

SA_API sa_status sa_model_set_train_index(sa_model *m, uint64_t index)
{
    if (!m)
        return sa_fail(SA_ERR_INVALID_ARG, "sa_model_set_train_index: model is NULL");
    m->train_index = index; /* the last forward's masks stay with its backward */
    return SA_OK;
}

/* ------------------------------------------------------------- parameters */

SA_API int32_t sa_param_count(const sa_model *m) { return m ? m->np : 0; }

static void fill_info(const sa_model *m, int32_t i, sa_param_info *out)
{
    const sa_param_entry *e = &m->ptab[i];
    out->name = e->name;
    out->ndim = e->ndim;
    memcpy(out->shape, e->shape, sizeof out->shape);
    out->numel = e->numel;
    out->value = m->values + e->off;
    out->grad = m->grads + e->off;
}

SA_API sa_status sa_param_get(const sa_model *m, int32_t i, sa_param_info *out)
{
    if (!m || !out)
        return sa_model_fail(m, sa_fail(SA_ERR_INVALID_ARG, "sa_param_get: %s is NULL", !m ? "model" : "out"));
    if (i < 0 || i >= m->np)
        return sa_model_fail(m, sa_fail(SA_ERR_NOT_FOUND, "sa_param_get: index %d is outside 0..%d",
                                        (int)i, (int)m->np - 1));
    fill_info(m, i, out);
    return SA_OK;
}

SA_API sa_status sa_param_find(const sa_model *m, const char *name, sa_param_info *out)
{
    if (!m || !name || !out)
        return sa_model_fail(m, sa_fail(SA_ERR_INVALID_ARG, "sa_param_find: %s is NULL",
                                        !m ? "model" : !name ? "name" : "out"));
    for (int32_t i = 0; i < m->np; i++)
        if (strcmp(m->ptab[i].name, name) == 0) {
            fill_info(m, i, out);
            return SA_OK;
        }
    return sa_model_fail(m, sa_fail(SA_ERR_NOT_FOUND, "sa_param_find: no parameter named '%s'", name));
}

SA_API sa_status sa_params_flat(sa_model *m, float **values, float **grads, size_t *n)
{
    if (!m || !values || !grads || !n)
        return sa_model_fail(m, sa_fail(SA_ERR_INVALID_ARG, "sa_params_flat: an argument is NULL"));
    *values = m->values;
    *grads = m->grads;
    *n = m->nflat;
    return SA_OK;
}

SA_API sa_status sa_zero_grad(sa_model *m)
{
    if (!m)
        return sa_fail(SA_ERR_INVALID_ARG, "sa_zero_grad: model is NULL");
    memset(m->grads, 0, m->nflat * sizeof(float));
    return SA_OK;
}
