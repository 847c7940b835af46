/* kill, delete, state and list, and the status of a container. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "cgroup/stats.h"
#include "linux/hooks.h"
#include "runtime/container.h"
#include "util/fs.h"
#include "util/names.h"

const char *ct_status(int dirfd, const cstate *st)
{
    return ct_status_peek(dirfd, st, false);
}

const char *ct_status_peek(int dirfd, const cstate *st, bool busy)
{
    /* create holds the lock until state.json names init: without a pid and
     * with the lock free, that create was killed and never finishes. */
    if (st->pid <= 0)
        return busy ? "creating" : "stopped";
    if (proc_start_time(st->pid) != st->pid_start)
        return "stopped";
    if (faccessat(dirfd, "exec.fifo", F_OK, 0) == 0)
        return "created";
    if (st->cgroup_path) {
        capsa_err ignore;
        if (cgroup_is_frozen(st->cgroup_path, &ignore) == 1)
            return "paused";
    }
    return "running";
}

static int read_state(int dirfd, const char *id, cstate *st, capsa_err *e)
{
    int r = state_read(dirfd, st, e);
    return r < 0 ? ct_state_error(r, id, e) : r;
}

int ct_destroy(const rt_ctx *c, int dirfd, const char *id, const cstate *st, capsa_err *e)
{
    int r = 0;
    autofree char *recorded = st ? NULL : state_read_cgroup(dirfd);
    const char *cg = st ? st->cgroup_path : recorded;
    if (cg) {
        capsa_err ignore;
        if (cgroup_is_frozen(cg, &ignore) == 1)
            cgroup_freeze(cg, false, &ignore);
        cgroup_kill_all(cg, SIGKILL, &ignore);
    }
    int pidfd = st ? proc_open_verified(st->pid, st->pid_start) : -ESRCH;
    if (pidfd >= 0) {
        syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
        ct_wait_pidfd(pidfd, 5000);
        close(pidfd);
    }
    autofree char *made = cg ? state_read_cgroup_made(dirfd) : NULL;
    if (cg && (r = cgroup_destroy(cg, made, e)) < 0)
        return r;
    autofree char *path = xasprintf("%s/%s", c->root, id);
    return fs_rm_rf(path, e);
}

spec *ct_hooks_config(int dirfd, const cstate *st)
{
    /* The copy create kept: later edits of the bundle change nothing (runtime-spec). */
    spec *s = NULL;
    capsa_err e;
    autoclose int fd = openat(dirfd, "config.json", O_RDONLY | O_CLOEXEC);
    autofree char *text = NULL;
    size_t len = 0;
    if (fd >= 0 && fs_read_fd(fd, "config.json", &text, &len, &e) == 0 &&
        spec_parse(text, len, "config.json", &s, &e) == 0)
        return s;
    /* a container made before capsa kept the copy */
    autofree char *cfg = xasprintf("%s/config.json", st->bundle);
    return spec_load(cfg, &s, &e) == 0 ? s : NULL;
}

int ct_run_hooks(const spec *s, const cstate *st, const char *kind, const char *status,
                 capsa_err *e)
{
    if (!s)
        return cerr_set(e, ENOENT, "%s hooks: the container's config is gone", kind);
    autofree char *state = state_oci_json(st, status, false);
    hooks_run_warn(!strcmp(kind, "poststart") ? &s->hooks.poststart : &s->hooks.poststop, kind,
                   state);
    return 0;
}

int rt_kill(const rt_ctx *c, const char *id, int sig, bool all, capsa_err *e)
{
    int dirfd, r = ct_open_locked(c, id, &dirfd, e);
    if (r < 0)
        return r;
    cstate st;
    if ((r = read_state(dirfd, id, &st, e)) < 0) {
        close(dirfd);
        return r;
    }
    const char *status = ct_status(dirfd, &st);
    if (all && !strcmp(status, "stopped")) {
        /* runc: nothing left to signal is success (containerd's shim sends
         * kill --all after every container exit) */
        r = 0;
    } else if (!strcmp(status, "stopped") || !strcmp(status, "creating")) {
        r = cerr_set(e, ESRCH, "container \"%s\": container not running", id);
    } else if (all && st.cgroup_path) {
        r = cgroup_kill_all(st.cgroup_path, sig, e);
        if (r == 0 && sig == SIGKILL && !strcmp(status, "paused"))
            r = cgroup_freeze(st.cgroup_path, false, e);
    } else {
        int pidfd = proc_open_verified(st.pid, st.pid_start);
        if (pidfd == -ESRCH)
            r = cerr_set(e, ESRCH, "container \"%s\": container not running", id);
        else if (pidfd < 0)
            r = cerr_sys(e, -pidfd, "open container init %d of %s", (int)st.pid, id);
        else if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
            r = cerr_sys(e, errno, "send signal %d to %s", sig, id);
        /* runc: a SIGKILL to a paused container thaws it, so that the kill
         * happens now and not at some later resume (a frozen process cannot die) */
        if (r == 0 && sig == SIGKILL && !strcmp(status, "paused") && st.cgroup_path)
            r = cgroup_freeze(st.cgroup_path, false, e);
        if (pidfd >= 0)
            close(pidfd);
    }
    state_free(&st);
    close(dirfd);
    return r;
}

