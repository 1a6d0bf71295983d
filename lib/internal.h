/* internal.h — shared definitions of the library's layers (graph, model,
 * layer ops, kernels). Not installed; nothing here is part of the ABI. */
#ifndef SA_INTERNAL_H
#define SA_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "seqattn/seqattn.h"

#define SA_MAX_INPUTS 16   /* inputs of one node (concat is the widest) */
#define SA_MAX_PORTS 4     /* outputs of one node: main value + extra ports */
#define SA_MAX_PARAMS 64   /* parameter tensors of one node (8-layer BiGRU = 64) */
#define SA_NAME_MAX 64
#define SA_MAX_DIM (1 << 24) /* largest B, T or F accepted: keeps products in range */

/* ---------------------------------------------------------------- errors */

/* Records a message in the thread-local slot and returns s, so call sites read
 * `return sa_fail(SA_ERR_SHAPE, "sa_gru: ...", ...)`. */
sa_status sa_fail(sa_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sa_clear_error(void);
const char *sa_tls_error(void);

/* Overflow-checked size arithmetic: return 0 on overflow. */
int sa_mul_ok(size_t a, size_t b, size_t *out);
int sa_add_ok(size_t a, size_t b, size_t *out);

/* ------------------------------------------------------------------- rng */

typedef struct sa_rng { uint64_t s; } sa_rng;
void sa_rng_seed(sa_rng *r, uint64_t seed, const char *stream);
/* Draw `index` of a stream: independent generators for every (seed, stream,
 * index), e.g. one dropout mask per node and per training forward. */
void sa_rng_seed_at(sa_rng *r, uint64_t seed, const char *stream, uint64_t index);
uint64_t sa_rng_next(sa_rng *r);
float sa_rng_uniform(sa_rng *r, float lo, float hi); /* [lo, hi) */
float sa_rng_normal(sa_rng *r);

/* ----------------------------------------------------------------- graph */

typedef struct sa_layer_ops sa_layer_ops;

typedef struct sa_node_def {
    const sa_layer_ops *ops;
    char name[SA_NAME_MAX];
    int32_t F;                  /* output features, fixed at build time */
    int32_t n_in;
    sa_node in[SA_MAX_INPUTS];
    int32_t iarg[8];            /* layer-specific integer arguments */
    float farg[4];              /* layer-specific float arguments */
    sa_node port_of;            /* for a port node: its producer, else SA_NODE_NONE */
    int32_t port_index;         /* for a port node: which output of the producer */
    sa_node ports[SA_MAX_PORTS];/* for a producer: port nodes created (index 0 unused) */
} sa_node_def;

struct sa_graph {
    sa_node_def *nodes;
    int32_t count, cap;
    sa_status status;
    char errmsg[256];
    int32_t kind_counter[64];   /* per registry index, for default names */
};

/* Adds a node after the caller validated its arguments; fills a default name.
 * @return the id, or SA_NODE_INVALID (sticky error recorded). */
sa_node sa_graph_add(sa_graph *g, const sa_node_def *def);
/* Records the first builder error in g and in the thread slot; returns SA_NODE_INVALID. */
sa_node sa_graph_fail(sa_graph *g, sa_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Common entry checks of builder calls: g non-NULL and not failed, every node valid.
 * @return 1 to proceed, 0 to return SA_NODE_INVALID. */
int sa_graph_check(sa_graph *g, const char *fn, int32_t n, const sa_node *xs);
/* Checks a node name (1..63 of [A-Za-z0-9_], unused by nodes other than n; n < 0
 * for a node not yet added); on failure records the error under fn's name. */
int sa_graph_name_ok(sa_graph *g, const char *fn, sa_node n, const char *name);
/* Creates (or returns) port k of producer p with F features. */
sa_node sa_graph_port(sa_graph *g, sa_node p, int32_t k, int32_t F);

/* ---------------------------------------------------------------- layers */

/* A runtime value: [B, T, F] with optional lengths. */
typedef struct sa_tensor {
    float *data;
    float *grad;                /* NULL when no gradient is kept */
    int32_t B, T, F;
    const int32_t *len;         /* B lengths, or NULL: every sample has T steps */
} sa_tensor;

static inline int32_t sa_len(const sa_tensor *t, int32_t b) { return t->len ? t->len[b] : t->T; }
static inline size_t sa_numel(const sa_tensor *t) { return (size_t)t->B * t->T * t->F; }

/* How a parameter is initialised. */
typedef enum sa_init { SA_INIT_UNIFORM = 0, SA_INIT_ZERO = 1, SA_INIT_ONE = 2, SA_INIT_NORMAL = 3 } sa_init;

typedef struct sa_param_spec {
    char suffix[SA_NAME_MAX];   /* "weight_ih_l0" */
    int32_t ndim;
    int32_t shape[2];
    sa_init init;
    float bound;                /* UNIFORM: U(-bound, bound); NORMAL: N(0, bound²), bound is the std */
} sa_param_spec;

/* Everything a layer op sees for one node, in one call. */
typedef struct sa_op_ctx {
    const sa_node_def *def;
    sa_tensor *in[SA_MAX_INPUTS];
    sa_tensor *out[SA_MAX_PORTS]; /* out[0] main value; out[k] a port or NULL */
    float *param[SA_MAX_PARAMS];  /* this node's parameters, spec order */
    float *pgrad[SA_MAX_PARAMS];
    void *ws;                     /* workspace: ws_bytes(), kept until backward */
    void *scratch;                /* scratch_bytes(), shared by all nodes: valid
                                     during one forward/backward/step call, its
                                     content undefined when the call starts */
    int train;
    /* step execution (sa_step): */
    int stepping;                 /* 1 while running one step of a stepped node */
    int32_t pos;                  /* step index, 0 at the first step after sa_step_begin */
    unsigned char in_stepped[SA_MAX_INPUTS]; /* which inputs change at every step */
    struct sa_model *model;       /* for sa_ctx_state() */
    sa_node id;
    /* training randomness (dropout): a pure function of (seed, node name,
     * forward_index), so every mask is reproducible; see sa_rng_seed_at() */
    uint64_t seed;                /* the model's seed (sa_model_options.seed) */
    uint64_t forward_index;       /* during a SA_TRAIN forward: its index, 0 for the first */
} sa_op_ctx;

/* A node's state that persists across steps (recurrent states, KV caches),
 * grown to at least bytes with its content kept. @return NULL when out of memory. */
void *sa_ctx_state(sa_op_ctx *c, size_t bytes);

struct sa_layer_ops {
    const char *kind;           /* "gru": default names and messages */
    int has_params_name;        /* 1: node name prefixes parameters */
    /* Parameter specs of a node; @return count (<= SA_MAX_PARAMS). */
    int32_t (*params)(const sa_node_def *d, sa_param_spec *specs);
    /* Sets out[k]->T and ->len from the inputs' runtime shapes (B is set by the
     * driver to in[0]->B), validates runtime agreement. */
    sa_status (*reshape)(sa_op_ctx *c);
    /* Workspace bytes for the current shapes (0 if none): what the node
     * keeps from its forward for its backward (and for hooks). */
    size_t (*ws_bytes)(const sa_op_ctx *c);
    /* Scratch bytes (0 or NULL if none): temporaries of one call. All nodes
     * share one region, sized for the largest, so a deep model pays for its
     * largest layer's temporaries only. */
    size_t (*scratch_bytes)(const sa_op_ctx *c);
    sa_status (*forward)(sa_op_ctx *c);
    /* Accumulates (+=) into in[i]->grad (when non-NULL) and pgrad. */
    void (*backward)(sa_op_ctx *c);
    /* Kept attention weights and {B, heads, Tq, Tk}; NULL if the node has none. */
    const float *(*attention)(const sa_op_ctx *c, int32_t shape[4]);
    /* Step execution. per_step: forward on one step is already right (no state
     * across time). step: one step with state kept through sa_ctx_state();
     * can_step: SA_OK or SA_ERR_UNSUPPORTED with a message, given which inputs
     * are stepped (NULL: any). Neither per_step nor step: cannot be stepped. */
    int per_step;
    sa_status (*step)(sa_op_ctx *c);
    sa_status (*can_step)(const sa_node_def *d, const unsigned char *in_stepped);
    /* Persistence (lib/io/graph_spec.c, sa_model_load). rebuild: re-creates
     * node d in g by calling the kind's public builder with arguments read
     * from d (inputs, F, iarg, farg), so a loaded node passes every check a
     * built one did; the loader then requires the new node to equal d field
     * by field, which rejects anything the builder would not have made.
     * d->in[0..n_in) are nodes of g; every other field is untrusted: check an
     * iarg before using it as an index. NULL: graphs holding this kind cannot
     * be saved as a whole model (sa_model_save gives SA_ERR_UNSUPPORTED).
     * port: for producers of port nodes, creates port k of node p as the
     * public builder that makes ports does; NULL: the kind has no ports. */
    sa_node (*rebuild)(sa_graph *g, const sa_node_def *d);
    sa_node (*port)(sa_graph *g, sa_node p, int32_t k);
};

/* Default reshape: output keeps in[0]'s T and lengths. */
sa_status sa_reshape_same(sa_op_ctx *c);
/* Output is one step per sample, no lengths. */
sa_status sa_reshape_one(sa_op_ctx *c);

extern const sa_layer_ops sa_op_input, sa_op_port, sa_op_dense, sa_op_act, sa_op_gru, sa_op_lstm,
    sa_op_attention_pool, sa_op_mean_time, sa_op_last_step, sa_op_concat, sa_op_loss;
extern const sa_layer_ops sa_op_slice_time, sa_op_slice_features, sa_op_repeat_time, sa_op_add;
extern const sa_layer_ops sa_op_mha, sa_op_sdpa;
extern const sa_layer_ops sa_op_layer_norm, sa_op_dropout, sa_op_posenc_sin, sa_op_posenc_learned;

/* Index of an op in the registry (for default names). */
int32_t sa_registry_index(const sa_layer_ops *ops);
/* The op whose kind is `kind` ("gru"), or NULL (graph specs in saved models). */
const sa_layer_ops *sa_registry_find(const char *kind);

/* ------------------------------------------------------------- optimizer */

/* An optimizer's state, for checkpoints (lib/io/checkpoint.c); train/optim.c
 * keeps the struct private. */
typedef struct sa_optim_state {
    sa_optim_desc desc;         /* current settings (lr as last set) */
    int64_t step;               /* updates done so far */
    float *m1, *m2;             /* model->nflat floats each, NULL when desc needs none */
} sa_optim_state;
sa_model *sa_optim_model(const sa_optim *o);
/* Fills st with o's state; the moment pointers are borrowed from o. */
void sa_optim_get_state(const sa_optim *o, sa_optim_state *st);
/* Number of moment buffers desc needs: 0, 1 (m1) or 2 (m1 and m2). */
int sa_optim_moments(const sa_optim_desc *desc);
/* Checks st->desc as sa_optim_create() does, then replaces o's state with st,
 * taking ownership of st->m1 and st->m2 (malloc'd; exactly those desc needs).
 * On failure o and the buffers are untouched (the caller frees them). */
sa_status sa_optim_set_state(sa_optim *o, const sa_optim_state *st);

/* --------------------------------------------------------------- kernels */

/* Hot element-wise loops are compiled three times — x86-64-v4 (AVX-512),
 * v3 (AVX2 + FMA) and the baseline (SSE2) — and the loader picks the best for
 * the running CPU (GCC target_clones, an ifunc), so one binary package is
 * fast everywhere. Elsewhere the baseline build only. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define SA_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SA_CLONES
#endif

/* Our AVX-512 kernels (kernels/gemm_avx512.c, vmath_avx512.c) are built on
 * x86-64 Linux with GCC or clang; each family has an on/off switch, `*flag`:
 * −1 until first asked, then 0 or 1, read and written atomically (models run
 * on any thread). sa_avx512_set turns it on where enable and the CPU has
 * AVX-512F, else off, and returns the new value; sa_avx512_get decides on
 * first use. */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__linux__)
#define SA_HAVE_AVX512 1
#else
#define SA_HAVE_AVX512 0
#endif
/* 1 if the CPU has AVX-512F, whether or not the kernels are enabled: for
 * decisions that size buffers, which must not change between calls. */
static inline int sa_cpu_has_avx512(void)
{
#if SA_HAVE_AVX512
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? 1 : 0;
#else
    return 0;
#endif
}
static inline int sa_avx512_set(int *flag, int enable)
{
    int v = enable ? sa_cpu_has_avx512() : 0;
    __atomic_store_n(flag, v, __ATOMIC_RELAXED);
    return v;
}
static inline int sa_avx512_get(int *flag)
{
    int v = __atomic_load_n(flag, __ATOMIC_RELAXED);
    return v < 0 ? sa_avx512_set(flag, 1) : v;
}

/* Before a loop over one unit j of several gate blocks of one buffer
 * (buf[k·H + j]): the blocks never overlap, but GCC cannot prove it and gives
 * up on vectorising when that needs more than 10 run-time alias checks. */
#if defined(__GNUC__) && !defined(__clang__)
#define SA_IVDEP _Pragma("GCC ivdep")
#else
#define SA_IVDEP
#endif

/* BLAS threads (kernels/blas_threads.c). A model call runs between
 * sa_blas_scope_begin(the model's thread count, 0 = the caller's) and
 * sa_blas_scope_end(), which restores the caller's count; inside it, sa_gemm
 * calls sa_blas_threads_for(M, N, K) so small products run on one thread.
 * Without OpenBLAS these do nothing and sa_blas_threads_settable() is 0. */
int sa_blas_threads_settable(void);
/* What a model's calls of one kind (forward, backward, step) spent in
 * products large enough to split over the GEMM pool, as a share of the
 * call's time on one thread; measured by every call, read by the next. */
typedef struct sa_split_record {
    float share; /* 0..1 */
    int known;   /* 0 until a call has measured it */
} sa_split_record;
void sa_blas_scope_begin(int model_threads, sa_split_record *rec);
void sa_blas_scope_end(void);
/* @return the threads this product should use: 1 below the sizes where a
 * second thread pays or when `single`, above them the model's count (outside
 * a model call, OpenBLAS's; 1 for another BLAS, whose threads seqattn cannot
 * see). Inside a model call, also sets OpenBLAS's count to it. */
int sa_blas_threads_for(int M, int N, int K, int single);
/* Called before a product is split over the GEMM pool: warms the pool for
 * the rest of the model call. @return 0 if this call should not split
 * products (its kind spends too little of its time in them for the
 * workers' spinning to pay); the product then runs on the calling thread. */
int sa_blas_scope_split(void);
/* Adds a large product's time (ns, `parts` threads) to the call's record;
 * sa_blas_clock_ns() is the monotonic clock it is measured with. */
void sa_blas_scope_large(long long ns, int parts);
long long sa_blas_clock_ns(void);
/* 1 if the BLAS is OpenBLAS running its AVX-512 kernels (core SkylakeX,
 * CooperLake, SapphireRapids) or is not OpenBLAS (then trusted to be tuned). */
int sa_blas_has_avx512(void);

/* C = alpha * op(A) op(B) + beta * C, row-major; op(X) = X or Xᵀ.
 * (M, N) output, K inner. lda/ldb/ldc are row strides. */
void sa_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc);

