/* Checks across fields, after parsing, and refusal of what capsa does not
 * implement yet: a container that silently runs without the seccomp filter or
 * hook it was configured with is worse than one that does not start. */
#include "spec/spec_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/units.h"

/* Is Intel RDT's resctrl filesystem mounted (runc's test for "RDT enabled")? */
static bool resctrl_mounted(void)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096];
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, " - resctrl ") != NULL;
    if (f)
        fclose(f);
    return found;
}

/* Is the field set (in entry i, for fields of array entries)? */
#define USED(name, expr)                              \
    static bool name(const spec *s, size_t i)         \
    {                                                 \
        (void)i;                                      \
        return (expr);                                \
    }

USED(intel_rdt_used, s->linux.has_intel_rdt)
USED(mem_policy_used, s->linux.memory_policy_mode &&
                      strcmp(s->linux.memory_policy_mode, "MPOL_DEFAULT"))
USED(net_devices_used, s->linux.has_net_devices)
USED(scheduler_used, s->process.has_scheduler)
USED(ioprio_used, s->process.has_io_priority)
USED(rdma_used, s->linux.resources.has_rdma)
USED(mount_label_used, s->linux.mount_label && *s->linux.mount_label)
USED(selinux_used, s->process.selinux_label && *s->process.selinux_label)
USED(apparmor_used, s->process.apparmor_profile && *s->process.apparmor_profile)
USED(affinity_used,
     s->process.exec_cpu_affinity_initial_s || s->process.exec_cpu_affinity_final_s)



/* Fields parsed but not implemented. When a feature lands, delete its row. */
static const struct {
    const char *path;                    /* "%zu" is the array index, with count */
    bool (*used)(const spec *s, size_t i);
    size_t (*count)(const spec *s);      /* NULL: not an array */
} unsupported[] = {
    {"linux.intelRdt", intel_rdt_used, NULL},
    {"linux.memoryPolicy", mem_policy_used, NULL},
    {"linux.netDevices", net_devices_used, NULL},
    {"process.scheduler", scheduler_used, NULL},
    {"process.ioPriority", ioprio_used, NULL},
    {"process.execCPUAffinity", affinity_used, NULL},
    {"linux.resources.rdma", rdma_used, NULL},
    {"linux.mountLabel", mount_label_used, NULL},
    {"process.selinuxLabel", selinux_used, NULL},
    {"process.apparmorProfile", apparmor_used, NULL},
};

static bool file_starts(const char *path, const char *prefix)
{
    char buf[512] = "";
    FILE *f = fopen(path, "re");
    if (f) {
        if (!fgets(buf, sizeof buf, f))
            buf[0] = 0;
        fclose(f);
    }
    return !strncmp(buf, prefix, strlen(prefix));
}

/* runc's tests: AppArmor's module parameter says Y; SELinux has selinuxfs. The
 * LSM list in securityfs counts too where it is mounted. */
bool spec_lsm_enabled(const char *name)
{
    if (!strcmp(name, "apparmor") && file_starts("/sys/module/apparmor/parameters/enabled", "Y"))
        return true;
    if (!strcmp(name, "selinux") && access("/sys/fs/selinux/enforce", F_OK) == 0)
        return true;
    char buf[512] = "";
    FILE *f = fopen("/sys/kernel/security/lsm", "re");
    if (f) {
        if (!fgets(buf, sizeof buf, f))
            buf[0] = 0;
        fclose(f);
    }
    for (char *t = strtok(buf, ",\n"); t; t = strtok(NULL, ",\n"))
        if (!strcmp(t, name))
            return true;
    return false;
}

/* --debug: known fields that are set but change nothing on this host. */
static void note_ignored(const spec *s, bool process_only)
{
    if (!log_debug_enabled() || process_only)
        return;
    const spec_linux *l = &s->linux;
    if (l->memory_policy_mode && !strcmp(l->memory_policy_mode, "MPOL_DEFAULT"))
        log_debug("%s: linux.memoryPolicy: MPOL_DEFAULT is what the container gets anyway",
                  s->fname);
}

/* process_only: s holds a process.json (`exec --process`), whose paths have no
 * "process." in front. */
