/* Container lifecycle (runtime-spec runtime.md): create, start, kill, delete, state. */
#ifndef CAPSA_RUNTIME_H
#define CAPSA_RUNTIME_H

#include <stdbool.h>
#include <sys/types.h>

#include "runtime/state.h"
#include "util/err.h"

typedef struct {
    const char *root;         /* state root, e.g. /run/capsa */
} rt_ctx;

typedef struct {
    const char *bundle;       /* NULL: current directory */
    const char *pid_file;
    const char *console_socket;
    int preserve_fds;
    bool no_pivot, no_new_keyring;
} rt_create_opts;

typedef struct {
    const char *process_file; /* --process: a process.json replacing everything */
    char **args;              /* NULL-terminated; used without --process */
    bool tty, detach, no_new_privs, ignore_paused;
    const char *console_socket, *pid_file, *cwd, *user, *additional_gids;
    const char *apparmor;     /* --apparmor PROFILE (without --process, as runc) */
    char **env, **caps;       /* NULL-terminated lists of --env K=V, --cap CAP */
    char **cgroups;           /* --cgroup [CTRL:]SUB (runc 1.1), NULL-terminated */
    int preserve_fds;
} rt_exec_opts;

typedef struct {
    char *id, *status, *bundle, *created, *owner, *oci_version, *rootfs;
    spec_map annotations;
    pid_t pid;
} rt_info;

int rt_create(const rt_ctx *c, const char *id, const rt_create_opts *o, capsa_err *e);
int rt_start(const rt_ctx *c, const char *id, capsa_err *e);
/* Foreground run: *status is the container's exit code (128+N on signal N). */
int rt_run(const rt_ctx *c, const char *id, const rt_create_opts *o, bool detach, bool keep,
           int *status, capsa_err *e);
int rt_exec(const rt_ctx *c, const char *id, const rt_exec_opts *o, int *status, capsa_err *e);
int rt_kill(const rt_ctx *c, const char *id, int sig, bool all, capsa_err *e);
int rt_delete(const rt_ctx *c, const char *id, bool force, capsa_err *e);
int rt_state_json(const rt_ctx *c, const char *id, char **out, capsa_err *e);
/* A container's state and status as `state` sees them, without waiting on its
 * lock (for the observatory). The caller frees *st with state_free. */
int rt_peek(const rt_ctx *c, const char *id, cstate *st, const char **status, capsa_err *e);
int rt_list(const rt_ctx *c, rt_info **out, size_t *n, capsa_err *e);
void rt_info_free(rt_info *v, size_t n);

/* Foreground wait: forwards signals, proxies the pty master if master >= 0,
 * reaps children; *status = exit code or 128+signal. */
int rt_wait(pid_t pid, int master, int *status, capsa_err *e);
/* From the very start of a foreground run/exec: a signal that arrives during
 * setup stays pending and rt_wait forwards it, instead of killing capsa and
 * orphaning the container. Children unblock before they exec. */
void rt_block_signals(void);
/* --pid-file: the pid, written atomically (relative paths from the cwd). */
int rt_write_pid_file(const char *path, pid_t pid, capsa_err *e);
/* Hand a pty master to an engine's --console-socket (SCM_RIGHTS, like runc). */
int rt_send_console(const char *path, int master, capsa_err *e);

/* /proc/PID/stat starttime (field 22); 0 if the process is gone. */
unsigned long long proc_start_time(pid_t pid);
/* A pidfd for pid if it is still the process that started at `start`, else -ESRCH. */
int proc_open_verified(pid_t pid, unsigned long long start);

/* ---- live resources: update, pause/resume, ps, events (manage.c) ---- */
#include <stdint.h>

#include "cgroup/stats.h"
#include "cgroup/stats_detail.h"

/* Apply resources to a created/running/paused container's cgroup (only the
 * fields set; device rules are left alone, like runc). */
int rt_update(const rt_ctx *c, const char *id, const spec_resources *r, capsa_err *e);
/* Freeze a running container / thaw a paused one; other states are errors. */
int rt_pause(const rt_ctx *c, const char *id, capsa_err *e);
int rt_resume(const rt_ctx *c, const char *id, capsa_err *e);
/* Host pids of every process in the container's cgroup; *pids malloc'd. */
int rt_pids(const rt_ctx *c, const char *id, pid_t **pids, size_t *n, capsa_err *e);

typedef enum { RT_EVENT_STATS, RT_EVENT_OOM } rt_event_type;
/* One event: stats (s and d set) or an OOM in the container (both NULL).
 * Returning <0 stops. */
typedef int (*rt_event_fn)(const char *id, rt_event_type type, const cgroup_stats *s,
                           const cgroup_stats_detail *d, void *arg, capsa_err *e);
/* once: one stats event and return. Else stats now and every interval, and an
 * OOM event whenever the kernel reports one, until the container stops. The
 * container lock is not held while streaming. */
int rt_events(const rt_ctx *c, const char *id, uint64_t interval_ns, bool once,
              rt_event_fn fn, void *arg, capsa_err *e);
/* 1 and msg = "killed by the OOM killer (memory limit 64 MiB, peak 64 MiB)" if
 * the kernel OOM-killed a process in that cgroup, else 0. */
int rt_oom_check(const char *cgroup_path, char *msg, size_t len);
/* After a foreground run: print rt_oom_check's finding on stderr. */
void rt_oom_report(const rt_ctx *c, const char *id);

#endif
