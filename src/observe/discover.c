/* Host-wide container discovery (see discover.h). */
#include "observe/discover.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "observe/procinfo.h"
#include "util/fs.h"

/* ---- cgroup path → engine (pure) ---- */

static bool is_hexid(const char *s, size_t n)
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
             is_hexid(id, strlen(id)))) {
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
                const char *pod = memmem(d, m, "pod", 3);
                /* cgroupfs "pod<UID>", systemd "kubepods-<qos>-pod<UID_>.slice" */
                if (pod && (pod == d || pod[-1] == '-') && pod + 3 < d + m) {
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
            if (c[0] == 'd' && !is_hexid(comps[i + 1], lens[i + 1]))
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

/* ---- state directories of runc, crun and capsa ---- */

typedef struct {
    char *id, *runtime, *root, *ns, *status;
    pid_t pid;
    unsigned long long start;   /* /proc/PID/stat starttime, 0 unknown */
} state_ct;

typedef struct {
    state_ct *v;
    size_t n;
} state_cts;

static unsigned long long proc_start(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    autofree char *s = NULL;
    size_t len;
    capsa_err e;
    if (fs_read(path, &s, &len, &e) < 0)
        return 0;
    char *p = strrchr(s, ')');
    if (!p)
        return 0;
    /* fields after comm: state(3) ... starttime(22) */
    int field = 2;
    for (p++; *p && field < 22; p++)
        if (*p == ' ')
            field++;
    return strtoull(p, NULL, 10);
}

static json_t *load_json(int dfd, const char *name)
{
    int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return NULL;
    json_error_t je;
    json_t *j = json_loadfd(fd, 0, &je);
    close(fd);
    return json_is_object(j) ? j : (json_decref(j), NULL);
}

static long long jint(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

/* One container's state dir (open as cfd): the runtime that wrote it and its
 * live init (pid, start time); NULL when unknown, stopped, or the pid reused. */
static const char *read_state(int cfd, pid_t *pid_out, unsigned long long *start_out)
{
    const char *rt = NULL;
    pid_t pid = 0;
    unsigned long long start = 0;
    json_t *j = load_json(cfd, "state.json");
    if (j && json_object_get(j, "init_process_pid")) {
        rt = "runc";
        pid = (pid_t)jint(j, "init_process_pid");
        start = (unsigned long long)jint(j, "init_process_start");
    } else if (j && json_object_get(j, "pid") && json_object_get(j, "cgroup_path")) {
        rt = "capsa";
        pid = (pid_t)jint(j, "pid");
        start = (unsigned long long)jint(j, "pid_start");
    } else if (!j && (j = load_json(cfd, "status")) && json_object_get(j, "pid")) {
        rt = "crun";
        pid = (pid_t)jint(j, "pid");
        start = (unsigned long long)jint(j, "process-start-time");
    }
    json_decref(j);
    if (!rt || pid <= 0)
        return NULL;
    unsigned long long now = proc_start(pid);
    if (!now || (start && now != start))
        return NULL;  /* stopped, or the pid was reused */
    *pid_out = pid;
    *start_out = now;
    return rt;
}

static bool have_root(const state_cts *s, const char *root)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i].root, root))
            return true;
    return false;
}

