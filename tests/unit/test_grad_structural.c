/* test_grad_structural.c — gradient checks of the structural nodes
 * (sa_slice_time, sa_slice_features, sa_repeat_time, sa_add), with lengths,
 * and of a Seq2Seq-shaped graph: a BiLSTM encoder's final states initialise an
 * LSTM decoder of hidden 2H directly, teacher-forced, dense head, MSE loss.
 * Also the lengths these nodes produce and their shape errors. */
#include "gradcheck.h"

static const int32_t LEN3_T6[3] = {6, 4, 1};
static const int32_t LEN3_T5[3] = {5, 3, 1};

static void case_slice_time(void)
{
    gc_case c;
    gc_init(&c, "slice_time", 3);
    sa_node x = gc_in(&c, "x", 3, 6, NULL);
    gc_out(&c, sa_slice_time(c.g, sa_dense(c.g, x, 4), 2, 3));
    gc_out(&c, sa_slice_time(c.g, x, 0, 6)); /* the whole sequence */
    gc_run(&c, 2001);
}

/* lengths {6, 4, 1} through a window [1, 5): {4, 3, 1}; the last sample ends
 * before the window and keeps one step. A GRU reads the clipped lengths. */
static void case_slice_time_lengths(void)
{
    gc_case c;
    gc_init(&c, "slice_time lengths -> gru", 3);
    sa_rnn_desc d = sa_rnn_desc_default();
    d.hidden = 3;
    sa_node x = gc_in(&c, "x", 2, 6, LEN3_T6);
    sa_node s = sa_slice_time(c.g, sa_lstm(c.g, x, &d), 1, 4);
    d.return_sequences = 0;
    gc_out(&c, s);
    gc_out(&c, sa_gru(c.g, s, &d));
    c.pad_zero = 1; /* the LSTM drops gradients of its padded steps */
    gc_run(&c, 2002);
}

static void case_slice_features(void)
{
    gc_case c;
    gc_init(&c, "slice_features", 3);
    sa_node x = gc_in(&c, "x", 3, 4, NULL);
    sa_node h = sa_dense(c.g, x, 6);
    gc_out(&c, sa_slice_features(c.g, h, 1, 3));
    gc_out(&c, sa_slice_features(c.g, h, 4, 2)); /* overlapping consumers of h add up */
    gc_out(&c, sa_slice_features(c.g, h, 2, 3));
    gc_run(&c, 2003);
}

/* the top layer's part of a BiLSTM's final states, with lengths */
static void case_slice_features_states(void)
{
    gc_case c;
    gc_init(&c, "slice_features top state", 3);
    sa_rnn_desc d = sa_rnn_desc_default();
    d.hidden = 3;
    d.num_layers = 2;
    d.bidirectional = 1;
    sa_node x = gc_in(&c, "x", 2, 5, LEN3_T5);
    sa_node l = sa_lstm(c.g, x, &d);
    gc_out(&c, sa_slice_features(c.g, sa_rnn_final_state(c.g, l), 6, 6));
    gc_out(&c, sa_slice_features(c.g, sa_rnn_final_cell(c.g, l), 0, 6));
    c.pad_zero = 1;
    gc_run(&c, 2004);
}

/* v [B, 1, 4] repeated over the (length-masked) time of h, then added to h:
 * repeat_time and add with lengths, and h reaching the output twice */
static void case_repeat_add(void)
{
    gc_case c;
    gc_init(&c, "repeat_time + add lengths", 3);
    sa_node x = gc_in(&c, "x", 2, 5, LEN3_T5);
    sa_node v = gc_in(&c, "v", 4, 1, NULL);
    sa_node h = sa_dense(c.g, x, 4);
    sa_node r = sa_repeat_time(c.g, v, h);
    gc_out(&c, sa_add(c.g, r, h));
    gc_out(&c, sa_repeat_time(c.g, sa_dense(c.g, v, 3), x)); /* like x: its values are never read */
    gc_run(&c, 2005);
}

static void case_add(void)
{
    gc_case c;
    gc_init(&c, "add", 3);
    static const int32_t len[3] = {4, 2, 1};
    sa_node a = gc_in(&c, "a", 3, 4, len);
    sa_node b = gc_in(&c, "b", 2, 4, NULL);
    sa_node db = sa_dense(c.g, b, 3);
    gc_out(&c, sa_add(c.g, a, db));
    gc_out(&c, sa_add(c.g, db, db)); /* the same node twice: y = 2 db */
    gc_run(&c, 2006);
}

/* Seq2Seq: BiLSTM encoder (L = 2, H = 3) final h and c [B, 1, 2*2*3] read as
 * L = 2 layers of 2H = 6 initialise the decoder directly; the decoder is
 * teacher-forced on y_in, a dense head predicts, MSE against target. */
