/* Host discovery's parts, shared by its files (not for other callers):
 * discover.c scans /proc and groups processes into containers;
 * discover_cgroup.c reads cgroup paths; discover_state.c the state dirs of
 * runc, crun and capsa; discover_monitor.c the init's parent (containerd
 * shims, conmon); discover_out.c names and prints what was found. */
#ifndef CAPSA_OBSERVE_DISCOVER_INT_H
#define CAPSA_OBSERVE_DISCOVER_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "observe/discover.h"

/* ---- discover_cgroup.c ---- */

/* s[0..n) is 12 or more hex digits. */
bool obs_is_hexid(const char *s, size_t n);
/* From /proc/PID/cgroup text: the memory controller's path (v1), else
 * cgroup2's "0::", else the first (malloc'd, NULL: no line). The first line
 * that names an engine fills *cls (*classified true). */
char *obs_primary_cgroup(const char *text, obs_cgroup_class *cls, bool *classified);

/* ---- discover_state.c ---- */

typedef struct {
    char *id, *runtime, *root, *ns;   /* id NULL: a root scanned, found empty */
    pid_t pid;
    unsigned long long start;   /* /proc/PID/stat starttime, 0 unknown */
} obs_state_ct;

typedef struct {
    obs_state_ct *v;
    size_t n;
} obs_state_cts;

/* The JSON object in file name under dfd (not followed if a symlink), else NULL. */
json_t *obs_json_at(int dfd, const char *name);
/* One container's state dir (open as cfd): the runtime that wrote it
 * ("runc", "crun", "capsa") and its live init (pid, start time); NULL when
 * unknown, stopped, or the pid reused. */
const char *obs_state_read(int cfd, pid_t *pid_out, unsigned long long *start_out);
/* The live containers of the state roots discovery knows (containerd's and
 * Docker's runc roots, /run/{runc,crun,capsa}, any /run/X, extra_root,
 * $XDG_RUNTIME_DIR/capsa). */
void obs_states_scan(const char *extra_root, obs_state_cts *out);
void obs_states_free(obs_state_cts *s);

/* ---- discover_monitor.c ---- */

/* What a containerd shim or conmon (the init's parent) tells about the
 * container below it: all read from /proc, no socket. */
typedef struct {
    char engine[16];     /* "containerd", "docker", "podman", "cri-o"; "" none */
    char id[128], ns[64], name[128];
    char pod_name[128], pod_ns[128], pod_uid[64];  /* CRI annotations of the bundle */
    char *state_root;    /* the runtime's --root as the engine names it, or NULL */
    char *state_dir;     /* that container's state dir, reachable from here */
} obs_monitor;

/* true when ppid is a monitor that names an engine (m->engine set). m is
 * filled either way; obs_monitor_free it after. */
bool obs_monitor_of(pid_t ppid, obs_monitor *m);
void obs_monitor_free(obs_monitor *m);
/* An engine's own daemon or monitor in the host's pid namespace with a mount
 * namespace of its own (containerd, dockerd or a shim under `unshare -m`) is
 * no container. */
bool obs_engine_daemon(const char *comm);

#endif
