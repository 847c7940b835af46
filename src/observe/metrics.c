/* Prometheus / OpenMetrics text of the host's containers (see metrics.h). */
#include "observe/metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "observe/audit.h"
#include "observe/target.h"

enum { GAUGE, COUNTER };

enum val {
    V_CPU, V_CPU_USER, V_CPU_SYS, V_PERIODS, V_THROTTLED, V_THROTTLED_S, V_QUOTA, V_PERIOD,
    V_CPU_LIMIT, V_MEM, V_MEM_PEAK, V_MEM_LIMIT, V_RSS, V_CACHE, V_SWAP, V_OOM, V_OOM_EVENTS,
    V_MEM_MAX_EVENTS, V_PIDS, V_PIDS_LIMIT, V_PIDS_HITS, V_IO_RB, V_IO_WB, V_IO_R, V_IO_W,
    V_PSI_CPU_SOME, V_PSI_CPU_FULL, V_PSI_MEM_SOME, V_PSI_MEM_FULL, V_PSI_IO_SOME, V_PSI_IO_FULL,
};

/* Names: cAdvisor's where the meaning is the same, capsa_container_* else.
 * Counters carry _total in the name; OpenMetrics' TYPE line names the family
 * without it. */
static const struct {
    const char *name, *help, *unit;
    int type;
    enum val v;
} fams[] = {
    {"container_cpu_usage_seconds_total", "CPU time consumed (cpuacct.usage, cpu.stat usage_usec)",
     "seconds", COUNTER, V_CPU},
    {"container_cpu_user_seconds_total", "CPU time consumed in user mode", "seconds", COUNTER,
     V_CPU_USER},
    {"container_cpu_system_seconds_total", "CPU time consumed in kernel mode", "seconds", COUNTER,
     V_CPU_SYS},
    {"container_cpu_cfs_periods_total", "Enforcement periods of the CPU quota that elapsed "
     "while runnable (nr_periods)", NULL, COUNTER, V_PERIODS},
    {"container_cpu_cfs_throttled_periods_total", "Periods in which the cgroup was throttled "
     "(nr_throttled)", NULL, COUNTER, V_THROTTLED},
    {"container_cpu_cfs_throttled_seconds_total", "Total time the cgroup was throttled "
     "(throttled_time, throttled_usec)", "seconds", COUNTER, V_THROTTLED_S},
    {"container_spec_cpu_quota", "CPU quota in microseconds per period (absent: no quota)", NULL,
     GAUGE, V_QUOTA},
    {"container_spec_cpu_period", "CPU quota period in microseconds", NULL, GAUGE, V_PERIOD},
    {"capsa_container_cpu_limit_cores", "CPUs the quota of the cgroup and its ancestors allows "
     "(absent: no quota)", NULL, GAUGE, V_CPU_LIMIT},
    {"container_memory_usage_bytes", "Memory in use, page cache included", "bytes", GAUGE, V_MEM},
    {"container_memory_max_usage_bytes", "Peak memory use (memory.peak, max_usage_in_bytes)",
     "bytes", GAUGE, V_MEM_PEAK},
    {"container_spec_memory_limit_bytes", "Effective memory limit: the tightest of the cgroup "
     "and its ancestors (absent: none)", "bytes", GAUGE, V_MEM_LIMIT},
    {"container_memory_rss", "Anonymous memory (rss, anon)", NULL, GAUGE, V_RSS},
    {"container_memory_cache", "Page cache (cache, file)", NULL, GAUGE, V_CACHE},
    {"container_memory_swap", "Swap in use", NULL, GAUGE, V_SWAP},
    {"container_oom_events_total", "Processes the kernel OOM killer killed in the cgroup "
     "(oom_kill)", NULL, COUNTER, V_OOM},
    {"capsa_container_memory_oom_total", "Times the cgroup hit its memory limit and the OOM "
     "killer ran (memory.events oom; v1: oom_kill)", NULL, COUNTER, V_OOM_EVENTS},
    {"capsa_container_memory_limit_hits_total", "Times usage hit the memory limit (memory.events "
     "max, v1 failcnt)", NULL, COUNTER, V_MEM_MAX_EVENTS},
    {"container_threads", "Tasks (threads) in the cgroup (pids.current)", NULL, GAUGE, V_PIDS},
    {"container_threads_max", "Effective pids limit: the tightest of the cgroup and its "
     "ancestors (absent: none)", NULL, GAUGE, V_PIDS_LIMIT},
    {"capsa_container_pids_limit_hits_total", "Forks refused at the pids limit (pids.events "
     "max)", NULL, COUNTER, V_PIDS_HITS},
    {"container_fs_reads_bytes_total", "Bytes read from block devices", "bytes", COUNTER, V_IO_RB},
    {"container_fs_writes_bytes_total", "Bytes written to block devices", "bytes", COUNTER,
     V_IO_WB},
    {"container_fs_reads_total", "Read operations on block devices", NULL, COUNTER, V_IO_R},
    {"container_fs_writes_total", "Write operations on block devices", NULL, COUNTER, V_IO_W},
    {"container_pressure_cpu_waiting_seconds_total", "Time some tasks waited for CPU (PSI cpu "
     "some)", "seconds", COUNTER, V_PSI_CPU_SOME},
    {"container_pressure_cpu_stalled_seconds_total", "Time all tasks stalled on CPU (PSI cpu "
     "full)", "seconds", COUNTER, V_PSI_CPU_FULL},
    {"container_pressure_memory_waiting_seconds_total", "Time some tasks waited for memory (PSI "
     "memory some)", "seconds", COUNTER, V_PSI_MEM_SOME},
    {"container_pressure_memory_stalled_seconds_total", "Time all tasks stalled on memory (PSI "
     "memory full)", "seconds", COUNTER, V_PSI_MEM_FULL},
    {"container_pressure_io_waiting_seconds_total", "Time some tasks waited for I/O (PSI io "
     "some)", "seconds", COUNTER, V_PSI_IO_SOME},
    {"container_pressure_io_stalled_seconds_total", "Time all tasks stalled on I/O (PSI io full)",
     "seconds", COUNTER, V_PSI_IO_FULL},
};

