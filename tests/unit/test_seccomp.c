/* linux.seccomp: validation messages, the default profile, and the real filter
 * loaded in forked children. Every filter test has a control run without the
 * filter (or with the other value) so that it can fail. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sched.h>
#include <cmocka.h>

#include "linux/seccomp_filter.h"

char *spec_default_seccomp_json(void);

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- building profiles by hand (no parser) ---- */

static spec_strv strv(char **v)
{
    spec_strv s = {.v = v};
    while (v && v[s.n])
        s.n++;
    return s;
}

static spec_seccomp_syscall rule(char **names, char *action)
{
    return (spec_seccomp_syscall){.names = strv(names), .action = action};
}

static spec_seccomp_syscall rule_ret(char **names, char *action, uint32_t ret)
{
    spec_seccomp_syscall r = rule(names, action);
    r.has_errno_ret = true;
    r.errno_ret = ret;
    return r;
}

static spec_seccomp profile(char *def, spec_seccomp_syscall *calls, size_t n)
{
    return (spec_seccomp){.present = true, .default_action = def, .syscalls = calls,
                          .n_syscalls = n};
}

static char *MKDIR[] = {"mkdir", "mkdirat", NULL};
static char *GETPPID[] = {"getppid", NULL};

/* ---- running code in a child ---- */

/* Fork, run fn in the child (its return value is the exit code), wait. The
 * child leaves with _exit: no atexit handlers (LeakSanitizer would need ptrace,
 * which some filters deny). */
static int run_child(int (*fn)(void *), void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fn(arg));
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return st;
}

