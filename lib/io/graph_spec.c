/* graph_spec.c — a model's graph as JSON, and back.
 *
 * The spec lists the nodes in id order with the fields of their definition
 * (kind, name, F, inputs, iarg, farg, port). Loading never trusts those
 * fields: each node is re-created by its kind's public builder through the
 * op's rebuild hook (see sa_layer_ops), which runs every check the builder
 * runs, and the new node must then equal the spec field by field. A spec can
 * therefore only describe graphs that the builder calls could have made; no
 * kind-specific code lives here. Format and versioning: docs/persistence.md. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../model/model_internal.h"
#include "io.h"

/* ---------------------------------------------------------------- encode */

static json_t *int_array(const int32_t *v, int32_t n)
{
    json_t *a = json_array();
    for (int32_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_integer(v[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    return a;
}

static json_t *node_json(const sa_node_def *d)
{
    json_t *farg = json_array();
    for (int i = 0; farg && i < 4; i++)
        if (json_array_append_new(farg, json_real((double)d->farg[i])) != 0) {
            json_decref(farg);
            farg = NULL;
        }
    json_t *in = int_array(d->in, d->n_in), *iarg = int_array(d->iarg, 8);
    if (!farg || !in || !iarg) {
        json_decref(farg);
        json_decref(in);
        json_decref(iarg);
        return NULL;
    }
    return json_pack("{s:s, s:s, s:i, s:o, s:o, s:o, s:i, s:i}", "kind", d->ops->kind, "name", d->name, "F",
                     (int)d->F, "in", in, "iarg", iarg, "farg", farg, "port_of", (int)d->port_of, "port_index",
                     (int)d->port_index);
}

sa_status sa_spec_encode(const sa_model *m, char **out, const char *fn)
{
    *out = NULL;
    for (int32_t i = 0; i < m->count; i++) {
        const sa_node_def *d = &m->nodes[i];
        if (!d->ops->rebuild)
            return sa_fail(SA_ERR_UNSUPPORTED, "%s: node '%s' is a %s, which cannot be saved as a whole model "
                           "(save the parameters with sa_save_params)", fn, d->name, d->ops->kind);
        for (int k = 0; k < 4; k++)
            if (!isfinite(d->farg[k])) /* builders only store finite values */
                return sa_fail(SA_ERR_INTERNAL, "%s: node '%s' has a non-finite argument", fn, d->name);
    }
    json_t *nodes = json_array();
    for (int32_t i = 0; nodes && i < m->count; i++)
        if (json_array_append_new(nodes, node_json(&m->nodes[i])) != 0) {
            json_decref(nodes);
            nodes = NULL;
        }
    json_t *root = nodes ? json_pack("{s:s, s:i, s:o}", "format", SA_SPEC_FORMAT, "version", SA_SPEC_VERSION,
                                     "nodes", nodes)
                         : NULL;
    *out = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (!*out)
        return sa_fail(SA_ERR_NO_MEMORY, "%s: out of memory writing the graph spec", fn);
    return SA_OK;
}

/* ---------------------------------------------------------------- decode */

/* a JSON integer in [lo, hi] */
static int get_int(const json_t *v, long long lo, long long hi, int32_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return 0;
    *out = (int32_t)json_integer_value(v);
    return 1;
}

static int only_keys(const json_t *obj, const char *const *keys, int n)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        int known = 0;
        for (int i = 0; i < n && !known; i++)
            known = strcmp(key, keys[i]) == 0;
        if (!known)
            return 0;
    }
    return 1;
}

#define BAD(...) sa_fail(SA_ERR_FORMAT, __VA_ARGS__)

/* The spec's fields of node i, checked for type and range only: whether they
 * make sense together is for the builder to say. */
static sa_status read_node(const json_t *j, int32_t i, sa_node_def *d, const char *fn)
{
    static const char *const keys[] = {"kind", "name", "F", "in", "iarg", "farg", "port_of", "port_index"};
    memset(d, 0, sizeof *d);
    for (int k = 0; k < SA_MAX_INPUTS; k++)
        d->in[k] = SA_NODE_NONE; /* a builder reading an input the spec lacks sees "no node" */
    if (!json_is_object(j) || !only_keys(j, keys, 8) || json_object_size(j) != 8)
        return BAD("%s: graph spec node %d must be an object with exactly the fields kind, name, F, in, iarg, "
                   "farg, port_of, port_index", fn, (int)i);
    const char *kind = json_string_value(json_object_get(j, "kind"));
    const char *name = json_string_value(json_object_get(j, "name"));
    if (!kind || !name || strlen(name) == 0 || strlen(name) >= SA_NAME_MAX)
        return BAD("%s: graph spec node %d: kind must be a string and name a string of 1..%d bytes", fn, (int)i,
                   SA_NAME_MAX - 1);
    d->ops = sa_registry_find(kind);
    if (!d->ops)
        return sa_fail(SA_ERR_UNSUPPORTED, "%s: graph spec node %d: kind '%.40s' is unknown to this build", fn,
                       (int)i, kind);
    if (!d->ops->rebuild)
        return sa_fail(SA_ERR_UNSUPPORTED, "%s: graph spec node %d: kind '%s' cannot be loaded", fn, (int)i, kind);
    memcpy(d->name, name, strlen(name) + 1);
    if (!get_int(json_object_get(j, "F"), 0, INT32_MAX, &d->F))
        return BAD("%s: graph spec node %d ('%s'): F must be an integer >= 0", fn, (int)i, d->name);

    const json_t *in = json_object_get(j, "in");
    if (!json_is_array(in) || json_array_size(in) > SA_MAX_INPUTS)
        return BAD("%s: graph spec node %d ('%s'): in must be an array of at most %d node ids", fn, (int)i,
                   d->name, SA_MAX_INPUTS);
    d->n_in = (int32_t)json_array_size(in);
    for (int32_t k = 0; k < d->n_in; k++)
        if (!get_int(json_array_get(in, (size_t)k), 0, (long long)i - 1, &d->in[k]))
            return BAD("%s: graph spec node %d ('%s'): input %d is not an earlier node", fn, (int)i, d->name,
                       (int)k);

    const json_t *iarg = json_object_get(j, "iarg"), *farg = json_object_get(j, "farg");
    if (!json_is_array(iarg) || json_array_size(iarg) != 8 || !json_is_array(farg) || json_array_size(farg) != 4)
        return BAD("%s: graph spec node %d ('%s'): iarg must hold 8 integers and farg 4 numbers", fn, (int)i,
                   d->name);
    for (size_t k = 0; k < 8; k++)
        if (!get_int(json_array_get(iarg, k), INT32_MIN, INT32_MAX, &d->iarg[k]))
            return BAD("%s: graph spec node %d ('%s'): iarg[%zu] is not a 32-bit integer", fn, (int)i, d->name, k);
    for (size_t k = 0; k < 4; k++) {
        const json_t *v = json_array_get(farg, k);
        double x = json_number_value(v);
        if (!json_is_number(v) || !(fabs(x) <= FLT_MAX)) /* converting a larger one would be undefined */
            return BAD("%s: graph spec node %d ('%s'): farg[%zu] is not a finite float", fn, (int)i, d->name, k);
        d->farg[k] = (float)x;
    }

    if (!get_int(json_object_get(j, "port_of"), SA_NODE_NONE, (long long)i - 1, &d->port_of) ||
        (d->port_of < 0 && d->port_of != SA_NODE_NONE) ||
        !get_int(json_object_get(j, "port_index"), 0, SA_MAX_PORTS - 1, &d->port_index))
        return BAD("%s: graph spec node %d ('%s'): port_of must be -2 or an earlier node, port_index in 0..%d", fn,
                   (int)i, d->name, SA_MAX_PORTS - 1);
    return SA_OK;
}

/* "<producer>:<k>", the name sa_graph_port() gives a port (not a valid
 * sa_name() name, so kept as is when the producer was renamed later) */
static int default_port_name(const char *name, int32_t k)
{
    const char *colon = strrchr(name, ':');
    if (!colon || colon == name || colon - name > 40)
        return 0;
    for (const char *c = name; c < colon; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' ||
              *c == '.'))
            return 0;
    char want[16];
    snprintf(want, sizeof want, "%d", (int)k);
    return strcmp(colon + 1, want) == 0;
}