static void scan_root(const char *root, const char *ns, state_cts *out)
{
    if (have_root(out, root))
        return;
    int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0)
        return;
    DIR *d = fdopendir(rfd);
    if (!d) {
        close(rfd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
            continue;
        int cfd = openat(rfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (cfd < 0)
            continue;
        pid_t pid;
        unsigned long long now;
        const char *rt = read_state(cfd, &pid, &now);
        close(cfd);
        if (!rt)
            continue;
        out->v = xrealloc(out->v, (out->n + 1) * sizeof *out->v);
        out->v[out->n++] = (state_ct){xstrdup(de->d_name), xstrdup(rt), xstrdup(root),
                                      ns ? xstrdup(ns) : NULL, NULL, pid, now};
    }
    closedir(d);
    if (!out->n || strcmp(out->v[out->n - 1].root, root)) {
        /* remember scanned-but-empty roots too, so a root is read once */
        out->v = xrealloc(out->v, (out->n + 1) * sizeof *out->v);
        out->v[out->n++] = (state_ct){NULL, NULL, xstrdup(root), NULL, NULL, 0, 0};
    }
}

/* Roots under a directory whose children are per-namespace roots. */
static void scan_nested(const char *dir, bool ns_named, state_cts *out)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        autofree char *p = xasprintf("%s/%s", dir, de->d_name);
        scan_root(p, ns_named ? de->d_name : NULL, out);
    }
    closedir(d);
}

static void scan_states(const char *extra_root, state_cts *out)
{
    /* Engines' own runc roots first, so their namespace is known. */
    scan_nested("/run/containerd/runc", true, out);
    scan_nested("/run/docker/runtime-runc", false, out);
    scan_root("/run/runc", NULL, out);
    scan_root("/run/crun", NULL, out);
    scan_root("/run/capsa", NULL, out);
    if (extra_root)
        scan_root(extra_root, NULL, out);
    /* Any other /run/X holding ID/state.json or ID/status (runc --root /run/X). */
    scan_nested("/run", false, out);
    const char *x = getenv("XDG_RUNTIME_DIR");
    if (x && *x) {
        autofree char *p = xasprintf("%s/capsa", x);
        scan_root(p, NULL, out);
    }
}

static void states_free(state_cts *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].id);
        free(s->v[i].runtime);
        free(s->v[i].root);
        free(s->v[i].ns);
        free(s->v[i].status);
    }
    free(s->v);
}

/* ---- processes ---- */

typedef struct {
    pid_t pid, ppid, nspid_last;
    unsigned long long pidns, mntns;
    char *cgroup;          /* primary path */
    obs_cgroup_class cls;
    bool classified;
    char comm[64];
    long group;
} proc_ent;

static unsigned long long ns_ino(int pfd, const char *name)
{
    char buf[64];
    ssize_t n = readlinkat(pfd, name, buf, sizeof buf - 1);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *b = strchr(buf, '[');
    return b ? strtoull(b + 1, NULL, 10) : 0;
}