static int exit_code(int st)
{
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

typedef struct {
    const spec_seccomp *s;   /* NULL: the control run, no filter */
    bool nnp;
} install_arg;

static int install(const install_arg *a)
{
    if (a->nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return 90;
    if (!a->s)
        return 0;
    capsa_err e = {0};
    if (seccomp_install(a->s, &e) != 0) {
        fprintf(stderr, "seccomp_install: %s\n", e.msg);
        return 91;
    }
    return 0;
}

/* errno of a failed call, 0 if it worked */
#define ERRNO_OF(call) ((call) < 0 ? errno : 0)

/* ---- seccomp_check ---- */

static void check_fails(const spec_seccomp *s, const char *msg)
{
    capsa_err e = {0};
    assert_int_equal(seccomp_check(s, &e), -EINVAL);
    assert_string_equal(e.msg, msg);
}

static void test_check_ok(void **state)
{
    (void)state;
    capsa_err e = {0};
    spec_seccomp absent = {0};
    assert_int_equal(seccomp_check(&absent, &e), 0);
    char *arches[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64",
                      "SCMP_ARCH_S390X", "SCMP_ARCH_RISCV64", "SCMP_ARCH_MIPSEL64N32", NULL};
    char *flags[] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                     "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
                     NULL};
    spec_seccomp_arg args[] = {{.index = 5, .value = 1, .op = "SCMP_CMP_MASKED_EQ"}};
    spec_seccomp_syscall calls[] = {rule_ret(MKDIR, "SCMP_ACT_ERRNO", 4095),
                                    rule_ret(GETPPID, "SCMP_ACT_TRACE", 65535),
                                    rule(GETPPID, "SCMP_ACT_KILL")};
    calls[0].args = args;
    calls[0].n_args = 1;
    spec_seccomp s = profile("SCMP_ACT_ALLOW", calls, N(calls));
    s.architectures = strv(arches);
    s.flags = strv(flags);
    assert_int_equal(seccomp_check(&s, &e), 0);
}

static void test_check_unknown_action(void **state)
{
    (void)state;
    spec_seccomp_syscall calls[] = {rule(MKDIR, "SCMP_ACT_ERRNO"), rule(MKDIR, "SCMP_ACT_FOO")};
    spec_seccomp s = profile("SCMP_ACT_ALLOW", calls, 2);
    check_fails(&s, "linux.seccomp.syscalls[1].action: unknown action \"SCMP_ACT_FOO\"");
    s = profile("SCMP_ACT_BAR", NULL, 0);
    check_fails(&s, "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_BAR\"");
    s = profile(NULL, NULL, 0);
    check_fails(&s, "linux.seccomp.defaultAction: missing");
}

static void test_check_unknown_op(void **state)
{
    (void)state;
    spec_seccomp_arg args[] = {{.index = 0, .op = "SCMP_CMP_EQ"},
                               {.index = 1, .op = "SCMP_CMP_FOO"}};
    spec_seccomp_syscall calls[] = {rule(MKDIR, "SCMP_ACT_ERRNO"), rule(MKDIR, "SCMP_ACT_LOG"),
                                    rule(MKDIR, "SCMP_ACT_ERRNO")};
    calls[2].args = args;
    calls[2].n_args = 2;
    spec_seccomp s = profile("SCMP_ACT_ALLOW", calls, 3);
    check_fails(&s, "linux.seccomp.syscalls[2].args[1].op: unknown operator \"SCMP_CMP_FOO\"");
}

static void test_check_arg_index(void **state)
{
    (void)state;
    spec_seccomp_arg args[] = {{.index = 6, .op = "SCMP_CMP_EQ"}};
    spec_seccomp_syscall calls[] = {rule(MKDIR, "SCMP_ACT_ERRNO")};
    calls[0].args = args;
    calls[0].n_args = 1;
    spec_seccomp s = profile("SCMP_ACT_ALLOW", calls, 1);
    check_fails(&s, "linux.seccomp.syscalls[0].args[0].index: 6 out of range (0-5)");
    args[0].index = -1;
    check_fails(&s, "linux.seccomp.syscalls[0].args[0].index: -1 out of range (0-5)");
}

static void test_check_unknown_arch(void **state)
{
    (void)state;
    char *arches[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_FOO", NULL};
    spec_seccomp s = profile("SCMP_ACT_ALLOW", NULL, 0);
    s.architectures = strv(arches);
    check_fails(&s, "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_FOO\"");
    char *lower[] = {"SCMP_ARCH_x86_64", NULL};
    s.architectures = strv(lower);
    check_fails(&s, "linux.seccomp.architectures[0]: unknown architecture \"SCMP_ARCH_x86_64\"");
    char *native[] = {"SCMP_ARCH_NATIVE", NULL};
    s.architectures = strv(native);
    check_fails(&s, "linux.seccomp.architectures[0]: unknown architecture \"SCMP_ARCH_NATIVE\"");
}

/* Found by tests/fuzz: names from config.json went into the message raw. */
static void test_check_names_escaped(void **state)
{
    (void)state;
    char *arches[] = {"SCMP_ARCH_X86\x7f_64\n", NULL};
    spec_seccomp s = profile("SCMP_ACT_ALLOW", NULL, 0);
    s.architectures = strv(arches);
    check_fails(&s, "linux.seccomp.architectures[0]: unknown architecture "
                    "\"SCMP_ARCH_X86\\x7f_64\\x0a\"");
    char *flags[] = {"SECCOMP_FILTER_FLAG_\x1b[31m", NULL};
    s = profile("SCMP_ACT_ALLOW", NULL, 0);
    s.flags = strv(flags);
    check_fails(&s, "linux.seccomp.flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_\\x1b[31m\"");
    s = profile("SCMP_ACT_\x01", NULL, 0);
    check_fails(&s, "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_\\x01\"");
    spec_seccomp_arg args[] = {{.index = 1, .op = "SCMP_CMP_EQ\t"}};
    spec_seccomp_syscall calls[] = {rule(MKDIR, "SCMP_ACT_ERRNO")};
    calls[0].args = args;
    calls[0].n_args = 1;
    s = profile("SCMP_ACT_ALLOW", calls, 1);
    check_fails(&s, "linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_EQ\\x09\"");
}

static void test_check_unknown_flag(void **state)
{
    (void)state;
    char *flags[] = {"SECCOMP_FILTER_FLAG_FOO", NULL};
    spec_seccomp s = profile("SCMP_ACT_ALLOW", NULL, 0);
    s.flags = strv(flags);
    check_fails(&s, "linux.seccomp.flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_FOO\"");
    /* the libseccomp attribute name is not a runtime-spec flag */
    char *attr[] = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_NEW_LISTENER", NULL};
    s.flags = strv(attr);
    check_fails(&s,
                 "linux.seccomp.flags[1]: unknown flag \"SECCOMP_FILTER_FLAG_NEW_LISTENER\"");
}

static void test_check_errno_ret(void **state)
{
    (void)state;
    spec_seccomp_syscall calls[] = {rule_ret(MKDIR, "SCMP_ACT_ALLOW", 1)};
    spec_seccomp s = profile("SCMP_ACT_ERRNO", calls, 1);
    check_fails(&s, "linux.seccomp.syscalls[0].errnoRet: not allowed with SCMP_ACT_ALLOW "
                     "(only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return a value)");
    calls[0] = rule_ret(MKDIR, "SCMP_ACT_ERRNO", 5000);
    check_fails(&s, "linux.seccomp.syscalls[0].errnoRet: 5000 out of range "
                     "(0-4095 for SCMP_ACT_ERRNO)");
    s = profile("SCMP_ACT_KILL_PROCESS", NULL, 0);
    s.has_default_errno_ret = true;
    check_fails(&s, "linux.seccomp.defaultErrnoRet: not allowed with SCMP_ACT_KILL_PROCESS "
                     "(only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return a value)");
}

static void test_check_notify(void **state)
{
    (void)state;
    spec_seccomp s = profile("SCMP_ACT_NOTIFY", NULL, 0);
    s.listener_path = "/run/agent.sock";
    check_fails(&s, "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");

    spec_seccomp_syscall calls[] = {rule(GETPPID, "SCMP_ACT_NOTIFY")};
    s = profile("SCMP_ACT_ALLOW", calls, 1);
    check_fails(&s, "linux.seccomp.listenerPath: required when a rule uses SCMP_ACT_NOTIFY");

    s = profile("SCMP_ACT_ALLOW", NULL, 0);
    s.listener_metadata = "x";
    check_fails(&s, "linux.seccomp.listenerMetadata: set without listenerPath");

    char *wr[] = {"read", "write", NULL};
    calls[0] = rule(wr, "SCMP_ACT_NOTIFY");
    s = profile("SCMP_ACT_ALLOW", calls, 1);
    s.listener_path = "/run/agent.sock";
    check_fails(&s, "linux.seccomp.syscalls[0].names[1]: SCMP_ACT_NOTIFY cannot be used for "
                     "\"write\" (the runtime needs it to hand the listener fd over)");
}

static void test_check_names(void **state)
{
    (void)state;
    spec_seccomp_syscall calls[] = {rule(NULL, "SCMP_ACT_ERRNO")};
    spec_seccomp s = profile("SCMP_ACT_ALLOW", calls, 1);
    check_fails(&s, "linux.seccomp.syscalls[0].names: must name at least one syscall");
    char *empty[] = {"mkdir", "", NULL};
    calls[0] = rule(empty, "SCMP_ACT_ERRNO");
    check_fails(&s, "linux.seccomp.syscalls[0].names[1]: empty syscall name");
    /* an unknown name is no error: profiles list syscalls of newer kernels */
    char *unknown[] = {"capsa_no_such_syscall", NULL};
    calls[0] = rule(unknown, "SCMP_ACT_ERRNO");
    capsa_err e = {0};
    assert_int_equal(seccomp_check(&s, &e), 0);
}

static void test_known_names(void **state)
{
    (void)state;
    const char *v[64];
    size_t n = seccomp_known_actions(v, N(v));
    assert_int_equal(n, 9);
    n = seccomp_known_operators(v, N(v));
    assert_int_equal(n, 7);
    assert_string_equal(v[6], "SCMP_CMP_MASKED_EQ");
    n = seccomp_known_archs(v, N(v));
    assert_true(n >= 3);
    bool x86_64 = false, mips_be = false;
    for (size_t i = 0; i < n; i++) {
        x86_64 |= strcmp(v[i], "SCMP_ARCH_X86_64") == 0;
        mips_be |= strcmp(v[i], "SCMP_ARCH_MIPS") == 0;
    }
    assert_true(x86_64);
    /* only what a filter for this machine can hold: no big-endian MIPS here */
    assert_true(!mips_be || seccomp_arch_native() == SCMP_ARCH_MIPS);
    assert_int_equal(seccomp_known_flags(v, N(v)), 4);
    n = seccomp_supported_flags(v, N(v));
    assert_true(n >= 1);
    assert_string_equal(v[0], "SECCOMP_FILTER_FLAG_TSYNC");
}

/* ---- the default profile ---- */

static json_t *default_profile(void)
{
    char *text = spec_default_seccomp_json();
    assert_non_null(text);
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    free(text);
    assert_non_null(j);
    return j;
}

static bool has_name(json_t *names, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v)
        if (strcmp(json_string_value(v), name) == 0)
            return true;
    return false;
}

static void test_default_profile_content(void **state)
{
    (void)state;
    json_t *j = default_profile();
    /* An allow list: whatever is not listed fails with EPERM. */
    assert_string_equal(json_string_value(json_object_get(j, "defaultAction")),
                        "SCMP_ACT_ERRNO");
    assert_int_equal(json_integer_value(json_object_get(j, "defaultErrnoRet")), EPERM);
    json_t *arches = json_object_get(j, "architectures");
    assert_int_equal(json_array_size(arches), 3);
    assert_true(has_name(arches, "SCMP_ARCH_X86_64") && has_name(arches, "SCMP_ARCH_X86") &&
                has_name(arches, "SCMP_ARCH_X32"));

    json_t *calls = json_object_get(j, "syscalls"), *c;
    size_t i, clone3 = 0, clone = 0, personality = 0, plain = 0;
    json_array_foreach(calls, i, c) {
        json_t *names = json_object_get(c, "names");
        const char *action = json_string_value(json_object_get(c, "action"));
        /* nothing on the deny list is allowed by any rule */
        for (size_t k = 0; spec_seccomp_denied[k]; k++)
            if (!strcmp(action, "SCMP_ACT_ALLOW"))
                assert_false(has_name(names, spec_seccomp_denied[k]));
        if (has_name(names, "clone3")) {
            assert_string_equal(action, "SCMP_ACT_ERRNO");
            assert_int_equal(json_integer_value(json_object_get(c, "errnoRet")), ENOSYS);
            clone3++;
        } else if (has_name(names, "clone")) {
            json_t *a = json_array_get(json_object_get(c, "args"), 0);
            assert_string_equal(json_string_value(json_object_get(a, "op")), "SCMP_CMP_MASKED_EQ");
            assert_int_equal(json_integer_value(json_object_get(a, "value")),
                             CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                 CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP);
            assert_int_equal(json_integer_value(json_object_get(a, "valueTwo")), 0);
            clone++;
        } else if (has_name(names, "personality")) {
            assert_int_equal(json_array_size(json_object_get(c, "args")), 5);
            personality++;
        } else {
            assert_string_equal(action, "SCMP_ACT_ALLOW");
            assert_null(json_object_get(c, "args"));
            assert_true(has_name(names, "read") && has_name(names, "execve") &&
                        has_name(names, "openat"));
            plain++;
        }
    }
    assert_int_equal(clone3, 1);
    assert_int_equal(clone, 1);
    assert_int_equal(personality, 1);
    assert_int_equal(plain, 1);
    json_decref(j);
}

/* JSON -> spec_seccomp the way the parser fills it, to keep this test
 * independent of src/spec/parse_linux.c. */
static char *dup_str(json_t *v)
{
    return v ? strdup(json_string_value(v)) : NULL;
}

static spec_strv dup_strv(json_t *a)
{
    spec_strv s = {.n = json_array_size(a)};
    s.v = calloc(s.n + 1, sizeof *s.v);
    for (size_t i = 0; i < s.n; i++)
        s.v[i] = dup_str(json_array_get(a, i));
    return s;
}

static void free_strv(spec_strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
}

static spec_seccomp from_json(json_t *j)
{
    spec_seccomp s = {.present = true};
    s.default_action = dup_str(json_object_get(j, "defaultAction"));
    s.architectures = dup_strv(json_object_get(j, "architectures"));
    s.flags = dup_strv(json_object_get(j, "flags"));
    json_t *calls = json_object_get(j, "syscalls"), *c;
    s.n_syscalls = json_array_size(calls);
    s.syscalls = calloc(s.n_syscalls, sizeof *s.syscalls);
    size_t i;
    json_array_foreach(calls, i, c) {
        spec_seccomp_syscall *sc = &s.syscalls[i];
        sc->names = dup_strv(json_object_get(c, "names"));
        sc->action = dup_str(json_object_get(c, "action"));
        json_t *ret = json_object_get(c, "errnoRet");
        sc->has_errno_ret = ret != NULL;
        sc->errno_ret = (uint32_t)json_integer_value(ret);
        json_t *args = json_object_get(c, "args");
        sc->n_args = json_array_size(args);
        sc->args = calloc(sc->n_args ? sc->n_args : 1, sizeof *sc->args);
        for (size_t k = 0; k < sc->n_args; k++) {
            json_t *a = json_array_get(args, k);
            sc->args[k].index = json_integer_value(json_object_get(a, "index"));
            sc->args[k].value = (uint64_t)json_integer_value(json_object_get(a, "value"));
            sc->args[k].value_two = (uint64_t)json_integer_value(json_object_get(a, "valueTwo"));
            sc->args[k].op = dup_str(json_object_get(a, "op"));
        }
    }
    return s;
}

static void free_profile(spec_seccomp *s)
{
    free(s->default_action);
    free_strv(&s->architectures);
    free_strv(&s->flags);
    for (size_t i = 0; i < s->n_syscalls; i++) {
        free_strv(&s->syscalls[i].names);
        free(s->syscalls[i].action);
        for (size_t k = 0; k < s->syscalls[i].n_args; k++)
            free(s->syscalls[i].args[k].op);
        free(s->syscalls[i].args);
    }
    free(s->syscalls);
}

static void test_default_profile_checks(void **state)
{
    (void)state;
    json_t *j = default_profile();
    spec_seccomp s = from_json(j);
    json_decref(j);
    capsa_err e = {0};
    assert_int_equal(seccomp_check(&s, &e), 0);
    free_profile(&s);
}

/* ---- real filters ---- */

/* (a) ERRNO(EPERM) on mkdir; (b) errnoRet 38. Returns 0 when mkdir failed with
 * want (0: succeeded) and getpid still worked. */
typedef struct {
    install_arg in;
    int want;
} mkdir_arg;

static int child_mkdir(void *p)
{
    const mkdir_arg *a = p;
    int r = install(&a->in);
    if (r)
        return r;
    char path[64];
    snprintf(path, sizeof path, "/tmp/capsa-seccomp-test-%d", (int)getpid());
    int err = ERRNO_OF(mkdir(path, 0700));
    if (!err)
        rmdir(path);
    if (getpid() <= 0)
        return 2;
    return err == a->want ? 0 : 3;
}

static void test_filter_errno(void **state)
{
    (void)state;
    spec_seccomp_syscall calls[] = {rule(MKDIR, "SCMP_ACT_ERRNO")};
    spec_seccomp s = profile("SCMP_ACT_ALLOW", calls, 1);
    mkdir_arg control = {{NULL, true}, 0}, eperm = {{&s, true}, EPERM};
    assert_int_equal(exit_code(run_child(child_mkdir, &control)), 0);
    assert_int_equal(exit_code(run_child(child_mkdir, &eperm)), 0);

    calls[0] = rule_ret(MKDIR, "SCMP_ACT_ERRNO", ENOSYS);
    mkdir_arg enosys = {{&s, true}, ENOSYS};
    assert_int_equal(exit_code(run_child(child_mkdir, &enosys)), 0);
    /* the EPERM child must not pass the ENOSYS check: the value really is honoured */
    mkdir_arg wrong = {{&s, true}, EPERM};
    assert_int_equal(exit_code(run_child(child_mkdir, &wrong)), 3);
}

static void test_filter_unknown_name_skipped(void **state)
{
    (void)state;
    char *names[] = {"capsa_no_such_syscall", "mkdir", "mkdirat", NULL};
    /* ALLOW on getppid equals the default action: skipped, not an error */
    spec_seccomp_syscall calls[] = {rule(names, "SCMP_ACT_ERRNO"),
                                    rule(GETPPID, "SCMP_ACT_ALLOW")};
    spec_seccomp s = profile("SCMP_ACT_ALLOW", calls, 2);
    mkdir_arg a = {{&s, true}, EPERM};
    assert_int_equal(exit_code(run_child(child_mkdir, &a)), 0);
}

static void test_filter_flags(void **state)
{
    (void)state;
    char *flags[] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                     "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                     /* meaningless without a NOTIFY rule: ignored */
                     "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL};
    char *arches[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_X86",
                      NULL};
    spec_seccomp_syscall calls[] = {rule(MKDIR, "SCMP_ACT_ERRNO")};
    spec_seccomp s = profile("SCMP_ACT_ALLOW", calls, 1);
    s.flags = strv(flags);
    s.architectures = strv(arches);
    mkdir_arg a = {{&s, true}, EPERM};
    assert_int_equal(exit_code(run_child(child_mkdir, &a)), 0);
}

/* capsa sets no_new_privs from process.noNewPrivileges; the filter must not. */
static int child_nnp_untouched(void *p)
{
    install_arg a = {p, false};
    int r = install(&a);
    if (r)
        return r;
    return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0 ? 0 : 4;
}

static void test_filter_leaves_nnp(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();   /* without no_new_privs the kernel wants CAP_SYS_ADMIN */
    spec_seccomp_syscall calls[] = {rule(MKDIR, "SCMP_ACT_ERRNO")};
    spec_seccomp s = profile("SCMP_ACT_ALLOW", calls, 1);
    assert_int_equal(exit_code(run_child(child_nnp_untouched, &s)), 0);
}

/* Without no_new_privs and CAP_SYS_ADMIN the kernel refuses; the message says why. */
static int child_unprivileged(void *p)
{
    if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
        return 50;
    capsa_err e = {0};
    if (seccomp_install(p, &e) != -EACCES)
        return 51;
    return strcmp(e.msg, "seccomp: load filter (needs no_new_privs or CAP_SYS_ADMIN): "
                         "Permission denied") == 0 ? 0 : 52;
}

static void test_filter_needs_nnp_or_cap(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    spec_seccomp_syscall calls[] = {rule(MKDIR, "SCMP_ACT_ERRNO")};
    spec_seccomp s = profile("SCMP_ACT_ALLOW", calls, 1);
    assert_int_equal(exit_code(run_child(child_unprivileged, &s)), 0);
}

/* (c) ERRNO on personality only when arg0 == 0xffffffff */
static int child_personality(void *p)
{
    install_arg a = {p, true};
    int r = install(&a);
    if (r)
        return r;
    if (personality(PER_LINUX) < 0)           /* other values still pass */
        return 5;
    int err = ERRNO_OF(personality(0xffffffff));
    return err == EPERM ? 0 : err == 0 ? 6 : 7;
}

static void test_filter_arg_eq(void **state)
{
    (void)state;
    char *names[] = {"personality", NULL};
    spec_seccomp_arg args[] = {{.index = 0, .value = 0xffffffff, .op = "SCMP_CMP_EQ"}};
    spec_seccomp_syscall calls[] = {rule(names, "SCMP_ACT_ERRNO")};
    calls[0].args = args;
    calls[0].n_args = 1;
    spec_seccomp s = profile("SCMP_ACT_ALLOW", calls, 1);
    assert_int_equal(exit_code(run_child(child_personality, NULL)), 6);   /* control */
    assert_int_equal(exit_code(run_child(child_personality, &s)), 0);
}

/* Several args on one index are OR-ed (runc); on different indexes AND-ed. */
static int child_getpriority(void *p)
{
    install_arg a = {p, true};
    int r = install(&a);
    if (r)
        return r;
    int res = 0;
    errno = 0;
    if (getpriority(PRIO_PGRP, 0) == -1 && errno == EPERM)
        res |= 1;
    errno = 0;
    if (getpriority(PRIO_USER, 0) == -1 && errno == EPERM)
        res |= 2;
    errno = 0;
    if (getpriority(PRIO_PROCESS, 0) == -1 && errno == EPERM)
        res |= 4;
    errno = 0;
    if (getpriority(PRIO_PROCESS, (id_t)getpid()) == -1 && errno == EPERM)
        res |= 8;
    return res;
}

static void test_filter_arg_or_and(void **state)
{
    (void)state;
    char *names[] = {"getpriority", NULL};
    spec_seccomp_arg or_args[] = {{.index = 0, .value = PRIO_PGRP, .op = "SCMP_CMP_EQ"},
                                  {.index = 0, .value = PRIO_USER, .op = "SCMP_CMP_EQ"}};
    spec_seccomp_arg and_args[] = {{.index = 0, .value = PRIO_PROCESS, .op = "SCMP_CMP_EQ"},
                                   {.index = 1, .value = 0, .op = "SCMP_CMP_NE"}};
    spec_seccomp_syscall calls[] = {rule(names, "SCMP_ACT_ERRNO")};
    spec_seccomp s = profile("SCMP_ACT_ALLOW", calls, 1);
    assert_int_equal(exit_code(run_child(child_getpriority, NULL)), 0);
    calls[0].args = or_args;
    calls[0].n_args = 2;
    assert_int_equal(exit_code(run_child(child_getpriority, &s)), 1 | 2);
    calls[0].args = and_args;
    assert_int_equal(exit_code(run_child(child_getpriority, &s)), 8);
}

/* (d) KILL_PROCESS: SIGSYS */
static int child_getppid(void *p)
{
    install_arg a = {p, true};
    int r = install(&a);
    if (r)
        return r;
    return syscall(SYS_getppid) > 0 ? 0 : 8;
}

static void test_filter_kill_process(void **state)
{
    (void)state;
    spec_seccomp_syscall calls[] = {rule(GETPPID, "SCMP_ACT_KILL_PROCESS")};
    spec_seccomp s = profile("SCMP_ACT_ALLOW", calls, 1);
    assert_int_equal(exit_code(run_child(child_getppid, NULL)), 0);
    int st = run_child(child_getppid, &s);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGSYS);
}

