/* Where a cgroup's files are on this host (a capsa container's path or a
 * pid's /proc/PID/cgroup), and what the host offers (for `capsa check`). The
 * reading itself is stats.c. */
#include "cgroup/internal.h"
#include "cgroup/stats.h"
#include "util/fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char *dir[8];
    cgroup_stats_dirs d;
} dirset;

static void dirset_free(dirset *s)
{
    for (size_t i = 0; i < sizeof s->dir / sizeof s->dir[0]; i++)
        free(s->dir[i]);
}

/* Which hierarchy serves controller v1name (v2name on cgroup2): the v1 one
 * when mounted (hybrid hosts do the work there), else cgroup2 when its root
 * lists the controller. */
static const cg_hier *hier_for(const cg_host *host, const char *v1name, const char *v2name)
{
    const cg_hier *h = host->mode != CG_UNIFIED ? cg_host_v1(host, v1name) : NULL;
    if (!h && v2name && host->v2 >= 0 && cg_word_in(host->v2_ctrls, v2name))
        h = cg_host_v2(host);
    return h;
}

/* path cut after its component named comp (comp itself when it is the
 * last); NULL if it has none. */
static char *cut_at(const char *path, const char *comp)
{
    size_t cl = strlen(comp);
    for (const char *p = path; (p = strstr(p, comp)); p++) {
        if ((p == path || p[-1] == '/') && (p[cl] == '/' || !p[cl]))
            return strndup(path, (size_t)(p - path) + cl);
    }
    return NULL;
}

/* The directory of a pid in hierarchy h, from /proc/PID/cgroup text (paths
 * are relative to the reader's cgroup namespace; the mount may show a
 * subtree of the hierarchy, mnt_root), or of its ancestor whose last
 * component is comp (when not NULL). NULL if it cannot be placed. */
static char *pid_dir(const cg_hier *h, const char *pid_cgroup, const char *comp)
{
    autofree char *own = cg_own_path(pid_cgroup, h->ctrls, h->v2);
    if (!own || !strncmp(own, "/..", 3))
        return NULL;
    if (comp) {
        char *cut = cut_at(own, comp);
        free(own);
        if (!(own = cut))
            return NULL;
    }
    size_t mr = strlen(h->mnt_root);
    const char *rel = own;
    if (strcmp(h->mnt_root, "/")) {
        if (strncmp(own, h->mnt_root, mr) || (own[mr] != '/' && own[mr]))
            return NULL;  /* outside the part of the hierarchy mounted here */
        rel = own + mr;
    }
    return cg_join(h->mount, rel);
}

static void set_path(cgroup_stats *out, const cgroup_stats_dirs *d)
{
    const cgroup_stats_dir *pick[] = {&d->memory, &d->pids, &d->cpu, &d->unified};
    for (size_t i = 0; i < 4; i++) {
        if (pick[i]->dir && pick[i]->top) {
            const char *rel = pick[i]->dir + strlen(pick[i]->top);
            snprintf(out->path, sizeof out->path, "%s", *rel ? rel : "/");
            return;
        }
    }
}

typedef int (*dirs_reader)(const cgroup_stats_dirs *d, cgroup_stats *out, capsa_err *e);

/* The stats of cgroup path (a capsa container's), else of the cgroups of
 * pid (or of their ancestors ending at component comp, when not NULL). */