static bool psi_total(const cgroup_psi *p, double *v)
{
    *v = (double)p->total_us / 1e6;
    return p->present;
}

static bool value(enum val w, const cgroup_stats *s, double *v)
{
    switch (w) {
    case V_CPU: *v = (double)s->cpu_usage_ns / 1e9; return s->has_cpu;
    case V_CPU_USER: *v = (double)s->cpu_user_ns / 1e9; return s->has_cpu;
    case V_CPU_SYS: *v = (double)s->cpu_system_ns / 1e9; return s->has_cpu;
    case V_PERIODS: *v = (double)s->nr_periods; return s->has_cpu;
    case V_THROTTLED: *v = (double)s->nr_throttled; return s->has_cpu;
    case V_THROTTLED_S: *v = (double)s->throttled_ns / 1e9; return s->has_cpu;
    case V_QUOTA:
        *v = (double)s->cpu_quota_us;
        return s->has_cpu && s->cpu_quota_us != CG_UNLIMITED;
    case V_PERIOD: *v = (double)s->cpu_period_us; return s->has_cpu && s->cpu_period_us;
    case V_CPU_LIMIT: *v = s->cpu_limit_eff; return s->cpu_limit_eff > 0;
    case V_MEM: *v = (double)s->mem_usage; return s->has_memory;
    case V_MEM_PEAK: *v = (double)s->mem_peak; return s->has_memory && s->mem_peak;
    case V_MEM_LIMIT:
        *v = (double)s->mem_limit_eff;
        return s->has_memory && s->mem_limit_eff != CG_UNLIMITED;
    case V_RSS: *v = (double)s->mem_rss; return s->has_memory;
    case V_CACHE: *v = (double)s->mem_cache; return s->has_memory;
    case V_SWAP: *v = (double)s->swap_usage; return s->has_memory;
    case V_OOM: *v = (double)s->oom_kill; return s->has_memory;
    case V_OOM_EVENTS: *v = (double)s->oom_events; return s->has_memory;
    case V_MEM_MAX_EVENTS: *v = (double)s->mem_max_events; return s->has_memory;
    case V_PIDS: *v = (double)s->pids_current; return s->has_pids;
    case V_PIDS_LIMIT:
        *v = (double)s->pids_limit_eff;
        return s->has_pids && s->pids_limit_eff != CG_UNLIMITED;
    case V_PIDS_HITS: *v = (double)s->pids_max_events; return s->has_pids;
    case V_IO_RB: *v = (double)s->io_read_bytes; return s->has_io;
    case V_IO_WB: *v = (double)s->io_write_bytes; return s->has_io;
    case V_IO_R: *v = (double)s->io_read_ops; return s->has_io;
    case V_IO_W: *v = (double)s->io_write_ops; return s->has_io;
    case V_PSI_CPU_SOME: return psi_total(&s->psi_cpu_some, v);
    case V_PSI_CPU_FULL: return psi_total(&s->psi_cpu_full, v);
    case V_PSI_MEM_SOME: return psi_total(&s->psi_mem_some, v);
    case V_PSI_MEM_FULL: return psi_total(&s->psi_mem_full, v);
    case V_PSI_IO_SOME: return psi_total(&s->psi_io_some, v);
    case V_PSI_IO_FULL: return psi_total(&s->psi_io_full, v);
    }
    return false;
}

