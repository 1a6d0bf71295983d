/*
 * htap_report.c — the output files of htap_video.c (htap_exp.h):
 *   metrics.json   headline (test_mse = H-TAP far MSE, baseline_mse = RNN far
 *                  MSE, ratio = baseline / H-TAP, seconds), configuration,
 *                  parameter counts, per-seed and pooled per-frame MSE / PSNR,
 *                  near / far means, attention spans, training losses
 *   attention.csv  the last block's head-averaged attention during the
 *                  rollout: rows "matrix,query,key_0..key_{T-2}", matrix
 *                  "mean" (test set of the first seed) then "seq0"
 *   frames.pgm     rows true / RNN / H-TAP of test sequence 0: the last
 *                  context frame, then every k-th rollout frame
 * tools/plot_htap.py turns them into figures.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <seqattn/seqattn.h>

#include "common.h"
#include "data/pgm_strip.h"
#include "htap_exp.h"
#include "results.h"

/* Columns of the frame strip: about this many. */
#define STRIP_COLUMNS 10

static int32_t strip_every(const htap_run *r)
{
    int32_t every = (r->cap.len - 1) / STRIP_COLUMNS;
    return every > 0 ? every : 1;
}

typedef struct stats {
    double mean, std, min, max; /* std: sample std over seeds (0 for one seed) */
} stats;

static stats stats_of(const double *v, int32_t n, size_t stride)
{
    stats s = {0.0, 0.0, INFINITY, -INFINITY};
    for (int32_t i = 0; i < n; i++) {
        double x = v[(size_t)i * stride];
        s.mean += x;
        s.min = x < s.min ? x : s.min;
        s.max = x > s.max ? x : s.max;
    }
    s.mean /= n;
    for (int32_t i = 0; i < n; i++) {
        double d = v[(size_t)i * stride] - s.mean;
        s.std += d * d;
    }
    s.std = n > 1 ? sqrt(s.std / (n - 1)) : 0.0;
    return s;
}

static void json_stats(FILE *f, stats s)
{
    fputs("{\"mean\": ", f);
    res_json_number(f, s.mean);
    fputs(", \"std\": ", f);
    res_json_number(f, s.std);
    fputs(", \"min\": ", f);
    res_json_number(f, s.min);
    fputs(", \"max\": ", f);
    res_json_number(f, s.max);
    fputc('}', f);
}

/* Statistics over seeds of a per-seed scalar picked by `get`. */
typedef double (*pick_fn)(const htap_seed_result *r, int m);
static double pick_near(const htap_seed_result *r, int m) { return r->near[m]; }
static double pick_far(const htap_seed_result *r, int m) { return r->far[m]; }
static double pick_near_psnr(const htap_seed_result *r, int m) { return r->near_psnr[m]; }
static double pick_far_psnr(const htap_seed_result *r, int m) { return r->far_psnr[m]; }

static stats over_seeds(const htap_run *r, int m, pick_fn get)
{
    double *v = calloc(r->n_seeds > 0 ? (size_t)r->n_seeds : 1, sizeof(double)); /* calloc: never read uninitialised */
    if (!v)
        ex_die("out of memory");
    for (int32_t k = 0; k < r->n_seeds; k++)
        v[k] = get(&r->seed[k], m);
    stats s = stats_of(v, r->n_seeds, 1);
    free(v);
    return s;
}

static void json_method_stats(FILE *f, const htap_run *r, pick_fn get)
{
    fputc('{', f);
    for (int m = 0; m < N_METHODS; m++) {
        fprintf(f, "%s\"%s\": ", m ? ", " : "", htap_method_key[m]);
        json_stats(f, over_seeds(r, m, get));
    }
    fputc('}', f);
}

