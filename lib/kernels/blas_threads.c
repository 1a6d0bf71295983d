/* blas_threads.c — how many OpenBLAS threads each product gets.
 *
 * OpenBLAS splits any product above a few thousand multiply-adds over all its
 * threads. For the per-step products of a recurrent layer (64×192×64, or a
 * single sample's matrix-vector product) the split costs more than it saves:
 * on the development machine 64×192×64 took 25 µs on one thread and 35 µs on
 * two, 1×192×64 0.85 µs against 2.4 µs, and a GRU training step at batch 64
 * went from 5.3 ms on one thread to 9.3 ms on two (docs/performance.md). So
 * inside a model call, products below a size run on one thread and the others
 * on the model's count; the caller's count is restored when the call returns.
 *
 * The count is OpenBLAS's process-wide setting, reached through weak
 * references so that the library still links and runs against another CBLAS
 * (the functions are then NULL and nothing is changed). Weak references
 * resolve in the library's own lookup scope, so this also works when the
 * library is loaded with RTLD_LOCAL (Python's ctypes), where dlsym(RTLD_DEFAULT)
 * would not find OpenBLAS. Setting the count is a store to a global in
 * OpenBLAS (about 3 ns), cheap enough to do around single products. */
#include <time.h>

#include "../internal.h"

#if defined(__GNUC__) && defined(__ELF__)
extern void openblas_set_num_threads(int) __attribute__((weak));
extern int openblas_get_num_threads(void) __attribute__((weak));
extern char *openblas_get_corename(void) __attribute__((weak));
#define SA_HAVE_BLAS_THREADS (openblas_set_num_threads && openblas_get_num_threads)
#else
#define SA_HAVE_BLAS_THREADS 0
#define openblas_set_num_threads(n) ((void)(n))
#define openblas_get_num_threads() 1
#endif

/* Break-even sizes measured with both products timed between element-wise
 * passes over their output, as in a recurrent step (2 cores, OpenBLAS 0.3.21):
 * a GEMM gains from a second thread from about 4M multiply-adds (64×512×128:
 * 115 µs either way; 64×768×256: 326 → 231 µs); a matrix-vector product,
 * memory-bound, from about 100k (1×512×128: 4.1 → 4.8 µs; 1×768×256:
 * 11.7 → 8.6 µs). Products below 2^23 and 2^17 multiply-adds, a margin above
 * those points, run on one thread. */
#define SA_GEMM_THREADED_MACS (1.0 * (1 << 23))
#define SA_GEMV_THREADED_MACS (1.0 * (1 << 17))

/* The state of the current model call on this thread. A model is used by one
 * thread at a time, so the scope is per thread. */
static _Thread_local int scope_depth;
static _Thread_local int scope_threads; /* threads for large products */
static _Thread_local int scope_saved;   /* the caller's count, restored at the end */
static _Thread_local int scope_current; /* what OpenBLAS is set to now */
static _Thread_local int scope_warm;    /* 1 if this scope warmed the GEMM pool */
static _Thread_local int scope_split_ok; /* products may be split over the pool in this call */
static _Thread_local sa_split_record *scope_rec; /* the model's record for this kind of call */
static _Thread_local long long scope_t0, scope_large_ns, scope_extra_ns; /* see sa_blas_scope_end */

/* A kind of call splits its products over the pool only if they take at
 * least this share of its time on one thread: the spinning workers slow the
 * calling thread (on the 2-vCPU VM a gru_attn B 64 training step, whose only
 * large product is 10 % of its backward, took 3.8–4.5 ms on 2 threads
 * against 3.2–3.9 on 1; unsplit, the same), which only a large share pays
 * back. */
#define SA_SPLIT_SHARE_MIN 0.3f

long long sa_blas_clock_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int sa_blas_threads_settable(void) { return SA_HAVE_BLAS_THREADS ? 1 : 0; }

void sa_blas_scope_begin(int model_threads, sa_split_record *rec)
{
    if (!SA_HAVE_BLAS_THREADS || scope_depth++ > 0)
        return;
    scope_saved = scope_current = openblas_get_num_threads();
    scope_threads = model_threads > 0 ? model_threads : scope_saved;
    scope_rec = rec;
    scope_t0 = sa_blas_clock_ns();
    scope_large_ns = scope_extra_ns = 0;
    /* A kind of call not yet measured may split (a single large inference
     * gets its threads); then only if its large products are a large share.
     * The pool's workers spin while warm, which costs the other core's time:
     * warm from the start only for a kind of call known to split; otherwise
     * the first split of this call warms it (sa_blas_scope_split). */
    int pool = scope_threads > 1 && sa_gemm_avx512_ok() && !sa_blas_has_avx512();
    scope_split_ok = pool && (!rec || !rec->known || rec->share >= SA_SPLIT_SHARE_MIN);
    scope_warm = scope_split_ok && rec && rec->known;
    if (scope_warm)
        sa_pool_warm(scope_threads);
}

