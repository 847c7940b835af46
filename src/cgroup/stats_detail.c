#include "cgroup/stats_detail.h"
#include "cgroup/internal.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An integer or limit file; v1's "no limit" (PAGE_COUNTER_MAX pages) too. */
static bool rd_limit(const char *dir, const char *file, uint64_t *out)
{
    if (!cg_read_u64(dir, file, out))
        return false;
    if (*out >= CG_V1_UNLIMITED_FROM)
        *out = UINT64_MAX;
    return true;
}

/* "123 456 789": one number per CPU. */
static void numbers(const char *dir, const char *file, uint64_t **out, size_t *n)
{
    autofree char *s = cg_read_opt(dir, file);
    for (char *p = s; p && *p;) {
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p)
            break;
        *out = xrealloc(*out, (*n + 1) * sizeof **out);
        (*out)[(*n)++] = v;
        p = end;
    }
}

static void read_raw(const char *dir, cgroup_stats_detail *d)
{
    autofree char *s = cg_read_opt(dir, "memory.stat");
    for (char *save = NULL, *l = s ? strtok_r(s, "\n", &save) : NULL; l;
         l = strtok_r(NULL, "\n", &save)) {
        cgroup_stat_kv kv;
        unsigned long long v;
        if (sscanf(l, "%63s %llu", kv.key, &v) != 2)
            continue;
        kv.value = v;
        d->raw = xrealloc(d->raw, (d->n_raw + 1) * sizeof *d->raw);
        d->raw[d->n_raw++] = kv;
    }
}

static void add_io(cgroup_blkio_entry **v, size_t *n, uint64_t maj, uint64_t min,
                   const char *op, uint64_t value)
{
    *v = xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = (cgroup_blkio_entry){maj, min, op, value};
}

/* v1 "8:0 Read 4096" lines (and a "Total N" line that runc skips). */
static void io_v1(const char *dir, const char *file, cgroup_blkio_entry **v, size_t *n)
{
    static const char *const ops[] = {"Read", "Write", "Sync", "Async", "Discard", "Total"};
    autofree char *s = cg_read_opt(dir, file);
    for (char *save = NULL, *l = s ? strtok_r(s, "\n", &save) : NULL; l;
         l = strtok_r(NULL, "\n", &save)) {
        unsigned long long maj, min, val;
        char op[16];
        if (sscanf(l, "%llu:%llu %15s %llu", &maj, &min, op, &val) != 4)
            continue;
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
            if (!strcmp(op, ops[i]))
                add_io(v, n, maj, min, ops[i], val);
    }
}

/* v2 io.stat "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6". */
static void io_v2(const char *dir, cgroup_stats_detail *d)
{
    autofree char *s = cg_read_opt(dir, "io.stat");
    for (char *save = NULL, *l = s ? strtok_r(s, "\n", &save) : NULL; l;
         l = strtok_r(NULL, "\n", &save)) {
        unsigned long long maj, min, rb = 0, wb = 0, ri = 0, wi = 0;
        int k = 0;
        if (sscanf(l, "%llu:%llu%n", &maj, &min, &k) != 2)
            continue;
        for (char *t = strtok(l + k, " "); t; t = strtok(NULL, " ")) {
            sscanf(t, "rbytes=%llu", &rb);
            sscanf(t, "wbytes=%llu", &wb);
            sscanf(t, "rios=%llu", &ri);
            sscanf(t, "wios=%llu", &wi);
        }
        add_io(&d->io_bytes, &d->n_io_bytes, maj, min, "Read", rb);
        add_io(&d->io_bytes, &d->n_io_bytes, maj, min, "Write", wb);
        add_io(&d->io_ops, &d->n_io_ops, maj, min, "Read", ri);
        add_io(&d->io_ops, &d->n_io_ops, maj, min, "Write", wi);
    }
}

/* Page sizes from the file names: hugetlb.2MB.usage_in_bytes (v1) or
 * hugetlb.2MB.current (v2); reservations (rsvd) are left out, as runc does. */
