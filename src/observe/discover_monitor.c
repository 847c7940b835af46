/* The init's parent: an engine's per-container monitor (a containerd shim,
 * conmon), read from /proc and the bundle it runs in (see discover_int.h). */
#include "observe/discover_int.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "observe/procinfo.h"
#include "util/fs.h"

void obs_monitor_free(obs_monitor *m)
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
static void bundle_annotations(int bfd, obs_monitor *m)
{
    static const struct {
        const char *key;
        size_t off, n;
    } keys[] = {
        {"io.kubernetes.cri.container-name", offsetof(obs_monitor, name), sizeof m->name},
        {"io.kubernetes.container.name", offsetof(obs_monitor, name), sizeof m->name},
        {"io.kubernetes.cri.sandbox-name", offsetof(obs_monitor, pod_name), sizeof m->pod_name},
        {"io.kubernetes.pod.name", offsetof(obs_monitor, pod_name), sizeof m->pod_name},
        {"io.kubernetes.cri.sandbox-namespace", offsetof(obs_monitor, pod_ns), sizeof m->pod_ns},
        {"io.kubernetes.pod.namespace", offsetof(obs_monitor, pod_ns), sizeof m->pod_ns},
        {"io.kubernetes.cri.sandbox-uid", offsetof(obs_monitor, pod_uid), sizeof m->pod_uid},
        {"io.kubernetes.pod.uid", offsetof(obs_monitor, pod_uid), sizeof m->pod_uid},
    };
    json_t *cfg = obs_json_at(bfd, "config.json");
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
static void docker_name(pid_t ppid, int bfd, obs_monitor *m)
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
    json_t *cfg = obs_json_at(dfd, "config.v2.json");
    close(dfd);
    const char *name = cfg ? jstr(cfg, "Name") : NULL;
    if (name)
        snprintf(m->name, sizeof m->name, "%s", name + (*name == '/'));
    json_decref(cfg);
}

/* containerd-shim-runc-v2 -namespace NS -id ID -address SOCK (cwd: the bundle,
 * with options.json {"binary_name","root"} and the OCI config.json). */
static void shim_info(pid_t ppid, char **argv, size_t argc, obs_monitor *m)
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
    json_t *opt = obs_json_at(bfd, "options.json");
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
static void conmon_info(pid_t ppid, char **argv, size_t argc, obs_monitor *m)
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

bool obs_monitor_of(pid_t ppid, obs_monitor *m)
{
    memset(m, 0, sizeof *m);
    if (ppid <= 1)
        return false;
    size_t len;
    autofree char *cmd = obs_proc_file(ppid, "cmdline", &len);
    if (!cmd || !len)
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

bool obs_engine_daemon(const char *comm)
{
    static const char *const names[] = {"containerd", "dockerd", "conmon", "crio", "podman"};
    if (!strncmp(comm, "containerd-shim", 15))
        return true;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(comm, names[i]))
            return true;
    return false;
}
