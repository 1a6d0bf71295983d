/* fuzz_checkpoint_load.c — libFuzzer target for sa_checkpoint_load: the
 * input is a file's bytes, loaded from memory into a fixed model with an Adam
 * and an SGD-with-momentum optimizer. A failed load must leave the parameters
 * unchanged; after a successful one the optimizer must be able to step. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/io/io.h"
#include "fuzz_models.h"

static fuzz_snapshot f;
static sa_optim *optims[2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    f = fuzz_params_snapshot();
    sa_optim_desc adam = sa_optim_desc_default(), sgd = sa_optim_desc_default();
    sgd.kind = SA_OPTIM_SGD;
    sgd.momentum = 0.9f;
    if (sa_optim_create(f.model, &adam, &optims[0]) != SA_OK || sa_optim_create(f.model, &sgd, &optims[1]) != SA_OK)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sa_src src = sa_src_mem(data, size);
    for (int k = 0; k < 2; k++) {
        memcpy(f.values, f.initial, f.n * sizeof(float));
        sa_clear_error();
        sa_status s = sa_io_checkpoint_load(f.model, optims[k], &src, "fuzz");
        if (s != SA_OK && (memcmp(f.values, f.initial, f.n * sizeof(float)) != 0 || sa_last_error()[0] == '\0'))
            __builtin_trap(); /* a failed load changed the model, or gave no message */
        if (s == SA_OK && sa_optim_step(optims[k]) != SA_OK)
            __builtin_trap(); /* restored settings and moments must be usable */
    }
    return 0;
}
