/* run.c — executing a model: inputs, activation planning, forward, backward. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

#define SA_ALIGN 64

SA_API sa_status sa_set_input(sa_model *m, sa_node input, const float *data, int32_t B, int32_t T,
                              const int32_t *lengths)
{
    sa_clear_error();
    sa_status s = sa_model_check_node(m, input, "sa_set_input");
    if (s != SA_OK)
        return s;
    const sa_node_def *d = &m->nodes[input];
    if (d->ops != &sa_op_input)
        return sa_model_fail(m, sa_fail(SA_ERR_BAD_NODE, "sa_set_input: node %d ('%s') is a %s, not an input",
                                        (int)input, d->name, d->ops->kind));
    if (!data)
        return sa_model_fail(m, sa_fail(SA_ERR_INVALID_ARG, "sa_set_input: data is NULL for '%s'", d->name));
    if (B < 1 || T < 1 || B > SA_MAX_DIM || T > SA_MAX_DIM)
        return sa_model_fail(m, sa_fail(SA_ERR_SHAPE, "sa_set_input: '%s' needs 1 <= B, T <= %d, got B=%d T=%d",
                                        d->name, SA_MAX_DIM, (int)B, (int)T));
    size_t n;
    if ((size_t)B * (size_t)T > INT32_MAX || /* layers index rows of [B*T, F] with int */
        !sa_mul_ok((size_t)B * (size_t)T, (size_t)d->F, &n) || !sa_mul_ok(n, sizeof(float), &(size_t){0}))
        return sa_model_fail(m, sa_fail(SA_ERR_OVERFLOW, "sa_set_input: '%s' B*T*F overflows", d->name));
    for (size_t i = 0; i < n; i++)
        if (!isfinite(data[i]))
            return sa_model_fail(m, sa_fail(SA_ERR_NUMERIC, "sa_set_input: '%s' element %zu is %s",
                                            d->name, i, isnan(data[i]) ? "NaN" : "infinite"));
    if (lengths)
        for (int32_t b = 0; b < B; b++)
            if (lengths[b] < 1 || lengths[b] > T)
                return sa_model_fail(m, sa_fail(SA_ERR_SHAPE,
                                                "sa_set_input: '%s' lengths[%d] = %d is outside 1..T=%d",
                                                d->name, (int)b, (int)lengths[b], (int)T));
    sa_input_buf *ib = &m->inputs[input];
    /* allocate both buffers before touching either, so a failure changes nothing */
    float *nd = n > ib->cap ? malloc(n * sizeof(float)) : NULL;
    int32_t *nl = lengths && B > ib->len_cap ? malloc((size_t)B * sizeof(int32_t)) : NULL;
    if ((n > ib->cap && !nd) || (lengths && B > ib->len_cap && !nl)) {
        free(nd);
        free(nl);
        return sa_model_fail(m, sa_fail(SA_ERR_NO_MEMORY, "sa_set_input: cannot allocate %zu floats for '%s'",
                                        n, d->name));
    }
    if (nd) {
        free(ib->data);
        ib->data = nd;
        ib->cap = n;
    }
    if (nl) {
        free(ib->len);
        ib->len = nl;
        ib->len_cap = B;
    }
    memcpy(ib->data, data, n * sizeof(float));
    int has_len = 0;
    if (lengths) {
        memcpy(ib->len, lengths, (size_t)B * sizeof(int32_t));
        for (int32_t b = 0; b < B; b++)
            has_len |= lengths[b] != T;
    }
    ib->B = B;
    ib->T = T;
    ib->set = 1 + has_len; /* 2: lengths are meaningful */
    if (m->step_mode && m->stepped[input])
        return SA_OK; /* the next sa_step reads it; earlier steps stay readable */
    if (m->step_mode && m->step_pos > 0) /* before the first step, the first step reads it */
        m->static_dirty = 1;
    m->fwd_state = SA_FWD_NONE;
    m->have_grads = 0;
    return SA_OK;
}