/* Per-frame mean (and std) over seeds of mse or psnr. */
static void json_per_frame(FILE *f, const htap_run *r, int psnr, int want_std)
{
    int32_t H = r->win.H;
    double *v = malloc((size_t)r->n_seeds * sizeof(double));
    double *out = malloc((size_t)H * sizeof(double));
    if (!v || !out)
        ex_die("out of memory");
    fputc('{', f);
    for (int m = 0; m < N_METHODS; m++) {
        for (int32_t h = 0; h < H; h++) {
            for (int32_t k = 0; k < r->n_seeds; k++)
                v[k] = (psnr ? r->seed[k].psnr[m] : r->seed[k].mse[m])[h];
            stats s = stats_of(v, r->n_seeds, 1);
            out[h] = want_std ? s.std : s.mean;
        }
        fprintf(f, "%s\"%s\": ", m ? ", " : "", htap_method_key[m]);
        res_json_array(f, out, H);
    }
    fputc('}', f);
    free(v);
    free(out);
}

static void json_seed(FILE *f, const htap_run *run, const htap_seed_result *r)
{
    fprintf(f, "    {\"seed\": %llu,\n", (unsigned long long)r->seed);
    const char *names[4] = {"near_mse", "far_mse", "near_psnr", "far_psnr"};
    const double *vals[4] = {r->near, r->far, r->near_psnr, r->far_psnr};
    for (int q = 0; q < 4; q++) {
        fprintf(f, "     \"%s\": {", names[q]);
        for (int m = 0; m < N_METHODS; m++) {
            fprintf(f, "%s\"%s\": ", m ? ", " : "", htap_method_key[m]);
            res_json_number(f, vals[q][m]);
        }
        fputs("},\n", f);
    }
    fputs("     \"far_ratio\": ", f);
    res_json_number(f, r->far[M_RNN] / r->far[M_HTAP]);
    fputs(",\n     \"mse_per_frame\": {", f);
    for (int m = 0; m < N_METHODS; m++) {
        fprintf(f, "%s\"%s\": ", m ? ", " : "", htap_method_key[m]);
        res_json_array(f, r->mse[m], run->win.H);
    }
    fputs("},\n     \"psnr_per_frame\": {", f);
    for (int m = 0; m < N_METHODS; m++) {
        fprintf(f, "%s\"%s\": ", m ? ", " : "", htap_method_key[m]);
        res_json_array(f, r->psnr[m], run->win.H);
    }
    fputs("},\n     \"train_seconds\": {", f);
    for (int m = M_RNN; m <= M_HTAP; m++) {
        fprintf(f, "%s\"%s\": ", m > M_RNN ? ", " : "", htap_method_key[m]);
        res_json_number(f, r->train_seconds[m]);
    }
    fputs("},\n     \"rollout_seconds\": {", f);
    for (int m = M_RNN; m <= M_HTAP; m++) {
        fprintf(f, "%s\"%s\": ", m > M_RNN ? ", " : "", htap_method_key[m]);
        res_json_number(f, r->eval_seconds[m]);
    }
    fputs("},\n     \"train_loss\": {", f);
    for (int m = M_RNN; m <= M_HTAP; m++) {
        fprintf(f, "%s\"%s\": ", m > M_RNN ? ", " : "", htap_method_key[m]);
        res_json_array(f, r->loss_log[m], HTAP_LOG_POINTS);
    }
    fputs("},\n     \"attention_span\": {\"all_steps\": ", f);
    res_json_number(f, r->span_mean);
    fputs(", \"rollout_steps\": ", f);
    res_json_number(f, r->span_rollout);
    fputs("}}", f);
}

