/*
 * seq2seq_forecast.c — 20-step forecasting with an encoder-decoder and
 * cross-attention (the Seq2Seq model of the source documents, TP part 2).
 *
 *     50 past values -> bidirectional LSTM encoder -> LSTM decoder started from
 *     the encoder's final states -> at each of 20 steps, attention over the 50
 *     encoder states -> dense(1) on [decoder output ; context]
 *
 * (graph and decoding: seq2seq_net.h). Trained with teacher forcing, then run
 * the way it would be used: autoregressively, each prediction fed back as the
 * next decoder input, by step execution (sa_step_begin / sa_step), so the
 * encoder runs once and each output step costs one decoder step.
 *
 * The test MSE per horizon step is compared with three baselines: repeat the
 * last value; the least-squares line through the last k values (k chosen on
 * the validation windows); and the same Seq2Seq without attention, trained
 * with the same budget and seed. The program fails (exit 1) unless the model
 * beats each by the margins of its setting (QUICK, FULL below), so running
 * it tests the whole path: training, step execution and cross-attention.
 *
 * Usage: seq2seq_forecast [--quick] [--seed N] [--out DIR] [--epochs N]
 * Writes DIR/metrics.json, DIR/attention.csv, DIR/forecasts.csv;
 * tools/plot_heatmap.py turns them into figures.
 *
 * A seed fixes the data, the initial weights and the batch order; reruns give
 * the same numbers with the same BLAS and thread count (see gru_attention.c).
 */
#include <seqattn/seqattn.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attn_stats.h"
#include "baselines.h"
#include "common.h"
#include "results.h"
#include "rng.h"
#include "seq2seq_net.h"
#include "signal.h"

#define PAST S2S_PAST
#define HORIZON S2S_HORIZON
#define N_SHOWN 4        /* test windows whose forecasts and attention are saved */
#define LINEAR_K_MIN 2   /* range searched for the linear baseline's k */
#define LINEAR_K_MAX PAST
#define CHECK_WINDOWS 16 /* windows of the step-vs-full equivalence check */
/* Step outputs must equal the full forward "to float rounding" (seqattn.h);
 * outputs are O(1) in the scaled units, so 1e-4 leaves room for summation
 * order differences over 20 recurrent steps and still catches any real error. */
#define STEP_TOL 1e-4
#define SHUFFLE_STREAM 0x5332u

typedef struct config {
    const char *name;
    int32_t n_series, length, stride; /* data: series count, samples each, window step */
    int32_t epochs, batch, enc_hidden;
    float lr, clip_norm;
    /* Required margins, test MSE of a baseline / test MSE of the model: against
     * the better of repeat-last and linear extrapolation, and against the same
     * model without attention. See QUICK and FULL for how they were chosen. */
    double min_ratio_naive, min_ratio_no_attn;
} config;

/* quick: about a minute of one core for both models (release build), used by
 * the meson test. full: 3.3x the series, longer and more densely windowed
 * (5.9x the training windows) and twice the epochs, about 12x the work.
 * Batches of 16 rather than 32: at the same compute the extra updates gave
 * lower errors in the quick setting (docs/models/seq2seq_forecast.md).
 *
 * Margins, from measured runs (the doc has the tables):
 *  - quick, seeds 1-12: 2.8x-12.6x over the naive baselines, 1.4x-10.8x over
 *    no attention, seed 1 (the test's) the closest to the latter. 2.0 and 1.1
 *    sit well below the worst seed, so the test catches a broken library or an
 *    attention that does nothing, not an unlucky seed.
 *  - full, seeds 1-3: 38x-50x over the naive baselines, but only 0.97x-1.12x
 *    over no attention: with 6x the data both models converge to about the
 *    same error, and attention's lead is within the seed-to-seed spread. The
 *    rule stays "beat it" (1.0), so some seeds exit 1 here (seed 2 does). */
static const config QUICK = {"quick", 60, 300, 5, 10, 16, 64, 3e-3f, 1.0f, 2.0, 1.1};
static const config FULL = {"full", 200, 400, 4, 20, 16, 64, 3e-3f, 1.0f, 20.0, 1.0};

/* For the last 20% of the epochs the learning rate is multiplied by LR_DECAY:
 * smaller steps settle the noisy late epochs. */
#define LR_DECAY_AT 0.8
#define LR_DECAY 0.3f

