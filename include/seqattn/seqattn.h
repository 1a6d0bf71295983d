/*
 * seqattn.h — the public, versioned C API of seqattn.
 *
 * seqattn builds sequence models with attention (GRU, attention pooling, dense
 * layers, losses, ...) as graphs of composable nodes, then trains and runs them
 * on the CPU over CBLAS, forward and backward.
 *
 * Conventions that hold for every function below:
 *  - Tensors are float32, row-major, batch-first: every value is [B, T, F].
 *    A per-sequence vector is [B, 1, F]. Attention weights are [B, heads, Tq, Tk].
 *    F is fixed when the graph is built; B and T are chosen per call.
 *  - Every call that can fail returns sa_status (SA_OK == 0). Nothing in the
 *    library aborts, exits or prints. sa_last_error() gives a message for the
 *    last failure in this thread; sa_model_errmsg()/sa_graph_errmsg() give the
 *    last failure recorded on that handle.
 *  - Ownership is written on every pointer: "borrowed" (the library reads it
 *    during the call only), "copied" (the library keeps its own copy), or
 *    "owned by the model" (valid until the model is destroyed).
 *  - Destroy functions accept NULL.
 *  - Option structs start with struct_size and have *_default() initialisers
 *    so fields can be appended without breaking the ABI.
 *
 * The header compiles as C99 and as C++.
 */
#ifndef SEQATTN_H
#define SEQATTN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  if defined(SA_BUILDING_LIBRARY)
#    define SA_API __declspec(dllexport)
#  else
#    define SA_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define SA_API __attribute__((visibility("default")))
#else
#  define SA_API
#endif

/* ------------------------------------------------------------------ version */

#define SA_VERSION_MAJOR 0
#define SA_VERSION_MINOR 1
#define SA_VERSION_PATCH 0
/** MAJOR*10000 + MINOR*100 + PATCH, comparable with sa_version_number(). */
#define SA_VERSION_NUMBER (SA_VERSION_MAJOR * 10000 + SA_VERSION_MINOR * 100 + SA_VERSION_PATCH)

/** @return the version number of the library loaded at run time. */
SA_API unsigned sa_version_number(void);
/** @return the version as "MAJOR.MINOR.PATCH"; a static string, never NULL. */
SA_API const char *sa_version_string(void);

/* ------------------------------------------------------------------- status */

/** Status codes. The numeric values are frozen: new codes are only appended. */
typedef enum sa_status {
    SA_OK = 0,
    SA_ERR_INVALID_ARG = 1,  /**< NULL pointer, unknown enum value, bad name or option value */
    SA_ERR_BAD_NODE = 2,     /**< node id not in the graph, or of the wrong kind */
    SA_ERR_SHAPE = 3,        /**< shapes do not agree, or a size (B, T, F, units, hidden,
                                  a buffer's cap) is outside its range */
    SA_ERR_OVERFLOW = 4,     /**< a size computation would overflow */
    SA_ERR_NO_MEMORY = 5,    /**< an allocation failed */
    SA_ERR_STATE = 6,        /**< call out of order (e.g. backward before forward) */
    SA_ERR_NOT_FOUND = 7,    /**< no parameter / input of that name */
    SA_ERR_NUMERIC = 8,      /**< NaN or Inf in data given to the library */
    SA_ERR_UNSUPPORTED = 9,  /**< valid request that this build cannot do */
    SA_ERR_IO = 10,          /**< file could not be read or written */
    SA_ERR_FORMAT = 11,      /**< file content is malformed */
    SA_ERR_INTERNAL = 12     /**< a bug in seqattn: please report it */
} sa_status;

/* Size limits: B, T and every feature size are at most 2^24, B*T at most
 * 2^31 - 1, hidden at most 2^20, num_layers*directions at most 16 (9 with
 * LSTM peepholes). */

/** @return a short static name for a status ("SA_ERR_SHAPE"), never NULL. */
SA_API const char *sa_status_str(sa_status s);

/** @return the message of the last failed call in this thread ("" if none).
 *  The string is owned by the library and valid until the next seqattn call
 *  in this thread. */
SA_API const char *sa_last_error(void);

/* -------------------------------------------------------------------- graph */

/** A graph under construction: architecture only, no numbers. Opaque. */
typedef struct sa_graph sa_graph;

/** A node of a graph, identified by a small integer (ctypes-friendly). Each
 *  node has one output value [B, T, F]. */
typedef int32_t sa_node;
/** Returned by a builder call that failed; passing it on is harmless. */
#define SA_NODE_INVALID ((sa_node)-1)
/** "No node" for optional inputs (e.g. no initial state). */
#define SA_NODE_NONE ((sa_node)-2)

/** @return a new empty graph, or NULL when out of memory. Free with sa_graph_free(). */
SA_API sa_graph *sa_graph_new(void);
/** Frees the graph. Models created from it stay valid (they keep a copy). NULL is fine. */
SA_API void sa_graph_free(sa_graph *g);

/** Builder calls are "sticky": the first failure is recorded in the graph and
 *  returns SA_NODE_INVALID; later calls that receive an invalid node do nothing
 *  and return SA_NODE_INVALID. sa_graph_status() and sa_model_create() report
 *  that first failure.
 *  @return SA_OK, or the status of the first failed builder call. */
SA_API sa_status sa_graph_status(const sa_graph *g);
/** @return the message of the first builder failure ("" if none); owned by the graph. */
SA_API const char *sa_graph_errmsg(const sa_graph *g);

