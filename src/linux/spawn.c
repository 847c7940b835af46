/* Process creation in named stages, with the typed sync protocol of sync.h
 * (the ordering runc's nsexec documents):
 *
 *   parent    forks stage1; puts it in its cgroup (on_child); says GO;
 *             writes uid/gid maps when stage1 asks; reads the final pid, hands
 *             on a pty master or seccomp listener, then waits for READY (create)
 *             or EOF (exec: the socket is close-on-exec) or an ERROR message.
 *   stage1    create: joins namespace paths (user first), unshares a new user
 *             namespace and waits for its maps, unshares the other namespaces,
 *             sets time offsets. exec: joins every namespace of the container's
 *             init in one setns(pidfd). Then forks the final process and exits.
 *   init      sets up the root filesystem and the process, says READY, blocks
 *             on the exec fifo until `start`, then execs the user program.
 *
 * Every failure in stage1 or the final process is sent to the parent as text
 * naming the step, so the user sees one readable line and never a bare EOF. */
#include "linux/linux.h"

#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/sched.h>
#include <unistd.h>

#include "linux/hooks.h"
#include "linux/mounts.h"
#include "linux/process.h"
#include "linux/reinit.h"
#include "linux/rootfs.h"
#include "linux/selfexe.h"
#include "linux/seccomp_filter.h"
#include "linux/stages.h"
#include "linux/sync.h"
#include "util/trace.h"
#include "util/fault.h"

static bool want_new(const spec_linux *l, enum spec_ns_type t)
{
    return l->ns[t].present && !l->ns[t].path;
}

/* Hooks in the container's namespaces get the pid as the container sees it
 * (runtime-spec), and the status of the moment. */
static void state_in_container(char *buf, size_t len, const char *status)
{
    json_t *o = json_loads(buf, 0, NULL);
    if (!o)
        return;
    json_object_set_new(o, "pid", json_integer(getpid()));
    json_object_set_new(o, "status", json_string(status));
    char *s = json_dumps(o, JSON_COMPACT);
    if (s && strlen(s) < len)
        strcpy(buf, s);
    free(s);
    json_decref(o);
}

struct init_hooks {
    const spec_hooks *h;
    int sock;
    char state[CERR_MSG_MAX];
};

static bool has_hooks(const spec_hooks *h)
{
    return h->prestart.n || h->create_runtime.n || h->create_container.n || h->start_container.n;
}

/* Runtime hooks run in the parent (runtime namespace); createContainer runs
 * here, in the container's namespaces, before pivot_root. */
static int init_before_pivot(void *arg, capsa_err *e)
{
    struct init_hooks *ih = arg;
    sync_send(ih->sock, MSG_HOOKS, 0, NULL);
    struct msg m;
    int k = sync_recv(ih->sock, &m, NULL);
    if (k <= 0)
        return cerr_set(e, EPIPE, "runtime parent went away");
    if (m.type == MSG_ERROR)
        return cerr_set(e, m.val ? m.val : EIO, "%s", m.text);
    if (m.type != MSG_HOOKS_DONE)
        return cerr_set(e, EPROTO, "sync: expected hooks done, got %d", m.type);
    snprintf(ih->state, sizeof ih->state, "%s", m.text);
    state_in_container(ih->state, sizeof ih->state, "creating");
    return hooks_run(&ih->h->create_container, "createContainer", ih->state, e);
}

