/*
 * gru_attention.c — next-value forecasting with seqattn.
 *
 *     x [B, 50, 1] -> GRU(64, return_sequences) -> additive attention pooling
 *                  -> dense(1) -> next value [B, 1, 1],   MSE loss, Adam
 *
 * on the synthetic series of signal.h, split by series into train / val / test.
 * The test error is compared with the naive forecast "the next value equals
 * the last one"; the program fails (exit 1) unless the model is at least
 * MIN_RATIO times better, so running it is a test of the whole training path.
 *
 * Each window is fed relative to its last observed value (inputs and target
 * minus x[t-1]): the trend makes series drift to levels the training windows
 * may not cover, while the shape of the last 50 steps is what predicts the
 * next step. The shift is undone before any error is measured, so the MSEs
 * are in the units of the series, and the naive forecast is exactly "predict
 * a change of 0".
 *
 * Usage: gru_attention [--quick] [--seed N] [--out DIR] [--epochs N]
 * Writes DIR/metrics.json, DIR/attention.csv and DIR/inputs.csv (see
 * write_results()); tools/plot_attention.py turns them into figures.
 *
 * A seed fixes the data, the initial weights and the batch order, so a rerun
 * gives the same numbers - on the same BLAS with the same thread count
 * (OpenBLAS splits sums differently across threads, and 30 epochs amplify
 * the last-bit differences into visibly different, equally valid, runs).
 */
#include <seqattn/seqattn.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "results.h"
#include "rng.h"
#include "signal.h"

#define PAST 50        /* input steps per window */
#define HORIZON 1      /* next-value prediction */
#define N_SHOWN 6      /* test windows whose attention weights are saved */
#define EVAL_BATCH 256 /* inference needs no gradients, so larger batches are cheap */
#define MIN_RATIO 2.0  /* required baseline_mse / test_mse */
#define SHUFFLE_STREAM 0x5348u

typedef struct config {
    const char *name;
    int32_t n_series, length, stride; /* data: series count, samples each, window step */
    int32_t epochs, batch, hidden;
    float lr, clip_norm;
} config;

/* quick: ~20 s on one core (-O2), used by the meson test. full: 5x the series,
 * longer and more densely windowed (~12x the training windows). Windows are taken every `stride` samples because neighbouring windows are
 * nearly identical and would only slow epochs down.
 * Why 30 epochs even for quick: training starts on a plateau where the
 * attention is still uniform, the pooled context is the mean of all 50 states
 * and the model predicts ~no change; it takes some 300-400 updates (PyTorch
 * with the same model behaves alike) before the attention shifts to the recent
 * steps and the loss falls. Batches of 32 give more updates per epoch. */
static const config QUICK = {"quick", 60, 300, 5, 30, 32, 64, 3e-3f, 1.0f};
static const config FULL = {"full", 300, 400, 3, 30, 32, 64, 3e-3f, 1.0f};

/* For the last 20% of the epochs the learning rate is multiplied by LR_DECAY:
 * smaller steps settle the noisy late epochs. */
#define LR_DECAY_AT 0.8
#define LR_DECAY 0.3f

/* Scales of the shifted inputs and targets, measured on the training windows
 * only. The next-step change is several times smaller than the swings inside
 * a window; bringing both to unit spread means the network's initial output
 * scale fits the target instead of first having to shrink or grow. */
typedef struct scaling {
    float in, out;
} scaling;

typedef struct net {
    sa_model *m;
    sa_node x, y, pred, loss, attn;
    scaling scale;
} net;

/* ------------------------------------------------------------------ model */

static net build_net(const config *cfg, uint64_t seed)
{
    sa_graph *g = sa_graph_new();
    if (!g)
        ex_die("sa_graph_new: out of memory");
    net n = {0};
    n.x = sa_input(g, "x", 1);
    n.y = sa_input(g, "y", 1);
    sa_rnn_desc rd = sa_rnn_desc_default();
    rd.hidden = cfg->hidden;
    rd.return_sequences = 1; /* attention needs every step's state */
    sa_node h = sa_name(g, sa_gru(g, n.x, &rd), "gru");
    n.attn = sa_name(g, sa_attention_pool(g, h, SA_SCORE_ADDITIVE), "attn");
    n.pred = sa_name(g, sa_dense(g, n.attn, 1), "head");
    n.loss = sa_loss_mse(g, n.pred, n.y);
    n.m = ex_model_create(g, seed, "GRU + attention");
    return n;
}

