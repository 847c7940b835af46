/* capsa exec: join a running container (linux_exec in linux.h). */
#include "linux/linux.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "linux/process.h"
#include "linux/seccomp_filter.h"
#include "linux/stages.h"
#include "linux/sync.h"

static int exec_final(const void *arg, int sock, capsa_err *e)
{
    const exec_cfg *c = arg;
    int r;
    if ((r = process_limits(c->p, c->l, e)) < 0)
        return r;
    autofree char *exe = NULL;
    if ((r = process_finish(c->p, c->l, sock, &exe, e)) < 0)
        return r;
    if ((r = process_keep_fds(c->preserve_fds, e)) < 0)
        return r;
    execve(exe, c->p->args.v, c->p->env.v);
    return cerr_sys(e, errno, "exec %s", exe);
}

static bool ns_differs(pid_t pid, const char *name);

/* Every namespace of init that differs from ours, joined at once through its
 * pidfd (the kernel then applies them in the right order). */
static int exec_join(const exec_cfg *c, capsa_err *e)
{
    int flags = 0;
    for (int t = 0; t < NS__COUNT; t++)
        if (ns_differs(c->init_pid, spec_ns_proc_name(t)))
            flags |= spec_ns_clone_flag((enum spec_ns_type)t);
    /* opened by the runtime when we are born in init's pid namespace, where
     * init's host pid means nothing */
    autoclose int pidfd = c->init_pidfd >= 0 ? dup(c->init_pidfd)
                                             : (int)syscall(SYS_pidfd_open, c->init_pid, 0);
    if (pidfd < 0)
        return cerr_sys(e, errno, "open container init %d", (int)c->init_pid);
    if (flags && setns(pidfd, flags) < 0)
        return cerr_sys(e, errno, "join the namespaces of container init %d", (int)c->init_pid);
    return 0;
}

/* The first process: into init's namespaces, then (with a fork when its pid
 * namespace is still to be entered) the program. */
static void exec_stage1(const void *arg, int sock)
{
    const exec_cfg *c = arg;
    capsa_err e = {0};
    unblock_all_signals();
    sock = lift_fd(sock, c->preserve_fds);
    int keep[] = {sock, c->init_pidfd};
    close_fds_keep(c->preserve_fds, keep, 2);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (sync_expect(sock, MSG_GO, &e) < 0 || exec_join(c, &e) < 0)
        sync_die(sock, &e);
    if (!c->born_inside)
        fork_final(sock, exec_final, c);
    /* born in init's pid namespace already: this is the final process */
    prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    if (exec_final(c, sock, &e) < 0)
        sync_die(sock, &e);
    _exit(1);
}

/* Whether /proc/PID/ns/NAME and our own differ. */
static bool ns_differs(pid_t pid, const char *name)
{
    char a[64], b[64], la[64] = "", lb[64] = "";
    snprintf(a, sizeof a, "/proc/%d/ns/%s", (int)pid, name);
    snprintf(b, sizeof b, "/proc/self/ns/%s", name);
    ssize_t na = readlink(a, la, sizeof la - 1), nb = readlink(b, lb, sizeof lb - 1);
    return na > 0 && nb > 0 && strcmp(la, lb);
}

int linux_exec(const exec_cfg *cfg, pid_t *pid, capsa_err *e)
{
    int r = seccomp_prepare(&cfg->l->seccomp, e);
    if (r < 0)
        return r;
    parent_cfg pc = {.l = cfg->l, .on_seccomp_fd = cfg->on_seccomp_fd,
                     .on_console_fd = cfg->on_console_fd, .arg = cfg->arg, .until_ready = false};
    exec_cfg copy = *cfg, *c = &copy;
    /* One fork instead of two: the runtime enters init's pid namespace for its
     * children only (pid_for_children; it stays where it is itself, and makes
     * no other process after this one), so the process is born inside it. Not
     * with a time namespace to enter, which is only taken at exec. */
    c->init_pidfd = -1;
    if (!ns_differs(c->init_pid, "time") && ns_differs(c->init_pid, "pid")) {
        int pidfd = (int)syscall(SYS_pidfd_open, c->init_pid, 0);
        if (pidfd >= 0 && setns(pidfd, CLONE_NEWPID) == 0) {
            c->born_inside = true;
            c->init_pidfd = lift_fd(pidfd, c->preserve_fds);
        } else if (pidfd >= 0) {
            close(pidfd);
        }
    }
    pc.child_is_final = c->born_inside;
    r = run_stages(exec_stage1, c, c->on_child, c->join, &pc, pid, e);
    if (c->init_pidfd >= 0)
        close(c->init_pidfd);
    return r;
}
