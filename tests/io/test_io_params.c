/* test_io_params.c — sa_save_params / sa_load_params: round trips, the file
 * layout (header, names, PyTorch shapes, offsets, padding), strict and
 * lenient matching, dtype conversion, and the error paths of both calls. */
#include "iotest.h"

static void test_round_trip(void)
{
    sa_model *a = tu_model(io_all_kinds_graph(), 1);
    io_randomize(a, 2);
    const char *path = io_path("p.safetensors");
    CHECK_OK(sa_save_params(a, path));
    sa_model *b = tu_model(io_all_kinds_graph(), 77); /* other initial values */
    CHECK(!io_same_params(a, b));
    CHECK_OK(sa_load_params(b, path, SA_LOAD_STRICT));
    CHECK(io_same_params(a, b));
    CHECK_OK(sa_load_params(b, path, SA_LOAD_LENIENT));
    CHECK(io_same_params(a, b));
    sa_model_destroy(a);
    sa_model_destroy(b);
}

/* The bytes of a small model's file: what another reader relies on. */
static void test_layout(void)
{
    sa_model *m = io_small_model(1);
    sa_param_info w, bias;
    REQUIRE_OK(sa_param_find(m, "fc.weight", &w));
    REQUIRE_OK(sa_param_find(m, "fc.bias", &bias));
    const char *path = io_path("layout.safetensors");
    CHECK_OK(sa_save_params(m, path));
    size_t n = 0;
    unsigned char *b = io_read_file(path, &n);
    REQUIRE(b != NULL && n > 8);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | b[i];
    CHECK(hlen % 8 == 0);                  /* padded so the data is aligned */
    CHECK(8 + hlen + 36 == n);             /* 9 floats of data, nothing else */
    char *h = calloc(hlen + 1, 1);
    REQUIRE(h != NULL);
    memcpy(h, b + 8, hlen);
    CHECK(h[0] == '{');
    CHECK(strstr(h, "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0,24]}") != NULL);
    CHECK(strstr(h, "\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[24,36]}") != NULL);
    CHECK(strstr(h, "\"format\":\"pt\"") != NULL);
    CHECK(strstr(h, "\"seqattn.kind\":\"params\"") != NULL);
    float data[9];
    memcpy(data, b + 8 + hlen, sizeof data);
    CHECK(memcmp(data, w.value, 6 * sizeof(float)) == 0);
    CHECK(memcmp(data + 6, bias.value, 3 * sizeof(float)) == 0);
    free(h);
    free(b);
    sa_model_destroy(m);
}

/* A file from another writer: keys in another order than the data, extra
 * padding, no metadata; F16, BF16 and F64 data converted. */
