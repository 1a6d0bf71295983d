/* err_check.c — the error tests' harness: silence and crash guard, checks, fixtures. */
#include "err_check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Under ASan, let malloc return NULL for impossible sizes (the out-of-memory
 * tests) even when the test is run without the meson environment. */
__attribute__((used)) const char *__asan_default_options(void);
__attribute__((used)) const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }

int ec_checks;
int ec_failures;
static FILE *ec_out; /* the real stderr, for the test's own messages */

void ec_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    ec_failures++;
    fprintf(ec_out, "%s:%d: FAILED: ", file, line);
    va_start(ap, fmt);
    vfprintf(ec_out, fmt, ap);
    va_end(ap);
    fputc('\n', ec_out);
}

void ec_abort(const char *file, int line, const char *what)
{
    ec_fail(file, line, "set-up step failed: %s | sa_last_error: %s", what, sa_last_error());
    fflush(NULL);
    _exit(2);
}

int ec_starts_with_fn(const char *msg, const char *fn)
{
    size_t n = strlen(fn);
    return msg && strncmp(msg, fn, n) == 0 && (msg[n] == ':' || msg[n] == ' ');
}

void ec_prime(const char *fn, const sa_model *m)
{
    /* two different primers, so the one used never carries fn's own name */
    if (strcmp(fn, "sa_graph_status") != 0)
        (void)sa_graph_status(NULL);
    else
        (void)sa_zero_grad(NULL);
    if (m) {
        sa_param_info info;
        if (strcmp(fn, "sa_param_get") != 0)
            (void)sa_param_get(m, -1, &info);
        else
            (void)sa_param_find(m, "#", &info);
        if (strcmp(fn, "sa_graph_status") != 0)
            (void)sa_graph_status(NULL);
        else
            (void)sa_zero_grad(NULL);
    }
}

void ec_status(const char *file, int line, const char *expr, sa_status got, sa_status want, const char *fn,
               const sa_model *m)
{
    const char *tls = sa_last_error();
    ec_checks++;
    if (got != want)
        ec_fail(file, line, "%s returned %s, expected %s | sa_last_error: %s", expr, sa_status_str(got),
                sa_status_str(want), tls);
    if (want == SA_OK)
        return;
    ec_checks++;
    if (!ec_starts_with_fn(tls, fn))
        ec_fail(file, line, "%s: sa_last_error() should start with %s, got \"%s\"", expr, fn, tls ? tls : "(null)");
    if (m) {
        const char *hm = sa_model_errmsg(m);
        ec_checks++;
        if (!ec_starts_with_fn(hm, fn))
            ec_fail(file, line, "%s: sa_model_errmsg() should start with %s, got \"%s\"", expr, fn,
                    hm ? hm : "(null)");
    }
}

void ec_ok(const char *file, int line, const char *expr, sa_status got)
{
    ec_checks++;
    if (got != SA_OK)
        ec_fail(file, line, "%s returned %s, expected SA_OK | sa_last_error: %s", expr, sa_status_str(got),
                sa_last_error());
}

void ec_build_fail(const char *file, int line, const char *expr, const sa_graph *g, int32_t count_before,
                   sa_node got, sa_status want, const char *fn)
{
    const char *tls = sa_last_error();
    ec_checks += 5;
    if (got != SA_NODE_INVALID)
        ec_fail(file, line, "%s returned node %d, expected SA_NODE_INVALID", expr, (int)got);
    if (!ec_starts_with_fn(tls, fn))
        ec_fail(file, line, "%s: sa_last_error() should start with %s, got \"%s\"", expr, fn, tls ? tls : "(null)");
    if (sa_graph_status(g) != want)
        ec_fail(file, line, "%s: sa_graph_status() is %s, expected %s | %s", expr,
                sa_status_str(sa_graph_status(g)), sa_status_str(want), sa_graph_errmsg(g));
    if (!ec_starts_with_fn(sa_graph_errmsg(g), fn))
        ec_fail(file, line, "%s: sa_graph_errmsg() should start with %s, got \"%s\"", expr, fn, sa_graph_errmsg(g));
    if (sa_graph_node_count(g) != count_before)
        ec_fail(file, line, "%s: failing builder call changed the node count %d -> %d", expr, (int)count_before,
                (int)sa_graph_node_count(g));
}

/* ------------------------------------------------------------- fixtures */

float *ec_data(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    REQUIRE(p != NULL);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)((i * 37u) % 17u) / 17.0f - 0.5f;
    return p;
}

sa_model *ec_model(const sa_graph *g)
{
    sa_model *m = NULL;
    REQUIRE_OK(sa_model_create(g, NULL, &m));
    return m;
}