static scaling measure_scaling(const sig_windows *w)
{
    double sx = 0.0, sy = 0.0;
    for (int32_t i = 0; i < w->count; i++) {
        const float *p = w->past_values + (size_t)i * PAST;
        for (int32_t t = 0; t < PAST; t++)
            sx += (double)(p[t] - p[PAST - 1]) * (p[t] - p[PAST - 1]);
        double d = (double)w->future[(size_t)i * HORIZON] - p[PAST - 1];
        sy += d * d;
    }
    scaling s = {(float)sqrt(sx / ((double)w->count * PAST)), (float)sqrt(sy / w->count)};
    if (!(s.in > 0.0f) || !(s.out > 0.0f))
        ex_die("the training windows are constant: nothing to learn");
    return s;
}

/* Copies windows idx[0..b) into x [b, PAST, 1] and y [b, 1, 1], shifted by
 * each window's last input value (see the header comment) and scaled. */
static void gather(const sig_windows *w, const scaling *sc, const int32_t *idx, int32_t b, float *x, float *y)
{
    for (int32_t i = 0; i < b; i++) {
        const float *p = w->past_values + (size_t)idx[i] * PAST;
        float last = p[PAST - 1];
        for (int32_t t = 0; t < PAST; t++)
            x[(size_t)i * PAST + t] = (p[t] - last) / sc->in;
        y[i] = (w->future[(size_t)idx[i] * HORIZON] - last) / sc->out;
    }
}

static void set_batch(net *n, const sig_windows *w, const int32_t *idx, int32_t b, float *x, float *y)
{
    gather(w, &n->scale, idx, b, x, y);
    ex_check(sa_set_input(n->m, n->x, x, b, PAST, NULL), "sa_set_input(x)");
    ex_check(sa_set_input(n->m, n->y, y, b, HORIZON, NULL), "sa_set_input(y)");
}

/* One pass over the training windows in a seeded random order.
 * @return the mean training loss over the epoch, in series units. */
static double train_epoch(net *n, sa_optim *opt, const sig_windows *w, int32_t *order, int32_t batch,
                          ex_rng *rng, float *x, float *y)
{
    ex_rng_shuffle(rng, order, w->count);
    double sum = 0.0;
    for (int32_t s = 0; s < w->count; s += batch) {
        int32_t b = w->count - s < batch ? w->count - s : batch;
        set_batch(n, w, order + s, b, x, y);
        ex_check(sa_zero_grad(n->m), "sa_zero_grad");
        ex_check(sa_forward(n->m, SA_TRAIN), "sa_forward(train)");
        ex_check(sa_backward(n->m, n->loss), "sa_backward");
        ex_check(sa_optim_step(opt), "sa_optim_step");
        float loss;
        ex_check(sa_get_output(n->m, n->loss, &loss, 1, NULL), "sa_get_output(loss)");
        sum += (double)loss * b; /* the loss is a batch mean; weight the last short batch fairly */
    }
    /* Reported in series units, like the validation loss. */
    return sum / w->count * (double)n->scale.out * n->scale.out;
}

/* Mean squared error of the model on all windows of w, in series units.
 * @param pred NULL, or receives w->count predictions (in series units). */
static double evaluate(net *n, const sig_windows *w, float *pred, float *x, float *y)
{
    int32_t idx[EVAL_BATCH];
    float out[EVAL_BATCH];
    double sum = 0.0;
    for (int32_t s = 0; s < w->count; s += EVAL_BATCH) {
        int32_t b = w->count - s < EVAL_BATCH ? w->count - s : EVAL_BATCH;
        for (int32_t i = 0; i < b; i++)
            idx[i] = s + i;
        set_batch(n, w, idx, b, x, y);
        ex_check(sa_forward(n->m, SA_INFER), "sa_forward(infer)");
        ex_check(sa_get_output(n->m, n->pred, out, (size_t)b, NULL), "sa_get_output(pred)");
        for (int32_t i = 0; i < b; i++) {
            /* The shift cancels in the difference; the scale is undone. */
            double d = ((double)out[i] - (double)y[i]) * n->scale.out;
            sum += d * d;
            if (pred)
                pred[s + i] = out[i] * n->scale.out + w->past_values[(size_t)(s + i) * PAST + PAST - 1];
        }
    }
    return sum / w->count;
}