int sa_blas_scope_split(void)
{
    if (scope_depth == 0)
        return 1; /* outside a model call: the caller's product, the caller's threads */
    if (!scope_split_ok)
        return 0;
    if (!scope_warm) {
        sa_pool_warm(scope_threads);
        scope_warm = 1;
    }
    return 1;
}

void sa_blas_scope_large(long long ns, int parts)
{
    if (scope_depth == 0)
        return;
    /* on one thread it would have taken about parts times as long */
    scope_large_ns += ns * parts;
    scope_extra_ns += ns * (parts - 1);
}

void sa_blas_scope_end(void)
{
    if (!SA_HAVE_BLAS_THREADS || scope_depth == 0 || --scope_depth > 0)
        return;
    if (scope_rec) {
        long long total = sa_blas_clock_ns() - scope_t0 + scope_extra_ns;
        scope_rec->share = total > 0 ? (float)((double)scope_large_ns / (double)total) : 0.0f;
        scope_rec->known = 1;
        scope_rec = NULL;
    }
    if (scope_warm)
        sa_pool_cool();
    scope_warm = 0;
    if (scope_current != scope_saved)
        openblas_set_num_threads(scope_saved);
}

/* Element-wise work splits from 2^15 values: about 30 µs of gate
 * nonlinearities, against a few µs to hand a job to spinning workers. */
#define SA_ROWS_SPLIT_FLOATS (1.0 * (1 << 15))

int sa_rows_parts(int rows, double floats)
{
    if (scope_depth == 0 || !scope_warm || rows < 2 || floats < SA_ROWS_SPLIT_FLOATS)
        return 1;
    int parts = scope_threads < rows ? scope_threads : rows;
    return parts < SA_POOL_MAX ? parts : SA_POOL_MAX;
}

/* A recurrent loop split by samples hands one job to the pool per layer
 * and direction instead of two per step, so it pays from less work than a
 * single product: from 2^25 multiply-adds in all (0.2 ms on one thread,
 * against a wake of up to 0.4 ms when the workers sleep), with 64 samples or
 * more per part (32 lost: GRU(512) B 64 inference 28.7 → 34 ms on 2 threads,
 * where each step's product splits well by columns at all 64 rows). Measured
 * on 2 threads at B 256 against splitting each step: GRU(64) training 23–25
 * → 18.5–19 ms, GRU(256) 120–128 → 115–118; with W_hh packed once per call
 * (no operand packed twice), GRU(512) training 310–311 → 296–306, LSTM(512)
 * stack inference 1464–1538 → 1397–1444. */
#define SA_LOOP_SPLIT_MACS (1.0 * (1 << 25))
#define SA_LOOP_MIN_ROWS 64

int sa_loop_parts(int rows, double step_macs, int steps)
{
    if (!SA_HAVE_BLAS_THREADS || scope_depth == 0 || scope_threads < 2 || step_macs * steps < SA_LOOP_SPLIT_MACS ||
        rows < 2 * SA_LOOP_MIN_ROWS || !sa_blas_scope_split())
        return 1;
    int parts = scope_threads < rows / SA_LOOP_MIN_ROWS ? scope_threads : rows / SA_LOOP_MIN_ROWS;
    return parts < SA_POOL_MAX ? parts : SA_POOL_MAX;
}

int sa_blas_threads_for(int M, int N, int K, int single)
{
    double macs = (double)M * N * K;
    int vector = M == 1 || N == 1;
    int small = single || macs < (vector ? SA_GEMV_THREADED_MACS : SA_GEMM_THREADED_MACS);
    if (!SA_HAVE_BLAS_THREADS)
        return 1;
    if (scope_depth == 0) /* not ours to change: what OpenBLAS would use */
        return small ? 1 : openblas_get_num_threads();
    int want = small ? 1 : scope_threads;
    if (want != scope_current) {
        openblas_set_num_threads(want);
        scope_current = want;
    }
    return want;
}

/* OpenBLAS's AVX-512 kernel sets, by the core names its
 * openblas_get_corename() gives (0.3.21: "SkylakeX", "Cooperlake",
 * "SapphireRapids"). Compared without case: the spelling has varied. */
static int core_has_avx512(void)
{
#if defined(__GNUC__) && defined(__ELF__)
    if (!openblas_get_corename)
        return 1;
    const char *core = openblas_get_corename();
    static const char *const avx512_cores[] = {"skylakex", "cooperlake", "sapphirerapids"};
    for (size_t i = 0; core && i < sizeof avx512_cores / sizeof *avx512_cores; i++) {
        const char *a = core, *b = avx512_cores[i];
        while (*a && *b && (*a | 0x20) == *b)
            a++, b++;
        if (!*a && !*b)
            return 1;
    }
    return 0;
#else
    return 1;
#endif
}

/* asked before every product: the core is fixed when OpenBLAS loads, so it
 * is looked up once (-1: not yet; atomic, several threads may ask) */
static int has_avx512 = -1;

int sa_blas_has_avx512(void)
{
    int v = __atomic_load_n(&has_avx512, __ATOMIC_RELAXED);
    if (v < 0) {
        v = core_has_avx512();
        __atomic_store_n(&has_avx512, v, __ATOMIC_RELAXED);
    }
    return v;
}
