/* The config.json `capsa spec` writes: runc's default, locked down (read-only
 * root, no_new_privs, the 14 default capabilities, masked /proc and /sys). */
#include "spec/spec.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_t *strv(const char *const *v)
{
    json_t *a = json_array();
    for (; *v; v++)
        json_array_append_new(a, json_string(*v));
    return a;
}

static const char *const default_caps[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE", NULL,
};

static json_t *process(const spec_default_opts *o)
{
    static const char *const sh[] = {"sh", NULL};
    static const char *const env[] = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", NULL,
    };
    json_t *caps = json_object();
    json_object_set_new(caps, "bounding", strv(default_caps));
    json_object_set_new(caps, "effective", strv(default_caps));
    json_object_set_new(caps, "permitted", strv(default_caps));

    json_t *rlimits = json_array();
    json_array_append_new(rlimits, json_pack("{s:s, s:i, s:i}", "type", "RLIMIT_NOFILE", "hard",
                                             1024, "soft", 1024));

    json_t *p = json_object();
    json_object_set_new(p, "terminal", json_false());
    json_object_set_new(p, "user", json_pack("{s:i, s:i}", "uid", 0, "gid", 0));
    json_object_set_new(p, "args", strv(o->args ? (const char *const *)o->args : sh));
    json_object_set_new(p, "env", strv(env));
    json_object_set_new(p, "cwd", json_string("/"));
    json_object_set_new(p, "capabilities", caps);
    json_object_set_new(p, "rlimits", rlimits);
    json_object_set_new(p, "noNewPrivileges", json_true());
    return p;
}

static json_t *mount(const char *dest, const char *type, const char *src,
                     const char *const *opts)
{
    json_t *m = json_object();
    json_object_set_new(m, "destination", json_string(dest));
    json_object_set_new(m, "type", json_string(type));
    json_object_set_new(m, "source", json_string(src));
    if (opts)
        json_object_set_new(m, "options", strv(opts));
    return m;
}

static json_t *mounts(bool rootless)
{
    static const char *const dev[] = {"nosuid", "strictatime", "mode=755", "size=65536k", NULL};
    /* Without root there is no group 5 to own the ptys: no gid=5. */
    static const char *const pts[] = {"nosuid", "noexec", "newinstance", "ptmxmode=0666",
                                      "mode=0620", "gid=5", NULL};
    static const char *const pts_rootless[] = {"nosuid", "noexec", "newinstance",
                                               "ptmxmode=0666", "mode=0620", NULL};
    static const char *const shm[] = {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k",
                                      NULL};
    static const char *const mq[] = {"nosuid", "noexec", "nodev", NULL};
    static const char *const sys[] = {"nosuid", "noexec", "nodev", "ro", NULL};
    /* A user namespace that does not own the network namespace cannot mount
     * sysfs, so rootless containers get the host's /sys, read-only. */
    static const char *const sys_rootless[] = {"rbind", "nosuid", "noexec", "nodev", "ro", NULL};
    static const char *const cg[] = {"nosuid", "noexec", "nodev", "relatime", "ro", NULL};

    json_t *a = json_array();
    json_array_append_new(a, mount("/proc", "proc", "proc", NULL));
    json_array_append_new(a, mount("/dev", "tmpfs", "tmpfs", dev));
    json_array_append_new(a, mount("/dev/pts", "devpts", "devpts", rootless ? pts_rootless : pts));
    json_array_append_new(a, mount("/dev/shm", "tmpfs", "shm", shm));
    json_array_append_new(a, mount("/dev/mqueue", "mqueue", "mqueue", mq));
    if (rootless)
        json_array_append_new(a, mount("/sys", "none", "/sys", sys_rootless));
    else
        json_array_append_new(a, mount("/sys", "sysfs", "sysfs", sys));
    json_array_append_new(a, mount("/sys/fs/cgroup", "cgroup", "cgroup", cg));
    return a;
}

static json_t *idmap(unsigned host_id)
{
    json_t *a = json_array();
    json_array_append_new(a, json_pack("{s:i, s:I, s:i}", "containerID", 0, "hostID",
                                       (json_int_t)host_id, "size", 1));
    return a;
}