/* MSE of the naive forecast x[t] = x[t-1]. */
static double baseline_mse(const sig_windows *w)
{
    double sum = 0.0;
    for (int32_t i = 0; i < w->count; i++) {
        double d = (double)w->future[(size_t)i * HORIZON] - (double)w->past_values[(size_t)i * PAST + PAST - 1];
        sum += d * d;
    }
    return sum / w->count;
}

/* ----------------------------------------------------------------- output */

typedef struct run_log {
    int32_t epochs, best_epoch;
    double *train_loss, *val_loss, *epoch_seconds;
    double test_mse, baseline, ratio, seconds;
} run_log;

typedef struct shown {
    int32_t idx[N_SHOWN];
    float attention[N_SHOWN * PAST]; /* α over the 50 input steps, rows sum to 1 */
    float inputs[N_SHOWN * PAST];    /* the windows in series units */
} shown;

/* Attention weights of N_SHOWN test windows spread over the test set (so they
 * come from different series), from one inference pass. */
static void capture_attention(net *n, const sig_windows *test, shown *sh, float *x, float *y)
{
    int32_t k = test->count < N_SHOWN ? test->count : N_SHOWN;
    for (int32_t i = 0; i < k; i++)
        sh->idx[i] = (int32_t)(((int64_t)2 * i + 1) * test->count / (2 * k));
    set_batch(n, test, sh->idx, k, x, y);
    ex_check(sa_forward(n->m, SA_INFER), "sa_forward(attention)");
    int32_t shape[4];
    ex_check(sa_get_attention(n->m, n->attn, SA_HEADS_MEAN, sh->attention, (size_t)k * PAST, shape),
          "sa_get_attention");
    if (shape[0] != k || shape[1] != 1 || shape[2] != 1 || shape[3] != PAST)
        ex_die("sa_get_attention returned an unexpected shape");
    for (int32_t i = 0; i < k; i++)
        memcpy(sh->inputs + (size_t)i * PAST, test->past_values + (size_t)sh->idx[i] * PAST,
               PAST * sizeof(float));
}

