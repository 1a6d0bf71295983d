/* htap_data.c — Moving Fashion-MNIST batches for htap_video.c (htap_data.h). */
#include "htap_data.h"

#include <string.h>

#include "common.h"
#include "data/fashion_mnist.h"

void htap_data_load(htap_data *d, const mm_config *recipe)
{
    memset(d, 0, sizeof *d);
    char err[1024];
    const fmnist_split split[2] = {FMNIST_TRAIN, FMNIST_TEST};
    for (int s = 0; s < 2; s++) {
        if (fmnist_load_images(split[s], &d->images[s], err, sizeof err) != IDX_OK)
            ex_die("%s", err);
        d->cfg[s] = *recipe;
        if (mm_config_check(&d->cfg[s], &d->images[s], err, sizeof err) != MM_OK)
            ex_die("%s", err);
    }
}

void htap_data_seed(htap_data *d, uint64_t seed)
{
    d->cfg[HTAP_TRAIN].seed = 2 * seed;
    d->cfg[HTAP_TEST].seed = 2 * seed + 1;
}

void htap_data_free(htap_data *d)
{
    idx_free(&d->images[0]);
    idx_free(&d->images[1]);
}

void htap_data_batch(const htap_data *d, int set, const int32_t *idx, int32_t B, float *frames)
{
    const mm_config *c = &d->cfg[set];
    size_t seq = (size_t)c->frames * mm_frame_floats(c);
    char err[512];
    for (int32_t b = 0; b < B; b++)
        if (mm_generate(c, &d->images[set], idx[b], 1, frames + (size_t)b * seq, err, sizeof err) != MM_OK)
            ex_die("%s", err);
}

void htap_split_xy(const float *frames, int32_t B, int32_t T, int32_t P, float *x, float *y)
{
    size_t frame = (size_t)P, seq = (size_t)T * frame, part = (size_t)(T - 1) * frame;
    for (int32_t b = 0; b < B; b++) {
        memcpy(x + (size_t)b * part, frames + (size_t)b * seq, part * sizeof(float));
        memcpy(y + (size_t)b * part, frames + (size_t)b * seq + frame, part * sizeof(float));
    }
}