void sa_model_ctx(sa_model *m, sa_node id, sa_op_ctx *c)
{
    const sa_node_def *d = &m->nodes[id];
    memset(c, 0, sizeof *c);
    c->def = d;
    for (int32_t i = 0; i < d->n_in; i++)
        c->in[i] = &m->val[d->in[i]];
    c->out[0] = &m->val[id];
    for (int k = 1; k < SA_MAX_PORTS; k++)
        c->out[k] = d->ports[k] >= 0 ? &m->val[d->ports[k]] : NULL;
    for (int32_t k = 0; k < m->pcount[id]; k++) {
        const sa_param_entry *e = &m->ptab[m->pfirst[id] + k];
        c->param[k] = m->values + e->off;
        c->pgrad[k] = m->grads + e->off;
    }
    c->ws = m->ws[id];
    c->scratch = m->scratch;
    c->train = m->fwd_state == SA_FWD_TRAIN;
    c->model = m;
    c->id = id;
    c->seed = m->seed;
    c->forward_index = m->fwd_index;
    c->pos = m->step_pos;
    c->stepping = m->step_mode && m->stepped[id];
    for (int32_t i = 0; i < d->n_in; i++)
        c->in_stepped[i] = m->step_mode && m->stepped[d->in[i]];
}

void *sa_ctx_state(sa_op_ctx *c, size_t bytes)
{
    sa_model *m = c->model;
    if (bytes <= m->state_cap[c->id])
        return m->state[c->id];
    void *p = realloc(m->state[c->id], bytes);
    if (!p)
        return NULL;
    m->state[c->id] = p;
    m->state_cap[c->id] = bytes;
    return p;
}

static size_t align_up(size_t n) { return (n + SA_ALIGN - 1) & ~(size_t)(SA_ALIGN - 1); }

