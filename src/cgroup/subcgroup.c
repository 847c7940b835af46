/* exec --cgroup: join sub-cgroups of the container's cgroup (see subcgroup.h). */
#include "cgroup/subcgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/internal.h"

typedef struct {
    char *ctrls;   /* NULL: every hierarchy */
    char *sub;     /* cleaned, relative, never empty */
} sub_arg;

/* Relative to the container's cgroup: "." and empty parts dropped, ".." refused
 * (runc: "is not a sub cgroup path"). */
static int clean_sub(const char *arg, const char *sub, char **out, capsa_err *e)
{
    size_t len = strlen(sub);
    char *o = xmalloc(len + 1), *p = o;
    autofree char *copy = xstrdup(sub);
    char *save = NULL;
    for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
        if (!strcmp(t, "."))
            continue;
        if (!strcmp(t, "..")) {
            free(o);
            return cerr_set(e, EINVAL, "--cgroup %s: %s is not a sub cgroup path (no \"..\")",
                            arg, sub);
        }
        p += sprintf(p, "%s%s", p == o ? "" : "/", t);
    }
    if (p == o) {
        free(o);
        return cerr_set(e, EINVAL, "--cgroup %s: empty sub-cgroup path", arg);
    }
    *out = o;
    return 0;
}

static bool list_has(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; p && *p;) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        if (l == n && !strncmp(p, word, n))
            return true;
        p = c ? c + 1 : p + l;
    }
    return false;
}

static int parse_subs(char *const *subs, size_t n, sub_arg *out, capsa_err *e)
{
    for (size_t i = 0; i < n; i++) {
        const char *a = subs[i];
        const char *colon = strchr(a, ':');
        if (colon && strchr(colon + 1, ':'))
            return cerr_set(e, EINVAL, "invalid --cgroup argument: %s (expected [CONTROLLER:]PATH)", a);
        int r = clean_sub(a, colon ? colon + 1 : a, &out[i].sub, e);
        if (r < 0)
            return r;
        if (!colon) {
            if (n != 1)
                return cerr_set(e, EINVAL, "invalid --cgroup argument: %s (missing <controller>: "
                                "prefix; with several --cgroup each names its controllers)", a);
        } else {
            out[i].ctrls = xasprintf("%.*s", (int)(colon - a), a);
            for (const char *p = out[i].ctrls;; p++)
                if (*p == ',' || !*p) {
                    if (p == out[i].ctrls || p[-1] == ',' || (*p == ',' && !p[1]))
                        return cerr_set(e, EINVAL, "invalid --cgroup argument: %s (empty "
                                        "<controller> prefix)", a);
                    if (!*p)
                        break;
                }
            /* a controller named twice, in one argument or across them */
            autofree char *copy = xstrdup(out[i].ctrls);
            char *save = NULL;
            for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                int seen = 0;
                for (size_t k = 0; k <= i; k++)
                    if (out[k].ctrls) {
                        autofree char *c2 = xstrdup(out[k].ctrls);
                        char *s2 = NULL;
                        for (char *u = strtok_r(c2, ",", &s2); u; u = strtok_r(NULL, ",", &s2))
                            seen += !strcmp(u, t);
                    }
                /* the same controller twice with the same path is harmless (runc takes it) */
                for (size_t k = 0; k < i && seen > 1; k++)
                    if (out[k].ctrls && list_has(out[k].ctrls, t) && !strcmp(out[k].sub, out[i].sub))
                        seen--;
                if (seen > 1)
                    return cerr_set(e, EINVAL, "invalid --cgroup argument(s): controller %s "
                                    "specified multiple times", t);
            }
        }
    }
    return 0;
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int cgroup_join_open_sub(const char *path, char *const *subs, size_t n, cgroup_join *j,
                         capsa_err *e)
{
    j->n_v1 = 0;
    j->v2 = -1;
    sub_arg *sa = xcalloc(n ? n : 1, sizeof *sa);
    cg_host host = {0};
    bool host_loaded = false;
    int rr = parse_subs(subs, n, sa, e);
    if (rr >= 0 && (rr = cg_host_load(&host, e)) >= 0)
        host_loaded = true;
    /* every controller named must be one of this host's v1 hierarchies */
    for (size_t i = 0; rr >= 0 && i < n; i++) {
        if (!sa[i].ctrls)
            continue;
        autofree char *copy = xstrdup(sa[i].ctrls);
        char *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); rr >= 0 && t; t = strtok_r(NULL, ",", &save))
            if (!cg_host_v1(&host, t))
                rr = cerr_set(e, ENOENT, "--cgroup %s: unknown controller %s%s", subs[i], t,
                              host.mode == CG_UNIFIED
                                  ? " (cgroup v2 has one hierarchy: give --cgroup PATH alone)"
                                  : "");
    }
    size_t found = 0;
    for (size_t i = 0; rr >= 0 && i < host.n; i++) {
        const cg_hier *h = &host.h[i];
        autofree char *dir = NULL, *target = NULL;
        if ((rr = cg_resolve(&host, h, path, NULL, NULL, &dir, e)) < 0)
            break;
        const sub_arg *use = NULL;
        for (size_t k = 0; k < n && !use; k++) {
            if (!sa[k].ctrls)
                use = &sa[k];
            else if (!h->v2)
                for (const char *c = h->ctrls; *c && !use;) {
                    const char *end = strchr(c, ',');
                    size_t l = end ? (size_t)(end - c) : strlen(c);
                    autofree char *one = xasprintf("%.*s", (int)l, c);
                    if (list_has(sa[k].ctrls, one))
                        use = &sa[k];
                    c = end ? end + 1 : c + l;
                }
        }
        if (use) {
            target = cg_join(dir, use->sub);
            if (is_dir(target)) {
                found++;
            } else if (use->ctrls) {
                rr = cerr_set(e, ENOENT, "--cgroup %s:%s: %s does not exist (make the sub-cgroup "
                              "first)", use->ctrls, use->sub, target);
                break;
            } else {
                free(target);
                target = NULL;  /* this hierarchy has no such sub-cgroup: the container's */
            }
        }
        const char *d = target ? target : dir;
        autofree char *f = h->v2 ? xstrdup(d) : cg_join(d, "tasks");
        int fd = h->v2 ? open(f, O_PATH | O_DIRECTORY | O_CLOEXEC) : open(f, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            rr = cerr_sys(e, errno, "open %s", f);
        else if (h->v2)
            j->v2 = fd;
        else if (j->n_v1 < sizeof j->v1 / sizeof *j->v1)
            j->v1[j->n_v1++] = fd;
        else
            close(fd);
    }
    if (rr >= 0)   /* systemd's name=systemd: the scope's, as for a plain exec */
        rr = cg_join_named_systemd(&host, path, j, e);
    if (rr >= 0 && n == 1 && !sa[0].ctrls && !found)
        rr = cerr_set(e, ENOENT, "--cgroup %s: no such sub-cgroup of the container's cgroup %s "
                      "(make it first)", sa[0].sub, path);
    for (size_t i = 0; i < n; i++) {
        free(sa[i].ctrls);
        free(sa[i].sub);
    }
    free(sa);
    if (host_loaded)
        cg_host_free(&host);
    if (rr < 0)
        cgroup_join_close(j);
    return rr;
}