static int check_unsupported(const spec *s, bool process_only, capsa_err *e)
{
    note_ignored(s, process_only);
    for (size_t t = 0; t < sizeof unsupported / sizeof unsupported[0]; t++) {
        if (process_only && strncmp(unsupported[t].path, "process.", 8))
            continue;
        size_t n = unsupported[t].count ? unsupported[t].count(s) : 1;
        for (size_t i = 0; i < n; i++) {
            if (!unsupported[t].used(s, i))
                continue;
            char path[128];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
            snprintf(path, sizeof path, unsupported[t].path, i);
#pragma GCC diagnostic pop
            /* An LSM field on a host without that LSM: say so, as runc does. */
            const char *lsm = !strcmp(path, "process.apparmorProfile") ? "apparmor"
                              : strstr(path, "elinux") || strstr(path, "mountLabel") ? "selinux"
                                                                                      : NULL;
            const char *at = process_only ? path + 8 : path;
            /* runtime-spec: without a mounted resctrl the runtime MUST fail
             * (runc 1.1.5 ignores a closID alone there; capsa follows the spec). */
            if (!strcmp(path, "linux.intelRdt") && !resctrl_mounted())
                return spec_err_at(s, e, ENOTSUP, at, "resctrl is not mounted on this host "
                                   "(Intel RDT needs it)");
            if (lsm && !spec_lsm_enabled(lsm))
                return spec_err_at(s, e, ENOTSUP, at, "%s is not enabled on this host",
                                   !strcmp(lsm, "apparmor") ? "AppArmor" : "SELinux");
            /* AppArmor where it is enabled: applied at exec (linux/finish.c). */
            if (lsm && !strcmp(lsm, "apparmor"))
                continue;
            return spec_err_at(s, e, ENOTSUP, at, "not supported by capsa yet");
        }
    }
    return 0;
}

static int ns_err(const spec *s, capsa_err *e, enum spec_ns_type t, const char *field,
                  const char *msg)
{
    char path[96];
    snprintf(path, sizeof path, "linux.namespaces[%zu]%s%s", s->linux.ns[t].index,
             field ? "." : "", field ? field : "");
    return spec_err_at(s, e, EINVAL, path, "%s", msg);
}

static int check_userns(const spec *s, capsa_err *e)
{
    const spec_linux *l = &s->linux;
    const spec_ns *user = &l->ns[NS_USER];
    bool maps = l->uid_mappings.n || l->gid_mappings.n;
    const char *maps_path = l->uid_mappings.n ? "linux.uidMappings" : "linux.gidMappings";

    if (!user->present && maps)
        return spec_err_at(s, e, EINVAL, maps_path,
                           "id mappings need a user namespace in linux.namespaces");
    if (user->present && user->path && maps)
        return spec_err_at(s, e, EINVAL, maps_path,
                           "id mappings cannot be set when joining an existing user namespace "
                           "(linux.namespaces[%zu].path)",
                           user->index);
    if (user->present && !user->path && (!l->uid_mappings.n || !l->gid_mappings.n))
        return ns_err(s, e, NS_USER, NULL,
                      "a new user namespace needs linux.uidMappings and linux.gidMappings");
    return 0;
}

/* Idmapped mounts: both maps, on a bind mount (the kernel idmaps mounts of
 * existing trees, not new filesystems here). */
static int check_idmapped_mounts(const spec *s, capsa_err *e)
{
    for (size_t i = 0; i < s->n_mounts; i++) {
        const spec_mount *m = &s->mounts[i];
        char path[64];
        snprintf(path, sizeof path, "mounts[%zu]", i);
        if (!m->uid_mappings.n && !m->gid_mappings.n) {
            /* runtime-spec: idmap without the mount's own maps MAY take the
             * container's; capsa does not, so it MUST be an error. */
            for (size_t k = 0; k < m->options.n; k++)
                if (!strcmp(m->options.v[k], "idmap") || !strcmp(m->options.v[k], "ridmap"))
                    return spec_err_at(s, e, EINVAL, path,
                                       "option %s needs uidMappings and gidMappings on the mount",
                                       m->options.v[k]);
            continue;
        }
        if (!m->uid_mappings.n || !m->gid_mappings.n)
            return spec_err_at(s, e, EINVAL, path,
                               "an idmapped mount needs both uidMappings and gidMappings");
        bool bind = m->type && !strcmp(m->type, "bind");
        for (size_t k = 0; !bind && k < m->options.n; k++)
            bind = !strcmp(m->options.v[k], "bind") || !strcmp(m->options.v[k], "rbind");
        if (!bind)
            return spec_err_at(s, e, EINVAL, path, "uidMappings/gidMappings need a bind mount");
    }
    return 0;
}

