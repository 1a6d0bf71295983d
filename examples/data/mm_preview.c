/*
 * mm_preview.c — writes a PGM grid of generated Moving Fashion-MNIST
 * sequences to look at (tools/plot_frames.py makes a PNG of it), and with
 * --bench reports the generation speed.
 *
 *   moving_mnist_preview [--out FILE] [--seqs N] [--every K] [--seed N]
 *                        [--canvas S] [--frames T] [--items N] [--downsample F]
 *                        [--speed PX] [--split train|test] [--bench N]
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_gettime(); set here so the file builds outside meson too */
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fashion_mnist.h"
#include "moving_mnist.h"
#include "pgm_strip.h"

static _Noreturn void die(const char *msg)
{
    fprintf(stderr, "moving_mnist_preview: %s\n", msg);
    exit(EXIT_FAILURE);
}

static long long int_arg(const char *name, const char *s, long long lo, long long hi)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s wants an integer in %lld..%lld, got '%s'", name, lo, hi, s);
        die(msg);
    }
    return v;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    mm_config cfg = mm_config_default();
    const char *out = "moving_mnist.pgm";
    int32_t seqs = 4, every = 10, bench = 0;
    fmnist_split split = FMNIST_TRAIN;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            die(strcmp(a, "--help") == 0 ? "see the comment at the top of examples/data/mm_preview.c"
                                           : "every option takes a value (see mm_preview.c)");
        const char *v = argv[++i];
        if (strcmp(a, "--out") == 0)
            out = v;
        else if (strcmp(a, "--seqs") == 0)
            seqs = (int32_t)int_arg(a, v, 1, 1000);
        else if (strcmp(a, "--every") == 0)
            every = (int32_t)int_arg(a, v, 1, 1000000);
        else if (strcmp(a, "--seed") == 0)
            cfg.seed = (uint64_t)int_arg(a, v, 0, INT64_MAX);
        else if (strcmp(a, "--canvas") == 0)
            cfg.canvas = (int32_t)int_arg(a, v, 1, MM_MAX_CANVAS);
        else if (strcmp(a, "--frames") == 0)
            cfg.frames = (int32_t)int_arg(a, v, 1, 100000);
        else if (strcmp(a, "--items") == 0)
            cfg.items = (int32_t)int_arg(a, v, 1, MM_MAX_ITEMS);
        else if (strcmp(a, "--downsample") == 0)
            cfg.item_downsample = (int32_t)int_arg(a, v, 1, 28);
        else if (strcmp(a, "--speed") == 0) {
            char *end;
            cfg.speed = strtod(v, &end);
            if (end == v || *end)
                die("--speed wants a number of pixels per frame");
        } else if (strcmp(a, "--split") == 0) {
            if (strcmp(v, "train") == 0)
                split = FMNIST_TRAIN;
            else if (strcmp(v, "test") == 0)
                split = FMNIST_TEST;
            else
                die("--split is train or test");
        } else if (strcmp(a, "--bench") == 0)
            bench = (int32_t)int_arg(a, v, 1, 100000);
        else {
            char msg[256];
            snprintf(msg, sizeof msg, "unknown option '%s'", a);
            die(msg);
        }
    }

    char err[1024];
    idx_array images;
    double t0 = now();
    if (fmnist_load_images(split, &images, err, sizeof err) != IDX_OK)
        die(err);
    double t_load = now() - t0;
    int n_img = images.dims[0], h = images.dims[1], w = images.dims[2];
    if (mm_config_check(&cfg, &images, err, sizeof err) != MM_OK) {
        idx_free(&images);
        die(err);
    }

    size_t per_seq = (size_t)cfg.frames * mm_frame_floats(&cfg);
    float *frames = malloc((size_t)seqs * per_seq * sizeof(float));
    if (!frames) {
        idx_free(&images);
        die("out of memory for the frames");
    }
    int rc = mm_generate(&cfg, &images, 0, seqs, frames, err, sizeof err);
    if (rc == MM_OK)
        rc = mm_write_pgm_strip(out, frames, seqs, cfg.frames, cfg.canvas, every, err, sizeof err);

    /* The benchmark refills the same buffer, as a training loop would, so it
     * times the generation rather than first-touch page faults. */
    double t_gen = 0.0;
    for (int32_t done = 0; rc == MM_OK && done < bench; done += seqs) {
        int32_t k = bench - done < seqs ? bench - done : seqs;
        t0 = now();
        rc = mm_generate(&cfg, &images, done, k, frames, err, sizeof err);
        t_gen += now() - t0;
    }
    free(frames);
    idx_free(&images);
    if (rc != MM_OK)
        die(err);

    printf("loaded %d images of %dx%d from %s in %.2f s\n", n_img, h, w, fmnist_dir(), t_load);
    if (bench)
        printf("generated %d sequences of %d frames of %dx%d in %.3f s: %.0f frames/s\n", (int)bench,
               (int)cfg.frames, (int)cfg.canvas, (int)cfg.canvas, t_gen, (double)bench * cfg.frames / t_gen);
    printf("wrote %s (%d sequences, every %d frames)\n", out, (int)seqs, (int)every);
    return 0;
}
