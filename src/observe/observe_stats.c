/* capsa stats: sampling a container's cgroup, the rates between samples,
 * and the two output formats (schema in docs/observe.md). */
#include "observe/observe_stats.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "observe/discover.h"
#include "observe/report.h"
#include "util/log.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void obs_stats_sample(obs_stats_entry *en)
{
    if (en->ok) {
        en->prev = en->cur;
        en->prev_ns = en->cur_ns;
        en->have_prev = true;
    }
    capsa_err e = {0};
    int r = -ENOENT;
    if (en->t.pod_cgroup && en->t.pid > 0)
        r = obs_pod_stats_read(en->t.pid, en->t.pod_cgroup, &en->cur, &e);
    else if (en->t.cgroup_path)
        r = cgroup_stats_read(en->t.cgroup_path, &en->cur, &e);
    if (r < 0 && en->t.pid > 0)  /* the recorded path resolves elsewhere: follow the pid */
        r = cgroup_stats_read_pid(en->t.pid, &en->cur, &e);
    en->cur_ns = now_ns();
    en->ok = r >= 0;
    if (!en->ok) {
        en->have_prev = false;
        snprintf(en->err, sizeof en->err, "%.255s", e.msg[0] ? e.msg : "no cgroup");
    }
}

static double pct(uint64_t v, uint64_t limit)
{
    return limit == CG_UNLIMITED || !limit ? -1 : 100.0 * (double)v / (double)limit;
}

static uint64_t delta(uint64_t a, uint64_t b)
{
    return b >= a ? b - a : 0;  /* counters reset (cgroup recreated): no rate */
}

#define WARN(d, ...) \
    do { \
        if ((d)->n_warn < OBS_STATS_MAX_WARN) \
            snprintf((d)->warn[(d)->n_warn++], sizeof (d)->warn[0], __VA_ARGS__); \
    } while (0)

void obs_stats_derive(const obs_stats_entry *en, long host_cpus, obs_stats_derived *d)
{
    memset(d, 0, sizeof *d);
    const cgroup_stats *s = &en->cur, *p = &en->prev;
    d->cpu_pct_host = d->cpu_pct_limit = -1;
    d->limit_cpus = host_cpus > 0 ? (double)host_cpus : 1;
    if (s->cpuset_ncpus && s->cpuset_ncpus < d->limit_cpus)
        d->limit_cpus = s->cpuset_ncpus;
    if (s->cpu_limit_eff > 0 && s->cpu_limit_eff < d->limit_cpus)
        d->limit_cpus = s->cpu_limit_eff;
    d->mem_pct = s->has_memory ? pct(s->mem_usage, s->mem_limit_eff) : -1;
    d->pids_pct = s->has_pids ? pct(s->pids_current, s->pids_limit_eff) : -1;
    if (en->have_prev && en->cur_ns > en->prev_ns) {
        d->interval_s = (double)(en->cur_ns - en->prev_ns) / 1e9;
        double used = (double)delta(p->cpu_usage_ns, s->cpu_usage_ns) / 1e9;
        if (s->has_cpu) {
            d->cpu_pct_host = 100.0 * used / (d->interval_s * (host_cpus > 0 ? host_cpus : 1));
            d->cpu_pct_limit = 100.0 * used / (d->interval_s * d->limit_cpus);
        }
        d->d_periods = delta(p->nr_periods, s->nr_periods);
        d->d_throttled = delta(p->nr_throttled, s->nr_throttled);
        d->d_throttled_ns = delta(p->throttled_ns, s->throttled_ns);
        d->d_oom_kill = delta(p->oom_kill, s->oom_kill);
    }
    if (d->mem_pct >= 90)
        WARN(d, "memory at %.0f%% of its limit", d->mem_pct);
    if (d->pids_pct >= 90)
        WARN(d, "pids at %.0f%% of the limit (%" PRIu64 " of %" PRIu64 ")", d->pids_pct,
             s->pids_current, s->pids_limit_eff);
    if (d->d_throttled)
        WARN(d, "cpu throttled in %" PRIu64 " of %" PRIu64 " periods (%.2f s) in the last %.1f s",
             d->d_throttled, d->d_periods, (double)d->d_throttled_ns / 1e9, d->interval_s);
    if (d->d_oom_kill)
        WARN(d, "%" PRIu64 " process%s OOM-killed in the last %.1f s", d->d_oom_kill,
             d->d_oom_kill == 1 ? "" : "es", d->interval_s);
    /* Over its life: the OOM kills, refused forks and mostly-throttled CPU. */
    char hits[3][CG_LIMIT_HIT_LEN];
    size_t nh = cgroup_limit_hits(s, hits, 3);
    for (size_t i = 0; i < nh; i++) {
        if (d->d_oom_kill && strstr(hits[i], "OOM kill"))
            continue;  /* said above, for this interval */
        if (strstr(hits[i], "pids limit"))
            WARN(d, "%.159s: refused by pids.max", hits[i]);
        else
            WARN(d, "%.159s", hits[i]);
    }
}