void obs_metrics_label_escape(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\\')
            fputs("\\\\", f);
        else if (*s == '"')
            fputs("\\\"", f);
        else if (*s == '\n')
            fputs("\\n", f);
        else
            fputc(*s, f);
    }
}

static void label(FILE *f, bool *first, const char *k, const char *v)
{
    if (!v)
        return;
    fprintf(f, "%s%s=\"", *first ? "" : ",", k);
    obs_metrics_label_escape(f, v);
    fputc('"', f);
    *first = false;
}

/* The labels of a row, without braces. */
static char *row_labels(const obs_metrics_row *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    bool first = true;
    if (r->ct) {
        char pid_id[32];
        snprintf(pid_id, sizeof pid_id, "pid-%d", (int)r->ct->pid);
        label(f, &first, "id", r->ct->id ? r->ct->id : pid_id);
        label(f, &first, "engine", r->ct->engine);
        label(f, &first, "scope", "container");
        label(f, &first, "pod_uid", r->ct->pod_uid);
    } else {
        label(f, &first, "engine", "kubernetes");
        label(f, &first, "scope", "pod");
        label(f, &first, "pod_uid", r->pod_uid);
        label(f, &first, "qos", r->qos);
    }
    fclose(f);
    return buf;
}

static void family(FILE *f, const char *name, const char *help, const char *unit, int type,
                   bool om)
{
    size_t nl = strlen(name);
    int base = (int)nl;
    if (om && type == COUNTER && nl > 6 && !strcmp(name + nl - 6, "_total"))
        base -= 6;
    fprintf(f, "# HELP %.*s %s\n", base, name, help);
    fprintf(f, "# TYPE %.*s %s\n", base, name, type == COUNTER ? "counter" : "gauge");
    /* OpenMetrics: a UNIT line only where the name ends with that unit. */
    if (om && unit) {
        const char *u = strstr(name, unit);
        if (u && (u + strlen(unit) == name + base))
            fprintf(f, "# UNIT %.*s %s\n", base, name, unit);
    }
}

static void number(FILE *f, double v)
{
    if (v == (double)(long long)v && v < 9e15 && v > -9e15)
        fprintf(f, "%lld", (long long)v);
    else
        fprintf(f, "%.15g", v);
}

