/* transformer.c — the pre-norm transformer encoder block, built from nodes
 * (layer norm, attention, dense, activation, dropout, add) rather than from a
 * kernel of its own, so every piece keeps its own gradient check and step
 * execution. Node names follow torch.nn.TransformerEncoderLayer, so the
 * parameters are "<name>.self_attn.in_proj_weight", "<name>.linear1.weight",
 * "<name>.norm1.weight", ...:
 *
 *   x = x + dropout1(self_attn(norm1(x)))
 *   x = x + dropout2(linear2(dropout(activation(linear1(norm2(x))))))   */
#include <stdio.h>
#include <string.h>

#include "../internal.h"

SA_API sa_transformer_desc sa_transformer_desc_default(void)
{
    sa_transformer_desc d = {SA_TRANSFORMER_DESC_INIT};
    return d;
}

/* the longest sub-node suffix: a block name leaves room for it */
#define LONGEST_PART ".activation"

/* names the node "<prefix>.<part>"; passes SA_NODE_INVALID through */
static sa_node named(sa_graph *g, sa_node n, const char *prefix, const char *part)
{
    if (n < 0)
        return n;
    char name[SA_NAME_MAX];
    if (snprintf(name, sizeof name, "%s.%s", prefix, part) >= (int)sizeof name) /* checked at entry */
        return SA_NODE_INVALID;
    if (!sa_graph_name_ok(g, "sa_transformer_block", n, name))
        return SA_NODE_INVALID;
    memcpy(g->nodes[n].name, name, strlen(name) + 1);
    return n;
}

static sa_node maybe_dropout(sa_graph *g, sa_node x, float p, const char *prefix, const char *part)
{
    return p > 0.0f ? named(g, sa_dropout(g, x, p), prefix, part) : x;
}

SA_API sa_node sa_transformer_block(sa_graph *g, sa_node x, const sa_transformer_desc *desc)
{
    const char *fn = "sa_transformer_block";
    if (!sa_graph_check(g, fn, 1, &x))
        return SA_NODE_INVALID;
    if (!desc)
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "%s: desc is NULL", fn);
    if (desc->struct_size < offsetof(sa_transformer_desc, name) + sizeof desc->name)
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "%s: desc->struct_size %zu is too small", fn,
                             desc->struct_size);
    if (desc->ff_dim < 1 || desc->ff_dim > SA_MAX_DIM)
        return sa_graph_fail(g, SA_ERR_SHAPE, "%s: ff_dim must be in 1..%d, got %d", fn, SA_MAX_DIM,
                             (int)desc->ff_dim);
    if (desc->activation != SA_ACT_RELU && desc->activation != SA_ACT_GELU)
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "%s: activation must be SA_ACT_RELU or SA_ACT_GELU", fn);
    if (!(desc->dropout >= 0.0f && desc->dropout < 1.0f))
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "%s: dropout must be in [0, 1), got %g", fn,
                             (double)desc->dropout);
    char prefix[SA_NAME_MAX];
    size_t max_len = SA_NAME_MAX - 1 - strlen(LONGEST_PART);
    if (desc->name && strlen(desc->name) > max_len)
        return sa_graph_fail(g, SA_ERR_INVALID_ARG, "%s: name is %zu characters, at most %zu fit before "
                             "the sub-node suffixes", fn, strlen(desc->name), max_len);
    if (desc->name)
        snprintf(prefix, sizeof prefix, "%s", desc->name);
    else
        snprintf(prefix, sizeof prefix, "transformer%d", (int)g->count); /* unique: ids only grow */

    sa_mha_desc md = sa_mha_desc_default();
    md.embed_dim = g->nodes[x].F;
    md.num_heads = desc->num_heads;
    md.causal = desc->causal;
    float p = desc->dropout;

    sa_node h = named(g, sa_layer_norm(g, x, desc->norm_eps), prefix, "norm1");
    h = named(g, sa_mha(g, h, h, h, &md), prefix, "self_attn");
    h = maybe_dropout(g, h, p, prefix, "dropout1");
    sa_node x1 = named(g, sa_add(g, x, h), prefix, "residual1");

    sa_node f = named(g, sa_layer_norm(g, x1, desc->norm_eps), prefix, "norm2");
    f = named(g, sa_dense(g, f, desc->ff_dim), prefix, "linear1");
    f = named(g, sa_act(g, f, desc->activation), prefix, "activation");
    f = maybe_dropout(g, f, p, prefix, "dropout");
    f = named(g, sa_dense(g, f, g->nodes[x].F), prefix, "linear2");
    f = maybe_dropout(g, f, p, prefix, "dropout2");
    sa_node out = named(g, sa_add(g, x1, f), prefix, "residual2");
    if (g->status != SA_OK) /* later sub-builders overwrote the thread's message: restore the first */
        sa_fail(g->status, "%s", g->errmsg);
    return out;
}