static void test_foreign_files(void)
{
    sa_model *m = io_small_model(1);
    sa_param_info w, bias;
    REQUIRE_OK(sa_param_find(m, "fc.weight", &w));
    REQUIRE_OK(sa_param_find(m, "fc.bias", &bias));

    float data[9] = {1, -2, 3.5f, 4, 5, 6, 0.25f, -8, 9};
    io_write_st(io_path("f.st"),
                "{\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[24,36]},"
                "\"fc.weight\":{\"shape\":[3,2],\"data_offsets\":[0,24],\"dtype\":\"F32\"}}     ",
                data, sizeof data);
    CHECK_OK(sa_load_params(m, io_path("f.st"), SA_LOAD_STRICT));
    CHECK(memcmp(w.value, data, 6 * sizeof(float)) == 0 && memcmp(bias.value, data + 6, 3 * sizeof(float)) == 0);

    /* F16: 1, -2, 0.5, 65504, 2^-24 (smallest subnormal), -0; BF16: 1.5, -3, 2^-130 */
    unsigned char mixed[12 + 6] = {0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38, 0xff, 0x7b, 0x01, 0x00, 0x00, 0x80,
                                   0xc0, 0x3f, 0x40, 0xc0, 0x00, 0x00};
    /* BF16 2^-130 is a float32 subnormal: high half 0x0000 + mantissa bit 0x0020 */
    mixed[16] = 0x20;
    mixed[17] = 0x00;
    io_write_st(io_path("h.st"),
                "{\"fc.weight\":{\"dtype\":\"F16\",\"shape\":[3,2],\"data_offsets\":[0,12]},"
                "\"fc.bias\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[12,18]}}",
                mixed, sizeof mixed);
    CHECK_OK(sa_load_params(m, io_path("h.st"), SA_LOAD_STRICT));
    float want[6] = {1.0f, -2.0f, 0.5f, 65504.0f, 5.9604644775390625e-8f, -0.0f};
    CHECK(memcmp(w.value, want, sizeof want) == 0);
    CHECK(bias.value[0] == 1.5f && bias.value[1] == -3.0f);
    uint32_t bits;
    memcpy(&bits, &bias.value[2], 4);
    CHECK(bits == 0x00200000u);

    /* F64, with a value that rounds */
    double d[9] = {0.1, 2, 3, 4, 5, 6, 7, 8, -1e-3};
    io_write_st(io_path("d.st"),
                "{\"fc.weight\":{\"dtype\":\"F64\",\"shape\":[3,2],\"data_offsets\":[0,48]},"
                "\"fc.bias\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[48,72]}}",
                d, sizeof d);
    CHECK_OK(sa_load_params(m, io_path("d.st"), SA_LOAD_STRICT));
    CHECK(w.value[0] == 0.1f && bias.value[2] == -1e-3f);

    /* F64 outside float32's range, and NaN / Inf in any dtype: SA_ERR_NUMERIC, nothing changed */
    float before[9];
    memcpy(before, w.value, 6 * sizeof(float));
    memcpy(before + 6, bias.value, 3 * sizeof(float));
    d[8] = 1e300;
    io_write_st(io_path("d.st"),
                "{\"fc.weight\":{\"dtype\":\"F64\",\"shape\":[3,2],\"data_offsets\":[0,48]},"
                "\"fc.bias\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[48,72]}}",
                d, sizeof d);
    CHECK_STATUS(sa_load_params(m, io_path("d.st"), SA_LOAD_STRICT), SA_ERR_NUMERIC);
    data[8] = NAN;
    io_write_st(io_path("f.st"),
                "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0,24]},"
                "\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[24,36]}}",
                data, sizeof data);
    CHECK_STATUS(sa_load_params(m, io_path("f.st"), SA_LOAD_STRICT), SA_ERR_NUMERIC);
    mixed[16] = 0x80;
    mixed[17] = 0x7f; /* BF16 +Inf */
    io_write_st(io_path("h.st"),
                "{\"fc.weight\":{\"dtype\":\"F16\",\"shape\":[3,2],\"data_offsets\":[0,12]},"
                "\"fc.bias\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[12,18]}}",
                mixed, sizeof mixed);
    CHECK_STATUS(sa_load_params(m, io_path("h.st"), SA_LOAD_STRICT), SA_ERR_NUMERIC);
    CHECK(memcmp(w.value, before, 6 * sizeof(float)) == 0 && memcmp(bias.value, before + 6, 12) == 0);

    /* integer tensors are readable files but not parameters */
    int32_t ints[9] = {0};
    io_write_st(io_path("i.st"),
                "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0,24]},"
                "\"fc.bias\":{\"dtype\":\"I32\",\"shape\":[3],\"data_offsets\":[24,36]}}",
                ints, sizeof ints);
    CHECK_STATUS(sa_load_params(m, io_path("i.st"), SA_LOAD_STRICT), SA_ERR_FORMAT);
    CHECK_STATUS(sa_load_params(m, io_path("i.st"), SA_LOAD_LENIENT), SA_ERR_FORMAT);
    CHECK(strstr(sa_last_error(), "I32") != NULL);
    /* ... but an integer tensor that is no parameter is ignored by a lenient load */
    io_write_st(io_path("i.st"),
                "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0,24]},"
                "\"num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[24,32]}}",
                ints, 32);
    CHECK_OK(sa_load_params(m, io_path("i.st"), SA_LOAD_LENIENT));
    CHECK(w.value[0] == 0.0f);
    CHECK_STATUS(sa_load_params(m, io_path("i.st"), SA_LOAD_STRICT), SA_ERR_NOT_FOUND);
    sa_model_destroy(m);
}

/* two dense layers "fc" and "head"; head_units changes head's shape */
static sa_model *two_layers(const char *second, int32_t fc_units, uint64_t seed)
{
    sa_graph *g = sa_graph_new();
    sa_node x = sa_input(g, "x", 2);
    sa_node h = sa_name(g, sa_dense(g, x, fc_units), "fc");
    sa_name(g, sa_dense(g, h, 1), second);
    return tu_model(g, seed);
}