enum { M_MODEL, M_NO_ATTN, M_REPEAT, M_LINEAR, N_METHODS };
static const char *const METHOD_NAME[N_METHODS] = {"model", "no_attention", "repeat_last", "linear"};

typedef struct train_log {
    int32_t epochs, best_epoch;
    double *train_loss, *val_loss; /* per epoch: teacher-forced train MSE, autoregressive val MSE */
    double seconds;
} train_log;

typedef struct outcome {
    double mse_h[N_METHODS][HORIZON], mse[N_METHODS];
    float *pred[N_METHODS]; /* [test count, HORIZON], series units */
    float *attn;            /* [test count, HORIZON, PAST] */
    int32_t linear_k;
    double linear_k_val_mse;
    train_log log[2]; /* M_MODEL, M_NO_ATTN */
    as_summary stats;
    float mean_attn[HORIZON * PAST];
    double step_diff, step_attn_diff;
    int32_t shown[N_SHOWN], n_shown;
    int32_t best_baseline; /* M_NO_ATTN, M_REPEAT or M_LINEAR */
    double ratio, seconds;
    int passed;
} outcome;

/* --------------------------------------------------------------- training */

/* Trains one Seq2Seq (with or without attention) from the same seed, keeping
 * the weights of the epoch with the lowest autoregressive validation MSE, so
 * the test set is touched once, by a model selected without it. */
static void train_model(s2s_net *n, const config *cfg, uint64_t seed, const sig_windows *train,
                        const sig_windows *val, train_log *lg)
{
    double t_start = ex_now();
    sa_optim_desc od = sa_optim_desc_default();
    od.kind = SA_OPTIM_ADAM;
    od.lr = cfg->lr;
    od.clip_norm = cfg->clip_norm; /* guards the recurrent gradients against rare spikes */
    sa_optim *opt = NULL;
    ex_check(sa_optim_create(n->train.m, &od, &opt), "sa_optim_create");
    float *values, *grads;
    size_t n_params;
    ex_check(sa_params_flat(n->train.m, &values, &grads, &n_params), "sa_params_flat");
    float *best = malloc(n_params * sizeof(float));
    int32_t *order = malloc((size_t)train->count * sizeof(int32_t));
    lg->epochs = cfg->epochs;
    lg->best_epoch = -1;
    lg->train_loss = calloc((size_t)cfg->epochs, sizeof(double));
    lg->val_loss = calloc((size_t)cfg->epochs, sizeof(double));
    if (!best || !order || !lg->train_loss || !lg->val_loss)
        ex_die("out of memory");
    for (int32_t i = 0; i < train->count; i++)
        order[i] = i;
    /* The same shuffling stream for both models: same batches, same budget. */
    ex_rng rng;
    ex_rng_seed(&rng, seed, SHUFFLE_STREAM, 0);
    printf("%s: %zu parameters\n", n->attention ? "Seq2Seq + attention" : "Seq2Seq, no attention", n_params);

    double best_val = INFINITY, mse_h[HORIZON];
    for (int32_t e = 0; e < cfg->epochs; e++) {
        double t0 = ex_now();
        if (e == (int32_t)(LR_DECAY_AT * cfg->epochs) && e > 0)
            ex_check(sa_optim_set_lr(opt, cfg->lr * LR_DECAY), "sa_optim_set_lr");
        lg->train_loss[e] = s2s_train_epoch(n, opt, train, order, cfg->batch, &rng);
        lg->val_loss[e] = s2s_evaluate(n, val, mse_h, NULL, NULL);
        if (lg->val_loss[e] < best_val) {
            best_val = lg->val_loss[e];
            lg->best_epoch = e + 1;
            memcpy(best, values, n_params * sizeof(float));
        }
        printf("  epoch %3d/%d  train (teacher-forced) %.5f  val (autoregressive) %.5f  %.1fs%s\n",
               (int)(e + 1), (int)cfg->epochs, lg->train_loss[e], lg->val_loss[e], ex_now() - t0,
               lg->best_epoch == e + 1 ? "  *" : "");
        fflush(stdout);
    }
    if (lg->best_epoch < 0)
        ex_die("validation loss was never finite: training diverged");
    memcpy(values, best, n_params * sizeof(float));
    lg->seconds = ex_now() - t_start;
    free(best);
    free(order);
    sa_optim_destroy(opt);
}

/* ----------------------------------------------------------------- output */

