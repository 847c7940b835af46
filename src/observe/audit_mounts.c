/* capsa audit: the mounts a process sees (/proc/PID/mountinfo) and what is
 * reachable through them (/proc/PID/root). */
#include "observe/audit_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util/mountinfo.h"

typedef struct {
    audit_ctx *c;
    mountinfo m;       /* the target's */
    mountinfo host;    /* the host's (PID 1 when readable, else ours) */
    char root[64];      /* /proc/PID/root: paths as the target sees them */
    bool blind;         /* root not enterable (EACCES): no look inside */
} mctx;

static bool exists_in(const mctx *x, const char *path, struct stat *st)
{
    char full[4096];
    snprintf(full, sizeof full, "%s%s", x->root, path);
    return lstat(full, st) == 0;
}

/* A /proc or /sys file as the target sees it; when its root cannot be
 * entered (not root), our own view: the same kernel decides what exists. */
static bool kernel_file_exists(const mctx *x, const char *path)
{
    struct stat st;
    return x->blind ? lstat(path, &st) == 0 : exists_in(x, path, &st);
}

/* path must be served by a read-only mount of fstype (or not be there). */
static void ro_check(mctx *x, const char *path, const char *fstype, obs_level lvl,
                     const char *check, const char *fix, const char *why)
{
    const mount_entry *m = mountinfo_covering(&x->m, path);
    if (!m || strcmp(m->fstype, fstype))
        obs_add(x->c->r, OBS_PASS, "mounts", check, NULL, "%s: no %s mounted there", path, fstype);
    else if (!kernel_file_exists(x, path))
        obs_add(x->c->r, OBS_PASS, "mounts", check, NULL, "%s: absent", path);
    else if (mountinfo_ro(m))
        obs_add(x->c->r, OBS_PASS, "mounts", check, NULL, "%s: read-only", path);
    else
        obs_add(x->c->r, lvl, "mounts", check, fix, "%s is writable: %s", path, why);
}

static void check_rootfs(mctx *x)
{
    const mount_entry *m = mountinfo_covering(&x->m, "/");
    if (!m)
        return;
    if (mountinfo_ro(m))
        obs_add(x->c->r, OBS_PASS, "mounts", "mount.rootfs", NULL, "root filesystem read-only");
    else
        obs_add(x->c->r, OBS_WARN, "mounts", "mount.rootfs",
                "root.readonly: true (capsa spec --readonly)",
                "root filesystem writable: the image can be changed at run time");
}

/* The host path a mount shows: a host mount of the same filesystem whose
 * root contains the mount's root. NULL if the host does not show it. */
static char *host_path(const mctx *x, const mount_entry *m)
{
    const mount_entry *best = NULL;
    for (size_t i = 0; i < x->host.n; i++) {
        const mount_entry *h = &x->host.v[i];
        size_t rl = strlen(h->root);
        if (h->major != m->major || h->minor != m->minor)
            continue;
        bool inside = !strcmp(h->root, "/") ||
                      (!strncmp(m->root, h->root, rl) && (m->root[rl] == '/' || !m->root[rl]));
        if (inside && (!best || strlen(h->root) > strlen(best->root)))
            best = h;
    }
    if (!best)
        return NULL;
    const char *rest = m->root + (strcmp(best->root, "/") ? strlen(best->root) : 0);
    if (!strcmp(best->mnt, "/"))
        return xstrdup(*rest ? rest : "/");
    return xasprintf("%s%s", best->mnt, rest);
}

/* Host directories whose whole tree must not be mounted into a container
 * (matched exactly: a single file below them, such as a bind-mounted
 * /etc/resolv.conf, is normal). */
static const char *const sensitive[] = {
    "/etc", "/root", "/boot", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/home", "/var",
    "/var/lib", "/var/lib/docker", "/var/lib/containerd", "/var/lib/containers",
    "/var/lib/kubelet", "/var/log", NULL,
};

static const char *const engine_sockets[] = {
    "docker.sock", "containerd.sock", "podman.sock", "crio.sock", "cri-dockerd.sock",
    "dockershim.sock", "buildkitd.sock", "kubelet.sock", NULL,
};

static const char *const engine_dirs[] = {
    "/run/docker", "/var/run/docker", "/run/containerd", "/var/run/containerd",
    "/run/podman", "/run/crio", "/var/run/crio", NULL,
};

