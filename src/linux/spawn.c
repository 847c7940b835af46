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
#include "linux/sync.h"
#include "util/trace.h"
#include "util/fault.h"

static bool want_new(const spec_linux *l, enum spec_ns_type t)
{
    return l->ns[t].present && !l->ns[t].path;
}

/* Only stdio, the preserved fds, the sync socket and the state directory go
 * into the container; in particular not the caller's flock'd state fd, or the
 * lock would live as long as the container's init. */
static void close_fds_keep(int preserve, int *keep, size_t n)
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
static void unblock_all_signals(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Move a descriptor above the preserved range so execve keeps 3..3+N-1 intact. */
static int lift_fd(int fd, int preserve)
{
    if (fd >= 3 + preserve)
        return fd;
    int n = fcntl(fd, F_DUPFD_CLOEXEC, 3 + preserve);
    close(fd);
    return n;
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
    trace_mark("process (rlimits, user, caps, seccomp)");
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
     * failing startContainer hook or execve fails `capsa start` itself. */
    if (s->hooks.start_container.n) {
        /* startContainer: in the container, after start, before the program. */
        state_in_container(ih.state, sizeof ih.state, "created");
        if (hooks_run(&s->hooks.start_container, "startContainer", ih.state, e) < 0) {
            dprintf(fifo, "1%s", e->msg);
            _exit(1);
        }
    }
    if (write(fifo, "0", 1) != 1)
        _exit(127);
    trace_mark("exec");
    execve(exe, p->args.v, p->env.v);
    dprintf(fifo, "exec %s: %s", exe, strerror(errno));
    _exit(127);
}

static int stage1_namespaces(const spawn_cfg *c, int sock, capsa_err *e)
{
    const spec_linux *l = &c->s->linux;
    int flags = 0, r;
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

/* Fork the final process (needed to enter a pid or time namespace), report its
 * pid and leave. */
static __attribute__((noreturn)) void fork_final(int sock, int (*fn)(const void *, int, capsa_err *),
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

typedef struct {
    const spec_linux *l;   /* for the user namespace maps (create only) */
    int (*on_hooks)(pid_t init, char **state, void *arg, capsa_err *e);
    int (*on_seccomp_fd)(pid_t pid, int fd, void *arg, capsa_err *e);
    int (*on_console_fd)(int fd, void *arg, capsa_err *e);
    void *arg;
    bool until_ready;      /* create: stop at READY; exec: stop at EOF */
} parent_cfg;

static int parent_loop(int sock, pid_t child, const parent_cfg *pc, pid_t *final, capsa_err *e)
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
static pid_t clone_into(int flags, int cgroup_fd, bool *placed)
{
    *placed = false;
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
static int run_stages(void (*stage1)(const void *, int), const void *arg,
                      int (*on_child)(pid_t, void *, capsa_err *), int cgroup_fd,
                      int (*child_first)(void *, capsa_err *), const parent_cfg *pc,
                      pid_t *final, capsa_err *e)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return cerr_sys(e, errno, "socketpair");
    bool placed;
    pid_t child = clone_into(0, cgroup_fd, &placed);
    if (child < 0) {
        close(sv[0]);
        close(sv[1]);
        return cerr_sys(e, errno, "fork");
    }
    if (child == 0) {
        close(sv[0]);
        capsa_err ce = {0};
        if (child_first && child_first(pc->arg, &ce) < 0)
            sync_die(sv[1], &ce);
        stage1(arg, sv[1]);
        _exit(1);
    }
    close(sv[1]);
    autoclose int sock = sv[0];
    *final = 0;
    int r = on_child && !placed ? on_child(child, pc->arg, e) : 0;
    if (r == 0 && sync_send(sock, MSG_GO, 0, NULL) < 0)
        r = cerr_sys(e, EPIPE, "start container setup");
    if (r == 0)
        r = parent_loop(sock, child, pc, final, e);
    if (r < 0) {
        kill(child, SIGKILL);
        if (*final > 0)
            kill(*final, SIGKILL);
    }
    int st;
    while (waitpid(child, &st, 0) < 0 && errno == EINTR)
        ;
    return r;
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

static __attribute__((noreturn)) void direct_init(const spawn_cfg *c, int sock)
{
    capsa_err e = {0};
    /* first of all: into the container's cgroups (before its exec is charged) */
    if (c->child_first && c->child_first(c->arg, &e) < 0)
        sync_die(sock, &e);
    unblock_all_signals();
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    /* dies with the runtime while it is being set up (cleared before READY) */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    int exe = c->exe_fd, blob = c->blob_fd;
    int *extra[] = {&exe, &blob};
    stage1_close_fds(c, &sock, extra, exe >= 0 ? 2 : 0);
    if (exe >= 0) {
        /* goes on in reinit_main, running from the sealed copy */
        cerr_sys(&e, -reinit_exec(exe, blob, sock, c->state_dirfd), "re-execute init from a sealed copy of capsa");
        sync_die(sock, &e);
    }
    linux_init_continue(c, sock);
}

static int run_direct(const spawn_cfg *cfg, const parent_cfg *pc, pid_t *final, capsa_err *e)
{
    /* The sealed copy and the blob are made here, in the runtime's cgroup. */
    spawn_cfg copy = *cfg, *c = &copy;
    c->exe_fd = c->blob_fd = -1;
    if (!selfexe_off()) {
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
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return cerr_sys(e, errno, "socketpair");
    bool placed;
    pid_t child = clone_into(flags, c->cgroup_fd, &placed);
    if (child < 0) {
        close(sv[0]);
        close(sv[1]);
        return cerr_sys(e, errno, "create namespaces");
    }
    if (child == 0) {
        close(sv[0]);
        direct_init(c, sv[1]);
    }
    close(sv[1]);
    autoclose int sock = sv[0];
    *final = child;
    int r = c->on_child && !placed ? c->on_child(child, pc->arg, e) : 0;
    if (r == 0 && sync_send(sock, MSG_GO, 0, NULL) < 0)
        r = cerr_sys(e, EPIPE, "start container setup");
    if (r == 0)
        r = parent_loop(sock, child, pc, final, e);
    if (r < 0) {
        kill(child, SIGKILL);
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    return r;
}

int linux_spawn(const spawn_cfg *c, pid_t *init_pid, capsa_err *e)
{
    int r = seccomp_prepare(&c->s->linux.seccomp, e);
    if (r < 0)
        return r;
    trace_mark("seccomp filter");
    parent_cfg pc = {.l = &c->s->linux, .on_hooks = c->on_hooks, .on_seccomp_fd = c->on_seccomp_fd,
                     .on_console_fd = c->on_console_fd, .arg = c->arg, .until_ready = true};
    if (linux_spawn_one_clone(c->s))
        return run_direct(c, &pc, init_pid, e);
    return run_stages(spawn_stage1, c, c->on_child, -1, NULL, &pc, init_pid, e);
}

/* ---- exec: join a running container ---- */

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
    if (sync_expect(sock, MSG_GO, &e) < 0 || exec_join(c, &e) < 0)
        sync_die(sock, &e);
    fork_final(sock, exec_final, c);
}

int linux_exec(const exec_cfg *c, pid_t *pid, capsa_err *e)
{
    int r = seccomp_prepare(&c->l->seccomp, e);
    if (r < 0)
        return r;
    parent_cfg pc = {.l = c->l, .on_seccomp_fd = c->on_seccomp_fd,
                     .on_console_fd = c->on_console_fd, .arg = c->arg, .until_ready = false};
    return run_stages(exec_stage1, c, c->on_child, c->cgroup_fd, c->child_first, &pc, pid, e);
}