/* sa_gemm's contract for the products of one attention head (attention.c):
 * always our AVX-512 kernel where the CPU has it, whatever the BLAS — these
 * small products with a transposed operand are where OpenBLAS is slowest. */
void sa_head_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc);

/* The AVX-512 kernel (kernels/gemm_avx512.c): sa_gemm's contract for M, N,
 * K >= 1, single-threaded, 34 KB of stack; products of 512 columns or more
 * (the packed form) use a per-thread space allocated on the thread's first
 * such product and grown to the largest (at most 4.2 MB), so a repeated shape
 * allocates nothing. Call it only
 * when sa_gemm_avx512_ok() is 1: the CPU has AVX-512F (checked once) and
 * the kernel is enabled. sa_gemm_avx512_enable(0) turns it off, (1) back on
 * where the CPU allows; it returns the new sa_gemm_avx512_ok(). For tests
 * and benchmarks; numerics differ from the BLAS in the last bits only. */
void sa_gemm_avx512(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc);
int sa_gemm_avx512_ok(void);
int sa_gemm_avx512_enable(int enable);
/* sa_cpu_has_avx512(): above, with the switches. */
/* Which of the kernel's two forms products use: -1 (the default) lets each
 * product choose, 1 forces the packed form (A and B copied into panels, in a
 * per-thread space kept for the thread's life), 0 the in-place one (A read
 * where it is, B packed per 64 columns; also the fallback when the packing
 * space cannot be allocated). @return the previous setting. For tests and
 * benchmarks. */