int rt_delete(const rt_ctx *c, const char *id, bool force, capsa_err *e)
{
    int dirfd, r = ct_open_locked(c, id, &dirfd, e);
    if (r < 0)
        return (force && e->code == ENOENT) ? (cerr_clear(e), 0) : r;
    cstate st;
    r = state_read(dirfd, &st, e);
    if (r < 0 && force) {
        /* No state.json, or a damaged one: kill what the cgroup record names. */
        r = ct_destroy(c, dirfd, id, NULL, e);
        close(dirfd);
        return r;
    }
    if (r < 0) {
        r = ct_state_error(r, id, e);
        close(dirfd);
        return r;
    }
    const char *status = ct_status(dirfd, &st);
    /* read before the state directory (and the config kept in it) goes */
    spec *hooks = st.poststop ? ct_hooks_config(dirfd, &st) : NULL;
    if (!force && strcmp(status, "stopped") && strcmp(status, "created"))
        r = cerr_set(e, EBUSY, "cannot delete container \"%s\" that is %s (use --force)", id, status);
    else
        r = ct_destroy(c, dirfd, id, &st, e);
    if (r == 0 && st.poststop) {
        /* poststop failures are reported, not fatal (runtime-spec). */
        capsa_err he = {0};
        if (ct_run_hooks(hooks, &st, "poststop", "stopped", &he) < 0)
            fprintf(stderr, "capsa: warning: %s\n", he.msg);
    }
    if (hooks)
        spec_free(hooks);
    state_free(&st);
    close(dirfd);
    return r;
}

int rt_peek(const rt_ctx *c, const char *id, cstate *st, const char **status, capsa_err *e)
{
    int dirfd;
    bool busy;
    int r = ct_peek_state(c, id, &dirfd, st, &busy, e);
    if (r < 0)
        return r;
    *status = ct_status_peek(dirfd, st, busy);
    close(dirfd);
    return 0;
}

int rt_state_json(const rt_ctx *c, const char *id, char **out, capsa_err *e)
{
    int dirfd;
    bool busy;
    cstate st;
    int r = ct_peek_state(c, id, &dirfd, &st, &busy, e);
    if (r < 0)
        return r;
    const char *status = ct_status_peek(dirfd, &st, busy);
    cgroup_stats cs;
    capsa_err ignore;
    if (st.cgroup_path && cgroup_stats_read(st.cgroup_path, &cs, &ignore) == 0 && cs.has_memory)
        st.oom_kills = cs.oom_kill;
    *out = state_oci_json(&st, status, true);
    state_free(&st);
    close(dirfd);
    return 0;
}

int rt_list(const rt_ctx *c, rt_info **out, size_t *n, capsa_err *e)
{
    *out = NULL;
    *n = 0;
    ct_remove_stale_claims(c);
    DIR *d = opendir(c->root);
    if (!d)
        return errno == ENOENT ? 0 : cerr_sys(e, errno, "open %s", c->root);
    struct dirent *de;
    size_t cap = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        capsa_err err;
        int dirfd;
        bool busy;
        cstate st;
        rt_info info = {.id = xstrdup(de->d_name)};
        int r = ct_peek_state(c, de->d_name, &dirfd, &st, &busy, &err);
        if (r == 0) {
            info.status = xstrdup(ct_status_peek(dirfd, &st, busy));
            info.pid = strcmp(info.status, "stopped") ? st.pid : 0;
            info.bundle = xstrdup(st.bundle);
            info.created = xstrdup(st.created ? st.created : "");
            info.owner = xstrdup(st.owner ? st.owner : "");
            info.oci_version = xstrdup(st.oci_version ? st.oci_version : "");
            info.rootfs = xstrdup(st.rootfs ? st.rootfs : "");
            info.annotations = st.annotations;  /* moved */
            st.annotations = (spec_map){0};
            state_free(&st);
            close(dirfd);
        } else if (r == -ENOENT) {
            free(info.id);  /* deleted meanwhile */
            continue;
        } else {
            /* Damaged: listed, so that it can be seen and deleted (--force). */
            info.status = xstrdup("unknown");
            info.bundle = xstrdup("");
            info.created = xstrdup("");
            info.owner = xstrdup("");
            info.oci_version = xstrdup("");
            info.rootfs = xstrdup("");
        }
        if (*n == cap)
            *out = xrealloc(*out, (cap = cap ? cap * 2 : 8) * sizeof **out);
        (*out)[(*n)++] = info;
    }
    closedir(d);
    return 0;
}

void rt_info_free(rt_info *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].id);
        free(v[i].status);
        free(v[i].bundle);
        free(v[i].created);
        free(v[i].owner);
        free(v[i].oci_version);
        free(v[i].rootfs);
        for (size_t k = 0; k < v[i].annotations.n; k++) {
            free(v[i].annotations.v[k].key);
            free(v[i].annotations.v[k].value);
        }
        free(v[i].annotations.v);
    }
    free(v);
}