/* Runs every reshape, then sizes and (re)allocates the arena. */
sa_status sa_model_plan(sa_model *m, int train, const char *fn)
{
    int32_t B = -1;
    for (sa_node id = 0; id < m->count; id++) {
        const sa_node_def *d = &m->nodes[id];
        sa_tensor *v = &m->val[id];
        if (d->ops == &sa_op_input) {
            const sa_input_buf *ib = &m->inputs[id];
            if (!ib->set)
                return sa_fail(SA_ERR_STATE, "%s: input '%s' was not set", fn, d->name);
            if (B >= 0 && ib->B != B)
                return sa_fail(SA_ERR_SHAPE, "%s: input '%s' has B=%d but another input has B=%d", fn,
                               d->name, (int)ib->B, (int)B);
            B = ib->B;
            *v = (sa_tensor){ib->data, NULL, ib->B, ib->T, d->F, ib->set == 2 ? ib->len : NULL};
            continue;
        }
        if (d->ops == &sa_op_port)
            continue; /* shaped by its producer, which comes first */
        sa_op_ctx c;
        sa_model_ctx(m, id, &c);
        v->B = c.in[0]->B;
        for (int32_t i = 1; i < d->n_in; i++) /* per-sample inputs must agree on B */
            if (c.in[i]->B != v->B)
                return sa_fail(SA_ERR_SHAPE, "%s: node '%s' (%s): input %d has B=%d, input 0 has B=%d", fn,
                               d->name, d->ops->kind, (int)i, (int)c.in[i]->B, (int)v->B);
        v->F = d->F;
        v->T = 1;
        v->len = NULL;
        for (int k = 1; k < SA_MAX_PORTS; k++)
            if (c.out[k]) {
                c.out[k]->B = v->B;
                c.out[k]->F = m->nodes[d->ports[k]].F;
                c.out[k]->T = 1;
                c.out[k]->len = NULL;
            }
        sa_status s = d->ops->reshape(&c);
        if (s != SA_OK) { /* layer messages name the layer; say which call failed */
            char msg[400];
            snprintf(msg, sizeof msg, "%s", sa_tls_error());
            return sa_fail(s, "%s: %s", fn, msg);
        }
        size_t n;
        if (!sa_mul_ok((size_t)v->B * (size_t)v->T, (size_t)v->F, &n) || !sa_mul_ok(n, 2 * sizeof(float), &n))
            return sa_fail(SA_ERR_OVERFLOW, "%s: node '%s' would hold %d x %d x %d values", fn, d->name,
                           (int)v->B, (int)v->T, (int)v->F);
    }
    /* sizes: outputs of computed nodes, gradients of all nodes in training,
     * workspaces, and one scratch region as large as the largest node's */
    size_t total = 0, scratch = 0;
    for (int pass = 0; pass < 4; pass++)
        for (sa_node id = 0; id < m->count; id++) {
            const sa_node_def *d = &m->nodes[id];
            size_t bytes = 0;
            if (pass >= 2) {
                size_t (*size_of)(const sa_op_ctx *) = pass == 2 ? d->ops->ws_bytes : d->ops->scratch_bytes;
                if (size_of) {
                    sa_op_ctx c;
                    sa_model_ctx(m, id, &c);
                    bytes = size_of(&c);
                }
                if (pass == 3) {
                    if (bytes == SIZE_MAX || align_up(bytes) < bytes)
                        return sa_fail(SA_ERR_OVERFLOW, "%s: scratch memory overflows at '%s'", fn, d->name);
                    scratch = align_up(bytes) > scratch ? align_up(bytes) : scratch;
                    continue;
                }
            } else if (pass == 1 ? train : d->ops != &sa_op_input) {
                size_t n;
                if (!sa_mul_ok(sa_numel(&m->val[id]), sizeof(float), &n))
                    return sa_fail(SA_ERR_OVERFLOW, "%s: node '%s' is too large", fn, d->name);
                bytes = n;
            }
            if (bytes == SIZE_MAX || !sa_add_ok(total, align_up(bytes), &total) || align_up(bytes) < bytes)
                return sa_fail(SA_ERR_OVERFLOW, "%s: activation memory overflows at '%s'", fn, d->name);
        }
    if (!sa_add_ok(total, scratch, &total))
        return sa_fail(SA_ERR_OVERFLOW, "%s: activation memory overflows", fn);
    if (total > m->arena_cap) {
        free(m->arena);
        m->arena = NULL;
        m->arena_cap = 0;
        m->arena = aligned_alloc(SA_ALIGN, total);
        if (!m->arena)
            return sa_fail(SA_ERR_NO_MEMORY, "%s: cannot allocate %zu bytes of activations", fn, total);
        m->arena_cap = total;
    }
    unsigned char *p = m->arena;
    for (sa_node id = 0; id < m->count; id++)
        if (m->nodes[id].ops != &sa_op_input) {
            m->val[id].data = (float *)p;
            p += align_up(sa_numel(&m->val[id]) * sizeof(float));
        }
    m->grad_region = (float *)p;
    for (sa_node id = 0; id < m->count; id++) {
        m->val[id].grad = train ? (float *)p : NULL;
        if (train)
            p += align_up(sa_numel(&m->val[id]) * sizeof(float));
    }
    m->grad_region_bytes = (size_t)(p - (unsigned char *)m->grad_region);
    m->plan_values = (size_t)((unsigned char *)m->grad_region - m->arena);
    unsigned char *ws0 = p;
    for (sa_node id = 0; id < m->count; id++) {
        m->ws[id] = p;
        if (m->nodes[id].ops->ws_bytes) {
            sa_op_ctx c;
            sa_model_ctx(m, id, &c);
            p += align_up(m->nodes[id].ops->ws_bytes(&c));
        }
    }
    m->plan_ws = (size_t)(p - ws0);
    m->scratch = p;
    m->plan_scratch = scratch;
    return SA_OK;
}