static void write_metrics(const char *dir, const htap_run *r)
{
    const htap_config *c = &r->cfg;
    const htap_windows *w = &r->win;
    FILE *f = res_open(dir, "metrics.json");
    if (!f)
        ex_die("cannot write metrics.json: %s", strerror(errno));
    stats far_h = over_seeds(r, M_HTAP, pick_far), far_r = over_seeds(r, M_RNN, pick_far);
    fprintf(f, "{\n  \"example\": \"htap_video\",\n  \"seqattn_version\": \"%s\",\n", sa_version_string());
    fputs("  \"headline\": \"far-window MSE, mean over seeds: test_mse = H-TAP (causal transformer transition), "
          "baseline_mse = RNN (GRU) transition, ratio = baseline / H-TAP (> 1: H-TAP better)\",\n",
          f);
    fputs("  \"test_mse\": ", f);
    res_json_number(f, far_h.mean);
    fputs(",\n  \"baseline_mse\": ", f);
    res_json_number(f, far_r.mean);
    fputs(",\n  \"ratio\": ", f);
    res_json_number(f, far_r.mean / far_h.mean);
    fputs(",\n  \"copy_last_far_mse\": ", f);
    res_json_number(f, over_seeds(r, M_COPY, pick_far).mean);
    fputs(",\n  \"mean_frame_far_mse\": ", f);
    res_json_number(f, over_seeds(r, M_MEAN, pick_far).mean);
    fputs(",\n  \"seconds\": ", f);
    res_json_number(f, r->seconds);
    fprintf(f, ",\n  \"passed\": %s,\n", r->passed ? "true" : "false");
    fprintf(f, "  \"config\": {\"setting\": \"%s\", \"canvas\": %d, \"frames\": %d, \"items\": %d, "
               "\"item_downsample\": %d, \"speed\": %g, \"train_sequences\": %d, \"test_sequences\": %d, "
               "\"train_images\": \"fashion-mnist train\", \"test_images\": \"fashion-mnist t10k\", "
               "\"sequence_seeds\": \"train 2*seed, test 2*seed+1\", \"context\": %d, "
               "\"hidden\": %d, \"latent\": %d, \"rnn\": \"gru\", \"rnn_hidden\": %d, \"blocks\": %d, "
               "\"heads\": %d, \"ff\": %d, \"block_activation\": \"gelu\", \"posenc\": \"sinusoidal\", "
               "\"steps\": %d, \"batch\": %d, \"optimizer\": \"adam\", \"lr\": %g, \"lr_decay\": %g, "
               "\"lr_decay_step\": %d, \"clip_norm\": %g, \"seeds\": [%llu, %llu]},\n",
            c->name, (int)c->canvas, (int)c->frames, (int)c->items, (int)c->downsample, c->speed, (int)c->n_train,
            (int)c->n_test, (int)c->context, (int)c->hidden, (int)c->latent, (int)r->sizes.rnn_hidden,
            (int)c->blocks, (int)c->heads, (int)c->ff, (int)c->steps, (int)c->batch, (double)c->lr, (double)HTAP_LR_DECAY,
            (int)(HTAP_LR_DECAY_AT * c->steps), (double)c->clip_norm, (unsigned long long)r->seed[0].seed,
            (unsigned long long)r->seed[r->n_seeds - 1].seed);
    fprintf(f, "  \"windows\": {\"first_predicted_frame\": %d, \"last_frame\": %d, \"near_frames\": [%d, %d], "
               "\"far_frames\": [%d, %d], \"rule\": \"near = first 2/9, far = last 1/3 of the predicted "
               "frames (full: 11-30 and 71-100)\"},\n",
            (int)c->context + 1, (int)c->frames, (int)c->context + 1, (int)(c->context + w->near_n),
            (int)(c->frames - w->far_n + 1), (int)c->frames);
    fprintf(f, "  \"params\": {\"rnn\": {\"total\": %zu, \"transition\": %zu}, "
               "\"htap\": {\"total\": %zu, \"transition\": %zu}},\n",
            r->params[M_RNN], r->transition_params[M_RNN], r->params[M_HTAP], r->transition_params[M_HTAP]);
    fputs("  \"summary\": {\n    \"near_mse\": ", f);
    json_method_stats(f, r, pick_near);
    fputs(",\n    \"far_mse\": ", f);
    json_method_stats(f, r, pick_far);
    fputs(",\n    \"near_psnr\": ", f);
    json_method_stats(f, r, pick_near_psnr);
    fputs(",\n    \"far_psnr\": ", f);
    json_method_stats(f, r, pick_far_psnr);
    fputs(",\n    \"mse_per_frame\": ", f);
    json_per_frame(f, r, 0, 0);
    fputs(",\n    \"mse_per_frame_std\": ", f);
    json_per_frame(f, r, 0, 1);
    fputs(",\n    \"psnr_per_frame\": ", f);
    json_per_frame(f, r, 1, 0);
    fputs("\n  },\n", f);

    /* Span per query step of the first seed's mean map. */
    int32_t Q = c->frames - 1;
    double *span = malloc((size_t)Q * sizeof(double));
    if (!span)
        ex_die("out of memory");
    for (int32_t i = 0; i < Q; i++)
        span[i] = htap_attention_span(r->cap.attn_mean + (size_t)i * Q, i);
    fprintf(f, "  \"attention\": {\"node\": \"" HTAP_LAST_ATTN_FMT "\", \"seed\": %llu, "
               "\"span_definition\": \"sum_j A_ij (i - j) in frames, query step i reads frame i+1 and "
               "predicts frame i+2 (1-based)\", \"span_per_query\": ",
            (int)c->blocks, (unsigned long long)r->seed[0].seed);
    res_json_array(f, span, Q);
    fputs(", \"mean_span\": ", f);
    res_json_number(f, r->seed[0].span_mean);
    fputs(", \"mean_span_rollout\": ", f);
    res_json_number(f, r->seed[0].span_rollout);
    fprintf(f, "},\n  \"strip\": {\"file\": \"frames.pgm\", \"rows\": [\"true\", \"rnn\", \"htap\"], "
               "\"test_sequence\": 0, \"first_frame\": %d, \"every\": %d, \"frames\": %d},\n",
            (int)c->context, (int)strip_every(r), (int)r->cap.len);
    fputs("  \"seeds\": [\n", f);
    free(span);
    for (int32_t k = 0; k < r->n_seeds; k++) {
        json_seed(f, r, &r->seed[k]);
        fputs(k + 1 < r->n_seeds ? ",\n" : "\n", f);
    }
    fputs("  ]\n}\n", f);
    if (res_close(f) != 0)
        ex_die("error writing metrics.json: %s", strerror(errno));
}

