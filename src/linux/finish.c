/* The last steps before a container process execs, shared by create (init) and
 * exec: terminal, cwd, seccomp, identity, no_new_privs, the file descriptors it
 * keeps. */
#include "linux/linux.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "linux/process.h"
#include "linux/seccomp_filter.h"
#include "linux/sync.h"

/* A pty from the container's own devpts; the slave becomes stdio and the
 * controlling terminal, the master goes to the runtime. */
static int setup_terminal(const spec_process *p, int sock, capsa_err *e)
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
    int r = sync_send_fd(sock, MSG_CONSOLE_FD, master);
    if (r < 0)
        return cerr_sys(e, -r, "send pty master");
    return sync_expect(sock, MSG_CONSOLE_DONE, e);
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
    r = sync_send_fd(sock, MSG_SECCOMP_FD, fd);
    close(fd);
    if (r < 0)
        return cerr_sys(e, -r, "send seccomp notify fd");
    return sync_expect(sock, MSG_SECCOMP_DONE, e);
}

int process_finish(const spec_process *p, const spec_linux *l, int sock, char **exe,
                   capsa_err *e)
{
    int r;
    if (p->terminal && (r = setup_terminal(p, sock, e)) < 0)
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
    if ((r = process_find_exec(p, exe, e)) < 0)
        return r;
    if (p->no_new_privileges && (r = install_seccomp(&l->seccomp, sock, e)) < 0)
        return r;
    return 0;
}

int process_keep_fds(int preserve_fds, capsa_err *e)
{
    /* Everything capsa opened is close-on-exec already; this also covers fds
     * inherited from the caller beyond the preserved ones (CVE-2024-21626). */
    for (int fd = 3; fd < 3 + preserve_fds; fd++) {
        int fl = fcntl(fd, F_GETFD);
        if (fl >= 0 && fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) < 0)
            return cerr_sys(e, errno, "keep fd %d", fd);
    }
    if (syscall(SYS_close_range, 3 + preserve_fds, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */) < 0)
        return cerr_sys(e, errno, "mark fds close-on-exec");
    return 0;
}
