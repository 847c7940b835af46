/* The stats of a Kubernetes pod's cgroup, found from one of its containers'
 * processes: each hierarchy's path of that process cut after the pod's
 * component. On a hybrid host the hierarchies may place the same pod under
 * different parents (the reader's own cgroup differs per controller), so
 * one absolute path cannot name it everywhere.
 * (Mirrors cgroup/stats_host.c's read_located, which has no ancestor hook.) */
#include "observe/discover.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/internal.h"
#include "cgroup/stats.h"
#include "util/fs.h"

/* own cut after the component named comp; NULL if it has none. */
static char *cut_at(const char *own, const char *comp)
{
    size_t cl = strlen(comp);
    for (const char *p = own; (p = strstr(p, comp)); p++) {
        if ((p == own || p[-1] == '/') && (p[cl] == '/' || !p[cl]))
            return strndup(own, (size_t)(p - own) + cl);
    }
    return NULL;
}

static char *pod_dir(const cg_hier *h, const char *pid_cgroup, const char *comp)
{
    autofree char *own = cg_own_path(pid_cgroup, h->ctrls, h->v2);
    if (!own || !strncmp(own, "/..", 3))
        return NULL;
    autofree char *cut = cut_at(own, comp);
    if (!cut)
        return NULL;
    size_t mr = strlen(h->mnt_root);
    const char *rel = cut;
    if (strcmp(h->mnt_root, "/")) {
        if (strncmp(cut, h->mnt_root, mr) || (cut[mr] != '/' && cut[mr]))
            return NULL;
        rel = cut + mr;
    }
    return cg_join(h->mount, rel);
}

int obs_pod_stats_read(pid_t pid, const char *pod_cgroup, cgroup_stats *out, capsa_err *e)
{
    const char *comp = strrchr(pod_cgroup, '/');
    comp = comp ? comp + 1 : pod_cgroup;
    if (!*comp)
        return cerr_set(e, EINVAL, "pod cgroup \"%s\": no last component", pod_cgroup);
    cg_host host;
    int r = cg_host_load(&host, e);
    if (r < 0)
        return r;
    autofree char *file = xasprintf("/proc/%d/cgroup", (int)pid);
    autofree char *pcg = NULL;
    size_t len;
    if ((r = fs_read(file, &pcg, &len, e)) < 0) {
        cg_host_free(&host);
        return r;
    }
    static const char *const names[][2] = {
        {"cpu", "cpu"}, {"cpuacct", NULL}, {"cpuset", "cpuset"}, {"memory", "memory"},
        {"pids", "pids"}, {"blkio", "io"}, {"devices", NULL}, {NULL, NULL},
    };
    char *dirs[8] = {0};
    cgroup_stats_dirs d = {0};
    cgroup_stats_dir *slot[] = {&d.cpu, &d.cpuacct, &d.cpuset, &d.memory,
                                &d.pids, &d.io, &d.devices, &d.unified};
    for (size_t i = 0; i < 8; i++) {
        const cg_hier *h = NULL;
        if (i == 7) {
            h = cg_host_v2(&host);
        } else {
            if (host.mode != CG_UNIFIED)
                h = cg_host_v1(&host, names[i][0]);
            if (!h && names[i][1] && host.v2 >= 0 && cg_word_in(host.v2_ctrls, names[i][1]))
                h = cg_host_v2(&host);
        }
        if (!h || !(dirs[i] = pod_dir(h, pcg, comp)))
            continue;
        *slot[i] = (cgroup_stats_dir){.dir = dirs[i], .top = h->mount, .v2 = h->v2};
    }
    r = cgroup_stats_read_dirs(&d, out, e);
    if (r >= 0) {
        out->mode = host.mode;
        snprintf(out->path, sizeof out->path, "%s", pod_cgroup);
    } else {
        cerr_wrap(e, "pod cgroup %s", pod_cgroup);
    }
    for (size_t i = 0; i < 8; i++)
        free(dirs[i]);
    cg_host_free(&host);
    return r;
}
