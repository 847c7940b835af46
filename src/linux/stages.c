/* Process stages shared by create and exec (stages.h). */
#include "linux/stages.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sched.h>

#include "linux/sync.h"

/* Only stdio, the preserved fds, the sync socket and the state directory go
 * into the container; in particular not the caller's flock'd state fd, or the
 * lock would live as long as the container's init. */
void close_fds_keep(int preserve, int *keep, size_t n)
{
    /* sort the few fds to keep, then close the ranges between them */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
            int t = keep[j];
            keep[j] = keep[j - 1];
            keep[j - 1] = t;
        }
    unsigned lo = 3 + (unsigned)preserve;
    for (size_t i = 0; i < n; i++) {
        if (keep[i] < 0 || (unsigned)keep[i] < lo)
            continue;
        if ((unsigned)keep[i] > lo)
            syscall(SYS_close_range, lo, keep[i] - 1, 0);
        lo = (unsigned)keep[i] + 1;
    }
    syscall(SYS_close_range, lo, ~0U, 0);
}

/* A foreground capsa blocks signals to forward them; its children must not
 * inherit that mask into the container. */
void unblock_all_signals(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Move a descriptor above the preserved range so execve keeps 3..3+N-1 intact. */
int lift_fd(int fd, int preserve)
{
    if (fd >= 3 + preserve)
        return fd;
    int n = fcntl(fd, F_DUPFD_CLOEXEC, 3 + preserve);
    close(fd);
    return n;
}


/* Fork the final process (needed to enter a pid or time namespace), report its
 * pid and leave. */
__attribute__((noreturn)) void fork_final(int sock, int (*fn)(const void *, int, capsa_err *),
                                                 const void *arg)
{
    capsa_err e = {0};
    /* CLONE_PARENT: the final process is the runtime's child, not ours. Once
     * it lives in the container's pid namespace an orphan would be reparented
     * to the container's init, never to a subreaper outside, and `capsa exec`
     * could not wait for it. */
    pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, 0);
    if (pid < 0) {
        cerr_sys(&e, errno, "fork");
        sync_die(sock, &e);
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
        if (fn(arg, sock, &e) < 0)
            sync_die(sock, &e);
        _exit(1);
    }
    sync_send(sock, MSG_PID, pid, NULL);
    _exit(0);
}


int parent_loop(int sock, pid_t child, const parent_cfg *pc, pid_t *final, capsa_err *e)
{
    int r = 0;
    for (;;) {
        struct msg m;
        int fd = -1;
        int k = sync_recv(sock, &m, &fd);
        if (k < 0)
            return cerr_sys(e, -k, "read from container setup");
        if (k == 0) {
            if (pc->until_ready || *final <= 0)
                return cerr_set(e, EPIPE, "container setup exited before it was ready");
            return 0;
        }
        switch (m.type) {
        case MSG_USERNS:
            if ((r = ns_write_id_maps(child, pc->l, e)) < 0)
                return r;
            sync_send(sock, MSG_USERNS_DONE, 0, NULL);
            break;
        case MSG_PID:
            *final = m.val;
            break;
        case MSG_SECCOMP_FD:
        case MSG_CONSOLE_FD:
            /* stage1 reports the pid right after its fork, long before the
             * final process gets this far. */
            if (fd < 0 || *final <= 0)
                r = cerr_set(e, EPROTO, "descriptor message without fd or pid");
            else if (m.type == MSG_SECCOMP_FD)
                r = pc->on_seccomp_fd ? pc->on_seccomp_fd(*final, fd, pc->arg, e) : 0;
            else
                r = pc->on_console_fd ? pc->on_console_fd(fd, pc->arg, e) : 0;
            if (fd >= 0)
                close(fd);
            if (r < 0)
                return r;
            sync_send(sock, m.type == MSG_SECCOMP_FD ? MSG_SECCOMP_DONE : MSG_CONSOLE_DONE, 0,
                      NULL);
            break;
        case MSG_HOOKS: {
            char *state = NULL;
            r = pc->on_hooks ? pc->on_hooks(*final, &state, pc->arg, e) : 0;
            if (r < 0) {
                free(state);
                return r;
            }
            sync_send(sock, MSG_HOOKS_DONE, 0, state ? state : "{}");
            free(state);
            break;
        }
        case MSG_READY:
            if (pc->until_ready)
                return 0;
            break;
        case MSG_ERROR:
            return cerr_set(e, m.val ? m.val : EIO, "%s", m.text);
        default:
            return cerr_set(e, EPROTO, "unexpected message %d from container setup", m.type);
        }
    }
}

/* fork/clone with namespace flags; born in the cgroup2 directory cgroup_fd
 * when there is one (clone3 CLONE_INTO_CGROUP: no migration by pid, see
 * cgroup_join in cgroup.h). *placed says whether that happened. */
pid_t clone_into(int flags, const spawn_join *join, bool *placed)
{
    *placed = false;
    int cgroup_fd = join ? join->cgroup_fd : -1;
    if (cgroup_fd >= 0) {
        struct clone_args ca = {.flags = (uint64_t)flags | CLONE_INTO_CGROUP,
                                .exit_signal = SIGCHLD, .cgroup = (uint64_t)cgroup_fd};
        pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
        if (pid >= 0 || (errno != ENOSYS && errno != E2BIG && errno != EINVAL)) {
            *placed = pid > 0;
            return pid;
        }
    }
    /* before Linux 5.7, or no cgroup2; a plain fork keeps glibc's own
     * bookkeeping (its cached thread id) right in the child */
    if (!flags)
        return fork();
    return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
}

/* Fork stage1 running fn(arg, sock); the parent drives the protocol. */
int join_first(const spawn_join *join, capsa_err *e)
{
    return join && join->self ? join->self(join->arg, e) : 0;
}

int place_child(pid_t child, bool placed, const spawn_join *join,
                int (*on_child)(pid_t, void *, capsa_err *), void *arg, capsa_err *e)
{
    if (join)
        return placed || !join->by_pid ? 0 : join->by_pid(join->arg, child, e);
    return on_child ? on_child(child, arg, e) : 0;
}

int run_child(int flags, void (*fn)(const void *, int), const void *arg,
              int (*on_child)(pid_t, void *, capsa_err *), const spawn_join *join,
              const parent_cfg *pc, bool child_is_init, pid_t *final, capsa_err *e)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return cerr_sys(e, errno, "socketpair");
    bool placed;
    pid_t child = clone_into(flags, join, &placed);
    if (child < 0) {
        close(sv[0]);
        close(sv[1]);
        return cerr_sys(e, errno, flags ? "create namespaces" : "fork");
    }
    if (child == 0) {
        close(sv[0]);
        capsa_err ce = {0};
        /* first of all: into the container's cgroups (before anything is charged) */
        if (join_first(join, &ce) < 0)
            sync_die(sv[1], &ce);
        fn(arg, sv[1]);
        _exit(1);
    }
    close(sv[1]);
    autoclose int sock = sv[0];
    *final = child_is_init ? child : 0;
    int r = place_child(child, placed, join, on_child, pc->arg, e);
    if (r == 0 && sync_send(sock, MSG_GO, 0, NULL) < 0)
        r = cerr_sys(e, EPIPE, "start container setup");
    if (r == 0)
        r = parent_loop(sock, child, pc, final, e);
    if (r < 0) {
        kill(child, SIGKILL);
        if (*final > 0 && *final != child)
            kill(*final, SIGKILL);
    }
    /* a stage is reaped here; init is left running (or was killed above) */
    if (r < 0 || !child_is_init)
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
            ;
    return r;
}
