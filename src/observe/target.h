/* What the observatory looks at: a capsa container (from its state.json) or
 * any pid on the host. */
#ifndef CAPSA_OBSERVE_TARGET_H
#define CAPSA_OBSERVE_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

typedef struct {
    char *id;            /* container id; NULL for a bare pid */
    char *status;        /* "created", "running", "paused", "stopped"; NULL for a pid */
    pid_t pid;           /* init pid (container) or the pid; 0 if stopped */
    char *cgroup_path;   /* as in state.json; NULL: use /proc/PID/cgroup */
    char *bundle;
    char *pod_cgroup;    /* set: the Kubernetes pod cgroup above pid (capsa stats --host) */
} obs_target;

/* Read <root>/<id>/state.json without taking the container lock: it is
 * replaced atomically, and observing must not wait behind a slow create. */
int obs_target_container(const char *root, const char *id, obs_target *t, capsa_err *e);
int obs_target_pid(pid_t pid, obs_target *t, capsa_err *e);
/* Every container id under root (sorted); *ids malloc'd. */
int obs_target_ids(const char *root, char ***ids, size_t *n, capsa_err *e);
void obs_target_free(obs_target *t);
void obs_ids_free(char **ids, size_t n);
/* Running, created or paused: there is a process to look at. */
bool obs_target_live(const obs_target *t);

#endif
