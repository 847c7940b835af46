/* Every container on the host, whoever started it, found without any engine's
 * socket: processes in a pid or mount namespace other than the host's,
 * grouped by namespace and cgroup, named by engine from their cgroup paths
 * (Docker, containerd/CRI, Kubernetes, podman, CRI-O, LXC, nspawn) and from the
 * state directories of runc, crun and capsa under /run. Read-only. */
#ifndef CAPSA_OBSERVE_DISCOVER_H
#define CAPSA_OBSERVE_DISCOVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cgroup/stats.h"
#include "util/err.h"

/* What a cgroup path tells about the container in it (pure). */
typedef struct {
    char engine[16];      /* "docker", "podman", "kubernetes", "containerd", "cri-o", "lxc",
                           * "nspawn"; "" nothing known */
    char id[128];         /* the engine's container id, "" unknown */
    char pod_uid[64];     /* Kubernetes: pod UID (dashes), "" none */
    char qos[16];         /* Kubernetes: "guaranteed", "burstable", "besteffort" */
    char pod_cgroup[512]; /* Kubernetes: the pod's cgroup path, "" none */
    char cri[16];         /* Kubernetes: "containerd", "docker", "cri-o" from the scope name */
} obs_cgroup_class;

/* true when the path names something (engine != ""). */
bool obs_cgroup_classify(const char *path, obs_cgroup_class *out);

typedef struct {
    char *id;             /* engine's id (or the state dir's); NULL: unknown container */
    char *engine;         /* as obs_cgroup_class, or "runc", "crun", "capsa", "unknown" */
    char *runtime;        /* "runc", "crun", "capsa" when a state dir names it, else NULL */
    char *state_root;     /* that state dir's root (e.g. /run/runc), else NULL */
    char *ns;             /* containerd namespace (the shim's -namespace, or
                           * /run/containerd/runc/NS), else NULL */
    char *pod_uid, *qos, *pod_cgroup;   /* Kubernetes, else NULL */
    char *pod_name, *pod_namespace;     /* CRI annotations of the bundle, else NULL */
    char *name;           /* the engine's name for it (conmon -n, CRI container-name) */
    char *cgroup;         /* the init's cgroup path (memory controller, else cgroup2) */
    pid_t pid;            /* the container's init (host pid) */
    unsigned nprocs;      /* processes seen in the group */
    char comm[64];        /* the init's command name */
    unsigned long long pidns, mntns;
    bool own_pidns, own_mntns;   /* namespaces other than the host's */
} obs_host_ct;

typedef struct {
    obs_host_ct *v;
    size_t n;
} obs_host_cts;

/* Scan /proc and the state dirs; extra_root (may be NULL) is one more capsa
 * --root to look in. Sorted by engine, then id, then pid. Processes that
 * vanish meanwhile are skipped. */
int obs_discover(const char *extra_root, obs_host_cts *out, capsa_err *e);
void obs_host_cts_free(obs_host_cts *c);

/* "docker 3f2a5c6d7e8f \"web\"" (64-hex ids cut to 12, the engine's name when
 * known), "unknown container (pid 123)": a name for one line. */
void obs_host_ct_name(const obs_host_ct *c, char *buf, size_t n);
/* {"id","engine","runtime","pid","comm","cgroup","pod":{...}|null,...} */
json_t *obs_host_ct_json(const obs_host_ct *c);

/* The stats of the pod cgroup pod_cgroup (as obs_cgroup_class.pod_cgroup)
 * that process pid lives under, per hierarchy (podstats.c). */
int obs_pod_stats_read(pid_t pid, const char *pod_cgroup, cgroup_stats *out, capsa_err *e);

/* `capsa list --host`: a table (ENGINE ID PID ...), JSON array or ids. */
int obs_host_list(const char *extra_root, bool json, bool quiet, capsa_err *e);
/* The id to show: the engine's (hex ids cut to 12 characters when short),
 * else "pid-N". */
void obs_host_ct_id(const obs_host_ct *c, bool shorten, char *buf, size_t n);

#endif