static char *read_at(int dfd, const char *name)
{
    int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 4096, len = 0;
    char *s = xmalloc(cap);
    for (;;) {
        ssize_t r = read(fd, s + len, cap - len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        if (len + 1 >= cap)
            s = xrealloc(s, cap *= 2);
    }
    close(fd);
    s[len] = 0;
    return s;
}

/* The memory controller's line (v1), else cgroup2's "0::", else the first;
 * each line is also tried for an engine. */
static char *primary_cgroup(const char *text, obs_cgroup_class *cls, bool *classified)
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

static void read_status(int pfd, proc_ent *p)
{
    autofree char *s = read_at(pfd, "status");
    if (!s)
        return;
    for (const char *l = s; *l;) {
        const char *nl = strchrnul(l, '\n');
        if (!strncmp(l, "Name:", 5)) {
            const char *v = l + 5 + strspn(l + 5, " \t");
            snprintf(p->comm, sizeof p->comm, "%.*s", (int)(nl - v), v);
        } else if (!strncmp(l, "PPid:", 5)) {
            p->ppid = (pid_t)atoi(l + 5);
        } else if (!strncmp(l, "NSpid:", 6)) {
            const char *last = l + 6;
            for (const char *q = l + 6; q < nl; q++)
                if (*q == '\t' || *q == ' ')
                    last = q + 1;
            p->nspid_last = (pid_t)atoi(last);
        }
        l = *nl ? nl + 1 : nl;
    }
}

/* ---- the init's parent: an engine's per-container monitor ---- */

/* What a containerd shim or conmon (the init's parent) tells about the
 * container below it: all read from /proc, no socket. */
typedef struct {
    char engine[16];     /* "containerd", "docker", "podman", "cri-o"; "" none */
    char id[128], ns[64], name[128];
    char pod_name[128], pod_ns[128], pod_uid[64];  /* CRI annotations of the bundle */
    char *state_root;    /* the runtime's --root as the engine names it, or NULL */
    char *state_dir;     /* that container's state dir, reachable from here */
} monitor_info;

static void monitor_free(monitor_info *m)
{
    free(m->state_root);
    free(m->state_dir);
}

/* argv[i] == opt: copy argv[i+1]; "opt=value" too. */
static bool arg_value(char **argv, size_t argc, size_t i, const char *opt, char *out, size_t n)
{
    size_t ol = strlen(opt);
    if (!strcmp(argv[i], opt) && i + 1 < argc) {
        snprintf(out, n, "%s", argv[i + 1]);
        return true;
    }
    if (!strncmp(argv[i], opt, ol) && argv[i][ol] == '=') {
        snprintf(out, n, "%s", argv[i] + ol + 1);
        return true;
    }
    return false;
}

static const char *base_name(const char *p)
{
    const char *b = strrchr(p, '/');
    return b ? b + 1 : p;
}

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The names a CRI puts into the bundle's config.json annotations: containerd's
 * io.kubernetes.cri.*, CRI-O's io.kubernetes.{container.name,pod.*}. */
static void bundle_annotations(int bfd, monitor_info *m)
{
    static const struct {
        const char *key;
        size_t off, n;
    } keys[] = {
        {"io.kubernetes.cri.container-name", offsetof(monitor_info, name), sizeof m->name},
        {"io.kubernetes.container.name", offsetof(monitor_info, name), sizeof m->name},
        {"io.kubernetes.cri.sandbox-name", offsetof(monitor_info, pod_name), sizeof m->pod_name},
        {"io.kubernetes.pod.name", offsetof(monitor_info, pod_name), sizeof m->pod_name},
        {"io.kubernetes.cri.sandbox-namespace", offsetof(monitor_info, pod_ns), sizeof m->pod_ns},
        {"io.kubernetes.pod.namespace", offsetof(monitor_info, pod_ns), sizeof m->pod_ns},
        {"io.kubernetes.cri.sandbox-uid", offsetof(monitor_info, pod_uid), sizeof m->pod_uid},
        {"io.kubernetes.pod.uid", offsetof(monitor_info, pod_uid), sizeof m->pod_uid},
    };
    json_t *cfg = load_json(bfd, "config.json");
    json_t *ann = cfg ? json_object_get(cfg, "annotations") : NULL;
    for (size_t i = 0; ann && i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = jstr(ann, keys[i].key);
        char *dst = (char *)m + keys[i].off;
        if (v && !*dst)
            snprintf(dst, keys[i].n, "%s", v);
    }
    json_decref(cfg);
}

/* Docker's name for it, from DATA_ROOT/containers/ID/config.v2.json ("Name":
 * "/NAME"). The bundle's "work" link leads to Docker's data root when dockerd
 * runs its own containerd (DATA_ROOT/containerd/daemon/io.containerd.runtime.
 * v2.task/NS/ID); else the default /var/lib/docker. */
static void docker_name(pid_t ppid, int bfd, monitor_info *m)
{
    char work[512], data[512] = "/var/lib/docker";
    ssize_t n = readlinkat(bfd, "work", work, sizeof work - 1);
    if (n > 0) {
        work[n] = 0;
        char *t = strstr(work, "/containerd/daemon/io.containerd.runtime.v2.task/");
        if (t && t > work) {
            *t = 0;
            snprintf(data, sizeof data, "%s", work);
        }
    }
    autofree char *dir = xasprintf("/proc/%d/root%s/containers/%s", (int)ppid, data, m->id);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return;
    json_t *cfg = load_json(dfd, "config.v2.json");
    close(dfd);
    const char *name = cfg ? jstr(cfg, "Name") : NULL;
    if (name)
        snprintf(m->name, sizeof m->name, "%s", name + (*name == '/'));
    json_decref(cfg);
}

/* containerd-shim-runc-v2 -namespace NS -id ID -address SOCK (cwd: the bundle,
 * with options.json {"binary_name","root"} and the OCI config.json). */
static void shim_info(pid_t ppid, char **argv, size_t argc, monitor_info *m)
{
    char addr[256] = "";
    for (size_t i = 0; i < argc; i++) {
        arg_value(argv, argc, i, "-namespace", m->ns, sizeof m->ns);
        arg_value(argv, argc, i, "-id", m->id, sizeof m->id);
        arg_value(argv, argc, i, "-address", addr, sizeof addr);
    }
    if (!*m->id)
        return;
    strcpy(m->engine, "containerd");
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/cwd", (int)ppid);
    int bfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (bfd < 0)
        return;
    json_t *opt = load_json(bfd, "options.json");
    const char *root = opt ? jstr(opt, "root") : NULL;
    /* Docker names its runtimes' roots EXEC_ROOT/runtime-NAME (runc's default
     * root under containerd is /run/containerd/runc); "moby" is its namespace. */
    if (!strcmp(m->ns, "moby") || (root && !strncmp(base_name(root), "runtime-", 8)))
        strcpy(m->engine, "docker");
    if (*m->ns) {
        m->state_root = xasprintf("%s/%s", root && *root ? root : "/run/containerd/runc", m->ns);
        /* the shim's mount namespace is containerd's, whose /run may be private */
        m->state_dir = xasprintf("/proc/%d/root%s/%s", (int)ppid, m->state_root, m->id);
    }
    json_decref(opt);
    if (!strcmp(m->engine, "docker"))
        docker_name(ppid, bfd, m);
    bundle_annotations(bfd, m);
    close(bfd);
}

/* conmon -c ID -n NAME -r RUNTIME [--runtime-arg --root=DIR] --exit-command podman */
static void conmon_info(pid_t ppid, char **argv, size_t argc, monitor_info *m)
{
    char rt[256] = "", root[256] = "", exitcmd[256] = "", bundle[512] = "";
    for (size_t i = 0; i < argc; i++) {
        if (!arg_value(argv, argc, i, "-b", bundle, sizeof bundle))
            arg_value(argv, argc, i, "--bundle", bundle, sizeof bundle);
        if (!arg_value(argv, argc, i, "-c", m->id, sizeof m->id))
            arg_value(argv, argc, i, "--cid", m->id, sizeof m->id);
        if (!arg_value(argv, argc, i, "-n", m->name, sizeof m->name))
            arg_value(argv, argc, i, "--name", m->name, sizeof m->name);
        if (!arg_value(argv, argc, i, "-r", rt, sizeof rt))
            arg_value(argv, argc, i, "--runtime", rt, sizeof rt);
        arg_value(argv, argc, i, "--exit-command", exitcmd, sizeof exitcmd);
        if (!strcmp(argv[i], "--runtime-arg") && i + 1 < argc) {
            const char *a = argv[i + 1];
            if (!strncmp(a, "--root=", 7))
                snprintf(root, sizeof root, "%s", a + 7);
            else if (!strcmp(a, "--root") && i + 3 < argc && !strcmp(argv[i + 2], "--runtime-arg"))
                snprintf(root, sizeof root, "%s", argv[i + 3]);
        }
    }
    if (!*m->id)
        return;
    /* CRI-O runs conmon too, without podman's exit command */
    strcpy(m->engine, !strcmp(base_name(exitcmd), "podman") ? "podman" : "cri-o");
    if (!*root && *rt) {   /* the runtime's own default root */
        const char *b = base_name(rt);
        if (!strcmp(b, "runc") || !strcmp(b, "crun") || !strcmp(b, "capsa"))
            snprintf(root, sizeof root, "/run/%s", b);
    }
    if (*root) {
        m->state_root = xstrdup(root);
        m->state_dir = xasprintf("/proc/%d/root%s/%s", (int)ppid, root, m->id);
    }
    if (*bundle) {
        autofree char *b = xasprintf("/proc/%d/root%s", (int)ppid, bundle);
        int bfd = open(b, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (bfd >= 0) {
            bundle_annotations(bfd, m);
            close(bfd);
        }
    }
}

static bool monitor_of(pid_t ppid, monitor_info *m)
{
    memset(m, 0, sizeof *m);
    if (ppid <= 1)
        return false;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)ppid);
    autofree char *cmd = NULL;
    size_t len;
    capsa_err e;
    if (fs_read(path, &cmd, &len, &e) < 0 || !len)
        return false;
    char *argv[256];
    size_t argc = 0;
    for (size_t off = 0; off < len && argc < 256; off += strlen(cmd + off) + 1)
        argv[argc++] = cmd + off;
    const char *b = base_name(argv[0]);
    if (!strncmp(b, "containerd-shim", 15))
        shim_info(ppid, argv, argc, m);
    else if (!strcmp(b, "conmon"))
        conmon_info(ppid, argv, argc, m);
    return *m->engine != 0;
}

