/* The limits a container hit over its life, in one line each with the number:
 * told at `run` exit, in `events` and in `capsa stats`. */
#include "cgroup/stats.h"

#include <inttypes.h>
#include <stdio.h>

#include "util/units.h"

size_t cgroup_limit_hits(const cgroup_stats *s, char out[][CG_LIMIT_HIT_LEN], size_t max)
{
    size_t n = 0;
    char lim[32];
    if (n < max && s->has_memory && s->oom_kill) {
        if (s->mem_limit_eff == CG_UNLIMITED)
            snprintf(lim, sizeof lim, "none");
        else
            units_format_size(s->mem_limit_eff, lim, sizeof lim);
        snprintf(out[n++], CG_LIMIT_HIT_LEN, "%" PRIu64 " OOM kill%s at its memory limit (%s)",
                 s->oom_kill, s->oom_kill == 1 ? "" : "s", lim);
    }
    if (n < max && s->has_pids && s->pids_max_events) {
        if (s->pids_limit_eff == CG_UNLIMITED)
            snprintf(lim, sizeof lim, "none");
        else
            snprintf(lim, sizeof lim, "%" PRIu64, s->pids_limit_eff);
        snprintf(out[n++], CG_LIMIT_HIT_LEN, "fork refused %" PRIu64 " time%s at its pids "
                 "limit (%s)", s->pids_max_events, s->pids_max_events == 1 ? "" : "s", lim);
    }
    if (n < max && s->has_cpu && s->nr_periods >= 20 && 2 * s->nr_throttled > s->nr_periods) {
        char quota[48] = "";
        if (s->cpu_limit_eff > 0)
            snprintf(quota, sizeof quota, ", at its quota of %.2f CPUs", s->cpu_limit_eff);
        snprintf(out[n++], CG_LIMIT_HIT_LEN, "cpu throttled in %" PRIu64 " of %" PRIu64
                 " periods (%.0f%%, %.1f s) over its life%s", s->nr_throttled, s->nr_periods,
                 100.0 * (double)s->nr_throttled / (double)s->nr_periods,
                 (double)s->throttled_ns / 1e9, quota);
    }
    return n;
}

