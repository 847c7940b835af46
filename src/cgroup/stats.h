/* Reading a cgroup's usage and limits (read-only): for `events --stats`,
 * `capsa stats`, `capsa audit`, `capsa limits` and the OOM report of `run`.
 * Works on v1, hybrid and v2, for a capsa container's cgroup path or for the
 * cgroups of any process (/proc/PID/cgroup). */
#ifndef CAPSA_CGROUP_STATS_H
#define CAPSA_CGROUP_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup/cgroup.h"
#include "util/err.h"

#define CG_UNLIMITED UINT64_MAX

typedef struct {
    bool present;
    double avg10, avg60, avg300;
    uint64_t total_us;
} cgroup_psi;

typedef struct {
    bool has_cpu;
    uint64_t cpu_usage_ns, cpu_user_ns, cpu_system_ns;
    uint64_t nr_periods, nr_throttled, throttled_ns;
    uint64_t cpu_quota_us;          /* CG_UNLIMITED: no quota */
    uint64_t cpu_period_us;
    uint64_t cpu_weight;            /* v2 weight, or v1 shares converted; 0 unknown */
    char cpuset_cpus[256];

    bool has_memory;
    uint64_t mem_usage, mem_limit, mem_peak, mem_failcnt;   /* limit CG_UNLIMITED = none */
    uint64_t swap_usage, swap_limit;
    uint64_t oom_events, oom_kill, mem_high_events, mem_max_events;

    bool has_pids;
    uint64_t pids_current, pids_limit;                     /* limit CG_UNLIMITED = max */

    bool has_io;
    uint64_t io_read_bytes, io_write_bytes, io_read_ops, io_write_ops;
    bool io_throttled;              /* any throttle / io.max limit set */

    bool has_devices;
    bool devices_allow_all;         /* v1 devices.list "a *:* rwm" (v2: no device program) */

    cgroup_psi psi_cpu_some, psi_mem_some, psi_mem_full, psi_io_some, psi_io_full;

    /* Added for the observatory (capsa stats/audit/limits). */
    enum cgroup_mode mode;          /* host mode the numbers were read on */
    char path[512];                 /* cgroup path (memory/pids/cpu hierarchy), "" unknown */
    uint64_t mem_cache, mem_rss;    /* page cache vs anonymous memory (v1 total_cache/
                                     * total_rss, v2 file/anon) */
    uint64_t pids_max_events;       /* forks refused by pids.max */
    /* Effective limits: the tightest of the cgroup and every ancestor visible
     * below the hierarchy's mount (v1 memory: hierarchical_memory_limit). */
    uint64_t mem_limit_eff, pids_limit_eff;   /* CG_UNLIMITED = none */
    double cpu_limit_eff;           /* CPUs allowed by cpu quota/period; 0 = no quota */
    unsigned cpuset_ncpus;          /* CPUs in the effective cpuset; 0 unknown */
    char io_max[512];               /* io limits, v2 io.max syntax ("8:0 rbps=1048576"), one a
                                     * line; "" none */
    int devices_progs;              /* v2: device programs in effect (incl. ancestors'); -1
                                     * unknown or v1 */
    char devices_list[2048];        /* v1 devices.list text (truncated), "" on v2 */
    cgroup_psi psi_cpu_full;
} cgroup_stats;

/* Where each controller's files are (testable without a host): dir NULL =
 * controller absent; top = the hierarchy's mount directory, where the walk
 * for effective limits stops; v2 = the files are cgroup v2's. */
typedef struct {
    const char *dir, *top;
    bool v2;
} cgroup_stats_dir;

typedef struct {
    cgroup_stats_dir cpu, cpuacct, cpuset, memory, pids, io, devices;
    cgroup_stats_dir unified;       /* the cgroup2 dir (PSI; cpu usage when no v1 cpuacct) */
} cgroup_stats_dirs;

int cgroup_stats_read_dirs(const cgroup_stats_dirs *d, cgroup_stats *out, capsa_err *e);
int cgroup_stats_read_dirs_hits(const cgroup_stats_dirs *d, cgroup_stats *out, capsa_err *e);

/* What the host offers, for `capsa check`. */
typedef struct {
    enum cgroup_mode mode;
    char v1[256];            /* v1 controllers mounted under the root, comma list */
    char v2_mount[256];      /* where cgroup2 is mounted, "" none */
    char v2[256];            /* controllers of the cgroup2 root (cgroup.controllers) */
    char v2_own[512];        /* this process's cgroup2 path */
    char v2_parent_ctrls[256]; /* cgroup.subtree_control where capsa puts relative paths
                              * (the parent of v2_own): what containers can get */
    bool v2_parent_writable; /* this user may create cgroups there (delegation) */
} cgroup_host_info;

int cgroup_host_info_read(cgroup_host_info *out, capsa_err *e);

/* Number of CPUs in a cpuset list such as "0-3,8,10-11"; 0 if malformed. */
unsigned cgroup_cpulist_count(const char *list);
/* Parse one PSI line ("some avg10=1.00 avg60=0.50 avg300=0.10 total=1234") or a
 * whole pressure file (the line starting with `kind`). */
bool cgroup_psi_parse(const char *text, const char *kind, cgroup_psi *out);

/* Stats of a capsa container cgroup path (as stored in state.json). */
int cgroup_stats_read(const char *path, cgroup_stats *out, capsa_err *e);
/* Limits the container hit over its life, one line each with the number:
 * "fork refused 80 times at its pids limit (20)", "3 OOM kills at its memory
 * limit (64 MiB)", "cpu throttled in 170 of 200 periods (85%, 12.3 s) over
 * its life, at its quota of 0.50 CPUs" (most periods, at least 20). Pure.
 * Returns how many lines were written into out (at most max). */
#define CG_LIMIT_HIT_LEN 160
/* Only the cpu and pids part of cgroup_stats_read (enough for the pids and
 * cpu lines of cgroup_limit_hits; no memory, io, devices, psi). */
int cgroup_stats_read_hits(const char *path, cgroup_stats *out, capsa_err *e);
size_t cgroup_limit_hits(const cgroup_stats *s, char out[][CG_LIMIT_HIT_LEN], size_t max);
/* Stats of the cgroups the process pid lives in. */
int cgroup_stats_read_pid(pid_t pid, cgroup_stats *out, capsa_err *e);
/* Stats of the ancestors of those cgroups whose path ends at the component
 * comp (e.g. a Kubernetes pod's "pod<UID>"), found in each hierarchy on its
 * own: a hybrid host may place the same cgroup under different parents per
 * hierarchy, so one path cannot name it everywhere. A hierarchy where the
 * pid's path has no such component is left out. */
int cgroup_stats_read_pid_ancestor(pid_t pid, const char *comp, cgroup_stats *out, capsa_err *e);

#endif