static const char *base_of(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static bool is_engine_socket(const char *path)
{
    for (int i = 0; engine_sockets[i]; i++)
        if (!strcmp(base_of(path), engine_sockets[i]))
            return true;
    for (int i = 0; engine_dirs[i]; i++)
        if (!strcmp(path, engine_dirs[i]))
            return true;
    return false;
}

static void check_host_paths(mctx *x)
{
    const mount_entry *hroot = mountinfo_covering(&x->host, "/");
    int fails = 0, warns = 0, socks = 0;
    for (size_t i = 0; i < x->m.n; i++) {
        const mount_entry *m = &x->m.v[i];
        autofree char *hp = host_path(x, m);
        struct stat st;
        bool sock = exists_in(x, m->mnt, &st) && S_ISSOCK(st.st_mode);
        if (is_engine_socket(m->mnt) || (hp && is_engine_socket(hp))) {
            obs_add(x->c->r, OBS_FAIL, "mounts", "mount.socket", "remove the mount from mounts",
                    "container engine socket %s%s%s mounted at %s: full control of the host",
                    hp ? "(host " : "", hp ? hp : "", hp ? ")" : "", m->mnt);
            socks++;
            continue;
        }
        if (sock) {
            obs_add(x->c->r, OBS_WARN, "mounts", "mount.socket", "remove the mount from mounts",
                    "unix socket %s mounted at %s: a host service is reachable",
                    hp ? hp : m->root, m->mnt);
            socks++;
            continue;
        }
        if (!hp || !hroot || m->major != hroot->major || m->minor != hroot->minor)
            continue;
        if (!strcmp(hp, "/")) {
            if (!strcmp(m->mnt, "/"))
                obs_add(x->c->r, OBS_FAIL, "mounts", "mount.host_root",
                        "root.path: a root filesystem of its own",
                        "runs in the host's root filesystem");
            else
                obs_add(x->c->r, OBS_FAIL, "mounts", "mount.host_root",
                        "remove the mount from mounts", "the host's / is mounted at %s (%s)",
                        m->mnt, mountinfo_ro(m) ? "read-only" : "writable");
            fails++;
            continue;
        }
        for (int s = 0; sensitive[s] && strcmp(m->mnt, "/"); s++) {
            if (strcmp(hp, sensitive[s]))
                continue;
            bool ro = mountinfo_ro(m);
            obs_add(x->c->r, ro ? OBS_WARN : OBS_FAIL, "mounts", "mount.host_path",
                    "remove the mount, or add \"ro\" to its options",
                    "host %s mounted at %s (%s)", hp, m->mnt, ro ? "read-only" : "writable");
            ro ? warns++ : fails++;
            break;
        }
    }
    if (!fails && !warns)
        obs_add(x->c->r, OBS_PASS, "mounts", "mount.host_root", NULL,
                "no host root or sensitive host directory mounted");
    if (!socks && x->blind)
        obs_add(x->c->r, OBS_SKIP, "mounts", "mount.socket", NULL,
                "no engine socket by name; cannot look inside %s for others (run as root)",
                x->root);
    else if (!socks)
        obs_add(x->c->r, OBS_PASS, "mounts", "mount.socket", NULL, "no unix socket mounted");
}

static void check_cgroupfs(mctx *x)
{
    int rw1 = 0, rw2 = 0, n = 0;
    char where[512] = "";
    for (size_t i = 0; i < x->m.n; i++) {
        const mount_entry *m = &x->m.v[i];
        bool v1 = !strcmp(m->fstype, "cgroup"), v2 = !strcmp(m->fstype, "cgroup2");
        if (!v1 && !v2)
            continue;
        n++;
        if (mountinfo_ro(m))
            continue;
        v1 ? rw1++ : rw2++;
        size_t l = strlen(where);
        if (l < sizeof where - 2)
            snprintf(where + l, sizeof where - l, "%s%s", l ? ", " : "", m->mnt);
    }
    const char *fix = "mount /sys/fs/cgroup with \"ro\" (the capsa spec default)";
    if (rw1)
        obs_add(x->c->r, OBS_FAIL, "mounts", "mount.cgroup", fix,
                "writable cgroup v1 mounts (%s): release_agent escape (CVE-2022-0492), "
                "limits can be raised", where);
    else if (rw2)
        obs_add(x->c->r, OBS_WARN, "mounts", "mount.cgroup", fix,
                "writable cgroup2 mount (%s): the process can change its own limits", where);
    else
        obs_add(x->c->r, OBS_PASS, "mounts", "mount.cgroup", NULL,
                n ? "cgroup filesystems read-only" : "no cgroup filesystem mounted");
}

static void check_dev(mctx *x)
{
    const mount_entry *m = mountinfo_covering(&x->m, "/dev");
    const char *fix = "a tmpfs /dev (the capsa spec default) and linux.devices for what is needed";
    bool host_dev = m && !strcmp(m->fstype, "devtmpfs");
    char dir[96], found[512] = "";
    snprintf(dir, sizeof dir, "%s/dev", x->root);
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            obs_add(x->c->r, OBS_PASS, "mounts", "mount.dev", NULL, "no /dev");
        else
            obs_add(x->c->r, host_dev ? OBS_FAIL : OBS_SKIP, "mounts", "mount.dev",
                    host_dev ? fix : NULL, "%scannot list %s: %s",
                    host_dev ? "the host's /dev (devtmpfs) is mounted; " : "", dir,
                    strerror(errno));
        return;
    }
    int blk = 0, mem = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (lstat(p, &st) < 0)
            continue;
        bool is_mem = S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 &&
                      (minor(st.st_rdev) == 1 || minor(st.st_rdev) == 2 ||
                       minor(st.st_rdev) == 4);
        if (!S_ISBLK(st.st_mode) && !is_mem)
            continue;
        blk += S_ISBLK(st.st_mode);
        mem += is_mem;
        size_t l = strlen(found);
        if (l < sizeof found - 40)
            snprintf(found + l, sizeof found - l, "%s%s", l ? ", " : "", de->d_name);
    }
    closedir(d);
    if (host_dev || blk || mem)
        obs_add(x->c->r, OBS_FAIL, "mounts", "mount.dev", fix, "%s%s%s",
                host_dev ? "the host's /dev (devtmpfs) is mounted" : "/dev has",
                *found ? (host_dev ? "; raw devices: " : " raw devices: ") : "", found);
    else
        obs_add(x->c->r, OBS_PASS, "mounts", "mount.dev", NULL,
                "/dev has no block devices and no /dev/mem, kmem or port");
}

