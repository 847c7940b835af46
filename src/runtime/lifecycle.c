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

int ct_open_locked(const rt_ctx *c, const char *id, int *dirfd, capsa_err *e)
{
    int r = id_validate(id, e);
    if (r < 0)
        return r;
    autofree char *path = xasprintf("%s/%s", c->root, id);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return cerr_set(e, ENOENT, "container \"%s\" does not exist", id);
        return cerr_sys(e, errno, "open %s", path);
    }
    while (flock(fd, LOCK_EX) < 0)
        if (errno != EINTR) {
            int err = errno;
            close(fd);
            return cerr_sys(e, err, "lock %s", path);
        }
    /* A concurrent delete may have removed the directory while we waited. */
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_nlink == 0) {
        close(fd);
        return cerr_set(e, ENOENT, "container \"%s\" does not exist", id);
    }
    *dirfd = fd;
    return 0;
}

const char *ct_status(int dirfd, const cstate *st)
{
    if (st->pid <= 0)
        return "creating";
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
    if (r == -ENOENT)
        return cerr_set(e, ENOENT, "container \"%s\" has no state (still being created?)", id);
    return r;
}

int ct_destroy(const rt_ctx *c, int dirfd, const char *id, const cstate *st, capsa_err *e)
{
    int r = 0;
    if (st->cgroup_path) {
        capsa_err ignore;
        if (cgroup_is_frozen(st->cgroup_path, &ignore) == 1)
            cgroup_freeze(st->cgroup_path, false, &ignore);
        cgroup_kill_all(st->cgroup_path, SIGKILL, &ignore);
    }
    int pidfd = proc_open_verified(st->pid, st->pid_start);
    if (pidfd >= 0) {
        syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
        ct_wait_pidfd(pidfd, 5000);
        close(pidfd);
    }
    if (st->cgroup_path && (r = cgroup_destroy(st->cgroup_path, e)) < 0)
        return r;
    autofree char *path = xasprintf("%s/%s", c->root, id);
    (void)dirfd;
    return fs_rm_rf(path, e);
}

int ct_run_hooks(const cstate *st, const char *kind, const char *status, capsa_err *e)
{
    autofree char *cfg = xasprintf("%s/config.json", st->bundle);
    spec *s = NULL;
    int r = spec_load(cfg, &s, e);
    if (r < 0)
        return cerr_wrap(e, "%s hooks", kind);
    autofree char *state = state_oci_json(st, status, false);
    r = hooks_run(!strcmp(kind, "poststart") ? &s->hooks.poststart : &s->hooks.poststop, kind,
                  state, e);
    spec_free(s);
    return r;
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
    if (!strcmp(status, "stopped") || !strcmp(status, "creating")) {
        r = cerr_set(e, ESRCH, "container \"%s\" is not running", id);
    } else if (all && st.cgroup_path) {
        r = cgroup_kill_all(st.cgroup_path, sig, e);
    } else {
        int pidfd = proc_open_verified(st.pid, st.pid_start);
        if (pidfd == -ESRCH)
            r = cerr_set(e, ESRCH, "container \"%s\" is not running", id);
        else if (pidfd < 0)
            r = cerr_sys(e, -pidfd, "open container init %d of %s", (int)st.pid, id);
        else if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
            r = cerr_sys(e, errno, "send signal %d to %s", sig, id);
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
    if (r == -ENOENT && force) {
        cstate none = {0};
        r = ct_destroy(c, dirfd, id, &none, e);
        close(dirfd);
        return r;
    }
    if (r < 0) {
        if (r == -ENOENT)
            r = cerr_set(e, EBUSY, "container \"%s\" is being created (use --force)", id);
        close(dirfd);
        return r;
    }
    const char *status = ct_status(dirfd, &st);
    if (!force && strcmp(status, "stopped") && strcmp(status, "created"))
        r = cerr_set(e, EBUSY, "cannot delete container \"%s\" that is %s (use --force)", id, status);
    else
        r = ct_destroy(c, dirfd, id, &st, e);
    if (r == 0 && st.poststop) {
        /* poststop failures are reported, not fatal (runtime-spec). */
        capsa_err he = {0};
        if (ct_run_hooks(&st, "poststop", "stopped", &he) < 0)
            fprintf(stderr, "capsa: warning: %s\n", he.msg);
    }
    state_free(&st);
    close(dirfd);
    return r;
}

int rt_state_json(const rt_ctx *c, const char *id, char **out, capsa_err *e)
{
    int dirfd, r = ct_open_locked(c, id, &dirfd, e);
    if (r < 0)
        return r;
    cstate st;
    if ((r = read_state(dirfd, id, &st, e)) == 0) {
        const char *status = ct_status(dirfd, &st);
        if (!strcmp(status, "stopped"))
            st.pid = 0;
        cgroup_stats cs;
        capsa_err ignore;
        if (st.cgroup_path && cgroup_stats_read(st.cgroup_path, &cs, &ignore) == 0 &&
            cs.has_memory)
            st.oom_kills = cs.oom_kill;
        *out = state_oci_json(&st, status, true);
        state_free(&st);
    }
    close(dirfd);
    return r;
}

int rt_list(const rt_ctx *c, rt_info **out, size_t *n, capsa_err *e)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(c->root);
    if (!d)
        return errno == ENOENT ? 0 : cerr_sys(e, errno, "open %s", c->root);
    struct dirent *de;
    size_t cap = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        capsa_err ignore;
        int dirfd;
        if (ct_open_locked(c, de->d_name, &dirfd, &ignore) < 0)
            continue;
        cstate st;
        rt_info info = {.id = xstrdup(de->d_name)};
        if (state_read(dirfd, &st, &ignore) == 0) {
            info.status = xstrdup(ct_status(dirfd, &st));
            info.pid = strcmp(info.status, "stopped") ? st.pid : 0;
            info.bundle = xstrdup(st.bundle);
            info.created = xstrdup(st.created ? st.created : "");
            info.owner = xstrdup(st.owner ? st.owner : "");
            state_free(&st);
        } else {
            info.status = xstrdup("creating");
            info.bundle = xstrdup("");
            info.created = xstrdup("");
            info.owner = xstrdup("");
        }
        close(dirfd);
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
    }
    free(v);
}
