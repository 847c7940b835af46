/* Attack programs for tests/security, linked into one static multi-call binary
 * (`attack NAME ARGS...`) copied into each test container's root filesystem.
 *
 * Every attack ends with one line the tests parse:
 *   RESULT ok <detail>              the attack did what it tried to do
 *   RESULT fail <step> <ERRNAME>    it was stopped at <step> with that errno
 * and exits 0 (with `attack --linger NAME ...`: sleeps until killed instead, for
 * an attacker whose exit would end its pid namespace and the processes joined
 * to it); a broken invocation prints RESULT error and exits 2. Attacks that
 * write host-global files write back the bytes already there. */
#ifndef ATTACK_COMMON_H
#define ATTACK_COMMON_H


#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern int attack_linger;

__attribute__((noreturn)) static inline void finish(int code)
{
    fflush(stdout);
    while (attack_linger && code == 0)
        pause();
    exit(code);
}

static inline const char *errname(int e)
{
    const char *n = strerrorname_np(e);
    return n ? n : "E?";
}

__attribute__((noreturn, format(printf, 1, 2))) static inline void ok(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("RESULT ok ");
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    finish(0);
}

__attribute__((noreturn)) static inline void fail(const char *step, int err)
{
    printf("RESULT fail %s %s\n", step, errname(err));
    finish(0);
}

__attribute__((noreturn, format(printf, 1, 2))) static inline void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("RESULT error ");
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    finish(2);
}

/* Returns only on success (r >= 0); otherwise reports `step` blocked. */
#define TRY(step, expr)                          \
    ({                                           \
        long _r = (long)(expr);                  \
        if (_r < 0)                              \
            fail(step, errno);                   \
        _r;                                      \
    })

#define NEED_ARGS(n)                                             \
    do {                                                         \
        if (argc < (n))                                          \
            usage_error("%s needs %d argument(s)", argv[0], (n) - 1); \
    } while (0)

/* Each attack: int attack_NAME(int argc, char **argv), argv[0] = NAME. */
#define ATTACKS(X)                                                                        \
    X(mount) X(unshare_user) X(unshare_mnt) X(clone_user) X(clone3_user) X(add_key)       \
    X(keyring) X(keyctl) X(bpf) X(init_module) X(finit_module) X(kexec_load) X(perf) X(userfaultfd) X(io_uring)    \
    X(reboot) X(swapon) X(syslog) X(ptrace_child) X(vm_readv) X(getppid)                  \
    X(write_same) X(open_wr) X(read) X(list) X(stat) X(mknod_blk) X(fds) X(whoami)        \
    X(gethandle) X(shocker) X(release_agent_userns) X(release_agent_direct)               \
    X(chroot_escape) X(exe_overwrite) X(runtime_exe) X(runtime_ptrace) X(proc_root_read)

#define DECLARE(n) int attack_##n(int argc, char **argv);
ATTACKS(DECLARE)
#undef DECLARE

#endif
