/* test_io_hostile.c — malformed and hostile safetensors files, crafted byte
 * by byte: each is rejected with its status and a message naming
 * sa_load_params, and the model is left as it was. (Run under ASan in CI, so
 * an out-of-bounds read or an over-allocation would fail here too.) */
#include "iotest.h"

static sa_model *m;
static float *orig;
static size_t n_orig;

/* loads path into m with mode and checks the status, the message and that m did not change */
static void expect(const char *what, sa_load_mode mode, sa_status want, int line)
{
    sa_status s = sa_load_params(m, io_path("h.st"), mode);
    tu_checks++;
    if (s != want) {
        fprintf(stderr, "line %d (%s): got %s, want %s: %s\n", line, what, sa_status_str(s), sa_status_str(want),
                sa_last_error());
        tu_failures++;
    }
    if (s != SA_OK) {
        CHECK(strncmp(sa_last_error(), "sa_load_params: ", 16) == 0);
        size_t n;
        float *now = io_params(m, &n);
        CHECK(n == n_orig && memcmp(now, orig, n * sizeof(float)) == 0);
        free(now);
    } else { /* the loaded values are the reference from now on */
        free(orig);
        orig = io_params(m, &n_orig);
    }
}

/* a file from a header and data_len bytes of floats, new values each time so
 * a partial load would show */
static void st(const char *header, size_t data_len)
{
    static float v = 0.5f;
    v += 0.25f;
    float *data = malloc(data_len + 4);
    REQUIRE(data != NULL);
    for (size_t i = 0; i < data_len / 4 + 1; i++)
        data[i] = v;
    io_write_st(io_path("h.st"), header, data, data_len);
    free(data);
}

#define W(offs) "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":" offs "}"
#define B(offs) "\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":" offs "}"
#define GOOD "{" W("[0,24]") "," B("[24,36]") "}"
#define CASE(header, len, mode, want) \
    do {                              \
        st(header, len);              \
        expect(header, mode, want, __LINE__); \
    } while (0)

static void test_header_length(void)
{
    unsigned char b[16] = {0};
    io_write_bytes(io_path("h.st"), b, 7); /* shorter than the length field */
    expect("7 bytes", SA_LOAD_STRICT, SA_ERR_FORMAT, __LINE__);
    io_write_bytes(io_path("h.st"), b, 8); /* header length 0 */
    expect("length 0", SA_LOAD_STRICT, SA_ERR_FORMAT, __LINE__);
    /* a length past the end of the file, absurd lengths, one over the limit */
    io_write_st_len(io_path("h.st"), strlen(GOOD) + 1, GOOD, "", 0);
    expect("length past the end", SA_LOAD_STRICT, SA_ERR_FORMAT, __LINE__);
    io_write_st_len(io_path("h.st"), UINT64_MAX, GOOD, "", 0);
    expect("length 2^64-1", SA_LOAD_STRICT, SA_ERR_FORMAT, __LINE__);
    io_write_st_len(io_path("h.st"), (uint64_t)1 << 63, GOOD, "", 0);
    expect("length 2^63", SA_LOAD_STRICT, SA_ERR_FORMAT, __LINE__);
    io_write_st_len(io_path("h.st"), 100000001, GOOD, "", 0);
    expect("length over the limit", SA_LOAD_STRICT, SA_ERR_FORMAT, __LINE__);
    CHECK(strstr(sa_last_error(), "limit") != NULL);
    /* a length shorter than the JSON: the rest counts as data */
    io_write_st_len(io_path("h.st"), 10, GOOD, "", 0);
    expect("length cuts the JSON", SA_LOAD_STRICT, SA_ERR_FORMAT, __LINE__);
}

