/* Internal helpers shared by the lifecycle files. */
#ifndef CAPSA_CONTAINER_H
#define CAPSA_CONTAINER_H

#include "runtime/runtime.h"

/* Open <root>/<id> and take its flock (LOCK_EX). Not found: "container "x" does not exist". */
int ct_open_locked(const rt_ctx *c, const char *id, int *dirfd, capsa_err *e);
/* "creating", "created", "running", "paused" or "stopped". */
const char *ct_status(int dirfd, const cstate *st);
/* Kill everything, wait for init, remove cgroup and the state directory. */
int ct_destroy(const rt_ctx *c, int dirfd, const char *id, const cstate *st, capsa_err *e);
int ct_wait_pidfd(int pidfd, int timeout_ms);
/* Run the config's "poststart" or "poststop" hooks with the state as status: a
 * failing hook is a warning and the others still run; errors only when the
 * config cannot be read. */
int ct_run_hooks(const cstate *st, const char *kind, const char *status, capsa_err *e);

#endif
