/* capsa exec: a new process in a running container. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "cgroup/subcgroup.h"
#include "util/units.h"
#include "linux/linux.h"
#include "linux/seccomp_filter.h"
#include "runtime/container.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/userns.h"

struct exec_arg {
    const char *cgroup_path;
    cgroup_join join;
    const char *console_socket;
    const spec_seccomp *seccomp;
    cstate *st;
    int master;
};

/* The default exec's cgroup (an explicit --cgroup SUB joins otherwise, and
 * fails if it cannot). Rootless, the caller may not be allowed to move a
 * process there: cgroup v2 wants write access to the common ancestor of both
 * cgroups, and a login session's scope meets the user manager's tree only in
 * root's user-UID.slice. runc then leaves the process in the caller's cgroup,
 * silently; so does capsa, with a debug line. */
static int enter_cgroup(pid_t pid, void *arg, capsa_err *e)
{
    struct exec_arg *a = arg;
    if (!a->cgroup_path)
        return 0;
    int r = cgroup_enter(a->cgroup_path, pid, e);
    if ((r == -EACCES || r == -EPERM) && userns_rootless()) {
        log_debug("exec: %s: rootless, the process stays in the caller's cgroup (as runc)",
                  e->msg);
        cerr_clear(e);
        return 0;
    }
    return r;
}

static int take_console(int fd, void *arg, capsa_err *e)
{
    struct exec_arg *a = arg;
    if (a->console_socket)
        return rt_send_console(a->console_socket, fd, e);
    a->master = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    return a->master < 0 ? cerr_sys(e, errno, "keep terminal") : 0;
}

static int pass_seccomp_fd(pid_t pid, int fd, void *arg, capsa_err *e)
{
    struct exec_arg *a = arg;
    cstate st = *a->st;
    st.pid = pid;
    autofree char *state = state_oci_json(&st, "running", false);
    int r = seccomp_send_listener(a->seccomp->listener_path, fd, state,
                                 a->seccomp->listener_metadata, e);
    /* runc's words, which engines and scripts match on, before capsa's */
    return r < 0 ? cerr_wrap(e, "failed to connect with seccomp agent") : r;
}

/* uid[:gid], digits only: anything else is an error, never a guess
 * (CVE-2026-30892 was a lenient parser running the process as someone else). */
static int parse_user(const char *s, spec_user *u, capsa_err *e)
{
    uint32_t uid, gid;
    bool has_gid;
    if (units_parse_user(s, &uid, &gid, &has_gid) < 0)
        return cerr_set(e, EINVAL, "--user \"%s\": expected UID[:GID] as numbers", s);
    u->uid = uid;
    if (has_gid)
        u->gid = gid;
    return 0;
}

static int parse_gids(const char *s, spec_user *u, capsa_err *e)
{
    size_t n = 1;
    for (const char *c = s; *c; c++)
        n += *c == ',';
    u->additional_gids = xcalloc(n, sizeof *u->additional_gids);
    u->n_additional_gids = 0;
    autofree char *copy = xstrdup(s);
    char *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        uint32_t g;
        if (units_parse_id(t, &g) < 0)
            return cerr_set(e, EINVAL, "--additional-gids: \"%s\" is not a group id", t);
        u->additional_gids[u->n_additional_gids++] = g;
    }
    return 0;
}

/* --env K=V replaces K or appends. The strings are ours, so the list is rebuilt. */
static void set_env(spec_strv *env, char **add)
{
    for (; add && *add; add++) {
        const char *eq = strchr(*add, '=');
        size_t klen = eq ? (size_t)(eq - *add) : strlen(*add);
        size_t i;
        for (i = 0; i < env->n; i++)
            if (!strncmp(env->v[i], *add, klen) && env->v[i][klen] == '=')
                break;
        if (i == env->n) {
            env->v = xrealloc(env->v, (env->n + 2) * sizeof *env->v);
            env->n++;
            env->v[env->n] = NULL;
        } else {
            free(env->v[i]);
        }
        env->v[i] = xstrdup(*add);
    }
}