static void test_json(void)
{
    CASE(GOOD, 36, SA_LOAD_STRICT, SA_OK);
    CASE(GOOD "  \n ", 36, SA_LOAD_STRICT, SA_OK);              /* trailing white space */
    CASE(" " GOOD, 36, SA_LOAD_STRICT, SA_ERR_FORMAT);          /* must start with '{' */
    CASE("[]", 0, SA_LOAD_STRICT, SA_ERR_FORMAT);
    CASE("{", 0, SA_LOAD_STRICT, SA_ERR_FORMAT);
    CASE("{\"a\": }", 0, SA_LOAD_STRICT, SA_ERR_FORMAT);
    CASE(GOOD "x", 36, SA_LOAD_STRICT, SA_ERR_FORMAT);          /* trailing garbage */
    CASE("{}", 0, SA_LOAD_LENIENT, SA_OK);                      /* nothing to load */
    CASE("{}", 0, SA_LOAD_STRICT, SA_ERR_NOT_FOUND);
    CASE("{\"fc.bi\xff\":{}}", 0, SA_LOAD_STRICT, SA_ERR_FORMAT); /* not UTF-8 */
    CASE("{" W("[0,24]") "," B("[24,36]") "," B("[24,36]") "}", 36, SA_LOAD_STRICT, SA_ERR_FORMAT); /* duplicate */
    CASE("{\"fc.weight\":5}", 0, SA_LOAD_LENIENT, SA_ERR_FORMAT);
    CASE("{\"fc.weight\":[0,24]}", 0, SA_LOAD_LENIENT, SA_ERR_FORMAT);
    CASE("{\"fc.weight\":null}", 0, SA_LOAD_LENIENT, SA_ERR_FORMAT);
    /* deep nesting stops at jansson's depth limit instead of the stack */
    {
        size_t d = 100000;
        char *deep = malloc(2 * d + 16);
        REQUIRE(deep != NULL);
        strcpy(deep, "{\"a\":");
        size_t at = 5;
        for (size_t i = 0; i < d; i++)
            deep[at++] = '[';
        for (size_t i = 0; i < d; i++)
            deep[at++] = ']';
        deep[at++] = '}';
        deep[at] = '\0';
        CASE(deep, 0, SA_LOAD_LENIENT, SA_ERR_FORMAT);
        free(deep);
    }
}

static void test_fields(void)
{
    /* missing and ill-typed fields */
    CASE("{\"fc.weight\":{\"shape\":[3,2],\"data_offsets\":[0,24]}," B("[24,36]") "}", 36, SA_LOAD_LENIENT,
         SA_ERR_FORMAT);
    CASE("{\"fc.weight\":{\"dtype\":\"F32\",\"data_offsets\":[0,24]}," B("[24,36]") "}", 36, SA_LOAD_LENIENT,
         SA_ERR_FORMAT);
    CASE("{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[3,2]}," B("[24,36]") "}", 36, SA_LOAD_LENIENT,
         SA_ERR_FORMAT);
    CASE("{\"fc.weight\":{\"dtype\":32,\"shape\":[3,2],\"data_offsets\":[0,24]}," B("[24,36]") "}", 36,
         SA_LOAD_LENIENT, SA_ERR_FORMAT);
    CASE("{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":\"3x2\",\"data_offsets\":[0,24]}," B("[24,36]") "}", 36,
         SA_LOAD_LENIENT, SA_ERR_FORMAT);
    CASE("{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[3,-2],\"data_offsets\":[0,24]}," B("[24,36]") "}", 36,
         SA_LOAD_LENIENT, SA_ERR_FORMAT);
    CASE("{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[3,2.0],\"data_offsets\":[0,24]}," B("[24,36]") "}", 36,
         SA_LOAD_LENIENT, SA_ERR_FORMAT);
    CASE("{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0]}," B("[24,36]") "}", 36,
         SA_LOAD_LENIENT, SA_ERR_FORMAT);
    CASE("{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0,24,36]}," B("[24,36]") "}", 36,
         SA_LOAD_LENIENT, SA_ERR_FORMAT);
    CASE("{" W("[0,\"24\"]") "," B("[24,36]") "}", 36, SA_LOAD_LENIENT, SA_ERR_FORMAT);
    CASE("{" W("[-24,0]") "," B("[0,12]") "}", 12, SA_LOAD_LENIENT, SA_ERR_FORMAT);
    CASE("{" W("[0,99999999999999999999]") "," B("[24,36]") "}", 36, SA_LOAD_LENIENT, SA_ERR_FORMAT);
    /* dtypes: unknown, and known but not floating point */
    CASE("{\"fc.weight\":{\"dtype\":\"F33\",\"shape\":[3,2],\"data_offsets\":[0,24]}," B("[24,36]") "}", 36,
         SA_LOAD_LENIENT, SA_ERR_FORMAT);
    CASE("{\"fc.weight\":{\"dtype\":\"I32\",\"shape\":[3,2],\"data_offsets\":[0,24]}," B("[24,36]") "}", 36,
         SA_LOAD_LENIENT, SA_ERR_FORMAT);
    CASE("{\"fc.weight\":{\"dtype\":\"f32\",\"shape\":[3,2],\"data_offsets\":[0,24]}," B("[24,36]") "}", 36,
         SA_LOAD_LENIENT, SA_ERR_FORMAT);
    /* metadata: must be an object of strings (null means none) */
    CASE("{\"__metadata__\":{\"a\":\"b\"}," W("[0,24]") "," B("[24,36]") "}", 36, SA_LOAD_STRICT, SA_OK);
    CASE("{\"__metadata__\":null," W("[0,24]") "," B("[24,36]") "}", 36, SA_LOAD_STRICT, SA_OK);
    CASE("{\"__metadata__\":{\"a\":1}," W("[0,24]") "," B("[24,36]") "}", 36, SA_LOAD_STRICT, SA_ERR_FORMAT);
    CASE("{\"__metadata__\":[\"a\"]," W("[0,24]") "," B("[24,36]") "}", 36, SA_LOAD_STRICT, SA_ERR_FORMAT);
    CASE("{\"__metadata__\":{\"a\":\"b\"},\"__metadata__\":{}," W("[0,24]") "," B("[24,36]") "}", 36,
         SA_LOAD_STRICT, SA_ERR_FORMAT);
}