/** @return number of nodes in the graph (ids are 0 .. count-1); 0 for NULL. */
SA_API int32_t sa_graph_node_count(const sa_graph *g);
/** @return the feature size F of a node, or -1 for an invalid node. */
SA_API int32_t sa_graph_node_features(const sa_graph *g, sa_node n);

/** Renames a layer node. Parameter names are "<node name>.<param>", e.g.
 *  "gru.weight_ih_l0". Default names are "<kind><k>" ("gru0", "dense1").
 *  @param name copied; 1..63 chars: parts of [A-Za-z0-9_] joined by single dots
 *         ("encoder", "layers.0.self_attn"), unique in the graph.
 *  @return the node itself, or SA_NODE_INVALID (sticky error). */
SA_API sa_node sa_name(sa_graph *g, sa_node n, const char *name);

/** An input of the graph: a sequence [B, T, features] given with sa_set_input().
 *  @param name copied; used by sa_model_find_input(). */
SA_API sa_node sa_input(sa_graph *g, const char *name, int32_t features);

/** Fully connected layer on the last axis: y = x Wᵀ + b.
 *  Parameters (PyTorch nn.Linear layout): weight (units, F), bias (units).
 *  Init: U(-1/√F, 1/√F) for both, as PyTorch. Output [B, T, units]. */
SA_API sa_node sa_dense(sa_graph *g, sa_node x, int32_t units);

/** Element-wise activations. Output has the input's shape. */
typedef enum sa_activation {
    SA_ACT_TANH = 0,
    SA_ACT_SIGMOID = 1,
    SA_ACT_RELU = 2,
    SA_ACT_GELU = 3    /**< x Φ(x) = x (1 + erf(x/√2)) / 2: torch's exact GELU (approximate='none') */
} sa_activation;
SA_API sa_node sa_act(sa_graph *g, sa_node x, sa_activation kind);

/** Layer normalisation over the last axis, torch nn.LayerNorm(F, eps) numerics:
 *  y = (x - mean) / √(var + eps) ⊙ weight + bias, mean and biased variance
 *  over the F features of each step. Parameters weight (F) init 1, bias (F)
 *  init 0. Output has the input's shape; each step (padded ones too) is
 *  normalised on its own, so it steps as is (step execution).
 *  @param eps finite and > 0 (else SA_ERR_INVALID_ARG); torch's default is 1e-5. */
SA_API sa_node sa_layer_norm(sa_graph *g, sa_node x, float eps);

/** Inverted dropout (torch nn.Dropout(p)): in a SA_TRAIN forward each element
 *  is zeroed with probability p and the others are scaled by 1/(1-p); SA_INFER
 *  and step execution are the identity. The mask is a pure function of the
 *  model seed, the node's name and the training-forward index (see
 *  sa_model_set_train_index()): it differs between dropout nodes and between
 *  forwards, and the same seed gives the same masks on every run. Backward
 *  uses the mask of the last forward.
 *  @param p in [0, 1) (else SA_ERR_INVALID_ARG); p = 0 is the identity. */
SA_API sa_node sa_dropout(sa_graph *g, sa_node x, float p);

/** Adds the fixed sinusoidal encoding of Vaswani et al.: y[b, t] = x[b, t] + PE[t],
 *  PE[t, 2i] = sin(t / 10000^(2i/F)), PE[t, 2i+1] = cos(t / 10000^(2i/F))
 *  (odd F: the last feature is a sine). No parameters. Padded steps get their
 *  encoding too (a function of the position alone, as in torch). In step
 *  execution t is the step index since sa_step_begin(), so steps see the
 *  positions of the full-sequence forward. */
SA_API sa_node sa_posenc_sinusoidal(sa_graph *g, sa_node x);

/** Adds a learned positional embedding: y[b, t] = x[b, t] + weight[t].
 *  Parameter weight (max_len, F), init N(0, 1) as nn.Embedding. Positions as
 *  sa_posenc_sinusoidal(); T > max_len at run time, or a step index >= max_len
 *  in step execution, gives SA_ERR_SHAPE.
 *  @param max_len 1..2^24 (else SA_ERR_SHAPE). */
SA_API sa_node sa_posenc_learned(sa_graph *g, sa_node x, int32_t max_len);

/** Recurrent layer description. Start from SA_RNN_DESC_INIT or
 *  sa_rnn_desc_default(); set hidden at least. */
typedef struct sa_rnn_desc {
    size_t struct_size;        /**< sizeof(sa_rnn_desc) */
    int32_t hidden;            /**< H, hidden units per direction (required, > 0) */
    int32_t num_layers;        /**< stacked layers, default 1 */
    int32_t bidirectional;     /**< 0 or 1, default 0 */
    int32_t return_sequences;  /**< 1: output [B, T, D*H]; 0: last state [B, 1, D*H] */
    sa_node initial_state;     /**< SA_NODE_NONE, or a node [B, 1, L*D*H] holding h0
                                    in PyTorch's (L*D, B, H) order, per sample */
    sa_node initial_cell;      /**< LSTM only: SA_NODE_NONE or c0, laid out as h0 */
    int32_t peephole;          /**< LSTM only: 1 adds peephole weights w_ci, w_cf, w_co */
} sa_rnn_desc;
#define SA_RNN_DESC_INIT sizeof(sa_rnn_desc), 0, 1, 0, 1, SA_NODE_NONE, SA_NODE_NONE, 0
/** @return a description with the defaults above and hidden = 0. */
SA_API sa_rnn_desc sa_rnn_desc_default(void);

