/* graph.c — the builder: a growing array of node definitions with a sticky
 * first error. Nodes only refer to earlier nodes, so ids are a topological order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../internal.h"

SA_API sa_graph *sa_graph_new(void)
{
    sa_graph *g = calloc(1, sizeof *g);
    if (!g)
        sa_fail(SA_ERR_NO_MEMORY, "sa_graph_new: out of memory");
    return g;
}

SA_API void sa_graph_free(sa_graph *g)
{
    if (!g)
        return;
    free(g->nodes);
    free(g);
}

SA_API sa_status sa_graph_status(const sa_graph *g)
{
    if (!g)
        return sa_fail(SA_ERR_INVALID_ARG, "sa_graph_status: graph is NULL");
    return g->status;
}

SA_API const char *sa_graph_errmsg(const sa_graph *g)
{
    return g ? g->errmsg : "sa_graph_errmsg: graph is NULL";
}

SA_API int32_t sa_graph_node_count(const sa_graph *g) { return g ? g->count : 0; }

SA_API int32_t sa_graph_node_features(const sa_graph *g, sa_node n)
{
    if (!g || n < 0 || n >= g->count)
        return -1;
    return g->nodes[n].F;
}

sa_node sa_graph_fail(sa_graph *g, sa_status s, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sa_fail(s, "%s", msg);
    if (g && g->status == SA_OK) {
        g->status = s;
        memcpy(g->errmsg, msg, sizeof msg);
    }
    return SA_NODE_INVALID;
}

int sa_graph_check(sa_graph *g, const char *fn, int32_t n, const sa_node *xs)
{
    if (!g) {
        sa_fail(SA_ERR_INVALID_ARG, "%s: graph is NULL", fn);
        return 0;
    }
    if (g->status != SA_OK) {
        sa_fail(g->status, "%s: graph already failed: %s", fn, g->errmsg);
        return 0;
    }
    for (int32_t i = 0; i < n; i++) {
        if (xs[i] == SA_NODE_INVALID) {
            /* only reachable if the caller mixes graphs: an invalid id in a
             * healthy graph still must not pass silently */
            sa_graph_fail(g, SA_ERR_BAD_NODE, "%s: input %d is SA_NODE_INVALID", fn, (int)i);
            return 0;
        }
        if (xs[i] < 0 || xs[i] >= g->count) {
            sa_graph_fail(g, SA_ERR_BAD_NODE, "%s: node id %d is not in this graph (%d nodes)",
                          fn, (int)xs[i], (int)g->count);
            return 0;
        }
    }
    return 1;
}

static int name_taken(const sa_graph *g, const char *name)
{
    for (int32_t i = 0; i < g->count; i++)
        if (strcmp(g->nodes[i].name, name) == 0)
            return 1;
    return 0;
}

sa_node sa_graph_add(sa_graph *g, const sa_node_def *def)
{
    if (g->count == g->cap) {
        int32_t cap = g->cap ? g->cap * 2 : 16;
        sa_node_def *nodes = realloc(g->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes)
            return sa_graph_fail(g, SA_ERR_NO_MEMORY, "graph: out of memory adding a node");
        g->nodes = nodes;
        g->cap = cap;
    }
    sa_node id = g->count;
    sa_node_def *d = &g->nodes[id];
    *d = *def;
    if (d->ops != &sa_op_port)
        d->port_of = SA_NODE_NONE;
    for (int k = 0; k < SA_MAX_PORTS; k++)
        d->ports[k] = SA_NODE_NONE;
    if (!d->name[0]) {
        int32_t ki = sa_registry_index(d->ops);
        do
            snprintf(d->name, sizeof d->name, "%s%d", d->ops->kind, (int)g->kind_counter[ki]++);
        while (name_taken(g, d->name));
    }
    g->count++;
    return id;
}

sa_node sa_graph_port(sa_graph *g, sa_node p, int32_t k, int32_t F)
{
    if (g->nodes[p].ports[k] != SA_NODE_NONE)
        return g->nodes[p].ports[k];
    sa_node_def d = {0};
    d.ops = &sa_op_port;
    d.F = F;
    d.n_in = 1;
    d.in[0] = p;
    d.port_of = p;
    d.port_index = k;
    snprintf(d.name, sizeof d.name, "%.40s:%d", g->nodes[p].name, (int)k);
    sa_node id = sa_graph_add(g, &d);
    if (id >= 0)
        g->nodes[p].ports[k] = id;
    return id;
}

int sa_graph_name_ok(sa_graph *g, const char *fn, sa_node n, const char *name)
{
    if (!name) {
        sa_graph_fail(g, SA_ERR_INVALID_ARG, "%s: name is NULL", fn);
        return 0;
    }
    size_t len = strlen(name);
    if (len == 0 || len >= SA_NAME_MAX) {
        sa_graph_fail(g, SA_ERR_INVALID_ARG, "%s: name must have 1..%d characters", fn, SA_NAME_MAX - 1);
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        /* dots make PyTorch-style paths ("layers.0.self_attn"); they may only
         * separate non-empty parts */
        int dot_ok = ch == '.' && i > 0 && i + 1 < len && name[i - 1] != '.';
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                 (ch >= '0' && ch <= '9') || ch == '_' || dot_ok;
        if (!ok) {
            sa_graph_fail(g, SA_ERR_INVALID_ARG, "%s: '%s' must be parts of [A-Za-z0-9_] joined by single dots", fn, name);
            return 0;
        }
    }
    if ((n < 0 || strcmp(g->nodes[n].name, name) != 0) && name_taken(g, name)) {
        sa_graph_fail(g, SA_ERR_INVALID_ARG, "%s: name '%s' is already used", fn, name);
        return 0;
    }
    return 1;
}

SA_API sa_node sa_name(sa_graph *g, sa_node n, const char *name)
{
    if (!sa_graph_check(g, "sa_name", 1, &n) || !sa_graph_name_ok(g, "sa_name", n, name))
        return SA_NODE_INVALID;
    memmove(g->nodes[n].name, name, strlen(name) + 1);
    return n;
}