SA_API sa_status sa_forward(sa_model *m, sa_mode mode)
{
    sa_clear_error();
    if (!m)
        return sa_fail(SA_ERR_INVALID_ARG, "sa_forward: model is NULL");
    if (mode != SA_INFER && mode != SA_TRAIN)
        return sa_model_fail(m, sa_fail(SA_ERR_INVALID_ARG, "sa_forward: mode %d is not SA_INFER or SA_TRAIN",
                                        (int)mode));
    m->fwd_state = SA_FWD_NONE;
    m->have_grads = 0;
    m->step_mode = 0; /* a full forward ends step execution */
    /* ops size their workspace by mode (c->train), so the mode is set before planning */
    m->fwd_state = mode == SA_TRAIN ? SA_FWD_TRAIN : SA_FWD_INFER;
    sa_status s = sa_model_plan(m, mode == SA_TRAIN, "sa_forward");
    if (s != SA_OK)
        m->fwd_state = SA_FWD_NONE;
    if (s != SA_OK)
        return sa_model_fail(m, s);
    m->fwd_state = mode == SA_TRAIN ? SA_FWD_TRAIN : SA_FWD_INFER;
    if (mode == SA_TRAIN) /* a forward that runs takes the next draw of every training stream */
        m->fwd_index = m->train_index++;
    sa_blas_scope_begin(m->threads, &m->split_fwd);
    for (sa_node id = 0; id < m->count && s == SA_OK; id++) {
        const sa_node_def *d = &m->nodes[id];
        if (!d->ops->forward)
            continue;
        sa_op_ctx c;
        sa_model_ctx(m, id, &c);
        s = d->ops->forward(&c);
    }
    sa_blas_scope_end();
    if (s != SA_OK) {
        m->fwd_state = SA_FWD_NONE;
        return sa_model_fail(m, s);
    }
    return SA_OK;
}

static sa_status run_backward(sa_model *m)
{
    /* a node is live if a seed or a live consumer reaches it; ids are topological */
    for (sa_node id = m->count - 1; id >= 0; id--) {
        if (!m->live[id])
            continue;
        const sa_node_def *d = &m->nodes[id];
        for (int32_t i = 0; i < d->n_in; i++)
            m->live[d->in[i]] = 1;
    }
    sa_blas_scope_begin(m->threads, &m->split_bwd);
    for (sa_node id = m->count - 1; id >= 0; id--) {
        const sa_node_def *d = &m->nodes[id];
        if (!m->live[id] || !d->ops->backward)
            continue;
        sa_op_ctx c;
        sa_model_ctx(m, id, &c);
        d->ops->backward(&c);
    }
    sa_blas_scope_end();
    m->have_grads = 1;
    return SA_OK;
}

static sa_status check_trained(sa_model *m, const char *fn)
{
    if (m->fwd_state != SA_FWD_TRAIN)
        return sa_model_fail(m, sa_fail(SA_ERR_STATE, "%s: needs sa_forward(m, SA_TRAIN) first%s", fn,
                                        m->fwd_state == SA_FWD_INFER ? " (last forward was SA_INFER)" : ""));
    return SA_OK;
}

/* Called once every argument is known good, so a rejected call keeps the
 * node gradients of the previous backward. */
static void reset_node_grads(sa_model *m)
{
    memset(m->grad_region, 0, m->grad_region_bytes);
    memset(m->live, 0, (size_t)m->count);
    m->have_grads = 0;
}

SA_API sa_status sa_backward(sa_model *m, sa_node loss)
{
    sa_clear_error();
    sa_status s = sa_model_check_node(m, loss, "sa_backward");
    if (s != SA_OK)
        return s;
    if ((s = check_trained(m, "sa_backward")) != SA_OK)
        return s;
    if (sa_numel(&m->val[loss]) != 1)
        return sa_model_fail(m, sa_fail(SA_ERR_SHAPE,
                                        "sa_backward: node '%s' is [%d, %d, %d], not a scalar loss; "
                                        "use sa_backward_from", m->nodes[loss].name, (int)m->val[loss].B,
                                        (int)m->val[loss].T, (int)m->val[loss].F));
    reset_node_grads(m);
    m->val[loss].grad[0] = 1.0f;
    m->live[loss] = 1;
    return run_backward(m);
}

