/* Reading a cgroup's usage and limits (read-only). v1 and v2 files fill the
 * same struct, so `capsa stats`, `audit`, `limits` and `events --stats` never
 * care which version a number came from. Missing files leave their fields at
 * 0 (has_* false when a whole controller is absent): a partial answer beats
 * an error for a monitoring tool. */
#include "cgroup/stats.h"
#include "cgroup/convert.h"
#include "cgroup/internal.h"
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static uint64_t v1_limit(uint64_t v)
{
    return v >= CG_V1_UNLIMITED_FROM ? CG_UNLIMITED : v;
}

/* "key value" line of a flat keyed file (memory.stat, cpu.stat, ...). */
static bool kv(const char *text, const char *key, uint64_t *out)
{
    size_t kl = strlen(key);
    for (const char *l = text; l && *l;) {
        if (!strncmp(l, key, kl) && l[kl] == ' ') {
            *out = strtoull(l + kl + 1, NULL, 10);
            return true;
        }
        l = strchr(l, '\n');
        if (l)
            l++;
    }
    return false;
}

/* "key=value" anywhere on one line of a nested keyed file (io.stat). */
static uint64_t kv_eq(const char *line, size_t len, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = line; p < line + len;) {
        p += strspn(p, " ");
        if ((size_t)(line + len - p) > kl && !strncmp(p, key, kl) && p[kl] == '=')
            return strtoull(p + kl + 1, NULL, 10);
        p += strcspn(p, " \n");
    }
    return 0;
}

bool cgroup_psi_parse(const char *text, const char *kind, cgroup_psi *out)
{
    size_t kl = strlen(kind);
    for (const char *l = text; l && *l;) {
        if (!strncmp(l, kind, kl) && l[kl] == ' ') {
            cgroup_psi p = {.present = true};
            unsigned long long total = 0;
            if (sscanf(l + kl, " avg10=%lf avg60=%lf avg300=%lf total=%llu", &p.avg10,
                       &p.avg60, &p.avg300, &total) != 4)
                return false;
            p.total_us = total;
            *out = p;
            return true;
        }
        l = strchr(l, '\n');
        if (l)
            l++;
    }
    return false;
}

unsigned cgroup_cpulist_count(const char *list)
{
    unsigned n = 0;
    const char *p = list;
    while (p && *p && *p != '\n') {
        char *end;
        unsigned long a = strtoul(p, &end, 10), b = a;
        if (end == p)
            return 0;
        p = end;
        if (*p == '-') {
            b = strtoul(p + 1, &end, 10);
            if (end == p + 1 || b < a)
                return 0;
            p = end;
        }
        n += (unsigned)(b - a + 1);
        if (*p == ',')
            p++;
        else if (*p && *p != '\n')
            return 0;
    }
    return n;
}

/* Parent directory of dir, or NULL once dir is top (the walk never leaves
 * the hierarchy's mount). */
static char *parent_below(const char *dir, const char *top)
{
    size_t tl = strlen(top);
    if (strlen(dir) <= tl)
        return NULL;
    const char *slash = strrchr(dir, '/');
    if (!slash || (size_t)(slash - dir) < tl)
        return NULL;
    return cg_strndup(dir, (size_t)(slash - dir));
}

/* Smallest value of `file` over dir and its ancestors up to top. */
static uint64_t walk_min(const cgroup_stats_dir *d, const char *file, bool v1_mem)
{
    uint64_t best = CG_UNLIMITED;
    autofree char *cur = xstrdup(d->dir);
    while (cur) {
        uint64_t v;
        if (cg_read_u64(cur, file, &v)) {
            if (v1_mem)
                v = v1_limit(v);
            if (v < best)
                best = v;
        }
        char *up = d->top ? parent_below(cur, d->top) : NULL;
        free(cur);
        cur = up;
    }
    return best;
}

