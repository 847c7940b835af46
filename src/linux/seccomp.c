/* linux.seccomp -> a libseccomp filter. Names stay strings up to here (the spec
 * parser keeps them as written); this file is the one place that maps them to
 * libseccomp values, so seccomp_check and seccomp_install cannot disagree. */
#include "linux/seccomp_filter.h"
#include "linux/seccomp_cache.h"

#include <ctype.h>
#include <errno.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

/* JSON path prefix of every message */
#define P "linux.seccomp."

/* EACCES from seccomp(2): neither no_new_privs nor CAP_SYS_ADMIN. */
#define LOAD_HINT(err) ((err) == EACCES ? " (needs no_new_privs or CAP_SYS_ADMIN)" : "")

enum { RET_NONE, RET_ERRNO, RET_TRACE };

static const struct {
    const char *name;
    uint32_t act;     /* for RET_*: the action with data 0 */
    int ret;
} actions[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD, RET_NONE},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, RET_NONE},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, RET_NONE},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, RET_NONE},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), RET_ERRNO},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), RET_TRACE},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, RET_NONE},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG, RET_NONE},
    {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, RET_NONE},
};

static const struct {
    const char *name;
    enum scmp_compare op;
} operators[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE}, {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

enum { F_TSYNC = 1, F_LOG = 2, F_SPEC_ALLOW = 4, F_WAITKILL = 8 };

static const struct {
    const char *name;
    unsigned bit;
} flags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", F_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", F_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", F_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", F_WAITKILL},
};

/* The runtime-spec list plus later libseccomp ones; which of these exist is
 * up to the libseccomp we run with. */
