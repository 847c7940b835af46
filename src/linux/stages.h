/* The process stages shared by create (spawn.c) and exec (exec.c): forking with
 * the sync protocol of sync.h, the parent's side of it, and the fd and signal
 * hygiene of every process that goes into a container. Internal to src/linux. */
#ifndef CAPSA_STAGES_H
#define CAPSA_STAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "linux/linux.h"

typedef struct {
    const spec_linux *l;   /* for the user namespace maps (create only) */
    int (*on_hooks)(pid_t init, char **state, void *arg, capsa_err *e);
    int (*on_seccomp_fd)(pid_t pid, int fd, void *arg, capsa_err *e);
    int (*on_console_fd)(int fd, void *arg, capsa_err *e);
    void *arg;
    bool until_ready;      /* create: stop at READY; exec: stop at EOF */
} parent_cfg;

/* Only stdio, the preserved fds and `keep` survive (close_range between them). */
void close_fds_keep(int preserve, int *keep, size_t n);
/* A foreground capsa blocks signals to forward them: not into the container. */
void unblock_all_signals(void);
/* Move a descriptor above the preserved range so execve keeps 3..3+N-1 intact. */
int lift_fd(int fd, int preserve);
/* In stage1: fork the final process (CLONE_PARENT), report its pid, exit. */
__attribute__((noreturn)) void fork_final(int sock, int (*fn)(const void *, int, capsa_err *),
                                          const void *arg);
/* The parent's side of the protocol until READY (create) or EOF (exec). */
int parent_loop(int sock, pid_t child, const parent_cfg *pc, pid_t *final, capsa_err *e);
/* fork/clone with namespace flags, born in join's cgroup2 dir if it has one. */
pid_t clone_into(int flags, const spawn_join *join, bool *placed);
/* Fork (or clone into new namespaces: flags) a child that joins its cgroup
 * (join_first) and runs fn(arg, sock); the parent places it and drives the
 * protocol. child_is_init: the child is the container's init and is left
 * running; otherwise it is a stage1 that reports the final pid (MSG_PID) and
 * is reaped here. */
int run_child(int flags, void (*fn)(const void *, int), const void *arg,
              int (*on_child)(pid_t, void *, capsa_err *), const spawn_join *join,
              const parent_cfg *pc, bool child_is_init, pid_t *final, capsa_err *e);
/* The new process into its cgroup: in the child, join->self first thing (when
 * join); in the parent, join->by_pid unless clone3 placed it, or on_child. */
int join_first(const spawn_join *join, capsa_err *e);
int place_child(pid_t child, bool placed, const spawn_join *join,
                int (*on_child)(pid_t, void *, capsa_err *), void *arg, capsa_err *e);

#endif