/* CPUs allowed by a quota in dir or any ancestor: min(quota/period). */
static double walk_cpu(const cgroup_stats_dir *d)
{
    double best = 0;
    autofree char *cur = xstrdup(d->dir);
    while (cur) {
        uint64_t quota = CG_UNLIMITED, period = 0;
        if (d->v2) {
            autofree char *s = cg_read_opt(cur, "cpu.max");
            char q[32];
            unsigned long long p;
            if (s && sscanf(s, "%31s %llu", q, &p) == 2 && strcmp(q, "max")) {
                quota = strtoull(q, NULL, 10);
                period = p;
            }
        } else {
            cg_read_u64(cur, "cpu.cfs_quota_us", &quota);
            cg_read_u64(cur, "cpu.cfs_period_us", &period);
        }
        if (quota != CG_UNLIMITED && period) {
            double cpus = (double)quota / (double)period;
            if (best == 0 || cpus < best)
                best = cpus;
        }
        char *up = d->top ? parent_below(cur, d->top) : NULL;
        free(cur);
        cur = up;
    }
    return best;
}

static void read_cpu(const cgroup_stats_dirs *d, cgroup_stats *o)
{
    const cgroup_stats_dir *c = &d->cpu;
    if (c->dir && cg_dir_exists(c->dir)) {
        autofree char *st = cg_read_opt(c->dir, "cpu.stat");
        if (c->v2) {
            autofree char *max = cg_read_opt(c->dir, "cpu.max");
            char q[32];
            unsigned long long p;
            if (max && sscanf(max, "%31s %llu", q, &p) == 2) {
                o->has_cpu = true;
                o->cpu_quota_us = strcmp(q, "max") ? strtoull(q, NULL, 10) : CG_UNLIMITED;
                o->cpu_period_us = p;
            }
            cg_read_u64(c->dir, "cpu.weight", &o->cpu_weight);
            uint64_t us;
            if (st && kv(st, "throttled_usec", &us))
                o->throttled_ns = us * 1000;
        } else {
            uint64_t shares = 0;
            o->has_cpu = cg_read_u64(c->dir, "cpu.cfs_quota_us", &o->cpu_quota_us);
            cg_read_u64(c->dir, "cpu.cfs_period_us", &o->cpu_period_us);
            if (cg_read_u64(c->dir, "cpu.shares", &shares))
                o->cpu_weight = cg_shares_to_weight(shares);
            if (st)
                kv(st, "throttled_time", &o->throttled_ns);
        }
        if (st) {
            kv(st, "nr_periods", &o->nr_periods);
            kv(st, "nr_throttled", &o->nr_throttled);
        }
        o->cpu_limit_eff = walk_cpu(c);
    }
    /* Usage: v1 cpuacct, else cgroup v2 cpu.stat (a core file: present even
     * without the cpu controller, so hybrid hosts have it too). */
    const cgroup_stats_dir *a = d->cpuacct.dir ? &d->cpuacct : NULL;
    if (a && cg_dir_exists(a->dir) && !a->v2) {
        o->has_cpu |= cg_read_u64(a->dir, "cpuacct.usage", &o->cpu_usage_ns);
        if (!cg_read_u64(a->dir, "cpuacct.usage_user", &o->cpu_user_ns) ||
            !cg_read_u64(a->dir, "cpuacct.usage_sys", &o->cpu_system_ns)) {
            autofree char *s = cg_read_opt(a->dir, "cpuacct.stat");  /* USER_HZ ticks */
            long hz = sysconf(_SC_CLK_TCK);
            uint64_t t;
            if (s && hz > 0 && kv(s, "user", &t))
                o->cpu_user_ns = t * (1000000000ull / (uint64_t)hz);
            if (s && hz > 0 && kv(s, "system", &t))
                o->cpu_system_ns = t * (1000000000ull / (uint64_t)hz);
        }
        return;
    }
    const char *u = d->cpu.v2 && d->cpu.dir ? d->cpu.dir : d->unified.dir;
    autofree char *st = u ? cg_read_opt(u, "cpu.stat") : NULL;
    uint64_t us;
    if (st && kv(st, "usage_usec", &us)) {
        o->has_cpu = true;
        o->cpu_usage_ns = us * 1000;
        if (kv(st, "user_usec", &us))
            o->cpu_user_ns = us * 1000;
        if (kv(st, "system_usec", &us))
            o->cpu_system_ns = us * 1000;
    }
}

static void read_cpuset(const cgroup_stats_dir *c, cgroup_stats *o)
{
    if (!c->dir)
        return;
    autofree char *s = cg_read_opt(c->dir, c->v2 ? "cpuset.cpus.effective" : "cpuset.effective_cpus");
    if (!s)
        s = cg_read_opt(c->dir, "cpuset.cpus");
    if (s) {
        snprintf(o->cpuset_cpus, sizeof o->cpuset_cpus, "%s", s);
        o->cpuset_ncpus = cgroup_cpulist_count(s);
    }
}

