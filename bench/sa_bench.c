/* sa_bench.c — times one workload on seqattn and prints one JSON line.
 *
 * Usage: sa_bench --workload NAME --mode train|infer --batch B --seq T --hidden H
 *                 [--seq-out 20] [--threads N] [--warmup 3] [--min-iters 5]
 *                 [--min-time 1.0] [--max-iters 100000]
 * (bench/torch_bench.py takes the same flags). The thread count is set by the
 * caller through OPENBLAS_NUM_THREADS / OMP_NUM_THREADS; --threads is only
 * echoed, and the BLAS's own count is reported next to it.
 *
 * One step: train = set inputs, forward(SA_TRAIN), MSE, backward, Adam step,
 * zero_grad; infer = set inputs, forward(SA_INFER), copy the prediction out;
 * workload "stream" = set a [B, 1, 1] input, sa_step, copy the output.
 * After `warmup` steps (and at least min_time/4 s) steps are timed one by
 * one until min_iters steps and min_time seconds have passed; each step's
 * wall time and process CPU time (all threads) are kept, and their medians
 * reported. */
#include <seqattn/seqattn.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "sa_models.h"

typedef struct opts {
    const char *workload, *mode;
    bm_size size;
    int threads, warmup, min_iters, max_iters;
    double min_time;
} opts;

static void die(const char *what, sa_status s)
{
    fprintf(stderr, "sa_bench: %s: %s: %s\n", what, sa_status_str(s), sa_last_error());
    exit(1);
}

static void check(sa_status s, const char *what)
{
    if (s != SA_OK)
        die(what, s);
}

static opts parse(int argc, char **argv)
{
    opts o = {"gru_attn", "train", {64, 50, 64, 20}, 1, 3, 5, 100000, 1.0};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--workload")) o.workload = v;
        else if (!strcmp(k, "--mode")) o.mode = v;
        else if (!strcmp(k, "--batch")) o.size.B = atoi(v);
        else if (!strcmp(k, "--seq")) o.size.T = atoi(v);
        else if (!strcmp(k, "--hidden")) o.size.H = atoi(v);
        else if (!strcmp(k, "--seq-out")) o.size.t_out = atoi(v);
        else if (!strcmp(k, "--threads")) o.threads = atoi(v);
        else if (!strcmp(k, "--warmup")) o.warmup = atoi(v);
        else if (!strcmp(k, "--min-iters")) o.min_iters = atoi(v);
        else if (!strcmp(k, "--max-iters")) o.max_iters = atoi(v);
        else if (!strcmp(k, "--min-time")) o.min_time = atof(v);
        else {
            fprintf(stderr, "sa_bench: unknown flag %s (see the header of bench/sa_bench.c)\n", k);
            exit(2);
        }
    }
    if (strcmp(o.mode, "train") && strcmp(o.mode, "infer")) {
        fprintf(stderr, "sa_bench: --mode must be train or infer\n");
        exit(2);
    }
    if (o.max_iters < o.min_iters)
        o.max_iters = o.min_iters;
    return o;
}