/* defaultAction ERRNO with defaultErrnoRet: an allow list */
static void test_filter_default_errno_ret(void **state)
{
    (void)state;
    /* what the child and, under ASan, the sanitizer runtime need */
    char *allowed[] = {"exit_group", "exit", "getpid", "gettid", "write", "brk", "mmap",
                       "munmap", "madvise", "rt_sigprocmask", "sigaltstack", "futex", NULL};
    spec_seccomp_syscall calls[] = {rule(allowed, "SCMP_ACT_ALLOW")};
    spec_seccomp s = profile("SCMP_ACT_ERRNO", calls, 1);
    s.has_default_errno_ret = true;
    s.default_errno_ret = EXDEV;
    mkdir_arg a = {{&s, true}, EXDEV};
    assert_int_equal(exit_code(run_child(child_mkdir, &a)), 0);
}

/* (e) the default profile */
enum {
    D_UNSHARE = 1, D_KEYCTL = 2, D_CLONE_NEWNS = 4, D_CLONE3 = 8, D_FORK = 16, D_MOUNT = 32,
    D_BPF = 64, D_I386_KEYCTL = 128,   /* an exit status has 8 bits */
};

#if defined(__x86_64__)
/* A 32-bit syscall from 64-bit code: the filter sees AUDIT_ARCH_I386, so this
 * exercises the SCMP_ARCH_X86 part of the profile. */
