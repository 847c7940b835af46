/* events: runc's event stream. --stats prints one {"type":"stats",...}
 * object and exits; without it, stats every --interval and {"type":"oom"}
 * whenever the kernel OOM-kills in the container, until it stops. The data
 * object has runc's shape (types/events.go) plus what runc lacks: "oom"
 * counters, memory "events" and "psi". */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "util/units.h"

/* JSON integers are signed 64-bit here: "unlimited" (UINT64_MAX) becomes
 * INT64_MAX, close to what runc prints on cgroup v1 (PAGE_COUNTER_MAX). */
static json_t *u64(uint64_t v)
{
    return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* runc marks most counters omitempty: absent when 0. */
static void set_nz(json_t *o, const char *k, uint64_t v)
{
    if (v)
        json_object_set_new(o, k, u64(v));
}

static json_t *psi_data(const cgroup_psi *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "avg10", json_real(p->avg10));
    json_object_set_new(o, "avg60", json_real(p->avg60));
    json_object_set_new(o, "avg300", json_real(p->avg300));
    json_object_set_new(o, "total", u64(p->total_us));
    return o;
}

static void add_psi(json_t *o, const char *k, const cgroup_psi *some, const cgroup_psi *full)
{
    if (!some->present && !(full && full->present))
        return;
    json_t *p = json_object();
    if (some->present)
        json_object_set_new(p, "some", psi_data(some));
    if (full && full->present)
        json_object_set_new(p, "full", psi_data(full));
    json_object_set_new(o, k, p);
}

static json_t *u64_array(const uint64_t *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, u64(v[i]));
    return a;
}

static json_t *cpu_json(const cgroup_stats *s, const cgroup_stats_detail *d)
{
    json_t *usage = json_object(), *thr = json_object(), *cpu = json_object();
    set_nz(usage, "total", s->cpu_usage_ns);
    if (d->n_percpu)   /* cgroup v1 cpuacct only, as in runc */
        json_object_set_new(usage, "percpu", u64_array(d->percpu, d->n_percpu));
    if (d->n_percpu_kernel)
        json_object_set_new(usage, "percpu_kernel", u64_array(d->percpu_kernel, d->n_percpu_kernel));
    if (d->n_percpu_user)
        json_object_set_new(usage, "percpu_user", u64_array(d->percpu_user, d->n_percpu_user));
    json_object_set_new(usage, "kernel", u64(s->cpu_system_ns));
    json_object_set_new(usage, "user", u64(s->cpu_user_ns));
    set_nz(thr, "periods", s->nr_periods);
    set_nz(thr, "throttledPeriods", s->nr_throttled);
    set_nz(thr, "throttledTime", s->throttled_ns);
    json_object_set_new(cpu, "usage", usage);
    json_object_set_new(cpu, "throttling", thr);
    return cpu;
}

static json_t *mem_entry(uint64_t limit, uint64_t usage, uint64_t max, uint64_t failcnt)
{
    json_t *o = json_object();
    json_object_set_new(o, "limit", u64(limit));
    set_nz(o, "usage", usage);
    set_nz(o, "max", max);
    json_object_set_new(o, "failcnt", u64(failcnt));
    return o;
}

static json_t *memory_json(const cgroup_stats *s, const cgroup_stats_detail *d)
{
    json_t *m = json_object();
    set_nz(m, "cache", s->mem_cache);
    json_object_set_new(m, "usage", mem_entry(s->mem_limit, s->mem_usage, s->mem_peak,
                                              s->mem_failcnt));
    /* runc's swap is v1 memsw, memory + swap (it converts v2 to it too). */
    uint64_t sw_limit = s->mem_limit == CG_UNLIMITED || s->swap_limit == CG_UNLIMITED
                            ? CG_UNLIMITED : s->mem_limit + s->swap_limit;
    json_object_set_new(m, "swap", mem_entry(sw_limit, s->mem_usage + s->swap_usage, 0, 0));
    if (d->has_kmem)
        json_object_set_new(m, "kernel", mem_entry(d->kmem_limit, d->kmem_usage, d->kmem_max,
                                                   d->kmem_failcnt));
    json_t *raw = json_object();
    for (size_t i = 0; i < d->n_raw; i++)
        json_object_set_new(raw, d->raw[i].key, u64(d->raw[i].value));
    if (json_object_size(raw))
        json_object_set_new(m, "raw", raw);
    else
        json_decref(raw);
    json_object_set_new(m, "events", json_pack("{s:o, s:o, s:o, s:o}", "high",
                                               u64(s->mem_high_events), "max",
                                               u64(s->mem_max_events), "oom", u64(s->oom_events),
                                               "oom_kill", u64(s->oom_kill)));
    return m;
}

static json_t *blkio_entries(const cgroup_blkio_entry *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        set_nz(o, "major", v[i].major);
        set_nz(o, "minor", v[i].minor);
        json_object_set_new(o, "op", json_string(v[i].op));
        set_nz(o, "value", v[i].value);
        json_array_append_new(a, o);
    }
    return a;
}