/** GRU with PyTorch numerics: r, z, n gates with b_hn inside r ⊙ (W_hn h + b_hn).
 *  Parameters per layer k and direction: weight_ih_l{k}[_reverse] (3H, I_k),
 *  weight_hh_l{k} (3H, H), bias_ih_l{k} (3H), bias_hh_l{k} (3H); gate order r, z, n.
 *  Init U(-1/√H, 1/√H). Honors per-sample lengths (as pack_padded_sequence):
 *  outputs at padded steps are 0, the reverse direction starts at each sample's
 *  last valid step, the last state is taken at each sample's length.
 *  With return_sequences = 0 the output is [B, 1, D*H]: the forward direction's
 *  last state then the reverse direction's final state (PyTorch h_n of the top layer). */
SA_API sa_node sa_gru(sa_graph *g, sa_node x, const sa_rnn_desc *desc);

/** LSTM with PyTorch numerics and layout: gates i, f, g, o; per layer k and
 *  direction weight_ih_l{k}[_reverse] (4H, I_k), weight_hh_l{k} (4H, H),
 *  bias_ih_l{k} (4H), bias_hh_l{k} (4H); init U(-1/√H, 1/√H). With
 *  desc->peephole, also weight_ci_l{k}, weight_cf_l{k}, weight_co_l{k} (H):
 *  i and f see w ⊙ c_{t-1}, o sees w ⊙ c_t. Lengths, directions and outputs as sa_gru(). */
SA_API sa_node sa_lstm(sa_graph *g, sa_node x, const sa_rnn_desc *desc);

/** The final hidden state of every layer and direction of a recurrent node:
 *  [B, 1, L*D*H] in PyTorch's h_n order. Usable as another RNN's initial_state.
 *  @return the state node (asking twice gives the same node). */
SA_API sa_node sa_rnn_final_state(sa_graph *g, sa_node rnn);
/** The final cell state c_n of an LSTM node, laid out as sa_rnn_final_state(). */
SA_API sa_node sa_rnn_final_cell(sa_graph *g, sa_node rnn);

/** Scoring function of sa_attention_pool(). */
typedef enum sa_score {
    SA_SCORE_ADDITIVE = 0, /**< e_t = vᵀ tanh(W h_t + b); W (F, F), b (F), v (F) */
    SA_SCORE_TANH = 1,     /**< e_t = tanh(wᵀ h_t + b); weight (1, F), bias (1) */
    SA_SCORE_LINEAR = 2    /**< e_t = wᵀ h_t + b;        weight (1, F), bias (1) */
} sa_score;

/** SimpleAttention pooling over time: α = softmax over the valid steps of e_t,
 *  context = Σ_t α_t h_t. Output [B, 1, F]. α is kept for sa_get_attention()
 *  as [B, 1, 1, T] (0 on padded steps). Init as nn.Linear; v ~ U(-1/√F, 1/√F). */
SA_API sa_node sa_attention_pool(sa_graph *g, sa_node h, sa_score score);

/** Mean over the valid time steps: [B, T, F] -> [B, 1, F]. */
SA_API sa_node sa_mean_time(sa_graph *g, sa_node x);
/** The last valid step of each sample: [B, T, F] -> [B, 1, F]. */
SA_API sa_node sa_last_step(sa_graph *g, sa_node x);
/** Concatenation on features of n nodes with the same B and T.
 *  @param xs borrowed array of n node ids (2 <= n <= 16). */
SA_API sa_node sa_concat(sa_graph *g, int32_t n, const sa_node *xs);

/** Multi-head attention description. Start from SA_MHA_DESC_INIT or sa_mha_desc_default(). */
typedef struct sa_mha_desc {
    size_t struct_size;  /**< sizeof(sa_mha_desc) */
    int32_t embed_dim;   /**< E (required): the query's feature size; E % num_heads == 0 */
    int32_t num_heads;   /**< default 1 */
    int32_t causal;      /**< 1: query step i sees key steps j <= i only (top-left aligned,
                              as torch's is_causal); in step execution i is the step index */
    int32_t bias;        /**< 1 (default): projection biases */
} sa_mha_desc;
#define SA_MHA_DESC_INIT sizeof(sa_mha_desc), 0, 1, 0, 1
SA_API sa_mha_desc sa_mha_desc_default(void);

/** Multi-head attention with torch.nn.MultiheadAttention numerics and layout:
 *  softmax(Q Kᵀ/√d_head + mask) V per head, then the output projection.
 *  query [B, Tq, E], key [B, Tk, kdim], value [B, Tk, vdim] (self-attention:
 *  pass the same node three times). Output [B, Tq, E], with the query's lengths.
 *  Parameters: in_proj_weight (3E, E) when kdim == vdim == E, otherwise
 *  q_proj_weight (E, E), k_proj_weight (E, kdim), v_proj_weight (E, vdim);
 *  in_proj_bias (3E); out_proj.weight (E, E); out_proj.bias (E). Init as torch
 *  (xavier-uniform projections, zero biases).
 *  Keys past each sample's key length are masked (key padding); a query row
 *  with no visible key gives a zero output and zero weights, never NaN.
 *  Keeps the weights for sa_get_attention(): [B, heads, Tq, Tk]. */
SA_API sa_node sa_mha(sa_graph *g, sa_node query, sa_node key, sa_node value, const sa_mha_desc *desc);

