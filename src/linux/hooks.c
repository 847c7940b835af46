#include "linux/hooks.h"

#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/log.h"

static int run_one(const spec_hook *h, const char *kind, size_t i, const char *state,
                   capsa_err *e)
{
    int in[2], err[2];
    if (pipe2(in, O_CLOEXEC) < 0)
        return cerr_sys(e, errno, "%s hook %zu: pipe", kind, i);
    if (pipe2(err, O_CLOEXEC) < 0) {
        close(in[0]);
        close(in[1]);
        return cerr_sys(e, errno, "%s hook %zu: pipe", kind, i);
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(in[0]);
        close(in[1]);
        close(err[0]);
        close(err[1]);
        return cerr_sys(e, errno, "%s hook %zu: fork", kind, i);
    }
    if (pid == 0) {
        /* A hook does not outlive the runtime that waits for it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (getppid() != parent)
            _exit(127);   /* the runtime died before the line above */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        dup2(in[0], 0);
        /* The hook's stdout goes to our stderr so it cannot corrupt `state` output. */
        dup2(2, 1);
        char *const noargs[] = {h->path, NULL};
        execve(h->path, h->args.n ? h->args.v : noargs, h->env.v);
        /* The parent reports it: one error line, not two. */
        int code = errno;
        if (write(err[1], &code, sizeof code) < 0)
            _exit(126);
        _exit(127);
    }
    close(in[0]);
    close(err[1]);
    /* The state is small: a pipe buffer holds it, and a hook that ignores
     * stdin must not block us (EPIPE is fine). */
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigaction(SIGPIPE, &ign, &old);
    (void)write_all(in[1], state, strlen(state));
    close(in[1]);
    /* Restored: an ignored SIGPIPE would survive into the container's program. */
    sigaction(SIGPIPE, &old, NULL);
    int exec_err = 0;
    ssize_t got = read(err[0], &exec_err, sizeof exec_err);
    close(err[0]);
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    /* In 64 bits: a timeout in seconds times 1000 overflows an int past 2147 s. */
    long long ms = h->has_timeout ? (long long)h->timeout * 1000 : -1;
    int timeout_ms = ms > INT_MAX ? INT_MAX : (int)ms;
    bool timed_out = false;
    if (pidfd >= 0) {
        struct pollfd p = {.fd = pidfd, .events = POLLIN};
        int k;
        do
            k = poll(&p, 1, timeout_ms);
        while (k < 0 && errno == EINTR);
        if (k == 0) {
            timed_out = true;
            kill(pid, SIGKILL);
        }
        close(pidfd);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (got == (ssize_t)sizeof exec_err)
        return cerr_set(e, exec_err, "%s hook %s: %s", kind, h->path, strerror(exec_err));
    if (timed_out)
        return cerr_set(e, ETIMEDOUT, "%s hook %s: timed out after %d s", kind, h->path, h->timeout);
    if (WIFSIGNALED(st))
        return cerr_set(e, EIO, "%s hook %s: killed by signal %d", kind, h->path, WTERMSIG(st));
    if (WEXITSTATUS(st))
        return cerr_set(e, EIO, "%s hook %s: exit status %d", kind, h->path, WEXITSTATUS(st));
    return 0;
}

int hooks_run(const spec_hooks_list *l, const char *kind, const char *state_json, capsa_err *e)
{
    for (size_t i = 0; i < l->n; i++) {
        int r = run_one(&l->v[i], kind, i, state_json, e);
        if (r < 0)
            return r;
    }
    return 0;
}

/* poststart/poststop: a failing hook is a warning and the remaining hooks still
 * run (runtime-spec lifecycle steps 9 and 13). Returns the number that failed. */
size_t hooks_run_warn(const spec_hooks_list *l, const char *kind, const char *state_json)
{
    size_t failed = 0;
    for (size_t i = 0; i < l->n; i++) {
        capsa_err he = {0};
        if (run_one(&l->v[i], kind, i, state_json, &he) < 0) {
            fprintf(stderr, "capsa: warning: %s\n", he.msg);
            log_msg("warning", "%s", he.msg);
            failed++;
        }
    }
    return failed;
}