/* The root cgroup: no limit; usage is the host's (MemTotal - MemAvailable). */
static void root_memory(cgroup_stats *o)
{
    autofree char *mi = cg_read_opt("/proc", "meminfo");
    uint64_t total = 0, avail = 0;
    char *p;
    if (mi && (p = strstr(mi, "MemTotal:")))
        total = strtoull(p + 9, NULL, 10) * 1024;
    if (mi && (p = strstr(mi, "MemAvailable:")))
        avail = strtoull(p + 13, NULL, 10) * 1024;
    o->has_memory = true;
    o->mem_usage = total > avail ? total - avail : 0;
}

static void read_memory(const cgroup_stats_dir *m, cgroup_stats *o)
{
    if (!m->dir || !cg_dir_exists(m->dir))
        return;
    autofree char *st = cg_read_opt(m->dir, "memory.stat");
    if (m->v2) {
        if (!cg_read_u64(m->dir, "memory.current", &o->mem_usage)) {
            /* The v2 root has no memory files and no limit: it is the whole host. */
            if (m->top && !strcmp(m->dir, m->top))
                root_memory(o);
            return;
        }
        o->has_memory = true;
        cg_read_u64(m->dir, "memory.max", &o->mem_limit);
        cg_read_u64(m->dir, "memory.peak", &o->mem_peak);
        cg_read_u64(m->dir, "memory.swap.current", &o->swap_usage);
        if (!cg_read_u64(m->dir, "memory.swap.max", &o->swap_limit))
            o->swap_limit = CG_UNLIMITED;
        autofree char *ev = cg_read_opt(m->dir, "memory.events");
        if (ev) {
            kv(ev, "oom", &o->oom_events);
            kv(ev, "oom_kill", &o->oom_kill);
            kv(ev, "high", &o->mem_high_events);
            kv(ev, "max", &o->mem_max_events);
        }
        o->mem_failcnt = o->mem_max_events;
        if (st) {
            kv(st, "file", &o->mem_cache);
            kv(st, "anon", &o->mem_rss);
        }
        o->mem_limit_eff = walk_min(m, "memory.max", false);
        return;
    }
    if (!cg_read_u64(m->dir, "memory.usage_in_bytes", &o->mem_usage))
        return;
    o->has_memory = true;
    uint64_t v = CG_UNLIMITED;
    cg_read_u64(m->dir, "memory.limit_in_bytes", &v);
    o->mem_limit = v1_limit(v);
    cg_read_u64(m->dir, "memory.max_usage_in_bytes", &o->mem_peak);
    cg_read_u64(m->dir, "memory.failcnt", &o->mem_failcnt);
    o->mem_max_events = o->mem_failcnt;
    /* v1 memsw counts memory + swap: swap is the difference. */
    uint64_t sw = 0, swl = CG_UNLIMITED;
    o->swap_limit = CG_UNLIMITED;
    if (cg_read_u64(m->dir, "memory.memsw.usage_in_bytes", &sw))
        o->swap_usage = sw > o->mem_usage ? sw - o->mem_usage : 0;
    if (cg_read_u64(m->dir, "memory.memsw.limit_in_bytes", &swl) && v1_limit(swl) != CG_UNLIMITED)
        o->swap_limit = o->mem_limit != CG_UNLIMITED && swl > o->mem_limit
                            ? swl - o->mem_limit : 0;
    autofree char *oc = cg_read_opt(m->dir, "memory.oom_control");
    /* v1 has no separate "oom" event count: the kill count stands for both. */
    if (oc && kv(oc, "oom_kill", &o->oom_kill))
        o->oom_events = o->oom_kill;
    uint64_t hl;
    if (st && (kv(st, "total_cache", &o->mem_cache) || kv(st, "cache", &o->mem_cache)))
        if (!kv(st, "total_rss", &o->mem_rss))
            kv(st, "rss", &o->mem_rss);
    if (st && kv(st, "hierarchical_memory_limit", &hl))
        o->mem_limit_eff = v1_limit(hl);
    else
        o->mem_limit_eff = walk_min(m, "memory.limit_in_bytes", true);
    if (o->mem_limit < o->mem_limit_eff)
        o->mem_limit_eff = o->mem_limit;
}

