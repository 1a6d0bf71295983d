/* io.h — persistence internals shared by the files of lib/io and the fuzz targets:
 * byte sources (a file or memory), the safetensors reader and writer, atomic
 * file replacement, the graph spec of whole-model files, and the loaders
 * behind the public sa_*_load() functions, callable on memory.
 *
 * Every function here that can fail records its message with sa_fail(),
 * prefixed with the public function's name `fn` passed down by the caller.
 * Not installed; nothing here is part of the ABI. */
#ifndef SA_IO_H
#define SA_IO_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "../internal.h"

/* --------------------------------------------------------------- sources */

/* Bytes to parse: a memory buffer, or a regular file read with pread(), so
 * loaders never hold a whole file and every read is bounds-checked. */
typedef struct sa_src {
    const unsigned char *mem;   /* memory source (borrowed), or NULL */
    int fd;                     /* file source, or -1 */
    uint64_t size;              /* bytes in the source, fixed when opened */
} sa_src;

static inline sa_src sa_src_mem(const void *buf, size_t len)
{
    sa_src s = {(const unsigned char *)buf, -1, (uint64_t)len};
    return s;
}
/* Opens a regular file for reading. @return SA_OK or SA_ERR_IO (also for a
 * directory or a device). */
sa_status sa_src_open(sa_src *s, const char *path, const char *fn);
/* Closes a file source; a memory source needs nothing. */
void sa_src_close(sa_src *s);
/* Reads n bytes at off into dst. @return SA_OK, SA_ERR_IO (read error, or
 * the file shrank since it was opened) or SA_ERR_FORMAT (past the end). */
sa_status sa_src_read(const sa_src *s, uint64_t off, void *dst, size_t n, const char *fn);

/* ----------------------------------------------------------- safetensors */

#define SA_ST_MAX_HEADER 100000000u /* the reference implementation's limit */
#define SA_ST_MAX_DIMS 16

/* One tensor of a parsed file. Offsets are absolute in the source. */
typedef struct sa_st_tensor {
    const char *name;           /* owned by the file's JSON header */
    const char *dtype;          /* "F32", ...; static */
    int32_t elem;               /* bytes per element */
    int32_t ndim;
    int64_t shape[SA_ST_MAX_DIMS];
    uint64_t numel;
    uint64_t off, nbytes;
} sa_st_tensor;

/* A parsed and validated safetensors header. Tensors are sorted by name. */
typedef struct sa_st_file {
    const sa_src *src;          /* borrowed: tensor data is read from it */
    json_t *root;               /* the header */
    json_t *meta;               /* "__metadata__" object (string values) or NULL */
    sa_st_tensor *t;
    size_t n;
    uint64_t data_off, data_len;
} sa_st_file;

/* Parses and checks the header of src: length within the file and at most
 * SA_ST_MAX_HEADER, a JSON object without duplicate keys, every entry
 * well-typed, sizes without overflow, byte ranges exactly covering the data
 * section in some order. Allocates at most what the header's length allows.
 * @return SA_OK (free f with sa_st_free), SA_ERR_FORMAT, SA_ERR_IO, SA_ERR_NO_MEMORY. */
sa_status sa_st_parse(const sa_src *src, sa_st_file *f, const char *fn);
void sa_st_free(sa_st_file *f);
/* @return the tensor named name, or NULL. */
const sa_st_tensor *sa_st_find(const sa_st_file *f, const char *name);
/* @return the metadata string under key, or NULL when absent. */
const char *sa_st_meta(const sa_st_file *f, const char *key);
/* Reads tensor t as n floats into dst (n == t->numel), converting F64, F16
 * and BF16. @return SA_OK, SA_ERR_FORMAT (a dtype that is not floating point),
 * SA_ERR_NUMERIC (NaN, Inf, or an F64 outside float's range), SA_ERR_IO. */
sa_status sa_st_read_f32(const sa_st_file *f, const sa_st_tensor *t, float *dst, const char *fn);

/* A tensor to write: float32, PyTorch shape. */
typedef struct sa_st_out {
    const char *name;           /* borrowed */
    int32_t ndim;
    int64_t shape[2];
    const float *data;          /* borrowed, numel floats */
    size_t numel;
} sa_st_out;

/* Writes n tensors and the metadata object meta (string values; borrowed)
 * to path atomically (see sa_atomic_begin). Names must be unique.
 * @return SA_OK, SA_ERR_IO, SA_ERR_NO_MEMORY, SA_ERR_INVALID_ARG (duplicate name). */