SA_API sa_status sa_backward_from(sa_model *m, int32_t n, const sa_node *nodes, const float *const *grads)
{
    sa_clear_error();
    if (!m)
        return sa_fail(SA_ERR_INVALID_ARG, "sa_backward_from: model is NULL");
    if (n < 1 || !nodes || !grads)
        return sa_model_fail(m, sa_fail(SA_ERR_INVALID_ARG, "sa_backward_from: needs n >= 1 nodes and grads"));
    for (int32_t i = 0; i < n; i++) {
        sa_status s = sa_model_check_node(m, nodes[i], "sa_backward_from");
        if (s != SA_OK)
            return s;
        if (!grads[i])
            return sa_model_fail(m, sa_fail(SA_ERR_INVALID_ARG, "sa_backward_from: grads[%d] is NULL", (int)i));
    }
    sa_status s = check_trained(m, "sa_backward_from");
    if (s != SA_OK)
        return s;
    for (int32_t i = 0; i < n; i++) {
        size_t k = sa_numel(&m->val[nodes[i]]);
        for (size_t j = 0; j < k; j++)
            if (!isfinite(grads[i][j]))
                return sa_model_fail(m, sa_fail(SA_ERR_NUMERIC, "sa_backward_from: grads[%d][%zu] is not finite",
                                                (int)i, j));
    }
    reset_node_grads(m);
    for (int32_t i = 0; i < n; i++) {
        sa_tensor *v = &m->val[nodes[i]];
        size_t k = sa_numel(v);
        for (size_t j = 0; j < k; j++)
            v->grad[j] += grads[i][j];
        m->live[nodes[i]] = 1;
    }
    return run_backward(m);
}

/* ---------------------------------------------------------------- getters */

static sa_status check_read(const sa_model *m, sa_node n, const char *fn)
{
    sa_status s = sa_model_check_node(m, n, fn);
    if (s != SA_OK)
        return s;
    if (m->fwd_state == SA_FWD_NONE)
        return sa_model_fail(m, sa_fail(SA_ERR_STATE, "%s: no forward pass since the inputs changed", fn));
    return SA_OK;
}

SA_API sa_status sa_node_shape(const sa_model *m, sa_node n, int32_t shape[3])
{
    sa_clear_error();
    sa_status s = check_read(m, n, "sa_node_shape");
    if (s != SA_OK)
        return s;
    if (!shape)
        return sa_model_fail(m, sa_fail(SA_ERR_INVALID_ARG, "sa_node_shape: shape is NULL"));
    shape[0] = m->val[n].B;
    shape[1] = m->val[n].T;
    shape[2] = m->val[n].F;
    return SA_OK;
}

static sa_status copy_out(const sa_model *m, sa_node n, const float *src, float *dst, size_t cap,
                          int32_t shape[3], const char *fn)
{
    const sa_tensor *v = &m->val[n];
    if (shape) {
        shape[0] = v->B;
        shape[1] = v->T;
        shape[2] = v->F;
    }
    if (!dst && cap == 0)
        return SA_OK;
    if (!dst)
        return sa_model_fail(m, sa_fail(SA_ERR_INVALID_ARG, "%s: dst is NULL with cap %zu", fn, cap));
    if (cap < sa_numel(v))
        return sa_model_fail(m, sa_fail(SA_ERR_SHAPE, "%s: '%s' has %zu values, cap is %zu", fn,
                                        m->nodes[n].name, sa_numel(v), cap));
    memcpy(dst, src, sa_numel(v) * sizeof(float));
    return SA_OK;
}