size_t obs_limit_hits_report(FILE *f, const char *id, const cgroup_stats *s, bool with_oom)
{
    char hits[3][CG_LIMIT_HIT_LEN];
    size_t n = cgroup_limit_hits(s, hits, 3), shown = 0;
    for (size_t i = 0; i < n; i++) {
        if (!with_oom && strstr(hits[i], "OOM kill"))
            continue;
        shown++;
        fprintf(f, "capsa: container %s: %s\n", id, hits[i]);
        log_msg("warning", "container %s: %s", id, hits[i]);
    }
    return shown;
}

/* ---- JSON ---- */

static json_t *u64(uint64_t v)
{
    return json_integer((json_int_t)(v > (uint64_t)INT64_MAX ? INT64_MAX : v));
}

static json_t *limit(uint64_t v)
{
    return v == CG_UNLIMITED ? json_null() : u64(v);
}

static json_t *real_or_null(double v)
{
    return v < 0 ? json_null() : json_real(v);
}

static json_t *psi(const cgroup_psi *p)
{
    if (!p->present)
        return json_null();
    return json_pack("{s:f, s:f, s:f, s:o}", "avg10", p->avg10, "avg60", p->avg60, "avg300",
                     p->avg300, "total_us", u64(p->total_us));
}

static json_t *io_limits(const char *text)
{
    json_t *a = json_array();
    for (const char *l = text; l && *l;) {
        size_t n = strcspn(l, "\n");
        json_array_append_new(a, json_stringn(l, n));
        l += n;
        if (*l)
            l++;
    }
    return a;
}

json_t *obs_stats_json(const obs_stats_entry *en)
{
    json_t *o = json_pack("{s:s, s:i, s:o}", "id", en->t.id ? en->t.id : "", "pid",
                          (int)en->t.pid, "status",
                          en->t.status ? json_string(en->t.status) : json_null());
    if (!en->ok) {
        json_object_set_new(o, "error", json_string(en->err));
        return o;
    }
    const cgroup_stats *s = &en->cur;
    obs_stats_derived d;
    obs_stats_derive(en, sysconf(_SC_NPROCESSORS_ONLN), &d);
    json_object_set_new(o, "cgroup", json_string(s->path));
    json_object_set_new(o, "cgroup_mode", json_string(cgroup_mode_name(s->mode)));
    json_object_set_new(o, "interval_s", d.interval_s > 0 ? json_real(d.interval_s) : json_null());
    json_object_set_new(o, "cpu", !s->has_cpu ? json_null() : json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:f, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o}",
        "usage_ns", u64(s->cpu_usage_ns), "user_ns", u64(s->cpu_user_ns), "system_ns",
        u64(s->cpu_system_ns), "percent_host", real_or_null(d.cpu_pct_host), "percent_limit",
        real_or_null(d.cpu_pct_limit), "limit_cpus", d.limit_cpus, "quota_us",
        limit(s->cpu_quota_us), "period_us", u64(s->cpu_period_us), "weight",
        s->cpu_weight ? u64(s->cpu_weight) : json_null(), "quota_cpus_effective",
        s->cpu_limit_eff > 0 ? json_real(s->cpu_limit_eff) : json_null(), "cpuset",
        s->cpuset_cpus, "nr_periods", u64(s->nr_periods), "nr_throttled", u64(s->nr_throttled),
        "throttled_ns", u64(s->throttled_ns), "interval_periods", u64(d.d_periods),
        "interval_throttled", u64(d.d_throttled), "interval_throttled_ns",
        u64(d.d_throttled_ns)));
    json_object_set_new(o, "memory", !s->has_memory ? json_null() : json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
        "usage", u64(s->mem_usage), "limit", limit(s->mem_limit_eff), "percent",
        real_or_null(d.mem_pct), "cache", u64(s->mem_cache), "rss", u64(s->mem_rss), "peak",
        u64(s->mem_peak), "swap_usage", u64(s->swap_usage), "swap_limit", limit(s->swap_limit),
        "failcnt", u64(s->mem_failcnt), "oom_events", u64(s->oom_events), "oom_kill",
        u64(s->oom_kill), "high_events", u64(s->mem_high_events), "max_events",
        u64(s->mem_max_events)));
    json_object_set_new(o, "pids", !s->has_pids ? json_null() : json_pack(
        "{s:o, s:o, s:o, s:o}", "current", u64(s->pids_current), "limit",
        limit(s->pids_limit_eff), "percent", real_or_null(d.pids_pct), "max_events",
        u64(s->pids_max_events)));
    json_object_set_new(o, "io", !s->has_io ? json_null() : json_pack(
        "{s:o, s:o, s:o, s:o, s:b, s:o}", "read_bytes", u64(s->io_read_bytes), "write_bytes",
        u64(s->io_write_bytes), "read_ops", u64(s->io_read_ops), "write_ops",
        u64(s->io_write_ops), "throttled", s->io_throttled, "limits", io_limits(s->io_max)));
    bool any_psi = s->psi_cpu_some.present || s->psi_mem_some.present || s->psi_io_some.present;
    json_object_set_new(o, "psi", !any_psi ? json_null() : json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o}", "cpu_some", psi(&s->psi_cpu_some), "cpu_full",
        psi(&s->psi_cpu_full), "memory_some", psi(&s->psi_mem_some), "memory_full",
        psi(&s->psi_mem_full), "io_some", psi(&s->psi_io_some), "io_full", psi(&s->psi_io_full)));
    json_t *w = json_array();
    for (int i = 0; i < d.n_warn; i++)
        json_array_append_new(w, json_string(d.warn[i]));
    json_object_set_new(o, "warnings", w);
    return o;
}

