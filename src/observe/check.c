/* capsa check: kernel features, cgroups, user namespaces, seccomp, overlayfs,
 * rootless helpers, LSMs. Read-only: it probes files and harmless syscalls,
 * never creates a namespace, mount or cgroup. */
#include "observe/check.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cgroup/stats.h"
#include "observe/procinfo.h"
#include "runtime/criu.h"
#include "util/fs.h"

static char *slurp(const char *path)
{
    char *s = NULL;
    size_t len;
    capsa_err e;
    if (fs_read(path, &s, &len, &e) < 0)
        return NULL;
    while (len && (s[len - 1] == '\n' || s[len - 1] == ' '))
        s[--len] = 0;
    return s;
}

bool obs_kernel_version(const char *release, unsigned *major, unsigned *minor)
{
    return sscanf(release, "%u.%u", major, minor) == 2;
}

bool obs_subid_ranges(const char *text, const char *name, unsigned uid, char *buf, size_t n)
{
    char uidstr[16];
    snprintf(uidstr, sizeof uidstr, "%u", uid);
    size_t o = 0;
    buf[0] = 0;
    for (const char *l = text; l && *l;) {
        const char *nl = strchrnul(l, '\n');
        const char *c1 = memchr(l, ':', (size_t)(nl - l));
        unsigned long long start, count;
        if (c1 && sscanf(c1 + 1, "%llu:%llu", &start, &count) == 2 && count) {
            size_t ul = (size_t)(c1 - l);
            bool mine = (name && strlen(name) == ul && !strncmp(l, name, ul)) ||
                        (strlen(uidstr) == ul && !strncmp(l, uidstr, ul));
            if (mine && o + 48 < n)
                o += (size_t)snprintf(buf + o, n - o, "%s%llu-%llu (%llu)", o ? ", " : "",
                                      start, start + count - 1, count);
        }
        l = *nl ? nl + 1 : NULL;
    }
    return o > 0;
}

static bool version_at_least(unsigned maj, unsigned min, unsigned want_maj, unsigned want_min)
{
    return maj > want_maj || (maj == want_maj && min >= want_min);
}

/* A kernel feature probed by a syscall (call) that returned fd: check PASS
 * (works), else at level bad with the syscall's error. */
static void probe(obs_report *r, int fd, const char *check, const char *call, const char *works,
                  obs_level bad, const char *fix)
{
    int err = errno;
    if (fd >= 0) {
        close(fd);
        obs_add(r, OBS_PASS, "kernel", check, NULL, "%s", works);
    } else {
        obs_add(r, bad, "kernel", check, fix, "%s: %s", call, strerror(err));
    }
}

static void check_kernel(obs_report *r, const char *release, unsigned maj, unsigned min)
{
    if (version_at_least(maj, min, 5, 6))
        obs_add(r, OBS_PASS, "kernel", "kernel", NULL, "Linux %s", release);
    else
        obs_add(r, OBS_FAIL, "kernel", "kernel", "upgrade to Linux 5.6 or later",
                "Linux %s: capsa needs 5.6 (openat2 for safe mount targets)", release);
    struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
    probe(r, (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof how), "kernel.openat2",
          "openat2", "openat2 RESOLVE_IN_ROOT works (mount targets resolved inside the rootfs)",
          OBS_FAIL, "upgrade to Linux 5.6 or later");
    probe(r, (int)syscall(SYS_pidfd_open, getpid(), 0), "kernel.pidfd", "pidfd_open",
          "pidfd_open works (signals never hit a recycled pid)", OBS_WARN,
          "upgrade to Linux 5.3 or later");
    obs_add(r, version_at_least(maj, min, 5, 3) ? OBS_PASS : OBS_WARN, "kernel", "kernel.clone3",
            "upgrade to Linux 5.3 or later", "clone3 %s (Linux 5.3)",
            version_at_least(maj, min, 5, 3) ? "available" : "missing");
    obs_add(r, version_at_least(maj, min, 5, 12) ? OBS_PASS : OBS_WARN, "kernel",
            "kernel.idmapped_mounts", "upgrade to Linux 5.12 or later",
            "idmapped mounts (mount_setattr, Linux 5.12) %s",
            version_at_least(maj, min, 5, 12) ? "available" : "missing");
}

