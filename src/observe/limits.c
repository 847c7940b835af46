/* capsa limits: what a process may use, from the inside. */
#include "observe/limits.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/stats.h"
#include "observe/procinfo.h"
#include "observe/report.h"
#include "util/fs.h"

double obs_effective_cpus(double quota_cpus, unsigned cpuset, unsigned affinity, long host_cpus)
{
    double best = host_cpus > 0 ? (double)host_cpus : 0;
    if (cpuset && (!best || cpuset < best))
        best = cpuset;
    if (affinity && (!best || affinity < best))
        best = affinity;
    if (quota_cpus > 0 && (!best || quota_cpus < best))
        best = quota_cpus;
    return best;
}

static unsigned affinity_count(pid_t pid)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(pid, sizeof set, &set) < 0)
        return 0;
    return (unsigned)CPU_COUNT(&set);
}

typedef struct {
    const char *name, *label;   /* json key, line in /proc/PID/limits */
    bool has;
    uint64_t soft, hard;        /* CG_UNLIMITED = unlimited */
} rlim_row;

static void read_rlimits(pid_t pid, rlim_row *rows, size_t n)
{
    autofree char *s = obs_proc_file(pid, "limits", NULL);
    if (!s)
        return;
    for (size_t i = 0; i < n; i++) {
        char *l = strstr(s, rows[i].label);
        if (!l)
            continue;
        char soft[32], hard[32];
        if (sscanf(l + strlen(rows[i].label), "%31s %31s", soft, hard) != 2)
            continue;
        rows[i].has = true;
        rows[i].soft = strcmp(soft, "unlimited") ? strtoull(soft, NULL, 10) : CG_UNLIMITED;
        rows[i].hard = strcmp(hard, "unlimited") ? strtoull(hard, NULL, 10) : CG_UNLIMITED;
    }
}

static json_t *lim_json(uint64_t v)
{
    return v == CG_UNLIMITED ? json_null() : json_integer((json_int_t)v);
}

static void lim_text(char *b, size_t n, uint64_t v, bool bytes)
{
    if (v == CG_UNLIMITED)
        snprintf(b, n, "unlimited");
    else if (bytes)
        obs_fmt_bytes(b, n, v);
    else
        snprintf(b, n, "%" PRIu64, v);
}

/* Each namespace: "private", "host" or "unknown". */
static const char *ns_state(const obs_ns_host *h, const obs_proc *p, enum obs_ns t)
{
    int s = obs_ns_shared(h, t, p->ns[t]);
    return s < 0 ? "unknown" : s ? "host" : "private";
}

static void print_text(pid_t pid, const cgroup_stats *s, int cg_err, const char *cg_msg,
                       double eff, unsigned aff, long host, const obs_proc *p,
                       const obs_ns_host *h, const rlim_row *rl, size_t nrl)
{
    char a[32], b[32];
    printf("limits of pid %d%s\n", (int)pid, pid == getpid() ? " (this process)" : "");
    if (cg_err < 0) {
        printf("  %-11s %s\n", "cgroup", cg_msg);
    } else {
        printf("  %-11s %s (%s)\n", "cgroup", *s->path ? s->path : "?", cgroup_mode_name(s->mode));
        printf("  %-11s %.2f effective", "cpus", eff);
        if (s->cpu_limit_eff > 0)
            printf("; quota %.2f CPUs (%" PRIu64 "/%" PRIu64 " us)", s->cpu_limit_eff,
                   s->cpu_quota_us == CG_UNLIMITED ? 0 : s->cpu_quota_us, s->cpu_period_us);
        else
            printf("; no quota");
        printf("; cpuset %s (%u); affinity %u; host %ld\n", *s->cpuset_cpus ? s->cpuset_cpus : "?",
               s->cpuset_ncpus, aff, host);
        if (s->has_memory) {
            lim_text(a, sizeof a, s->mem_limit_eff, true);
            obs_fmt_bytes(b, sizeof b, s->mem_usage);
            printf("  %-11s limit %s, used %s", "memory", a, b);
            if (s->mem_limit_eff != CG_UNLIMITED)
                printf(" (%.1f%%)", 100.0 * (double)s->mem_usage / (double)s->mem_limit_eff);
            lim_text(a, sizeof a, s->swap_limit, true);
            printf("; swap limit %s\n", a);
        } else {
            printf("  %-11s no memory controller\n", "memory");
        }
        if (s->has_pids) {
            lim_text(a, sizeof a, s->pids_limit_eff, false);
            printf("  %-11s limit %s, current %" PRIu64 "\n", "pids", a, s->pids_current);
        } else {
            printf("  %-11s no pids controller\n", "pids");
        }
        printf("  %-11s %s\n", "io", s->io_throttled ? s->io_max : "not throttled");
    }
    printf("  %-11s ", "namespaces");
    static const char *const kinds[] = {"private", "host", "unknown"};
    int groups = 0;
    for (int k = 0; k < 3; k++) {
        int shown = 0;
        for (int t = 0; t < OBS_NS__COUNT; t++) {
            if (strcmp(ns_state(h, p, (enum obs_ns)t), kinds[k]))
                continue;
            if (!shown++)
                printf("%s%s:", groups++ ? "; " : "", kinds[k]);
            printf(" %s", obs_ns_proc_name((enum obs_ns)t));
        }
    }
    printf("\n  %-11s", "rlimits"); /* each value below starts with a space */
    for (size_t i = 0; i < nrl; i++) {
        if (!rl[i].has)
            continue;
        lim_text(a, sizeof a, rl[i].soft, false);
        lim_text(b, sizeof b, rl[i].hard, false);
        printf(" %s %s/%s", rl[i].name, a, b);
    }
    printf("\n");
}

