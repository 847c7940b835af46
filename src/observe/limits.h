/* capsa limits: the effective limits a process lives under, read from the
 * inside (its own cgroups, affinity, rlimits, namespaces). Meant to be run
 * in any container; needs only /proc and /sys/fs/cgroup. */
#ifndef CAPSA_OBSERVE_LIMITS_H
#define CAPSA_OBSERVE_LIMITS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

/* Print the limits of pid (as a table, or JSON: docs/observe.md). */
int obs_limits(pid_t pid, bool json, capsa_err *e);

/* The smallest positive of the CPU bounds (0 = no bound); host_cpus when
 * none is smaller (pure). */
double obs_effective_cpus(double quota_cpus, unsigned cpuset, unsigned affinity,
                          long host_cpus);

#endif
