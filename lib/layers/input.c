/* input.c — graph inputs, and ports (extra outputs of a producer node). Both
 * hold values written by someone else: the caller, or the producer op. */
#include <string.h>

#include "../internal.h"

const sa_layer_ops sa_op_input = {.kind = "input"};

static sa_status port_reshape(sa_op_ctx *c)
{
    (void)c; /* shaped by the producer's reshape */
    return SA_OK;
}

const sa_layer_ops sa_op_port = {.kind = "port", .reshape = port_reshape};

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