static sa_status set_name(sa_graph *g, sa_node id, const char *name, const char *fn)
{
    if (g->nodes[id].ops == &sa_op_port && default_port_name(name, g->nodes[id].port_index)) {
        for (int32_t i = 0; i < g->count; i++)
            if (i != id && strcmp(g->nodes[i].name, name) == 0)
                return BAD("%s: graph spec node %d: name '%s' is used twice", fn, (int)id, name);
        memcpy(g->nodes[id].name, name, strlen(name) + 1);
        return SA_OK;
    }
    if (sa_name(g, id, name) == SA_NODE_INVALID)
        return BAD("%s: graph spec node %d: %s", fn, (int)id, g->errmsg);
    return SA_OK;
}

/* the first field where the rebuilt node differs from the spec, or NULL */
static const char *differs(const sa_node_def *a, const sa_node_def *b, long long *va, long long *vb)
{
#define CMP(field, label)                                                                                    \
    if (a->field != b->field) {                                                                             \
        *va = a->field;                                                                                     \
        *vb = b->field;                                                                                     \
        return label;                                                                                       \
    }
    CMP(F, "F")
    CMP(n_in, "the number of inputs")
    for (int k = 0; k < a->n_in; k++) {
        CMP(in[k], "an input")
    }
    for (int k = 0; k < 8; k++) {
        CMP(iarg[k], "an iarg")
    }
    CMP(port_of, "port_of")
    CMP(port_index, "port_index")
#undef CMP
    if (memcmp(a->farg, b->farg, sizeof a->farg) != 0) {
        *va = *vb = 0;
        return "farg";
    }
    return NULL;
}