static int read_located(const char *what, const char *path, pid_t pid, const char *comp,
                        dirs_reader read, cgroup_stats *out, capsa_err *e)
{
    cg_host host;
    int r = cg_host_load(&host, e);
    if (r < 0)
        return r;
    autofree char *pcg = NULL;
    if (!path) {
        autofree char *file = xasprintf("/proc/%d/cgroup", (int)pid);
        size_t len;
        if ((r = fs_read(file, &pcg, &len, e)) < 0) {
            cg_host_free(&host);
            return r;
        }
    }
    static const char *const names[][2] = {
        {"cpu", "cpu"}, {"cpuacct", NULL}, {"cpuset", "cpuset"}, {"memory", "memory"},
        {"pids", "pids"}, {"blkio", "io"}, {"devices", NULL}, {NULL, NULL},
    };
    dirset s = {0};
    cgroup_stats_dir *slot[] = {&s.d.cpu, &s.d.cpuacct, &s.d.cpuset, &s.d.memory,
                                &s.d.pids, &s.d.io, &s.d.devices, &s.d.unified};
    for (size_t i = 0; i < 8 && r >= 0; i++) {
        const cg_hier *h = i == 7 ? cg_host_v2(&host) : hier_for(&host, names[i][0], names[i][1]);
        /* cgroup v2 devices are eBPF programs on the cgroup2 dir. */
        if (!h && i == 6 && host.mode == CG_UNIFIED)
            h = cg_host_v2(&host);
        if (!h)
            continue;
        char *dir = NULL;
        if (path) {
            capsa_err e2;
            if (cg_resolve(&host, h, path, NULL, NULL, &dir, &e2) < 0)
                dir = NULL;
        } else {
            dir = pid_dir(h, pcg, comp);
        }
        if (!dir)
            continue;
        s.dir[i] = dir;
        *slot[i] = (cgroup_stats_dir){.dir = dir, .top = h->mount, .v2 = h->v2};
    }
    r = read(&s.d, out, e);
    if (r >= 0) {
        out->mode = host.mode;
        set_path(out, &s.d);
    } else {
        cerr_wrap(e, "%s", what);
    }
    dirset_free(&s);
    cg_host_free(&host);
    return r;
}

static int read_path(const char *path, dirs_reader read, cgroup_stats *out, capsa_err *e)
{
    int r = cg_check_path(path, e);
    if (r < 0)
        return r;
    autofree char *what = xasprintf("cgroup %s", path);
    return read_located(what, path, 0, NULL, read, out, e);
}

int cgroup_stats_read(const char *path, cgroup_stats *out, capsa_err *e)
{
    return read_path(path, cgroup_stats_read_dirs, out, e);
}

int cgroup_stats_read_hits(const char *path, cgroup_stats *out, capsa_err *e)
{
    return read_path(path, cgroup_stats_read_dirs_hits, out, e);
}

int cgroup_stats_read_pid(pid_t pid, cgroup_stats *out, capsa_err *e)
{
    autofree char *what = xasprintf("cgroups of pid %d", (int)pid);
    return read_located(what, NULL, pid, NULL, cgroup_stats_read_dirs, out, e);
}

int cgroup_stats_read_pid_ancestor(pid_t pid, const char *comp, cgroup_stats *out, capsa_err *e)
{
    if (!comp || !*comp || strchr(comp, '/') || !strcmp(comp, ".") || !strcmp(comp, ".."))
        return cerr_set(e, EINVAL, "cgroup component \"%s\": not one path component",
                        comp ? comp : "");
    autofree char *what = xasprintf("cgroup %s of pid %d", comp, (int)pid);
    return read_located(what, NULL, pid, comp, cgroup_stats_read_dirs, out, e);
}

int cgroup_host_info_read(cgroup_host_info *out, capsa_err *e)
{
    memset(out, 0, sizeof *out);
    cg_host host;
    int r = cg_host_load(&host, e);
    if (r < 0)
        return r;
    out->mode = host.mode;
    for (size_t i = 0; i < host.n; i++) {
        if (host.h[i].v2)
            continue;
        size_t l = strlen(out->v1);
        snprintf(out->v1 + l, sizeof out->v1 - l, "%s%s", l ? "," : "", host.h[i].ctrls);
    }
    const cg_hier *h2 = cg_host_v2(&host);
    if (h2) {
        snprintf(out->v2_mount, sizeof out->v2_mount, "%s", h2->mount);
        snprintf(out->v2, sizeof out->v2, "%s", host.v2_ctrls);
        autofree char *own = cg_own_path(host.self_cgroup, "", true);
        snprintf(out->v2_own, sizeof out->v2_own, "%s", own ? own : "");
        /* Relative container paths land under the parent of our own
         * cgroup2 cgroup (cg_resolve): that is where delegation matters. */
        autofree char *parent = NULL;
        capsa_err e2;
        if (own && cg_resolve(&host, h2, "x", &parent, NULL, NULL, &e2) == 0) {
            autofree char *sc = NULL;
            if (cg_read(parent, "cgroup.subtree_control", &sc, &e2) == 0)
                snprintf(out->v2_parent_ctrls, sizeof out->v2_parent_ctrls, "%s", sc);
            out->v2_parent_writable = access(parent, W_OK) == 0;
        }
    }
    cg_host_free(&host);
    return 0;
}
