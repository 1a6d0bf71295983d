/* test_io_model.c — whole-model files: a graph using every layer kind
 * survives sa_model_save / sa_model_load with the same parameters, names and
 * outputs (inference, and training masks with the stored seed); hostile graph
 * specs are rejected with the right status and never crash or allocate what
 * the file cannot hold. */
#include "iotest.h"

/* output "out" after a forward in mode; train forwards use train index idx */
static void forward_out(sa_model *m, sa_mode mode, uint64_t idx, float out[2])
{
    io_all_kinds_inputs(m, 5);
    REQUIRE_OK(sa_model_set_train_index(m, idx));
    REQUIRE_OK(sa_forward(m, mode));
    sa_node o;
    REQUIRE_OK(sa_model_find_node(m, "out", &o));
    REQUIRE_OK(sa_get_output(m, o, out, 2, NULL));
}

static void test_round_trip(void)
{
    sa_graph *g = io_all_kinds_graph();
    sa_model *a = tu_model(g, 11);
    io_randomize(a, 3);
    const char *path = io_path("all.safetensors");
    CHECK_OK(sa_model_save(a, path));

    sa_model *b = NULL;
    CHECK_OK(sa_model_load(path, NULL, &b));
    REQUIRE(b != NULL);
    CHECK(io_same_params(a, b));

    /* node names, including the port named before its producer was renamed */
    const char *names[] = {"x", "y", "encoder", "gru0:1", "cell_n", "blk.self_attn", "blk.linear2", "cross", "out",
                           "mse", "mae"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        sa_node na = SA_NODE_INVALID, nb = SA_NODE_INVALID;
        CHECK_OK(sa_model_find_node(a, names[i], &na));
        CHECK_OK(sa_model_find_node(b, names[i], &nb));
        CHECK(na == nb);
    }

    float oa[2], ob[2];
    forward_out(a, SA_INFER, 0, oa);
    forward_out(b, SA_INFER, 0, ob);
    CHECK(memcmp(oa, ob, sizeof oa) == 0);
    /* training forwards: same seed, names and index, so the same dropout masks */
    forward_out(a, SA_TRAIN, 7, oa);
    forward_out(b, SA_TRAIN, 7, ob);
    CHECK(memcmp(oa, ob, sizeof oa) == 0);

    /* attention weights of the cross attention agree too */
    sa_node ca, cb;
    REQUIRE_OK(sa_model_find_node(a, "cross", &ca));
    REQUIRE_OK(sa_model_find_node(b, "cross", &cb));
    float wa[2 * 3 * 5 * 5], wb[2 * 3 * 5 * 5];
    forward_out(a, SA_INFER, 0, oa);
    forward_out(b, SA_INFER, 0, ob);
    CHECK_OK(sa_get_attention(a, ca, SA_HEADS_ALL, wa, sizeof wa / sizeof *wa, NULL));
    CHECK_OK(sa_get_attention(b, cb, SA_HEADS_ALL, wb, sizeof wb / sizeof *wb, NULL));
    CHECK(memcmp(wa, wb, sizeof wa) == 0);

    /* a backward runs on the loaded model */
    sa_node loss;
    REQUIRE_OK(sa_model_find_node(b, "mse", &loss));
    forward_out(b, SA_TRAIN, 0, ob);
    CHECK_OK(sa_backward(b, loss));

    /* an explicit seed wins over the stored one; parameters are still the file's */
    sa_model_options o = sa_model_options_default();
    o.seed = 12345;
    sa_model *c = NULL;
    CHECK_OK(sa_model_load(path, &o, &c));
    CHECK(c && io_same_params(a, c));

    /* saving the loaded model gives the same bytes */
    size_t n1 = 0, n2 = 0;
    CHECK_OK(sa_model_save(b, io_path("again.safetensors")));
    unsigned char *f1 = io_read_file(path, &n1), *f2 = io_read_file(io_path("again.safetensors"), &n2);
    CHECK(f1 && f2 && n1 == n2 && memcmp(f1, f2, n1) == 0);
    free(f1);
    free(f2);

    /* a model file is also a parameter file */
    io_randomize(c, 99);
    CHECK_OK(sa_load_params(c, path, SA_LOAD_STRICT));
    CHECK(io_same_params(a, c));

    sa_model_destroy(a);
    sa_model_destroy(b);
    sa_model_destroy(c);
}

