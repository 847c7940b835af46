/* Creating the container process: namespaces, root filesystem, identity, and the
 * exec-fifo wait. The runtime orchestrates; this is the only code that calls
 * clone/setns/unshare/mount. */
#ifndef CAPSA_LINUX_H
#define CAPSA_LINUX_H

#include <stdbool.h>
#include <sys/types.h>

#include "spec/spec.h"
#include "util/err.h"

/* Joining the container's cgroup without a migration by pid, which waits for
 * an RCU grace period (cgroup_join in cgroup/cgroup.h; the runtime fills this
 * in from it, src/linux never touches /sys/fs/cgroup itself): the new process
 * is born in the cgroup2 directory cgroup_fd (clone3 CLONE_INTO_CGROUP) and
 * calls self() first thing; by_pid() moves it from the parent where clone3
 * could not place it. */
typedef struct {
    int cgroup_fd;                                      /* or -1 */
    int (*self)(void *arg, capsa_err *e);
    int (*by_pid)(void *arg, pid_t pid, capsa_err *e);
    void *arg;
} spawn_join;

typedef struct {
    const spec *s;
    const char *rootfs;          /* absolute host path */
    const char *bundle;          /* absolute; relative mount sources are under it */
    int state_dirfd;             /* directory holding exec.fifo */
    bool no_pivot, no_new_keyring;
    int preserve_fds;            /* fds 3..3+N-1 go to the process */
    const char *config_text;     /* the bytes s was parsed from (src/linux/reinit.c) */
    size_t config_len;
    int exe_fd, blob_fd;         /* internal to linux_spawn: set them to -1 */
    pid_t runtime_pid;           /* internal to linux_spawn */
    /* Called in the parent once the first child exists, before it goes on: the
     * runtime puts it in its cgroup here (unless `join` is set). */
    int (*on_child)(pid_t pid, void *arg, capsa_err *e);
    /* Init cloned in one go (linux_spawn_one_clone): its cgroup without a
     * migration by pid, or NULL for on_child. */
    const spawn_join *join;
    /* Called with the seccomp notify fd (SCMP_ACT_NOTIFY) and init's host pid:
     * the runtime hands it to linux.seccomp.listenerPath. The fd is closed after. */
    int (*on_seccomp_fd)(pid_t init, int fd, void *arg, capsa_err *e);
    /* Called with the pty master when process.terminal is set. */
    int (*on_console_fd)(int fd, void *arg, capsa_err *e);
    /* Called when init has its namespaces and mounts, before pivot_root: run
     * prestart and createRuntime hooks; *state (malloc'd) is the state JSON
     * the container's own hooks get. */
    int (*on_hooks)(pid_t init, char **state, void *arg, capsa_err *e);
    void *arg;
} spawn_cfg;

/* Will linux_spawn clone init straight into its namespaces (no user or time
 * namespace, nothing to join)? Only then does init re-execute itself from a
 * sealed copy (reinit.h); otherwise the runtime must run from one. */
bool linux_spawn_one_clone(const spec *s);

/* The re-executed init (reinit.c) going on with its setup. */
__attribute__((noreturn)) void linux_init_continue(const spawn_cfg *c, int sock);

/* Joining a running container (capsa exec). */
typedef struct {
    const spec_process *p;
    const spec_linux *l;         /* seccomp, personality of the container */
    pid_t init_pid;
    int preserve_fds;
    int (*on_child)(pid_t pid, void *arg, capsa_err *e);   /* cgroup enter by pid */
    const spawn_join *join;   /* as in spawn_cfg; then on_child is not used */
    int (*on_seccomp_fd)(pid_t pid, int fd, void *arg, capsa_err *e);
    int (*on_console_fd)(int fd, void *arg, capsa_err *e);
    void *arg;
} exec_cfg;

/* Returns once the process has exec'd (or failed, with the step in the error). */
int linux_exec(const exec_cfg *c, pid_t *pid, capsa_err *e);

/* Shared last steps: terminal, cwd, identity, no_new_privs (and a seccomp
 * filter with a notify listener); *exe is the program to execve. */
int process_finish_init(const spec_process *p, const spec_linux *l, int sock, char **exe,
                        capsa_err *e);
int process_finish(const spec_process *p, const spec_linux *l, int sock, char **exe,
                   capsa_err *e);
/* fds 3..3+N-1 survive execve, every other fd is close-on-exec. */
int process_keep_fds(int preserve_fds, capsa_err *e);
/* Just before execve and nothing after it: the seccomp filter, then (without
 * no_new_privs) the capability sets. See finish.c for the order. */
int process_enter_filter(const spec_process *p, const spec_linux *l, capsa_err *e);

/* Returns once the container's init is blocked on the exec fifo (or failed; then
 * the error names the setup step that failed inside the container). */
int linux_spawn(const spawn_cfg *c, pid_t *init_pid, capsa_err *e);

/* Namespace helpers used by spawn. */
int ns_write_id_maps(pid_t pid, const spec_linux *l, capsa_err *e);
int ns_join_paths(const spec_linux *l, bool user_only, capsa_err *e);
int ns_write_time_offsets(const spec_linux *l, capsa_err *e);
int net_loopback_up(capsa_err *e);
/* A user namespace fd carrying these maps (idmapped mounts). */
int ns_idmap_userns(const spec_idmaps *uid, const spec_idmaps *gid, capsa_err *e);

#endif