static void read_pids(const cgroup_stats_dir *p, cgroup_stats *o)
{
    if (!p->dir || !cg_dir_exists(p->dir))
        return;
    if (!cg_read_u64(p->dir, "pids.current", &o->pids_current)) {
        /* The root cgroup has no pids files: no limit can apply there. */
        o->has_pids = p->top && !strcmp(p->dir, p->top);
        o->pids_current = 0;
        return;
    }
    o->has_pids = true;
    if (!cg_read_u64(p->dir, "pids.max", &o->pids_limit))
        o->pids_limit = CG_UNLIMITED;
    autofree char *ev = cg_read_opt(p->dir, "pids.events");
    if (ev)
        kv(ev, "max", &o->pids_max_events);
    o->pids_limit_eff = walk_min(p, "pids.max", false);
}

static void io_append(cgroup_stats *o, const char *line)
{
    size_t n = strlen(o->io_max);
    snprintf(o->io_max + n, sizeof o->io_max - n, "%s%s", n ? "\n" : "", line);
}

/* v1 throttle files: "8:0 1048576" lines, merged into io.max syntax. */
static void io_v1_limits(const char *dir, cgroup_stats *o)
{
    static const struct {
        const char *file, *key;
    } f[] = {{"blkio.throttle.read_bps_device", "rbps"},
             {"blkio.throttle.write_bps_device", "wbps"},
             {"blkio.throttle.read_iops_device", "riops"},
             {"blkio.throttle.write_iops_device", "wiops"}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        autofree char *s = cg_read_opt(dir, f[i].file);
        for (char *l = s; l && *l;) {
            char *nl = strchrnul(l, '\n');
            char dev[32];
            unsigned long long v;
            if (sscanf(l, "%31s %llu", dev, &v) == 2 && v) {
                char line[96];
                snprintf(line, sizeof line, "%s %s=%llu", dev, f[i].key, v);
                io_append(o, line);
                o->io_throttled = true;
            }
            l = *nl ? nl + 1 : nl;
        }
    }
}

/* v1 "8:0 Read 123" lines; the _recursive files include sub-cgroups. */
static void io_v1_sum(const char *dir, const char *file, uint64_t *rd_sum, uint64_t *wr_sum)
{
    autofree char *rec = xasprintf("%s_recursive", file);
    autofree char *s = cg_read_opt(dir, rec);
    if (!s)
        s = cg_read_opt(dir, file);
    for (char *l = s; l && *l;) {
        char *nl = strchrnul(l, '\n');
        char dev[32], op[16];
        unsigned long long v;
        if (sscanf(l, "%31s %15s %llu", dev, op, &v) == 3) {
            if (!strcmp(op, "Read"))
                *rd_sum += v;
            else if (!strcmp(op, "Write"))
                *wr_sum += v;
        }
        l = *nl ? nl + 1 : nl;
    }
}

static void read_io(const cgroup_stats_dir *d, cgroup_stats *o)
{
    if (!d->dir || !cg_dir_exists(d->dir))
        return;
    if (!d->v2) {
        o->has_io = cg_has_file(d->dir, "blkio.throttle.io_service_bytes");
        if (!o->has_io)
            return;
        io_v1_sum(d->dir, "blkio.throttle.io_service_bytes", &o->io_read_bytes,
                  &o->io_write_bytes);
        io_v1_sum(d->dir, "blkio.throttle.io_serviced", &o->io_read_ops, &o->io_write_ops);
        io_v1_limits(d->dir, o);
        return;
    }
    autofree char *st = cg_read_opt(d->dir, "io.stat");
    autofree char *max = cg_read_opt(d->dir, "io.max");
    o->has_io = st || max;
    for (char *l = st; l && *l;) {
        char *nl = strchrnul(l, '\n');
        size_t len = (size_t)(nl - l);
        o->io_read_bytes += kv_eq(l, len, "rbytes");
        o->io_write_bytes += kv_eq(l, len, "wbytes");
        o->io_read_ops += kv_eq(l, len, "rios");
        o->io_write_ops += kv_eq(l, len, "wios");
        l = *nl ? nl + 1 : nl;
    }
    for (char *l = max; l && *l;) {
        char *nl = strchrnul(l, '\n');
        autofree char *line = cg_strndup(l, (size_t)(nl - l));
        autofree char *copy = xstrdup(line);
        /* A line with every key at "max" is no limit. */
        bool limited = false;
        char *save = NULL;
        strtok_r(copy, " ", &save);  /* MAJ:MIN */
        for (char *t; (t = strtok_r(NULL, " ", &save));) {
            char *eq = strchr(t, '=');
            if (eq && strcmp(eq + 1, "max"))
                limited = true;
        }
        if (limited) {
            io_append(o, line);
            o->io_throttled = true;
        }
        l = *nl ? nl + 1 : nl;
    }
}