/* ------------------------------------------------------- hostile specs */

/* A model file for input "x" (2) -> dense "fc" (3) whose graph spec is
 * `spec` with ' for " (a JSON string in the metadata needs them escaped). */
static void write_spec(const char *path, const char *spec, const char *extra_meta)
{
    size_t n = strlen(spec);
    char *esc = malloc(2 * n + 1);
    REQUIRE(esc != NULL);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (spec[i] == '\'')
            esc[k++] = '\\', esc[k++] = '"';
        else
            esc[k++] = spec[i];
    }
    esc[k] = '\0';
    size_t cap = k + 512;
    char *header = malloc(cap);
    REQUIRE(header != NULL);
    snprintf(header, cap,
             "{\"__metadata__\":{\"seqattn.graph\":\"%s\"%s},"
             "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0,24]},"
             "\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[24,36]}}",
             esc, extra_meta ? extra_meta : "");
    float data[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    io_write_st(path, header, data, sizeof data);
    free(esc);
    free(header);
}

#define NODE_X "{'kind':'input','name':'x','F':2,'in':[],'iarg':[0,0,0,0,0,0,0,0],'farg':[0,0,0,0],'port_of':-2,'port_index':0}"
#define NODE_FC(F, IN, IARG0) \
    "{'kind':'dense','name':'fc','F':" F ",'in':[" IN "],'iarg':[" IARG0 ",0,0,0,0,0,0,0],'farg':[0,0,0,0],'port_of':-2,'port_index':0}"
#define SPEC(nodes) "{'format':'seqattn-graph','version':1,'nodes':[" nodes "]}"

static sa_status load_spec(const char *spec)
{
    const char *path = io_path("spec.safetensors");
    write_spec(path, spec, NULL);
    sa_model *m = (sa_model *)1;
    sa_status s = sa_model_load(path, NULL, &m);
    if (s == SA_OK) {
        CHECK(m != NULL);
        sa_model_destroy(m);
    } else {
        CHECK(m == NULL);
        CHECK(strncmp(sa_last_error(), "sa_model_load", 13) == 0);
    }
    return s;
}

