// The public header must compile as C++ (strict, warnings as errors) and link.
#include <seqattn/seqattn.h>

#include <cstdio>

int main()
{
    sa_graph *g = sa_graph_new();
    sa_rnn_desc d = {SA_RNN_DESC_INIT};
    d.hidden = 3;
    sa_node x = sa_input(g, "x", 2);
    sa_node h = sa_gru(g, x, &d);
    sa_model_options o = sa_model_options_default();
    sa_model *m = nullptr;
    sa_status s = sa_model_create(g, &o, &m);
    std::printf("%s %s %d\n", sa_status_str(s), sa_version_string(), static_cast<int>(h));
    sa_model_destroy(m);
    sa_graph_free(g);
    return s == SA_OK ? 0 : 1;
}
