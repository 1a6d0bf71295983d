/* gemm_pool.c — worker threads for splitting one matrix product (the
 * AVX-512 kernel, gemm_avx512.c) over a model's threads.
 *
 * Why a pool: a product worth splitting takes 0.2 ms and up; starting threads
 * for each call cost more than the second core gained (a 2-layer BiLSTM(512)
 * at batch 256 was slower on 2 threads than with OpenBLAS's). And a sleeping
 * thread wakes slowly: on the 2-vCPU VM of docs/performance.md a worker woken
 * through a condition variable started its part 650 µs after the caller, and
 * the split product (192×64×3200, 0.4 ms on one thread) took twice as long.
 * So once a model call has split a product, the workers spin waiting for
 * the next job until the call ends (sa_pool_warm .. sa_pool_cool, from the
 * BLAS thread scope, which warms from the start of a call whose kind is
 * known to split, and lets a kind split only if its large products weigh
 * enough to pay for the spinning: blas_threads.c), as OpenMP's and
 * OpenBLAS's threads do; outside such calls they sleep. Besides products,
 * a recurrent layer's per-step cells run on the pool while it is warm
 * (sa_rows_parts). Workers are started on first use and
 * live until the process ends; the library is linked with -z nodelete so
 * their code is never unmapped.
 *
 * One job runs at a time: a caller that finds the pool busy (another thread's
 * model) runs its parts itself, as does a caller whose workers could not be
 * started. After fork() the child starts with no workers. */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#include "../internal.h"


static pthread_mutex_t submit = PTHREAD_MUTEX_INITIALIZER; /* held by the job's caller */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;   /* for sleeping and waking only */
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int workers; /* started; worker i runs part i. Only the submit holder reads or writes it */
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* The job, published like a seqlock: seq is odd while the caller writes the
 * fields and even once they are complete; a worker reads them between two
 * equal even values of seq. The caller writes them again only after every
 * part of the previous job is done, so a worker whose part it was always
 * reads them intact. Every access to these is atomic. */
static unsigned long seq;
static int job_parts; /* parts taken by the pool, the caller's part 0 included */
static int remaining; /* worker parts not finished */
static void (*job_fn)(void *ctx, int part);
static void *job_ctx;
static int hot; /* model calls in progress that may split products: workers spin while > 0 */

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)
#define SPINS 4096

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static int published(unsigned long s, unsigned long seen) { return s != seen && !(s & 1); }

/* Waits for a published job other than `seen`: spins while the pool is hot,
 * sleeps otherwise. @return its seq */
static unsigned long next_job(unsigned long seen)
{
    for (;;) {
        unsigned long s;
        for (int i = 0; i < SPINS; i++) {
            if (published(s = LOAD(seq), seen))
                return s;
            relax();
        }
        if (LOAD(hot) > 0)
            continue;
        pthread_mutex_lock(&lock);
        while (!published(s = LOAD(seq), seen) && LOAD(hot) == 0)
            pthread_cond_wait(&wake, &lock);
        pthread_mutex_unlock(&lock);
        if (published(s, seen))
            return s;
    }
}

static void *worker(void *arg)
{
    int me = (int)(intptr_t)arg;
    unsigned long seen = 0;
    for (;;) {
        unsigned long s = next_job(seen);
        int parts = LOAD(job_parts);
        void (*fn)(void *, int) = LOAD(job_fn);
        void *ctx = LOAD(job_ctx);
        seen = s;
        /* a newer job already: then this one had no part for us (the caller
         * waits for every part before publishing again) */
        if (LOAD(seq) != s || me >= parts)
            continue;
        fn(ctx, me);
        __atomic_sub_fetch(&remaining, 1, __ATOMIC_ACQ_REL);
    }
    return NULL;
}

/* Starts workers until there are n (at most SA_POOL_MAX − 1); the caller holds
 * submit. Stops at the first that cannot be started. */
static void start_workers(int n)
{
    while (workers < n && workers < SA_POOL_MAX - 1) {
        pthread_attr_t attr;
        pthread_t t;
        int ok = pthread_attr_init(&attr) == 0;
        ok = ok && pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0;
        ok = ok && pthread_create(&t, &attr, worker, (void *)(intptr_t)(workers + 1)) == 0;
        pthread_attr_destroy(&attr);
        if (!ok)
            break;
        workers++;
    }
}

/* The child of a fork has only the forking thread: no workers, and the locks
 * may have been held by threads that are gone. */
static void after_fork_child(void)
{
    pthread_mutex_init(&submit, NULL);
    pthread_mutex_init(&lock, NULL);
    pthread_cond_init(&wake, NULL);
    workers = 0;
    STORE(seq, 0);
    STORE(remaining, 0);
    STORE(hot, 0);
}

static void register_fork_handler(void) { pthread_atfork(NULL, NULL, after_fork_child); }

void sa_pool_warm(int threads)
{
    pthread_once(&once, register_fork_handler);
    if (__atomic_add_fetch(&hot, 1, __ATOMIC_ACQ_REL) == 1) {
        pthread_mutex_lock(&lock); /* a worker about to sleep has checked hot under it */
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&lock);
    }
    /* start them now, so the first split product does not wait for them */
    if (threads > 1 && pthread_mutex_trylock(&submit) == 0) {
        start_workers(threads - 1);
        pthread_mutex_unlock(&submit);
    }
}

void sa_pool_cool(void) { __atomic_sub_fetch(&hot, 1, __ATOMIC_ACQ_REL); }

void sa_pool_run(int parts, void (*fn)(void *ctx, int part), void *ctx)
{
    if (parts > 1)
        pthread_once(&once, register_fork_handler);
    if (parts <= 1 || pthread_mutex_trylock(&submit) != 0) {
        for (int p = 0; p < parts; p++)
            fn(ctx, p);
        return;
    }
    start_workers(parts - 1);
    int pooled = workers + 1 < parts ? workers + 1 : parts;
    unsigned long s = LOAD(seq);
    STORE(seq, s + 1); /* odd: writing */
    STORE(job_fn, fn);
    STORE(job_ctx, ctx);
    STORE(job_parts, pooled);
    STORE(remaining, pooled - 1);
    STORE(seq, s + 2); /* even: published */
    if (LOAD(hot) == 0) { /* the workers may be asleep */
        pthread_mutex_lock(&lock); /* a worker about to sleep has checked seq under it */
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&lock);
    }

    fn(ctx, 0);
    for (int p = pooled; p < parts; p++) /* parts no worker could take */
        fn(ctx, p);

    /* the workers' parts are running or about to: wait for them, yielding
     * now and then in case a worker waits for a core */
    for (int i = 1; LOAD(remaining) > 0; i++) {
        relax();
        if (i % SPINS == 0)
            sched_yield();
    }
    pthread_mutex_unlock(&submit);
}