static long int80(long nr, long a, long b, long c)
{
    long ret;
    __asm__ volatile("int $0x80"
                     : "=a"(ret)
                     : "a"(nr), "b"(a), "c"(b), "d"(c)
                     : "memory", "r8", "r9", "r10", "r11");
    return ret;
}
#endif

static int child_i386_works(void *p)
{
    (void)p;
#if defined(__x86_64__)
    return int80(20 /* i386 getpid */, 0, 0, 0) == getpid() ? 0 : 1;
#else
    return 1;
#endif
}

static int child_default(void *p)
{
    install_arg a = {p, true};
    int r = install(&a);
    if (r)
        return r;
    int res = 0;
    if (ERRNO_OF(syscall(SYS_bpf, 0, NULL, 0)) == EPERM)
        res |= D_BPF;
    if (ERRNO_OF(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0)) ==
        EPERM)
        res |= D_KEYCTL;
    long pid = syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0)
        _exit(0);
    if (pid > 0)
        waitpid((pid_t)pid, NULL, 0);
    else if (errno == EPERM)
        res |= D_CLONE_NEWNS;
    struct clone_args ca = {.exit_signal = SIGCHLD};
    pid = syscall(SYS_clone3, &ca, sizeof ca);
    if (pid == 0)
        _exit(0);
    if (pid > 0)
        waitpid((pid_t)pid, NULL, 0);
    else if (errno == ENOSYS)
        res |= D_CLONE3;
    pid_t f = fork();
    if (f == 0)
        _exit(7);
    int st;
    if (f > 0 && waitpid(f, &st, 0) == f && WIFEXITED(st) && WEXITSTATUS(st) == 7)
        res |= D_FORK;
    if (ERRNO_OF(syscall(SYS_mount, "none", "/nonexistent-capsa", "tmpfs", 0, NULL)) == EPERM)
        res |= D_MOUNT;
