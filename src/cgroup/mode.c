/* Host cgroup mode, the mounted hierarchies, and where a container's cgroup
 * path lands in each of them. */
#include "cgroup/cgroup.h"
#include "cgroup/internal.h"
#include "util/fs.h"
#include "util/mountinfo.h"

#include <errno.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static const char *const v1_controllers[] = {
    "cpuset", "cpu", "cpuacct", "blkio", "memory", "devices", "freezer", "net_cls",
    "net_prio", "perf_event", "hugetlb", "pids", "rdma", "misc", NULL,
};

const char *cg_root(void)
{
    const char *r = getenv("CAPSA_CGROUP_ROOT");
    return r && *r ? r : "/sys/fs/cgroup";
}

static bool is_fs(const char *path, long magic)
{
    struct statfs st;
    return statfs(path, &st) == 0 && (long)st.f_type == magic;
}

enum cgroup_mode cg_detect_mode(const char *root)
{
    if (is_fs(root, CGROUP2_SUPER_MAGIC))
        return CG_UNIFIED;
    autofree char *unified = cg_join(root, "unified");
    if (is_fs(root, TMPFS_MAGIC) && is_fs(unified, CGROUP2_SUPER_MAGIC))
        return CG_HYBRID;
    return CG_LEGACY;
}

enum cgroup_mode cgroup_mode(void)
{
    static int cached = -1;
    if (cached < 0)
        cached = (int)cg_detect_mode(cg_root());
    return (enum cgroup_mode)cached;
}

const char *cgroup_mode_name(enum cgroup_mode m)
{
    switch (m) {
    case CG_UNIFIED: return "v2";
    case CG_LEGACY: return "v1";
    case CG_HYBRID: return "hybrid";
    }
    return "unknown";
}

/* Lexically clean a path: no empty, "." or ".." components; ".." never
 * climbs above the start (like runc's CleanPath, so a cgroupsPath cannot
 * point outside the hierarchy). Keeps a leading '/' if there was one. */
static char *clean_path(const char *p)
{
    size_t len = strlen(p);
    char *out = xmalloc(len + 2);
    size_t o = 0;
    bool abs = p[0] == '/';
    if (abs)
        out[o++] = '/';
    size_t start = o;
    while (*p) {
        while (*p == '/')
            p++;
        const char *s = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - s);
        if (n == 0 || (n == 1 && s[0] == '.'))
            continue;
        if (n == 2 && s[0] == '.' && s[1] == '.') {
            while (o > start && out[o - 1] != '/')
                o--;
            if (o > start)
                o--;  /* the '/' between components */
            continue;
        }
        if (o > start)
            out[o++] = '/';
        memcpy(out + o, s, n);
        o += n;
    }
    out[o] = 0;
    return out;
}

char *cgroup_path_for(const char *cgroups_path, const char *id)
{
    /* Relative paths (the default included) are returned without a leading
     * '/': every function resolves them under the runtime's own cgroup of
     * each hierarchy (see cg_resolve). */
    if (cg_sd_enabled())   /* --systemd-cgroup: "slice:prefix:name" (systemd.c) */
        return cg_sd_full_path(cg_sd_path_for(cgroups_path, id));
    if (!cgroups_path || !*cgroups_path) {
        autofree char *d = xasprintf("capsa/%s", id ? id : "");
        return clean_path(d);
    }
    return clean_path(cgroups_path);
}

int cg_check_path(const char *path, capsa_err *e)
{
    if (!path)
        return cerr_set(e, EINVAL, "no cgroup path");
    const char *p = path;
    while (*p == '/')
        p++;
    if (!*p)
        return cerr_set(e, EINVAL, "cgroup path \"%s\" names a hierarchy root", path);
    for (const char *s = p; *s;) {
        const char *c = s;
        while (*s && *s != '/')
            s++;
        size_t n = (size_t)(s - c);
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return cerr_set(e, EINVAL, "cgroup path \"%s\": empty, \".\" or \"..\" component",
                            path);
        if (*s)
            s++;
    }
    return 0;
}