static sa_status add_node(sa_graph *g, const sa_node_def *d, int32_t i, const char *fn)
{
    sa_node id = d->ops->rebuild(g, d);
    if (id == SA_NODE_INVALID || g->status != SA_OK) {
        sa_status s = g->status == SA_ERR_NO_MEMORY ? SA_ERR_NO_MEMORY : SA_ERR_FORMAT;
        return sa_fail(s, "%s: graph spec node %d ('%s'): %s", fn, (int)i, d->name,
                       g->status != SA_OK ? g->errmsg : "rejected");
    }
    if (id != i || g->count != i + 1) /* e.g. a second copy of a port, which the builder returns again */
        return BAD("%s: graph spec node %d ('%s') repeats node %d", fn, (int)i, d->name, (int)id);
    sa_status s = strcmp(g->nodes[id].name, d->name) ? set_name(g, id, d->name, fn) : SA_OK;
    if (s != SA_OK)
        return s;
    long long va = 0, vb = 0;
    const char *field = differs(d, &g->nodes[id], &va, &vb);
    if (field)
        return BAD("%s: graph spec node %d ('%s'): %s is %lld in the file, but the %s builder makes %lld from "
                   "the same arguments", fn, (int)i, d->name, field, va, d->ops->kind, vb);
    return SA_OK;
}

static sa_status read_spec(const json_t *root, sa_graph *g, const char *fn)
{
    static const char *const keys[] = {"format", "version", "nodes"};
    if (!json_is_object(root) || !only_keys(root, keys, 3))
        return BAD("%s: the graph spec must be an object with the fields format, version, nodes", fn);
    const char *format = json_string_value(json_object_get(root, "format"));
    if (!format || strcmp(format, SA_SPEC_FORMAT) != 0)
        return BAD("%s: the graph spec's format is not \"%s\"", fn, SA_SPEC_FORMAT);
    const json_t *version = json_object_get(root, "version");
    if (!json_is_integer(version) || json_integer_value(version) < 1)
        return BAD("%s: the graph spec's version must be an integer >= 1", fn);
    if (json_integer_value(version) > SA_SPEC_VERSION)
        return sa_fail(SA_ERR_UNSUPPORTED, "%s: the graph spec has version %lld, this build reads up to %d: "
                       "upgrade seqattn", fn, (long long)json_integer_value(version), SA_SPEC_VERSION);
    const json_t *nodes = json_object_get(root, "nodes");
    if (!json_is_array(nodes) || json_array_size(nodes) < 1 || json_array_size(nodes) > SA_SPEC_MAX_NODES)
        return BAD("%s: the graph spec needs 1..%d nodes", fn, SA_SPEC_MAX_NODES);
    for (int32_t i = 0; i < (int32_t)json_array_size(nodes); i++) {
        sa_node_def d;
        sa_status s = read_node(json_array_get(nodes, (size_t)i), i, &d, fn);
        if (s == SA_OK)
            s = add_node(g, &d, i, fn);
        if (s != SA_OK)
            return s;
    }
    return SA_OK;
}

sa_status sa_spec_decode(const char *spec, sa_graph **out, const char *fn)
{
    *out = NULL;
    json_error_t err;
    json_t *root = json_loads(spec, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return BAD("%s: the graph spec is not valid JSON: %s (at byte %d)", fn, err.text, err.position);
    sa_graph *g = sa_graph_new();
    sa_status s = g ? read_spec(root, g, fn) : sa_fail(SA_ERR_NO_MEMORY, "%s: out of memory", fn);
    json_decref(root);
    if (s != SA_OK) {
        sa_graph_free(g);
        return s;
    }
    *out = g;
    return SA_OK;
}