#if defined(__x86_64__)
    if (int80(20 /* i386 getpid */, 0, 0, 0) == getpid() &&
        int80(288 /* i386 keyctl */, 0, -3, 0) == -EPERM)
        res |= D_I386_KEYCTL;
#endif
    /* last: in the control run it moves the child into a new user namespace */
    if (ERRNO_OF(unshare(CLONE_NEWUSER)) == EPERM)
        res |= D_UNSHARE;
    return res;
}

static void test_filter_default_profile(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();   /* the control run needs root to create namespaces */
    json_t *j = default_profile();
    spec_seccomp s = from_json(j);
    json_decref(j);
    int control = exit_code(run_child(child_default, NULL));
    int filtered = exit_code(run_child(child_default, &s));
    free_profile(&s);
    /* without the filter, root may do all of it */
    assert_int_equal(control & (D_UNSHARE | D_KEYCTL | D_CLONE_NEWNS | D_CLONE3 | D_BPF |
                                D_I386_KEYCTL), 0);
    assert_true(control & D_FORK);
    int want = D_UNSHARE | D_KEYCTL | D_CLONE_NEWNS | D_CLONE3 | D_FORK | D_MOUNT | D_BPF;
    if (exit_code(run_child(child_i386_works, NULL)) == 0) /* the kernel runs 32-bit syscalls */
        want |= D_I386_KEYCTL;
    else
        print_message("no IA-32 emulation: 32-bit part of the default profile not tested\n");
    assert_int_equal(filtered, want);
}