static void test_offsets(void)
{
    CASE("{" B("[0,12]") "," W("[12,36]") "}", 36, SA_LOAD_STRICT, SA_OK);        /* any order */
    CASE("{" W("[0,24]") "," B("[24,40]") "}", 40, SA_LOAD_LENIENT, SA_ERR_FORMAT); /* 16 bytes for 3 floats */
    CASE("{" W("[0,24]") "," B("[20,32]") "}", 36, SA_LOAD_LENIENT, SA_ERR_FORMAT); /* overlap */
    CASE("{" W("[0,24]") "," B("[0,12]") "}", 24, SA_LOAD_LENIENT, SA_ERR_FORMAT);  /* overlap at 0 */
    CASE("{" W("[0,24]") "," B("[28,40]") "}", 40, SA_LOAD_LENIENT, SA_ERR_FORMAT); /* hole */
    CASE("{" W("[4,28]") "," B("[28,40]") "}", 40, SA_LOAD_LENIENT, SA_ERR_FORMAT); /* hole at the start */
    CASE(GOOD, 40, SA_LOAD_LENIENT, SA_ERR_FORMAT);                                  /* uncovered tail */
    CASE(GOOD, 35, SA_LOAD_LENIENT, SA_ERR_FORMAT);                                  /* truncated data */
    CASE(GOOD, 0, SA_LOAD_LENIENT, SA_ERR_FORMAT);                                   /* no data at all */
    CASE("{" W("[24,0]") "," B("[24,36]") "}", 36, SA_LOAD_LENIENT, SA_ERR_FORMAT);  /* begin > end */
    CASE("{" W("[0,24]") "," B("[24,36]") ",\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[36,36]}}",
         36, SA_LOAD_LENIENT, SA_OK);                                               /* empty tensor at the end */
    CASE("{" W("[0,24]") "," B("[24,36]") ",\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[40,40]}}",
         36, SA_LOAD_LENIENT, SA_ERR_FORMAT);                                       /* ... past it */
    /* sizes: product overflow (even with a 0 after it), absurd dims, too many dims */
    CASE("{" W("[0,24]") "," B("[24,36]") ",\"z\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,0],"
         "\"data_offsets\":[36,36]}}", 36, SA_LOAD_LENIENT, SA_ERR_FORMAT);
    CASE("{" W("[0,24]") "," B("[24,36]") ",\"z\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],"
         "\"data_offsets\":[36,36]}}", 36, SA_LOAD_LENIENT, SA_ERR_FORMAT);          /* 2^61 · 8 overflows */
    CASE("{" W("[0,24]") "," B("[24,36]") ",\"z\":{\"dtype\":\"F32\",\"shape\":[1073741824],"
         "\"data_offsets\":[36,36]}}", 36, SA_LOAD_LENIENT, SA_ERR_FORMAT);
    CASE("{" W("[0,24]") "," B("[24,36]") ",\"z\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],"
         "\"data_offsets\":[36,37]}}", 37, SA_LOAD_LENIENT, SA_ERR_FORMAT);
    CASE("{" W("[0,24]") "," B("[24,36]") ",\"z\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],"
         "\"data_offsets\":[36,37]}}", 37, SA_LOAD_LENIENT, SA_OK);                  /* 16 dims are fine */
}