static void read_hugetlb(const char *dir, bool v2, cgroup_stats_detail *d)
{
    const char *suffix = v2 ? ".current" : ".usage_in_bytes";
    DIR *dp = opendir(dir);
    struct dirent *de;
    while (dp && (de = readdir(dp))) {
        size_t len = strlen(de->d_name), sl = strlen(suffix);
        if (strncmp(de->d_name, "hugetlb.", 8) || len <= 8 + sl ||
            strcmp(de->d_name + len - sl, suffix) || strstr(de->d_name, "rsvd"))
            continue;
        cgroup_hugetlb_entry h = {0};
        snprintf(h.size, sizeof h.size, "%.*s", (int)(len - 8 - sl), de->d_name + 8);
        autofree char *cur = xasprintf("hugetlb.%s%s", h.size, suffix);
        rd_limit(dir, cur, &h.usage);
        if (v2) {
            autofree char *ev = xasprintf("hugetlb.%s.events", h.size);
            autofree char *s = cg_read_opt(dir, ev);
            unsigned long long v;
            if (s && sscanf(s, "max %llu", &v) == 1)
                h.failcnt = v;
        } else {
            autofree char *mx = xasprintf("hugetlb.%s.max_usage_in_bytes", h.size);
            autofree char *fc = xasprintf("hugetlb.%s.failcnt", h.size);
            rd_limit(dir, mx, &h.max);
            rd_limit(dir, fc, &h.failcnt);
        }
        d->hugetlb = xrealloc(d->hugetlb, (d->n_hugetlb + 1) * sizeof *d->hugetlb);
        d->hugetlb[d->n_hugetlb++] = h;
    }
    if (dp)
        closedir(dp);
}

/* The directory serving a controller: v1 where mounted (hybrid hosts),
 * else the cgroup2 one. NULL when neither has it. */
static char *ctl_dir(const cg_host *host, const char *path, const char *v1, bool *v2)
{
    const cg_hier *h = host->mode != CG_UNIFIED ? cg_host_v1(host, v1) : NULL;
    if (!h)
        h = cg_host_v2(host);
    capsa_err e;
    char *dir = NULL;
    if (!h || cg_resolve(host, h, path, NULL, NULL, &dir, &e) < 0 || !cg_dir_exists(dir)) {
        free(dir);
        return NULL;
    }
    *v2 = h->v2;
    return dir;
}

int cgroup_stats_detail_read(const char *path, cgroup_stats_detail *d, capsa_err *e)
{
    memset(d, 0, sizeof *d);
    cg_host host;
    int r = cg_check_path(path, e);
    if (r < 0 || (r = cg_host_load(&host, e)) < 0)
        return r;
    bool v2 = false;
    autofree char *acct = host.mode != CG_UNIFIED && cg_host_v1(&host, "cpuacct")
                              ? ctl_dir(&host, path, "cpuacct", &v2) : NULL;
    if (acct && !v2) {
        numbers(acct, "cpuacct.usage_percpu", &d->percpu, &d->n_percpu);
        numbers(acct, "cpuacct.usage_percpu_user", &d->percpu_user, &d->n_percpu_user);
        numbers(acct, "cpuacct.usage_percpu_sys", &d->percpu_kernel, &d->n_percpu_kernel);
    }
    autofree char *mem = ctl_dir(&host, path, "memory", &v2);
    if (mem) {
        read_raw(mem, d);
        if (!v2 && rd_limit(mem, "memory.kmem.usage_in_bytes", &d->kmem_usage)) {
            d->has_kmem = true;
            rd_limit(mem, "memory.kmem.limit_in_bytes", &d->kmem_limit);
            rd_limit(mem, "memory.kmem.max_usage_in_bytes", &d->kmem_max);
            rd_limit(mem, "memory.kmem.failcnt", &d->kmem_failcnt);
        }
    }
    autofree char *io = ctl_dir(&host, path, "blkio", &v2);
    if (io && v2) {
        io_v2(io, d);
    } else if (io) {
        io_v1(io, "blkio.throttle.io_service_bytes_recursive", &d->io_bytes, &d->n_io_bytes);
        io_v1(io, "blkio.throttle.io_serviced_recursive", &d->io_ops, &d->n_io_ops);
    }
    autofree char *huge = ctl_dir(&host, path, "hugetlb", &v2);
    if (huge)
        read_hugetlb(huge, v2, d);
    cg_host_free(&host);
    return 0;
}

void cgroup_stats_detail_free(cgroup_stats_detail *d)
{
    free(d->percpu);
    free(d->percpu_user);
    free(d->percpu_kernel);
    free(d->raw);
    free(d->io_bytes);
    free(d->io_ops);
    free(d->hugetlb);
    memset(d, 0, sizeof *d);
}