/* (f) NOTIFY through listenerPath */
static int child_notify(void *p)
{
    const spec_seccomp *s = p;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return 90;
    capsa_err e = {0};
    int fd;
    if (seccomp_install(s, &e) != -EINVAL)   /* would lose the listener fd */
        return 20;
    if (seccomp_install_notify(s, &fd, &e) != 0 || fd < 0) {
        fprintf(stderr, "seccomp_install_notify: %s\n", e.msg);
        return 21;
    }
    char state[256];
    snprintf(state, sizeof state,
             "{\"ociVersion\":\"1.2.0\",\"id\":\"demo\",\"status\":\"creating\",\"pid\":%d,"
             "\"bundle\":\"/b\",\"annotations\":{\"k\":\"v\"}}",
             (int)getpid());
    if (seccomp_send_listener(s->listener_path, fd, state, s->listener_metadata, &e) != 0) {
        fprintf(stderr, "seccomp_send_listener: %s\n", e.msg);
        return 22;
    }
    close(fd);
    long v = syscall(SYS_getppid);   /* answered by the test's agent */
    return v == 4242 ? 0 : 23;
}

static int recv_state(int conn, int *fd, char *buf, size_t cap)
{
    size_t len = 0;
    *fd = -1;
    for (;;) {
        union {
            char b[CMSG_SPACE(sizeof(int))];
            struct cmsghdr align;
        } u;
        struct iovec iov = {.iov_base = buf + len, .iov_len = cap - 1 - len};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
                           .msg_controllen = sizeof u.b};
        ssize_t n = recvmsg(conn, &m, MSG_CMSG_CLOEXEC);
        if (n <= 0)
            break;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        if (c && c->cmsg_type == SCM_RIGHTS)
            memcpy(fd, CMSG_DATA(c), sizeof *fd);
        len += (size_t)n;
        if (len >= cap - 1)
            break;
    }
    buf[len] = 0;
    return (int)len;
}

