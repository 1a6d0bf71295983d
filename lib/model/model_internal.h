/* model_internal.h — the model object, shared by the model's files only. */
#ifndef SA_MODEL_INTERNAL_H
#define SA_MODEL_INTERNAL_H

#include "../internal.h"

typedef struct sa_param_entry {
    char name[2 * SA_NAME_MAX + 2];
    int32_t ndim, shape[4];
    size_t off, numel;
} sa_param_entry;

typedef struct sa_input_buf {
    float *data;
    int32_t *len;               /* NULL: no lengths */
    size_t cap;                 /* floats allocated in data */
    int32_t len_cap;
    int32_t B, T;
    int set;
} sa_input_buf;

enum { SA_FWD_NONE = 0, SA_FWD_INFER = 1, SA_FWD_TRAIN = 2 };

struct sa_model {
    sa_node_def *nodes;         /* copy of the graph */
    int32_t count;
    int32_t *pfirst, *pcount;   /* per node: its slice of ptab */
    sa_param_entry *ptab;
    int32_t np;
    float *values, *grads;      /* flat parameter and gradient vectors */
    size_t nflat;
    sa_tensor *val;             /* per node runtime value */
    void **ws;                  /* per node workspace in the arena */
    sa_input_buf *inputs;       /* per node; used for input nodes only */
    unsigned char *arena;       /* activations, gradients, workspaces */
    size_t arena_cap;
    float *grad_region;         /* start and size of all node gradients */
    size_t grad_region_bytes;
    size_t plan_values, plan_ws; /* bytes of node outputs and workspaces in the last plan */
    void *scratch;              /* the scratch region shared by all nodes (sa_op_ctx.scratch) */
    size_t plan_scratch;        /* its bytes in the last plan */
    unsigned char *live;        /* per node: reached by the current backward */
    void **state;               /* per node: state kept across steps (sa_ctx_state) */
    size_t *state_cap;
    unsigned char *stepped;     /* per node: depends on a stepped input */
    int step_mode;              /* 1 after sa_step_begin, until sa_forward */
    int32_t step_pos;           /* steps run since sa_step_begin */
    int static_dirty;           /* a non-stepped input changed during step execution */
    int fwd_state;
    uint64_t seed;              /* sa_model_options.seed: initial weights and dropout masks */
    uint64_t train_index;       /* index of the next SA_TRAIN forward (sa_model_set_train_index) */
    uint64_t fwd_index;         /* index of the current (or last) SA_TRAIN forward */
    int have_grads;             /* node gradients of the last backward are valid */
    int threads;                /* sa_model_set_threads: BLAS threads for large products, 0 = caller's */
    sa_split_record split_fwd, split_bwd, split_step; /* large products' share of each kind of call */
    char errmsg[256];
};

/* Copies the thread-local message into the model and returns s. */
sa_status sa_model_fail(const sa_model *m, sa_status s);
/* Fills the op context of node id from the model's current state. */
void sa_model_ctx(sa_model *m, sa_node id, sa_op_ctx *c);
/* Sizes the arena for the current inputs and places every value. */
sa_status sa_model_plan(sa_model *m, int train, const char *fn);
/* Checks m and node id; on failure records the message. */
sa_status sa_model_check_node(const sa_model *m, sa_node n, const char *fn);

#endif