static void json_key_array(FILE *f, const char *indent, const char *key, const double *v, int n, int last)
{
    fprintf(f, "%s\"%s\": ", indent, key);
    res_json_array(f, v, n);
    fputs(last ? "\n" : ",\n", f);
}

static void json_key_number(FILE *f, const char *indent, const char *key, double v, int last)
{
    fprintf(f, "%s\"%s\": ", indent, key);
    res_json_number(f, v);
    fputs(last ? "\n" : ",\n", f);
}

static void write_metrics(const char *dir, const config *cfg, uint64_t seed, const sig_split *sp,
                          const sig_windows *parts, const outcome *o)
{
    FILE *f = res_open(dir, "metrics.json");
    if (!f)
        ex_die("cannot write metrics.json: %s", strerror(errno));
    const char *in1 = "  ", *in2 = "    ";
    fprintf(f, "{\n  \"example\": \"seq2seq_forecast\",\n  \"seqattn_version\": \"%s\",\n", sa_version_string());
    json_key_number(f, in1, "test_mse", o->mse[M_MODEL], 0);
    json_key_number(f, in1, "baseline_mse", o->mse[o->best_baseline], 0);
    fprintf(f, "  \"baseline\": \"%s\",\n", METHOD_NAME[o->best_baseline]);
    json_key_number(f, in1, "ratio", o->ratio, 0);
    fprintf(f, "  \"min_ratio_naive\": %g,\n  \"min_ratio_no_attention\": %g,\n  \"passed\": %s,\n",
            cfg->min_ratio_naive, cfg->min_ratio_no_attn, o->passed ? "true" : "false");
    json_key_number(f, in1, "seconds", o->seconds, 0);
    fprintf(f, "  \"seed\": %llu,\n", (unsigned long long)seed);

    fputs("  \"overall_mse\": {", f);
    for (int k = 0; k < N_METHODS; k++) {
        fprintf(f, "%s\"%s\": ", k ? ", " : "", METHOD_NAME[k]);
        res_json_number(f, o->mse[k]);
    }
    fputs("},\n  \"horizon_mse\": {\n", f);
    for (int k = 0; k < N_METHODS; k++)
        json_key_array(f, in2, METHOD_NAME[k], o->mse_h[k], HORIZON, k == N_METHODS - 1);
    fprintf(f, "  },\n  \"linear_k\": %d,\n", (int)o->linear_k);
    json_key_number(f, in1, "linear_k_val_mse", o->linear_k_val_mse, 0);

    fputs("  \"training\": {\n", f);
    for (int k = 0; k < 2; k++) {
        const train_log *lg = &o->log[k];
        fprintf(f, "    \"%s\": {\n", METHOD_NAME[k]);
        fprintf(f, "      \"best_epoch\": %d,\n", (int)lg->best_epoch);
        json_key_array(f, "      ", "train_loss", lg->train_loss, lg->epochs, 0);
        json_key_array(f, "      ", "val_loss", lg->val_loss, lg->epochs, 0);
        json_key_number(f, "      ", "seconds", lg->seconds, 1);
        fprintf(f, "    }%s\n", k == 0 ? "," : "");
    }
    fputs("  },\n", f);

    fprintf(f, "  \"stepping_check\": {\"windows\": %d, \"max_abs_diff\": ", CHECK_WINDOWS);
    res_json_number(f, o->step_diff);
    fputs(", \"max_attention_diff\": ", f);
    res_json_number(f, o->step_attn_diff);
    fprintf(f, ", \"tolerance\": %g},\n", STEP_TOL);

    /* Reference for reading the span: uniform weights give span_i = i + (T_in + 1) / 2. */
    const as_summary *st = &o->stats;
    double ent_norm[HORIZON];
    for (int32_t i = 0; i < HORIZON; i++)
        ent_norm[i] = st->entropy[i] / log((double)PAST);
    fputs("  \"attention\": {\n", f);
    json_key_array(f, in2, "span_by_step", st->span, HORIZON, 0);
    json_key_number(f, in2, "span_mean", st->span_mean, 0);
    json_key_number(f, in2, "span_uniform_mean", (HORIZON - 1) / 2.0 + (PAST + 1) / 2.0, 0);
    json_key_array(f, in2, "entropy_by_step", st->entropy, HORIZON, 0);
    json_key_number(f, in2, "entropy_mean", st->entropy_mean, 0);
    json_key_array(f, in2, "entropy_norm_by_step", ent_norm, HORIZON, 0);
    json_key_number(f, in2, "entropy_norm_mean", st->entropy_norm, 0);
    json_key_number(f, in2, "ln_t_in", log((double)PAST), 1);
    fputs("  },\n", f);

    fprintf(f, "  \"config\": {\"setting\": \"%s\", \"n_series\": %d, \"series_length\": %d, "
               "\"window_stride\": %d, \"past\": %d, \"horizon\": %d, \"batch\": %d, \"epochs\": %d, "
               "\"encoder_hidden\": %d, \"encoder\": \"bidirectional lstm\", \"decoder_hidden\": %d, "
               "\"attention\": \"sa_mha, 1 head\", \"lr\": %g, \"lr_decay\": %g, \"lr_decay_epoch\": %d, "
               "\"clip_norm\": %g, \"optimizer\": \"adam\", \"split_series\": [%d, %d, %d], "
               "\"windows\": [%d, %d, %d]},\n",
            cfg->name, (int)cfg->n_series, (int)cfg->length, (int)cfg->stride, PAST, HORIZON, (int)cfg->batch,
            (int)cfg->epochs, (int)cfg->enc_hidden, (int)(2 * cfg->enc_hidden), (double)cfg->lr,
            (double)LR_DECAY, (int)(LR_DECAY_AT * cfg->epochs) + 1, (double)cfg->clip_norm,
            (int)sp->count[SIG_TRAIN], (int)sp->count[SIG_VAL], (int)sp->count[SIG_TEST],
            (int)parts[SIG_TRAIN].count, (int)parts[SIG_VAL].count, (int)parts[SIG_TEST].count);

    /* The windows of attention.csv and forecasts.csv, in order. */
    const sig_windows *t = &parts[SIG_TEST];
    fputs("  \"shown_windows\": [", f);
    for (int32_t i = 0; i < o->n_shown; i++) {
        int32_t j = o->shown[i];
        fprintf(f, "%s{\"test_window\": %d, \"series\": %d, \"start\": %d}", i ? ", " : "", (int)j,
                (int)t->series[j], (int)t->start[j]);
    }
    fputs("]\n}\n", f);
    if (res_close(f) != 0)
        ex_die("error writing metrics.json: %s", strerror(errno));
}