static void check_namespaces(obs_report *r)
{
    for (int t = 0; t < OBS_NS__COUNT; t++) {
        const char *name = obs_ns_proc_name((enum obs_ns)t);
        char path[64], check[32];
        snprintf(path, sizeof path, "/proc/self/ns/%s", name);
        snprintf(check, sizeof check, "namespace.%s", name);
        struct stat st;
        if (stat(path, &st) == 0 || errno != ENOENT)
            obs_add(r, OBS_PASS, "namespaces", check, NULL, "%s namespaces supported", name);
        else
            obs_add(r, t == OBS_NS_TIME ? OBS_WARN : OBS_FAIL, "namespaces", check,
                    "a kernel with this namespace type enabled",
                    "%s namespaces not supported by this kernel", name);
    }
    autofree char *max = slurp("/proc/sys/user/max_user_namespaces");
    if (!max)
        obs_add(r, OBS_WARN, "namespaces", "userns.max_user_namespaces", NULL,
                "/proc/sys/user/max_user_namespaces missing");
    else if (!strcmp(max, "0"))
        obs_add(r, OBS_WARN, "namespaces", "userns.max_user_namespaces",
                "sysctl -w user.max_user_namespaces=15000",
                "user.max_user_namespaces = 0: user namespaces (rootless containers) disabled");
    else
        obs_add(r, OBS_PASS, "namespaces", "userns.max_user_namespaces", NULL,
                "user.max_user_namespaces = %s", max);
    autofree char *clone = slurp("/proc/sys/kernel/unprivileged_userns_clone");
    if (clone && !strcmp(clone, "0"))
        obs_add(r, OBS_WARN, "namespaces", "userns.unprivileged_clone",
                "sysctl -w kernel.unprivileged_userns_clone=1",
                "kernel.unprivileged_userns_clone = 0: only root may create user namespaces");
    else if (clone)
        obs_add(r, OBS_PASS, "namespaces", "userns.unprivileged_clone", NULL,
                "kernel.unprivileged_userns_clone = %s", clone);
    else
        obs_add(r, OBS_PASS, "namespaces", "userns.unprivileged_clone", NULL,
                "no kernel.unprivileged_userns_clone sysctl (unprivileged user namespaces "
                "allowed)");
    autofree char *aa = slurp("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
    if (aa && !strcmp(aa, "1"))
        obs_add(r, OBS_WARN, "namespaces", "userns.apparmor_restrict",
                "an AppArmor profile for capsa with \"userns,\", or sysctl -w "
                "kernel.apparmor_restrict_unprivileged_userns=0",
                "kernel.apparmor_restrict_unprivileged_userns = 1: unprivileged user "
                "namespaces get no capabilities");
}

/* word in a comma- or space-separated list */
static bool in_list(const char *list, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = list; p && *p;) {
        p += strspn(p, ", ");
        size_t l = strcspn(p, ", ");
        if (l == wl && !strncmp(p, word, wl))
            return true;
        p += l;
    }
    return false;
}

