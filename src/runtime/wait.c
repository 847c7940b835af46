/* The foreground side of run and exec: forward signals, proxy a terminal, reap
 * children, return the exit status. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "util/fs.h"

int rt_send_console(const char *path, int master, capsa_err *e)
{
    autoclose int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return cerr_sys(e, errno, "console socket");
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path)
        return cerr_set(e, ENAMETOOLONG, "console socket path too long: %s", path);
    strcpy(addr.sun_path, path);
    if (connect(s, (struct sockaddr *)&addr, sizeof addr) < 0)
        return cerr_sys(e, errno, "connect to console socket %s", path);
    /* Like runc: the payload names the terminal, the fd rides along. */
    static const char name[] = "/dev/ptmx";
    int r = send_with_fd(s, name, sizeof name - 1, master);
    if (r < 0)
        return cerr_sys(e, -r, "send terminal to console socket %s", path);
    return 0;
}

static void copy_winsize(int from, int to)
{
    struct winsize ws;
    if (ioctl(from, TIOCGWINSZ, &ws) == 0)
        ioctl(to, TIOCSWINSZ, &ws);
}

/* Copy what is readable from `from` to `to`; false on EOF or error. */
static bool pump(int from, int to)
{
    char buf[16384];
    ssize_t n = read(from, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (n <= 0)
        return false;
    return write_all(to, buf, (size_t)n) == 0;
}

/* Everything but the synchronous faults is forwarded to the container. */
static void forwarded_set(sigset_t *set)
{
    sigfillset(set);
    static const int keep[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS};
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++)
        sigdelset(set, keep[i]);
}

void rt_block_signals(void)
{
    sigset_t set;
    forwarded_set(&set);
    sigprocmask(SIG_BLOCK, &set, NULL);
}

int rt_wait(pid_t pid, int master, int *status, capsa_err *e)
{
    sigset_t set, old;
    forwarded_set(&set);
    sigprocmask(SIG_BLOCK, &set, &old);
    autoclose int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        return cerr_sys(e, errno, "signalfd");
    }
    struct termios saved;
    bool raw = master >= 0 && isatty(0) && tcgetattr(0, &saved) == 0;
    if (raw) {
        struct termios t = saved;
        cfmakeraw(&t);
        tcsetattr(0, TCSANOW, &t);
        copy_winsize(0, master);
    }
    bool in_open = master >= 0, out_open = master >= 0, exited = false;
    int r = 0;
    for (;;) {
        int st;
        pid_t w;
        while ((w = waitpid(-1, &st, WNOHANG)) > 0)
            if (w == pid) {
                *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                exited = true;
            }
        if (!exited && w < 0 && errno == ECHILD) {
            r = cerr_set(e, ECHILD, "the container process is not our child");
            break;
        }
        if (exited) {
            if (!out_open)
                break;
            /* Drain what the process wrote before it went away. */
            fcntl(master, F_SETFL, O_NONBLOCK);
            char buf[16384];
            ssize_t n;
            while ((n = read(master, buf, sizeof buf)) > 0)
                if (write_all(1, buf, (size_t)n) < 0)
                    break;
            break;
        }
        struct pollfd p[3] = {{.fd = sfd, .events = POLLIN},
                              {.fd = in_open ? 0 : -1, .events = POLLIN},
                              {.fd = out_open ? master : -1, .events = POLLIN}};
        /* The timeout re-checks waitpid even if a SIGCHLD was lost. */
        if (poll(p, 3, 1000) < 0 && errno != EINTR) {
            r = cerr_sys(e, errno, "poll");
            break;
        }
        if (p[1].revents && !pump(0, master))
            in_open = false;
        if (p[2].revents && !pump(master, 1))
            out_open = false;
        if (p[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == sizeof si) {
                int sig = (int)si.ssi_signo;
                if (sig == SIGCHLD)
                    continue;
                if (sig == SIGWINCH) {
                    if (master >= 0)
                        copy_winsize(0, master);
                    continue;
                }
                if (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU || sig == SIGURG)
                    continue;
                kill(pid, sig);
            }
        }
    }
    if (raw)
        tcsetattr(0, TCSANOW, &saved);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return r;
}