static void check_masked(mctx *x)
{
    static const char *const masked[] = {
        "/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug",
        "/proc/latency_stats", "/proc/timer_stats", "/proc/acpi", "/proc/asound", "/proc/scsi",
        "/sys/firmware", "/sys/devices/virtual/powercap", NULL,
    };
    char open_list[512] = "";
    bool kcore = false;
    for (int i = 0; masked[i]; i++) {
        if (!kernel_file_exists(x, masked[i]) || mountinfo_at(&x->m, masked[i]))
            continue;
        /* Only paths of a real procfs/sysfs expose anything. */
        const mount_entry *m = mountinfo_covering(&x->m, masked[i]);
        if (!m || (strcmp(m->fstype, "proc") && strcmp(m->fstype, "sysfs")))
            continue;
        kcore |= !strcmp(masked[i], "/proc/kcore");
        size_t l = strlen(open_list);
        snprintf(open_list + l, sizeof open_list - l, "%s%s", l ? ", " : "", masked[i]);
    }
    if (*open_list)
        obs_add(x->c->r, kcore ? OBS_FAIL : OBS_WARN, "mounts", "mount.masked",
                "add them to linux.maskedPaths", "not masked: %s", open_list);
    else
        obs_add(x->c->r, OBS_PASS, "mounts", "mount.masked", NULL,
                "kernel information files masked (or absent)");
    char rw[256] = "";
    static const char *const ro_paths[] = {"/proc/bus", "/proc/fs", "/proc/irq", NULL};
    for (int i = 0; ro_paths[i]; i++) {
        const mount_entry *m = mountinfo_covering(&x->m, ro_paths[i]);
        if (!m || strcmp(m->fstype, "proc") || mountinfo_ro(m) ||
            !kernel_file_exists(x, ro_paths[i]))
            continue;
        size_t l = strlen(rw);
        snprintf(rw + l, sizeof rw - l, "%s%s", l ? ", " : "", ro_paths[i]);
    }
    if (*rw)
        obs_add(x->c->r, OBS_WARN, "mounts", "mount.readonly_paths",
                "add them to linux.readonlyPaths", "writable: %s", rw);
    else
        obs_add(x->c->r, OBS_PASS, "mounts", "mount.readonly_paths", NULL,
                "/proc/bus, /proc/fs, /proc/irq read-only (or absent)");
}

static bool pid1_is_host(void)
{
    char buf[64];
    ssize_t n = readlink("/proc/1/ns/pid", buf, sizeof buf - 1);
    if (n < 0)
        return false;
    buf[n] = 0;
    return !strcmp(buf, "pid:[4026531836]");
}

void audit_mounts(audit_ctx *c)
{
    mctx x = {.c = c};
    capsa_err e;
    snprintf(x.root, sizeof x.root, "/proc/%d/root", (int)c->p->pid);
    if (mountinfo_read(c->p->pid, &x.m, &e) < 0) {
        obs_add(c->r, OBS_SKIP, "mounts", "mounts", NULL, "%s", e.msg);
        return;
    }
    struct stat st;
    x.blind = stat(x.root, &st) < 0 && errno != ENOENT;
    if (!pid1_is_host() || mountinfo_read(1, &x.host, &e) < 0)
        mountinfo_read(getpid(), &x.host, &e);
    check_rootfs(&x);
    check_host_paths(&x);
    ro_check(&x, "/proc/sys", "proc", OBS_FAIL, "mount.proc_sys",
             "add /proc/sys to linux.readonlyPaths",
             "host sysctls (kernel.core_pattern runs code on the host)");
    ro_check(&x, "/proc/sysrq-trigger", "proc", OBS_FAIL, "mount.sysrq",
             "add /proc/sysrq-trigger to linux.readonlyPaths", "can crash or reboot the host");
    ro_check(&x, "/sys", "sysfs", OBS_FAIL, "mount.sys", "mount /sys with \"ro\"",
             "device, power and kernel settings of the host");
    check_cgroupfs(&x);
    check_dev(&x);
    check_masked(&x);
    mountinfo_free(&x.m);
    mountinfo_free(&x.host);
}