int sa_gemm_avx512_form(int form);
/* y[i·incy] = beta·y[i·incy] + alpha·Σ_k W[i·ldw + k]·x[k] for i < n, K >= 1,
 * x contiguous: a matrix-vector product on W's rows as stored (one sample's
 * recurrent step); beta == 0 never reads y. Same condition of use.
 * from_end 1 reads W's rows last to first, with the same results: a loop
 * that runs the product every step alternates, so that each step starts on
 * the rows the last one read last, still in cache (a W larger than L1 read
 * first to last every time misses on every line; 256 × 64: 0.58 → 0.43 µs). */
void sa_gemv_avx512(int n, int K, float alpha, const float *W, int ldw, const float *x, float beta, float *y,
                    int incy, int from_end);
/* y[j] = beta·y[j] + alpha·Σ_k x[k]·W[k·ldw + j] for j < N, K >= 1, x and y
 * contiguous: the product of a row vector with W as stored (one sample's
 * recurrent step backward, dh += dhp W_hh); beta == 0 never reads y. Same
 * condition of use. The sums over k run in two interleaved halves (even and
 * odd k), then added: not the BLAS's order. from_end 1 takes W's blocks of
 * 128 columns last to first, with the same results (see sa_gemv_avx512). */
void sa_vecmat_avx512(int K, int N, float alpha, const float *x, const float *W, int ldw, float beta, float *y,
                      int from_end);
