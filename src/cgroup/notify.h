/* Being told when the kernel's OOM killer acts in a container's cgroup, for
 * `capsa events`: v2 watches memory.events with inotify, v1 registers an
 * eventfd for memory.oom_control through cgroup.event_control (the only
 * notification v1 has). */
#ifndef CAPSA_CGROUP_NOTIFY_H
#define CAPSA_CGROUP_NOTIFY_H

#include <stdint.h>

#include "util/err.h"

typedef struct cgroup_oom_watch cgroup_oom_watch;

/* OOM kills in the container's memory cgroup so far (two small reads). */
int cgroup_oom_kills(const char *path, uint64_t *kills, capsa_err *e);
/* Start watching the memory cgroup of a container path (as in state.json).
 * EOPNOTSUPP when the host has no memory controller. */
int cgroup_oom_watch_open(const char *path, cgroup_oom_watch **out, capsa_err *e);
/* A file descriptor that polls readable (POLLIN) when something happened. */
int cgroup_oom_watch_fd(const cgroup_oom_watch *w);
/* After POLLIN: how many OOM events happened since the last call (0 for a
 * wakeup that was not one), or -ENOENT once the cgroup is gone. */
int cgroup_oom_watch_read(cgroup_oom_watch *w, capsa_err *e);
void cgroup_oom_watch_close(cgroup_oom_watch *w);

#endif