/* attention.csv: one row per (matrix, output step) with the T_in weights.
 * matrix is "mean" (over all test windows) or a test window index. */
static void write_attention(const char *dir, const outcome *o)
{
    FILE *f = res_open(dir, "attention.csv");
    if (!f)
        ex_die("cannot write attention.csv: %s", strerror(errno));
    fputs("matrix,output_step", f);
    for (int32_t j = 0; j < PAST; j++)
        fprintf(f, ",in_%d", (int)j);
    fputc('\n', f);
    for (int32_t s = -1; s < o->n_shown; s++) {
        const float *A = s < 0 ? o->mean_attn : o->attn + (size_t)o->shown[s] * HORIZON * PAST;
        for (int32_t i = 0; i < HORIZON; i++) {
            if (s < 0)
                fprintf(f, "mean,%d", (int)i);
            else
                fprintf(f, "%d,%d", (int)o->shown[s], (int)i);
            for (int32_t j = 0; j < PAST; j++)
                fprintf(f, ",%.7g", (double)A[(size_t)i * PAST + j]);
            fputc('\n', f);
        }
    }
    if (res_close(f) != 0)
        ex_die("error writing attention.csv: %s", strerror(errno));
}

/* forecasts.csv: for each shown window, positions 0..PAST+HORIZON-1 (the same
 * axis as the attention span) with the true value and every forecast; the
 * forecasts are nan over the past. */
static void write_forecasts(const char *dir, const sig_windows *t, const outcome *o)
{
    FILE *f = res_open(dir, "forecasts.csv");
    if (!f)
        ex_die("cannot write forecasts.csv: %s", strerror(errno));
    fputs("test_window,series,start,position,actual", f);
    for (int k = 0; k < N_METHODS; k++)
        fprintf(f, ",%s", METHOD_NAME[k]);
    fputc('\n', f);
    for (int32_t s = 0; s < o->n_shown; s++) {
        int32_t w = o->shown[s];
        for (int32_t p = 0; p < PAST + HORIZON; p++) {
            int future = p >= PAST;
            double actual = future ? t->future[(size_t)w * HORIZON + p - PAST] : t->past_values[(size_t)w * PAST + p];
            fprintf(f, "%d,%d,%d,%d,%.7g", (int)w, (int)t->series[w], (int)t->start[w], (int)p, actual);
            for (int k = 0; k < N_METHODS; k++) {
                if (future)
                    fprintf(f, ",%.7g", (double)o->pred[k][(size_t)w * HORIZON + p - PAST]);
                else
                    fputs(",nan", f);
            }
            fputc('\n', f);
        }
    }
    if (res_close(f) != 0)
        ex_die("error writing forecasts.csv: %s", strerror(errno));
}