/* Rows of a product of `whole_M` rows, computed in the form the whole one
 * would take, so that a product split by rows gives the unsplit one's bits
 * (recurrent loops split by samples). Same condition of use. */
void sa_gemm_avx512_rows(int whole_M, int transA, int transB, int M, int N, int K, float alpha, const float *A,
                         int lda, const float *B, int ldb, float beta, float *C, int ldc);
/* The same product split over up to `threads` threads (sa_pool_run): by
 * columns of C in 64-column panels, or by rows for C under 128 columns and,
 * in the packed form, for C with more rows than columns. */
void sa_gemm_avx512_mt(int threads, int transA, int transB, int M, int N, int K, float alpha, const float *A,
                       int lda, const float *B, int ldb, float beta, float *C, int ldc);
/* A product whose op(B) is packed once and used many times (a recurrent
 * layer's W_hh, once per call instead of once per step): sa_gemm_bpack_use
 * says whether it pays (our kernel does the products, more than one row,
 * and the packed form would be chosen); sa_gemm_bpack packs op(B) (K, N)
 * into Bpk of sa_gemm_bpack_floats(N, K) floats (N padded to whole blocks);
 * sa_gemm_bpacked (gemm.c) then computes C = alpha·op(A)·op(B) + beta·C,
 * split over the model's threads by columns like sa_gemm, with bits that do
 * not depend on the split. B, transB, ldb still describe B as stored: the
 * fallback when no packing space for A can be had. _rows is one thread's
 * product on M rows (a loop split by samples); _mt the split one. */