static void notify_round_trip(char **flags)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/capsa-seccomp-agent-%d.sock", (int)getpid());
    unlink(path);
    int lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, path);
    assert_int_equal(bind(lsock, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(lsock, 1), 0);

    spec_seccomp_syscall calls[] = {rule(GETPPID, "SCMP_ACT_NOTIFY")};
    spec_seccomp s = profile("SCMP_ACT_ALLOW", calls, 1);
    s.listener_path = path;
    s.listener_metadata = "MKNOD=/dev/null";
    s.flags = strv(flags);

    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(child_notify(&s));

    struct pollfd pfd = {.fd = lsock, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 10000), 1);
    int conn = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
    assert_true(conn >= 0);
    int nfd;
    char buf[4096];
    assert_true(recv_state(conn, &nfd, buf, sizeof buf) > 0);
    close(conn);
    close(lsock);
    unlink(path);
    assert_true(nfd >= 0);

    json_error_t je;
    json_t *j = json_loads(buf, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "ociVersion")), "1.2.0");
    json_t *fds = json_object_get(j, "fds");
    assert_int_equal(json_array_size(fds), 1);
    assert_string_equal(json_string_value(json_array_get(fds, 0)), "seccompFd");
    assert_int_equal(json_integer_value(json_object_get(j, "pid")), child);
    assert_string_equal(json_string_value(json_object_get(j, "metadata")), "MKNOD=/dev/null");
    json_t *st = json_object_get(j, "state");
    assert_string_equal(json_string_value(json_object_get(st, "id")), "demo");
    assert_string_equal(json_string_value(json_object_get(st, "status")), "creating");
    assert_int_equal(json_integer_value(json_object_get(st, "pid")), child);
    json_decref(j);

    /* the agent: answer the child's getppid with a made-up value */
    pfd = (struct pollfd){.fd = nfd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 10000), 1);
    struct seccomp_notif *req;
    struct seccomp_notif_resp *resp;
    assert_int_equal(seccomp_notify_alloc(&req, &resp), 0);
    assert_int_equal(seccomp_notify_receive(nfd, req), 0);
    assert_int_equal(req->pid, child);
    assert_int_equal(req->data.nr, SYS_getppid);
    resp->id = req->id;
    resp->val = 4242;
    resp->error = 0;
    resp->flags = 0;
    assert_int_equal(seccomp_notify_respond(nfd, resp), 0);
    seccomp_notify_free(req, resp);
    close(nfd);

    int wst;
    assert_int_equal(waitpid(child, &wst, 0), child);
    assert_int_equal(exit_code(wst), 0);
}