static void test_hostile_specs(void)
{
    CHECK_OK(load_spec(SPEC(NODE_X "," NODE_FC("3", "0", "2"))));
    sa_model *m = NULL;
    REQUIRE_OK(sa_model_load(io_path("spec.safetensors"), NULL, &m));
    sa_param_info p;
    CHECK_OK(sa_param_find(m, "fc.bias", &p));
    CHECK(p.value[0] == 7.0f && p.value[2] == 9.0f);
    sa_model_destroy(m);

    /* the spec itself */
    CHECK_STATUS(load_spec("not json"), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec("[1,2]"), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec("{'format':'other','version':1,'nodes':[" NODE_X "]}"), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec("{'format':'seqattn-graph','version':2,'nodes':[" NODE_X "]}"), SA_ERR_UNSUPPORTED);
    CHECK_STATUS(load_spec("{'format':'seqattn-graph','version':0,'nodes':[" NODE_X "]}"), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec("{'format':'seqattn-graph','version':'1','nodes':[" NODE_X "]}"), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec("{'format':'seqattn-graph','version':1,'nodes':[]}"), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec("{'format':'seqattn-graph','version':1,'nodes':{}}"), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec("{'format':'seqattn-graph','version':1,'nodes':[" NODE_X "],'more':1}"), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec("{'format':'seqattn-graph','version':1,'version':1,'nodes':[" NODE_X "]}"),
                 SA_ERR_FORMAT);

    /* node fields: types, ranges, references */
    CHECK_STATUS(load_spec(SPEC(NODE_X ",7")), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec(SPEC(NODE_X "," NODE_FC("3", "1", "2"))), SA_ERR_FORMAT);  /* itself */
    CHECK_STATUS(load_spec(SPEC(NODE_X "," NODE_FC("3", "5", "2"))), SA_ERR_FORMAT);  /* a later node */
    CHECK_STATUS(load_spec(SPEC(NODE_X "," NODE_FC("3", "-1", "2"))), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec(SPEC(NODE_X "," NODE_FC("3", "0.0", "2"))), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec(SPEC(NODE_X "," NODE_FC("3", "", "2"))), SA_ERR_FORMAT);   /* no input */
    CHECK_STATUS(load_spec(SPEC(NODE_X "," NODE_FC("3", "0,0", "2"))), SA_ERR_FORMAT); /* two inputs */
    CHECK_STATUS(load_spec(SPEC(NODE_X "," NODE_FC("3", "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0", "2"))), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec(SPEC(NODE_X "," NODE_FC("3", "0", "5"))), SA_ERR_FORMAT);  /* iarg != input F */
    CHECK_STATUS(load_spec(SPEC(NODE_X "," NODE_FC("-3", "0", "2"))), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec(SPEC(NODE_X "," NODE_FC("3", "0", "4294967296"))), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec(SPEC(NODE_X "," NODE_FC("3", "0", "-2147483648"))), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec(SPEC(NODE_X "," NODE_FC("99999999", "0", "2"))), SA_ERR_FORMAT); /* > SA_MAX_DIM */
    CHECK_STATUS(load_spec(SPEC(NODE_X "," NODE_FC("4", "0", "2"))), SA_ERR_SHAPE);   /* valid graph, file's fc is 3 */
    CHECK_STATUS(load_spec(SPEC(NODE_X)), SA_ERR_NOT_FOUND);                        /* the file's fc.* are extra */
    CHECK_STATUS(load_spec(SPEC("{'kind':'bogus','name':'x','F':2,'in':[],'iarg':[0,0,0,0,0,0,0,0],"
                                "'farg':[0,0,0,0],'port_of':-2,'port_index':0}")), SA_ERR_UNSUPPORTED);
    CHECK_STATUS(load_spec(SPEC("{'kind':'input','name':'x','F':2,'in':[],'iarg':[0,0,0,0,0,0,0],"
                                "'farg':[0,0,0,0],'port_of':-2,'port_index':0}")), SA_ERR_FORMAT); /* 7 iargs */
    CHECK_STATUS(load_spec(SPEC("{'kind':'input','name':'x','F':2,'in':[],'iarg':[0,0,0,0,0,0,0,0],"
                                "'farg':[0,0,0,1e300],'port_of':-2,'port_index':0}")), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec(SPEC("{'kind':'input','name':'x','F':2,'in':[],'iarg':[0,0,0,0,0,0,0,0],"
                                "'farg':[0,0,0,'a'],'port_of':-2,'port_index':0}")), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec(SPEC("{'kind':'input','name':'x','F':2,'in':[],'iarg':[0,0,0,0,0,0,0,1],"
                                "'farg':[0,0,0,0],'port_of':-2,'port_index':0}")), SA_ERR_FORMAT); /* stray iarg */
    CHECK_STATUS(load_spec(SPEC("{'kind':'input','name':'x','F':2,'in':[],'iarg':[0,0,0,0,0,0,0,0],"
                                "'farg':[0,0.5,0,0],'port_of':-2,'port_index':0}")), SA_ERR_FORMAT); /* stray farg */
    CHECK_STATUS(load_spec(SPEC("{'kind':'input','name':'x','F':2,'in':[],'iarg':[0,0,0,0,0,0,0,0],"
                                "'farg':[0,0,0,0],'port_of':-2}")), SA_ERR_FORMAT);                 /* missing */
    CHECK_STATUS(load_spec(SPEC("{'kind':'input','name':'x','F':2,'in':[],'iarg':[0,0,0,0,0,0,0,0],"
                                "'farg':[0,0,0,0],'port_of':-2,'port_index':0,'extra':1}")), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec(SPEC("{'kind':'input','name':'x','F':2,'in':[],'iarg':[0,0,0,0,0,0,0,0],"
                                "'farg':[0,0,0,0],'port_of':0,'port_index':0}")), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec(SPEC("{'kind':'input','name':'a b','F':2,'in':[],'iarg':[0,0,0,0,0,0,0,0],"
                                "'farg':[0,0,0,0],'port_of':-2,'port_index':0}")), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec(SPEC("{'kind':'input','name':'','F':2,'in':[],'iarg':[0,0,0,0,0,0,0,0],"
                                "'farg':[0,0,0,0],'port_of':-2,'port_index':0}")), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec(SPEC("{'kind':'input','name':'"
                                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                "','F':2,'in':[],'iarg':[0,0,0,0,0,0,0,0],'farg':[0,0,0,0],'port_of':-2,"
                                "'port_index':0}")), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec(SPEC(NODE_X "," NODE_X)), SA_ERR_FORMAT);               /* duplicate name */
    CHECK_STATUS(load_spec(SPEC("{'kind':'input','name':'x\\u0000y','F':2,'in':[],'iarg':[0,0,0,0,0,0,0,0],"
                                "'farg':[0,0,0,0],'port_of':-2,'port_index':0}")), SA_ERR_FORMAT);

#define AFTER_X(node) SPEC(NODE_X "," node)
    /* kind-specific arguments, each checked by its builder */
    CHECK_STATUS(load_spec(AFTER_X("{'kind':'act','name':'a','F':2,'in':[0],'iarg':[9,0,0,0,0,0,0,0],"
                                   "'farg':[0,0,0,0],'port_of':-2,'port_index':0}")), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec(AFTER_X("{'kind':'act','name':'a','F':7,'in':[0],'iarg':[0,0,0,0,0,0,0,0],"
                                   "'farg':[0,0,0,0],'port_of':-2,'port_index':0}")), SA_ERR_FORMAT); /* F */
    CHECK_STATUS(load_spec(AFTER_X("{'kind':'slice_time','name':'s','F':2,'in':[0],'iarg':[-1,1,0,0,0,0,0,0],"
                                   "'farg':[0,0,0,0],'port_of':-2,'port_index':0}")), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec(AFTER_X("{'kind':'slice_features','name':'s','F':2,'in':[0],"
                                   "'iarg':[1,2,0,0,0,0,0,0],'farg':[0,0,0,0],'port_of':-2,'port_index':0}")),
                 SA_ERR_FORMAT); /* past x's 2 features */
    CHECK_STATUS(load_spec(AFTER_X("{'kind':'dropout','name':'d','F':2,'in':[0],'iarg':[0,0,0,0,0,0,0,0],"
                                   "'farg':[1.5,0,0,0],'port_of':-2,'port_index':0}")), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec(AFTER_X("{'kind':'layer_norm','name':'n','F':2,'in':[0],'iarg':[0,0,0,0,0,0,0,0],"
                                   "'farg':[-1,0,0,0],'port_of':-2,'port_index':0}")), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec(AFTER_X("{'kind':'loss','name':'l','F':1,'in':[0,0],'iarg':[7,0,0,0,0,0,0,0],"
                                   "'farg':[0,0,0,0],'port_of':-2,'port_index':0}")), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec(AFTER_X("{'kind':'concat','name':'c','F':4,'in':[0],'iarg':[0,0,0,0,0,0,0,0],"
                                   "'farg':[0,0,0,0],'port_of':-2,'port_index':0}")), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec(AFTER_X("{'kind':'mha','name':'m','F':2,'in':[0,0,0],'iarg':[2,0,0,1,2,2,2,0],"
                                   "'farg':[0,0,0,0],'port_of':-2,'port_index':0}")), SA_ERR_FORMAT); /* 0 heads */
    CHECK_STATUS(load_spec(AFTER_X("{'kind':'mha','name':'m','F':2,'in':[0,0,0],'iarg':[2,3,0,1,2,2,2,0],"
                                   "'farg':[0,0,0,0],'port_of':-2,'port_index':0}")), SA_ERR_FORMAT); /* 2 % 3 */
    /* a recurrent layer whose initial-state slot points outside its inputs */
    CHECK_STATUS(load_spec(AFTER_X("{'kind':'gru','name':'g','F':4,'in':[0],'iarg':[4,1,1,1,2,9,0,0],"
                                   "'farg':[0,0,0,0],'port_of':-2,'port_index':0}")), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec(AFTER_X("{'kind':'gru','name':'g','F':4,'in':[0],'iarg':[4,1,1,1,2,-5,0,0],"
                                   "'farg':[0,0,0,0],'port_of':-2,'port_index':0}")), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec(AFTER_X("{'kind':'gru','name':'g','F':4,'in':[0],'iarg':[4,1,1,1,2,0,0,1],"
                                   "'farg':[0,0,0,0],'port_of':-2,'port_index':0}")), SA_ERR_FORMAT); /* peephole */
    CHECK_STATUS(load_spec(AFTER_X("{'kind':'gru','name':'g','F':4,'in':[0],'iarg':[4,99,1,1,2,0,0,0],"
                                   "'farg':[0,0,0,0],'port_of':-2,'port_index':0}")), SA_ERR_FORMAT); /* layers */
    /* hidden at its limit is a valid graph, but its 3·10^12 parameters cannot be
     * in a 36-byte data section: rejected before anything is allocated */
    CHECK_STATUS(load_spec(AFTER_X("{'kind':'gru','name':'g','F':1048576,'in':[0],"
                                   "'iarg':[1048576,1,1,1,2,0,0,0],'farg':[0,0,0,0],'port_of':-2,'port_index':0}")),
                 SA_ERR_FORMAT);
    CHECK_STATUS(load_spec(AFTER_X("{'kind':'posenc_learned','name':'p','F':2,'in':[0],"
                                   "'iarg':[16777216,0,0,0,0,0,0,0],'farg':[0,0,0,0],'port_of':-2,'port_index':0}")),
                 SA_ERR_FORMAT);
    /* ports: of a node without ports, of a bad index, twice */
    CHECK_STATUS(load_spec(AFTER_X("{'kind':'port','name':'x:1','F':2,'in':[0],'iarg':[0,0,0,0,0,0,0,0],"
                                   "'farg':[0,0,0,0],'port_of':0,'port_index':1}")), SA_ERR_FORMAT);
#define GRU1 "{'kind':'gru','name':'g','F':1,'in':[0],'iarg':[1,1,1,1,2,0,0,0],'farg':[0,0,0,0],'port_of':-2,'port_index':0}"
#define PORT(name, F, idx) "{'kind':'port','name':'" name "','F':" F ",'in':[1],'iarg':[0,0,0,0,0,0,0,0],'farg':[0,0,0,0],'port_of':1,'port_index':" idx "}"
    CHECK_STATUS(load_spec(SPEC(NODE_X "," GRU1 "," PORT("g:2", "1", "2"))), SA_ERR_FORMAT); /* GRU has no c_n */
    CHECK_STATUS(load_spec(SPEC(NODE_X "," GRU1 "," PORT("g:3", "1", "3"))), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec(SPEC(NODE_X "," GRU1 "," PORT("g:7", "1", "7"))), SA_ERR_FORMAT);
    CHECK_STATUS(load_spec(SPEC(NODE_X "," GRU1 "," PORT("g:1", "5", "1"))), SA_ERR_FORMAT); /* F */
    CHECK_STATUS(load_spec(SPEC(NODE_X "," GRU1 "," PORT("g:1", "1", "1") "," PORT("g:1", "1", "1"))),
                 SA_ERR_FORMAT);
    CHECK_STATUS(load_spec(SPEC(NODE_X "," GRU1 "," PORT("h:2", "1", "1"))), SA_ERR_FORMAT); /* not its index */
    CHECK_STATUS(load_spec(SPEC(NODE_X "," GRU1 "," PORT("x", "1", "1"))), SA_ERR_FORMAT);   /* name taken */
    /* valid specs (a port keeping an old default name, a renamed port) reach the
     * strict load, which misses the GRU's 15 parameters */
    CHECK_STATUS(load_spec(SPEC(NODE_X "," GRU1 "," PORT("old:1", "1", "1"))), SA_ERR_NOT_FOUND);
    CHECK_STATUS(load_spec(SPEC(NODE_X "," GRU1 "," PORT("hn", "1", "1"))), SA_ERR_NOT_FOUND);

    /* node count limit: checked before any node is built */
    {
        size_t cap = 10002 * 200;
        char *big = malloc(cap);
        REQUIRE(big != NULL);
        size_t at = (size_t)snprintf(big, cap, "{'format':'seqattn-graph','version':1,'nodes':[");
        for (int i = 0; i < 10001; i++)
            at += (size_t)snprintf(big + at, cap - at, "%s{'kind':'input','name':'x%d','F':2,'in':[],"
                                   "'iarg':[0,0,0,0,0,0,0,0],'farg':[0,0,0,0],'port_of':-2,'port_index':0}",
                                   i ? "," : "", i);
        snprintf(big + at, cap - at, "]}");
        CHECK_STATUS(load_spec(big), SA_ERR_FORMAT);
        free(big);
    }

    /* a malformed stored seed is an error when it is used (opts NULL) */
    write_spec(io_path("seed.safetensors"), SPEC(NODE_X "," NODE_FC("3", "0", "2")), ",\"seqattn.seed\":\"-1\"");
    m = (sa_model *)1;
    CHECK_STATUS(sa_model_load(io_path("seed.safetensors"), NULL, &m), SA_ERR_FORMAT);
    CHECK(m == NULL);
    sa_model_options o = sa_model_options_default();
    CHECK_OK(sa_model_load(io_path("seed.safetensors"), &o, &m));
    sa_model_destroy(m);
}