/* ---- table ---- */

static int id_width = 16;

void obs_stats_set_id_width(int w)
{
    id_width = w > 0 && w < 100 ? w : 16;
}

void obs_stats_print_header(FILE *f)
{
    fprintf(f, "%-*s %7s %7s %-16s %-24s %6s %4s %-13s %-22s %s\n", id_width, "ID", "CPU%", "OF-LIM",
            "THROTTLED", "MEM USAGE / LIMIT", "MEM%", "OOM", "PIDS", "IO READ / WRITE",
            "PSI10 CPU/MEM/IO");
}

static void fmt_pct(char *b, size_t n, double v)
{
    if (v < 0)
        snprintf(b, n, "-");
    else
        snprintf(b, n, "%.1f%%", v);
}

void obs_stats_print_row(FILE *f, const obs_stats_entry *en, bool color)
{
    const char *id = en->t.id ? en->t.id : "-";
    if (!en->ok) {
        fprintf(f, "%-*s %s\n", id_width, id, en->t.status && strcmp(en->t.status, "running")
                                         ? en->t.status : en->err);
        return;
    }
    const cgroup_stats *s = &en->cur;
    obs_stats_derived d;
    obs_stats_derive(en, sysconf(_SC_NPROCESSORS_ONLN), &d);
    char cpu[16], lim[16], thr[32], mu[16], ml[16], mem[40], mp[16], pids[32], ior[16], iow[16],
        io[40], ps[40];
    fmt_pct(cpu, sizeof cpu, d.cpu_pct_host);
    fmt_pct(lim, sizeof lim, d.cpu_pct_limit);
    if (d.interval_s > 0)
        snprintf(thr, sizeof thr, "%" PRIu64 "/%" PRIu64 " %.2fs", d.d_throttled, d.d_periods,
                 (double)d.d_throttled_ns / 1e9);
    else
        snprintf(thr, sizeof thr, "%" PRIu64 " total", s->nr_throttled);
    obs_fmt_bytes(mu, sizeof mu, s->mem_usage);
    if (s->mem_limit_eff == CG_UNLIMITED)
        snprintf(ml, sizeof ml, "none");
    else
        obs_fmt_bytes(ml, sizeof ml, s->mem_limit_eff);
    snprintf(mem, sizeof mem, "%s / %s", mu, ml);
    fmt_pct(mp, sizeof mp, d.mem_pct);
    if (s->pids_limit_eff == CG_UNLIMITED)
        snprintf(pids, sizeof pids, "%" PRIu64 " / none", s->pids_current);
    else
        snprintf(pids, sizeof pids, "%" PRIu64 " / %" PRIu64, s->pids_current, s->pids_limit_eff);
    obs_fmt_bytes(ior, sizeof ior, s->io_read_bytes);
    obs_fmt_bytes(iow, sizeof iow, s->io_write_bytes);
    snprintf(io, sizeof io, "%s / %s", ior, iow);
    if (s->psi_cpu_some.present || s->psi_mem_some.present || s->psi_io_some.present)
        snprintf(ps, sizeof ps, "%.1f/%.1f/%.1f", s->psi_cpu_some.avg10, s->psi_mem_some.avg10,
                 s->psi_io_some.avg10);
    else
        snprintf(ps, sizeof ps, "-");
    /* Near a limit: mark the cell (and colour it on a terminal). */
    const char *hot = color ? "\033[1;33m" : "", *off = color ? "\033[0m" : "";
    bool mem_hot = d.mem_pct >= 90, pid_hot = d.pids_pct >= 90, thr_hot = d.d_throttled > 0;
    fprintf(f, "%-*s %7s %7s %s%-16s%s %-24s %s%6s%s %4" PRIu64 " %s%-13s%s %-22s %s\n", id_width, id, cpu,
            lim, thr_hot ? hot : "", thr, thr_hot ? off : "", mem, mem_hot ? hot : "", mp,
            mem_hot ? off : "", s->oom_kill, pid_hot ? hot : "", pids, pid_hot ? off : "", io,
            ps);
}

void obs_stats_print_warnings(FILE *f, const obs_stats_entry *en, bool color)
{
    if (!en->ok)
        return;
    obs_stats_derived d;
    obs_stats_derive(en, sysconf(_SC_NPROCESSORS_ONLN), &d);
    for (int i = 0; i < d.n_warn; i++)
        fprintf(f, "%s! %s: %s%s\n", color ? "\033[1;33m" : "", en->t.id ? en->t.id : "-",
                d.warn[i], color ? "\033[0m" : "");
}