sa_status sa_st_write(const char *path, const sa_st_out *t, size_t n, json_t *meta, const char *fn);

/* --------------------------------------------------------- atomic files */

/* Replaces a file atomically: the data goes to a new file next to path,
 * which is synced and renamed over path on commit, so readers see either the
 * old file or the complete new one, and a failure leaves the old one. */
typedef struct sa_atomic_file {
    FILE *fp;                   /* write here */
    char *path, *tmp;
} sa_atomic_file;

/* @return SA_OK or SA_ERR_IO (directory missing or not writable), SA_ERR_NO_MEMORY. */
sa_status sa_atomic_begin(sa_atomic_file *af, const char *path, const char *fn);
/* Flushes, syncs and renames the file over path, then syncs the directory.
 * On failure the temporary file is removed and path is untouched.
 * @return SA_OK or SA_ERR_IO. af is finished either way. */
sa_status sa_atomic_commit(sa_atomic_file *af, const char *fn);
/* Removes the temporary file; path is untouched. */
void sa_atomic_abort(sa_atomic_file *af);

/* ------------------------------------------------------------ graph spec */

#define SA_SPEC_FORMAT "seqattn-graph"
#define SA_SPEC_VERSION 1
#define SA_SPEC_MAX_NODES 10000 /* keeps loading (quadratic name checks) fast */

/* The graph of m as a JSON string (caller frees with free()).
 * @return SA_OK, SA_ERR_UNSUPPORTED (a kind without a rebuild hook), SA_ERR_NO_MEMORY. */
sa_status sa_spec_encode(const sa_model *m, char **out, const char *fn);
/* Rebuilds a graph from a spec string through each kind's builder (see
 * sa_layer_ops.rebuild) and checks every node against the spec.
 * @return SA_OK (caller frees *out), SA_ERR_FORMAT, SA_ERR_UNSUPPORTED
 * (a newer version, an unknown kind), SA_ERR_NO_MEMORY. */
sa_status sa_spec_decode(const char *spec, sa_graph **out, const char *fn);

/* ------------------------------------------------------------ loaders */

/* Metadata written to every file. */
#define SA_META_KIND "seqattn.kind"      /* "params", "model" or "checkpoint" */
#define SA_META_VERSION "seqattn.version"
#define SA_META_GRAPH "seqattn.graph"
#define SA_META_SEED "seqattn.seed"

/* The metadata every file starts with: {"format": "pt", seqattn.kind, seqattn.version}.
 * @return a new object, or NULL when out of memory. */
json_t *sa_io_meta(const char *kind);
/* Sets key to a decimal string. @return 0 when out of memory. */
int sa_io_meta_u64(json_t *meta, const char *key, uint64_t v);
/* Parses the decimal metadata string under key. @return SA_OK,
 * SA_ERR_NOT_FOUND (absent; no message recorded) or SA_ERR_FORMAT. */
sa_status sa_io_get_u64(const sa_st_file *f, const char *key, uint64_t *v, const char *fn);
/* Returns s with the current message re-labelled "fn: <what><message>",
 * for failures of inner calls that name themselves (sa_model_create). */
sa_status sa_io_prefix(sa_status s, const char *fn, const char *what);
/* Writes m's parameters, plus extra tensors, with metadata meta. */
sa_status sa_io_save(const sa_model *m, const char *path, const sa_st_out *extra, size_t n_extra, json_t *meta,
                     const char *fn);

/* Reads m's parameters from f into stage (m->nflat floats, a copy of the
 * current values) by the rules of sa_load_params(); tensors whose name starts
 * with skip_prefix (NULL: none) are left to the caller. m is not changed. */
sa_status sa_io_read_params(const sa_model *m, const sa_st_file *f, sa_load_mode mode, const char *skip_prefix,
                            float *stage, const char *fn);

/* The loaders behind sa_load_params, sa_model_load and sa_checkpoint_load,
 * on any source (the fuzz targets use memory). Same contracts. */
sa_status sa_io_load_params(sa_model *m, const sa_src *src, sa_load_mode mode, const char *fn);
sa_status sa_io_model_load(const sa_src *src, const sa_model_options *opts, sa_model **out, const char *fn);
sa_status sa_io_checkpoint_load(sa_model *m, sa_optim *o, const sa_src *src, const char *fn);

#endif