/* -------------------------------------------------------------------- main */

static const char usage_text[] =
    "usage: seq2seq_forecast [--quick] [--seed N] [--out DIR] [--epochs N]\n"
    "  --quick     small data and few epochs (about a minute)\n"
    "  --seed N    seed for data, initial weights and shuffling (default 1)\n"
    "  --out DIR   where metrics.json, attention.csv, forecasts.csv go\n"
    "              (default results/seq2seq_forecast)\n"
    "  --epochs N  override the setting's number of epochs (both models)\n";

static void print_summary(const outcome *o)
{
    printf("\ntest MSE per horizon step (series units):\n  step");
    for (int k = 0; k < N_METHODS; k++)
        printf("  %12s", METHOD_NAME[k]);
    printf("\n");
    for (int32_t h = 0; h < HORIZON; h++) {
        printf("  %4d", (int)(h + 1));
        for (int k = 0; k < N_METHODS; k++)
            printf("  %12.5f", o->mse_h[k][h]);
        printf("\n");
    }
    printf("   all");
    for (int k = 0; k < N_METHODS; k++)
        printf("  %12.5f", o->mse[k]);
    printf("\n\nlinear extrapolation over the last %d values (chosen on validation)\n", (int)o->linear_k);
    printf("attention: mean span %.2f input steps (uniform: %.1f), entropy %.3f nats = %.3f of ln %d\n",
           o->stats.span_mean, (HORIZON - 1) / 2.0 + (PAST + 1) / 2.0, o->stats.entropy_mean,
           o->stats.entropy_norm, PAST);
    printf("step execution vs full forward (teacher forced, %d windows): max |diff| %.2e, attention %.2e\n",
           CHECK_WINDOWS, o->step_diff, o->step_attn_diff);
}