static void check_cgroups(obs_report *r, json_t *host)
{
    cgroup_host_info h;
    capsa_err e = {0};
    if (cgroup_host_info_read(&h, &e) < 0) {
        obs_add(r, OBS_FAIL, "cgroups", "cgroup.mode", "mount cgroup2 at /sys/fs/cgroup",
                "%s", e.msg);
        return;
    }
    json_object_set_new(host, "cgroup_mode", json_string(cgroup_mode_name(h.mode)));
    json_object_set_new(host, "cgroup_v1_controllers", json_string(h.v1));
    json_object_set_new(host, "cgroup2_mount", *h.v2_mount ? json_string(h.v2_mount) : json_null());
    json_object_set_new(host, "cgroup2_controllers", json_string(h.v2));
    if (h.mode == CG_UNIFIED)
        obs_add(r, OBS_PASS, "cgroups", "cgroup.mode", NULL, "v2 (unified) at %s", h.v2_mount);
    else if (h.mode == CG_HYBRID)
        obs_add(r, OBS_PASS, "cgroups", "cgroup.mode", NULL,
                "hybrid: v1 controllers (%s) + cgroup2 at %s (%s)", h.v1, h.v2_mount,
                *h.v2 ? h.v2 : "no controllers");
    else
        obs_add(r, OBS_WARN, "cgroups", "cgroup.mode", "boot with systemd.unified_cgroup_hierarchy=1",
                "v1 (legacy) only: no pressure (PSI) per container");
    static const struct {
        const char *v1, *v2;
        obs_level missing;
    } ctl[] = {
        {"cpu", "cpu", OBS_WARN}, {"cpuset", "cpuset", OBS_WARN}, {"memory", "memory", OBS_WARN},
        {"pids", "pids", OBS_WARN}, {"blkio", "io", OBS_WARN}, {"devices", NULL, OBS_WARN},
        {"freezer", NULL, OBS_WARN}, {"hugetlb", "hugetlb", OBS_PASS},
    };
    for (size_t i = 0; i < sizeof ctl / sizeof ctl[0]; i++) {
        char check[48];
        snprintf(check, sizeof check, "cgroup.%s", ctl[i].v2 ? ctl[i].v2 : ctl[i].v1);
        bool v1 = h.mode != CG_UNIFIED && in_list(h.v1, ctl[i].v1);
        bool v2 = ctl[i].v2 && in_list(h.v2, ctl[i].v2);
        if (v1)
            obs_add(r, OBS_PASS, "cgroups", check, NULL, "%s: cgroup v1", ctl[i].v1);
        else if (v2)
            obs_add(r, OBS_PASS, "cgroups", check, NULL, "%s: cgroup v2", ctl[i].v2);
        else if (*h.v2_mount && !ctl[i].v2 && h.mode == CG_UNIFIED)
            obs_add(r, OBS_PASS, "cgroups", check, NULL, "%s: built into cgroup v2 (%s)",
                    ctl[i].v1, !strcmp(ctl[i].v1, "devices") ? "eBPF device filters"
                                                              : "cgroup.freeze");
        else
            obs_add(r, ctl[i].missing, "cgroups", check, "enable the controller in the kernel",
                    "%s: not available; linux.resources for it will fail", ctl[i].v1);
    }
    if (h.mode == CG_UNIFIED) {
        if (geteuid() == 0)
            obs_add(r, OBS_PASS, "cgroups", "cgroup.delegation", NULL,
                    "root: cgroups can be created anywhere");
        else if (h.v2_parent_writable && *h.v2_parent_ctrls)
            obs_add(r, OBS_PASS, "cgroups", "cgroup.delegation", NULL,
                    "delegated to this user: %s", h.v2_parent_ctrls);
        else
            obs_add(r, OBS_WARN, "cgroups", "cgroup.delegation",
                    "run under a delegated systemd user slice (systemd-run --user --scope -p "
                    "Delegate=yes)",
                    "no cgroup delegated to this user (%s): rootless containers get no limits",
                    h.v2_own);
    }
    else if (geteuid() != 0)
        obs_add(r, OBS_WARN, "cgroups", "cgroup.delegation",
                "boot with systemd.unified_cgroup_hierarchy=1 and delegate a cgroup v2 subtree",
                "cgroup v1 controllers are not delegated to unprivileged users: rootless "
                "containers get no limits");
    /* the systemd cgroup driver (--systemd-cgroup, what podman/containerd/kubelet use
     * on systemd hosts): usable here, or why not. Not a failure: cgroupfs works. */
    char *sd_why = NULL;
    /* rootless (not euid 0, or root of a user namespace as under rootless podman):
     * the user's own systemd over the user bus (systemdUser) */
    char *uid_map = obs_proc_file(getpid(), "uid_map", NULL);
    bool sd_user = geteuid() != 0 || (uid_map && !obs_idmap_is_identity(uid_map));
    free(uid_map);
    if (cgroup_systemd_usable(sd_user, &sd_why))
        obs_add(r, OBS_PASS, "cgroups", "cgroup.systemd", NULL, sd_user
                ? "--systemd-cgroup can be used rootless (systemdUser): %s"
                : "--systemd-cgroup can be used: systemd answers on the system bus%s",
                sd_user ? sd_why : "");
    else if (sd_user)
        obs_add(r, OBS_SKIP, "cgroups", "cgroup.systemd", "use the default cgroupfs driver",
                "--systemd-cgroup cannot be used rootless (systemdUser): %s", sd_why);
    else
        obs_add(r, OBS_SKIP, "cgroups", "cgroup.systemd", "use the default cgroupfs driver",
                "--systemd-cgroup cannot be used here: %s", sd_why);
    free(sd_why);
    struct stat st;
    if (stat("/proc/pressure/cpu", &st) == 0)
        obs_add(r, OBS_PASS, "cgroups", "cgroup.psi", NULL, "pressure stall information available");
    else
        obs_add(r, OBS_WARN, "cgroups", "cgroup.psi", "boot with psi=1",
                "no /proc/pressure: capsa stats shows no pressure");
}

