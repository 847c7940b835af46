/* The last steps before a container process execs, shared by create (init) and
 * exec: terminal, cwd, seccomp, identity, no_new_privs, the file descriptors it
 * keeps. */
#include "linux/linux.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "linux/process.h"
#include "linux/resolve.h"
#include "linux/seccomp_filter.h"
#include "linux/sync.h"
#include "util/fault.h"

/* The container's /dev/console becomes its init's terminal, as with runc. The
 * pty is bind-mounted from the verified fd, never from a /dev/pts/N path the
 * container could swap for something else (CVE-2025-52565); a symlink or other
 * odd file the image put at /dev/console is replaced, never followed. */
static int bind_console(int slave, capsa_err *e)
{
    struct stat st;
    struct statfs sfs;
    if (fstat(slave, &st) < 0 || !S_ISCHR(st.st_mode) || fstatfs(slave, &sfs) < 0 ||
        sfs.f_type != DEVPTS_SUPER_MAGIC)
        return cerr_set(e, EPERM, "/dev/console: the pty is not a devpts terminal");
    autoclose int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return cerr_sys(e, errno, "open /");
    autoclose int dev = root_open(root, "/dev", O_RDONLY | O_DIRECTORY, e);
    if (dev < 0)
        return cerr_wrap(e, "/dev/console");
    if (fstatat(dev, "console", &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode) &&
        !S_ISCHR(st.st_mode) && unlinkat(dev, "console", 0) < 0)
        return cerr_sys(e, errno, "remove /dev/console (not a file or device)");
    int f = openat(dev, "console", O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (f < 0 && errno != EEXIST)
        return cerr_sys(e, errno, "create /dev/console");
    if (f >= 0)
        close(f);
    autoclose int target = openat(dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (target < 0 || fstat(target, &st) < 0)
        return cerr_sys(e, errno, "open /dev/console");
    if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
        return cerr_set(e, EPERM, "/dev/console is not a file or device");
    char a[32], b[32];
    if (mount(fd_path(slave, a), fd_path(target, b), NULL, MS_BIND, NULL) < 0)
        return cerr_sys(e, errno, "bind the terminal to /dev/console");
    return 0;
}

/* A pty from the container's own devpts; the slave becomes stdio and the
 * controlling terminal, the master goes to the runtime. */
static int setup_terminal(const spec_process *p, int sock, bool console, capsa_err *e)
{
    autoclose int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        return cerr_sys(e, errno, "open /dev/ptmx in the container");
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
        return cerr_sys(e, errno, "unlock pty");
    autoclose int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        return cerr_sys(e, errno, "open pty slave");
    int r;
    if (console && (r = bind_console(slave, e)) < 0)
        return r;
    if (p->console_size.has_size) {
        struct winsize ws = {.ws_row = (unsigned short)p->console_size.height,
                             .ws_col = (unsigned short)p->console_size.width};
        ioctl(slave, TIOCSWINSZ, &ws);
    }
    if (setsid() < 0)
        return cerr_sys(e, errno, "setsid");
    if (ioctl(slave, TIOCSCTTY, 0) < 0)
        return cerr_sys(e, errno, "set controlling terminal");
    for (int fd = 0; fd < 3; fd++)
        if (dup2(slave, fd) < 0)
            return cerr_sys(e, errno, "dup pty to fd %d", fd);
    r = sync_send_fd(sock, MSG_CONSOLE_FD, master);
    if (r < 0)
        return cerr_sys(e, -r, "send pty master");
    return sync_expect(sock, MSG_CONSOLE_DONE, e);
}

/* The order of the last steps (crun's and runc's rule): after the container's
 * seccomp filter is loaded, the runtime makes no syscall of its own but the
 * final execve, so that a profile that allows only what the program needs
 * (an allow-list older than close_range, clone3, openat2, ...) or kills on
 * anything else never meets the runtime's own calls. process_finish does
 * everything that can come before; process_enter_filter loads the filter just
 * before execve. Without no_new_privs the kernel wants CAP_SYS_ADMIN to load a
 * filter, so then the capabilities are set after it (capset and the ambient
 * raises are the only calls between the filter and execve, as in runc).
 *
 * A profile with SCMP_ACT_NOTIFY is the exception: its listener fd goes to the
 * runtime over the sync socket, so that filter is loaded at the end of
 * process_finish, before init says READY. */
static int install_notify(const spec_seccomp *sc, int sock, capsa_err *e)
{
    int fd = -1;
    int r = seccomp_install_notify(sc, &fd, e);
    if (r < 0)
        return r;
    r = sync_send_fd(sock, MSG_SECCOMP_FD, fd);
    close(fd);
    if (r < 0)
        return cerr_sys(e, -r, "send seccomp notify fd");
    return sync_expect(sock, MSG_SECCOMP_DONE, e);
}

static bool filter_at_exec(const spec_linux *l)
{
    return l->seccomp.present && !seccomp_uses_notify(&l->seccomp);
}

/* process.apparmorProfile: the profile the kernel puts the process under at its
 * execve (runc's aa_change_onexec). The attr file is opened in the container's
 * /proc and must be procfs itself: an image that shadows /proc (a volume over it)
 * would otherwise swallow the write and run unconfined (CVE-2019-16884). Only
 * reached where AppArmor is enabled (spec validation refuses the field elsewhere). */
static int apply_apparmor(const char *profile, capsa_err *e)
{
    if (!profile || !*profile)
        return 0;
    const char *path = "/proc/self/attr/apparmor/exec";   /* Linux 5.8+ */
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        fd = open(path = "/proc/self/attr/exec", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return cerr_sys(e, errno, "apparmor profile %s: open %s", profile, path);
    struct statfs sfs;
    /* CAPSA_FAULT=apparmor-any-fs: the check off, for the test's control only */
    if (!fault_is("apparmor-any-fs") && (fstatfs(fd, &sfs) < 0 ||
                                          sfs.f_type != PROC_SUPER_MAGIC)) {
        close(fd);
        return cerr_set(e, EPERM, "apparmor profile %s: %s is not on procfs", profile, path);
    }
    char buf[4096];
    int n = snprintf(buf, sizeof buf, "exec %s", profile);
    ssize_t w = n > 0 && (size_t)n < sizeof buf ? write(fd, buf, (size_t)n) : -1;
    int err = errno;
    close(fd);
    if (w != n)
        return cerr_set(e, w < 0 ? err : EIO, "apparmor profile %s: %s", profile,
                        w < 0 && err == ENOENT ? "no such profile is loaded"
                                               : strerror(w < 0 ? err : EIO));
    return 0;
}

static int finish(const spec_process *p, const spec_linux *l, int sock, bool console,
                  char **exe, capsa_err *e)
{
    int r;
    if (p->terminal && (r = setup_terminal(p, sock, console, e)) < 0)
        return r;
    /* init leads its own session, with or without a terminal, as runc's: no
     * process group or session of the caller's reaches into the container (and
     * CRIU can dump the whole tree). setup_terminal did it for a terminal. */
    if (console && !p->terminal && setsid() < 0)
        return cerr_sys(e, errno, "setsid");
    if ((r = process_chdir(p, e)) < 0)
        return r;
    if ((r = apply_apparmor(p->apparmor_profile, e)) < 0)
        return r;
    if ((r = process_identity(p, p->no_new_privileges, e)) < 0)
        return r;
    if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return cerr_sys(e, errno, "set no_new_privs");
    if ((r = process_find_exec(p, exe, e)) < 0)
        return r;
    if (l->seccomp.present && seccomp_uses_notify(&l->seccomp) &&
        (r = install_notify(&l->seccomp, sock, e)) < 0)
        return r;
    return 0;
}

int process_finish(const spec_process *p, const spec_linux *l, int sock, char **exe,
                   capsa_err *e)
{
    return finish(p, l, sock, false, exe, e);
}

/* The container's init: as process_finish, and its terminal is /dev/console. */
int process_finish_init(const spec_process *p, const spec_linux *l, int sock, char **exe,
                        capsa_err *e)
{
    return finish(p, l, sock, true, exe, e);
}

int process_enter_filter(const spec_process *p, const spec_linux *l, capsa_err *e)
{
    int r;
    if (filter_at_exec(l) && (r = seccomp_install(&l->seccomp, e)) < 0)
        return r;
    if (!p->no_new_privileges)
        return process_final_caps(p, e);
    return 0;
}

/* Every fd from `from` up marked close-on-exec, one by one: where close_range
 * is missing (Linux < 5.11) or refused. /proc/self/fd names the open ones; a
 * container without /proc gets every number up to its fd limit tried. */
static int cloexec_each(int from, capsa_err *e)
{
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        int self = dirfd(d);
        struct dirent *de;
        while ((de = readdir(d))) {
            char *end;
            long fd = strtol(de->d_name, &end, 10);
            if (*end || end == de->d_name || fd < from || fd == self)
                continue;
            int fl = fcntl((int)fd, F_GETFD);
            if (fl >= 0 && !(fl & FD_CLOEXEC) && fcntl((int)fd, F_SETFD, fl | FD_CLOEXEC) < 0) {
                int err = errno;
                closedir(d);
                return cerr_sys(e, err, "mark fd %ld close-on-exec", fd);
            }
        }
        closedir(d);
        return 0;
    }
    struct rlimit rl;
    long max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                   ? (long)rl.rlim_cur : 1L << 20;
    for (long fd = from; fd < max; fd++) {
        int fl = fcntl((int)fd, F_GETFD);
        if (fl >= 0 && !(fl & FD_CLOEXEC) && fcntl((int)fd, F_SETFD, fl | FD_CLOEXEC) < 0)
            return cerr_sys(e, errno, "mark fd %ld close-on-exec", fd);
    }
    return 0;
}

int process_keep_fds(int preserve_fds, capsa_err *e)
{
    /* fds 3..3+N-1 that came from the caller are inheritable already (they
     * survived the exec into capsa); capsa's own fds and the placeholders main()
     * put in that range are close-on-exec and stay so. Everything above the
     * range is marked close-on-exec too (CVE-2024-21626). */
    if (!fault_is("no-close-range") &&
        syscall(SYS_close_range, 3 + preserve_fds, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */) == 0)
        return 0;
    return cloexec_each(3 + preserve_fds, e);
}
