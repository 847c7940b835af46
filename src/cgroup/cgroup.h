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
 * default parent, NULL or "" -> "capsa/<id>" (relative). Returns a new string.
 * Encoding (this string is all state.json records): the path is cleaned
 * lexically ("..", "." and empty components dropped, never climbing above its
 * start); an absolute path keeps its leading '/' and is taken from each
 * hierarchy's root; a relative one (the default is "capsa/<id>", no leading
 * '/') is placed under the runtime's own cgroup in each v1 hierarchy and under
 * the parent of its own cgroup on cgroup2 (like runc: the own cgroup holds
 * processes, so it cannot delegate controllers). On a host where the runtime
 * runs in "/" the default is /capsa/<id>. */
char *cgroup_path_for(const char *cgroups_path, const char *id);

/* Create the cgroup (every v1 controller dir, or the v2 dir with the needed
 * controllers enabled in the parents), apply `r` (may be NULL) and move `pid` in
 * (pid <= 0: do not move anything). On failure the directories made are removed.
 * Device rules are applied exactly as given (v1 deny-all first; v2 eBPF with
 * default deny): pass the full list, default allowed devices included; no rules
 * leaves device access untouched.
 * Joining an existing cgroup is allowed (like runc). *made (if made is not
 * NULL) gets the directories this call created above the container's own, one
 * per line (NULL if none): what cgroup_destroy may remove besides the leaf. */
int cgroup_setup(const char *path, const spec_resources *r, pid_t pid, char **made,
                 capsa_err *e);

/* Joining without a migration by pid. A write of a pid to cgroup.procs takes
 * the kernel's global threadgroup lock for writing, which waits for an RCU
 * grace period: 10-20 ms on a quiet 2-CPU host, most of a container's start.
 * Two ways around it, prepared by the runtime and used by the new process:
 * v1: the process writes "0" to the `tasks` file of each hierarchy itself (a
 * single thread moving itself does not take that lock); v2: clone3 with
 * CLONE_INTO_CGROUP, born in the cgroup. */
typedef struct {
    int v1[16];      /* `tasks` of each v1 hierarchy, open for writing */
    size_t n_v1;
    int v2;          /* the cgroup2 directory (O_PATH), or -1 */
} cgroup_join;
/* Open them for an existing cgroup (cgroup_setup with pid 0 made it). */
int cgroup_join_open(const char *path, cgroup_join *j, capsa_err *e);
/* In the new, single-threaded process: move itself into the v1 hierarchies. */
int cgroup_join_self(const cgroup_join *j, capsa_err *e);
/* Where clone3 could not place the process: move pid into the cgroup2 dir. */
int cgroup_join_v2_pid(const cgroup_join *j, pid_t pid, capsa_err *e);
void cgroup_join_close(cgroup_join *j);

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
 * briefly for exiting processes. Missing directories are not an error. Parents
 * go only if they are in `made` (cgroup_setup's record, may be NULL) or are the
 * default path's "capsa", and only while empty: a parent someone else made
 * (kubelet's pod cgroup, a test's) is never removed. */
int cgroup_destroy(const char *path, const char *made, capsa_err *e);

/* The systemd driver (systemd.c). --systemd-cgroup turns it on: then
 * cgroup_path_for takes linux.cgroupsPath as "slice:prefix:name" ("" is
 * system.slice:capsa:<id>) and gives /<expanded slice>/<prefix>-<name>.scope,
 * cgroup_setup starts that transient scope through systemd (the limits as unit
 * properties, Delegate=yes) before the cgroupfs drivers write the rest;
 * update sets the unit's properties too and destroy stops the unit (a scope
 * capsa made: described "capsa container"), with or without the flag. */
void cgroup_set_systemd(bool on);
bool cgroup_systemd(void);
/* The container's annotations (kept, not copied; until the create ends): the
 * org.systemd.property.NAME ones become properties of the scope it starts, as
 * runc's. The runtime calls it before cgroup_setup. */
void cgroup_set_systemd_annotations(const spec_map *ann);
/* cgroup_path_for for a container, with crun's annotations: under the systemd
 * driver run.oci.systemd.subgroup=NAME makes the path SCOPE/NAME (limits there
 * and on the scope; the processes there), run.oci.delegate-cgroup=NAME (cgroup
 * v2) puts the processes in PATH/NAME (no limits, the container's to manage;
 * cgroup_enter / cgroup_join_open follow it); run.oci.systemd.force_cgroup_v1
 * is refused. NULL on a bad value: cgroup_setup(NULL) then says why (one line
 * naming the annotation). */
char *cgroup_path_for_ct(const char *cgroups_path, const char *id, const spec_map *ann);
/* false in the static build (and where libsystemd-dev was missing at build). */
bool cgroup_systemd_built(void);
/* 1 if the driver can be used here (rootful, user = false; rootless: user),
 * else 0 and *why (malloc'd) says why not. */
int cgroup_systemd_usable(bool user, char **why);

#endif