/** Scaled dot-product attention without projections, one head:
 *  softmax(Q Kᵀ/√F_q + mask) V. q [B, Tq, F], k [B, Tk, F], v [B, Tk, Fv];
 *  output [B, Tq, Fv]. Masks and kept weights as sa_mha(). */
SA_API sa_node sa_sdpa(sa_graph *g, sa_node q, sa_node k, sa_node v, int32_t causal);

/** Steps [start, start + count) of a sequence: [B, T, F] -> [B, count, F].
 *  Needs start + count <= T at run time (else sa_forward gives SA_ERR_SHAPE).
 *  Lengths are clipped to the window: max(1, min(len - start, count)), so a
 *  sample whose valid steps all lie before start keeps one step (lengths are
 *  never 0), which holds x's padded step at start. Values are copied as they
 *  are, padded steps included. Cannot be stepped (sa_step_begin). */
SA_API sa_node sa_slice_time(sa_graph *g, sa_node x, int32_t start, int32_t count);
/** Features [start, start + count) of a value: [B, T, F] -> [B, T, count].
 *  E.g. the top layer's part of an RNN's final states. */
SA_API sa_node sa_slice_features(sa_graph *g, sa_node x, int32_t start, int32_t count);
/** Repeats a per-sequence vector over the time of another node:
 *  x [B, 1, F], like [B, T, *] -> [B, T, F] with like's lengths; padded steps
 *  of the output are 0. */
SA_API sa_node sa_repeat_time(sa_graph *g, sa_node x, sa_node like);
/** Element-wise sum of two values of the same shape (residual connections). */
SA_API sa_node sa_add(sa_graph *g, sa_node a, sa_node b);

/** Pre-norm transformer encoder block. Start from SA_TRANSFORMER_DESC_INIT
 *  or sa_transformer_desc_default() and set ff_dim. */
typedef struct sa_transformer_desc {
    size_t struct_size;        /**< sizeof(sa_transformer_desc) */
    int32_t num_heads;         /**< default 1; the input's F must be divisible by it */
    int32_t ff_dim;            /**< hidden size of the feed-forward part (required) */
    int32_t causal;            /**< 1: causal self-attention (see sa_mha_desc) */
    sa_activation activation;  /**< SA_ACT_RELU (torch's default) or SA_ACT_GELU */
    float dropout;             /**< 0 .. <1, at the three places torch puts it (not on
                                    the attention weights); default 0 */
    float norm_eps;            /**< layer-norm eps, default 1e-5 */
    const char *name;          /**< copied; NULL: "transformer<k>". Prefix of the
                                    sub-node names, so at most 52 characters */
} sa_transformer_desc;
#define SA_TRANSFORMER_DESC_INIT sizeof(sa_transformer_desc), 1, 0, 0, SA_ACT_RELU, 0.0f, 1e-5f, NULL
SA_API sa_transformer_desc sa_transformer_desc_default(void);

/** torch.nn.TransformerEncoderLayer(norm_first=True, batch_first=True), built
 *  from nodes: x + dropout1(self_attn(norm1(x))), then
 *  x + dropout2(linear2(dropout(activation(linear1(norm2(x)))))).
 *  Sub-nodes are named "<name>.norm1", "<name>.self_attn", "<name>.linear1", ...,
 *  so parameters carry torch's state_dict names ("<name>.self_attn.in_proj_weight").
 *  x [B, T, E] -> [B, T, E]; key padding from x's lengths. In step execution a
 *  causal block keeps a key/value cache (O(t) work for step t).
 *  @return the block's output node. */
SA_API sa_node sa_transformer_block(sa_graph *g, sa_node x, const sa_transformer_desc *desc);

/* Note on bidirectional states: an RNN's final states [B, 1, L*2*H] hold, per
 * layer, the forward then the reverse state; read as [B, 1, L*(2H)] they are
 * exactly torch's cat(h_n[0::2], h_n[1::2], dim=-1), so they initialise an
 * L-layer decoder of hidden 2H directly, with no reshape node. */

/** Mean squared error between pred and target of the same shape, averaged over
 *  all valid elements (padded steps of pred excluded). Output [1, 1, 1]. */
SA_API sa_node sa_loss_mse(sa_graph *g, sa_node pred, sa_node target);
/** Mean absolute error, same conventions as sa_loss_mse(). The gradient at
 *  pred == target is 0. */
SA_API sa_node sa_loss_mae(sa_graph *g, sa_node pred, sa_node target);

/* -------------------------------------------------------------------- model */

/** A graph with its parameters, gradients and activation memory. Opaque.
 *  A model is not thread-safe: use one model per thread. */
typedef struct sa_model sa_model;

typedef struct sa_model_options {
    size_t struct_size;  /**< sizeof(sa_model_options) */
    uint64_t seed;       /**< initialisation seed; same seed, same graph -> same weights
                              (and same dropout masks, see sa_model_set_train_index) */
} sa_model_options;
#define SA_MODEL_OPTIONS_INIT sizeof(sa_model_options), 42u
SA_API sa_model_options sa_model_options_default(void);

/** Validates the graph (first builder error, shapes) and allocates parameters.
 *  The model keeps its own copy of the graph: the graph may be freed after.
 *  @param opts borrowed, NULL for defaults.
 *  @param out receives the model (caller owns it) or NULL on failure.
 *  @return SA_OK; the graph's first builder error; SA_ERR_INVALID_ARG (NULL
 *  argument, empty graph, struct_size too small); SA_ERR_OVERFLOW (parameters
 *  over 4 TiB); SA_ERR_NO_MEMORY. Message in sa_last_error(). */
