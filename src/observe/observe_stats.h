/* capsa stats: samples of a container's cgroup and the rates between two
 * samples (CPU %, throttling, OOM kills), as a table row or JSON. */
#ifndef CAPSA_OBSERVE_STATS_H
#define CAPSA_OBSERVE_STATS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cgroup/stats.h"
#include "observe/target.h"

#define OBS_STATS_MAX_WARN 6

typedef struct {
    obs_target t;
    cgroup_stats prev, cur;
    uint64_t prev_ns, cur_ns;   /* CLOCK_MONOTONIC of each sample */
    bool have_prev, ok;
    char err[256];              /* why !ok */
} obs_stats_entry;

typedef struct {
    double interval_s;          /* 0: one sample only, no rates */
    double limit_cpus;          /* CPUs it may use: quota, cpuset, host (smallest) */
    double cpu_pct_host;        /* of all host CPUs; -1 without rates */
    double cpu_pct_limit;       /* of limit_cpus; -1 without rates */
    uint64_t d_periods, d_throttled, d_throttled_ns, d_oom_kill;
    double mem_pct, pids_pct;   /* of the effective limit; -1 no limit */
    int n_warn;
    char warn[OBS_STATS_MAX_WARN][200];
} obs_stats_derived;

/* Take a sample: the previous one moves to prev. Never fails: a container
 * whose cgroup is gone gets ok = false and err. */
void obs_stats_sample(obs_stats_entry *en);
/* Rates and warnings (≥ 90% memory or pids, throttled or OOM-killed in the
 * last interval, forks refused). Pure apart from the host CPU count. */
void obs_stats_derive(const obs_stats_entry *en, long host_cpus, obs_stats_derived *d);
json_t *obs_stats_json(const obs_stats_entry *en);
/* Width of the ID column (default 16; host-wide names are longer). */
void obs_stats_set_id_width(int w);
void obs_stats_print_header(FILE *f);
void obs_stats_print_row(FILE *f, const obs_stats_entry *en, bool color);
/* Print each of cgroup_limit_hits as "capsa: container ID: LINE" (as the OOM report of run) and log
 * it as a warning; for `run` at exit (with_oom false: rt_oom_report says that
 * already) and `events`. Returns the count. */
size_t obs_limit_hits_report(FILE *f, const char *id, const cgroup_stats *s, bool with_oom);
/* "! ID: warning" lines under the table. */
void obs_stats_print_warnings(FILE *f, const obs_stats_entry *en, bool color);

#endif