static int init_main(const spawn_cfg *c, int sock, capsa_err *e)
{
    const spec *s = c->s;
    const spec_linux *l = &s->linux;
    const spec_process *p = &s->process;
    int r;
    bool in_userns = l->ns[NS_USER].present;

    if (!c->no_new_keyring && syscall(SYS_keyctl, 1 /* JOIN_SESSION_KEYRING */, NULL) < 0 &&
        errno != ENOSYS && errno != EPERM)
        return cerr_sys(e, errno, "create session keyring");
    if (want_new(l, NS_NET) && (r = net_loopback_up(e)) < 0)
        return r;
    if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
        return cerr_sys(e, errno, "set hostname %s", s->hostname);
    if (s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0)
        return cerr_sys(e, errno, "set domainname %s", s->domainname);
    if ((r = process_limits(p, l, e)) < 0)
        return r;
    if (!l->ns[NS_MNT].present)
        return cerr_set(e, EINVAL, "a mount namespace is required (linux.namespaces)");
    rootfs_cfg rc = {.s = s, .rootfs = c->rootfs, .no_pivot = c->no_pivot,
                     .in_userns = in_userns, .new_cgroupns = want_new(l, NS_CGROUP),
                     .new_netns = want_new(l, NS_NET)};
    struct init_hooks ih = {.h = &s->hooks, .sock = sock};
    if (has_hooks(&s->hooks)) {
        rc.before_pivot = init_before_pivot;
        rc.arg = &ih;
    }
    trace_mark("init forked");
    if ((r = rootfs_setup(&rc, e)) < 0)
        return r;
    trace_mark("mounts");
    fault_point("mounts");
    autofree char *exe = NULL;
    if ((r = process_finish_init(p, l, sock, &exe, e)) < 0)
        return r;
    if ((r = process_keep_fds(c->preserve_fds, e)) < 0)
        return r;
    trace_mark("process (rlimits, user, caps)");
    /* init outlives `capsa create` from here on */
    prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    fault_point("exec");
    sync_send(sock, MSG_READY, 0, NULL);
    close(sock);
    /* Blocks until `capsa start` opens the fifo for reading. */
    int fifo = openat(c->state_dirfd, "exec.fifo", O_WRONLY | O_CLOEXEC);
    if (fifo < 0) {
        dprintf(2, "capsa: init: open exec fifo: %s\n", strerror(errno));
        _exit(127);
    }
    close(c->state_dirfd);
    /* `start` reads "0" and then waits for EOF, which the close-on-exec fifo
     * gives once the program runs; anything else it reads is the error. So a
     * failing startContainer hook, seccomp filter or execve fails `capsa start`
     * itself.
     * The filter comes before the startContainer hooks, as in runc: a hook's
     * binary is resolved in the container (the image's own code), and must not
     * run outside the container's filter. Without such hooks, "0" is written
     * first and the runtime makes no syscall but execve after the filter. */
    bool start_hooks = s->hooks.start_container.n > 0;
    if (!start_hooks && write(fifo, "0", 1) != 1)
        _exit(127);
    trace_mark("exec");
    if (process_enter_filter(p, l, e) < 0) {
        dprintf(fifo, "%s%s", start_hooks ? "1" : "", e->msg);
        _exit(127);
    }
    if (start_hooks) {
        /* startContainer: in the container, after start, before the program. */
        state_in_container(ih.state, sizeof ih.state, "created");
        if (hooks_run(&s->hooks.start_container, "startContainer", ih.state, e) < 0) {
            dprintf(fifo, "1%s", e->msg);
            _exit(1);
        }
        if (write(fifo, "0", 1) != 1)
            _exit(127);
    }
    execve(exe, p->args.v, p->env.v);
    dprintf(fifo, "exec %s: %s", exe, strerror(errno));
    _exit(127);
}

static int stage1_namespaces(const spawn_cfg *c, int sock, capsa_err *e)
{
    const spec_linux *l = &c->s->linux;
    int flags = 0, r;
    if ((r = process_oom_score_adj(&c->s->process, e)) < 0)
        return r;
    if ((r = ns_join_paths(l, true, e)) < 0)
        return r;
    if (want_new(l, NS_USER)) {
        if (unshare(CLONE_NEWUSER) < 0)
            return cerr_sys(e, errno, "create user namespace");
        sync_send(sock, MSG_USERNS, 0, NULL);
        if ((r = sync_expect(sock, MSG_USERNS_DONE, e)) < 0)
            return r;
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
            return cerr_sys(e, errno, "become root in the user namespace");
    }
    if ((r = ns_join_paths(l, false, e)) < 0)
        return r;
    mount_save_cgroup_view();
    for (int t = 0; t < NS__COUNT; t++)
        if (t != NS_USER && want_new(l, (enum spec_ns_type)t))
            flags |= spec_ns_clone_flag((enum spec_ns_type)t);
    if (flags && unshare(flags) < 0)
        return cerr_sys(e, errno, "create namespaces");
    trace_mark("namespaces");
    if (want_new(l, NS_TIME) && (r = ns_write_time_offsets(l, e)) < 0)
        return r;
    return 0;
}

static int init_entry(const void *arg, int sock, capsa_err *e)
{
    return init_main(arg, sock, e);
}

/* Everything but the sync socket, the state directory, the user namespaces of
 * idmapped mounts (init needs them) and the `extra` fds; the socket and the
 * extras are moved above the preserved range first. */
static void stage1_close_fds(const spawn_cfg *c, int *sock, int **extra, size_t n_extra)
{
    *sock = lift_fd(*sock, c->preserve_fds);
    const int *ids;
    size_t n = mount_idmap_fds(&ids);
    int keep[n + 2 + n_extra];
    keep[0] = *sock;
    keep[1] = c->state_dirfd;
    for (size_t i = 0; i < n; i++)
        keep[2 + i] = ids[i];
    for (size_t i = 0; i < n_extra; i++)
        keep[2 + n + i] = *extra[i] = lift_fd(*extra[i], c->preserve_fds);
    close_fds_keep(c->preserve_fds, keep, n + 2 + n_extra);
}

static __attribute__((noreturn)) void stage1_main(const spawn_cfg *c, int sock)
{
    capsa_err e = {0};
    unblock_all_signals();
    stage1_close_fds(c, &sock, NULL, 0);
    /* Non-dumpable before any namespace is joined; an unprivileged parent must
     * still open /proc/PID/uid_map, so then only after the maps are written. */
    bool rootless = geteuid() != 0;
    if (!rootless)
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (sync_expect(sock, MSG_GO, &e) < 0)
        sync_die(sock, &e);
    /* Relative mount sources are under the bundle. chdir while still host root:
     * a user-namespaced init may lack search permission on the bundle's parents. */
    if (chdir(c->bundle) < 0) {
        cerr_sys(&e, errno, "chdir to bundle %s", c->bundle);
        sync_die(sock, &e);
    }
    if (stage1_namespaces(c, sock, &e) < 0)
        sync_die(sock, &e);
    fault_point("namespaces");
    if (rootless)
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    fork_final(sock, init_entry, c);
}