SA_API sa_status sa_model_create(const sa_graph *g, const sa_model_options *opts,
                                 sa_model **out);
/** Frees the model and everything it owns. NULL is fine. */
SA_API void sa_model_destroy(sa_model *m);
/** @return the message of the last failure on this model ("" if none); owned by the model. */
SA_API const char *sa_model_errmsg(const sa_model *m);

/** What a model holds, in bytes, by kind (sa_model_memory()). Activation
 *  figures are those of the last forward's plan (0 before the first). */
typedef struct sa_memory_info {
    size_t struct_size; /**< set to sizeof(sa_memory_info) before the call */
    size_t params;      /**< parameter values and gradients */
    size_t inputs;      /**< the model's copies of input data and lengths */
    size_t values;      /**< every node's output */
    size_t grads;       /**< every node's gradient (training forwards; 0 in inference) */
    size_t workspace;   /**< layers' workspaces: what they keep from forward for
                             backward (gates, attention weights, ...); smaller in
                             inference. values + workspace of a training forward
                             is its activation memory. */
    size_t arena;       /**< allocated for values + grads + workspace + scratch: the
                             largest plan so far (the arena grows, never shrinks) */
    size_t step_state;  /**< recurrent states and key/value caches of step execution */
    size_t scratch;     /**< temporaries of one layer call (e.g. the gradients of a
                             recurrent layer's projections), one region shared by all
                             layers, as large as the largest layer's. Filled only
                             when struct_size covers it: a caller compiled against
                             an earlier header, whose struct ends at step_state,
                             gets every other field. */
} sa_memory_info;
#define SA_MEMORY_INFO_INIT sizeof(sa_memory_info), 0, 0, 0, 0, 0, 0, 0, 0

/** Fills *out with the model's memory use.
 *  @return SA_OK; SA_ERR_INVALID_ARG (NULL, out->struct_size smaller than the
 *  struct up to step_state). */
SA_API sa_status sa_model_memory(const sa_model *m, sa_memory_info *out);

/** Sets how many threads this model's large matrix products use.
 *  n = 0 (the default): the count the BLAS has when each call starts
 *  (OPENBLAS_NUM_THREADS, openblas_set_num_threads()). n >= 1: n threads.
 *  Either way, products too small to gain from a second thread (under 2^23
 *  multiply-adds, 2^25 on seqattn's kernel below; matrix-vector products
 *  under 2^17, all of them on seqattn's kernel) run on one: split over
 *  threads they were slower, e.g. a GRU(64) training step at batch 64 took
 *  1.7x as long on 2 threads as on 1 (docs/performance.md).
 *  Who runs the large products: OpenBLAS, whose count is a process-wide
 *  setting that seqattn changes only during its own calls (sa_forward,
 *  sa_backward, sa_backward_from, sa_step) and restores before they return
 *  (BLAS calls that other threads make meanwhile run with seqattn's count);
 *  or, on an AVX-512 CPU where OpenBLAS runs only AVX2 kernels, seqattn's own
 *  kernel and its pool of n - 1 worker threads (at most 15), started on
 *  first use and kept until the process ends. While such a call runs the
 *  workers spin between products (their CPU time counts even when they have
 *  no work) and OpenBLAS stays on one thread; between calls they sleep.
 *  Because the spinning slows the calling thread, each kind of call
 *  (forward, backward, step) splits products only if its previous call spent
 *  at least 30 % of its (one-thread) time in them; the first call of each
 *  kind always may. Once
 *  the pool runs in a call, a recurrent layer's per-step cell work (2^15
 *  gate values or more) is split over the same workers by samples. A
 *  recurrent layer with 64 samples or more per thread (and 2^25
 *  multiply-adds or more in its time loop) instead splits its whole time
 *  loop by samples, in chunks that free threads take in turn (forward, and
 *  backward without peepholes).
 *  Other element-wise work runs on the calling thread. Nothing is
 *  oversubscribed, and on this path results do not depend on n (each output
 *  element is computed the same way whichever thread computes it). The
 *  kernel's largest products pack their
 *  operands into a per-thread buffer (at most 4.2 MB per thread, kept until
 *  the thread exits).
 *  @return SA_OK; SA_ERR_INVALID_ARG (NULL, n outside 0..1024);
 *  SA_ERR_UNSUPPORTED (n >= 1 and the library runs on a BLAS other than
 *  OpenBLAS, whose thread count it cannot set). */
SA_API sa_status sa_model_set_threads(sa_model *m, int n);

/** Finds an input node by name. @return SA_OK or SA_ERR_NOT_FOUND. */
SA_API sa_status sa_model_find_input(const sa_model *m, const char *name, sa_node *out);
/** Finds any node by name, e.g. "blk.self_attn" inside a transformer block.
 *  @return SA_OK, SA_ERR_INVALID_ARG (NULL), SA_ERR_NOT_FOUND. */
SA_API sa_status sa_model_find_node(const sa_model *m, const char *name, sa_node *out);