static const char *const arch_names[] = {
    "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB",
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int action_index(const char *name)
{
    for (size_t i = 0; name && i < N(actions); i++)
        if (strcmp(actions[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int operator_index(const char *name)
{
    for (size_t i = 0; name && i < N(operators); i++)
        if (strcmp(operators[i].name, name) == 0)
            return (int)i;
    return -1;
}

static unsigned flag_bit(const char *name)
{
    for (size_t i = 0; name && i < N(flags); i++)
        if (strcmp(flags[i].name, name) == 0)
            return flags[i].bit;
    return 0;
}

/* "SCMP_ARCH_X86_64" -> libseccomp's token via its own name ("x86_64"); 0 if
 * unknown. Upper case only, as the spec writes them. */
static uint32_t arch_token(const char *name)
{
    static const char prefix[] = "SCMP_ARCH_";
    if (!name || strncmp(name, prefix, sizeof prefix - 1) != 0)
        return 0;
    char low[32];
    size_t n = 0;
    for (const char *p = name + sizeof prefix - 1; *p; p++) {
        if (islower((unsigned char)*p) || n + 1 >= sizeof low)
            return 0;
        low[n++] = (char)tolower((unsigned char)*p);
    }
    low[n] = 0;
    if (n == 0 || strcmp(low, "native") == 0)
        return 0;
    return seccomp_arch_resolve_name(low);
}

/* Action name + errnoRet -> libseccomp action. The caller checked the name. */
static uint32_t action_value(const char *name, bool has_ret, uint32_t ret)
{
    int i = action_index(name);
    if (actions[i].ret == RET_ERRNO)
        return SCMP_ACT_ERRNO(has_ret ? ret : EPERM);
    if (actions[i].ret == RET_TRACE)
        return SCMP_ACT_TRACE(has_ret ? ret : EPERM);
    return actions[i].act;
}

static int check_action(const char *path, const char *ret_path, const char *name,
                        bool has_ret, uint32_t ret, capsa_err *e)
{
    if (!name)
        return cerr_set(e, EINVAL, "%s: missing", path);
    int i = action_index(name);
    if (i < 0)
        return cerr_set(e, EINVAL, "%s: unknown action \"%s\"", path, name);
    if (!has_ret)
        return 0;
    /* The runtime-spec: "When the action doesn't support an errno, the runtime
     * MUST print an error and fail." */
    if (actions[i].ret == RET_NONE)
        return cerr_set(e, EINVAL,
                        "%s: not allowed with %s (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE "
                        "return a value)", ret_path, name);
    /* The kernel caps an errno at 4095 (MAX_ERRNO); TRACE data is 16 bits. */
    uint32_t max = actions[i].ret == RET_ERRNO ? 4095 : 0xffff;
    if (ret > max)
        return cerr_set(e, EINVAL, "%s: %u out of range (0-%u for %s)", ret_path, ret, max,
                        name);
    return 0;
}

/* The listener fd reaches the runtime through the init's write/sendmsg to its
 * parent; notifying those would block the init before any agent can answer
 * (runc refuses "write" for the same reason). */
static bool notify_forbidden(const char *name)
{
    return strcmp(name, "write") == 0 || strcmp(name, "sendmsg") == 0;
}

static int check_syscall(const spec_seccomp *s, size_t i, capsa_err *e)
{
    const spec_seccomp_syscall *c = &s->syscalls[i];
    char path[96], ret_path[112];
    snprintf(path, sizeof path, P "syscalls[%zu].action", i);
    snprintf(ret_path, sizeof ret_path, P "syscalls[%zu].errnoRet", i);
    int r = check_action(path, ret_path, c->action, c->has_errno_ret, c->errno_ret, e);
    if (r < 0)
        return r;
    if (c->names.n == 0)
        return cerr_set(e, EINVAL, P "syscalls[%zu].names: must name at least one syscall", i);
    bool notify = strcmp(c->action, "SCMP_ACT_NOTIFY") == 0;
    for (size_t j = 0; j < c->names.n; j++) {
        const char *name = c->names.v[j];
        if (!name || !*name)
            return cerr_set(e, EINVAL, P "syscalls[%zu].names[%zu]: empty syscall name", i, j);
        if (notify && notify_forbidden(name))
            return cerr_set(e, EINVAL,
                            P "syscalls[%zu].names[%zu]: SCMP_ACT_NOTIFY cannot be used for "
                            "\"%s\" (the runtime needs it to hand the listener fd over)",
                            i, j, name);
    }
    for (size_t k = 0; k < c->n_args; k++) {
        const spec_seccomp_arg *a = &c->args[k];
        if (a->index < 0 || a->index > 5)
            return cerr_set(e, EINVAL, P "syscalls[%zu].args[%zu].index: %lld out of range (0-5)",
                            i, k, (long long)a->index);
        if (!a->op)
            return cerr_set(e, EINVAL, P "syscalls[%zu].args[%zu].op: missing", i, k);
        if (operator_index(a->op) < 0)
            return cerr_set(e, EINVAL, P "syscalls[%zu].args[%zu].op: unknown operator \"%s\"",
                            i, k, a->op);
    }
    return 0;
}

bool seccomp_uses_notify(const spec_seccomp *s)
{
    for (size_t i = 0; s->present && i < s->n_syscalls; i++)
        if (s->syscalls[i].action && strcmp(s->syscalls[i].action, "SCMP_ACT_NOTIFY") == 0)
            return true;
    return false;
}

int seccomp_check(const spec_seccomp *s, capsa_err *e)
{
    if (!s->present)
        return 0;
    int r = check_action(P "defaultAction", P "defaultErrnoRet", s->default_action,
                         s->has_default_errno_ret, s->default_errno_ret, e);
    if (r < 0)
        return r;
    /* Every syscall not listed would block until an agent answers, including
     * the ones the runtime itself makes to hand the listener over. */
    if (strcmp(s->default_action, "SCMP_ACT_NOTIFY") == 0)
        return cerr_set(e, EINVAL, P "defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
    for (size_t i = 0; i < s->architectures.n; i++)
        if (!arch_token(s->architectures.v[i]))
            return cerr_set(e, EINVAL, P "architectures[%zu]: unknown architecture \"%s\"", i,
                            s->architectures.v[i] ? s->architectures.v[i] : "");
    for (size_t i = 0; i < s->flags.n; i++)
        if (!flag_bit(s->flags.v[i]))
            return cerr_set(e, EINVAL, P "flags[%zu]: unknown flag \"%s\"", i,
                            s->flags.v[i] ? s->flags.v[i] : "");
    for (size_t i = 0; i < s->n_syscalls; i++)
        if ((r = check_syscall(s, i, e)) < 0)
            return r;
    bool has_listener = s->listener_path && *s->listener_path;
    if (s->listener_metadata && *s->listener_metadata && !has_listener)
        return cerr_set(e, EINVAL, P "listenerMetadata: set without listenerPath");
    if (seccomp_uses_notify(s) && !has_listener)
        return cerr_set(e, EINVAL, P "listenerPath: required when a rule uses SCMP_ACT_NOTIFY");
    return 0;
}

static unsigned flag_bits(const spec_seccomp *s)
{
    unsigned bits = 0;
    for (size_t i = 0; i < s->flags.n; i++)
        bits |= flag_bit(s->flags.v[i]);
    return bits;
}

static int set_attr(scmp_filter_ctx ctx, enum scmp_filter_attr a, uint32_t v, const char *what,
                    capsa_err *e)
{
    int r = seccomp_attr_set(ctx, a, v);
    if (r < 0)
        return cerr_sys(e, r, "%s: not supported by this kernel or libseccomp %u.%u.%u", what,
                        seccomp_version()->major, seccomp_version()->minor,
                        seccomp_version()->micro);
    return 0;
}

static int setup_filter(scmp_filter_ctx ctx, const spec_seccomp *s, unsigned bits,
                        capsa_err *e)
{
    int r;
    for (size_t i = 0; i < s->architectures.n; i++) {
        uint32_t a = arch_token(s->architectures.v[i]);
        if (seccomp_arch_exist(ctx, a) == 0)
            continue;   /* the native one, or listed twice */
        if ((r = seccomp_arch_add(ctx, a)) < 0)
            return cerr_sys(e, r, P "architectures[%zu]: add %s", i, s->architectures.v[i]);
    }
    /* The spec's process.noNewPrivileges decides, not libseccomp's default. */
    if ((r = set_attr(ctx, SCMP_FLTATR_CTL_NNP, 0, "no_new_privs off", e)) < 0)
        return r;
    if ((bits & F_TSYNC) &&
        (r = set_attr(ctx, SCMP_FLTATR_CTL_TSYNC, 1, P "flags: SECCOMP_FILTER_FLAG_TSYNC", e)) < 0)
        return r;
    if ((bits & F_LOG) &&
        (r = set_attr(ctx, SCMP_FLTATR_CTL_LOG, 1, P "flags: SECCOMP_FILTER_FLAG_LOG", e)) < 0)
        return r;
    if ((bits & F_SPEC_ALLOW) &&
        (r = set_attr(ctx, SCMP_FLTATR_CTL_SSB, 1, P "flags: SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                      e)) < 0)
        return r;
    /* A binary tree of syscalls for long profiles, as runc does (libseccomp
     * <= 2.5.4 misbehaves with it on an empty filter). */
    size_t n = 0;
    for (size_t i = 0; i < s->n_syscalls; i++)
        n += s->syscalls[i].names.n;
    if (n > 32)
        (void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    return 0;
}

static int add_syscall(scmp_filter_ctx ctx, const spec_seccomp *s, size_t i, uint32_t def,
                       capsa_err *e)
{
    const spec_seccomp_syscall *c = &s->syscalls[i];
    uint32_t act = action_value(c->action, c->has_errno_ret, c->errno_ret);
    if (act == def)
        return 0;   /* libseccomp refuses it, and it changes nothing */
    autofree struct scmp_arg_cmp *cmp = xcalloc(c->n_args, sizeof *cmp);
    unsigned seen = 0;
    bool same_index = false;
    for (size_t k = 0; k < c->n_args; k++) {
        const spec_seccomp_arg *a = &c->args[k];
        /* MASKED_EQ: value is the mask, valueTwo the datum (runc, libseccomp). */
        cmp[k] = (struct scmp_arg_cmp){
            .arg = (unsigned)a->index,
            .op = operators[operator_index(a->op)].op,
            .datum_a = a->value,
            .datum_b = a->value_two,
        };
        same_index |= (seen >> a->index) & 1;
        seen |= 1u << a->index;
    }
    for (size_t j = 0; j < c->names.n; j++) {
        int nr = seccomp_syscall_resolve_name(c->names.v[j]);
        if (nr == __NR_SCMP_ERROR)
            continue;   /* unknown to this libseccomp: skipped, like runc */
        int r = 0;
        /* libseccomp takes one comparison per argument in a rule; several on the
         * same index become one rule each (OR), as runc does. */
        if (!same_index)
            r = seccomp_rule_add_array(ctx, act, nr, (unsigned)c->n_args, cmp);
        for (size_t k = 0; same_index && r == 0 && k < c->n_args; k++)
            r = seccomp_rule_add_array(ctx, act, nr, 1, &cmp[k]);
        if (r < 0)
            return cerr_sys(e, r, P "syscalls[%zu]: add rule for \"%s\"", i, c->names.v[j]);
    }
    return 0;
}

/* The program libseccomp generates for the profile, copied out of it. */
static int compile(const spec_seccomp *s, struct sock_filter **insns, size_t *n, capsa_err *e)
{
    uint32_t def = action_value(s->default_action, s->has_default_errno_ret,
                                s->default_errno_ret);
    scmp_filter_ctx ctx = seccomp_init(def);
    if (!ctx)
        return cerr_set(e, ENOMEM, "seccomp: cannot create a filter with default action %s",
                        s->default_action);
    int r = setup_filter(ctx, s, flag_bits(s), e);
    for (size_t i = 0; r == 0 && i < s->n_syscalls; i++)
        r = add_syscall(ctx, s, i, def, e);
    autoclose int mfd = r == 0 ? memfd_create("capsa-seccomp", MFD_CLOEXEC) : -1;
    if (r == 0 && mfd < 0)
        r = cerr_sys(e, errno, "seccomp: memfd_create");
    if (r == 0 && (r = seccomp_export_bpf(ctx, mfd)) < 0)
        r = cerr_sys(e, -r, "seccomp: export BPF");
    seccomp_release(ctx);
    if (r < 0)
        return r;
    off_t len = lseek(mfd, 0, SEEK_END);
    if (len <= 0 || len % (off_t)sizeof(struct sock_filter) != 0 || len > 65536 * 8)
        return cerr_set(e, EINVAL, "seccomp: exported BPF has a bad size %lld", (long long)len);
    *insns = xmalloc((size_t)len);
    if (pread(mfd, *insns, (size_t)len, 0) != len) {
        free(*insns);
        *insns = NULL;
        return cerr_sys(e, errno ? errno : EIO, "seccomp: read exported BPF");
    }
    *n = (size_t)len / sizeof **insns;
    return 0;
}

/* The program seccomp_prepare made (in the runtime, before the fork), used by
 * the container's processes that inherit it. */
static struct {
    const spec_seccomp *s;
    struct sock_filter *insns;
    size_t n;
} prepared;

void seccomp_prepared(const spec_seccomp *s, const struct sock_filter **insns, size_t *n)
{
    bool ok = prepared.s == s && prepared.insns;
    *insns = ok ? prepared.insns : NULL;
    *n = ok ? prepared.n : 0;
}

void seccomp_set_prepared(const spec_seccomp *s, struct sock_filter *insns, size_t n)
{
    free(prepared.insns);
    prepared.s = s;
    prepared.insns = insns;
    prepared.n = n;
}

int seccomp_prepare(const spec_seccomp *s, capsa_err *e)
{
    free(prepared.insns);
    prepared.s = NULL;
    prepared.insns = NULL;
    if (!s->present)
        return 0;
    int r = seccomp_check(s, e);
    if (r < 0)
        return r;
    seccomp_key k;
    seccomp_cache_key(s, &k);
    if (seccomp_cache_get(&k, &prepared.insns, &prepared.n) < 0) {
        r = compile(s, &prepared.insns, &prepared.n, e);
        if (r == 0)
            seccomp_cache_put(&k, prepared.insns, prepared.n);
    }
    free(k.v);
    if (r == 0)
        prepared.s = s;
    return r;
}

/* seccomp(2) with the flags the profile asks for. */
static int load(const struct sock_filter *insns, size_t n, unsigned bits, bool notify,
                int *notify_fd, capsa_err *e)
{
    struct sock_fprog prog = {.len = (unsigned short)n, .filter = (struct sock_filter *)insns};
    unsigned long f = 0;
    if (bits & F_TSYNC)
        f |= SECCOMP_FILTER_FLAG_TSYNC | (notify ? SECCOMP_FILTER_FLAG_TSYNC_ESRCH : 0);
    if (bits & F_LOG)
        f |= SECCOMP_FILTER_FLAG_LOG;
    if (bits & F_SPEC_ALLOW)
        f |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    if (notify)
        f |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    /* The kernel refuses WAIT_KILLABLE_RECV without a listener, where it would
     * mean nothing anyway. */
    if ((bits & F_WAITKILL) && notify)
        f |= SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    long ret = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f, &prog);
    if (ret < 0 && errno == EINVAL && (f & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV))
        return cerr_sys(e, errno, "seccomp: load filter with SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"
                                  " (needs Linux 5.19)");
    if (ret < 0)
        return cerr_sys(e, errno, "seccomp: load filter%s", LOAD_HINT(errno));
    if (!notify && ret > 0)
        return cerr_set(e, ESRCH, "seccomp: thread %ld could not be synchronized", ret);
    if (notify)
        *notify_fd = (int)ret;
    return 0;
}

int seccomp_install_notify(const spec_seccomp *s, int *notify_fd, capsa_err *e)
{
    if (notify_fd)
        *notify_fd = -1;
    if (!s->present)
        return 0;
    /* a prepared program was checked when it was prepared */
    int r = prepared.s == s ? 0 : seccomp_check(s, e);
    if (r < 0)
        return r;
    bool notify = seccomp_uses_notify(s);
    if (notify && !notify_fd)
        return cerr_set(e, EINVAL, "seccomp: profile uses SCMP_ACT_NOTIFY but no listener fd "
                                   "is wanted (use seccomp_install_notify)");
    if (notify && seccomp_api_get() < 5)
        return cerr_set(e, ENOTSUP, "seccomp: SCMP_ACT_NOTIFY needs Linux >= 5.0 and "
                                    "libseccomp >= 2.5 (API level %u)", seccomp_api_get());
    if (prepared.s == s)
        return load(prepared.insns, prepared.n, flag_bits(s), notify, notify_fd, e);
    autofree struct sock_filter *insns = NULL;
    size_t n = 0;
    if ((r = compile(s, &insns, &n, e)) < 0)
        return r;
    return load(insns, n, flag_bits(s), notify, notify_fd, e);
}

int seccomp_install(const spec_seccomp *s, capsa_err *e)
{
    return seccomp_install_notify(s, NULL, e);
}

size_t seccomp_known_actions(const char **out, size_t cap)
{
    for (size_t i = 0; i < N(actions) && i < cap; i++)
        out[i] = actions[i].name;
    return N(actions);
}

size_t seccomp_known_operators(const char **out, size_t cap)
{
    for (size_t i = 0; i < N(operators) && i < cap; i++)
        out[i] = operators[i].name;
    return N(operators);
}

/* Known to libseccomp and addable to a filter for this machine (a filter
 * cannot mix endiannesses: no SCMP_ARCH_MIPS on x86_64). */
static bool arch_addable(scmp_filter_ctx ctx, uint32_t a)
{
    return a && (seccomp_arch_exist(ctx, a) == 0 || seccomp_arch_add(ctx, a) == 0);
}

size_t seccomp_known_archs(const char **out, size_t cap)
{
    size_t n = 0;
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    for (size_t i = 0; ctx && i < N(arch_names); i++)
        if (arch_addable(ctx, arch_token(arch_names[i]))) {
            if (n < cap)
                out[n] = arch_names[i];
            n++;
        }
    if (ctx)
        seccomp_release(ctx);
    return n;
}

size_t seccomp_known_flags(const char **out, size_t cap)
{
    for (size_t i = 0; i < N(flags) && i < cap; i++)
        out[i] = flags[i].name;
    return N(flags);
}

/* seccomp(2) checks its flags before it reads the program: with a NULL program
 * a known flag gets EFAULT, an unknown one EINVAL (the probe runc uses). */
static bool kernel_has_flag(unsigned long f)
{
    long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f, NULL);
    return r < 0 && errno == EFAULT;
}

size_t seccomp_supported_flags(const char **out, size_t cap)
{
    unsigned api = seccomp_api_get();
    const bool ok[] = {
        api >= 2 && kernel_has_flag(SECCOMP_FILTER_FLAG_TSYNC),
        api >= 3 && kernel_has_flag(SECCOMP_FILTER_FLAG_LOG),
        api >= 4 && kernel_has_flag(SECCOMP_FILTER_FLAG_SPEC_ALLOW),
        api >= 5 && kernel_has_flag(SECCOMP_FILTER_FLAG_NEW_LISTENER |
                                    SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV),
    };
    size_t n = 0;
    for (size_t i = 0; i < N(flags); i++)
        if (ok[i]) {
            if (n < cap)
                out[n] = flags[i].name;
            n++;
        }
    return n;
}