typedef struct sa_gemm_bp {
    int transA, transB, N, K, lda, ldb, ldc;
    float alpha, beta;
    const float *Bpk, *B;
} sa_gemm_bp;
size_t sa_gemm_bpack_floats(int N, int K);
int sa_gemm_bpack_use(int transB, int M, int N, int K);
void sa_gemm_bpack(int transB, int N, int K, const float *B, int ldb, float *Bpk);
void sa_gemm_bpacked(const sa_gemm_bp *p, int M, const float *A, float *C);
void sa_gemm_bpacked_rows(const sa_gemm_bp *p, int M, const float *A, float *C);
void sa_gemm_bpacked_mt(int threads, const sa_gemm_bp *p, int M, const float *A, float *C);
/* Runs fn(ctx, 0 .. parts−1) and returns when all are done: part 0 on the
 * caller, the others on the pool's workers (kernels/gemm_pool.c, started on
 * first use, at most 15); on the caller alone when another thread's job
 * holds the pool or a worker cannot be started. */
void sa_pool_run(int parts, void (*fn)(void *ctx, int part), void *ctx);
#define SA_POOL_MAX 16 /* parts of one job, the caller's included */
/* @return how many parts (1 .. min(rows, SA_POOL_MAX)) element-wise work on
 * `rows` rows of `floats` values in all should be split into: the model's
 * threads when this model call has already warmed the pool (its workers are
 * spinning, so a job costs a few µs) and the work is large enough to pay
 * for it, else 1. */