SA_API sa_status sa_get_output(const sa_model *m, sa_node n, float *dst, size_t cap, int32_t shape[3])
{
    sa_clear_error();
    sa_status s = check_read(m, n, "sa_get_output");
    return s != SA_OK ? s : copy_out(m, n, m->val[n].data, dst, cap, shape, "sa_get_output");
}

SA_API sa_status sa_get_grad(const sa_model *m, sa_node n, float *dst, size_t cap, int32_t shape[3])
{
    sa_clear_error();
    sa_status s = check_read(m, n, "sa_get_grad");
    if (s != SA_OK)
        return s;
    if (!m->have_grads)
        return sa_model_fail(m, sa_fail(SA_ERR_STATE, "sa_get_grad: no backward pass since the last forward"));
    return copy_out(m, n, m->val[n].grad, dst, cap, shape, "sa_get_grad");
}

SA_API sa_status sa_get_lengths(const sa_model *m, sa_node n, int32_t *dst, size_t cap)
{
    sa_clear_error();
    sa_status s = check_read(m, n, "sa_get_lengths");
    if (s != SA_OK)
        return s;
    const sa_tensor *v = &m->val[n];
    if (!dst)
        return sa_model_fail(m, sa_fail(SA_ERR_INVALID_ARG, "sa_get_lengths: dst is NULL"));
    if (cap < (size_t)v->B)
        return sa_model_fail(m, sa_fail(SA_ERR_SHAPE, "sa_get_lengths: needs room for B=%d values",
                                        (int)v->B));
    for (int32_t b = 0; b < v->B; b++)
        dst[b] = sa_len(v, b);
    return SA_OK;
}

SA_API sa_status sa_get_attention(const sa_model *m, sa_node n, sa_heads mode, float *dst, size_t cap,
                                  int32_t shape[4])
{
    sa_clear_error();
    sa_status s = check_read(m, n, "sa_get_attention");
    if (s != SA_OK)
        return s;
    const sa_node_def *d = &m->nodes[n];
    if (!d->ops->attention)
        return sa_model_fail(m, sa_fail(SA_ERR_BAD_NODE, "sa_get_attention: '%s' (%s) keeps no attention",
                                        d->name, d->ops->kind));
    if (mode != SA_HEADS_ALL && mode != SA_HEADS_MEAN)
        return sa_model_fail(m, sa_fail(SA_ERR_INVALID_ARG, "sa_get_attention: bad mode %d", (int)mode));
    sa_op_ctx c;
    sa_model_ctx((sa_model *)m, n, &c);
    int32_t sh[4];
    const float *a = d->ops->attention(&c, sh);
    int32_t H = sh[1];
    size_t per_head = (size_t)sh[2] * sh[3];
    if (mode == SA_HEADS_MEAN)
        sh[1] = 1;
    if (shape)
        memcpy(shape, sh, sizeof sh);
    size_t need = (size_t)sh[0] * sh[1] * per_head;
    if (!dst && cap == 0)
        return SA_OK;
    if (!dst)
        return sa_model_fail(m, sa_fail(SA_ERR_INVALID_ARG, "sa_get_attention: dst is NULL with cap %zu", cap));
    if (cap < need)
        return sa_model_fail(m, sa_fail(SA_ERR_SHAPE, "sa_get_attention: needs %zu floats, cap is %zu", need, cap));
    if (mode == SA_HEADS_ALL) {
        memcpy(dst, a, need * sizeof(float));
        return SA_OK;
    }
    for (int32_t b = 0; b < sh[0]; b++)
        for (size_t j = 0; j < per_head; j++) {
            float acc = 0.0f;
            for (int32_t h = 0; h < H; h++)
                acc += a[((size_t)b * H + h) * per_head + j];
            dst[(size_t)b * per_head + j] = acc / (float)H;
        }
    return SA_OK;
}
