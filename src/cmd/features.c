/* `capsa features`: runtime-spec features.md, listing exactly what capsa does. */
#include <jansson.h>
#include <stdio.h>

#include "cgroup/cgroup.h"
#include "cmd/cmd.h"
#include "linux/mounts.h"
#include "linux/seccomp_filter.h"
#include "runtime/criu.h"
#include "spec/spec.h"

static json_t *str_array(size_t (*list)(const char **, size_t))
{
    const char *names[256];
    size_t n = list(names, 256);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(names[i]));
    return a;
}

int cmd_features(cmd_ctx *c, int argc, char **argv, capsa_err *e)
{
    (void)c;
    int opt, r;
    optind = 0;
    while ((r = cmd_getopt(cmd_find("features"), argc, argv, "", NULL, &opt, e)) == 0 && opt != -1)
        ;
    if (r)
        return r < 0 ? r : 0;
    json_t *mo = str_array(mount_known_options), *ns = json_array(), *caps = json_array();
    for (int t = 0; t < NS__COUNT; t++)
        json_array_append_new(ns, json_string(spec_ns_name((enum spec_ns_type)t)));
    for (int i = 0; i <= spec_cap_last(); i++)
        json_array_append_new(caps, json_string(spec_cap_name(i)));
    json_t *linux = json_pack(
        "{s:o, s:o, s:{s:b, s:b, s:b, s:b, s:b}, s:{s:b, s:o, s:o, s:o, s:o, s:o}, s:{s:b}, "
        "s:{s:b}, s:{s:b}, s:{s:{s:b}}}",
        "namespaces", ns, "capabilities", caps, "cgroup", "v1", 1, "v2", 1, "systemd", (int)cgroup_systemd_built(),
        "systemdUser", (int)cgroup_systemd_built(), "rdma", 0, "seccomp", "enabled", 1, "actions",
        str_array(seccomp_known_actions), "operators", str_array(seccomp_known_operators),
        "archs", str_array(seccomp_known_archs), "knownFlags", str_array(seccomp_known_flags),
        "supportedFlags", str_array(seccomp_supported_flags), "apparmor", "enabled", 1,
        "selinux", "enabled", 0, "intelRdt", "enabled", 0, "mountExtensions", "idmap",
        "enabled", 1);
    /* The options handled outside the flag tables. */
    json_array_append_new(mo, json_string("idmap"));
    json_array_append_new(mo, json_string("ridmap"));
    json_array_append_new(mo, json_string("tmpcopyup"));
    json_t *f = json_pack("{s:s, s:s, s:[ssssss], s:o, s:o, s:{s:s}}", "ociVersionMin", "1.0.0",
                          "ociVersionMax", "1.2.0", "hooks", "prestart", "createRuntime",
                          "createContainer", "startContainer", "poststart", "poststop",
                          "mountOptions", mo, "linux", linux,
                          "annotations", "io.capsa.version", CAPSA_VERSION);
    /* checkpoint/restore: runc's annotation, and which CRIU (or why none) */
    const cr_info *ci = cr_probe();
    json_t *an = json_object_get(f, "annotations");
    json_object_set_new(an, "org.opencontainers.runc.checkpoint.enabled",
                        json_string(ci->available ? "true" : "false"));
    json_object_set_new(an, "io.capsa.criu", ci->available
        ? json_sprintf("CRIU %d.%d.%d (%s)", ci->version / 10000, ci->version / 100 % 100,
                       ci->version % 100, ci->binary)
        : json_sprintf("unavailable: %s", ci->why));
    /* the systemd cgroup driver: built in, and whether it can be used here */
    char *why = NULL;
    json_object_set_new(an, "io.capsa.systemd", cgroup_systemd_usable(false, &why)
        ? json_string("usable (systemd reachable on the system bus)")
        : json_sprintf("%s: %s", cgroup_systemd_built() ? "not usable here" : "left out", why));
    free(why);
    /* rootless (systemdUser): the user's own systemd over the user bus */
    why = NULL;
    json_object_set_new(an, "io.capsa.systemdUser", cgroup_systemd_usable(true, &why)
        ? json_sprintf("usable (%s)", why)
        : json_sprintf("%s: %s", cgroup_systemd_built() ? "not usable here" : "left out", why));
    free(why);
    char *s = json_dumps(f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    puts(s);
    free(s);
    json_decref(f);
    return 0;
}