int main(int argc, char **argv)
{
    ex_set_program("seq2seq_forecast");
    ex_args args;
    ex_parse_args(argc, argv, usage_text, "results/seq2seq_forecast", &args);
    config cfg = args.quick ? QUICK : FULL;
    uint64_t seed = args.seed;
    const char *out_dir = args.out_dir;
    if (args.epochs > 0)
        cfg.epochs = args.epochs;
    double t_start = ex_now();

    /* Data: series split first, windows cut inside each part. */
    sig_split split;
    sig_windows parts[3];
    const char *err = sig_prepare(seed, cfg.n_series, cfg.length, PAST, HORIZON, cfg.stride, &split, parts);
    if (err)
        ex_die("%s", err);
    const sig_windows *train = &parts[SIG_TRAIN], *val = &parts[SIG_VAL], *test = &parts[SIG_TEST];
    printf("seqattn %s, setting '%s', seed %llu: %d/%d/%d series, %d/%d/%d windows (train/val/test), "
           "%d past -> %d future\n",
           sa_version_string(), cfg.name, (unsigned long long)seed, (int)split.count[0], (int)split.count[1],
           (int)split.count[2], (int)train->count, (int)val->count, (int)test->count, PAST, HORIZON);

    outcome o = {0};
    for (int k = 0; k < N_METHODS; k++)
        if (!(o.pred[k] = malloc((size_t)test->count * HORIZON * sizeof(float))))
            ex_die("out of memory");
    if (!(o.attn = malloc((size_t)test->count * HORIZON * PAST * sizeof(float))))
        ex_die("out of memory");

    /* Baselines: k of the linear fit on validation, errors on test. */
    o.linear_k = bl_choose_linear_k(val, LINEAR_K_MIN, LINEAR_K_MAX, &o.linear_k_val_mse);
    if (o.linear_k < 0)
        ex_die("out of memory");
    o.mse[M_REPEAT] = bl_evaluate(BL_REPEAT_LAST, 0, test, o.mse_h[M_REPEAT], o.pred[M_REPEAT]);
    o.mse[M_LINEAR] = bl_evaluate(BL_LINEAR, o.linear_k, test, o.mse_h[M_LINEAR], o.pred[M_LINEAR]);
    printf("baselines on test: repeat last %.5f, linear (k = %d) %.5f\n", o.mse[M_REPEAT], (int)o.linear_k,
           o.mse[M_LINEAR]);

    /* The two Seq2Seq models: same data, scaling, seed, batches and epochs. */
    s2s_scaling sc = s2s_measure_scaling(train);
    s2s_net nets[2];
    for (int k = 0; k < 2; k++) {
        s2s_create(&nets[k], k == M_MODEL, cfg.enc_hidden, seed, cfg.batch, sc);
        train_model(&nets[k], &cfg, seed, train, val, &o.log[k]);
        o.mse[k] = s2s_evaluate(&nets[k], test, o.mse_h[k], o.pred[k], k == M_MODEL ? o.attn : NULL);
        printf("test MSE %.5f (weights of epoch %d, %.1fs)\n", o.mse[k], (int)o.log[k].best_epoch,
               o.log[k].seconds);
    }

    /* Step execution must reproduce the full forward on the same inputs. */
    o.step_diff = s2s_check_stepping(&nets[M_MODEL], test, CHECK_WINDOWS, &o.step_attn_diff);
    int step_ok = o.step_diff <= STEP_TOL && o.step_attn_diff <= STEP_TOL;

    if ((err = as_summarise(o.attn, test->count, HORIZON, PAST, &o.stats, o.mean_attn)))
        ex_die("%s", err);
    o.n_shown = test->count < N_SHOWN ? test->count : N_SHOWN;
    for (int32_t i = 0; i < o.n_shown; i++) /* spread over the test set: different series */
        o.shown[i] = (int32_t)(((int64_t)2 * i + 1) * test->count / (2 * o.n_shown));

    o.best_baseline = M_NO_ATTN;
    for (int k = M_REPEAT; k < N_METHODS; k++)
        if (o.mse[k] < o.mse[o.best_baseline])
            o.best_baseline = k;
    o.ratio = o.mse[o.best_baseline] / o.mse[M_MODEL];
    double naive = fmin(o.mse[M_REPEAT], o.mse[M_LINEAR]);
    double r_naive = naive / o.mse[M_MODEL], r_attn = o.mse[M_NO_ATTN] / o.mse[M_MODEL];
    /* the margins, and a strictly lower error in any case (margin 1.0 = beat) */
    int beats = r_naive >= cfg.min_ratio_naive && r_attn >= cfg.min_ratio_no_attn &&
                o.mse[M_MODEL] < fmin(naive, o.mse[M_NO_ATTN]);
    o.passed = beats && step_ok;
    o.seconds = ex_now() - t_start;
    write_attention(out_dir, &o);
    write_forecasts(out_dir, test, &o);
    write_metrics(out_dir, &cfg, seed, &split, parts, &o);

    print_summary(&o);
    printf("model %.5f vs best baseline %s %.5f: %.2fx (vs naive %.2fx, vs no attention %.2fx)  (%.1fs)\n",
           o.mse[M_MODEL], METHOD_NAME[o.best_baseline], o.mse[o.best_baseline], o.ratio, r_naive, r_attn,
           o.seconds);
    printf("results in %s/\n", out_dir);
    fflush(stdout); /* the verdict on stderr comes after the summary, also in a pipe */
    if (!step_ok)
        fprintf(stderr, "seq2seq_forecast: FAILED: step execution differs from the full forward by %.3g "
                        "(attention %.3g), tolerance %g\n", o.step_diff, o.step_attn_diff, STEP_TOL);
    if (!beats)
        fprintf(stderr, "seq2seq_forecast: FAILED: need %.2fx over the naive baselines (got %.2fx) and %.2fx "
                        "over the model without attention (got %.2fx)\n",
                cfg.min_ratio_naive, r_naive, cfg.min_ratio_no_attn, r_attn);

    for (int k = 0; k < 2; k++) {
        s2s_destroy(&nets[k]);
        free(o.log[k].train_loss);
        free(o.log[k].val_loss);
    }
    for (int k = 0; k < N_METHODS; k++)
        free(o.pred[k]);
    free(o.attn);
    as_summary_free(&o.stats);
    for (int p = 0; p < 3; p++)
        sig_windows_free(&parts[p]);
    return o.passed ? EXIT_SUCCESS : EXIT_FAILURE;
}