/* Device programs attached to dir or inherited from its ancestors. */
static int v2_device_progs(const char *dir)
{
    autoclose int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.query.target_fd = (uint32_t)fd;
    a.query.attach_type = BPF_CGROUP_DEVICE;
    a.query.query_flags = BPF_F_QUERY_EFFECTIVE;
    if (syscall(__NR_bpf, BPF_PROG_QUERY, &a, sizeof a) < 0)
        return -1;
    return (int)a.query.prog_cnt;
}

static void read_devices(const cgroup_stats_dir *d, cgroup_stats *o)
{
    o->devices_progs = -1;
    if (!d->dir || !cg_dir_exists(d->dir))
        return;
    if (d->v2) {
        o->devices_progs = v2_device_progs(d->dir);
        o->has_devices = o->devices_progs >= 0;
        o->devices_allow_all = o->devices_progs == 0;
        return;
    }
    autofree char *s = cg_read_opt(d->dir, "devices.list");
    if (!s)
        return;
    o->has_devices = true;
    snprintf(o->devices_list, sizeof o->devices_list, "%s", s);
    o->devices_allow_all = strstr(s, "a *:* rwm") != NULL;
}

static void read_psi(const char *dir, cgroup_stats *o)
{
    if (!dir)
        return;
    autofree char *c = cg_read_opt(dir, "cpu.pressure");
    autofree char *m = cg_read_opt(dir, "memory.pressure");
    autofree char *i = cg_read_opt(dir, "io.pressure");
    if (c) {
        cgroup_psi_parse(c, "some", &o->psi_cpu_some);
        cgroup_psi_parse(c, "full", &o->psi_cpu_full);
    }
    if (m) {
        cgroup_psi_parse(m, "some", &o->psi_mem_some);
        cgroup_psi_parse(m, "full", &o->psi_mem_full);
    }
    if (i) {
        cgroup_psi_parse(i, "some", &o->psi_io_some);
        cgroup_psi_parse(i, "full", &o->psi_io_full);
    }
}

/* Nothing read yet: every limit "none". */
static void stats_init(cgroup_stats *out)
{
    memset(out, 0, sizeof *out);
    out->mode = cgroup_mode();
    out->mem_limit = out->swap_limit = out->pids_limit = CG_UNLIMITED;
    out->mem_limit_eff = out->pids_limit_eff = CG_UNLIMITED;
    out->cpu_quota_us = CG_UNLIMITED;
}

/* What cgroup_limit_hits needs beyond the OOM kills (which `run` reads on its
 * own): cpu and pids, a dozen files instead of forty at every `run` exit. */
int cgroup_stats_read_dirs_hits(const cgroup_stats_dirs *d, cgroup_stats *out, capsa_err *e)
{
    stats_init(out);
    read_cpu(d, out);
    read_pids(&d->pids, out);
    if (!out->has_cpu && !out->has_pids)
        return cerr_set(e, ENOENT, "no cpu or pids cgroup files found");
    return 0;
}

int cgroup_stats_read_dirs(const cgroup_stats_dirs *d, cgroup_stats *out, capsa_err *e)
{
    stats_init(out);
    read_cpu(d, out);
    read_cpuset(&d->cpuset, out);
    read_memory(&d->memory, out);
    read_pids(&d->pids, out);
    read_io(&d->io, out);
    read_devices(&d->devices, out);
    read_psi(d->unified.dir && cg_dir_exists(d->unified.dir) ? d->unified.dir : NULL, out);
    if (!out->has_cpu && !out->has_memory && !out->has_pids && !out->has_io &&
        !out->has_devices)
        return cerr_set(e, ENOENT, "no cgroup controller files found (cgroup %s)",
                        d->memory.dir ? d->memory.dir : d->unified.dir ? d->unified.dir : "?");
    return 0;
}
