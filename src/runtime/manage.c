/* Managing a live container's resources: update, pause/resume, ps, events,
 * and the OOM report of a foreground run. The cgroup files are the truth:
 * nothing here is recorded in state.json, so a later stats read or delete
 * sees exactly what the kernel has. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "cgroup/notify.h"
#include "cgroup/stats.h"
#include "runtime/container.h"
#include "util/log.h"
#include "util/units.h"

/* Lock, read state, compute the status; on success the caller owns dirfd and st. */
static int load(const rt_ctx *c, const char *id, int *dirfd, cstate *st, const char **status,
                capsa_err *e)
{
    int r = ct_open_locked(c, id, dirfd, e);
    if (r < 0)
        return r;
    r = state_read(*dirfd, st, e);
    if (r < 0)
        r = ct_state_error(r, id, e);
    if (r == 0 && !st->cgroup_path) {
        state_free(st);
        r = cerr_set(e, ENOENT, "container \"%s\" has no cgroup", id);
    }
    if (r < 0) {
        close(*dirfd);
        return r;
    }
    *status = ct_status(*dirfd, st);
    return 0;
}

static void unload(int dirfd, cstate *st)
{
    state_free(st);
    close(dirfd);
}

int rt_update(const rt_ctx *c, const char *id, const spec_resources *res, capsa_err *e)
{
    int r = spec_validate_resources(res, true, e);
    if (r < 0)
        return r;
    int dirfd;
    cstate st;
    const char *status;
    if ((r = load(c, id, &dirfd, &st, &status, e)) < 0)
        return r;
    if (!strcmp(status, "stopped")) {
        r = cerr_set(e, EINVAL, "cannot update container \"%s\": it is stopped "
                     "(container not running)", id);
    } else {
        /* Device rules are not updated, as runc does: engines send the whole
         * resources object back, and a v1 rewrite starts with "deny all", which
         * would cut a running container off /dev/null for a moment. */
        spec_resources r2 = *res;
        r2.devices = NULL;
        r2.n_devices = 0;
        r = cgroup_update(st.cgroup_path, &r2, e);
    }
    unload(dirfd, &st);
    return r;
}

static int set_frozen(const rt_ctx *c, const char *id, bool frozen, capsa_err *e)
{
    int dirfd, r;
    cstate st;
    const char *status;
    if ((r = load(c, id, &dirfd, &st, &status, e)) < 0)
        return r;
    const char *want = frozen ? "running" : "paused";
    if (strcmp(status, want))
        /* runc's "container not running" / "container not paused", which clients match */
        r = cerr_set(e, EINVAL, "cannot %s container \"%s\": it is %s, not %s (container not %s)",
                     frozen ? "pause" : "resume", id, status, want, want);
    else
        r = cgroup_freeze(st.cgroup_path, frozen, e);
    unload(dirfd, &st);
    return r;
}

int rt_pause(const rt_ctx *c, const char *id, capsa_err *e)
{
    return set_frozen(c, id, true, e);
}

int rt_resume(const rt_ctx *c, const char *id, capsa_err *e)
{
    return set_frozen(c, id, false, e);
}

int rt_pids(const rt_ctx *c, const char *id, pid_t **pids, size_t *n, capsa_err *e)
{
    int dirfd, r;
    cstate st;
    const char *status;
    *pids = NULL;
    *n = 0;
    if ((r = load(c, id, &dirfd, &st, &status, e)) < 0)
        return r;
    r = cgroup_pids(st.cgroup_path, pids, n, e);
    /* A stopped container whose cgroup is already gone simply has none. */
    if (r == -ENOENT && !strcmp(status, "stopped")) {
        cerr_clear(e);
        r = 0;
    }
    unload(dirfd, &st);
    return r;
}

/* What events needs from the state, read under the lock and then released:
 * holding the lock while streaming would block delete. */
