/*
 * fashion_mnist.h — finding and loading the Fashion-MNIST IDX files.
 *
 * The files come from the Debian package dataset-fashion-mnist, which puts
 * them (gzipped) in FMNIST_DEFAULT_DIR. The environment variable
 * SEQATTN_FASHION_MNIST_DIR, when set and non-empty, names another directory
 * with the same file names, gzipped or not. When a file is missing the error
 * names the exact path looked for and the package that provides it, so a
 * fresh machine tells the user what to install instead of failing vaguely.
 */
#ifndef EXAMPLES_DATA_FASHION_MNIST_H
#define EXAMPLES_DATA_FASHION_MNIST_H

#include <stddef.h>

#include "idx.h"

#define FMNIST_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"
#define FMNIST_DIR_ENV "SEQATTN_FASHION_MNIST_DIR"
#define FMNIST_PACKAGE "dataset-fashion-mnist"

typedef enum fmnist_split {
    FMNIST_TRAIN, /* 60000 items: train-*-idx?-ubyte.gz */
    FMNIST_TEST,  /* 10000 items: t10k-*-idx?-ubyte.gz */
} fmnist_split;

/** The directory searched: $SEQATTN_FASHION_MNIST_DIR if set and non-empty,
 *  else FMNIST_DEFAULT_DIR. */
const char *fmnist_dir(void);

/** Loads the split's images as [N, H, W] bytes (28 x 28 for the real data).
 *  Tries <dir>/<split>-images-idx3-ubyte.gz, then the same name without .gz.
 *  @return IDX_OK or a negative IDX_E_* code with a message in err;
 *  IDX_E_OPEN when the file is missing, IDX_E_FORMAT when it is not [N, H, W]. */
int fmnist_load_images(fmnist_split split, idx_array *out, char *err, size_t errlen);

/** Loads the split's labels as [N] bytes, checked to be class ids 0..9. */
int fmnist_load_labels(fmnist_split split, idx_array *out, char *err, size_t errlen);

#endif