/* Per device, as runc: v1 blkio.throttle.*_recursive, v2 io.stat. */
static json_t *blkio_json(const cgroup_stats_detail *d)
{
    json_t *b = json_object();
    if (d->n_io_bytes)
        json_object_set_new(b, "ioServiceBytesRecursive", blkio_entries(d->io_bytes, d->n_io_bytes));
    if (d->n_io_ops)
        json_object_set_new(b, "ioServicedRecursive", blkio_entries(d->io_ops, d->n_io_ops));
    return b;
}

static json_t *hugetlb_json(const cgroup_stats_detail *d)
{
    json_t *h = json_object();
    for (size_t i = 0; i < d->n_hugetlb; i++) {
        json_t *o = json_object();
        set_nz(o, "usage", d->hugetlb[i].usage);
        set_nz(o, "max", d->hugetlb[i].max);
        json_object_set_new(o, "failcnt", u64(d->hugetlb[i].failcnt));
        json_object_set_new(h, d->hugetlb[i].size, o);
    }
    return h;
}

static json_t *stats_json(const cgroup_stats *s, const cgroup_stats_detail *det)
{
    json_t *d = json_object();
    json_object_set_new(d, "cpu", cpu_json(s, det));
    json_object_set_new(d, "memory", memory_json(s, det));
    json_t *pids = json_object();
    set_nz(pids, "current", s->pids_current);
    if (s->pids_limit != CG_UNLIMITED)   /* runc: 0 (omitted) for "max" */
        set_nz(pids, "limit", s->pids_limit);
    json_object_set_new(d, "pids", pids);
    json_object_set_new(d, "blkio", blkio_json(det));
    json_object_set_new(d, "hugetlb", hugetlb_json(det));
    json_object_set_new(d, "oom", json_pack("{s:o, s:o}", "events", u64(s->oom_events),
                                            "kills", u64(s->oom_kill)));
    json_t *psi = json_object();
    add_psi(psi, "cpu", &s->psi_cpu_some, &s->psi_cpu_full);
    add_psi(psi, "memory", &s->psi_mem_some, &s->psi_mem_full);
    add_psi(psi, "io", &s->psi_io_some, &s->psi_io_full);
    if (json_object_size(psi))
        json_object_set_new(d, "psi", psi);
    else
        json_decref(psi);
    return d;
}

static int emit(json_t *ev, capsa_err *e)
{
    char *text = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(ev);
    /* One event per line, flushed: a reader sees each as it happens. */
    int r = puts(text) < 0 || fflush(stdout) ? cerr_sys(e, errno ? errno : EIO, "write event") : 0;
    free(text);
    return r;
}

/* What was told already: a {"type":"limit"} line comes when refused forks
 * grow, or when the container becomes mostly throttled (OOM kills have their
 * own "oom" events). */
struct told {
    uint64_t pids_refused;
    bool throttled;
};

static int limit_events(const char *id, const cgroup_stats *s, struct told *t, capsa_err *e)
{
    char hits[3][CG_LIMIT_HIT_LEN];
    size_t n = cgroup_limit_hits(s, hits, 3);
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        bool pids = strstr(hits[i], "pids limit") != NULL;
        bool cpu = strstr(hits[i], "cpu throttled") != NULL;
        if ((pids && s->pids_max_events > t->pids_refused) || (cpu && !t->throttled))
            r = emit(json_pack("{s:s, s:s, s:{s:s}}", "type", "limit", "id", id, "data",
                               "message", hits[i]), e);
    }
    if (s->has_pids)
        t->pids_refused = s->pids_max_events;
    t->throttled = t->throttled || (s->nr_periods >= 20 && 2 * s->nr_throttled > s->nr_periods);
    return r;
}

static int print_event(const char *id, rt_event_type type, const cgroup_stats *s,
                       const cgroup_stats_detail *d, void *arg, capsa_err *e)
{
    json_t *ev = json_pack("{s:s, s:s}", "type", type == RT_EVENT_OOM ? "oom" : "stats", "id", id);
    if (type == RT_EVENT_STATS)
        json_object_set_new(ev, "data", stats_json(s, d));
    int r = emit(ev, e);
    if (r == 0 && type == RT_EVENT_STATS && arg)
        r = limit_events(id, s, arg, e);
    return r;
}

int cmd_events(cmd_ctx *c, int argc, char **argv, capsa_err *e)
{
    enum { OPT_STATS = 256, OPT_INTERVAL };
    static const struct option opts[] = {{"stats", no_argument, NULL, OPT_STATS},
                                         {"interval", required_argument, NULL, OPT_INTERVAL},
                                         {NULL, 0, NULL, 0}};
    bool once = false;
    uint64_t interval = 5000000000u;
    int opt, r;
    optind = 0;
    while ((r = cmd_getopt(cmd_find("events"), argc, argv, "", opts, &opt, e)) == 0 && opt != -1) {
        if (opt == OPT_STATS)
            once = true;
        else if (opt == OPT_INTERVAL &&
                 (units_parse_duration(optarg, &interval) < 0 || interval == 0))
            return cerr_set(e, EINVAL, "--interval: \"%s\" is not a duration above 0 (like 5s, "
                            "500ms, 1m)", optarg);
    }
    if (r)
        return r < 0 ? r : 0;
    if ((r = cmd_need_args("events", argc, 1, 1, e)) < 0)
        return r;
    struct told told = {0};
    return rt_events(&c->rt, argv[optind], interval, once, print_event, once ? NULL : &told, e);
}