void ec_fix_init(ec_fix *f)
{
    memset(f, 0, sizeof *f);
    f->g = sa_graph_new();
    REQUIRE(f->g != NULL);
    f->x = sa_input(f->g, "x", 3);
    f->y = sa_input(f->g, "y", 2);
    sa_rnn_desc d = sa_rnn_desc_default();
    d.hidden = 4;
    f->gru = sa_gru(f->g, f->x, &d);
    f->att = sa_attention_pool(f->g, f->gru, SA_SCORE_ADDITIVE);
    f->pred = sa_dense(f->g, f->att, 2);
    f->target = sa_mean_time(f->g, f->y);
    f->loss = sa_loss_mse(f->g, f->pred, f->target);
    f->state = sa_rnn_final_state(f->g, f->gru);
    REQUIRE(sa_graph_status(f->g) == SA_OK);
    f->m = ec_model(f->g);
}

void ec_fix_set(ec_fix *f, int32_t B, int32_t T, const int32_t *lengths)
{
    float *xd = ec_data((size_t)B * T * 3), *yd = ec_data((size_t)B * T * 2);
    REQUIRE_OK(sa_set_input(f->m, f->x, xd, B, T, lengths));
    REQUIRE_OK(sa_set_input(f->m, f->y, yd, B, T, lengths));
    free(xd);
    free(yd);
}

void ec_fix_free(ec_fix *f)
{
    sa_model_destroy(f->m);
    sa_graph_free(f->g);
    memset(f, 0, sizeof *f);
}

/* ------------------------------------------------------------- main */

static int run_child(int wfd)
{
    int diag = dup(2);
    ec_out = diag >= 0 ? fdopen(diag, "w") : NULL;
    if (!ec_out)
        return 3;
    setvbuf(ec_out, NULL, _IONBF, 0);
    /* from here on, anything on fd 1 or 2 was written by the library or a sanitizer */
    if (dup2(wfd, 1) < 0 || dup2(wfd, 2) < 0)
        return 3;
    close(wfd);
    err_run();
    fprintf(ec_out, "%d checks, %d failed\n", ec_checks, ec_failures);
    fflush(NULL);
    return ec_failures ? 1 : 0;
}

/* "==123==WARNING: AddressSanitizer failed to allocate 0x..." — printed by ASan
 * (allocator_may_return_null=1) when an allocation is refused; the size tests
 * cause those on purpose. */
static int asan_alloc_notice(const char *l, size_t n)
{
    static const char text[] = "==WARNING: AddressSanitizer failed to allocate 0x";
    size_t i = 2;
    if (n < 2 || l[0] != '=' || l[1] != '=')
        return 0;
    while (i < n && l[i] >= '0' && l[i] <= '9')
        i++;
    return n - i >= sizeof text - 1 && memcmp(l + i, text, sizeof text - 1) == 0;
}

int main(void)
{
    int p[2];
    if (pipe(p) != 0) {
        perror("pipe");
        return 1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        close(p[0]);
        exit(run_child(p[1])); /* exit, not _exit: flushes stdio and runs LeakSanitizer */
    }
    close(p[1]);
    /* collect everything; show it all, count it minus the sanitizer's notices
     * of the allocations the out-of-memory tests make fail on purpose */
    size_t total = 0, cap = 1 << 16;
    char *out = malloc(cap);
    if (!out)
        return 1;
    for (;;) {
        if (total == cap) {
            char *q = realloc(out, cap * 2);
            if (!q)
                return 1;
            out = q;
            cap *= 2;
        }
        ssize_t k = read(p[0], out + total, cap - total);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        total += (size_t)k;
    }
    size_t unexpected = 0;
    for (size_t i = 0; i < total;) {
        size_t e = i;
        while (e < total && out[e] != '\n')
            e++;
        if (e < total)
            e++;
        int tolerated = asan_alloc_notice(out + i, e - i);
        if (!tolerated)
            unexpected += e - i;
        i = e;
    }
    if (total) {
        fprintf(stderr, "---- output written by the library or a sanitizer ----\n");
        fwrite(out, 1, total, stderr);
        fprintf(stderr, "---- end of output ----\n");
    }
    free(out);
    close(p[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) {
            perror("waitpid");
            return 1;
        }
    int bad = 0;
    if (unexpected) {
        fprintf(stderr, "FAILED: %zu bytes were printed on stdout/stderr\n", unexpected);
        bad = 1;
    }
    if (WIFSIGNALED(st)) {
        fprintf(stderr, "FAILED: test process killed by signal %d\n", WTERMSIG(st));
        bad = 1;
    } else if (WEXITSTATUS(st) != 0) {
        fprintf(stderr, "FAILED: test process exit status %d\n", WEXITSTATUS(st));
        bad = 1;
    }
    return bad;
}
