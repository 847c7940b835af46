/* Reading and writing cgroup files, making and removing cgroup directories.
 * Every error names the file, the value and the directory. */
#include "cgroup/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void cg_strv_add(cg_strv *s, const char *str)
{
    s->v = xrealloc(s->v, (s->n + 2) * sizeof *s->v);
    s->v[s->n++] = xstrdup(str);
    s->v[s->n] = NULL;
}

bool cg_strv_has(const cg_strv *s, const char *str)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], str))
            return true;
    return false;
}

void cg_strv_free(cg_strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

char *cg_join(const char *a, const char *b)
{
    size_t la = strlen(a);
    while (*b == '/')
        b++;
    if (!*b)
        return xstrdup(a);
    return xasprintf("%s%s%s", a, la && a[la - 1] == '/' ? "" : "/", b);
}

char *cg_strndup(const char *s, size_t n)
{
    size_t l = strnlen(s, n);
    char *o = xmalloc(l + 1);
    memcpy(o, s, l);
    o[l] = 0;
    return o;
}

int cg_write(const char *dir, const char *file, const char *val, capsa_err *e)
{
    autofree char *p = cg_join(dir, file);
    /* O_TRUNC like runc: a no-op on cgroupfs, and right for regular files. */
    autoclose int fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0)
        return cerr_sys(e, errno, "write %s=%s to %s", file, val, dir);
    size_t len = strlen(val);
    ssize_t w;
    do
        w = write(fd, val, len);
    while (w < 0 && errno == EINTR);
    if (w < 0)
        return cerr_sys(e, errno, "write %s=%s to %s", file, val, dir);
    if ((size_t)w != len)
        return cerr_set(e, EIO, "write %s=%s to %s: short write", file, val, dir);
    return 0;
}

int cg_writef(const char *dir, const char *file, capsa_err *e, const char *fmt, ...)
{
    char *val;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&val, fmt, ap);
    va_end(ap);
    if (n < 0)
        return cerr_set(e, ENOMEM, "write %s to %s: out of memory", file, dir);
    int r = cg_write(dir, file, val, e);
    free(val);
    return r;
}

int cg_read(const char *dir, const char *file, char **out, capsa_err *e)
{
    autofree char *p = cg_join(dir, file);
    autoclose int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cerr_sys(e, errno, "read %s in %s", file, dir);
    size_t cap = 4096, len = 0;
    autofree char *buf = xmalloc(cap);
    for (;;) {
        if (cap - len < 2)
            buf = xrealloc(buf, cap *= 2);
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return cerr_sys(e, errno, "read %s in %s", file, dir);
        if (r == 0)
            break;
        len += (size_t)r;
    }
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
        len--;
    buf[len] = 0;
    *out = TAKE_PTR(buf);
    return 0;
}

int cg_read_i64(const char *dir, const char *file, int64_t *out, capsa_err *e)
{
    autofree char *s = NULL;
    int r = cg_read(dir, file, &s, e);
    if (r < 0)
        return r;
    if (!strcmp(s, "max")) {
        *out = INT64_MAX;
        return 0;
    }
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return cerr_set(e, EINVAL, "read %s in %s: not a number: \"%s\"", file, dir, s);
    *out = v;
    return 0;
}

bool cg_has_file(const char *dir, const char *file)
{
    autofree char *p = cg_join(dir, file);
    return access(p, F_OK) == 0;
}

bool cg_dir_exists(const char *dir)
{
    struct stat st;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

bool cg_word_in(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *s = list; s && *s;) {
        s += strspn(s, " \t\n");
        size_t l = strcspn(s, " \t\n");
        if (l == n && !memcmp(s, word, n))
            return true;
        s += l;
    }
    return false;
}

/* mkdir dir, making missing parents first (never base or above); each
 * directory made is added to created, parents before children. Tries the leaf
 * first: the parents usually exist (one syscall instead of one per level). */
static int mkdir_up(char *dir, size_t blen, cg_strv *created)
{
    if (mkdir(dir, 0755) == 0) {
        cg_strv_add(created, dir);
        return 0;
    }
    if (errno == EEXIST)
        return 0;
    if (errno != ENOENT)
        return -errno;
    char *slash = strrchr(dir, '/');
    if (!slash || (size_t)(slash - dir) <= blen)
        return -ENOENT;
    *slash = 0;
    int r = mkdir_up(dir, blen, created);
    *slash = '/';
    if (r < 0)
        return r;
    if (mkdir(dir, 0755) == 0)
        cg_strv_add(created, dir);
    else if (errno != EEXIST)
        return -errno;
    return 0;
}

int cg_mkdir_path(const char *base, const char *rel, cg_strv *created, capsa_err *e)
{
    if (!cg_dir_exists(base))
        return cerr_sys(e, ENOENT, "cgroup %s", base);
    autofree char *dir = cg_join(base, rel);
    /* A concurrent delete may rmdir an empty shared parent ("capsa") between
     * our mkdirs: start over a few times. */
    for (int attempt = 0;; attempt++) {
        int r = mkdir_up(dir, strlen(base), created);
        if (r == 0)
            return 0;
        if (r != -ENOENT || attempt == 4)
            return cerr_sys(e, -r, "create cgroup %s", dir);
    }
}

