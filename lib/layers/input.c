/* input.c — graph inputs, and ports (extra outputs of a producer node). Both
 * hold values written by someone else: the caller, or the producer op. */
#include <string.h>

#include "../internal.h"

static sa_node input_rebuild(sa_graph *g, const sa_node_def *d)
{
    return sa_input(g, d->name, d->F);
}

const sa_layer_ops sa_op_input = {.kind = "input", .rebuild = input_rebuild};

static sa_status port_reshape(sa_op_ctx *c)
{
    (void)c; /* shaped by the producer's reshape */
    return SA_OK;
}

/* a port is made by its producer's builder (sa_rnn_final_state), so ask the producer */
static sa_node port_rebuild(sa_graph *g, const sa_node_def *d)
{
    sa_node p = d->port_of;
    if (!sa_graph_check(g, "port", 1, &p))
        return SA_NODE_INVALID;
    if (!g->nodes[p].ops->port)
        return sa_graph_fail(g, SA_ERR_BAD_NODE, "port '%s': node '%s' is a %s, which has no ports", d->name,
                             g->nodes[p].name, g->nodes[p].ops->kind);
    return g->nodes[p].ops->port(g, p, d->port_index);
}

const sa_layer_ops sa_op_port = {.kind = "port", .reshape = port_reshape, .rebuild = port_rebuild};

SA_API sa_node sa_input(sa_graph *g, const char *name, int32_t features)
{
    if (!sa_graph_check(g, "sa_input", 0, NULL))
        return SA_NODE_INVALID;
    if (features < 1 || features > SA_MAX_DIM)
        return sa_graph_fail(g, SA_ERR_SHAPE, "sa_input: features must be in 1..%d, got %d", SA_MAX_DIM,
                             (int)features);
    if (!sa_graph_name_ok(g, "sa_input", SA_NODE_NONE, name))
        return SA_NODE_INVALID;
    sa_node_def d = {.ops = &sa_op_input, .F = features};
    memcpy(d.name, name, strlen(name) + 1);
    return sa_graph_add(g, &d);
}