static int check_semantics(const spec *s, capsa_err *e)
{
    const spec_linux *l = &s->linux;
    if (!s->root_path)
        return spec_err_at(s, e, EINVAL, "", "missing required field \"root\"");
    TRY(check_userns(s, e));
    TRY(check_idmapped_mounts(s, e));

    if (l->n_time_offsets && !l->ns[NS_TIME].present)
        return spec_err_at(s, e, EINVAL, "linux.timeOffsets", "needs a time namespace");
    if (l->n_time_offsets && l->ns[NS_TIME].path)
        return spec_err_at(s, e, EINVAL, "linux.timeOffsets",
                           "cannot be applied to an existing time namespace "
                           "(linux.namespaces[%zu].path)",
                           l->ns[NS_TIME].index);

    /* A joined uts namespace is accepted, as runc and crun do: podman pods
     * share the infra container's uts namespace and still set hostname. */
    if (s->hostname && *s->hostname && !l->ns[NS_UTS].present)
        return spec_err_at(s, e, EINVAL, "hostname", "setting it needs a uts namespace");
    if (s->domainname && *s->domainname && !l->ns[NS_UTS].present)
        return spec_err_at(s, e, EINVAL, "domainname", "setting it needs a uts namespace");

    /* Masking over host paths would change the host itself. */
    if (l->masked_paths.n && !l->ns[NS_MNT].present)
        return spec_err_at(s, e, EINVAL, "linux.maskedPaths", "needs a mount namespace");
    if (l->readonly_paths.n && !l->ns[NS_MNT].present)
        return spec_err_at(s, e, EINVAL, "linux.readonlyPaths", "needs a mount namespace");
    return 0;
}

/* ---- linux.resources values (also `capsa update`) ---- */

typedef struct {
    char path[96], msg[256];
} res_fault;

#define FAULT(f, p, ...)                                      \
    (snprintf((f)->path, sizeof (f)->path, "%s", (p)),        \
     snprintf((f)->msg, sizeof (f)->msg, __VA_ARGS__), true)

/* Memory values: -1 is unlimited and 0 unset (runc); below -1 is nonsense. */
static bool bad_size(res_fault *f, const char *path, bool has, int64_t v)
{
    if (has && v < -1)
        return FAULT(f, path, "%" PRId64 " is negative: use -1 for no limit or a size in "
                     "bytes", v);
    return false;
}

static bool memory_fault(const spec_memory *m, bool for_update, res_fault *f)
{
    if (bad_size(f, "memory.limit", m->has_limit, m->limit) ||
        bad_size(f, "memory.reservation", m->has_reservation, m->reservation) ||
        bad_size(f, "memory.swap", m->has_swap, m->swap) ||
        bad_size(f, "memory.kernel", m->has_kernel, m->kernel) ||
        bad_size(f, "memory.kernelTCP", m->has_kernel_tcp, m->kernel_tcp))
        return true;
    if (!m->has_swap || m->swap <= 0)
        return false;
    /* OCI swap is memory+swap (v1 memsw): it can never be below the limit. */
    if (m->has_limit && m->limit > 0 && m->swap < m->limit)
        return FAULT(f, "memory.swap", "%" PRId64 " is below memory.limit %" PRId64 " (swap "
                     "is the memory+swap total: use a value >= the limit, or -1 for unlimited "
                     "swap)", m->swap, m->limit);
    if (m->has_limit && m->limit == -1)
        return FAULT(f, "memory.swap", "a swap limit needs a memory limit (memory.limit is -1)");
    if (!for_update && (!m->has_limit || m->limit == 0))
        return FAULT(f, "memory.swap", "a swap limit needs memory.limit");
    return false;
}

static bool cpu_fault(const spec_cpu *c, res_fault *f)
{
    if (c->has_shares && c->shares != 0 && (c->shares < 2 || c->shares > 262144))
        return FAULT(f, "cpu.shares", "%" PRIu64 " is out of range 2..262144", c->shares);
    if (c->has_quota && c->quota < -1)
        return FAULT(f, "cpu.quota", "%" PRId64 " is negative: use -1 for no limit or a "
                     "number of microseconds per period", c->quota);
    if (c->has_quota && c->quota > 0 && c->quota < 1000)
        return FAULT(f, "cpu.quota", "%" PRId64 " is below the kernel's minimum of 1000 "
                     "(1 ms per period)", c->quota);
    if (c->has_period && c->period == 0 && c->has_quota && c->quota > 0)
        return FAULT(f, "cpu.period", "is 0 while cpu.quota is %" PRId64 " (a quota needs a "
                     "period, e.g. 100000)", c->quota);
    if (c->has_period && c->period != 0 && (c->period < 1000 || c->period > 1000000))
        return FAULT(f, "cpu.period", "%" PRIu64 " is out of range 1000..1000000 "
                     "(microseconds)", c->period);
    if (c->has_rt_runtime && c->rt_runtime < -1)
        return FAULT(f, "cpu.realtimeRuntime", "%" PRId64 " is negative: use -1 for no limit",
                     c->rt_runtime);
    if (c->has_rt_runtime && c->rt_runtime > 0 && c->has_rt_period && c->rt_period &&
        (uint64_t)c->rt_runtime > c->rt_period)
        return FAULT(f, "cpu.realtimeRuntime", "%" PRId64 " exceeds cpu.realtimePeriod %"
                     PRIu64, c->rt_runtime, c->rt_period);
    if (c->has_idle && c->idle != 0 && c->idle != 1)
        return FAULT(f, "cpu.idle", "%" PRId64 " must be 0 or 1", c->idle);
    char q[128];
    if (c->cpus && *c->cpus && !units_cpu_list_valid(c->cpus))
        return FAULT(f, "cpu.cpus", "\"%s\" is not a CPU list (like 0-3,6)",
                     p_quote(q, sizeof q, c->cpus));
    if (c->mems && *c->mems && !units_cpu_list_valid(c->mems))
        return FAULT(f, "cpu.mems", "\"%s\" is not a memory node list (like 0-1)",
                     p_quote(q, sizeof q, c->mems));
    return false;
}