static int build_process(spec *s, const rt_exec_opts *o, spec **proc, capsa_err *e)
{
    int r;
    if (o->process_file) {
        if ((r = spec_load_process(o->process_file, proc, e)) < 0)
            return r;
        return spec_validate_process(*proc, e);
    }
    spec_process *p = &s->process;
    if (!o->args || !o->args[0])
        return cerr_set(e, EINVAL, "exec: nothing to run (give a command or --process)");
    /* Replace args with a copy spec_free can own. */
    for (size_t i = 0; i < p->args.n; i++)
        free(p->args.v[i]);
    size_t n = 0;
    while (o->args[n])
        n++;
    p->args.v = xrealloc(p->args.v, (n + 1) * sizeof *p->args.v);
    for (size_t i = 0; i < n; i++)
        p->args.v[i] = xstrdup(o->args[i]);
    p->args.v[n] = NULL;
    p->args.n = n;
    p->terminal = o->tty;
    set_env(&p->env, o->env);
    if (o->cwd) {
        free(p->cwd);
        p->cwd = xstrdup(o->cwd);
    }
    if (o->user && (r = parse_user(o->user, &p->user, e)) < 0)
        return r;
    if (o->additional_gids) {
        free(p->user.additional_gids);
        if ((r = parse_gids(o->additional_gids, &p->user, e)) < 0)
            return r;
    }
    for (char **c = o->caps; c && *c; c++) {
        int cap = spec_cap_from_name(*c);
        if (cap < 0)
            return cerr_set(e, EINVAL, "--cap %s: unknown capability", *c);
        uint64_t bit = 1ULL << cap;
        p->caps.bounding |= bit;
        p->caps.effective |= bit;
        p->caps.permitted |= bit;
        /* Ambient needs inheritable, which exec never adds by itself (CVE-2022-27650). */
        if (p->caps.inheritable & bit)
            p->caps.ambient |= bit;
    }
    if (o->no_new_privs)
        p->no_new_privileges = true;
    if (o->apparmor) {
        free(p->apparmor_profile);
        p->apparmor_profile = xstrdup(o->apparmor);
        if (!spec_lsm_enabled("apparmor"))
            return cerr_set(e, ENOTSUP, "exec: --apparmor %s: AppArmor is not enabled on this "
                            "host", o->apparmor);
    }
    return 0;
}

int rt_exec(const rt_ctx *c, const char *id, const rt_exec_opts *o, int *status, capsa_err *e)
{
    int dirfd, r = ct_open_locked(c, id, &dirfd, e);
    if (r < 0)
        return r;
    cstate st;
    spec *s = NULL, *proc = NULL;
    autoclose int master = -1;
    if ((r = state_read(dirfd, &st, e)) < 0) {
        close(dirfd);
        return ct_state_error(r, id, e);
    }
    const char *status_s = ct_status(dirfd, &st);
    if (!strcmp(status_s, "stopped") || !strcmp(status_s, "creating"))
        r = cerr_set(e, EINVAL, "cannot exec in a container that is %s", status_s);
    else if (!strcmp(status_s, "paused") && !o->ignore_paused)
        r = cerr_set(e, EINVAL, "cannot exec in a paused container (resume it, or --ignore-paused)");
    autofree char *cfg = xasprintf("%s/config.json", st.bundle);
    if (r == 0)
        r = spec_load(cfg, &s, e);
    if (r == 0)
        r = build_process(s, o, &proc, e);
    const spec_process *p = proc ? &proc->process : s ? &s->process : NULL;
    if (r == 0 && p->terminal && !o->console_socket && o->detach)
        r = cerr_set(e, EINVAL, "exec --tty --detach needs --console-socket");
    if (r == 0 && !o->detach) {
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        rt_block_signals();
    }
    pid_t pid = 0;
    if (r == 0) {
        struct exec_arg a = {.cgroup_path = st.cgroup_path, .console_socket = o->console_socket,
                             .seccomp = &s->linux.seccomp, .st = &st, .master = -1};
        exec_cfg ec = {.p = p, .l = &s->linux, .init_pid = st.pid, .preserve_fds = o->preserve_fds,
                       .on_child = enter_cgroup, .on_seccomp_fd = pass_seccomp_fd,
                       .on_console_fd = take_console, .arg = &a};
        a.join.v2 = -1;
        /* as root: the new process joins by itself, no migration by pid */
        spawn_join sj;
        size_t nsub = 0;
        while (o->cgroups && o->cgroups[nsub])
            nsub++;
        if (nsub && !st.cgroup_path) {
            r = cerr_set(e, EINVAL, "exec --cgroup: the container has no cgroup of its own");
        } else if (nsub) {
            /* a sub-cgroup is joined the same way, or not at all (never the container's
             * cgroup instead of the one asked for) */
            if ((r = cgroup_join_open_sub(st.cgroup_path, o->cgroups, nsub, &a.join, e)) == 0) {
                sj = ct_spawn_join(&a.join);
                ec.join = &sj;
            }
        } else if (geteuid() == 0 && st.cgroup_path &&
                   cgroup_join_open(st.cgroup_path, &a.join, e) == 0) {
            sj = ct_spawn_join(&a.join);
            ec.join = &sj;
        }
        if (r == 0) {
            cerr_clear(e);
            r = linux_exec(&ec, &pid, e);
        }
        cgroup_join_close(&a.join);
        master = a.master;
    }
    /* The lock is only for setup: kill and delete must work while we wait. */
    close(dirfd);
    if (r == 0 && o->pid_file)
        r = rt_write_pid_file(o->pid_file, pid, e);
    if (r == 0 && !o->detach)
        r = rt_wait(pid, master, status, e);
    state_free(&st);
    spec_free(proc);
    spec_free(s);
    return r;
}