/** Sets the value of an input node for the next forward pass.
 *  @param data  borrowed, copied: B*T*F floats, [B, T, F] row-major. Must be finite.
 *  @param lengths borrowed, copied: NULL (all samples have T steps) or B values
 *               in 1..T; they travel with the sequence through the graph.
 *  A rejected call changes nothing: the previous input and forward stay valid.
 *  @return SA_OK; SA_ERR_BAD_NODE (not an input node); SA_ERR_INVALID_ARG (NULL
 *  data); SA_ERR_SHAPE (B or T outside 1..2^24, a length outside 1..T);
 *  SA_ERR_OVERFLOW (B*T > 2^31 - 1 or B*T*F too large); SA_ERR_NUMERIC (NaN/Inf);
 *  SA_ERR_NO_MEMORY. */
SA_API sa_status sa_set_input(sa_model *m, sa_node input, const float *data,
                              int32_t B, int32_t T, const int32_t *lengths);

typedef enum sa_mode {
    SA_INFER = 0, /**< inference: sa_backward() is not allowed after it */
    SA_TRAIN = 1  /**< training: keeps what backward needs */
} sa_mode;

/** Runs the whole graph on the current inputs. All inputs must share B.
 *  Activation memory grows on demand (never during the time loop).
 *  @return SA_OK; SA_ERR_INVALID_ARG (NULL model, bad mode); SA_ERR_STATE (an
 *  input not set); SA_ERR_SHAPE (inputs with different B, or values that must
 *  agree at run time do not: T of a loss's pred and target, of concat inputs,
 *  an initial state with T != 1); SA_ERR_OVERFLOW; SA_ERR_NO_MEMORY. */
SA_API sa_status sa_forward(sa_model *m, sa_mode mode);

/** Training randomness (dropout masks) is a pure function of the model seed,
 *  the node's name and the train index: the number of SA_TRAIN forwards this
 *  model ran before (0 for the first; a forward rejected before running takes
 *  none). Getting the index and setting it back replays a forward's masks
 *  (gradient checks); setting it on a fresh model with the same seed resumes
 *  a training run with the masks it would have drawn. Setting it does not
 *  change the masks kept for the next sa_backward().
 *  @return SA_OK, SA_ERR_INVALID_ARG (NULL). */
SA_API sa_status sa_model_get_train_index(const sa_model *m, uint64_t *index);
SA_API sa_status sa_model_set_train_index(sa_model *m, uint64_t index);

/** Back-propagates from a loss node (output [1,1,1], seed gradient 1).
 *  Parameter gradients accumulate (+=) until sa_zero_grad(); node gradients
 *  (sa_get_grad) are those of this call only.
 *  @return SA_OK; SA_ERR_INVALID_ARG (NULL model); SA_ERR_BAD_NODE; SA_ERR_STATE
 *  (no SA_TRAIN forward since the last input change); SA_ERR_SHAPE (the node is
 *  not a scalar). A rejected call leaves the previous node gradients. */
SA_API sa_status sa_backward(sa_model *m, sa_node loss);

/** Back-propagates from gradients supplied for n output nodes.
 *  @param nodes borrowed, n node ids.
 *  @param grads borrowed, n arrays each shaped like that node's output; finite.
 *  @return as sa_backward(), plus SA_ERR_INVALID_ARG (n < 1, NULL arrays) and
 *  SA_ERR_NUMERIC (a non-finite gradient). */
SA_API sa_status sa_backward_from(sa_model *m, int32_t n, const sa_node *nodes,
                                  const float *const *grads);

/** Sets all parameter gradients to zero. */
SA_API sa_status sa_zero_grad(sa_model *m);

/** Shape of a node's value after the last forward.
 *  @param shape receives {B, T, F}. */
SA_API sa_status sa_node_shape(const sa_model *m, sa_node n, int32_t shape[3]);

/** Copies a node's output value after forward.
 *  @param dst caller's buffer of cap floats; NULL with cap 0 to query the shape only.
 *  @param shape NULL or receives {B, T, F}.
 *  @return SA_OK, SA_ERR_SHAPE when cap is too small, SA_ERR_STATE before forward. */
SA_API sa_status sa_get_output(const sa_model *m, sa_node n, float *dst, size_t cap,
                               int32_t shape[3]);

/** Copies the gradient of the last backward with respect to a node's output
 *  (for an input node: the input gradient). Same conventions as sa_get_output(). */
SA_API sa_status sa_get_grad(const sa_model *m, sa_node n, float *dst, size_t cap,
                             int32_t shape[3]);

/** Copies the lengths of a node's sequence after forward: B values, each T
 *  when the sequence has no lengths.
 *  @param dst caller's buffer of cap int32 values (cap >= B).
 *  @return SA_OK, SA_ERR_INVALID_ARG (NULL dst), SA_ERR_SHAPE (cap < B), SA_ERR_STATE. */
SA_API sa_status sa_get_lengths(const sa_model *m, sa_node n, int32_t *dst, size_t cap);

typedef enum sa_heads {
    SA_HEADS_ALL = 0,  /**< [B, heads, Tq, Tk] */
    SA_HEADS_MEAN = 1  /**< [B, 1, Tq, Tk], averaged over heads */
} sa_heads;

/** Copies the attention weights kept by an attention node during the last forward.
 *  @param dst caller's buffer of cap floats, or NULL with cap 0 to query the shape.
 *  @param shape NULL or receives {B, heads, Tq, Tk}.
 *  @return SA_OK, SA_ERR_BAD_NODE (node has no attention), SA_ERR_INVALID_ARG (bad
 *  mode, NULL dst with cap > 0), SA_ERR_STATE (before forward), SA_ERR_SHAPE (cap too small). */
SA_API sa_status sa_get_attention(const sa_model *m, sa_node n, sa_heads mode,
                                  float *dst, size_t cap, int32_t shape[4]);