int sa_rows_parts(int rows, double floats);
/* Part `part` of `parts` equal ranges of n items: [*lo, *hi). */
static inline void sa_part_range(int32_t n, int part, int parts, int32_t *lo, int32_t *hi)
{
    *lo = (int32_t)((int64_t)n * part / parts);
    *hi = (int32_t)((int64_t)n * (part + 1) / parts);
}
/* @return how many parts (1 .. min(threads, SA_POOL_MAX)) a loop of `steps`
 * steps over `rows` independent rows (a recurrent layer's time loop over its
 * samples), each step a product of `step_macs` multiply-adds, should be split
 * into, each part running the whole loop on its rows with
 * sa_gemm_avx512_rows. More than 1 only inside a model call allowed to split
 * (sa_blas_scope_split, which warms the pool), on the model's threads, with
 * enough work in all and 64 rows or more per part; the caller then reports
 * the loop's time with sa_blas_scope_large. */
int sa_loop_parts(int rows, double step_macs, int steps);
/* Between sa_pool_warm(threads) and sa_pool_cool() (counted, any thread) the
 * workers spin waiting for jobs instead of sleeping; warm also starts
 * threads − 1 of them. Called around model calls that may split products. */
void sa_pool_warm(int threads);
void sa_pool_cool(void);

/* In-place softmax over n values; n == 0 is a no-op (kernels/vmath.c). */
void sa_softmax(float *x, int32_t n);
/* y[i] = exp / sigmoid / tanh of x[i] for n values, vectorised, about 2 ulp
 * (kernels/vmath.c); y may be x. exp saturates at exp(88) and gives 0 below
 * −87; NaN stays NaN. */
void sa_vexp(float *y, const float *x, size_t n);
void sa_vsigmoid(float *y, const float *x, size_t n);
void sa_vtanh(float *y, const float *x, size_t n);
/* The same three in AVX-512 intrinsics (kernels/vmath_avx512.c), which the
 * functions above call when sa_vmath_avx512_ok() is 1: the CPU has AVX-512F
 * (checked once) and they are enabled. sa_vmath_avx512_enable(0) turns them
 * off, (1) back on where the CPU allows, and returns the new
 * sa_vmath_avx512_ok(). For tests and benchmarks. */
void sa_vexp_avx512(float *y, const float *x, size_t n);
void sa_vsigmoid_avx512(float *y, const float *x, size_t n);
void sa_vtanh_avx512(float *y, const float *x, size_t n);
int sa_vmath_avx512_ok(void);
int sa_vmath_avx512_enable(int enable);
/* max (−inf for n = 0), Σ x, Σ a·b over n values, vectorised: the additions
 * are grouped in lanes, not left to right (kernels/vmath.c). */
float sa_vmax(const float *x, size_t n);
float sa_vsum(const float *x, size_t n);
float sa_vdot(const float *a, const float *b, size_t n);
/* y (N) += xᵀ Wt for x (K) and Wt (K, N) row-major: one sample's product with
 * a weight matrix stored transposed (kernels/vmath.c). */
void sa_vec_mat(int32_t K, int32_t N, const float *x, const float *Wt, float *y);

/* Attention core (kernels/attention.c), shared by sa_mha and sa_sdpa. A view
 * of a [B, T, *] operand: element (b, t, f) of head h (heads hw wide) is at
 * data[b*bs + t*ld + h*hw + f]. */
typedef struct sa_attn_view { float *data; size_t bs; int32_t ld; } sa_attn_view;
typedef struct sa_attn_dims {
    int32_t B, H, Tq, Tk, dk, dv; /* dk: head width of Q, K; dv: of V, O */
    float scale;
    int32_t causal, qoff;         /* causal: query row i sees keys j <= qoff + i */
    const int32_t *klen;          /* NULL or B key lengths: keys j >= klen[b] hidden */
} sa_attn_dims;
/* P (B, H, Tq, Tk) = softmax(scale Q Kᵀ) over the visible keys (0 elsewhere;
 * an all-hidden row is all 0); O = P V. */
void sa_attn_forward(const sa_attn_dims *a, sa_attn_view Q, sa_attn_view K, sa_attn_view V, float *P,
                     sa_attn_view O);
/* dQ, dK, dV (each skipped when its data is NULL) = beta · themselves + the
 * gradient: beta 1 accumulates (self-attention passes one node three times),
 * beta 0 overwrites, old contents ignored (every element is written); dS is
 * (Tq, Tk) scratch. */
void sa_attn_backward(const sa_attn_dims *a, sa_attn_view Q, sa_attn_view K, sa_attn_view V, const float *P,
                      sa_attn_view dO, float *dS, sa_attn_view dQ, sa_attn_view dK, sa_attn_view dV, float beta);

#endif