static void write_metrics(const char *dir, const config *cfg, uint64_t seed, const sig_split *sp,
                          const sig_windows *parts, const run_log *lg, const shown *sh,
                          const float *test_pred)
{
    FILE *f = res_open(dir, "metrics.json");
    if (!f)
        ex_die("cannot write metrics.json: %s", strerror(errno));
    fprintf(f, "{\n  \"example\": \"gru_attention\",\n  \"seqattn_version\": \"%s\",\n", sa_version_string());
    fputs("  \"test_mse\": ", f);
    res_json_number(f, lg->test_mse);
    fputs(",\n  \"baseline_mse\": ", f);
    res_json_number(f, lg->baseline);
    fputs(",\n  \"ratio\": ", f);
    res_json_number(f, lg->ratio);
    fprintf(f, ",\n  \"min_ratio\": %g,\n  \"passed\": %s,\n", MIN_RATIO,
            lg->ratio >= MIN_RATIO ? "true" : "false");
    fprintf(f, "  \"epochs\": %d,\n  \"best_epoch\": %d,\n", (int)lg->epochs, (int)lg->best_epoch);
    fputs("  \"train_loss\": ", f);
    res_json_array(f, lg->train_loss, lg->epochs);
    fputs(",\n  \"val_loss\": ", f);
    res_json_array(f, lg->val_loss, lg->epochs);
    fputs(",\n  \"epoch_seconds\": ", f);
    res_json_array(f, lg->epoch_seconds, lg->epochs);
    fputs(",\n  \"seconds\": ", f);
    res_json_number(f, lg->seconds);
    fprintf(f, ",\n  \"seed\": %llu,\n", (unsigned long long)seed);
    fprintf(f, "  \"config\": {\"setting\": \"%s\", \"n_series\": %d, \"series_length\": %d, "
               "\"window_stride\": %d, \"past\": %d, \"horizon\": %d, \"batch\": %d, \"hidden\": %d, "
               "\"lr\": %g, \"lr_decay\": %g, \"lr_decay_epoch\": %d, \"clip_norm\": %g, \"optimizer\": \"adam\", \"score\": \"additive\", "
               "\"split_series\": [%d, %d, %d], \"windows\": [%d, %d, %d]},\n",
            cfg->name, (int)cfg->n_series, (int)cfg->length, (int)cfg->stride, PAST, HORIZON,
            (int)cfg->batch, (int)cfg->hidden, (double)cfg->lr, (double)LR_DECAY,
            (int)(LR_DECAY_AT * cfg->epochs) + 1, (double)cfg->clip_norm,
            (int)sp->count[SIG_TRAIN], (int)sp->count[SIG_VAL], (int)sp->count[SIG_TEST],
            (int)parts[SIG_TRAIN].count, (int)parts[SIG_VAL].count, (int)parts[SIG_TEST].count);
    /* Row i of attention.csv / inputs.csv is window i here; the plot uses the
     * target and the two forecasts to mark the next step. */
    const sig_windows *t = &parts[SIG_TEST];
    int32_t k = t->count < N_SHOWN ? t->count : N_SHOWN;
    fputs("  \"attention_windows\": [", f);
    for (int32_t i = 0; i < k; i++) {
        int32_t j = sh->idx[i];
        fprintf(f, "%s\n    {\"test_window\": %d, \"series\": %d, \"start\": %d, \"target\": %.9g, "
                   "\"prediction\": %.9g, \"baseline\": %.9g}",
                i ? "," : "", (int)j, (int)t->series[j], (int)t->start[j], (double)t->future[j],
                (double)test_pred[j], (double)t->past_values[(size_t)j * PAST + PAST - 1]);
    }
    fputs("\n  ]\n}\n", f);
    if (res_close(f) != 0)
        ex_die("error writing metrics.json: %s", strerror(errno));
}

static void write_results(const char *dir, const config *cfg, uint64_t seed, const sig_split *sp,
                          const sig_windows *parts, const run_log *lg, const shown *sh,
                          const float *test_pred)
{
    int32_t k = parts[SIG_TEST].count < N_SHOWN ? parts[SIG_TEST].count : N_SHOWN;
    if (res_write_csv(dir, "attention.csv", sh->attention, k, PAST) != 0 ||
        res_write_csv(dir, "inputs.csv", sh->inputs, k, PAST) != 0)
        ex_die("cannot write the CSV files: %s", strerror(errno));
    write_metrics(dir, cfg, seed, sp, parts, lg, sh, test_pred);
}

/* -------------------------------------------------------------------- main */

static const char usage_text[] =
    "usage: gru_attention [--quick] [--seed N] [--out DIR] [--epochs N]\n"
    "  --quick     small data and few epochs (well under a minute)\n"
    "  --seed N    seed for data, initial weights and shuffling (default 1)\n"
    "  --out DIR   where metrics.json, attention.csv, inputs.csv go\n"
    "              (default results/gru_attention)\n"
    "  --epochs N  override the setting's number of epochs\n";

