/* registry.c — every layer kind, once. Adding a layer is adding its file and a line here. */
#include <string.h>

#include "../internal.h"

static const sa_layer_ops *const registry[] = {
    &sa_op_input, &sa_op_port,       &sa_op_dense,     &sa_op_act,       &sa_op_gru,       &sa_op_lstm,
    &sa_op_attention_pool, &sa_op_mean_time, &sa_op_last_step, &sa_op_concat, &sa_op_loss,
    &sa_op_slice_time, &sa_op_slice_features, &sa_op_repeat_time, &sa_op_add,
    &sa_op_mha, &sa_op_sdpa,
    &sa_op_layer_norm, &sa_op_dropout, &sa_op_posenc_sin, &sa_op_posenc_learned,
};

int32_t sa_registry_index(const sa_layer_ops *ops)
{
    for (int32_t i = 0; i < (int32_t)(sizeof registry / sizeof *registry); i++)
        if (registry[i] == ops)
            return i;
    return 63; /* unreachable for library ops; keeps the counter index in range */
}

const sa_layer_ops *sa_registry_find(const char *kind)
{
    for (size_t i = 0; i < sizeof registry / sizeof *registry; i++)
        if (strcmp(registry[i]->kind, kind) == 0)
            return registry[i];
    return NULL;
}

sa_status sa_reshape_same(sa_op_ctx *c)
{
    c->out[0]->T = c->in[0]->T;
    c->out[0]->len = c->in[0]->len;
    return SA_OK;
}

sa_status sa_reshape_one(sa_op_ctx *c)
{
    c->out[0]->T = 1;
    c->out[0]->len = NULL;
    return SA_OK;
}
