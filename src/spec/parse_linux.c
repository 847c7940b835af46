/* config.json "linux": namespaces, id mappings, devices, seccomp, time offsets,
 * personality and the path lists. Resources are in parse_resources.c. */
#include "spec/spec_int.h"

#include <stdlib.h>
#include <string.h>

static const char *const ns_names[] = {
    [NS_PID] = "pid", [NS_NET] = "network", [NS_MNT] = "mount", [NS_IPC] = "ipc",
    [NS_UTS] = "uts", [NS_USER] = "user", [NS_CGROUP] = "cgroup", [NS_TIME] = "time",
    [NS__COUNT] = NULL,
};

typedef struct {
    char *type, *path;
} ns_entry;

static int parse_ns_entry(pctx *c, json_t *o, void *arg)
{
    ns_entry *n = arg;
    TRY(m_enum(c, o, "type", REQ, ns_names, "namespace type", &n->type));
    TRY(m_abs_path(c, o, "path", OPT, &n->path));
    return 0;
}

static int parse_namespaces(pctx *c, json_t *o, spec_linux *l)
{
    ns_entry *ents = NULL;
    size_t n = 0;
    int r = m_objarr(c, o, "namespaces", OPT, sizeof *ents, (void **)&ents, &n, parse_ns_entry);
    for (size_t i = 0; r >= 0 && i < n; i++) {
        int t = name_index(ns_names, ents[i].type);
        if (l->ns[t].present) {
            size_t old = p_push_key(c, "namespaces");
            p_push_idx(c, i);
            p_push_key(c, "type");
            r = p_err(c, "duplicate namespace \"%s\"", ents[i].type);
            p_pop(c, old);
            break;
        }
        l->ns[t].present = true;
        l->ns[t].index = i;
        l->ns[t].path = TAKE_PTR(ents[i].path);
    }
    for (size_t i = 0; i < n; i++) {
        free(ents[i].type);
        free(ents[i].path);
    }
    free(ents);
    return r;
}

static const char *const dev_types[] = {"c", "b", "u", "p", NULL};

static int parse_device(pctx *c, json_t *o, void *arg)
{
    spec_device *d = arg;
    autofree char *type = NULL;
    bool has_major = false, has_minor = false;
    TRY(m_enum(c, o, "type", REQ, dev_types, "device type (want c, b, u or p)", &type));
    d->type = type[0];
    TRY(m_abs_path(c, o, "path", REQ, &d->path));
    TRY(m_i64(c, o, "major", OPT, &has_major, &d->major));
    TRY(m_i64(c, o, "minor", OPT, &has_minor, &d->minor));
    /* A fifo has no device number; every other node needs both. */
    if (d->type != 'p' && !has_major)
        return p_missing(c, "major");
    if (d->type != 'p' && !has_minor)
        return p_missing(c, "minor");
    TRY(m_u32(c, o, "fileMode", OPT, &d->has_mode, &d->mode));
    TRY(m_u32(c, o, "uid", OPT, &d->has_uid, &d->uid));
    TRY(m_u32(c, o, "gid", OPT, &d->has_gid, &d->gid));
    return 0;
}

static const char *const clocks[] = {"monotonic", "boottime", NULL};

static int parse_time_offset(pctx *c, json_t *o, void *arg)
{
    spec_time_offset *t = arg;
    TRY(m_i64(c, o, "secs", OPT, NULL, &t->secs));
    TRY(m_u32(c, o, "nanosecs", OPT, NULL, &t->nanosecs));
    if (t->nanosecs >= 1000000000) {
        size_t old = p_push_key(c, "nanosecs");
        TRY(p_err(c, "%u is out of range (0..999999999)", t->nanosecs));
        p_pop(c, old);
    }
    return 0;
}

/* timeOffsets is a map keyed by clock name, not an array. */
static int parse_time_offsets(pctx *c, json_t *o, void *arg)
{
    spec_linux *l = arg;
    l->time_offsets = xcalloc(json_object_size(o), sizeof *l->time_offsets);
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        spec_time_offset *t = &l->time_offsets[l->n_time_offsets++];
        t->clock = xstrdup(k);
        size_t old = p_push_key(c, k);
        if (name_index(clocks, k) < 0) {
            char q[128];
            return p_err(c, "\"%s\": unknown clock (want monotonic or boottime)",
                         p_quote(q, sizeof q, k));
        }
        if (!json_is_object(v))
            return p_type(c, v, "an object");
        TRY(parse_time_offset(c, v, t));
        p_pop(c, old);
    }
    return 0;
}

