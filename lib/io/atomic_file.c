/* atomic_file.c — replacing a file so that readers, and a crash at any
 * moment, see either the old file or the complete new one: write a new file
 * in the same directory (rename is only atomic within a file system), sync
 * it, rename it over the destination, sync the directory so the rename itself
 * is durable. Any failure before the rename removes the new file and leaves
 * the destination untouched. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io.h"

/* "<dir>/.<base>.tmp.<pid>.<n>"; dir is "." without a slash in path */
static char *temp_name(const char *path, unsigned attempt)
{
    static atomic_uint counter;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    int dirlen = slash ? (int)(slash - path) + 1 : 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned n = atomic_fetch_add(&counter, 1u);
    size_t cap = strlen(path) + 96;
    char *tmp = malloc(cap);
    if (tmp) /* the base is cut so a long name still fits NAME_MAX */
        snprintf(tmp, cap, "%.*s.%.100s.tmp.%ld.%u.%lx", dirlen, path, base, (long)getpid(), n + attempt,
                 (unsigned long)ts.tv_nsec);
    return tmp;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    size_t n = (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

sa_status sa_atomic_begin(sa_atomic_file *af, const char *path, const char *fn)
{
    memset(af, 0, sizeof *af);
    size_t len = strlen(path);
    if (len == 0 || path[len - 1] == '/')
        return sa_fail(SA_ERR_IO, "%s: '%s' is not a file name", fn, path);
    af->path = strdup(path);
    if (!af->path)
        return sa_fail(SA_ERR_NO_MEMORY, "%s: out of memory", fn);
    /* not mkstemp(): it makes 0600 files, and a saved model should get the
     * permissions fopen() gives (0666 & ~umask); O_EXCL gives the same
     * guarantee of never opening someone else's file */
    int fd = -1;
    for (unsigned attempt = 0; attempt < 100 && fd < 0; attempt++) {
        free(af->tmp);
        af->tmp = temp_name(path, attempt);
        if (!af->tmp) {
            sa_atomic_abort(af);
            return sa_fail(SA_ERR_NO_MEMORY, "%s: out of memory", fn);
        }
        fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) {
            int e = errno;
            free(af->tmp);
            af->tmp = NULL; /* nothing was created */
            sa_atomic_abort(af);
            return sa_fail(SA_ERR_IO, "%s: cannot create a file next to '%s': %s", fn, path, strerror(e));
        }
    }
    if (fd < 0) {
        free(af->tmp);
        af->tmp = NULL;
        sa_atomic_abort(af);
        return sa_fail(SA_ERR_IO, "%s: cannot find a free temporary name next to '%s'", fn, path);
    }
    af->fp = fdopen(fd, "wb");
    if (!af->fp) {
        close(fd);
        sa_atomic_abort(af);
        return sa_fail(SA_ERR_NO_MEMORY, "%s: out of memory", fn);
    }
    return SA_OK;
}

void sa_atomic_abort(sa_atomic_file *af)
{
    if (af->fp)
        fclose(af->fp);
    if (af->tmp)
        unlink(af->tmp);
    free(af->tmp);
    free(af->path);
    memset(af, 0, sizeof *af);
}

sa_status sa_atomic_commit(sa_atomic_file *af, const char *fn)
{
    int ok = fflush(af->fp) == 0 && !ferror(af->fp) && fsync(fileno(af->fp)) == 0;
    int e = ok ? 0 : errno ? errno : EIO;
    if (fclose(af->fp) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    af->fp = NULL;
    if (!ok) {
        sa_status s = sa_fail(SA_ERR_IO, "%s: cannot write '%s': %s", fn, af->path, strerror(e));
        sa_atomic_abort(af);
        return s;
    }
    if (rename(af->tmp, af->path) != 0) {
        sa_status s = sa_fail(SA_ERR_IO, "%s: cannot replace '%s': %s", fn, af->path, strerror(errno));
        sa_atomic_abort(af);
        return s;
    }
    free(af->tmp);
    af->tmp = NULL; /* renamed: nothing to remove any more */
    sa_status s = SA_OK;
    char *dir = dir_of(af->path);
    int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    /* EINVAL: the file system cannot sync directories, nothing to do */
    if (dfd < 0 || (fsync(dfd) != 0 && errno != EINVAL))
        s = sa_fail(SA_ERR_IO, "%s: '%s' was replaced, but its directory could not be synced: %s", fn, af->path,
                    dir ? strerror(errno) : "out of memory");
    if (dfd >= 0)
        close(dfd);
    free(dir);
    sa_atomic_abort(af);
    return s;
}
