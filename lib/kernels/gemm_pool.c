/* gemm_pool.c — worker threads for splitting one matrix product (the
 * AVX-512 kernel, gemm_avx512.c) over a model's threads.
 *
 * Why a pool: a product worth splitting takes 50 µs and up; starting threads
 * for each call cost more than the second core gained (a 2-layer BiLSTM(512)
 * at batch 256 was slower on 2 threads than with OpenBLAS's, whose threads
 * wait between calls). Workers here are started on first use, wait on a
 * condition variable between jobs (no spinning, so they never compete with
 * the BLAS's threads for the cores), and live until the process ends; the
 * library is linked with -z nodelete so their code is never unmapped.
 *
 * One job runs at a time: a caller that finds the pool busy (another thread's
 * model) runs its parts itself, as does a caller whose workers could not be
 * started. After fork() the child starts with no workers. */
#include <pthread.h>
#include <stdint.h>

#include "../internal.h"

#define POOL_MAX 16 /* parts of one job, the caller's included */

static pthread_mutex_t submit = PTHREAD_MUTEX_INITIALIZER; /* held by the job's caller */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;   /* guards the job fields */
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER, done = PTHREAD_COND_INITIALIZER;
static int workers;            /* started; worker i runs part i */
static unsigned long job_id;   /* the current job's number, 0 before the first */
static int job_parts;          /* parts of the current job taken by the pool */
static int remaining;          /* worker parts of the current job not finished */
static void (*job_fn)(void *ctx, int part);
static void *job_ctx;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void *worker(void *arg)
{
    int me = (int)(intptr_t)arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&lock);
    for (;;) {
        while (job_id == seen)
            pthread_cond_wait(&wake, &lock);
        seen = job_id;
        if (me >= job_parts)
            continue;
        void (*fn)(void *, int) = job_fn;
        void *ctx = job_ctx;
        pthread_mutex_unlock(&lock);
        fn(ctx, me);
        pthread_mutex_lock(&lock);
        if (--remaining == 0)
            pthread_cond_signal(&done);
    }
    return NULL;
}

/* The child of a fork has only the forking thread: no workers, and the locks
 * may have been held by threads that are gone. */
static void after_fork_child(void)
{
    pthread_mutex_init(&submit, NULL);
    pthread_mutex_init(&lock, NULL);
    pthread_cond_init(&wake, NULL);
    pthread_cond_init(&done, NULL);
    workers = 0;
    job_id = 0;
    job_parts = remaining = 0;
}

static void register_fork_handler(void) { pthread_atfork(NULL, NULL, after_fork_child); }

void sa_pool_run(int parts, void (*fn)(void *ctx, int part), void *ctx)
{
    if (parts > 1)
        pthread_once(&once, register_fork_handler);
    if (parts <= 1 || pthread_mutex_trylock(&submit) != 0) {
        for (int p = 0; p < parts; p++)
            fn(ctx, p);
        return;
    }
    pthread_mutex_lock(&lock);
    while (workers < parts - 1 && workers < POOL_MAX - 1) {
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
    int pooled = workers + 1 < parts ? workers + 1 : parts;
    job_fn = fn;
    job_ctx = ctx;
    job_parts = pooled;
    remaining = pooled - 1;
    job_id++;
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&lock);

    fn(ctx, 0);
    for (int p = pooled; p < parts; p++) /* parts no worker could take */
        fn(ctx, p);

    pthread_mutex_lock(&lock);
    while (remaining > 0)
        pthread_cond_wait(&done, &lock);
    pthread_mutex_unlock(&lock);
    pthread_mutex_unlock(&submit);
}