static void check_seccomp(obs_report *r)
{
    autofree char *st = slurp("/proc/self/status");
    if (st && strstr(st, "\nSeccomp:"))
        obs_add(r, OBS_PASS, "security", "seccomp", NULL, "seccomp filters supported");
    else
        obs_add(r, OBS_FAIL, "security", "seccomp", "a kernel with CONFIG_SECCOMP_FILTER",
                "no seccomp support: containers run without syscall filtering");
    autofree char *acts = slurp("/proc/sys/kernel/seccomp/actions_avail");
    if (acts && strstr(acts, "user_notif"))
        obs_add(r, OBS_PASS, "security", "seccomp.user_notif", NULL, "actions: %s", acts);
    else
        obs_add(r, OBS_WARN, "security", "seccomp.user_notif", "Linux 5.0 or later",
                "no SECCOMP_RET_USER_NOTIF: linux.seccomp.listenerPath unsupported");
}

static void check_overlay(obs_report *r, const char *release)
{
    autofree char *fs = slurp("/proc/filesystems");
    if (fs && strstr(fs, "\toverlay\n")) {
        obs_add(r, OBS_PASS, "filesystems", "overlayfs", NULL, "overlay filesystem available");
        return;
    }
    char mod[256];
    snprintf(mod, sizeof mod, "/lib/modules/%s/kernel/fs/overlayfs", release);
    struct stat st;
    if (stat(mod, &st) == 0)
        obs_add(r, OBS_PASS, "filesystems", "overlayfs", NULL,
                "overlay module available (loaded on first use)");
    else
        obs_add(r, OBS_WARN, "filesystems", "overlayfs", "modprobe overlay",
                "no overlay filesystem: image layers need another snapshotter");
}

/* A helper that can write id maps: setuid root or a file capability. */
static void check_idmap_tool(obs_report *r, const char *name)
{
    static const char *const dirs[] = {"/usr/bin", "/usr/sbin", "/bin", "/sbin", NULL};
    char check[32];
    snprintf(check, sizeof check, "rootless.%s", name);
    for (int i = 0; dirs[i]; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s/%s", dirs[i], name);
        struct stat st;
        if (stat(p, &st) < 0)
            continue;
        bool fcap = getxattr(p, "security.capability", NULL, 0) > 0;
        if ((st.st_mode & S_ISUID && st.st_uid == 0) || fcap)
            obs_add(r, OBS_PASS, "rootless", check, NULL, "%s (%s)", p,
                    fcap ? "file capability" : "setuid root");
        else
            obs_add(r, OBS_WARN, "rootless", check, "chmod u+s or setcap on it",
                    "%s is neither setuid root nor has a file capability", p);
        return;
    }
    obs_add(r, OBS_WARN, "rootless", check, "apt-get install uidmap",
            "%s not found: rootless containers can map only the caller's own id", name);
}

/* The user name of uid from /etc/passwd (not getpwuid: NSS would need glibc's
 * shared modules at run time, and `capsa limits`/`check` must work as a
 * static binary copied into any image). NULL if not listed. malloc'd. */
