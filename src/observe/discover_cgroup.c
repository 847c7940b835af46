/* What a cgroup path tells of the container in it: the engine, its id, a
 * Kubernetes pod (see discover.h), and which line of /proc/PID/cgroup to
 * take as a process's cgroup. Pure. */
#include "observe/discover_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"

bool obs_is_hexid(const char *s, size_t n)
{
    if (n < 12)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

/* comp == PREFIX ID [SUFFIX]: copy ID. */
static bool strip(const char *comp, size_t n, const char *prefix, const char *suffix, char *id,
                  size_t idn)
{
    size_t pl = strlen(prefix), sl = suffix ? strlen(suffix) : 0;
    if (n <= pl + sl || strncmp(comp, prefix, pl))
        return false;
    if (sl && strncmp(comp + n - sl, suffix, sl))
        return false;
    size_t l = n - pl - sl;
    if (l >= idn)
        return false;
    memcpy(id, comp + pl, l);
    id[l] = 0;
    return true;
}

static void set(char *dst, size_t dn, const char *s, size_t n)
{
    if (n >= dn)
        n = dn - 1;
    memcpy(dst, s, n);
    dst[n] = 0;
}

/* Where "pod<UID>" starts in a Kubernetes component: cgroupfs "pod<UID>",
 * systemd "kubepods-<qos>-pod<UID_>.slice" (not the "pod" of "kubepods"). */
static const char *pod_marker(const char *d, size_t m)
{
    if (m > 3 && !strncmp(d, "pod", 3))
        return d;
    for (const char *p = d; (p = memmem(p, (size_t)(d + m - p), "-pod", 4)); p++)
        if (p + 4 < d + m)
            return p + 1;
    return NULL;
}

/* A scope or plain directory naming a container id in a known way. */
static bool scope_id(const char *c, size_t n, char *engine, char *id, size_t idn)
{
    static const struct {
        const char *prefix, *engine;
    } scopes[] = {
        {"cri-containerd-", "containerd"}, {"docker-", "docker"}, {"crio-", "cri-o"},
        {"libpod-", "podman"},
    };
    for (size_t i = 0; i < sizeof scopes / sizeof scopes[0]; i++) {
        if (!strncmp(c, "libpod-conmon-", 14) || !strncmp(c, "crio-conmon-", 12))
            return false;
        if (strip(c, n, scopes[i].prefix, ".scope", id, idn) ||
            (!strcmp(scopes[i].engine, "podman") && strip(c, n, "libpod-", NULL, id, idn) &&
             obs_is_hexid(id, strlen(id)))) {
            strcpy(engine, scopes[i].engine);
            return true;
        }
    }
    return false;
}

bool obs_cgroup_classify(const char *path, obs_cgroup_class *out)
{
    memset(out, 0, sizeof *out);
    if (!path)
        return false;
    const char *comps[64];
    size_t lens[64], nc = 0;
    for (const char *s = path; *s && nc < 64;) {
        while (*s == '/')
            s++;
        if (!*s)
            break;
        const char *c = s;
        while (*s && *s != '/')
            s++;
        comps[nc] = c;
        lens[nc++] = (size_t)(s - c);
    }
    for (size_t i = 0; i < nc; i++) {
        const char *c = comps[i];
        size_t n = lens[i];
        char id[128], eng[16];
        if (!strncmp(c, "kubepods", 8)) {
            strcpy(out->engine, "kubernetes");
            strcpy(out->qos, "guaranteed");
            for (size_t j = i; j < nc; j++) {
                const char *d = comps[j];
                size_t m = lens[j];
                if (memmem(d, m, "burstable", 9))
                    strcpy(out->qos, "burstable");
                else if (memmem(d, m, "besteffort", 10))
                    strcpy(out->qos, "besteffort");
                const char *pod = pod_marker(d, m);
                if (pod) {
                    const char *u = pod + 3;
                    size_t ul = (size_t)(d + m - u);
                    if (ul > 6 && !strncmp(d + m - 6, ".slice", 6))
                        ul -= 6;
                    set(out->pod_uid, sizeof out->pod_uid, u, ul);
                    for (char *p = out->pod_uid; *p; p++)
                        if (*p == '_')
                            *p = '-';
                    set(out->pod_cgroup, sizeof out->pod_cgroup, path,
                        (size_t)(d + m - path));
                    if (j + 1 < nc) {
                        const char *k = comps[j + 1];
                        size_t kl = lens[j + 1];
                        if (scope_id(k, kl, eng, id, sizeof id)) {
                            strcpy(out->cri, eng);
                            snprintf(out->id, sizeof out->id, "%s", id);
                        } else {
                            set(out->id, sizeof out->id, k, kl);
                        }
                    }
                    return true;
                }
            }
            return true;
        }
        if (scope_id(c, n, eng, id, sizeof id)) {
            strcpy(out->engine, eng);
            snprintf(out->id, sizeof out->id, "%s", id);
            return true;
        }
        /* (podman's cgroupfs parent libpod_parent/ holds libpod-ID, but also
         * conmon/ and pods' directories: libpod-ID alone names a container) */
        if (i + 1 < nc && n == 6 && (!strncmp(c, "docker", 6) || !strncmp(c, "k8s.io", 6))) {
            if (c[0] == 'd' && !obs_is_hexid(comps[i + 1], lens[i + 1]))
                continue;
            strcpy(out->engine, c[0] == 'd' ? "docker" : "containerd");
            const char *k = comps[i + 1];
            size_t kl = lens[i + 1];
            if (!scope_id(k, kl, eng, id, sizeof id))
                set(id, sizeof id, k, kl);
            snprintf(out->id, sizeof out->id, "%s", id);
            return true;
        }
        if (strip(c, n, "lxc.payload.", NULL, id, sizeof id) ||
            strip(c, n, "lxc.monitor.", NULL, id, sizeof id)) {
            strcpy(out->engine, "lxc");
            snprintf(out->id, sizeof out->id, "%s", id);
            return true;
        }
        if (strip(c, n, "machine-", ".scope", id, sizeof id)) {
            strcpy(out->engine, "nspawn");
            snprintf(out->id, sizeof out->id, "%s", id);
            return true;
        }
    }
    return false;
}

/* The memory controller's line (v1), else cgroup2's "0::", else the first;
 * each line is also tried for an engine. */
char *obs_primary_cgroup(const char *text, obs_cgroup_class *cls, bool *classified)
{
    char *mem = NULL, *unified = NULL, *first = NULL;
    *classified = false;
    for (const char *l = text; *l;) {
        const char *nl = strchrnul(l, '\n');
        const char *c1 = memchr(l, ':', (size_t)(nl - l));
        const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(nl - c1 - 1)) : NULL;
        if (c2) {
            char *path = strndup(c2 + 1, (size_t)(nl - c2 - 1));
            size_t cl = (size_t)(c2 - c1 - 1);
            bool is_mem = false;
            for (const char *s = c1 + 1; s < c2;) {
                const char *e = memchr(s, ',', (size_t)(c2 - s));
                if (!e)
                    e = c2;
                if (e - s == 6 && !strncmp(s, "memory", 6))
                    is_mem = true;
                s = e + 1;
            }
            if (!*classified) {
                obs_cgroup_class c;
                if (obs_cgroup_classify(path, &c)) {
                    *cls = c;
                    *classified = true;
                }
            }
            if (is_mem && !mem)
                mem = xstrdup(path);
            else if (!cl && !unified && !strncmp(l, "0:", 2))
                unified = xstrdup(path);
            if (!first)
                first = xstrdup(path);
            free(path);
        }
        l = *nl ? nl + 1 : nl;
    }
    char *pick = mem ? mem : unified ? unified : first;
    if (pick != mem)
        free(mem);
    if (pick != unified)
        free(unified);
    if (pick != first)
        free(first);
    return pick;
}
