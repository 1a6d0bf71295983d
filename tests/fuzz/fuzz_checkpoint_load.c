/* fuzz_checkpoint_load.c — libFuzzer target for sa_checkpoint_load: the
 * input is a file's bytes, loaded from memory into a fixed model with an Adam
 * and an SGD-with-momentum optimizer. A failed load must leave the parameters
 * unchanged; after a successful one the optimizer must be able to step. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/io/io.h"
#include "fuzz_models.h"

static sa_model *model;
static sa_optim *optims[2];
static float *initial, *values;
static size_t n;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    float *grads;
    model = fuzz_params_model();
    if (!model || sa_params_flat(model, &values, &grads, &n) != SA_OK)
        abort();
    sa_optim_desc adam = sa_optim_desc_default(), sgd = sa_optim_desc_default();
    sgd.kind = SA_OPTIM_SGD;
    sgd.momentum = 0.9f;
    if (sa_optim_create(model, &adam, &optims[0]) != SA_OK || sa_optim_create(model, &sgd, &optims[1]) != SA_OK)
        abort();
    initial = malloc(n * sizeof(float));
    if (!initial)
        abort();
    memcpy(initial, values, n * sizeof(float));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sa_src src = sa_src_mem(data, size);
    for (int k = 0; k < 2; k++) {
        memcpy(values, initial, n * sizeof(float));
        sa_clear_error();
        sa_status s = sa_io_checkpoint_load(model, optims[k], &src, "fuzz");
        if (s != SA_OK && (memcmp(values, initial, n * sizeof(float)) != 0 || sa_last_error()[0] == '\0'))
            __builtin_trap(); /* a failed load changed the model, or gave no message */
        if (s == SA_OK && sa_optim_step(optims[k]) != SA_OK)
            __builtin_trap(); /* restored settings and moments must be usable */
    }
    return 0;
}
