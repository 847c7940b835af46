/* One cgroup interface over three host modes: unified (v2), legacy (v1) and
 * hybrid (v1 controllers + a cgroup2 mount). Only src/cgroup writes under
 * /sys/fs/cgroup. */
#ifndef CAPSA_CGROUP_H
#define CAPSA_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "spec/spec.h"
#include "util/err.h"

enum cgroup_mode { CG_UNIFIED, CG_LEGACY, CG_HYBRID };

/* Detected once from /sys/fs/cgroup (statfs). CAPSA_CGROUP_ROOT overrides the
 * mount root for tests. */
enum cgroup_mode cgroup_mode(void);
const char *cgroup_mode_name(enum cgroup_mode m);   /* "v2", "v1", "hybrid" */

/* Resolve linux.cgroupsPath: absolute as given, relative under the runtime's
 * default parent, NULL -> "/capsa/<id>". Returns a new string. */
char *cgroup_path_for(const char *cgroups_path, const char *id);

/* Create the cgroup (every v1 controller dir, or the v2 dir with the needed
 * controllers enabled in the parents), apply `r` (may be NULL) and move `pid` in.
 * Joining an existing cgroup is allowed (like runc). `created` tells the caller
 * whether the leaf was made by us (so delete only removes what capsa created). */
int cgroup_setup(const char *path, const spec_resources *r, pid_t pid, capsa_err *e);

/* Move a pid into an existing container cgroup (exec). */
int cgroup_enter(const char *path, pid_t pid, capsa_err *e);

/* Apply resources to an existing container cgroup (capsa update). */
int cgroup_update(const char *path, const spec_resources *r, capsa_err *e);

/* Pids in the cgroup (all controllers agree; read from pids/memory/first found).
 * *out is malloc'd. */
int cgroup_pids(const char *path, pid_t **out, size_t *n, capsa_err *e);

/* Freeze / thaw (v1 freezer.state, v2 cgroup.freeze); waits until done. */
int cgroup_freeze(const char *path, bool frozen, capsa_err *e);
/* 1 frozen, 0 not, <0 error */
int cgroup_is_frozen(const char *path, capsa_err *e);

/* Kill every process in the cgroup with sig (v2 cgroup.kill for SIGKILL where
 * present, else iterate cgroup.procs). */
int cgroup_kill_all(const char *path, int sig, capsa_err *e);

/* Remove the cgroup directories (children first) in every hierarchy. Waits
 * briefly for exiting processes. Missing directories are not an error. */
int cgroup_destroy(const char *path, capsa_err *e);

#endif
