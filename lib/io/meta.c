/* meta.c — the string metadata every seqattn file carries, numbers stored as
 * metadata strings (the format allows strings only), and re-labelling a
 * message from an inner call with the public function's name. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"

json_t *sa_io_meta(const char *kind)
{
    /* "format": "pt" is what torch's safetensors writes, and what tools that
     * load torch checkpoints (e.g. transformers) look for */
    return json_pack("{s:s, s:s, s:s}", "format", "pt", SA_META_KIND, kind, SA_META_VERSION, sa_version_string());
}

int sa_io_meta_u64(json_t *meta, const char *key, uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    return json_object_set_new(meta, key, json_string(buf)) == 0;
}

sa_status sa_io_get_u64(const sa_st_file *f, const char *key, uint64_t *v, const char *fn)
{
    const char *s = sa_st_meta(f, key);
    if (!s)
        return SA_ERR_NOT_FOUND;
    /* digits only: strtoull would accept spaces, signs and wrap "-1" */
    size_t n = strlen(s);
    int digits = n > 0 && n <= 20;
    for (size_t i = 0; i < n && digits; i++)
        digits = s[i] >= '0' && s[i] <= '9';
    errno = 0;
    unsigned long long x = digits ? strtoull(s, NULL, 10) : 0;
    if (!digits || errno == ERANGE)
        return sa_fail(SA_ERR_FORMAT, "%s: metadata '%s' = '%.40s' is not an unsigned 64-bit integer", fn, key, s);
    *v = (uint64_t)x;
    return SA_OK;
}

sa_status sa_io_prefix(sa_status s, const char *fn, const char *what)
{
    char msg[512]; /* sa_fail writes the slot it would read from */
    snprintf(msg, sizeof msg, "%s", sa_tls_error());
    return sa_fail(s, "%s: %s%s", fn, what, msg);
}