/* An engine's own daemon or monitor in the host's pid namespace with a mount
 * namespace of its own (containerd, dockerd or a shim under `unshare -m`) is
 * no container. */
static bool engine_daemon(const char *comm)
{
    static const char *const names[] = {"containerd", "dockerd", "conmon", "crio", "podman"};
    if (!strncmp(comm, "containerd-shim", 15))
        return true;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(comm, names[i]))
            return true;
    return false;
}

static int cmp_str0(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

static int cmp_ct(const void *a, const void *b)
{
    const obs_host_ct *x = a, *y = b;
    int r = strcmp(x->engine, y->engine);
    if (!r)  /* a pod's containers together */
        r = cmp_str0(x->pod_uid, y->pod_uid);
    if (!r)
        r = cmp_str0(x->id, y->id);
    if (!r)
        r = (x->pid > y->pid) - (x->pid < y->pid);
    return r;
}

static char *dup0(const char *s)
{
    return s && *s ? xstrdup(s) : NULL;
}

int obs_discover(const char *extra_root, obs_host_cts *out, capsa_err *e)
{
    out->v = NULL;
    out->n = 0;
    obs_ns_host host;
    obs_ns_host_load(&host);
    int self = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (self < 0)
        return cerr_sys(e, errno, "open /proc/self");
    unsigned long long self_pid = ns_ino(self, "ns/pid"), self_mnt = ns_ino(self, "ns/mnt");
    close(self);
    /* The baseline: the host's namespaces; inside a container, our own. */
    unsigned long long base_pid = host.ino[OBS_NS_PID], base_mnt = host.ino[OBS_NS_MNT];
    if (self_pid && self_pid != base_pid) {
        base_pid = self_pid;
        base_mnt = self_mnt;
    } else if (!host.known[OBS_NS_MNT]) {
        base_mnt = self_mnt;
    }

    DIR *d = opendir("/proc");
    if (!d)
        return cerr_sys(e, errno, "open /proc");
    proc_ent *ps = NULL;
    size_t np = 0;
    struct dirent *de;
    pid_t me = getpid();
    while ((de = readdir(d))) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        pid_t pid = (pid_t)atoi(de->d_name);
        if (pid == me)
            continue;
        int pfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0)
            continue;
        unsigned long long pns = ns_ino(pfd, "ns/pid"), mns = ns_ino(pfd, "ns/mnt");
        if (!pns || !mns || (pns == base_pid && mns == base_mnt)) {
            close(pfd);
            continue;
        }
        proc_ent p = {.pid = pid, .pidns = pns, .mntns = mns, .group = -1};
        autofree char *cg = read_at(pfd, "cgroup");
        read_status(pfd, &p);
        close(pfd);
        if (!cg || !*p.comm || p.ppid == 2 || pid == 2)
            continue;  /* gone meanwhile, or a kernel thread */
        if (pns == base_pid && engine_daemon(p.comm))
            continue;
        p.cgroup = primary_cgroup(cg, &p.cls, &p.classified);
        if (!p.cgroup)
            p.cgroup = xstrdup("/");
        ps = xrealloc(ps, (np + 1) * sizeof *ps);
        ps[np++] = p;
    }
    closedir(d);

    /* Group: a private pid ns with the engine's id (else the pid ns alone);
     * the host pid ns: mount ns + engine id (else the cgroup path). */
    size_t ng = 0;
    for (size_t i = 0; i < np; i++) {
        proc_ent *p = &ps[i];
        bool own_pid = p->pidns != base_pid;
        const char *key = p->classified && *p->cls.id ? p->cls.id : own_pid ? "" : p->cgroup;
        for (size_t j = 0; j < i && p->group < 0; j++) {
            proc_ent *q = &ps[j];
            bool q_own = q->pidns != base_pid;
            const char *qkey = q->classified && *q->cls.id ? q->cls.id : q_own ? "" : q->cgroup;
            if (own_pid != q_own || strcmp(key, qkey))
                continue;
            if (own_pid ? p->pidns == q->pidns : p->mntns == q->mntns)
                p->group = q->group;
        }
        if (p->group < 0)
            p->group = (long)ng++;
    }

    state_cts st = {0};
    scan_states(extra_root, &st);
    bool *st_used = xcalloc(st.n ? st.n : 1, sizeof *st_used);

    out->v = xcalloc(ng ? ng : 1, sizeof *out->v);
    for (size_t g = 0; g < ng; g++) {
        /* init: NSpid 1 in its own pid ns, else the member whose parent is
         * outside the group (lowest pid) */
        proc_ent *init = NULL;
        unsigned n = 0;
        for (size_t i = 0; i < np; i++) {
            if (ps[i].group != (long)g)
                continue;
            n++;
            if (ps[i].pidns != base_pid && ps[i].nspid_last == 1) {
                init = &ps[i];
                continue;
            }
            bool parent_in = false;
            for (size_t j = 0; j < np; j++)
                if (ps[j].pid == ps[i].ppid && ps[j].group == (long)g)
                    parent_in = true;
            if (!parent_in && (!init || (init->nspid_last != 1 && ps[i].pid < init->pid)))
                init = &ps[i];
        }
        if (!init)
            for (size_t i = 0; i < np && !init; i++)
                if (ps[i].group == (long)g)
                    init = &ps[i];
        obs_host_ct *c = &out->v[out->n++];
        c->pid = init->pid;
        c->nprocs = n;
        snprintf(c->comm, sizeof c->comm, "%s", init->comm);
        c->cgroup = xstrdup(init->cgroup);
        c->pidns = init->pidns;
        c->mntns = init->mntns;
        c->own_pidns = init->pidns != base_pid;
        c->own_mntns = init->mntns != base_mnt;
        if (init->classified) {
            c->engine = xstrdup(init->cls.engine);
            c->id = dup0(init->cls.id);
            c->pod_uid = dup0(init->cls.pod_uid);
            c->qos = *init->cls.pod_uid ? dup0(init->cls.qos) : NULL;
            c->pod_cgroup = dup0(init->cls.pod_cgroup);
        }
        monitor_info m;
        if (monitor_of(init->ppid, &m)) {
            if (!c->engine)
                c->engine = xstrdup(m.engine);
            if (!c->id)
                c->id = xstrdup(m.id);
            c->ns = dup0(m.ns);
            c->name = dup0(m.name);
            c->pod_name = dup0(m.pod_name);
            c->pod_namespace = dup0(m.pod_ns);
            if (!c->pod_uid)
                c->pod_uid = dup0(m.pod_uid);
            pid_t spid;
            unsigned long long sstart;
            int sfd = m.state_dir ? open(m.state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
            const char *rt = sfd >= 0 ? read_state(sfd, &spid, &sstart) : NULL;
            if (sfd >= 0)
                close(sfd);
            if (rt && spid == init->pid) {
                c->runtime = xstrdup(rt);
                c->state_root = xstrdup(m.state_root);
            }
        }
        monitor_free(&m);
        for (size_t s = 0; s < st.n; s++) {
            if (!st.v[s].id || st.v[s].pid != init->pid)
                continue;
            st_used[s] = true;
            if (!c->runtime) {
                c->runtime = xstrdup(st.v[s].runtime);
                c->state_root = xstrdup(st.v[s].root);
            }
            if (!c->ns)
                c->ns = dup0(st.v[s].ns);
            if (!c->engine) {
                const char *r = st.v[s].root;
                c->engine = xstrdup(!strncmp(r, "/run/containerd/", 16) ? "containerd"
                                    : !strncmp(r, "/run/docker/", 12) ? "docker"
                                                                      : st.v[s].runtime);
            }
            if (!c->id)
                c->id = xstrdup(st.v[s].id);
            break;
        }
        if (!c->engine)
            c->engine = xstrdup("unknown");
    }
    /* Containers of a state dir that share both namespaces with the host. */
    for (size_t s = 0; s < st.n; s++) {
        if (!st.v[s].id || st_used[s])
            continue;
        bool seen = false;
        for (size_t i = 0; i < out->n; i++)
            if (out->v[i].pid == st.v[s].pid)
                seen = true;
        if (seen)
            continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/cgroup", (int)st.v[s].pid);
        autofree char *cg = NULL;
        size_t len;
        capsa_err e2;
        if (fs_read(path, &cg, &len, &e2) < 0)
            continue;
        out->v = xrealloc(out->v, (out->n + 1) * sizeof *out->v);
        obs_host_ct *c = &out->v[out->n++];
        memset(c, 0, sizeof *c);
        obs_cgroup_class cls;
        bool classified;
        c->cgroup = primary_cgroup(cg, &cls, &classified);
        c->pid = st.v[s].pid;
        c->nprocs = 1;
        c->id = xstrdup(st.v[s].id);
        c->runtime = xstrdup(st.v[s].runtime);
        c->state_root = xstrdup(st.v[s].root);
        c->engine = xstrdup(classified ? cls.engine : st.v[s].runtime);
        snprintf(path, sizeof path, "/proc/%d/comm", (int)st.v[s].pid);
        autofree char *comm = NULL;
        if (fs_read(path, &comm, &len, &e2) == 0)
            snprintf(c->comm, sizeof c->comm, "%.*s", (int)strcspn(comm, "\n"), comm);
    }
    free(st_used);
    states_free(&st);
    for (size_t i = 0; i < np; i++)
        free(ps[i].cgroup);
    free(ps);
    if (out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, cmp_ct);
    return 0;
}