static void test_matching(void)
{
    /* shapes that hold the right number of floats but are not the parameter's */
    CASE("{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}," B("[24,36]") "}", 36,
         SA_LOAD_LENIENT, SA_ERR_SHAPE);
    CASE("{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24]}," B("[24,36]") "}", 36,
         SA_LOAD_STRICT, SA_ERR_SHAPE);
    CASE("{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[3,2,1],\"data_offsets\":[0,24]}," B("[24,36]") "}", 36,
         SA_LOAD_STRICT, SA_ERR_SHAPE);
    CASE("{" W("[0,24]") ",\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[3,1],\"data_offsets\":[24,36]}}", 36,
         SA_LOAD_STRICT, SA_ERR_SHAPE);
    /* missing and extra tensors */
    CASE("{" W("[0,24]") "}", 24, SA_LOAD_STRICT, SA_ERR_NOT_FOUND);
    CASE("{" W("[0,24]") "}", 24, SA_LOAD_LENIENT, SA_OK);
    CASE("{" W("[0,24]") "," B("[24,36]") ",\"fc.extra\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[36,40]}}",
         40, SA_LOAD_STRICT, SA_ERR_NOT_FOUND);
    CASE("{" W("[0,24]") "," B("[24,36]") ",\"fc.extra\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[36,40]}}",
         40, SA_LOAD_LENIENT, SA_OK);
    CASE("{\"FC.weight\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0,24]}," B("[24,36]") "}", 36,
         SA_LOAD_STRICT, SA_ERR_NOT_FOUND); /* names are case-sensitive */
}

/* random bytes and random cuts and flips of a valid file never crash */
static void test_mutations(void)
{
    const char *path = io_path("valid.st");
    REQUIRE_OK(sa_save_params(m, path));
    size_t n = 0;
    unsigned char *valid = io_read_file(path, &n);
    REQUIRE(valid != NULL);
    unsigned char *b = malloc(n);
    REQUIRE(b != NULL);
    tu_rng r = {42};
    for (int it = 0; it < 3000; it++) {
        memcpy(b, valid, n);
        size_t len = n;
        int kind = (int)(tu_next(&r) % 3);
        if (kind == 0)
            len = (size_t)(tu_next(&r) % n);
        else
            for (int k = 0; k < 1 + (int)(tu_next(&r) % 4); k++)
                b[tu_next(&r) % (kind == 1 ? n : 48)] ^= (unsigned char)(1u << (tu_next(&r) % 8));
        io_write_bytes(io_path("h.st"), b, len);
        sa_status s = sa_load_params(m, io_path("h.st"), (sa_load_mode)(it & 1));
        CHECK(s == SA_OK || s == SA_ERR_FORMAT || s == SA_ERR_SHAPE || s == SA_ERR_NOT_FOUND ||
              s == SA_ERR_NUMERIC);
        if (s == SA_OK) /* a flip inside the data: restore the reference values */
            REQUIRE_OK(sa_load_params(m, path, SA_LOAD_STRICT));
    }
    free(b);
    free(valid);
}

int main(void)
{
    io_setup();
    m = io_small_model(1);
    io_randomize(m, 5);
    orig = io_params(m, &n_orig);
    test_header_length();
    test_json();
    test_fields();
    test_offsets();
    test_matching();
    test_mutations();
    free(orig);
    sa_model_destroy(m);
    io_cleanup();
    return tu_report();
}