/* ------------------------------------------------------- step execution */

/** Stateful step execution, for autoregressive decoding and streaming.
 *  sa_step_begin() names the "stepped" inputs; every node that depends on one
 *  of them then runs one time step per sa_step() call, keeping its state
 *  (recurrent h and c, cached keys and values of causal self-attention) between
 *  calls. Nodes that depend on no stepped input (an encoder, cross-attention
 *  keys and values) run once, at the first sa_step() after sa_step_begin().
 *  Generating T steps costs T steps of work; outputs equal the full-sequence
 *  forward (tested). Inference only: sa_backward() is not allowed.
 *
 *  Supported on a stepped path: inputs, dense, activations, layer norm,
 *  dropout (the identity), positional encodings (position = step index),
 *  concat, add,
 *  slices of features, repeat_time (stepped through `like`), unidirectional GRU/LSTM, attention (sa_mha, sa_sdpa)
 *  whose keys/values are either not stepped or the same stepped sequence with
 *  a causal mask. Others (bidirectional RNNs, pooling over time, losses) give
 *  SA_ERR_UNSUPPORTED at sa_step_begin().
 *
 *  @param stepped borrowed: n input node ids (n >= 1).
 *  @return SA_OK, SA_ERR_INVALID_ARG, SA_ERR_BAD_NODE (not an input), SA_ERR_UNSUPPORTED. */
SA_API sa_status sa_step_begin(sa_model *m, int32_t n, const sa_node *stepped);

/** Runs one step. Stepped inputs must be set with T = 1 (no lengths) and the
 *  same B as the other inputs; other inputs are read at the first step only.
 *  Afterwards sa_get_output() of a stepped node gives this step [B, 1, F] and
 *  sa_get_attention() this step's weights [B, heads, 1, Tk].
 *  @return SA_OK, SA_ERR_STATE (no sa_step_begin, or a non-stepped input
 *  changed since the first step: call sa_step_begin again), SA_ERR_SHAPE, SA_ERR_NO_MEMORY. */
SA_API sa_status sa_step(sa_model *m);

/** @return the number of sa_step() calls since sa_step_begin() (the position
 *  of the next step), or -1 if the model is not in step execution. */
SA_API int32_t sa_step_position(const sa_model *m);

/* --------------------------------------------------------------- parameters */

typedef struct sa_param_info {
    const char *name;   /**< "gru0.weight_ih_l0"; owned by the model */
    int32_t ndim;       /**< 1 or 2 */
    int32_t shape[4];   /**< PyTorch shape, unused dims are 1 */
    size_t numel;       /**< number of floats */
    float *value;       /**< owned by the model; writable; valid until sa_model_destroy */
    float *grad;        /**< owned by the model; same lifetime */
} sa_param_info;

/** @return the number of parameter tensors (0 for a NULL model). */
SA_API int32_t sa_param_count(const sa_model *m);
/** Describes parameter i (0 <= i < sa_param_count()).
 *  @return SA_OK, SA_ERR_INVALID_ARG (NULL), SA_ERR_NOT_FOUND (i out of range). */
SA_API sa_status sa_param_get(const sa_model *m, int32_t i, sa_param_info *out);
/** Finds a parameter by name. @return SA_OK or SA_ERR_NOT_FOUND. */
SA_API sa_status sa_param_find(const sa_model *m, const char *name, sa_param_info *out);
/** All parameters and gradients are two contiguous vectors of *n floats, in
 *  sa_param_get() order. Pointers owned by the model, valid until destroyed. */
SA_API sa_status sa_params_flat(sa_model *m, float **values, float **grads, size_t *n);

/* ----------------------------------------------------------------- training */

/** An optimizer bound to one model. Opaque. */
typedef struct sa_optim sa_optim;

typedef enum sa_optim_kind {
    SA_OPTIM_SGD = 0,   /**< p -= lr * (g + wd p), with optional (heavy-ball) momentum */
    SA_OPTIM_ADAM = 1   /**< PyTorch torch.optim.Adam (L2 weight decay added to g) */
} sa_optim_kind;

typedef struct sa_optim_desc {
    size_t struct_size;   /**< sizeof(sa_optim_desc) */
    sa_optim_kind kind;
    float lr;             /**< learning rate > 0 */
    float momentum;       /**< SGD: 0 .. <1 */
    float beta1, beta2;   /**< Adam: 0.9, 0.999 */
    float eps;            /**< Adam: 1e-8 */
    float weight_decay;   /**< >= 0 */
    float clip_norm;      /**< > 0: scale gradients so their global L2 norm <= clip_norm */
} sa_optim_desc;
#define SA_OPTIM_DESC_INIT sizeof(sa_optim_desc), SA_OPTIM_ADAM, 1e-3f, 0.0f, 0.9f, 0.999f, 1e-8f, 0.0f, 0.0f
SA_API sa_optim_desc sa_optim_desc_default(void);

/** Creates an optimizer over all parameters of m. The model must outlive it.
 *  @param desc borrowed, copied. @param out receives the optimizer (caller owns it). */
SA_API sa_status sa_optim_create(sa_model *m, const sa_optim_desc *desc, sa_optim **out);
/** Frees the optimizer. NULL is fine. */
SA_API void sa_optim_destroy(sa_optim *o);
/** Applies one update from the current gradients (clipping first if asked).
 *  Does not zero the gradients. @return SA_OK, SA_ERR_NUMERIC (non-finite gradient:
 *  parameters are left unchanged). */