void obs_host_cts_free(obs_host_cts *cs)
{
    for (size_t i = 0; i < cs->n; i++) {
        obs_host_ct *c = &cs->v[i];
        free(c->id);
        free(c->engine);
        free(c->runtime);
        free(c->state_root);
        free(c->ns);
        free(c->status);
        free(c->pod_uid);
        free(c->qos);
        free(c->pod_cgroup);
        free(c->pod_name);
        free(c->pod_namespace);
        free(c->name);
        free(c->cgroup);
    }
    free(cs->v);
    cs->v = NULL;
    cs->n = 0;
}

void obs_host_ct_name(const obs_host_ct *c, char *buf, size_t n)
{
    char id[160];
    obs_host_ct_id(c, true, id, sizeof id);
    if (!c->id)
        snprintf(buf, n, "unknown container (pid %d)", (int)c->pid);
    else if (c->name && strcmp(c->name, c->id))
        snprintf(buf, n, "%s %s \"%s\"", c->engine, id, c->name);
    else
        snprintf(buf, n, "%s %s", c->engine, id);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *obs_host_ct_json(const obs_host_ct *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", str_or_null(c->id));
    json_object_set_new(o, "engine", json_string(c->engine));
    json_object_set_new(o, "name", str_or_null(c->name));
    json_object_set_new(o, "runtime", str_or_null(c->runtime));
    json_object_set_new(o, "pid", json_integer(c->pid));
    json_object_set_new(o, "comm", json_string(c->comm));
    json_object_set_new(o, "processes", json_integer(c->nprocs));
    json_object_set_new(o, "cgroup", str_or_null(c->cgroup));
    json_object_set_new(o, "state_root", str_or_null(c->state_root));
    json_object_set_new(o, "namespace", str_or_null(c->ns));
    json_object_set_new(o, "own_pid_ns", json_boolean(c->own_pidns));
    json_object_set_new(o, "own_mount_ns", json_boolean(c->own_mntns));
    json_object_set_new(o, "pod", !c->pod_uid && !c->pod_name
                                      ? json_null()
                                      : json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?}",
                                                          "uid", c->pod_uid, "qos", c->qos,
                                                          "cgroup", c->pod_cgroup, "name",
                                                          c->pod_name, "namespace",
                                                          c->pod_namespace));
    return o;
}

