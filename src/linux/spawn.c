/* Process creation in named stages, with a typed sync protocol over a socketpair
 * (the ordering runc's nsexec documents):
 *
 *   parent    forks stage1; puts it in its cgroup (on_child); says GO;
 *             writes uid/gid maps when stage1 asks; reads the init pid, then
 *             waits for READY or an ERROR message.
 *   stage1    joins namespace paths (user first), unshares a new user namespace
 *             and waits for its maps, unshares the other namespaces, sets time
 *             offsets, forks init (pid 1 of a new pid namespace) and exits.
 *   init      sets up the root filesystem and the process, says READY, blocks
 *             on the exec fifo until `start`, then execs the user program.
 *
 * Every failure in stage1 or init is sent to the parent as text naming the
 * step, so the user sees one readable line and never a bare EOF. */
#include "linux/linux.h"

#include <errno.h>
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
#include <unistd.h>

#include "linux/process.h"
#include "linux/rootfs.h"
#include "linux/seccomp_filter.h"

enum msg_type { MSG_GO = 1, MSG_USERNS, MSG_USERNS_DONE, MSG_PID, MSG_READY, MSG_ERROR,
                MSG_SECCOMP_FD, MSG_SECCOMP_DONE };

struct msg {
    int type;
    int val;
    char text[CERR_MSG_MAX];
};

static int send_msg(int fd, int type, int val, const char *text)
{
    struct msg m = {.type = type, .val = val};
    if (text)
        snprintf(m.text, sizeof m.text, "%s", text);
    size_t len = offsetof(struct msg, text) + (text ? strlen(m.text) + 1 : 0);
    ssize_t w;
    do
        w = send(fd, &m, len, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    return w < 0 ? -errno : 0;
}

static int expect(int fd, int type, capsa_err *e);

static int send_fd(int sock, int type, int fd)
{
    struct msg m = {.type = type};
    struct iovec iov = {.iov_base = &m, .iov_len = offsetof(struct msg, text)};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof u.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* Returns 1 with a message (and *fd if one came along), 0 on EOF. */
static int recv_msg_fd(int sock, struct msg *m, int *fd)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = m, .iov_len = sizeof *m};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof u.buf};
    ssize_t r;
    memset(m, 0, sizeof *m);
    do
        r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return -errno;
    if (r == 0)
        return 0;
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    if (fd && c && c->cmsg_type == SCM_RIGHTS)
        memcpy(fd, CMSG_DATA(c), sizeof *fd);
    m->text[sizeof m->text - 1] = 0;
    return 1;
}

static int recv_msg(int sock, struct msg *m)
{
    return recv_msg_fd(sock, m, NULL);
}

/* seccomp as late as possible, so the runtime's own setup is not filtered. With
 * SCMP_ACT_NOTIFY the listener fd goes to the parent, which hands it on. */
static int install_seccomp(const spec_seccomp *sc, int sock, capsa_err *e)
{
    if (!sc->present)
        return 0;
    if (!seccomp_uses_notify(sc))
        return seccomp_install(sc, e);
    int fd = -1;
    int r = seccomp_install_notify(sc, &fd, e);
    if (r < 0)
        return r;
    r = send_fd(sock, MSG_SECCOMP_FD, fd);
    close(fd);
    if (r < 0)
        return cerr_sys(e, -r, "send seccomp notify fd");
    return expect(sock, MSG_SECCOMP_DONE, e);
}

static int expect(int fd, int type, capsa_err *e)
{
    struct msg m;
    int r = recv_msg(fd, &m);
    if (r <= 0)
        return cerr_set(e, EPIPE, "runtime parent went away");
    if (m.type != type)
        return cerr_set(e, EPROTO, "sync: expected message %d, got %d", type, m.type);
    return 0;
}

static __attribute__((noreturn)) void die_with(int sock, capsa_err *e, const char *stage)
{
    char text[CERR_MSG_MAX];
    snprintf(text, sizeof text, "%s", e->msg);
    (void)stage;
    send_msg(sock, MSG_ERROR, e->code, text);
    _exit(1);
}

static bool want_new(const spec_linux *l, enum spec_ns_type t)
{
    return l->ns[t].present && !l->ns[t].path;
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
    if ((r = rootfs_setup(&rc, e)) < 0)
        return r;
    if ((r = process_chdir(p, e)) < 0)
        return r;
    /* Without no_new_privs the kernel wants CAP_SYS_ADMIN to load a filter:
     * load it before the capabilities are dropped (as runc does). */
    if (!p->no_new_privileges && (r = install_seccomp(&l->seccomp, sock, e)) < 0)
        return r;
    if ((r = process_identity(p, e)) < 0)
        return r;
    if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return cerr_sys(e, errno, "set no_new_privs");
    autofree char *exe = NULL;
    if ((r = process_find_exec(p, &exe, e)) < 0)
        return r;
    if (p->no_new_privileges && (r = install_seccomp(&l->seccomp, sock, e)) < 0)
        return r;

    send_msg(sock, MSG_READY, 0, NULL);
    close(sock);
    /* Blocks until `capsa start` opens the fifo for reading. */
    int fifo = openat(c->state_dirfd, "exec.fifo", O_WRONLY | O_CLOEXEC);
    if (fifo < 0) {
        dprintf(2, "capsa: init: open exec fifo: %s\n", strerror(errno));
        _exit(127);
    }
    if (write(fifo, "0", 1) != 1) {
        dprintf(2, "capsa: init: write exec fifo: %s\n", strerror(errno));
        _exit(127);
    }
    close(fifo);
    close(c->state_dirfd);
    execve(exe, p->args.v, p->env.v);
    dprintf(2, "capsa: exec %s: %s\n", exe, strerror(errno));
    _exit(127);
}