static const char *const seccomp_actions[] = {
    "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
    NULL,
};

static const char *const seccomp_ops[] = {
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ", NULL,
};

static int parse_seccomp_arg(pctx *c, json_t *o, void *arg)
{
    spec_seccomp_arg *a = arg;
    int64_t v;
    TRY(m_int(c, o, "index", REQ, 0, 5, &v));
    a->index = v;
    TRY(m_u64(c, o, "value", REQ, NULL, &a->value));
    TRY(m_u64(c, o, "valueTwo", OPT, NULL, &a->value_two));
    TRY(m_enum(c, o, "op", REQ, seccomp_ops, "seccomp operator", &a->op));
    return 0;
}

static int parse_syscall(pctx *c, json_t *o, void *arg)
{
    spec_seccomp_syscall *sc = arg;
    TRY(m_strv(c, o, "names", REQ, &sc->names));
    TRY(m_enum(c, o, "action", REQ, seccomp_actions, "seccomp action", &sc->action));
    TRY(m_u32(c, o, "errnoRet", OPT, &sc->has_errno_ret, &sc->errno_ret));
    TRY(m_objarr(c, o, "args", OPT, sizeof *sc->args, (void **)&sc->args, &sc->n_args,
                 parse_seccomp_arg));
    return 0;
}

static int parse_seccomp(pctx *c, json_t *o, void *arg)
{
    spec_seccomp *sc = arg;
    sc->present = true;
    TRY(m_enum(c, o, "defaultAction", REQ, seccomp_actions, "seccomp action",
               &sc->default_action));
    TRY(m_u32(c, o, "defaultErrnoRet", OPT, &sc->has_default_errno_ret, &sc->default_errno_ret));
    TRY(m_strv(c, o, "architectures", OPT, &sc->architectures));
    TRY(m_strv(c, o, "flags", OPT, &sc->flags));
    TRY(m_str(c, o, "listenerPath", OPT, &sc->listener_path));
    TRY(m_str(c, o, "listenerMetadata", OPT, &sc->listener_metadata));
    TRY(m_objarr(c, o, "syscalls", OPT, sizeof *sc->syscalls, (void **)&sc->syscalls,
                 &sc->n_syscalls, parse_syscall));
    return 0;
}

static const char *const personality_domains[] = {"LINUX", "LINUX32", NULL};

static int parse_personality(pctx *c, json_t *o, void *arg)
{
    spec_linux *l = arg;
    l->has_personality = true;
    TRY(m_enum(c, o, "domain", REQ, personality_domains, "personality domain",
               &l->personality_domain));
    TRY(m_strv(c, o, "flags", OPT, &l->personality_flags));
    return 0;
}

/* Only its shape is checked: capsa does not implement Intel RDT. closID is a
 * directory name under /sys/fs/resctrl (runc refuses ".", ".." and "/"). */
static int parse_intel_rdt(pctx *c, json_t *o, void *arg)
{
    spec_linux *l = arg;
    char *tmp = NULL;
    bool b;
    l->has_intel_rdt = true;
    TRY(m_str(c, o, "closID", OPT, &tmp));
    if (tmp && (!strcmp(tmp, ".") || !strcmp(tmp, "..") || strchr(tmp, '/'))) {
        char q[128];
        size_t old = p_push_key(c, "closID");
        int r = p_err(c, "\"%s\": not a resctrl group name (no \"/\", not \".\" or \"..\")",
                      p_quote(q, sizeof q, tmp));
        free(tmp);
        p_pop(c, old);
        return r;
    }
    free(TAKE_PTR(tmp));
    static const char *const limits[] = {"l3CacheSchema", "memBwSchema", NULL};
    for (int i = 0; limits[i]; i++) {
        TRY(m_str(c, o, limits[i], OPT, &tmp));
        if (tmp && *tmp)
            l->intel_rdt_limits = true;
        free(TAKE_PTR(tmp));
    }
    spec_strv schemata = {0};
    int r = m_strv(c, o, "schemata", OPT, &schemata);
    if (schemata.n)
        l->intel_rdt_limits = true;
    free_strv(&schemata);
    TRY(r);
    TRY(m_bool(c, o, "enableCMT", &b));
    TRY(m_bool(c, o, "enableMBM", &b));
    return 0;
}