void obs_host_ct_id(const obs_host_ct *c, bool shorten, char *buf, size_t n)
{
    if (!c->id)
        snprintf(buf, n, "pid-%d", (int)c->pid);
    else if (shorten && strlen(c->id) == 64 && is_hexid(c->id, 64))
        snprintf(buf, n, "%.12s", c->id);
    else
        snprintf(buf, n, "%s", c->id);
}

int obs_host_list(const char *extra_root, bool json, bool quiet, capsa_err *e)
{
    obs_host_cts cs;
    int r = obs_discover(extra_root, &cs, e);
    if (r < 0)
        return r;
    if (json) {
        json_t *a = json_array();
        for (size_t i = 0; i < cs.n; i++)
            json_array_append_new(a, obs_host_ct_json(&cs.v[i]));
        char *s = json_dumps(a, JSON_COMPACT);
        puts(s);
        free(s);
        json_decref(a);
    } else if (quiet) {
        for (size_t i = 0; i < cs.n; i++) {
            char id[160];
            obs_host_ct_id(&cs.v[i], false, id, sizeof id);
            puts(id);
        }
    } else {
        printf("%-11s %-24s %-8s %5s %-8s %-20s %-16s %-14s %s\n", "ENGINE", "ID", "PID",
               "PROCS", "RUNTIME", "NAME", "COMMAND", "POD", "CGROUP");
        for (size_t i = 0; i < cs.n; i++) {
            const obs_host_ct *c = &cs.v[i];
            char id[160], pod[160] = "-";
            obs_host_ct_id(c, true, id, sizeof id);
            if (c->pod_name)  /* the CRI's names, else the UID from the cgroup path */
                snprintf(pod, sizeof pod, "%s/%s", c->pod_namespace ? c->pod_namespace : "?",
                         c->pod_name);
            else if (c->pod_uid)
                snprintf(pod, sizeof pod, "%.8s/%s", c->pod_uid, c->qos ? c->qos : "?");
            printf("%-11s %-24s %-8d %5u %-8s %-20s %-16s %-14s %s\n", c->engine, id,
                   (int)c->pid, c->nprocs, c->runtime ? c->runtime : "-",
                   c->name ? c->name : "-", c->comm, pod, c->cgroup ? c->cgroup : "-");
        }
        if (!cs.n)
            puts("(no containers on this host)");
    }
    obs_host_cts_free(&cs);
    return 0;
}
