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
    if ((r = process_enter_filter(c->p, c->l, e)) < 0)
        return r;
    execve(exe, c->p->args.v, c->p->env.v);
    return cerr_sys(e, errno, "exec %s", exe);
}

/* Every namespace of init that differs from ours, joined at once through its
 * pidfd (the kernel then applies them in the right order). */
static int exec_join(const exec_cfg *c, capsa_err *e)
{
    int flags = 0;
    for (int t = 0; t < NS__COUNT; t++) {
        char a[64], b[64], la[64] = "", lb[64] = "";
        snprintf(a, sizeof a, "/proc/%d/ns/%s", (int)c->init_pid, spec_ns_proc_name(t));
        snprintf(b, sizeof b, "/proc/self/ns/%s", spec_ns_proc_name(t));
        ssize_t na = readlink(a, la, sizeof la - 1), nb = readlink(b, lb, sizeof lb - 1);
        if (na > 0 && nb > 0 && strcmp(la, lb))
            flags |= spec_ns_clone_flag((enum spec_ns_type)t);
    }
    autoclose int pidfd = (int)syscall(SYS_pidfd_open, c->init_pid, 0);
    if (pidfd < 0)
        return cerr_sys(e, errno, "open container init %d", (int)c->init_pid);
    if (flags && setns(pidfd, flags) < 0)
        return cerr_sys(e, errno, "join the namespaces of container init %d", (int)c->init_pid);
    return 0;
}

static void exec_stage1(const void *arg, int sock)
{
    const exec_cfg *c = arg;
    capsa_err e = {0};
    unblock_all_signals();
    sock = lift_fd(sock, c->preserve_fds);
    int keep[] = {sock};
    close_fds_keep(c->preserve_fds, keep, 1);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (sync_expect(sock, MSG_GO, &e) < 0 || process_oom_score_adj(c->p, &e) < 0 ||
        exec_join(c, &e) < 0)
        sync_die(sock, &e);
    fork_final(sock, exec_final, c);
}

int linux_exec(const exec_cfg *c, pid_t *pid, capsa_err *e)
{
    int r = seccomp_prepare(&c->l->seccomp, e);
    if (r < 0)
        return r;
    process_log_ambient(&c->p->caps);
    parent_cfg pc = {.l = c->l, .on_seccomp_fd = c->on_seccomp_fd,
                     .on_console_fd = c->on_console_fd, .arg = c->arg, .until_ready = false};
    return run_child(0, exec_stage1, c, c->on_child, c->join, &pc, false, pid, e);
}
