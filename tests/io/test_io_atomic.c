/* test_io_atomic.c — every save replaces its file atomically: a failed write
 * (file-size limit reached, destination a directory, directory missing or
 * read-only) leaves the old file byte for byte and no temporary file behind;
 * a successful one replaces it, with the permissions fopen() would give. */
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "iotest.h"

typedef sa_status (*save_fn)(const sa_model *, const sa_optim *, const char *);

static sa_status save_params(const sa_model *m, const sa_optim *o, const char *p)
{
    (void)o;
    return sa_save_params(m, p);
}
static sa_status save_model(const sa_model *m, const sa_optim *o, const char *p)
{
    (void)o;
    return sa_model_save(m, p);
}
static sa_status save_checkpoint(const sa_model *m, const sa_optim *o, const char *p)
{
    return sa_checkpoint_save(m, o, p);
}

static void test_save(save_fn save, const char *label)
{
    sa_model *m = tu_model(io_all_kinds_graph(), 3);
    sa_optim *o = NULL;
    sa_optim_desc d = sa_optim_desc_default();
    REQUIRE_OK(sa_optim_create(m, &d, &o));
    const char *path = io_path("model.st");
    REQUIRE_OK(save(m, o, path));
    size_t n = 0;
    unsigned char *old = io_read_file(path, &n);
    REQUIRE(old != NULL && n > 4096);
    CHECK(io_count_entries(io_dir) == 1);
    io_randomize(m, 9); /* the next file would differ */

    /* the file-size limit stops the write half-way (EFBIG, SIGXFSZ ignored) */
    struct rlimit old_lim, lim;
    REQUIRE(getrlimit(RLIMIT_FSIZE, &old_lim) == 0);
    lim = old_lim;
    lim.rlim_cur = 4096;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    sa_status s = save(m, o, path);
    REQUIRE(setrlimit(RLIMIT_FSIZE, &old_lim) == 0);
    if (s != SA_ERR_IO)
        fprintf(stderr, "%s: save under a file-size limit gave %s\n", label, sa_status_str(s));
    CHECK(s == SA_ERR_IO);
    CHECK(strstr(sa_last_error(), "model.st") != NULL);
    CHECK(io_file_equals(path, old, n));
    CHECK(io_count_entries(io_dir) == 1); /* no temporary file left */

    /* the destination is a directory: the rename fails after the data was written */
    const char *dir = io_path("adir");
    REQUIRE(mkdir(dir, 0700) == 0);
    CHECK_STATUS(save(m, o, dir), SA_ERR_IO);
    CHECK(io_count_entries(io_dir) == 2 && io_count_entries(dir) == 0);
    rmdir(dir);

    /* a missing directory */
    CHECK_STATUS(save(m, o, io_path("nowhere/model.st")), SA_ERR_IO);
    CHECK(io_count_entries(io_dir) == 1);

    /* a read-only directory (root writes anyway: then this part has nothing to show) */
    const char *ro = io_path("ro");
    REQUIRE(mkdir(ro, 0700) == 0);
    char inner[512];
    snprintf(inner, sizeof inner, "%s/model.st", ro);
    REQUIRE_OK(save(m, o, inner));
    size_t n2 = 0;
    unsigned char *old2 = io_read_file(inner, &n2);
    REQUIRE(chmod(ro, 0500) == 0);
    if (geteuid() != 0) {
        io_randomize(m, 10);
        CHECK_STATUS(save(m, o, inner), SA_ERR_IO);
        CHECK(io_file_equals(inner, old2, n2));
        CHECK(io_count_entries(ro) == 1);
    }
    chmod(ro, 0700);
    unlink(inner);
    rmdir(ro);
    free(old2);

    /* success replaces the file; permissions follow the umask */
    mode_t mask = umask(027);
    CHECK_OK(save(m, o, path));
    umask(mask);
    CHECK(!io_file_equals(path, old, n));
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
    CHECK(io_count_entries(io_dir) == 1);

    /* a relative path: the temporary file goes to the current directory */
    char cwd[512];
    REQUIRE(getcwd(cwd, sizeof cwd) != NULL);
    REQUIRE(chdir(io_dir) == 0);
    CHECK_OK(save(m, o, "relative.st"));
    REQUIRE(chdir(cwd) == 0);
    CHECK(access(io_path("relative.st"), R_OK) == 0);
    CHECK(io_count_entries(io_dir) == 2);
    unlink(io_path("relative.st"));
    unlink(path);

    free(old);
    sa_optim_destroy(o);
    sa_model_destroy(m);
}

int main(void)
{
    signal(SIGXFSZ, SIG_IGN); /* a write past RLIMIT_FSIZE then fails with EFBIG */
    io_setup();
    test_save(save_params, "sa_save_params");
    test_save(save_model, "sa_model_save");
    test_save(save_checkpoint, "sa_checkpoint_save");
    io_cleanup();
    return tu_report();
}