SA_API sa_status sa_optim_step(sa_optim *o);
/** Changes the learning rate (for schedules).
 *  @return SA_OK, SA_ERR_INVALID_ARG (NULL, lr not finite and > 0). */
SA_API sa_status sa_optim_set_lr(sa_optim *o, float lr);

/** Global L2 norm of all parameter gradients; if max_norm > 0 and the norm is
 *  larger, scales the gradients so it equals max_norm (torch clip_grad_norm_).
 *  @param norm NULL or receives the norm before clipping (also when it is not finite).
 *  @return SA_OK, SA_ERR_INVALID_ARG (NULL model, max_norm < 0 or not finite),
 *  SA_ERR_NUMERIC (the norm is not finite: gradients are left unchanged). */
SA_API sa_status sa_clip_grad_norm(sa_model *m, float max_norm, float *norm);

/* -------------------------------------------------------------- persistence */

/* Files are safetensors: an 8-byte little-endian header length, a JSON header
 * naming each tensor's dtype, shape and byte range, then the raw data. Tensors
 * are the parameters under their names ("gru0.weight_ih_l0") in PyTorch
 * shapes, so a torch state_dict saved with safetensors (keys prefixed by the
 * node name) loads, and a saved file loads in torch. docs/persistence.md
 * describes the files, the graph spec and its versioning.
 *
 * Writes are atomic: the data goes to a temporary file in the destination's
 * directory, is synced and renamed over the destination; on any failure the
 * old file is untouched and the temporary file removed.
 *
 * Loading treats the file as hostile: the header length, JSON, every field,
 * byte range (the ranges must cover the data exactly), size and the graph spec
 * are checked before use, and nothing larger than the file is allocated.
 * A failed load leaves the model (and optimizer) unchanged. Statuses of every
 * loader: SA_ERR_INVALID_ARG (NULL argument, bad mode), SA_ERR_IO (the file
 * cannot be opened or read, or is not a regular file), SA_ERR_FORMAT (malformed
 * content), SA_ERR_SHAPE (a tensor's shape differs from the parameter's),
 * SA_ERR_NOT_FOUND (strict loads: a parameter missing from the file, or a
 * tensor that is no parameter), SA_ERR_NUMERIC (NaN or Inf in the data),
 * SA_ERR_NO_MEMORY. Parameter tensors may be F32, or F64, F16 or BF16
 * (converted to float32); other dtypes give SA_ERR_FORMAT. */

/** How sa_load_params() matches the file to the model. */
typedef enum sa_load_mode {
    SA_LOAD_STRICT = 0,  /**< every parameter present with its exact shape, no other tensor */
    SA_LOAD_LENIENT = 1  /**< missing parameters keep their values, other tensors are ignored;
                              a tensor named like a parameter must still have its shape */
} sa_load_mode;

/** Writes all parameters of m (values, not gradients) to a safetensors file.
 *  @param path borrowed; replaced atomically if it exists.
 *  @return SA_OK, SA_ERR_INVALID_ARG (NULL, two parameters with one name),
 *  SA_ERR_IO, SA_ERR_NO_MEMORY. */
SA_API sa_status sa_save_params(const sa_model *m, const char *path);

/** Sets m's parameters from a safetensors file (written by sa_save_params(),
 *  sa_model_save(), or by PyTorch's safetensors). Statuses: see above. */
SA_API sa_status sa_load_params(sa_model *m, const char *path, sa_load_mode mode);

/** Writes a whole model: its parameters plus its graph (kinds, names, sizes
 *  and arguments of every node, in the file's metadata) and its seed, so that
 *  sa_model_load() rebuilds it without code.
 *  @return as sa_save_params(), plus SA_ERR_UNSUPPORTED (a node kind that
 *  cannot be saved). */
SA_API sa_status sa_model_save(const sa_model *m, const char *path);

/** Creates a model from a file written by sa_model_save(). The graph is
 *  rebuilt through the same checks as the builder calls; parameters are
 *  loaded strictly.
 *  @param opts borrowed; NULL uses the seed stored in the file (same dropout
 *         masks as the saved model), otherwise opts->seed.
 *  @param out receives the model (caller owns it) or NULL on failure.
 *  @return as sa_load_params(), plus SA_ERR_UNSUPPORTED (the graph was written
 *  by a newer seqattn, or holds a kind this build does not know). */
SA_API sa_status sa_model_load(const char *path, const sa_model_options *opts, sa_model **out);

/** Writes a training checkpoint: m's parameters, o's kind, settings (the
 *  current lr), step count and moments, and m's seed and train index (the
 *  state of dropout masks). Gradients are not saved.
 *  @param o an optimizer of m.
 *  @return as sa_save_params(). */
SA_API sa_status sa_checkpoint_save(const sa_model *m, const sa_optim *o, const char *path);

/** Resumes from a checkpoint: restores m's parameters (strictly), seed and
 *  train index, and o's settings, step count and moments, so training goes on
 *  exactly as the run that wrote it (bitwise).
 *  @param o an optimizer of m, of the checkpoint's kind.
 *  @return as sa_load_params(); SA_ERR_INVALID_ARG also when o is not an
 *  optimizer of m or is of another kind than the checkpoint's. */
SA_API sa_status sa_checkpoint_load(sa_model *m, sa_optim *o, const char *path);

#ifdef __cplusplus
}
#endif
#endif /* SEQATTN_H */
