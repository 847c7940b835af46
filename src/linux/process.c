/* The container process's own attributes: rlimits, identity, capabilities. */
#include "linux/process.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <unistd.h>

#include "linux/resolve.h"
#include "util/fs.h"
#include "util/log.h"

int process_limits(const spec_process *p, const spec_linux *l, capsa_err *e)
{
    for (size_t i = 0; i < p->n_rlimits; i++) {
        struct rlimit rl = {.rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard};
        if (setrlimit(p->rlimits[i].resource, &rl) < 0)
            return cerr_sys(e, errno, "setrlimit %s soft=%llu hard=%llu", p->rlimits[i].type,
                            (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
    }
    if (process_oom_score_adj(p, e) < 0)
        return -1;
    if (l->has_personality && l->personality_domain) {
        unsigned long persona = !strcmp(l->personality_domain, "LINUX32") ? PER_LINUX32 : PER_LINUX;
        if (personality(persona) < 0)
            return cerr_sys(e, errno, "personality %s", l->personality_domain);
    }
    return 0;
}

/* The kernel raises an ambient capability only if it is in both the permitted
 * and the inheritable set (capabilities(7)). `runc spec` and `crun spec` list
 * ambient capabilities with no inheritable set; runc and crun leave those out
 * and run the container, and so does capsa (process_ambient_left_out says
 * which, for the log). */
uint64_t process_ambient_raisable(const spec_caps *c)
{
    return c->ambient & c->permitted & c->inheritable;
}

void process_log_ambient(const spec_caps *c)
{
    uint64_t out = c->ambient & ~process_ambient_raisable(c);
    if (!out || !log_debug_enabled())
        return;
    char names[1024] = "";
    size_t n = 0;
    for (int i = 0; i <= spec_cap_last() && n + 32 < sizeof names; i++)
        if (out >> i & 1)
            n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", n ? " " : "",
                                  spec_cap_name(i));
    log_debug("ambient capabilities left out (not in both permitted and inheritable, "
              "the kernel cannot raise them): %s", names);
}

/* capset(2) itself, not libcap's cap_set_proc: libcap asks the kernel for its
 * version (capget) first, and after a seccomp filter only capset and the
 * ambient prctls may run (finish.c). */
static int set_caps(const spec_caps *c, capsa_err *e)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[2] = {
        {.effective = (uint32_t)c->effective, .permitted = (uint32_t)c->permitted,
         .inheritable = (uint32_t)c->inheritable},
        {.effective = (uint32_t)(c->effective >> 32), .permitted = (uint32_t)(c->permitted >> 32),
         .inheritable = (uint32_t)(c->inheritable >> 32)},
    };
    if (syscall(SYS_capset, &h, d) < 0)
        return cerr_sys(e, errno, "set capabilities");
    uint64_t amb = process_ambient_raisable(c);
    for (int i = 0; i <= spec_cap_last(); i++)
        if ((amb & (1ULL << i)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) < 0)
            return cerr_sys(e, errno, "raise ambient capability %s", spec_cap_name(i));
    return 0;
}

/* Effective = permitted: what a non-root user kept across setuid (KEEPCAPS)
 * is usable again, CAP_SYS_ADMIN for loading a seccomp filter among it. */
static int raise_effective(capsa_err *e)
{
    cap_t caps = cap_get_proc();
    if (!caps)
        return cerr_sys(e, errno, "read capabilities");
    cap_t full = cap_dup(caps);
    int r = -1, err = ENOMEM;
    if (full) {
        for (int i = 0; i <= spec_cap_last(); i++) {
            cap_value_t v = i;
            cap_flag_value_t on = CAP_CLEAR;
            cap_get_flag(caps, v, CAP_PERMITTED, &on);
            cap_set_flag(full, CAP_EFFECTIVE, 1, &v, on);
        }
        r = cap_set_proc(full);
        err = errno;
        cap_free(full);
    }
    cap_free(caps);
    return r < 0 ? cerr_sys(e, err, "keep capabilities until the seccomp filter is loaded") : 0;
}