static void test_filter_notify(void **state)
{
    (void)state;
    notify_round_trip(NULL);
}

/* WAIT_KILLABLE_RECV with a listener: with libseccomp < 2.6 capsa loads the
 * BPF itself to set it; TSYNC with a listener needs TSYNC_ESRCH. */
static void test_filter_notify_flags(void **state)
{
    (void)state;
    const char *v[8];
    size_t n = seccomp_supported_flags(v, N(v));
    bool waitkill = false;
    for (size_t i = 0; i < n; i++)
        waitkill |= strcmp(v[i], "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") == 0;
    if (!waitkill)
        skip();
    char *flags[] = {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_TSYNC",
                     "SECCOMP_FILTER_FLAG_LOG", NULL};
    notify_round_trip(flags);
}

/* Children leave with _exit, so LeakSanitizer would never look at what
 * seccomp_install allocated: ask it explicitly (ASan builds only). */
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

static int child_leaks(void *p)
{
    install_arg a = {p, true};
    int r = install(&a);
    if (r)
        return r;
    capsa_err e = {0};
    if (seccomp_send_listener("/nonexistent/capsa.sock", 0, "{\"pid\":1}", "m", &e) != -ENOENT)
        return 30;
    return __lsan_do_recoverable_leak_check() ? 31 : 0;
}

static void test_install_no_leaks(void **state)
{
    (void)state;
    if (!__lsan_do_recoverable_leak_check)
        skip();
    char *flags[] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", NULL};
    char *arches[] = {"SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL};
    char *names[] = {"getpriority", "capsa_no_such_syscall", NULL};
    spec_seccomp_arg args[] = {{.index = 0, .value = PRIO_PGRP, .op = "SCMP_CMP_EQ"},
                               {.index = 0, .value = PRIO_USER, .op = "SCMP_CMP_EQ"}};
    spec_seccomp_syscall calls[] = {rule(names, "SCMP_ACT_ERRNO"), rule(MKDIR, "SCMP_ACT_LOG")};
    calls[0].args = args;
    calls[0].n_args = 2;
    spec_seccomp s = profile("SCMP_ACT_ALLOW", calls, 2);
    s.flags = strv(flags);
    s.architectures = strv(arches);
    assert_int_equal(exit_code(run_child(child_leaks, &s)), 0);
}

static void test_send_listener_errors(void **state)
{
    (void)state;
    capsa_err e = {0};
    assert_int_equal(seccomp_send_listener("/nonexistent/capsa.sock", 0, "{\"pid\":1}", NULL, &e),
                     -ENOENT);
    assert_string_equal(e.msg, "seccomp listener /nonexistent/capsa.sock: connect: "
                               "No such file or directory");
    assert_int_equal(seccomp_send_listener("/x.sock", 0, "{\"id\":\"a\"}", NULL, &e), -EINVAL);
    assert_string_equal(e.msg, "seccomp listener: container state has no pid");
    assert_int_equal(seccomp_send_listener("/x.sock", 0, "[", NULL, &e), -EINVAL);
    char longpath[200];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[0] = '/';
    longpath[sizeof longpath - 1] = 0;
    assert_int_equal(seccomp_send_listener(longpath, 0, "{\"pid\":1}", NULL, &e), -ENAMETOOLONG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_ok),
        cmocka_unit_test(test_check_unknown_action),
        cmocka_unit_test(test_check_unknown_op),
        cmocka_unit_test(test_check_arg_index),
        cmocka_unit_test(test_check_unknown_arch),
        cmocka_unit_test(test_check_names_escaped),
        cmocka_unit_test(test_check_unknown_flag),
        cmocka_unit_test(test_check_errno_ret),
        cmocka_unit_test(test_check_notify),
        cmocka_unit_test(test_check_names),
        cmocka_unit_test(test_known_names),
        cmocka_unit_test(test_default_profile_content),
        cmocka_unit_test(test_default_profile_checks),
        cmocka_unit_test(test_filter_errno),
        cmocka_unit_test(test_filter_unknown_name_skipped),
        cmocka_unit_test(test_filter_flags),
        cmocka_unit_test(test_filter_leaves_nnp),
        cmocka_unit_test(test_filter_needs_nnp_or_cap),
        cmocka_unit_test(test_filter_arg_eq),
        cmocka_unit_test(test_filter_arg_or_and),
        cmocka_unit_test(test_filter_kill_process),
        cmocka_unit_test(test_filter_default_errno_ret),
        cmocka_unit_test(test_filter_default_profile),
        cmocka_unit_test(test_filter_notify),
        cmocka_unit_test(test_filter_notify_flags),
        cmocka_unit_test(test_install_no_leaks),
        cmocka_unit_test(test_send_listener_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