/* deterministic N(0, 1)-ish data: sum of 4 uniforms, centred and scaled */
static float *make_data(size_t n, unsigned *state)
{
    float *p = malloc((n ? n : 1) * sizeof(float));
    if (!p) {
        fprintf(stderr, "sa_bench: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        float s = 0.0f;
        for (int k = 0; k < 4; k++) {
            *state = *state * 1664525u + 1013904223u;
            s += (float)(*state >> 8) / 16777216.0f;
        }
        p[i] = (s - 2.0f) * 1.7320508f;
    }
    return p;
}

typedef struct runner {
    bm_model bm;
    sa_optim *opt;
    float *data[BM_MAX_IN], *out;
    size_t out_cap;
    int train, stream;
} runner;

static void step(runner *r, int32_t B)
{
    bm_model *bm = &r->bm;
    for (int i = 0; i < bm->n_in; i++)
        check(sa_set_input(bm->m, bm->in[i], r->data[i], B, bm->in_T[i], NULL), "sa_set_input");
    if (r->stream)
        check(sa_step(bm->m), "sa_step");
    else if (r->train) {
        check(sa_forward(bm->m, SA_TRAIN), "sa_forward");
        check(sa_backward(bm->m, bm->loss), "sa_backward");
        check(sa_optim_step(r->opt), "sa_optim_step");
        check(sa_zero_grad(bm->m), "sa_zero_grad");
        return;
    } else
        check(sa_forward(bm->m, SA_INFER), "sa_forward");
    check(sa_get_output(bm->m, bm->pred, r->out, r->out_cap, NULL), "sa_get_output");
}

int main(int argc, char **argv)
{
    opts o = parse(argc, argv);
    long base_kb = bu_status_kb("VmRSS");
    runner r = {0};
    r.train = !strcmp(o.mode, "train");
    r.stream = !strcmp(o.workload, "stream");
    if (r.stream && r.train) {
        fprintf(stderr, "sa_bench: stream is inference only\n");
        return 2;
    }
    if (bm_build(o.workload, &o.size, r.train, &r.bm) != 0)
        return 1;
    unsigned seed = 12345u;
    for (int i = 0; i < r.bm.n_in; i++)
        r.data[i] = make_data((size_t)o.size.B * r.bm.in_T[i] * r.bm.in_F[i], &seed);
    if (r.train) {
        sa_optim_desc od = sa_optim_desc_default(); /* Adam, lr 1e-3 */
        check(sa_optim_create(r.bm.m, &od, &r.opt), "sa_optim_create");
        if (!strcmp(o.workload, "lstm_stack")) /* sigmoid output: targets in (0, 1) */
            for (size_t i = 0; i < (size_t)o.size.B; i++)
                r.data[r.bm.n_in - 1][i] = 0.5f + 0.1f * r.data[r.bm.n_in - 1][i];
    }
    r.out_cap = (size_t)o.size.B * (o.size.T > o.size.t_out ? o.size.T : o.size.t_out);
    r.out = make_data(r.out_cap, &seed);
    if (r.stream)
        check(sa_step_begin(r.bm.m, 1, &r.bm.in[0]), "sa_step_begin");

    double t0 = bu_now();
    for (int i = 0; i < o.warmup || bu_now() - t0 < o.min_time / 4; i++)
        step(&r, o.size.B);
    double *ms = malloc((size_t)o.max_iters * sizeof(double)), *cpu = malloc((size_t)o.max_iters * sizeof(double));
    int n = 0;
    t0 = bu_now();
    while (n < o.max_iters && (n < o.min_iters || bu_now() - t0 < o.min_time)) {
        double a = bu_now(), c = bu_cpu();
        step(&r, o.size.B);
        ms[n] = 1e3 * (bu_now() - a);
        cpu[n++] = 1e3 * (bu_cpu() - c);
    }
    double total = 0.0;
    for (int i = 0; i < n; i++)
        total += ms[i];
    float *pv, *pg;
    size_t np = 0;
    check(sa_params_flat(r.bm.m, &pv, &pg, &np), "sa_params_flat");
    sa_memory_info mem = {SA_MEMORY_INFO_INIT};
    check(sa_model_memory(r.bm.m, &mem), "sa_model_memory");
    printf("{\"impl\": \"seqattn\", \"version\": \"%s\", \"workload\": \"%s\", \"mode\": \"%s\", "
           "\"B\": %d, \"T\": %d, \"H\": %d, \"t_out\": %d, \"threads\": %d, \"blas_threads\": %d, "
           "\"params\": %zu, \"iters\": %d, \"mean_ms\": %.6f, \"p10_ms\": %.6f, \"p90_ms\": %.6f, "
           "\"median_ms\": %.6f, \"cpu_median_ms\": %.6f, \"base_rss_kb\": %ld, \"peak_rss_kb\": %ld, "
           "\"mem_values\": %zu, \"mem_grads\": %zu, \"mem_workspace\": %zu, \"mem_scratch\": %zu, "
           "\"mem_arena\": %zu}\n",
           sa_version_string(), o.workload, o.mode, (int)o.size.B, (int)o.size.T, (int)o.size.H,
           (int)o.size.t_out, o.threads, bu_blas_threads(), np, n, total / n, bu_quantile(ms, n, 0.1),
           bu_quantile(ms, n, 0.9), bu_quantile(ms, n, 0.5), bu_quantile(cpu, n, 0.5), base_kb, bu_status_kb("VmHWM"),
           mem.values, mem.grads, mem.workspace, mem.scratch, mem.arena);
    sa_optim_destroy(r.opt);
    sa_model_destroy(r.bm.m);
    for (int i = 0; i < r.bm.n_in; i++)
        free(r.data[i]);
    free(r.out);
    free(ms);
    free(cpu);
    return 0;
}