void obs_metrics_write(FILE *f, const obs_metrics_row *rows, size_t n, bool om,
                       const obs_metrics_meta *meta)
{
    char **labels = calloc(n ? n : 1, sizeof *labels);
    for (size_t i = 0; i < n; i++)
        labels[i] = row_labels(&rows[i]);

    family(f, "capsa_container_info", "A container capsa found on the host (value 1)", NULL,
           GAUGE, om);
    for (size_t i = 0; i < n; i++) {
        const obs_host_ct *c = rows[i].ct;
        if (!c)
            continue;
        fprintf(f, "capsa_container_info{%s", labels[i]);
        bool first = false;
        char pid[16];
        snprintf(pid, sizeof pid, "%d", (int)c->pid);
        label(f, &first, "name", c->name);
        label(f, &first, "runtime", c->runtime);
        label(f, &first, "namespace", c->ns);
        label(f, &first, "pod_name", c->pod_name);
        label(f, &first, "pod_namespace", c->pod_namespace);
        label(f, &first, "qos", c->qos);
        label(f, &first, "pid", pid);
        label(f, &first, "comm", c->comm);
        label(f, &first, "cgroup", c->cgroup);
        fputs("} 1\n", f);
    }
    for (size_t k = 0; k < sizeof fams / sizeof fams[0]; k++) {
        family(f, fams[k].name, fams[k].help, fams[k].unit, fams[k].type, om);
        for (size_t i = 0; i < n; i++) {
            double v;
            if (!rows[i].s || !value(fams[k].v, rows[i].s, &v))
                continue;
            fprintf(f, "%s{%s} ", fams[k].name, labels[i]);
            number(f, v);
            fputc('\n', f);
        }
    }
    family(f, "capsa_audit_findings", "Findings of capsa audit per check and result (PASS, "
           "WARN, FAIL, SKIP): docs/observe.md", NULL, GAUGE, om);
    for (size_t i = 0; i < n; i++) {
        const obs_report *a = rows[i].audit;
        if (!a)
            continue;
        /* count per (check, result), in report order, each pair once */
        for (size_t j = 0; j < a->n; j++) {
            bool seen = false;
            for (size_t p = 0; p < j && !seen; p++)
                seen = a->v[p].level == a->v[j].level && !strcmp(a->v[p].check, a->v[j].check);
            if (seen)
                continue;
            unsigned cnt = 0;
            for (size_t p = j; p < a->n; p++)
                cnt += a->v[p].level == a->v[j].level && !strcmp(a->v[p].check, a->v[j].check);
            fprintf(f, "capsa_audit_findings{%s", labels[i]);
            bool first = false;
            label(f, &first, "category", a->v[j].category);
            label(f, &first, "check", a->v[j].check);
            label(f, &first, "result", obs_level_name(a->v[j].level));
            fprintf(f, "} %u\n", cnt);
        }
    }
    family(f, "capsa_audit_worst", "Worst audit result: 0 PASS, 1 SKIP, 2 WARN, 3 FAIL", NULL,
           GAUGE, om);
    for (size_t i = 0; i < n; i++)
        if (rows[i].audit)
            fprintf(f, "capsa_audit_worst{%s} %d\n", labels[i], (int)obs_worst(rows[i].audit));
    family(f, "capsa_containers", "Containers found on the host, by engine", NULL, GAUGE, om);
    for (size_t i = 0; i < n; i++) {
        if (!rows[i].ct)
            continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = rows[j].ct && !strcmp(rows[j].ct->engine, rows[i].ct->engine);
        if (seen)
            continue;
        unsigned cnt = 0;
        for (size_t j = i; j < n; j++)
            cnt += rows[j].ct && !strcmp(rows[j].ct->engine, rows[i].ct->engine);
        fputs("capsa_containers{", f);
        bool first = true;
        label(f, &first, "engine", rows[i].ct->engine);
        fprintf(f, "} %u\n", cnt);
    }
    if (meta) {
        family(f, "capsa_scrape_duration_seconds", "Time to discover and read every container",
               "seconds", GAUGE, om);
        fprintf(f, "capsa_scrape_duration_seconds %.6f\n", meta->scrape_s);
        family(f, "capsa_scrape_read_errors", "Containers whose cgroup could not be read", NULL,
               GAUGE, om);
        fprintf(f, "capsa_scrape_read_errors %zu\n", meta->read_errors);
    }
    if (om)
        fputs("# EOF\n", f);
    for (size_t i = 0; i < n; i++)
        free(labels[i]);
    free(labels);
}

/* ---- the scraper ---- */

typedef struct {
    pid_t pid;
    char *key;                 /* engine/id, so a reused pid is not taken for it */
    double when;
    obs_report rep;
    bool ok, seen;
} audit_entry;