static json_t *to_json(pid_t pid, const cgroup_stats *s, int cg_err, const char *cg_msg,
                       double eff, unsigned aff, long host, const obs_proc *p,
                       const obs_ns_host *h, const rlim_row *rl, size_t nrl)
{
    json_t *o = json_pack("{s:i}", "pid", (int)pid);
    if (cg_err < 0) {
        json_object_set_new(o, "cgroup", json_pack("{s:n, s:n, s:s}", "path", "mode", "error",
                                                   cg_msg));
    } else {
        json_object_set_new(o, "cgroup", json_pack("{s:s, s:s}", "path", s->path, "mode",
                                                   cgroup_mode_name(s->mode)));
        json_object_set_new(o, "cpu", json_pack(
            "{s:f, s:o, s:o, s:o, s:s, s:i, s:i, s:i, s:o}", "effective_cpus", eff,
            "quota_cpus", s->cpu_limit_eff > 0 ? json_real(s->cpu_limit_eff) : json_null(),
            "quota_us", lim_json(s->cpu_quota_us), "period_us",
            s->cpu_period_us ? json_integer((json_int_t)s->cpu_period_us) : json_null(),
            "cpuset", s->cpuset_cpus, "cpuset_cpus", (int)s->cpuset_ncpus, "affinity_cpus",
            (int)aff, "host_cpus", (int)host, "weight",
            s->cpu_weight ? json_integer((json_int_t)s->cpu_weight) : json_null()));
        json_object_set_new(o, "memory", !s->has_memory ? json_null() : json_pack(
            "{s:o, s:I, s:o, s:I}", "limit", lim_json(s->mem_limit_eff), "usage",
            (json_int_t)s->mem_usage, "swap_limit", lim_json(s->swap_limit), "swap_usage",
            (json_int_t)s->swap_usage));
        json_object_set_new(o, "pids", !s->has_pids ? json_null() : json_pack(
            "{s:o, s:I}", "limit", lim_json(s->pids_limit_eff), "current",
            (json_int_t)s->pids_current));
        json_t *io = json_array();
        for (const char *l = s->io_max; *l;) {
            size_t n = strcspn(l, "\n");
            json_array_append_new(io, json_stringn(l, n));
            l += n + (l[n] ? 1 : 0);
        }
        json_object_set_new(o, "io", json_pack("{s:b, s:o}", "throttled", s->io_throttled,
                                               "limits", io));
    }
    json_t *ns = json_object();
    for (int t = 0; t < OBS_NS__COUNT; t++)
        json_object_set_new(ns, obs_ns_proc_name((enum obs_ns)t),
                            json_string(ns_state(h, p, (enum obs_ns)t)));
    json_object_set_new(o, "namespaces", ns);
    json_t *r = json_object();
    for (size_t i = 0; i < nrl; i++)
        if (rl[i].has)
            json_object_set_new(r, rl[i].name, json_pack("{s:o, s:o}", "soft",
                                                         lim_json(rl[i].soft), "hard",
                                                         lim_json(rl[i].hard)));
    json_object_set_new(o, "rlimits", r);
    return o;
}

int obs_limits(pid_t pid, bool json, capsa_err *e)
{
    obs_proc p;
    int r = obs_proc_read(pid, &p, e);
    if (r < 0)
        return r;
    obs_ns_host h;
    obs_ns_host_load(&h);
    cgroup_stats s;
    capsa_err ce = {0};
    int cg = cgroup_stats_read_pid(pid, &s, &ce);
    long host = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned aff = affinity_count(pid);
    double eff = cg < 0 ? obs_effective_cpus(0, 0, aff, host)
                        : obs_effective_cpus(s.cpu_limit_eff, s.cpuset_ncpus, aff, host);
    rlim_row rl[] = {
        {"nofile", "Max open files", false, 0, 0},
        {"nproc", "Max processes", false, 0, 0},
        {"as", "Max address space", false, 0, 0},
        {"memlock", "Max locked memory", false, 0, 0},
        {"core", "Max core file size", false, 0, 0},
    };
    size_t nrl = sizeof rl / sizeof rl[0];
    read_rlimits(pid, rl, nrl);
    if (json) {
        json_t *o = to_json(pid, &s, cg, ce.msg, eff, aff, host, &p, &h, rl, nrl);
        char *txt = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(txt);
        free(txt);
        json_decref(o);
    } else {
        print_text(pid, &s, cg, ce.msg, eff, aff, host, &p, &h, rl, nrl);
    }
    obs_proc_free(&p);
    return 0;
}