static void write_attention(const char *dir, const htap_run *r)
{
    int32_t Q = r->cfg.frames - 1;
    FILE *f = res_open(dir, "attention.csv");
    if (!f)
        ex_die("cannot write attention.csv: %s", strerror(errno));
    fputs("matrix,query", f);
    for (int32_t j = 0; j < Q; j++)
        fprintf(f, ",key_%d", (int)j);
    fputc('\n', f);
    for (int which = 0; which < 2; which++)
        for (int32_t i = 0; i < Q; i++) {
            fprintf(f, "%s,%d", which ? "seq0" : "mean", (int)i);
            for (int32_t j = 0; j < Q; j++) {
                size_t at = (size_t)i * Q + j;
                fprintf(f, ",%.7g", which ? (double)r->cap.attn_seq[at] : r->cap.attn_mean[at]);
            }
            fputc('\n', f);
        }
    if (res_close(f) != 0)
        ex_die("error writing attention.csv: %s", strerror(errno));
}

static void write_strip(const char *dir, const htap_run *r)
{
    size_t n = strlen(dir) + sizeof "/frames.pgm";
    char *path = malloc(n);
    if (!path)
        ex_die("out of memory");
    snprintf(path, n, "%s/frames.pgm", dir);
    char err[512];
    if (mm_write_pgm_strip(path, r->cap.strip, STRIP_ROWS, r->cap.len, r->cfg.canvas, strip_every(r), err,
                           sizeof err) != MM_OK)
        ex_die("%s", err);
    free(path);
}

void htap_write_outputs(const char *dir, const htap_run *r)
{
    write_metrics(dir, r);
    write_attention(dir, r);
    write_strip(dir, r);
}