static void case_seq2seq(int32_t enc_seq, uint64_t seed)
{
    gc_case c;
    gc_init(&c, enc_seq ? "seq2seq (enc seq out unused)" : "seq2seq", 3);
    const int32_t L = 2, Hs = 3;
    static const int32_t enc_len[3] = {6, 4, 2};
    sa_node x = gc_in(&c, "x", 2, 6, enc_len);
    sa_node yin = gc_in(&c, "y_in", 1, 4, NULL);
    sa_node target = gc_in(&c, "target", 1, 4, NULL);
    c.in[2].scale = 3.0f; /* a larger residual keeps the deepest weights' gradients well above 1e-4 */
    sa_rnn_desc enc = sa_rnn_desc_default();
    enc.hidden = Hs;
    enc.num_layers = L;
    enc.bidirectional = 1;
    enc.return_sequences = enc_seq;
    sa_node e = sa_lstm(c.g, x, &enc);
    sa_rnn_desc dec = sa_rnn_desc_default();
    dec.hidden = 2 * Hs;
    dec.num_layers = L;
    dec.initial_state = sa_rnn_final_state(c.g, e);
    dec.initial_cell = sa_rnn_final_cell(c.g, e);
    sa_node pred = sa_dense(c.g, sa_lstm(c.g, yin, &dec), 1);
    c.loss = sa_loss_mse(c.g, pred, target);
    c.pad_zero = 1;
    gc_run(&c, seed);
}

/* ---------------------------------------------------------- lengths, errors */

static void get_lengths(sa_model *m, sa_node n, int32_t *dst, int32_t B)
{
    CHECK_OK(sa_get_lengths(m, n, dst, (size_t)B));
}

static void test_lengths(void)
{
    sa_graph *g = sa_graph_new();
    sa_node x = sa_input(g, "x", 2);
    sa_node y = sa_input(g, "y", 2);
    sa_node v = sa_input(g, "v", 2);
    sa_node s1 = sa_slice_time(g, x, 1, 4);
    sa_node s2 = sa_slice_time(g, x, 4, 2);
    sa_node s3 = sa_slice_time(g, x, 0, 2);
    sa_node ad = sa_add(g, x, y);
    sa_node ad2 = sa_add(g, y, x);
    sa_node sf = sa_slice_features(g, x, 1, 1);
    sa_node rp = sa_repeat_time(g, v, x);
    sa_model *m = tu_model(g, 1);
    float xd[3 * 6 * 2], yd[3 * 6 * 2], vd[3 * 2];
    tu_rng rng = {7};
    tu_fill(&rng, xd, 36, -1, 1);
    tu_fill(&rng, yd, 36, -1, 1);
    tu_fill(&rng, vd, 6, -1, 1);
    REQUIRE_OK(sa_set_input(m, x, xd, 3, 6, LEN3_T6));
    REQUIRE_OK(sa_set_input(m, y, yd, 3, 6, NULL));
    REQUIRE_OK(sa_set_input(m, v, vd, 3, 1, NULL));
    REQUIRE_OK(sa_forward(m, SA_INFER));
    int32_t l[3];
    get_lengths(m, s1, l, 3); /* window [1, 5) of {6, 4, 1} */
    CHECK(l[0] == 4 && l[1] == 3 && l[2] == 1);
    get_lengths(m, s2, l, 3); /* window [4, 6): {2, max(1, 0), max(1, -3)} */
    CHECK(l[0] == 2 && l[1] == 1 && l[2] == 1);
    get_lengths(m, s3, l, 3); /* window [0, 2): {2, 2, 1} */
    CHECK(l[0] == 2 && l[1] == 2 && l[2] == 1);
    get_lengths(m, ad, l, 3); /* a's lengths */
    CHECK(l[0] == 6 && l[1] == 4 && l[2] == 1);
    get_lengths(m, ad2, l, 3);
    CHECK(l[0] == 6 && l[1] == 6 && l[2] == 6);
    get_lengths(m, sf, l, 3);
    CHECK(l[0] == 6 && l[1] == 4 && l[2] == 1);
    get_lengths(m, rp, l, 3); /* like's lengths */
    CHECK(l[0] == 6 && l[1] == 4 && l[2] == 1);

    /* values: a plain window copy; repeat is x on valid steps and 0 after */
    float o[3 * 6 * 2];
    int32_t sh[3];
    CHECK_OK(sa_get_output(m, s1, o, 36, sh));
    CHECK(sh[0] == 3 && sh[1] == 4 && sh[2] == 2);
    int same = 1;
    for (int b = 0; b < 3; b++)
        for (int t = 0; t < 4; t++)
            for (int f = 0; f < 2; f++)
                same &= o[(b * 4 + t) * 2 + f] == xd[(b * 6 + t + 1) * 2 + f];
    CHECK(same);
    CHECK_OK(sa_get_output(m, rp, o, 36, sh));
    CHECK(sh[0] == 3 && sh[1] == 6 && sh[2] == 2);
    same = 1;
    for (int b = 0; b < 3; b++)
        for (int t = 0; t < 6; t++)
            for (int f = 0; f < 2; f++)
                same &= o[(b * 6 + t) * 2 + f] == (t < LEN3_T6[b] ? vd[b * 2 + f] : 0.0f);
    CHECK(same);
    CHECK_OK(sa_get_output(m, sf, o, 36, sh));
    CHECK(sh[0] == 3 && sh[1] == 6 && sh[2] == 1 && o[7] == xd[7 * 2 + 1]);

    /* no lengths in, none out: every window is full */
    REQUIRE_OK(sa_set_input(m, x, xd, 3, 6, NULL));
    REQUIRE_OK(sa_forward(m, SA_INFER));
    get_lengths(m, s2, l, 3);
    CHECK(l[0] == 2 && l[1] == 2 && l[2] == 2);

    /* run-time shape errors; the model works again once the shapes agree */
    REQUIRE_OK(sa_set_input(m, x, xd, 3, 5, NULL)); /* s2's window [4, 6) is beyond T = 5 */
    CHECK_STATUS(sa_forward(m, SA_INFER), SA_ERR_SHAPE);
    CHECK(strstr(sa_last_error(), "sa_forward:") == sa_last_error());
    CHECK(strstr(sa_last_error(), "sa_slice_time") != NULL);
    REQUIRE_OK(sa_set_input(m, x, xd, 3, 6, NULL));
    REQUIRE_OK(sa_set_input(m, y, yd, 3, 5, NULL)); /* add: T 6 vs 5 */
    CHECK_STATUS(sa_forward(m, SA_INFER), SA_ERR_SHAPE);
    CHECK(strstr(sa_last_error(), "sa_add") != NULL);
    REQUIRE_OK(sa_set_input(m, y, yd, 3, 6, NULL));
    REQUIRE_OK(sa_set_input(m, v, xd, 3, 2, NULL)); /* repeat: x must have T = 1 */
    CHECK_STATUS(sa_forward(m, SA_INFER), SA_ERR_SHAPE);
    CHECK(strstr(sa_last_error(), "sa_repeat_time") != NULL);
    REQUIRE_OK(sa_set_input(m, v, vd, 3, 1, NULL));
    CHECK_OK(sa_forward(m, SA_INFER));
    sa_model_destroy(m);
}

