/* fuzz_load_params.c — libFuzzer target for sa_load_params: the input is a
 * file's bytes, loaded from memory into a fixed model in both modes. Beyond
 * "no crash, no leak, no undefined behaviour, no huge allocation" (the
 * sanitizers and libFuzzer's malloc limit), it checks the loader's promise
 * that a failed load leaves the parameters unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/io/io.h"
#include "fuzz_models.h"

static fuzz_snapshot f;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    f = fuzz_params_snapshot();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sa_src src = sa_src_mem(data, size);
    for (int mode = SA_LOAD_STRICT; mode <= SA_LOAD_LENIENT; mode++) {
        memcpy(f.values, f.initial, f.n * sizeof(float));
        sa_clear_error();
        sa_status s = sa_io_load_params(f.model, &src, (sa_load_mode)mode, "fuzz");
        if (s != SA_OK && memcmp(f.values, f.initial, f.n * sizeof(float)) != 0)
            __builtin_trap(); /* a failed load changed the model */
        if (s != SA_OK && sa_last_error()[0] == '\0')
            __builtin_trap(); /* every failure has a message */
    }
    return 0;
}
