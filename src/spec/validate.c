/* Checks across fields, after parsing, and refusal of what capsa does not
 * implement yet: a container that silently runs without the seccomp filter or
 * hook it was configured with is worse than one that does not start. */
#include "spec/spec_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Is the field set (in entry i, for fields of array entries)? */
#define USED(name, expr)                              \
    static bool name(const spec *s, size_t i)         \
    {                                                 \
        (void)i;                                      \
        return (expr);                                \
    }

USED(terminal_used, s->has_process && s->process.terminal)
USED(intel_rdt_used, s->linux.has_intel_rdt)
USED(scheduler_used, s->process.has_scheduler)
USED(ioprio_used, s->process.has_io_priority)
USED(rdma_used, s->linux.resources.has_rdma)
USED(prestart_used, s->hooks.prestart.n > 0)
USED(create_runtime_used, s->hooks.create_runtime.n > 0)
USED(create_container_used, s->hooks.create_container.n > 0)
USED(start_container_used, s->hooks.start_container.n > 0)
USED(poststart_used, s->hooks.poststart.n > 0)
USED(poststop_used, s->hooks.poststop.n > 0)
USED(mount_label_used, s->linux.mount_label && *s->linux.mount_label)
USED(selinux_used, s->process.selinux_label && *s->process.selinux_label)
USED(apparmor_used, s->process.apparmor_profile && *s->process.apparmor_profile)
USED(mount_uidmap_used, s->mounts[i].uid_mappings.n > 0)
USED(mount_gidmap_used, s->mounts[i].gid_mappings.n > 0)
USED(affinity_used,
     s->process.exec_cpu_affinity_initial_s || s->process.exec_cpu_affinity_final_s)

static size_t n_mounts(const spec *s)
{
    return s->n_mounts;
}


/* Fields parsed but not implemented. When a feature lands, delete its row. */
static const struct {
    const char *path;                    /* "%zu" is the array index, with count */
    bool (*used)(const spec *s, size_t i);
    size_t (*count)(const spec *s);      /* NULL: not an array */
} unsupported[] = {
    {"hooks.prestart", prestart_used, NULL},
    {"hooks.createRuntime", create_runtime_used, NULL},
    {"hooks.createContainer", create_container_used, NULL},
    {"hooks.startContainer", start_container_used, NULL},
    {"hooks.poststart", poststart_used, NULL},
    {"hooks.poststop", poststop_used, NULL},
    {"process.terminal", terminal_used, NULL},
    {"linux.intelRdt", intel_rdt_used, NULL},
    {"process.scheduler", scheduler_used, NULL},
    {"process.ioPriority", ioprio_used, NULL},
    {"process.execCPUAffinity", affinity_used, NULL},
    {"linux.resources.rdma", rdma_used, NULL},
    {"mounts[%zu].uidMappings", mount_uidmap_used, n_mounts},
    {"mounts[%zu].gidMappings", mount_gidmap_used, n_mounts},
    {"linux.mountLabel", mount_label_used, NULL},
    {"process.selinuxLabel", selinux_used, NULL},
    {"process.apparmorProfile", apparmor_used, NULL},
};

static int check_unsupported(const spec *s, capsa_err *e)
{
    for (size_t t = 0; t < sizeof unsupported / sizeof unsupported[0]; t++) {
        size_t n = unsupported[t].count ? unsupported[t].count(s) : 1;
        for (size_t i = 0; i < n; i++) {
            if (!unsupported[t].used(s, i))
                continue;
            char path[128];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
            snprintf(path, sizeof path, unsupported[t].path, i);
#pragma GCC diagnostic pop
            return spec_err_at(s, e, ENOTSUP, path, "not supported by capsa yet");
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

static int check_semantics(const spec *s, capsa_err *e)
{
    const spec_linux *l = &s->linux;
    if (!s->root_path)
        return spec_err_at(s, e, EINVAL, "", "missing required field \"root\"");
    TRY(check_userns(s, e));

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

int spec_validate(const spec *s, capsa_err *e)
{
    TRY(check_semantics(s, e));
    return check_unsupported(s, e);
}