static json_t *linux_section(bool rootless)
{
    static const char *const masked[] = {
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
        "/proc/scsi", "/sys/devices/virtual/powercap", NULL,
    };
    static const char *const readonly[] = {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
    };
    json_t *l = json_object();
    if (rootless) {
        json_object_set_new(l, "uidMappings", idmap(getuid()));
        json_object_set_new(l, "gidMappings", idmap(getgid()));
    } else {
        json_t *devices = json_array();
        json_array_append_new(devices, json_pack("{s:b, s:s}", "allow", 0, "access", "rwm"));
        json_object_set_new(l, "resources", json_pack("{s:o}", "devices", devices));
    }

    json_t *ns = json_array();
    static const char *const types[] = {"pid", "network", "ipc", "uts", "mount", "cgroup", NULL};
    for (const char *const *t = types; *t; t++)
        if (!(rootless && strcmp(*t, "network") == 0))
            json_array_append_new(ns, json_pack("{s:s}", "type", *t));
    if (rootless)
        json_array_append_new(ns, json_pack("{s:s}", "type", "user"));
    json_object_set_new(l, "namespaces", ns);
    json_object_set_new(l, "maskedPaths", strv(masked));
    json_object_set_new(l, "readonlyPaths", strv(readonly));
    /* The deny-list profile of src/spec/seccomp_default.c (why each syscall is
     * denied is written there). */
    char *sc = spec_default_seccomp_json();
    json_object_set_new(l, "seccomp", json_loads(sc, 0, NULL));
    free(sc);
    return l;
}

/* The `capsa spec` resource flags, into linux.resources (created if the
 * rootless spec has none). --cpus is a quota over the default 100 ms period,
 * as docker --cpus does. */
static void add_resources(json_t *l, const spec_default_opts *o)
{
    json_t *mem = json_object(), *cpu = json_object(), *res = json_object_get(l, "resources");
    if (o->memory)
        json_object_set_new(mem, "limit", json_integer(o->memory));
    if (o->memory_swap)
        json_object_set_new(mem, "swap", json_integer(o->memory_swap));
    if (o->cpu_shares)
        json_object_set_new(cpu, "shares", json_integer((json_int_t)o->cpu_shares));
    if (o->cpus > 0) {
        json_object_set_new(cpu, "quota", json_integer((json_int_t)(o->cpus * 100000 + 0.5)));
        json_object_set_new(cpu, "period", json_integer(100000));
    }
    if (o->cpuset)
        json_object_set_new(cpu, "cpus", json_string(o->cpuset));
    bool any = json_object_size(mem) || json_object_size(cpu) || o->pids || o->io_weight;
    if (any && !res) {
        res = json_object();
        json_object_set_new(l, "resources", res);
    }
    if (json_object_size(mem))
        json_object_set(res, "memory", mem);
    if (json_object_size(cpu))
        json_object_set(res, "cpu", cpu);
    if (o->pids)
        json_object_set_new(res, "pids", json_pack("{s:I}", "limit", (json_int_t)o->pids));
    if (o->io_weight)
        json_object_set_new(res, "blockIO", json_pack("{s:i}", "weight", (int)o->io_weight));
    json_decref(mem);
    json_decref(cpu);
}

/* jansson drops strings that are not UTF-8; refuse instead of writing a
 * config without them. */
static bool utf8(const char *s)
{
    json_t *j = s ? json_string(s) : NULL;
    json_decref(j);
    return !s || j;
}

static bool opts_utf8(const spec_default_opts *o)
{
    bool ok = utf8(o->rootfs) && utf8(o->hostname) && utf8(o->cpuset);
    for (char **a = o->args; ok && a && *a; a++)
        ok = utf8(*a);
    return ok;
}

char *spec_default_json(const spec_default_opts *o)
{
    static const spec_default_opts none = {0};
    o = o ? o : &none;
    if (!opts_utf8(o))
        return NULL;
    json_t *root = json_object();
    json_object_set_new(root, "ociVersion", json_string("1.2.0"));
    json_object_set_new(root, "process", process(o));
    json_object_set_new(root, "root", json_pack("{s:s, s:b}", "path",
                                                o->rootfs ? o->rootfs : "rootfs",
                                                "readonly", 1));
    json_object_set_new(root, "hostname", json_string(o->hostname ? o->hostname : "capsa"));
    json_object_set_new(root, "mounts", mounts(o->rootless));
    json_t *l = linux_section(o->rootless);
    add_resources(l, o);
    json_object_set_new(root, "linux", l);

    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    return text;
}