/* Only stdio, the sync socket and the state directory go into the container;
 * in particular not the caller's flock'd state fd, or the lock would live as
 * long as the container's init. */
static void close_fds_except(int a, int b)
{
    int lo = a < b ? a : b, hi = a < b ? b : a;
    syscall(SYS_close_range, 3, lo - 1, 0);
    if (hi > lo + 1)
        syscall(SYS_close_range, lo + 1, hi - 1, 0);
    syscall(SYS_close_range, hi + 1, ~0U, 0);
}

static __attribute__((noreturn)) void stage1_main(const spawn_cfg *c, int sock)
{
    capsa_err e = {0};
    const spec_linux *l = &c->s->linux;
    int flags = 0;

    close_fds_except(sock, c->state_dirfd);

    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (expect(sock, MSG_GO, &e) < 0)
        die_with(sock, &e, "stage1");
    /* Relative mount sources are under the bundle. chdir while still host root:
     * a user-namespaced init may lack search permission on the bundle's parents. */
    if (chdir(c->bundle) < 0) {
        cerr_sys(&e, errno, "chdir to bundle %s", c->bundle);
        die_with(sock, &e, "stage1");
    }
    if (ns_join_paths(l, true, &e) < 0)
        die_with(sock, &e, "stage1");
    if (want_new(l, NS_USER)) {
        if (unshare(CLONE_NEWUSER) < 0) {
            cerr_sys(&e, errno, "create user namespace");
            die_with(sock, &e, "stage1");
        }
        send_msg(sock, MSG_USERNS, 0, NULL);
        if (expect(sock, MSG_USERNS_DONE, &e) < 0)
            die_with(sock, &e, "stage1");
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
            cerr_sys(&e, errno, "become root in the user namespace");
            die_with(sock, &e, "stage1");
        }
    }
    if (ns_join_paths(l, false, &e) < 0)
        die_with(sock, &e, "stage1");
    for (int t = 0; t < NS__COUNT; t++)
        if (t != NS_USER && want_new(l, (enum spec_ns_type)t))
            flags |= spec_ns_clone_flag((enum spec_ns_type)t);
    if (flags && unshare(flags) < 0) {
        cerr_sys(&e, errno, "create namespaces");
        die_with(sock, &e, "stage1");
    }
    if (want_new(l, NS_TIME) && ns_write_time_offsets(l, &e) < 0)
        die_with(sock, &e, "stage1");
    pid_t pid = fork();
    if (pid < 0) {
        cerr_sys(&e, errno, "fork container init");
        die_with(sock, &e, "stage1");
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
        if (init_main(c, sock, &e) < 0)
            die_with(sock, &e, "init");
        _exit(1);
    }
    send_msg(sock, MSG_PID, pid, NULL);
    _exit(0);
}

int linux_spawn(const spawn_cfg *c, pid_t *init_pid, capsa_err *e)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return cerr_sys(e, errno, "socketpair");
    pid_t child = fork();
    if (child < 0) {
        close(sv[0]);
        close(sv[1]);
        return cerr_sys(e, errno, "fork");
    }
    if (child == 0) {
        close(sv[0]);
        stage1_main(c, sv[1]);
    }
    close(sv[1]);
    autoclose int sock = sv[0];
    pid_t init = 0;
    int r = c->on_child ? c->on_child(child, c->arg, e) : 0;
    if (r == 0 && send_msg(sock, MSG_GO, 0, NULL) < 0)
        r = cerr_sys(e, EPIPE, "start container setup");
    bool ready = false;
    while (r == 0 && !ready) {
        struct msg m;
        int mfd = -1;
        int k = recv_msg_fd(sock, &m, &mfd);
        if (k < 0) {
            r = cerr_sys(e, -k, "read from container setup");
        } else if (k == 0) {
            r = cerr_set(e, EPIPE, "container setup exited before it was ready");
        } else if (m.type == MSG_USERNS) {
            r = ns_write_id_maps(child, &c->s->linux, e);
            if (r == 0)
                send_msg(sock, MSG_USERNS_DONE, 0, NULL);
        } else if (m.type == MSG_PID) {
            init = m.val;
        } else if (m.type == MSG_SECCOMP_FD) {
            /* stage1 sends init's pid right after the fork, long before init
             * gets this far; the check keeps the protocol honest. */
            if (mfd < 0 || init <= 0)
                r = cerr_set(e, EPROTO, "seccomp notify fd arrived without fd or pid");
            else if (c->on_seccomp_fd)
                r = c->on_seccomp_fd(init, mfd, c->arg, e);
            if (mfd >= 0)
                close(mfd);
            if (r == 0)
                send_msg(sock, MSG_SECCOMP_DONE, 0, NULL);
        } else if (m.type == MSG_READY) {
            ready = true;
        } else if (m.type == MSG_ERROR) {
            r = cerr_set(e, m.val ? m.val : EIO, "%s", m.text);
        }
    }
    if (r < 0) {
        kill(child, SIGKILL);
        if (init > 0)
            kill(init, SIGKILL);
    }
    int st;
    while (waitpid(child, &st, 0) < 0 && errno == EINTR)
        ;
    if (r < 0 && init > 0)
        waitpid(init, &st, __WALL | WNOHANG);
    if (r == 0)
        *init_pid = init;
    return r;
}