static void test_errors(void)
{
    sa_model *m = io_small_model(1);
    const char *path = io_path("small.safetensors");
    sa_model *out = (sa_model *)1;

    CHECK_STATUS(sa_model_save(NULL, path), SA_ERR_INVALID_ARG);
    CHECK(strncmp(sa_last_error(), "sa_model_save", 13) == 0);
    CHECK_STATUS(sa_model_save(m, NULL), SA_ERR_INVALID_ARG);
    CHECK(strncmp(sa_model_errmsg(m), "sa_model_save", 13) == 0);
    CHECK_STATUS(sa_model_load(NULL, NULL, &out), SA_ERR_INVALID_ARG);
    CHECK(out == NULL);
    CHECK_STATUS(sa_model_load(path, NULL, NULL), SA_ERR_INVALID_ARG);
    CHECK_STATUS(sa_model_load(io_path("missing.safetensors"), NULL, &out), SA_ERR_IO);
    CHECK_STATUS(sa_model_load(io_dir, NULL, &out), SA_ERR_IO);
    CHECK_STATUS(sa_model_save(m, io_path("no/such/dir.safetensors")), SA_ERR_IO);

    /* a parameter-only file has no graph */
    CHECK_OK(sa_save_params(m, path));
    CHECK_STATUS(sa_model_load(path, NULL, &out), SA_ERR_FORMAT);
    CHECK(out == NULL);

    /* options are checked as sa_model_create checks them */
    CHECK_OK(sa_model_save(m, path));
    sa_model_options o = sa_model_options_default();
    o.struct_size = 3;
    CHECK_STATUS(sa_model_load(path, &o, &out), SA_ERR_INVALID_ARG);
    CHECK(out == NULL && strncmp(sa_last_error(), "sa_model_load", 13) == 0);
    sa_model_destroy(m);

    /* two parameters with one name cannot be told apart in a file */
    sa_graph *g = sa_graph_new();
    sa_node x = sa_input(g, "x", 4);
    sa_mha_desc md = sa_mha_desc_default();
    md.embed_dim = 4;
    sa_name(g, sa_mha(g, x, x, x, &md), "a");            /* a.out_proj.weight */
    sa_name(g, sa_dense(g, x, 4), "a.out_proj");         /* a.out_proj.weight again */
    m = tu_model(g, 1);
    CHECK_STATUS(sa_model_save(m, io_path("dup.safetensors")), SA_ERR_INVALID_ARG);
    CHECK_STATUS(sa_save_params(m, io_path("dup.safetensors")), SA_ERR_INVALID_ARG);
    CHECK(access(io_path("dup.safetensors"), F_OK) != 0);
    sa_model_destroy(m);
}

int main(void)
{
    io_setup();
    test_round_trip();
    test_hostile_specs();
    test_errors();
    CHECK(io_count_entries(io_dir) >= 0);
    io_cleanup();
    return tu_report();
}