static int events_target(const rt_ctx *c, const char *id, char **path, pid_t *pid,
                         unsigned long long *start, capsa_err *e)
{
    int dirfd, r;
    cstate st;
    const char *status;
    if ((r = load(c, id, &dirfd, &st, &status, e)) < 0)
        return r;
    if (!strcmp(status, "stopped")) {
        r = cerr_set(e, ESRCH, "container \"%s\": container not running", id);
    } else {
        *path = xstrdup(st.cgroup_path);
        *pid = st.pid;
        *start = st.pid_start;
    }
    unload(dirfd, &st);
    return r;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int emit_stats(const char *id, const char *path, rt_event_fn fn, void *arg, capsa_err *e)
{
    cgroup_stats s;
    cgroup_stats_detail d;
    int r = cgroup_stats_read(path, &s, e);
    if (r < 0 || (r = cgroup_stats_detail_read(path, &d, e)) < 0)
        return r;
    r = fn(id, RT_EVENT_STATS, &s, &d, arg, e);
    cgroup_stats_detail_free(&d);
    return r;
}

/* One OOM watch read; *gone once the cgroup is removed. */
static int check_oom(const char *id, cgroup_oom_watch *w, bool *gone, rt_event_fn fn,
                     void *arg, capsa_err *e)
{
    int n = cgroup_oom_watch_read(w, e);
    if (n == -ENOENT) {
        *gone = true;
        return 0;
    }
    if (n <= 0)
        return n;
    return fn(id, RT_EVENT_OOM, NULL, NULL, arg, e);
}

int rt_events(const rt_ctx *c, const char *id, uint64_t interval_ns, bool once,
              rt_event_fn fn, void *arg, capsa_err *e)
{
    autofree char *path = NULL;
    pid_t pid = 0;
    unsigned long long start = 0;
    int r = events_target(c, id, &path, &pid, &start, e);
    if (r < 0 || once)
        return r < 0 ? r : emit_stats(id, path, fn, arg, e);
    autoclose int pidfd = proc_open_verified(pid, start);
    if (pidfd < 0)
        return cerr_set(e, ESRCH, "container \"%s\": container not running", id);
    cgroup_oom_watch *w = NULL;
    capsa_err we;
    if (cgroup_oom_watch_open(path, &w, &we) < 0)
        log_debug("events %s: no OOM notifications: %s", id, we.msg);
    bool gone = false;
    uint64_t next = now_ns();
    while (r >= 0) {
        uint64_t now = now_ns();
        if (now >= next) {
            if ((r = emit_stats(id, path, fn, arg, e)) < 0)
                break;
            next = now + interval_ns;
        }
        struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN},
                              {.fd = w && !gone ? cgroup_oom_watch_fd(w) : -1, .events = POLLIN}};
        uint64_t wait_ms = (next - now + 999999) / 1000000;
        int k = poll(p, 2, wait_ms > 3600000 ? 3600000 : (int)wait_ms);
        if (k < 0 && errno != EINTR) {
            r = cerr_sys(e, errno, "poll");
            break;
        }
        if (k <= 0)
            continue;
        /* The OOM first: it is often what ended the container. */
        if (p[1].revents && (r = check_oom(id, w, &gone, fn, arg, e)) < 0)
            break;
        if (p[0].revents || gone)
            break;  /* the container stopped, or was deleted */
    }
    cgroup_oom_watch_close(w);
    return r;
}

/* The kernel counts OOM kills per memory cgroup; a container's cgroup is its
 * own, so any kill counted there happened in it. */
int rt_oom_check(const char *cgroup_path, char *msg, size_t len)
{
    cgroup_stats s;
    capsa_err e;
    uint64_t kills = 0;
    /* the cheap counter first: the full stats only when there is news */
    if (!cgroup_path || cgroup_oom_kills(cgroup_path, &kills, &e) < 0 || kills == 0)
        return 0;
    if (cgroup_stats_read(cgroup_path, &s, &e) < 0 || !s.has_memory ||
        s.oom_kill == 0)
        return 0;
    char limit[48] = "no memory limit", peak[48] = "";
    if (s.mem_limit != CG_UNLIMITED) {
        char v[32];
        units_format_size(s.mem_limit, v, sizeof v);
        snprintf(limit, sizeof limit, "memory limit %s", v);
    }
    if (s.mem_peak) {
        char v[32];
        units_format_size(s.mem_peak, v, sizeof v);
        snprintf(peak, sizeof peak, ", peak %s", v);
    }
    char times[48] = "";
    if (s.oom_kill > 1)
        snprintf(times, sizeof times, " %llu times", (unsigned long long)s.oom_kill);
    snprintf(msg, len, "killed by the OOM killer%s (%s%s)", times, limit, peak);
    return 1;
}

void rt_oom_report(const rt_ctx *c, const char *id)
{
    int dirfd;
    cstate st;
    const char *status;
    capsa_err e;
    if (load(c, id, &dirfd, &st, &status, &e) < 0)
        return;
    char msg[256];
    if (rt_oom_check(st.cgroup_path, msg, sizeof msg) > 0) {
        /* Not an error of capsa's: the run itself worked, its program did not. */
        fprintf(stderr, "capsa: container %s: %s\n", id, msg);
        log_msg("warning", "container %s: %s", id, msg);
    }
    /* The other limits it hit over its life, told the same way. */
    cgroup_stats cs;
    char hits[3][CG_LIMIT_HIT_LEN];
    size_t n = st.cgroup_path && cgroup_stats_read_hits(st.cgroup_path, &cs, &e) == 0
                   ? cgroup_limit_hits(&cs, hits, 3) : 0;
    for (size_t i = 0; i < n; i++) {
        if (strstr(hits[i], "OOM kill"))
            continue;  /* said above */
        fprintf(stderr, "capsa: container %s: %s\n", id, hits[i]);
        log_msg("warning", "container %s: %s", id, hits[i]);
    }
    unload(dirfd, &st);
}
