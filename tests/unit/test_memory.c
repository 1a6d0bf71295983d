/* test_memory.c — sa_model_memory() reports what the model holds: parameters,
 * input copies, node values, node gradients (training only), workspaces
 * (smaller in inference: a recurrent layer keeps nothing for backward there),
 * the arena that holds the last three, and step-execution state. */
#include "testutil.h"

enum { B = 4, T = 30, F = 3, H = 16 };

int main(void)
{
    sa_graph *g = sa_graph_new();
    sa_node x = sa_input(g, "x", F);
    sa_rnn_desc d = sa_rnn_desc_default();
    d.hidden = H;
    sa_node h = sa_lstm(g, x, &d);
    sa_node y = sa_dense(g, h, 1);
    sa_model *m = tu_model(g, 1);
    static float xd[B * T * F];
    tu_rng r = {3};
    tu_fill(&r, xd, sizeof xd / sizeof xd[0], -1, 1);

    sa_memory_info fresh = {SA_MEMORY_INFO_INIT};
    CHECK_OK(sa_model_memory(m, &fresh));
    size_t nparam = (size_t)4 * H * F + (size_t)4 * H * H + 8 * H + H + 1;
    CHECK(fresh.params == 2 * nparam * sizeof(float));
    CHECK(fresh.inputs == 0 && fresh.values == 0 && fresh.grads == 0 && fresh.workspace == 0);

    CHECK_OK(sa_set_input(m, x, xd, B, T, NULL));
    CHECK_OK(sa_forward(m, SA_TRAIN));
    sa_memory_info tr = {SA_MEMORY_INFO_INIT};
    CHECK_OK(sa_model_memory(m, &tr));
    CHECK(tr.inputs == (size_t)B * T * F * sizeof(float));
    /* outputs of the LSTM and the dense layer (the input's copy is counted in inputs) */
    CHECK(tr.values >= (size_t)B * T * (H + 1) * sizeof(float));
    CHECK(tr.grads >= tr.values);           /* a gradient per node, inputs included */
    /* what the LSTM keeps for backward: i, f, g, o, c' per step and nothing
     * else (its output sequence is the node's value) */
    CHECK(tr.workspace == (size_t)5 * B * T * H * sizeof(float));
    /* the input projections and their gradients are one call's temporaries */
    CHECK(tr.scratch >= (size_t)4 * B * T * H * sizeof(float));
    CHECK(tr.arena >= tr.values + tr.grads + tr.workspace + tr.scratch);

    CHECK_OK(sa_forward(m, SA_INFER));
    sa_memory_info in = {SA_MEMORY_INFO_INIT};
    CHECK_OK(sa_model_memory(m, &in));
    CHECK(in.grads == 0);
    /* inference keeps nothing: one step's gates are scratch, reused */
    CHECK(in.workspace == 0);
    CHECK(in.scratch >= (size_t)4 * B * T * H * sizeof(float)); /* the input projections */
    CHECK(in.arena == tr.arena);            /* the arena grows, never shrinks */
    CHECK(in.step_state == 0);

    CHECK_OK(sa_set_input(m, x, xd, B, 1, NULL));
    CHECK_OK(sa_step_begin(m, 1, &x));
    CHECK_OK(sa_step(m));
    sa_memory_info st = {SA_MEMORY_INFO_INIT};
    CHECK_OK(sa_model_memory(m, &st));
    CHECK(st.step_state >= 2 * (size_t)B * H * sizeof(float)); /* h and c carried */
    fprintf(stderr, "train: values %zu grads %zu workspace %zu scratch %zu arena %zu; infer workspace %zu; "
            "step state %zu\n", tr.values, tr.grads, tr.workspace, tr.scratch, tr.arena, in.workspace,
            st.step_state);
    (void)y;
    sa_model_destroy(m);
    return tu_report();
}