/* Does comma list a share an element with comma list b? */
static bool lists_meet(const char *a, const char *b)
{
    for (const char *s = a; *s;) {
        const char *c = s;
        while (*s && *s != ',')
            s++;
        size_t n = (size_t)(s - c);
        for (const char *t = b; *t;) {
            const char *d = t;
            while (*t && *t != ',')
                t++;
            if ((size_t)(t - d) == n && n && !memcmp(c, d, n))
                return true;
            if (*t)
                t++;
        }
        if (*s)
            s++;
    }
    return false;
}

char *cg_own_path(const char *self_cgroup, const char *ctrls, bool v2)
{
    const char *line = self_cgroup;
    while (line && *line) {
        const char *end = strchrnul(line, '\n');
        const char *c1 = memchr(line, ':', (size_t)(end - line));
        const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
        if (c2) {
            autofree char *list = cg_strndup(c1 + 1, (size_t)(c2 - c1 - 1));
            bool hit = v2 ? (c1 - line == 1 && line[0] == '0' && !*list)
                          : (*list && lists_meet(list, ctrls));
            if (hit)
                return cg_strndup(c2 + 1, (size_t)(end - c2 - 1));
        }
        line = *end ? end + 1 : NULL;
    }
    return NULL;
}


static void host_add(cg_host *host, const char *mnt, const char *mroot, const char *ctrls,
                     bool v2)
{
    for (size_t i = 0; i < host->n; i++) {
        if (!strcmp(host->h[i].mount, mnt)) {  /* mounted over: last one wins */
            free(host->h[i].mount);
            free(host->h[i].mnt_root);
            int last = (int)--host->n;
            if (host->v2 == (int)i)
                host->v2 = -1;
            else if (host->v2 == last)
                host->v2 = (int)i;
            host->h[i] = host->h[last];
            break;
        }
    }
    if (host->n == CG_MAX_HIER)
        return;
    cg_hier *h = &host->h[host->n];
    h->mount = xstrdup(mnt);
    h->mnt_root = xstrdup(mroot);
    snprintf(h->ctrls, sizeof h->ctrls, "%s", ctrls);
    h->v2 = v2;
    if (v2)
        host->v2 = (int)host->n;
    host->n++;
}

int cg_parse_mountinfo(const char *text, const char *root, enum cgroup_mode mode,
                       cg_host *host, capsa_err *e)
{
    autofree char *v2_at = mode == CG_UNIFIED ? xstrdup(root)
                           : mode == CG_HYBRID ? cg_join(root, "unified") : NULL;
    size_t rlen = strlen(root);
    mountinfo mi;
    mountinfo_parse(text, &mi);
    for (size_t k = 0; k < mi.n; k++) {
        const mount_entry *m = &mi.v[k];
        if (!strcmp(m->fstype, "cgroup2")) {
            if (v2_at && !strcmp(m->mnt, v2_at))
                host_add(host, m->mnt, m->root, "", true);
            continue;
        }
        if (strcmp(m->fstype, "cgroup") || mode == CG_UNIFIED || strncmp(m->mnt, root, rlen) ||
            m->mnt[rlen] != '/')
            continue;
        char ctrls[160] = "";   /* super options: rw,cpu,cpuacct */
        for (int i = 0; v1_controllers[i]; i++) {
            if (lists_meet(m->super_opts, v1_controllers[i])) {
                size_t cl = strlen(ctrls);
                snprintf(ctrls + cl, sizeof ctrls - cl, "%s%s", cl ? "," : "", v1_controllers[i]);
            }
        }
        if (*ctrls)  /* named hierarchies (name=systemd) hold no controller */
            host_add(host, m->mnt, m->root, ctrls, false);
    }
    mountinfo_free(&mi);
    if (mode != CG_LEGACY && host->v2 < 0)
        return cerr_set(e, ENOENT, "cgroup2 mount %s not found in /proc/self/mountinfo", v2_at);
    return 0;
}

static int read_text(const char *path, char **out, capsa_err *e)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return cerr_sys(e, errno, "open %s", path);
    size_t cap = 8192, len = 0;
    char *buf = xmalloc(cap);
    size_t r;
    while ((r = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += r;
        if (cap - len < 2)
            buf = xrealloc(buf, cap *= 2);
    }
    fclose(f);
    buf[len] = 0;
    *out = buf;
    return 0;
}

