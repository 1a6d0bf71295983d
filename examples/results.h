/*
 * results.h — writing an example's outputs (CSV matrices, JSON pieces) into a
 * results directory that tools/plot_attention.py reads back.
 */
#ifndef EXAMPLES_RESULTS_H
#define EXAMPLES_RESULTS_H

#include <stdio.h>

/** Creates dir and its missing parents (like mkdir -p).
 *  @return 0, or -1 with errno set. */
int res_mkdir_p(const char *dir);

/** Opens dir/name for writing. @return the file, or NULL with errno set. */
FILE *res_open(const char *dir, const char *name);

/** Writes a rows x cols row-major matrix as CSV without a header, one row per
 *  line, with enough digits to read the floats back exactly.
 *  @return 0, or -1 with errno set. */
int res_write_csv(const char *dir, const char *name, const float *m, int rows, int cols);

/** Writes `[v0, v1, ...]` with full double precision; non-finite values
 *  become null so the file stays valid JSON. */
void res_json_array(FILE *f, const double *v, int n);

/** Writes a JSON number (or null when not finite). */
void res_json_number(FILE *f, double v);

/** Closes f and reports whether every write succeeded. @return 0 or -1. */
int res_close(FILE *f);

#endif
