/* test_errors_status.c — status names, version, *_default() initialisers,
 * NULL handles given to destroy / query functions that return no status. */
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include "err_check.h"

static void status_names(void)
{
    static const char *const names[] = {
        "SA_OK",           "SA_ERR_INVALID_ARG", "SA_ERR_BAD_NODE", "SA_ERR_SHAPE",   "SA_ERR_OVERFLOW",
        "SA_ERR_NO_MEMORY", "SA_ERR_STATE",      "SA_ERR_NOT_FOUND", "SA_ERR_NUMERIC", "SA_ERR_UNSUPPORTED",
        "SA_ERR_IO",       "SA_ERR_FORMAT",      "SA_ERR_INTERNAL",
    };
    /* frozen numeric values */
    CHECK(SA_OK == 0 && SA_ERR_INVALID_ARG == 1 && SA_ERR_BAD_NODE == 2 && SA_ERR_SHAPE == 3);
    CHECK(SA_ERR_OVERFLOW == 4 && SA_ERR_NO_MEMORY == 5 && SA_ERR_STATE == 6 && SA_ERR_NOT_FOUND == 7);
    CHECK(SA_ERR_NUMERIC == 8 && SA_ERR_UNSUPPORTED == 9 && SA_ERR_IO == 10 && SA_ERR_FORMAT == 11);
    CHECK(SA_ERR_INTERNAL == 12);
    for (int s = 0; s <= 12; s++) {
        const char *n = sa_status_str((sa_status)s);
        CHECK(n != NULL);
        if (n)
            CHECK(strcmp(n, names[s]) == 0);
    }
    /* unknown codes: a non-NULL, non-empty name that is none of the real ones */
    const int unknown[] = {13, 14, 100, 0x7fff, INT_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
        const char *n = sa_status_str((sa_status)unknown[i]);
        CHECK(n != NULL);
        if (!n)
            continue;
        CHECK(n[0] != '\0');
        for (int s = 0; s <= 12; s++)
            CHECK(strcmp(n, names[s]) != 0);
    }
}

static void version(void)
{
    CHECK(sa_version_number() == SA_VERSION_NUMBER);
    const char *v = sa_version_string();
    CHECK(v != NULL);
    if (v)
        CHECK(strcmp(v, "0.1.0") == 0 && SA_VERSION_NUMBER == 100);
}

static void last_error(void)
{
    CHECK(sa_last_error() != NULL);
    (void)sa_graph_status(NULL);
    CHECK(sa_last_error() != NULL && sa_last_error()[0] != '\0');
}

static void *fail_in_thread(void *arg)
{
    (void)arg;
    sa_status s = sa_forward(NULL, SA_INFER);
    int ok = s == SA_ERR_INVALID_ARG && ec_starts_with_fn(sa_last_error(), "sa_forward");
    return ok ? arg : NULL;
}

/* sa_last_error() is per thread: a failure elsewhere does not change it */
static void per_thread(void)
{
    EXPECT(SA_ERR_INVALID_ARG, "sa_zero_grad", NULL, sa_zero_grad(NULL));
    pthread_t t;
    void *r = NULL;
    int tag = 1;
    REQUIRE(pthread_create(&t, NULL, fail_in_thread, &tag) == 0);
    REQUIRE(pthread_join(t, &r) == 0);
    CHECK(r == &tag);
    CHECK(ec_starts_with_fn(sa_last_error(), "sa_zero_grad"));
}

static void defaults(void)
{
    sa_rnn_desc r = sa_rnn_desc_default();
    CHECK(r.struct_size == sizeof(sa_rnn_desc));
    CHECK(r.hidden == 0 && r.num_layers == 1 && r.bidirectional == 0 && r.return_sequences == 1);
    CHECK(r.initial_state == SA_NODE_NONE);
    sa_rnn_desc ri = {SA_RNN_DESC_INIT};
    CHECK(memcmp(&ri, &r, offsetof(sa_rnn_desc, initial_state) + sizeof(sa_node)) == 0);

    sa_model_options o = sa_model_options_default();
    CHECK(o.struct_size == sizeof(sa_model_options) && o.seed == 42u);

    sa_optim_desc d = sa_optim_desc_default();
    CHECK(d.struct_size == sizeof(sa_optim_desc) && d.kind == SA_OPTIM_ADAM);
    CHECK(d.lr == 1e-3f && d.momentum == 0.0f && d.beta1 == 0.9f && d.beta2 == 0.999f);
    CHECK(d.eps == 1e-8f && d.weight_decay == 0.0f && d.clip_norm == 0.0f);
}

static void null_handles(void)
{
    /* destroy functions accept NULL */
    sa_graph_free(NULL);
    sa_model_destroy(NULL);
    sa_optim_destroy(NULL);
    /* queries without a status answer something safe */
    CHECK(sa_graph_node_count(NULL) == 0);
    CHECK(sa_graph_node_features(NULL, 0) == -1);
    CHECK(sa_graph_errmsg(NULL) != NULL);
    CHECK(sa_model_errmsg(NULL) != NULL);
    CHECK(sa_param_count(NULL) == 0);
    /* handle messages start empty */
    sa_graph *g = sa_graph_new();
    REQUIRE(g != NULL);
    CHECK(sa_graph_status(g) == SA_OK);
    CHECK(sa_graph_errmsg(g) != NULL && sa_graph_errmsg(g)[0] == '\0');
    CHECK(sa_graph_node_count(g) == 0);
    sa_node x = sa_input(g, "x", 2);
    sa_model *m = ec_model(g);
    CHECK(sa_model_errmsg(m) != NULL && sa_model_errmsg(m)[0] == '\0');
    CHECK(x == 0);
    sa_model_destroy(m);
    sa_graph_free(g);
}

void err_run(void)
{
    status_names();
    version();
    last_error();
    per_thread();
    defaults();
    null_handles();
}