int process_identity(const spec_process *p, bool final_caps, capsa_err *e)
{
    const spec_caps *c = &p->caps;
    int last = spec_cap_last();
    /* A capability the runtime itself lacks (a host whose bounding set has
     * not got it) cannot be given: say which, not a bare EPERM from capset. */
    for (int i = 0; i <= last; i++)
        if (((c->effective | c->permitted | c->inheritable |
              process_ambient_raisable(c)) >> i & 1) &&
            prctl(PR_CAPBSET_READ, i, 0, 0, 0) == 0)
            return cerr_set(e, EPERM, "capability %s: not in the runtime's own bounding set "
                            "on this host, cannot be given", spec_cap_name(i));
    /* Bounding set first: dropping needs CAP_SETPCAP, which we still hold. */
    for (int i = 0; i <= last; i++)
        if (!(c->bounding & (1ULL << i)) && prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0 &&
            errno != EINVAL)
            return cerr_sys(e, errno, "drop %s from the bounding set", spec_cap_name(i));
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return cerr_sys(e, errno, "clear ambient capabilities");
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return cerr_sys(e, errno, "keep capabilities across setuid");
    gid_t gids[p->user.n_additional_gids + 1];
    for (size_t i = 0; i < p->user.n_additional_gids; i++)
        gids[i] = p->user.additional_gids[i];
    if (setgroups(p->user.n_additional_gids, gids) < 0 && errno != EPERM)
        return cerr_sys(e, errno, "setgroups");
    if (setresgid(p->user.gid, p->user.gid, p->user.gid) < 0)
        return cerr_sys(e, errno, "setgid %u", p->user.gid);
    if (setresuid(p->user.uid, p->user.uid, p->user.uid) < 0)
        return cerr_sys(e, errno, "setuid %u", p->user.uid);
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        return cerr_sys(e, errno, "reset keepcaps");
    if (p->user.has_umask)
        umask(p->user.umask);
    else
        umask(022);
    return final_caps ? set_caps(c, e) : raise_effective(e);
}

int process_final_caps(const spec_process *p, capsa_err *e)
{
    return set_caps(&p->caps, e);
}

static const char *env_get(const spec_strv *env, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < env->n; i++)
        if (!strncmp(env->v[i], key, n) && env->v[i][n] == '=')
            return env->v[i] + n + 1;
    return NULL;
}

int process_find_exec(const spec_process *p, char **out, capsa_err *e)
{
    const char *arg0 = p->args.v[0];
    struct stat st;
    if (strchr(arg0, '/')) {
        if (stat(arg0, &st) < 0)
            return cerr_sys(e, errno, "exec \"%s\"", arg0);
        if (S_ISDIR(st.st_mode))
            return cerr_set(e, EACCES, "exec \"%s\": is a directory", arg0);
        *out = xstrdup(arg0);
        return 0;
    }
    const char *path = env_get(&p->env, "PATH");
    if (!path)
        path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    autofree char *copy = xstrdup(path);
    char *save = NULL;
    for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        autofree char *cand = xasprintf("%s/%s", *dir ? dir : ".", arg0);
        if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) {
            *out = TAKE_PTR(cand);
            return 0;
        }
    }
    return cerr_set(e, ENOENT, "exec: \"%s\": executable file not found in $PATH", arg0);
}

int process_chdir(const spec_process *p, capsa_err *e)
{
    const char *cwd = p->cwd ? p->cwd : "/";
    autoclose int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return cerr_sys(e, errno, "open /");
    capsa_err tmp;
    autoclose int fd = root_open(root, cwd, O_PATH | O_DIRECTORY, &tmp);
    if (fd < 0 && tmp.code == ENOENT)
        fd = root_mkdir_p(root, cwd, 0755, &tmp);
    if (fd < 0) {
        *e = tmp;
        return cerr_wrap(e, "cwd %s", cwd);
    }
    if (fchdir(fd) < 0)
        return cerr_sys(e, errno, "chdir to cwd %s", cwd);
    return 0;
}

int process_oom_score_adj(const spec_process *p, capsa_err *e)
{
    if (p->has_oom_score_adj) {
        char v[16], cur[16] = "";
        snprintf(v, sizeof v, "%d", p->oom_score_adj);
        FILE *f = fopen("/proc/self/oom_score_adj", "re");
        if (f) {
            bool same = fgets(cur, sizeof cur, f) && atoi(cur) == p->oom_score_adj;
            fclose(f);
            if (same)
                return 0;
        }
        if (procfs_write("self/oom_score_adj", v, strlen(v), e) < 0)
            return cerr_wrap(e, "set oomScoreAdj %d", p->oom_score_adj);
    }
    return 0;
}
