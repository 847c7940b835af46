#include "cgroup/notify.h"
#include "cgroup/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

struct cgroup_oom_watch {
    int fd;              /* eventfd (v1) or inotify fd (v2) */
    int ctl_fd;          /* v1: memory.oom_control, open while registered */
    bool v2;
    char *dir;
    uint64_t oom, kills; /* v2: memory.events counters last seen */
};

/* memory.events: "oom N" and "oom_kill N" (hierarchical: sub-cgroups count). */
static int read_events(const char *dir, uint64_t *oom, uint64_t *kills, capsa_err *e)
{
    autofree char *text = NULL;
    int r = cg_read(dir, "memory.events", &text, e);
    if (r < 0)
        return r;
    *oom = *kills = 0;
    for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
        char key[32];
        uint64_t v;
        if (sscanf(l, "%31s %" SCNu64, key, &v) != 2)
            continue;
        if (!strcmp(key, "oom"))
            *oom = v;
        else if (!strcmp(key, "oom_kill"))
            *kills = v;
    }
    return 0;
}

static int open_v1(cgroup_oom_watch *w, capsa_err *e)
{
    autofree char *ctl = cg_join(w->dir, "memory.oom_control");
    if ((w->ctl_fd = open(ctl, O_RDONLY | O_CLOEXEC)) < 0)
        return cerr_sys(e, errno, "open %s", ctl);
    if ((w->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
        return cerr_sys(e, errno, "eventfd");
    /* The kernel signals the eventfd on each OOM in the cgroup (and once when
     * the cgroup is removed); the registration dies with the eventfd. */
    return cg_writef(w->dir, "cgroup.event_control", e, "%d %d", w->fd, w->ctl_fd);
}

static int open_v2(cgroup_oom_watch *w, capsa_err *e)
{
    int r = read_events(w->dir, &w->oom, &w->kills, e);
    if (r < 0)
        return r;
    if ((w->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) < 0)
        return cerr_sys(e, errno, "inotify_init1");
    autofree char *f = cg_join(w->dir, "memory.events");
    if (inotify_add_watch(w->fd, f, IN_MODIFY) < 0)
        return cerr_sys(e, errno, "watch %s", f);
    return 0;
}

/* The memory cgroup directory of a container path and whether it is v2. */
static int memory_dir(const char *path, char **dir, bool *v2, capsa_err *e)
{
    cg_host host;
    int r = cg_host_load(&host, e);
    if (r < 0)
        return r;
    /* Hybrid hosts: memory is a v1 controller, cgroup2 has no memory.events. */
    const cg_hier *h = host.mode == CG_UNIFIED ? NULL : cg_host_v1(&host, "memory");
    if (!h)
        h = cg_host_v2(&host);
    *v2 = h && h->v2;
    if (!h)
        r = cerr_set(e, EOPNOTSUPP, "no memory cgroup controller on this host");
    else
        r = cg_resolve(&host, h, path, NULL, NULL, dir, e);
    if (r >= 0 && *v2 && !cg_has_file(*dir, "memory.events"))
        r = cerr_set(e, EOPNOTSUPP, "no memory.events in %s (memory controller not enabled)",
                     *dir);
    cg_host_free(&host);
    return r;
}

int cgroup_oom_kills(const char *path, uint64_t *kills, capsa_err *e)
{
    autofree char *dir = NULL;
    bool v2;
    int r = memory_dir(path, &dir, &v2, e);
    if (r < 0)
        return r;
    uint64_t oom;
    if (v2)
        return read_events(dir, &oom, kills, e);
    /* v1: memory.oom_control has "oom_kill N" (Linux 4.13) */
    autofree char *text = NULL;
    if ((r = cg_read(dir, "memory.oom_control", &text, e)) < 0)
        return r;
    const char *k = strstr(text, "oom_kill ");
    *kills = k ? strtoull(k + 9, NULL, 10) : 0;
    return 0;
}

int cgroup_oom_watch_open(const char *path, cgroup_oom_watch **out, capsa_err *e)
{
    cgroup_oom_watch *w = xcalloc(1, sizeof *w);
    w->fd = w->ctl_fd = -1;
    int r = memory_dir(path, &w->dir, &w->v2, e);
    if (r >= 0)
        r = w->v2 ? open_v2(w, e) : open_v1(w, e);
    if (r < 0) {
        cgroup_oom_watch_close(w);
        return r;
    }
    *out = w;
    return 0;
}

int cgroup_oom_watch_fd(const cgroup_oom_watch *w)
{
    return w->fd;
}

static int read_v2(cgroup_oom_watch *w, capsa_err *e)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool gone = false;
    ssize_t n;
    while ((n = read(w->fd, buf, sizeof buf)) > 0)
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            gone |= (ev->mask & IN_IGNORED) != 0;
            p += sizeof *ev + ev->len;
        }
    uint64_t oom, kills;
    if (gone || !cg_dir_exists(w->dir))
        return -ENOENT;
    int r = read_events(w->dir, &oom, &kills, e);
    if (r < 0)
        return r == -ENOENT ? -ENOENT : r;
    /* An OOM normally bumps both counters; count it once. */
    uint64_t d = kills - w->kills > oom - w->oom ? kills - w->kills : oom - w->oom;
    w->oom = oom;
    w->kills = kills;
    return d > INT32_MAX ? INT32_MAX : (int)d;
}

int cgroup_oom_watch_read(cgroup_oom_watch *w, capsa_err *e)
{
    if (w->v2)
        return read_v2(w, e);
    uint64_t n = 0;
    if (read(w->fd, &n, sizeof n) < 0 && errno != EAGAIN)
        return cerr_sys(e, errno, "read OOM eventfd of %s", w->dir);
    /* Removal of the cgroup signals the eventfd too: that is no OOM. */
    if (!cg_has_file(w->dir, "cgroup.event_control"))
        return -ENOENT;
    return n > INT32_MAX ? INT32_MAX : (int)n;
}

void cgroup_oom_watch_close(cgroup_oom_watch *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    if (w->ctl_fd >= 0)
        close(w->ctl_fd);
    free(w->dir);
    free(w);
}
