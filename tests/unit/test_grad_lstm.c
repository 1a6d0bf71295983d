/* test_grad_lstm.c — central-difference gradient checks of the LSTM layer:
 * layers, directions, peepholes, initial h0/c0 inputs, per-sample lengths,
 * both return_sequences modes, and the final state / cell ports feeding other
 * nodes. Every input and every parameter element is checked (gradcheck.h). */
#include "gradcheck.h"

static const int32_t LEN3_T5[3] = {5, 3, 1}; /* B = 3, T = 5: full, partial, single step */

enum { H0 = 1, C0 = 2 }; /* which initial states come from input nodes */

/* LSTM on x [3, 5, 3], hidden 4 */
static void case_lstm(const char *name, int32_t layers, int32_t bidir, int32_t seq, int32_t peep,
                      const int32_t *len, int init, uint64_t seed)
{
    gc_case c;
    gc_init(&c, name, 3);
    sa_rnn_desc d = sa_rnn_desc_default();
    d.hidden = 4;
    d.num_layers = layers;
    d.bidirectional = bidir;
    d.return_sequences = seq;
    d.peephole = peep;
    int32_t states = layers * (bidir ? 2 : 1) * d.hidden; /* [B, 1, L*D*H] */
    sa_node x = gc_in(&c, "x", 3, 5, len);
    if (init & H0)
        d.initial_state = gc_in(&c, "h0", states, 1, NULL);
    if (init & C0) {
        d.initial_cell = gc_in(&c, "c0", states, 1, NULL);
        c.in[c.n_in - 1].scale = 2.0f; /* cells range wider than h's (-1, 1) */
    }
    gc_out(&c, sa_lstm(c.g, x, &d));
    c.pad_zero = 1;
    gc_run(&c, seed);
}

/* Both ports of a 2-layer BiLSTM read downstream: a dense layer on h_n, c_n
 * straight out, and both as the initial state and cell of a second LSTM with
 * the same L, D, H. The main output is seeded too, so the ports' gradients
 * must add to the one coming through the sequence. */
static void case_ports(int32_t peep, uint64_t seed)
{
    gc_case c;
    gc_init(&c, peep ? "lstm ports peephole" : "lstm ports", 3);
    sa_rnn_desc enc = sa_rnn_desc_default();
    enc.hidden = 3;
    enc.num_layers = 2;
    enc.bidirectional = 1;
    enc.return_sequences = 1;
    enc.peephole = peep;
    sa_node x = gc_in(&c, "x", 2, 5, LEN3_T5);
    sa_node y = gc_in(&c, "y", 2, 3, NULL);
    sa_node e = sa_lstm(c.g, x, &enc);
    sa_node hs = sa_rnn_final_state(c.g, e); /* [B, 1, 2*2*3] */
    sa_node cs = sa_rnn_final_cell(c.g, e);
    CHECK(sa_rnn_final_state(c.g, e) == hs); /* asking twice gives the same node */
    CHECK(sa_rnn_final_cell(c.g, e) == cs);
    sa_rnn_desc dec = enc;
    dec.return_sequences = 0;
    dec.peephole = 0;
    dec.initial_state = hs;
    dec.initial_cell = cs;
    gc_out(&c, e);
    gc_out(&c, sa_dense(c.g, hs, 2));
    gc_out(&c, cs);
    gc_out(&c, sa_lstm(c.g, y, &dec));
    c.pad_zero = 1;
    gc_run(&c, seed);
}

/* a port alone, with the main output unused: its gradient is all there is */
static void case_port_only(int cell, uint64_t seed)
{
    gc_case c;
    gc_init(&c, cell ? "lstm c_n only, lengths" : "lstm h_n only, lengths", 3);
    sa_rnn_desc d = sa_rnn_desc_default();
    d.hidden = 3;
    d.num_layers = 2;
    sa_node x = gc_in(&c, "x", 2, 5, LEN3_T5);
    sa_node l = sa_lstm(c.g, x, &d);
    gc_out(&c, cell ? sa_rnn_final_cell(c.g, l) : sa_rnn_final_state(c.g, l));
    c.pad_zero = 1;
    gc_run(&c, seed);
}

int main(void)
{
    case_lstm("lstm L1 seq", 1, 0, 1, 0, NULL, 0, 1001);
    case_lstm("lstm L1 last", 1, 0, 0, 0, NULL, 0, 1002);
    case_lstm("lstm L1 seq lengths", 1, 0, 1, 0, LEN3_T5, 0, 1003);
    case_lstm("lstm L1 last lengths", 1, 0, 0, 0, LEN3_T5, 0, 1004);
    case_lstm("lstm L2 bi seq", 2, 1, 1, 0, NULL, 0, 1005);
    case_lstm("lstm L2 bi last", 2, 1, 0, 0, NULL, 0, 1006);
    case_lstm("lstm L2 bi seq lengths", 2, 1, 1, 0, LEN3_T5, 0, 1007);
    case_lstm("lstm L2 bi last lengths", 2, 1, 0, 0, LEN3_T5, 0, 1008);
    case_lstm("lstm L1 peep seq", 1, 0, 1, 1, NULL, 0, 1009);
    case_lstm("lstm L1 peep last h0 c0", 1, 0, 0, 1, NULL, H0 | C0, 1010);
    case_lstm("lstm L2 bi peep seq lengths", 2, 1, 1, 1, LEN3_T5, 0, 1011);
    case_lstm("lstm L1 h0 c0 last", 1, 0, 0, 0, NULL, H0 | C0, 1012);
    case_lstm("lstm L1 h0 only seq", 1, 0, 1, 0, NULL, H0, 1013);
    case_lstm("lstm L1 c0 only seq", 1, 0, 1, 0, NULL, C0, 1014);
    case_lstm("lstm L2 bi h0 c0 seq lengths", 2, 1, 1, 0, LEN3_T5, H0 | C0, 1015);
    case_lstm("lstm L2 bi peep h0 c0 last len", 2, 1, 0, 1, LEN3_T5, H0 | C0, 1016);
    case_lstm("lstm L3 last lengths", 3, 0, 0, 0, LEN3_T5, H0 | C0, 1017); /* gradients between layers alternate */
    case_lstm("lstm L3 bi seq lengths", 3, 1, 1, 0, LEN3_T5, 0, 1018);     /* ... with the top read in place */
    case_ports(0, 1101);
    case_ports(1, 1102);
    case_port_only(0, 1103);
    case_port_only(1, 1104);
    gc_summary();
    return tu_report();
}