static char *user_name(uid_t uid)
{
    autofree char *pw = slurp("/etc/passwd");
    for (const char *l = pw; l && *l;) {
        const char *nl = strchrnul(l, '\n');
        const char *c1 = memchr(l, ':', (size_t)(nl - l));
        const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(nl - c1 - 1)) : NULL;
        char *end;
        if (c2 && strtoul(c2 + 1, &end, 10) == uid && end > c2 + 1 && *end == ':')
            return strndup(l, (size_t)(c1 - l));
        l = *nl ? nl + 1 : NULL;
    }
    return NULL;
}

static void check_subids(obs_report *r, json_t *host)
{
    uid_t uid = geteuid();
    autofree char *name = user_name(uid);
    json_object_set_new(host, "user", json_pack("{s:i, s:o}", "uid", (int)uid, "name",
                                                name ? json_string(name) : json_null()));
    static const char *const files[] = {"/etc/subuid", "/etc/subgid"};
    for (int i = 0; i < 2; i++) {
        char check[32], ranges[256];
        snprintf(check, sizeof check, "rootless.%s", files[i] + 5);
        autofree char *text = slurp(files[i]);
        if (text && obs_subid_ranges(text, name, (unsigned)uid, ranges, sizeof ranges))
            obs_add(r, OBS_PASS, "rootless", check, NULL, "%s: %s", name ? name : "this user",
                    ranges);
        else if (uid == 0)
            obs_add(r, OBS_PASS, "rootless", check, NULL,
                    "no %s range for root (root writes id maps directly)", files[i]);
        else
            obs_add(r, OBS_WARN, "rootless", check,
                    "usermod --add-subuids 100000-165535 --add-subgids 100000-165535 USER",
                    "no %s range for %s: only the own id can be mapped", files[i],
                    name ? name : "this user");
    }
}

static void check_lsm(obs_report *r, json_t *host)
{
    autofree char *all = slurp("/sys/kernel/security/lsm");
    char mac[64];
    obs_host_lsms(mac, sizeof mac);
    json_object_set_new(host, "lsms", json_string(all ? all : mac));
    if (*mac)
        obs_add(r, OBS_PASS, "security", "lsm", NULL, "%s (process.apparmorProfile / "
                "selinuxLabel apply)", all ? all : mac);
    else
        obs_add(r, OBS_PASS, "security", "lsm", NULL, "no AppArmor or SELinux%s%s%s",
                all ? " (active: " : "", all ? all : "", all ? ")" : "");
}

/* capsa checkpoint/restore: which CRIU it would use, or why there is none. */
static void check_criu(obs_report *r, json_t *host)
{
    const cr_info *ci = cr_probe();
    if (ci->available) {
        obs_add(r, OBS_PASS, "checkpoint", "criu", NULL, "checkpoint/restore: CRIU %d.%d.%d (%s)",
                ci->version / 10000, ci->version / 100 % 100, ci->version % 100, ci->binary);
        json_object_set_new(host, "criu", json_string(ci->binary));
    } else {
        obs_add(r, OBS_WARN, "checkpoint", "criu", "scripts/build-criu.sh (or install criu >= 4.1)",
                "checkpoint/restore unavailable: %s", ci->why);
    }
}

void obs_check(obs_report *r, json_t **hostp)
{
    json_t *host = json_object();
    struct utsname u;
    unsigned maj = 0, min = 0;
    if (uname(&u) < 0)
        snprintf(u.release, sizeof u.release, "unknown");
    obs_kernel_version(u.release, &maj, &min);
    json_object_set_new(host, "kernel", json_string(u.release));
    json_object_set_new(host, "arch", json_string(u.machine));
    check_kernel(r, u.release, maj, min);
    check_namespaces(r);
    check_cgroups(r, host);
    check_seccomp(r);
    check_lsm(r, host);
    check_overlay(r, u.release);
    check_idmap_tool(r, "newuidmap");
    check_idmap_tool(r, "newgidmap");
    check_subids(r, host);
    check_criu(r, host);
    *hostp = host;
}