uint64_t cg_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void cg_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

int cg_rmdir_tree(const char *dir, uint64_t deadline_ms, capsa_err *e)
{
    /* The common case first: an empty leaf goes at once, no listing. EBUSY
     * means child cgroups or processes still exiting. */
    if (rmdir(dir) == 0 || errno == ENOENT)
        return 0;
    if (errno != EBUSY)
        return cerr_sys(e, errno, "remove cgroup %s", dir);
    int r = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : cerr_sys(e, errno, "open cgroup %s", dir);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        autofree char *sub = cg_join(dir, de->d_name);
        int rr = cg_rmdir_tree(sub, deadline_ms, e);
        if (rr < 0 && !r)
            r = rr;
    }
    closedir(d);
    if (r < 0)
        return r;
    unsigned wait = 1;
    while (rmdir(dir) < 0) {
        if (errno == ENOENT)
            return 0;
        /* EBUSY: processes still exiting (their cgroup is released after
         * they are reaped), retry until the deadline. */
        if (errno != EBUSY || cg_now_ms() >= deadline_ms)
            return cerr_sys(e, errno, "remove cgroup %s", dir);
        cg_sleep_ms(wait);
        if (wait < 20)
            wait *= 2;
    }
    return 0;
}

void cg_rmdir_parents(const char *base, const char *rel)
{
    autofree char *dir = cg_join(base, rel);
    size_t blen = strlen(base);
    for (;;) {
        char *slash = strrchr(dir, '/');
        if (!slash || (size_t)(slash - dir) <= blen)
            return;
        *slash = 0;
        if (rmdir(dir) < 0 && errno != ENOENT)
            return;
    }
}

static int add_pids(const char *dir, pid_t **pids, size_t *n, capsa_err *e)
{
    autofree char *s = NULL;
    int r = cg_read(dir, "cgroup.procs", &s, e);
    if (r < 0)
        return r;
    for (char *p = s; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        if (v > 0) {
            *pids = xrealloc(*pids, (*n + 1) * sizeof **pids);
            (*pids)[(*n)++] = (pid_t)v;
        }
        p = end;
        p += strspn(p, "\n ");
    }
    return 0;
}

int cg_read_procs(const char *dir, bool recursive, pid_t **pids, size_t *n, capsa_err *e)
{
    int r = add_pids(dir, pids, n, e);
    if (r < 0 || !recursive)
        return r;
    DIR *d = opendir(dir);
    if (!d)
        return cerr_sys(e, errno, "open cgroup %s", dir);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        autofree char *sub = cg_join(dir, de->d_name);
        r = cg_read_procs(sub, true, pids, n, e);
        if (r == -ENOENT) /* removed meanwhile */
            r = 0;
        if (r < 0)
            break;
    }
    closedir(d);
    return r;
}

char *cg_read_opt(const char *dir, const char *file)
{
    char *s = NULL;
    capsa_err e;
    if (!dir || cg_read(dir, file, &s, &e) < 0)
        return NULL;
    return s;
}

bool cg_read_u64(const char *dir, const char *file, uint64_t *out)
{
    autofree char *s = cg_read_opt(dir, file);
    if (!s)
        return false;
    if (!strcmp(s, "max")) {
        *out = UINT64_MAX;
        return true;
    }
    char *end;
    errno = 0;
    if (s[0] == '-') {
        strtoll(s, &end, 10);
        *out = UINT64_MAX;
        return !errno && end != s;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return false;
    *out = v;
    return true;
}

int cg_hugetlb_write(const char *dir, const spec_resources *res, const char *limit,
                     capsa_err *e)
{
    for (size_t i = 0; i < res->n_hugepages; i++) {
        const spec_hugepage *h = &res->hugepages[i];
        if (!h->page_size || !*h->page_size || strchr(h->page_size, '/') ||
            strstr(h->page_size, ".."))
            return cerr_set(e, EINVAL, "hugepageLimits[%zu]: invalid pageSize \"%s\"", i,
                            h->page_size ? h->page_size : "");
        autofree char *f = xasprintf("hugetlb.%s.%s", h->page_size, limit);
        if (!cg_has_file(dir, f))
            return cerr_set(e, EOPNOTSUPP, "hugepageLimits[%zu]: page size %s not supported "
                            "(no %s in %s)", i, h->page_size, f, dir);
        int r = cg_writef(dir, f, e, "%" PRIu64, h->limit);
        if (r < 0)
            return r;
        /* Reservations are limited too where the kernel has them (runc). */
        autofree char *rf = xasprintf("hugetlb.%s.rsvd.%s", h->page_size, limit);
        if (cg_has_file(dir, rf) && (r = cg_writef(dir, rf, e, "%" PRIu64, h->limit)) < 0)
            return r;
    }
    return 0;
}