int main(int argc, char **argv)
{
    ex_set_program("gru_attention");
    ex_args args;
    ex_parse_args(argc, argv, usage_text, "results/gru_attention", &args);
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
    printf("seqattn %s, setting '%s', seed %llu: %d/%d/%d series, %d/%d/%d windows (train/val/test)\n",
           sa_version_string(), cfg.name, (unsigned long long)seed, (int)split.count[0], (int)split.count[1],
           (int)split.count[2], (int)train->count, (int)val->count, (int)test->count);

    net n = build_net(&cfg, seed);
    n.scale = measure_scaling(train);
    sa_optim_desc od = sa_optim_desc_default();
    od.kind = SA_OPTIM_ADAM;
    od.lr = cfg.lr;
    od.clip_norm = cfg.clip_norm; /* guards the recurrent gradients against rare spikes */
    sa_optim *opt = NULL;
    ex_check(sa_optim_create(n.m, &od, &opt), "sa_optim_create");

    /* Buffers sized for the larger of a training and an evaluation batch. */
    int32_t bmax = cfg.batch > EVAL_BATCH ? cfg.batch : EVAL_BATCH;
    float *x = malloc((size_t)bmax * PAST * sizeof(float));
    float *y = malloc((size_t)bmax * HORIZON * sizeof(float));
    int32_t *order = malloc((size_t)train->count * sizeof(int32_t));
    float *test_pred = malloc((size_t)test->count * sizeof(float));
    run_log lg = {.epochs = cfg.epochs, .best_epoch = -1};
    lg.train_loss = calloc((size_t)cfg.epochs, sizeof(double));
    lg.val_loss = calloc((size_t)cfg.epochs, sizeof(double));
    lg.epoch_seconds = calloc((size_t)cfg.epochs, sizeof(double));
    float *values, *grads;
    size_t n_params;
    ex_check(sa_params_flat(n.m, &values, &grads, &n_params), "sa_params_flat");
    float *best = malloc(n_params * sizeof(float));
    if (!x || !y || !order || !test_pred || !lg.train_loss || !lg.val_loss || !lg.epoch_seconds || !best)
        ex_die("out of memory");
    for (int32_t i = 0; i < train->count; i++)
        order[i] = i;
    ex_rng shuffle_rng;
    ex_rng_seed(&shuffle_rng, seed, SHUFFLE_STREAM, 0);

    printf("model: GRU(%d) -> additive attention -> dense(1), %zu parameters; Adam lr %g, batch %d\n",
           (int)cfg.hidden, n_params, (double)cfg.lr, (int)cfg.batch);
    /* Keep the weights of the epoch with the lowest validation loss: the test
     * set is then touched once, by the model selected without it. */
    double best_val = INFINITY;
    for (int32_t e = 0; e < cfg.epochs; e++) {
        double t0 = ex_now();
        if (e == (int32_t)(LR_DECAY_AT * cfg.epochs) && e > 0)
            ex_check(sa_optim_set_lr(opt, cfg.lr * LR_DECAY), "sa_optim_set_lr");
        lg.train_loss[e] = train_epoch(&n, opt, train, order, cfg.batch, &shuffle_rng, x, y);
        lg.val_loss[e] = evaluate(&n, val, NULL, x, y);
        if (lg.val_loss[e] < best_val) {
            best_val = lg.val_loss[e];
            lg.best_epoch = e + 1;
            memcpy(best, values, n_params * sizeof(float));
        }
        lg.epoch_seconds[e] = ex_now() - t0;
        printf("epoch %3d/%d  train %.6f  val %.6f  %.2fs%s\n", (int)(e + 1), (int)cfg.epochs,
               lg.train_loss[e], lg.val_loss[e], lg.epoch_seconds[e], lg.best_epoch == e + 1 ? "  *" : "");
        fflush(stdout);
    }
    if (lg.best_epoch < 0)
        ex_die("validation loss was never finite: training diverged");
    memcpy(values, best, n_params * sizeof(float));

    lg.test_mse = evaluate(&n, test, test_pred, x, y);
    lg.baseline = baseline_mse(test);
    lg.ratio = lg.baseline / lg.test_mse;
    shown sh;
    capture_attention(&n, test, &sh, x, y);
    lg.seconds = ex_now() - t_start;
    write_results(out_dir, &cfg, seed, &split, parts, &lg, &sh, test_pred);

    printf("test MSE %.6f (weights of epoch %d)  naive last-value MSE %.6f  ratio %.2fx  (%.1fs)\n",
           lg.test_mse, (int)lg.best_epoch, lg.baseline, lg.ratio, lg.seconds);
    printf("results in %s/\n", out_dir);
    int ok = lg.ratio >= MIN_RATIO;
    if (!ok)
        fprintf(stderr, "gru_attention: FAILED: the model is only %.2fx better than the naive forecast, "
                        "need %.1fx\n", lg.ratio, MIN_RATIO);

    free(best);
    free(lg.train_loss);
    free(lg.val_loss);
    free(lg.epoch_seconds);
    free(test_pred);
    free(order);
    free(x);
    free(y);
    sa_optim_destroy(opt);
    sa_model_destroy(n.m);
    for (int p = 0; p < 3; p++)
        sig_windows_free(&parts[p]);
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
