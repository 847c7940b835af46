/* Reading a cgroup's usage and limits (read-only): for `events --stats`,
 * `capsa stats`, `capsa audit`, `capsa limits` and the OOM report of `run`.
 * Works on v1, hybrid and v2, for a capsa container's cgroup path or for the
 * cgroups of any process (/proc/PID/cgroup). */
#ifndef CAPSA_CGROUP_STATS_H
#define CAPSA_CGROUP_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

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
} cgroup_stats;

/* Stats of a capsa container cgroup path (as stored in state.json). */
int cgroup_stats_read(const char *path, cgroup_stats *out, capsa_err *e);
/* Stats of the cgroups the process pid lives in. */
int cgroup_stats_read_pid(pid_t pid, cgroup_stats *out, capsa_err *e);

#endif