/* runtime-spec 1.3 fields capsa does not implement: their shape is checked, and
 * validate.c refuses them when they ask for something. */
static int parse_memory_policy(pctx *c, json_t *o, void *arg)
{
    spec_linux *l = arg;
    spec_strv flags = {0};
    char *nodes = NULL;
    TRY(m_str(c, o, "mode", REQ, &l->memory_policy_mode));
    TRY(m_str(c, o, "nodes", OPT, &nodes));
    free(nodes);
    int r = m_strv(c, o, "flags", OPT, &flags);
    free_strv(&flags);
    return r < 0 ? r : 0;
}

static int parse_net_devices(pctx *c, json_t *o, void *arg)
{
    spec_linux *l = arg;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        size_t old = p_push_key(c, k);
        if (!json_is_object(v))
            return p_type(c, v, "an object");
        char *name = NULL;
        TRY(m_str(c, v, "name", OPT, &name));
        free(name);
        p_pop(c, old);
        l->has_net_devices = true;
    }
    return 0;
}

static const char *const propagations[] = {
    "shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable",
    NULL,
};

/* Masked and read-only paths are looked up inside the container's root. */
static int abs_paths(pctx *c, json_t *o, const char *key, spec_strv *out, bool *has)
{
    int r = m_strv(c, o, key, OPT, out);
    if (r <= 0)
        return r;
    *has = true;
    size_t old = p_push_key(c, key);
    for (size_t i = 0; i < out->n; i++)
        if (out->v[i][0] != '/') {
            char q[128];
            p_push_idx(c, i);
            return p_err(c, "\"%s\": must be an absolute path", p_quote(q, sizeof q, out->v[i]));
        }
    p_pop(c, old);
    return 1;
}

static const char *const linux_keys[] = {
    "namespaces", "uidMappings", "gidMappings", "timeOffsets", "devices", "cgroupsPath",
    "resources", "sysctl", "seccomp", "rootfsPropagation", "maskedPaths", "readonlyPaths",
    "mountLabel", "personality", "intelRdt", "memoryPolicy", "netDevices", NULL,
};

int parse_linux(pctx *c, json_t *o, void *arg)
{
    spec_linux *l = arg;
    note_unknown(c, o, linux_keys);
    TRY(parse_namespaces(c, o, l));
    TRY(m_idmaps(c, o, "uidMappings", &l->uid_mappings));
    TRY(m_idmaps(c, o, "gidMappings", &l->gid_mappings));
    TRY(m_obj(c, o, "timeOffsets", OPT, parse_time_offsets, l));
    TRY(m_objarr(c, o, "devices", OPT, sizeof *l->devices, (void **)&l->devices, &l->n_devices,
                 parse_device));
    TRY(m_str(c, o, "cgroupsPath", OPT, &l->cgroups_path));
    TRY(m_obj(c, o, "resources", OPT, parse_resources, &l->resources));
    TRY(m_map(c, o, "sysctl", &l->sysctl));
    TRY(m_obj(c, o, "seccomp", OPT, parse_seccomp, &l->seccomp));
    /* Engines written in Go may send "" for unset. */
    json_t *prop = json_object_get(o, "rootfsPropagation");
    if (!(json_is_string(prop) && !*json_string_value(prop)))
        TRY(m_enum(c, o, "rootfsPropagation", OPT, propagations, "rootfs propagation",
                   &l->rootfs_propagation));
    TRY(abs_paths(c, o, "maskedPaths", &l->masked_paths, &l->has_masked_paths));
    TRY(abs_paths(c, o, "readonlyPaths", &l->readonly_paths, &l->has_readonly_paths));
    TRY(m_str(c, o, "mountLabel", OPT, &l->mount_label));
    TRY(m_obj(c, o, "personality", OPT, parse_personality, l));
    TRY(m_obj(c, o, "intelRdt", OPT, parse_intel_rdt, l));
    TRY(m_obj(c, o, "memoryPolicy", OPT, parse_memory_policy, l));
    TRY(m_obj(c, o, "netDevices", OPT, parse_net_devices, l));
    return 0;
}