static void spawn_stage1(const void *arg, int sock)
{
    stage1_main(arg, sock);
}

/* ---- create in one clone ----
 * Without a user or time namespace and without namespaces to join, init is
 * cloned straight into its new namespaces: no stage1 process, no fork after
 * unshare. The cgroup namespace is the exception: it is made by init itself
 * once the runtime has put it in its cgroup, so that cgroup is its root. */
bool linux_spawn_one_clone(const spec *s)
{
    const spec_linux *l = &s->linux;
    for (int t = 0; t < NS__COUNT; t++)
        if (l->ns[t].present && l->ns[t].path)
            return false;
    return !l->ns[NS_USER].present && !l->ns[NS_TIME].present;
}

void linux_init_continue(const spawn_cfg *c, int sock)
{
    capsa_err e = {0};
    if (sync_expect(sock, MSG_GO, &e) < 0)
        sync_die(sock, &e);
    if (chdir(c->bundle) < 0) {
        cerr_sys(&e, errno, "chdir to bundle %s", c->bundle);
        sync_die(sock, &e);
    }
    mount_save_cgroup_view();
    if (want_new(&c->s->linux, NS_CGROUP) && unshare(CLONE_NEWCGROUP) < 0) {
        cerr_sys(&e, errno, "create cgroup namespace");
        sync_die(sock, &e);
    }
    trace_mark("namespaces");
    fault_point("namespaces");
    if (init_main(c, sock, &e) < 0)
        sync_die(sock, &e);
    _exit(1);
}

static int run_direct_fds(const spawn_cfg *c, const parent_cfg *pc, pid_t *final, capsa_err *e);

/* Init cloned in one go, already in its cgroups (run_child). */
static void direct_init(const void *arg, int sock)
{
    const spawn_cfg *c = arg;
    capsa_err e = {0};
    unblock_all_signals();
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    /* dies with the runtime while it is being set up (cleared before READY) */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    int exe = c->exe_fd, blob = c->blob_fd;
    int *extra[] = {&exe, &blob};
    stage1_close_fds(c, &sock, extra, exe >= 0 ? 2 : 0);
    if (exe >= 0) {
        /* goes on in reinit_main, running from the sealed copy */
        cerr_sys(&e, -reinit_exec(exe, blob, sock, c->state_dirfd, c->runtime_pid, c->exe_fd),
                 "re-execute init from a sealed copy of capsa");
        sync_die(sock, &e);
    }
    linux_init_continue(c, sock);
}

static int run_direct(const spawn_cfg *cfg, const parent_cfg *pc, pid_t *final, capsa_err *e)
{
    /* The sealed copy and the blob are made here, in the runtime's cgroup. */
    spawn_cfg copy = *cfg, *c = &copy;
    c->exe_fd = c->blob_fd = -1;
    c->runtime_pid = getpid();
    if (!selfexe_off() && !selfexe_sealed()) {
        if ((c->exe_fd = selfexe_sealed_fd()) < 0)
            return cerr_sys(e, -c->exe_fd, "a sealed copy of the capsa binary");
        if ((c->blob_fd = reinit_write_blob(c)) < 0) {
            close(c->exe_fd);
            return cerr_sys(e, -c->blob_fd, "write the setup of init");
        }
    }
    int r = run_direct_fds(c, pc, final, e);
    if (c->exe_fd >= 0) {
        close(c->exe_fd);
        close(c->blob_fd);
    }
    return r;
}

static int run_direct_fds(const spawn_cfg *c, const parent_cfg *pc, pid_t *final, capsa_err *e)
{
    const spec_linux *l = &c->s->linux;
    int flags = 0;
    for (int t = 0; t < NS__COUNT; t++)
        if (t != NS_CGROUP && want_new(l, (enum spec_ns_type)t))
            flags |= spec_ns_clone_flag((enum spec_ns_type)t);
    return run_child(flags, direct_init, c, c->on_child, c->join, pc, true, final, e);
}

int linux_spawn(const spawn_cfg *c, pid_t *init_pid, capsa_err *e)
{
    int r = seccomp_prepare(&c->s->linux.seccomp, e);
    if (r < 0)
        return r;
    trace_mark("seccomp filter");
    process_log_ambient(&c->s->process.caps);
    parent_cfg pc = {.l = &c->s->linux, .on_hooks = c->on_hooks, .on_seccomp_fd = c->on_seccomp_fd,
                     .on_console_fd = c->on_console_fd, .arg = c->arg, .until_ready = true};
    if (linux_spawn_one_clone(c->s))
        return run_direct(c, &pc, init_pid, e);
    return run_child(0, spawn_stage1, c, c->on_child, NULL, &pc, false, init_pid, e);
}