static int host_read(cg_host *host, capsa_err *e)
{
    memset(host, 0, sizeof *host);
    host->v2 = -1;
    host->mode = cg_detect_mode(cg_root());
    autofree char *mi = NULL;
    int r = read_text("/proc/self/mountinfo", &mi, e);
    if (r < 0)
        return r;
    r = read_text("/proc/self/cgroup", &host->self_cgroup, e);
    if (r >= 0)
        r = cg_parse_mountinfo(mi, cg_root(), host->mode, host, e);
    if (r >= 0 && host->v2 >= 0) {
        r = cg_read(host->h[host->v2].mount, "cgroup.controllers", &host->v2_ctrls, e);
    }
    if (!host->v2_ctrls)
        host->v2_ctrls = xstrdup("");
    if (r < 0)
        cg_host_free(host);
    return r;
}

static void host_copy(cg_host *to, const cg_host *from)
{
    *to = *from;
    for (size_t i = 0; i < from->n; i++) {
        to->h[i].mount = xstrdup(from->h[i].mount);
        to->h[i].mnt_root = xstrdup(from->h[i].mnt_root);
    }
    to->v2_ctrls = xstrdup(from->v2_ctrls);
    to->self_cgroup = xstrdup(from->self_cgroup);
}

/* One capsa command asks several times (create, kill, destroy, stats): the
 * mounts and our own cgroup are read once per process. A forked child (which
 * may be in other namespaces by now) reads its own. */
int cg_host_load(cg_host *host, capsa_err *e)
{
    static cg_host memo;
    static pid_t memo_pid;
    static char memo_root[256];
    if (memo_pid != getpid() || strcmp(memo_root, cg_root())) {
        if (memo_pid)
            cg_host_free(&memo);
        memo_pid = 0;
        int r = host_read(&memo, e);
        if (r < 0)
            return r;
        memo_pid = getpid();
        snprintf(memo_root, sizeof memo_root, "%s", cg_root());
    }
    host_copy(host, &memo);
    return 0;
}

void cg_host_free(cg_host *host)
{
    for (size_t i = 0; i < host->n; i++) {
        free(host->h[i].mount);
        free(host->h[i].mnt_root);
    }
    free(host->v2_ctrls);
    free(host->self_cgroup);
    memset(host, 0, sizeof *host);
    host->v2 = -1;
}

const cg_hier *cg_host_v1(const cg_host *host, const char *ctrl)
{
    for (size_t i = 0; i < host->n; i++)
        if (!host->h[i].v2 && lists_meet(host->h[i].ctrls, ctrl))
            return &host->h[i];
    return NULL;
}

bool cg_hier_has(const cg_hier *h, const char *ctrl)
{
    return !h->v2 && lists_meet(h->ctrls, ctrl);
}

const cg_hier *cg_host_v2(const cg_host *host)
{
    return host->v2 >= 0 ? &host->h[host->v2] : NULL;
}

int cg_resolve(const cg_host *host, const cg_hier *h, const char *path, char **base,
               char **rel, char **dir, capsa_err *e)
{
    int r = cg_check_path(path, e);
    if (r < 0)
        return r;
    const char *p = path;
    while (*p == '/')
        p++;
    autofree char *own = NULL;
    if (path[0] == '/') {
        own = xstrdup("/");
    } else {
        own = cg_own_path(host->self_cgroup, h->ctrls, h->v2);
        if (!own)
            return cerr_set(e, ENOENT, "no %s entry in /proc/self/cgroup",
                            h->v2 ? "cgroup2 (0::)" : h->ctrls);
        /* /proc/self/cgroup is relative to the hierarchy root, the mount may
         * show a subtree of it (a bind-mounted cgroup). */
        size_t mr = strlen(h->mnt_root);
        if (strcmp(h->mnt_root, "/") && !strncmp(own, h->mnt_root, mr) &&
            (own[mr] == '/' || !own[mr]))
            memmove(own, own + mr, strlen(own + mr) + 1);
        if (h->v2) {
            char *slash = strrchr(own, '/');
            if (slash)
                *slash = 0;
        }
    }
    const char *o = own;
    while (*o == '/')
        o++;
    char *b = *o ? xasprintf("%s/%s", h->mount, o) : xstrdup(h->mount);
    if (dir)
        *dir = cg_join(b, p);
    if (rel)
        *rel = xstrdup(p);
    if (base)
        *base = b;
    else
        free(b);
    return 0;
}