/* builder errors are sticky and named after the call */
static void test_build_errors(void)
{
    struct {
        const char *fn;
        int kind;
        int32_t a, b;
    } bad[] = {
        {"sa_slice_time", 0, -1, 2}, {"sa_slice_time", 0, 0, 0}, {"sa_slice_time", 0, 1 << 24, 1},
        {"sa_slice_features", 1, 3, 2}, {"sa_slice_features", 1, -1, 2}, {"sa_slice_features", 1, 0, 0},
        {"sa_add", 2, 0, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sa_graph *g = sa_graph_new();
        REQUIRE(g != NULL);
        sa_node x = sa_input(g, "x", 4), y = sa_input(g, "y", 3), n;
        if (bad[i].kind == 0)
            n = sa_slice_time(g, x, bad[i].a, bad[i].b);
        else if (bad[i].kind == 1)
            n = sa_slice_features(g, x, bad[i].a, bad[i].b);
        else
            n = sa_add(g, x, y);
        CHECK(n == SA_NODE_INVALID);
        CHECK_STATUS(sa_graph_status(g), SA_ERR_SHAPE);
        CHECK(strncmp(sa_graph_errmsg(g), bad[i].fn, strlen(bad[i].fn)) == 0);
        /* sticky: later calls do nothing */
        CHECK(sa_add(g, x, x) == SA_NODE_INVALID);
        CHECK(sa_repeat_time(g, x, x) == SA_NODE_INVALID);
        CHECK(strncmp(sa_graph_errmsg(g), bad[i].fn, strlen(bad[i].fn)) == 0);
        sa_graph_free(g);
    }
    sa_graph *g = sa_graph_new();
    sa_node x = sa_input(g, "x", 4);
    CHECK(sa_repeat_time(g, x, 17) == SA_NODE_INVALID);
    CHECK_STATUS(sa_graph_status(g), SA_ERR_BAD_NODE);
    CHECK(strncmp(sa_graph_errmsg(g), "sa_repeat_time", 14) == 0);
    sa_graph_free(g);
    CHECK(sa_slice_time(NULL, 0, 0, 1) == SA_NODE_INVALID);
    CHECK(sa_slice_features(NULL, 0, 0, 1) == SA_NODE_INVALID);
    CHECK(sa_add(NULL, 0, 0) == SA_NODE_INVALID);
    CHECK(sa_repeat_time(NULL, 0, 0) == SA_NODE_INVALID);
    /* a window that fits exactly is fine */
    g = sa_graph_new();
    x = sa_input(g, "x", 4);
    CHECK(sa_graph_node_features(g, sa_slice_features(g, x, 0, 4)) == 4);
    CHECK(sa_graph_node_features(g, sa_slice_features(g, x, 3, 1)) == 1);
    CHECK(sa_graph_node_features(g, sa_slice_time(g, x, 0, 1 << 24)) == 4);
    CHECK_OK(sa_graph_status(g));
    sa_graph_free(g);
}

int main(void)
{
    test_lengths();
    test_build_errors();
    case_slice_time();
    case_slice_time_lengths();
    case_slice_features();
    case_slice_features_states();
    case_repeat_add();
    case_add();
    case_seq2seq(0, 2101);
    case_seq2seq(1, 2102);
    gc_summary();
    return tu_report();
}
