/* Internal helpers shared by the lifecycle files. */
#ifndef CAPSA_CONTAINER_H
#define CAPSA_CONTAINER_H

#include <limits.h>
#include "cgroup/cgroup.h"
#include "linux/linux.h"
#include "runtime/runtime.h"

/* ---- the state directory and its lock (statedir.c) ---- */
/* Open <root>/<id> and take its flock (LOCK_EX). Not found: "container "x" does not exist". */
int ct_open_locked(const rt_ctx *c, const char *id, int *dirfd, capsa_err *e);
/* Open <root>/<id> without waiting: a shared lock if it is free, else *busy
 * (another verb works on it) and no lock. */
int ct_open_peek(const rt_ctx *c, const char *id, int *dirfd, bool *busy, capsa_err *e);
/* ct_open_peek + state_read, waiting only for a delete under way; errors name
 * the container (no such container, no or a corrupt state.json). */
int ct_peek_state(const rt_ctx *c, const char *id, int *dirfd, cstate *st, bool *busy,
                  capsa_err *e);
/* The one-line error for a state_read failure r (no or a damaged state.json). */
int ct_state_error(int r, const char *id, capsa_err *e);
/* create: a locked <root>/<id> holding the first state.json and cgroup.path,
 * or "already exists" with nothing made. */
int ct_claim(const rt_ctx *c, const char *id, const cstate *st, int *dirfd, capsa_err *e);
/* Remove <root>/.create-PID directories of creates killed before their claim. */
void ct_remove_stale_claims(const rt_ctx *c);

/* "creating", "created", "running", "paused" or "stopped", for a caller that
 * holds the lock: no init pid then means its create died ("stopped"). */
const char *ct_status(int dirfd, const cstate *st);
/* The same for a peek: no init pid while busy means a create is under way. */
const char *ct_status_peek(int dirfd, const cstate *st, bool busy);
/* Kill everything, wait for init, remove cgroup and the state directory.
 * st may be NULL (no readable state.json): the cgroup then comes from cgroup.path. */
int ct_destroy(const rt_ctx *c, int dirfd, const char *id, const cstate *st, capsa_err *e);
int ct_wait_pidfd(int pidfd, int timeout_ms);
/* The config whose poststart/poststop hooks run: the copy create kept in the
 * state directory (bundle edits after create change nothing), or NULL. */
spec *ct_hooks_config(int dirfd, const cstate *st);
/* Run the config's "poststart" or "poststop" hooks with the state as status: a
 * failing hook is a warning and the others still run; errors only when there
 * is no config (s NULL). */
/* The devices cgroup rules of a container (create and restore): the config's,
 * then the devices every container needs (as runc), then each linux.devices
 * node; last match wins. malloc'd, *n entries. */
spec_dev_rule *ct_device_rules(const spec *s, size_t *n);
/* root.path made absolute (relative to the bundle) and resolved into rootfs. */
int ct_rootfs_path(const spec *s, const char *bundle, char rootfs[PATH_MAX], capsa_err *e);
/* Now as state.json's "created": RFC 3339 UTC with nanoseconds (malloc'd). */
char *ct_now_rfc3339(void);
int ct_run_hooks(const spec *s, const cstate *st, const char *kind, const char *status,
                 capsa_err *e);

/* A new process joins the cgroup j opened without a migration by pid (proc.c). */
spawn_join ct_spawn_join(cgroup_join *j);

#endif
