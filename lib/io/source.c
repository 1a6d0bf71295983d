/* source.c — the bytes a loader parses: a regular file read with pread(), or
 * a memory buffer (the fuzz targets). Every read is checked against the size
 * taken when the source was opened, so a header can never send a read past
 * the end, and a file that shrinks while being read is an error, not a crash
 * (which mapping it would risk). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

sa_status sa_src_open(sa_src *s, const char *path, const char *fn)
{
    *s = (sa_src){NULL, -1, 0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sa_fail(SA_ERR_IO, "%s: cannot open '%s': %s", fn, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return sa_fail(SA_ERR_IO, "%s: cannot stat '%s': %s", fn, path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) { /* a FIFO or device has no size to check reads against */
        close(fd);
        return sa_fail(SA_ERR_IO, "%s: '%s' is not a regular file", fn, path);
    }
    s->fd = fd;
    s->size = (uint64_t)st.st_size;
    return SA_OK;
}

void sa_src_close(sa_src *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

sa_status sa_src_read(const sa_src *s, uint64_t off, void *dst, size_t n, const char *fn)
{
    if (off > s->size || n > s->size - off)
        return sa_fail(SA_ERR_FORMAT, "%s: read of %zu bytes at offset %llu is past the end (%llu bytes)", fn, n,
                       (unsigned long long)off, (unsigned long long)s->size);
    if (s->mem) {
        if (n)
            memcpy(dst, s->mem + off, n);
        return SA_OK;
    }
    unsigned char *p = dst;
    while (n > 0) {
        size_t chunk = n < ((size_t)1 << 30) ? n : ((size_t)1 << 30);
        ssize_t r = pread(s->fd, p, chunk, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return sa_fail(SA_ERR_IO, "%s: read error: %s", fn, strerror(errno));
        if (r == 0)
            return sa_fail(SA_ERR_IO, "%s: the file is shorter than when it was opened", fn);
        p += r;
        off += (uint64_t)r;
        n -= (size_t)r;
    }
    return SA_OK;
}
