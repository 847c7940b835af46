/* exec --cgroup (runc 1.1): a process joins a sub-cgroup of its container's. */
#ifndef CAPSA_CGROUP_SUBCGROUP_H
#define CAPSA_CGROUP_SUBCGROUP_H

#include <stddef.h>

#include "cgroup/cgroup.h"

/* As cgroup_join_open for the container cgroup `path`, but into sub-cgroups of
 * it named by `subs` (n of them), in runc's syntax: "SUB" (every hierarchy;
 * then the only one given) or "CTRL[,CTRL...]:SUB" (the v1 hierarchies with
 * those controllers; the others stay at `path`). SUB is relative to the
 * container's cgroup and may not climb out of it. The sub-cgroups must exist
 * (they are never made here): with "SUB", a hierarchy without it stays at
 * `path`, and none having it is an error; with "CTRL:SUB" a missing one is an
 * error. */
int cgroup_join_open_sub(const char *path, char *const *subs, size_t n, cgroup_join *j,
                         capsa_err *e);

#endif
