/* A program as a user would write it against the installed tree: only
 * <seqattn/seqattn.h> and `pkg-config --cflags --libs seqattn`. */
#include <seqattn/seqattn.h>
#include <stdio.h>

int main(void)
{
    if (sa_version_number() != SA_VERSION_NUMBER) {
        fprintf(stderr, "header %d but library %u\n", SA_VERSION_NUMBER, sa_version_number());
        return 1;
    }
    sa_graph *g = sa_graph_new();
    sa_node x = sa_input(g, "x", 2);
    sa_rnn_desc d = sa_rnn_desc_default();
    d.hidden = 4;
    sa_node y = sa_dense(g, sa_attention_pool(g, sa_gru(g, x, &d), SA_SCORE_ADDITIVE), 1);
    sa_model *m = NULL;
    float xs[2 * 3 * 2] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, -0.1f, -0.2f, -0.3f, -0.4f, -0.5f, -0.6f};
    float out[2];
    if (sa_model_create(g, NULL, &m) != SA_OK || sa_set_input(m, x, xs, 2, 3, NULL) != SA_OK ||
        sa_forward(m, SA_INFER) != SA_OK || sa_get_output(m, y, out, 2, NULL) != SA_OK) {
        fprintf(stderr, "consumer: %s\n", sa_last_error());
        return 1;
    }
    printf("seqattn %s: y = %f %f\n", sa_version_string(), out[0], out[1]);
    sa_model_destroy(m);
    sa_graph_free(g);
    return 0;
}