struct obs_scraper {
    char *extra_root;
    bool audit;
    double ttl;
    audit_entry **a;    /* each its own allocation: rows point at their reports */
    size_t na;
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

obs_scraper *obs_scraper_new(const char *extra_root, bool audit, double ttl)
{
    obs_scraper *sc = xcalloc(1, sizeof *sc);
    sc->extra_root = extra_root ? xstrdup(extra_root) : NULL;
    sc->audit = audit;
    sc->ttl = ttl;
    return sc;
}

static void audit_entry_free(audit_entry *a)
{
    free(a->key);
    obs_report_free(&a->rep);
}

void obs_scraper_free(obs_scraper *sc)
{
    if (!sc)
        return;
    for (size_t i = 0; i < sc->na; i++) {
        audit_entry_free(sc->a[i]);
        free(sc->a[i]);
    }
    free(sc->a);
    free(sc->extra_root);
    free(sc);
}

static const obs_report *audit_of(obs_scraper *sc, const obs_host_ct *c, double now)
{
    autofree char *key = xasprintf("%s/%s", c->engine, c->id ? c->id : "");
    audit_entry *hit = NULL;
    for (size_t i = 0; i < sc->na && !hit; i++)
        if (sc->a[i]->pid == c->pid && !strcmp(sc->a[i]->key, key))
            hit = sc->a[i];
    if (hit && now - hit->when < sc->ttl) {
        hit->seen = true;
        return hit->ok ? &hit->rep : NULL;
    }
    if (!hit) {
        sc->a = xrealloc(sc->a, (sc->na + 1) * sizeof *sc->a);
        hit = sc->a[sc->na++] = xcalloc(1, sizeof *hit);
        hit->pid = c->pid;
        hit->key = TAKE_PTR(key);
    } else {
        obs_report_free(&hit->rep);
    }
    hit->seen = true;
    hit->when = now;
    obs_target t;
    capsa_err e;
    hit->ok = obs_target_pid(c->pid, &t, &e) == 0;
    if (hit->ok) {
        hit->ok = obs_audit(&t, &hit->rep, &e) == 0;
        obs_target_free(&t);
    }
    return hit->ok ? &hit->rep : NULL;
}

int obs_scrape(obs_scraper *sc, bool om, char **text, size_t *len, capsa_err *e)
{
    double t0 = mono();
    obs_host_cts cts;
    int r = obs_discover(sc->extra_root, &cts, e);
    if (r < 0)
        return r;
    size_t cap = cts.n * 2 + 1, n = 0, errs = 0;
    obs_metrics_row *rows = xcalloc(cap, sizeof *rows);
    cgroup_stats *st = xcalloc(cap, sizeof *st);
    for (size_t i = 0; i < sc->na; i++)
        sc->a[i]->seen = false;
    for (size_t i = 0; i < cts.n; i++) {
        const obs_host_ct *c = &cts.v[i];
        capsa_err ce;
        rows[n].ct = c;
        if (cgroup_stats_read_pid(c->pid, &st[n], &ce) == 0)
            rows[n].s = &st[n];
        else
            errs++;
        if (sc->audit)
            rows[n].audit = audit_of(sc, c, t0);
        n++;
        /* A Kubernetes pod's cgroup, once, next to its first container. */
        if (c->pod_cgroup) {
            bool seen = false;
            for (size_t j = 0; j < n && !seen; j++)
                seen = !rows[j].ct && !strcmp(rows[j].pod_cgroup, c->pod_cgroup);
            if (!seen) {
                rows[n] = (obs_metrics_row){.pod_uid = c->pod_uid, .qos = c->qos,
                                            .pod_cgroup = c->pod_cgroup};
                if (obs_pod_stats_read(c->pid, c->pod_cgroup, &st[n], &ce) == 0)
                    rows[n].s = &st[n];
                n++;
            }
        }
    }
    /* Forget the audits of containers that are gone. */
    for (size_t i = 0; i < sc->na;) {
        if (sc->a[i]->seen) {
            i++;
            continue;
        }
        audit_entry_free(sc->a[i]);
        free(sc->a[i]);
        sc->a[i] = sc->a[--sc->na];
    }
    obs_metrics_meta meta = {.scrape_s = mono() - t0, .read_errors = errs};
    *text = NULL;
    *len = 0;
    FILE *f = open_memstream(text, len);
    if (!f) {
        r = cerr_sys(e, errno, "open_memstream");
    } else {
        obs_metrics_write(f, rows, n, om, &meta);
        fclose(f);
    }
    free(rows);
    free(st);
    obs_host_cts_free(&cts);
    return r;
}