static void test_strict_lenient(void)
{
    sa_model *a = two_layers("head", 3, 1);
    const char *path = io_path("two.st");
    CHECK_OK(sa_save_params(a, path));

    /* b has fc and another head: strict fails (missing and extra), lenient loads fc only */
    sa_model *b = two_layers("head2", 3, 2);
    size_t n;
    float *before = io_params(b, &n);
    CHECK_STATUS(sa_load_params(b, path, SA_LOAD_STRICT), SA_ERR_NOT_FOUND);
    CHECK(strstr(sa_last_error(), "head2.weight") != NULL);
    CHECK(strncmp(sa_model_errmsg(b), "sa_load_params", 14) == 0);
    float *after = io_params(b, &n);
    CHECK(memcmp(before, after, n * sizeof(float)) == 0); /* a failed load changes nothing */
    free(after);
    CHECK_OK(sa_load_params(b, path, SA_LOAD_LENIENT));
    sa_param_info pa, pb;
    REQUIRE_OK(sa_param_find(a, "fc.weight", &pa));
    REQUIRE_OK(sa_param_find(b, "fc.weight", &pb));
    CHECK(memcmp(pa.value, pb.value, pa.numel * sizeof(float)) == 0);
    float *vals, *grads; /* head2 kept its values */
    REQUIRE_OK(sa_params_flat(b, &vals, &grads, &n));
    REQUIRE_OK(sa_param_find(b, "head2.weight", &pb));
    CHECK(memcmp(pb.value, before + (pb.value - vals), pb.numel * sizeof(float)) == 0);
    free(before);

    /* a model with a subset of the file: strict rejects the extra tensors */
    sa_graph *g = sa_graph_new();
    sa_name(g, sa_dense(g, sa_input(g, "x", 2), 3), "fc");
    sa_model *c = tu_model(g, 3);
    CHECK_STATUS(sa_load_params(c, path, SA_LOAD_STRICT), SA_ERR_NOT_FOUND);
    CHECK(strstr(sa_last_error(), "head.") != NULL);
    CHECK_OK(sa_load_params(c, path, SA_LOAD_LENIENT));

    /* a parameter of another shape is an error in both modes */
    sa_model *d = two_layers("head", 4, 4);
    float *dv = io_params(d, &n);
    CHECK_STATUS(sa_load_params(d, path, SA_LOAD_STRICT), SA_ERR_SHAPE);
    CHECK_STATUS(sa_load_params(d, path, SA_LOAD_LENIENT), SA_ERR_SHAPE);
    CHECK(strstr(sa_last_error(), "[3, 2]") != NULL && strstr(sa_last_error(), "[4, 2]") != NULL);
    float *dv2 = io_params(d, &n);
    CHECK(memcmp(dv, dv2, n * sizeof(float)) == 0);
    free(dv);
    free(dv2);

    sa_model_destroy(a);
    sa_model_destroy(b);
    sa_model_destroy(c);
    sa_model_destroy(d);
}

static void test_errors(void)
{
    sa_model *m = io_small_model(1);
    const char *path = io_path("e.st");
    CHECK_STATUS(sa_save_params(NULL, path), SA_ERR_INVALID_ARG);
    CHECK(strncmp(sa_last_error(), "sa_save_params", 14) == 0);
    CHECK_STATUS(sa_save_params(m, NULL), SA_ERR_INVALID_ARG);
    CHECK_STATUS(sa_save_params(m, ""), SA_ERR_IO);
    CHECK_STATUS(sa_save_params(m, io_path("")), SA_ERR_IO); /* ends with a slash */
    CHECK_STATUS(sa_save_params(m, io_path("missing/e.st")), SA_ERR_IO);
    CHECK_OK(sa_save_params(m, path));
    CHECK_STATUS(sa_load_params(NULL, path, SA_LOAD_STRICT), SA_ERR_INVALID_ARG);
    CHECK_STATUS(sa_load_params(m, NULL, SA_LOAD_STRICT), SA_ERR_INVALID_ARG);
    CHECK_STATUS(sa_load_params(m, path, (sa_load_mode)2), SA_ERR_INVALID_ARG);
    CHECK_STATUS(sa_load_params(m, path, (sa_load_mode)-1), SA_ERR_INVALID_ARG);
    CHECK(strncmp(sa_model_errmsg(m), "sa_load_params", 14) == 0);
    CHECK_STATUS(sa_load_params(m, io_path("missing.st"), SA_LOAD_STRICT), SA_ERR_IO);
    CHECK(strstr(sa_last_error(), "missing.st") != NULL);
    CHECK_STATUS(sa_load_params(m, io_dir, SA_LOAD_STRICT), SA_ERR_IO);
    CHECK_STATUS(sa_load_params(m, "/dev/null", SA_LOAD_STRICT), SA_ERR_IO); /* not a regular file */
    io_write_bytes(io_path("empty.st"), "", 0);
    CHECK_STATUS(sa_load_params(m, io_path("empty.st"), SA_LOAD_STRICT), SA_ERR_FORMAT);
    sa_model_destroy(m);

    /* a model without parameters round-trips through an empty data section */
    sa_graph *g = sa_graph_new();
    sa_mean_time(g, sa_input(g, "x", 3));
    m = tu_model(g, 1);
    CHECK_OK(sa_save_params(m, path));
    CHECK_OK(sa_load_params(m, path, SA_LOAD_STRICT));
    CHECK_OK(sa_model_save(m, path));
    sa_model *l = NULL;
    CHECK_OK(sa_model_load(path, NULL, &l));
    CHECK(l && sa_param_count(l) == 0);
    sa_model_destroy(l);
    sa_model_destroy(m);
}

int main(void)
{
    io_setup();
    test_round_trip();
    test_layout();
    test_foreign_files();
    test_strict_lenient();
    test_errors();
    io_cleanup();
    return tu_report();
}