static bool devnums_fault(res_fault *f, const char *list, size_t i, int64_t maj, int64_t min)
{
    char p[64];
    snprintf(p, sizeof p, "blockIO.%s[%zu].%s", list, i, maj < 0 ? "major" : "minor");
    if (maj < 0 || min < 0)
        return FAULT(f, p, "%" PRId64 " is negative", maj < 0 ? maj : min);
    return false;
}

static bool blkio_fault(const spec_blkio *b, res_fault *f)
{
    const struct { const char *name; const spec_blkio_throttles *t; } th[] = {
        {"throttleReadBpsDevice", &b->read_bps}, {"throttleWriteBpsDevice", &b->write_bps},
        {"throttleReadIOPSDevice", &b->read_iops}, {"throttleWriteIOPSDevice", &b->write_iops},
    };
    for (size_t i = 0; i < b->n_weight_device; i++)
        if (devnums_fault(f, "weightDevice", i, b->weight_device[i].major,
                          b->weight_device[i].minor))
            return true;
    for (size_t k = 0; k < sizeof th / sizeof th[0]; k++)
        for (size_t i = 0; i < th[k].t->n; i++)
            if (devnums_fault(f, th[k].name, i, th[k].t->v[i].major, th[k].t->v[i].minor))
                return true;
    return false;
}

static bool resources_fault(const spec_resources *r, bool for_update, res_fault *f)
{
    if (memory_fault(&r->memory, for_update, f) || cpu_fault(&r->cpu, f) ||
        blkio_fault(&r->blkio, f))
        return true;
    if (r->has_pids && r->pids_limit < -1)
        return FAULT(f, "pids.limit", "%" PRId64 " is negative: use -1 for no limit or a "
                     "number of tasks", r->pids_limit);
    return false;
}

int spec_validate_resources(const spec_resources *r, bool for_update, capsa_err *e)
{
    res_fault f;
    if (resources_fault(r, for_update, &f))
        return cerr_set(e, EINVAL, "%s: %s", f.path, f.msg);
    return 0;
}

static int check_resources(const spec *s, capsa_err *e)
{
    res_fault f;
    if (!resources_fault(&s->linux.resources, false, &f))
        return 0;
    char path[128];
    snprintf(path, sizeof path, "linux.resources.%s", f.path);
    return spec_err_at(s, e, EINVAL, path, "%s", f.msg);
}

/* Last, so that a config with more than one fault names the more precise one. */
static int check_mount_ns(const spec *s, capsa_err *e)
{
    const spec_linux *l = &s->linux;
    /* Without a mount namespace every mount of the config would be made in the
     * host's mount table and outlive the container (runc 1.1.5 does exactly that;
     * docs/container-setup.md). A mount namespace joined by path is fine. */
    if (!l->ns[NS_MNT].present)
        return spec_err_at(s, e, EINVAL, spec_has_path(s, "linux.namespaces") ?
                           "linux.namespaces" : NULL,
                           "no mount namespace: the container's mounts would be made in the "
                           "host's mount table (runc 1.1.5 does, and leaves them there after "
                           "delete); add {\"type\": \"mount\"} to linux.namespaces");
    return 0;
}

int spec_validate(const spec *s, capsa_err *e)
{
    TRY(check_semantics(s, e));
    TRY(check_resources(s, e));
    TRY(check_unsupported(s, false, e));
    return check_mount_ns(s, e);
}

int spec_validate_process(const spec *s, capsa_err *e)
{
    return check_unsupported(s, true, e);
}
