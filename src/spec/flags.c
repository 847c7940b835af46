/* The sandbox flags of `capsa spec` (--mount, --tmpfs, --env, --user, --net,
 * --cap-add/--cap-drop, --seccomp, --readonly, --terminal, ...) applied to the
 * default config, so that one command gives a locked-down sandbox. */
#include "spec/spec.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/units.h"

static json_t *caps_of(json_t *p)
{
    json_t *c = json_object_get(p, "capabilities");
    if (!c) {
        c = json_object();
        json_object_set_new(p, "capabilities", c);
    }
    return c;
}

static const char *const cap_sets[] = {"bounding", "effective", "permitted"};

static int cap_flags(json_t *p, char **drop, char **add, capsa_err *e)
{
    json_t *c = caps_of(p);
    for (char **d = drop; d && *d; d++) {
        bool all = !strcasecmp(*d, "ALL");
        int cap = all ? -1 : spec_cap_from_name(*d);
        if (!all && cap < 0)
            return cerr_set(e, EINVAL, "--cap-drop %s: unknown capability", *d);
        for (size_t s = 0; s < 3; s++) {
            json_t *a = json_object_get(c, cap_sets[s]);
            if (all || !a) {
                json_object_set_new(c, cap_sets[s], json_array());
                continue;
            }
            for (size_t i = json_array_size(a); i-- > 0;)
                if (spec_cap_from_name(json_string_value(json_array_get(a, i))) == cap)
                    json_array_remove(a, i);
        }
    }
    for (char **d = add; d && *d; d++) {
        int cap = spec_cap_from_name(*d);
        if (cap < 0)
            return cerr_set(e, EINVAL, "--cap-add %s: unknown capability", *d);
        for (size_t s = 0; s < 3; s++) {
            json_t *a = json_object_get(c, cap_sets[s]);
            if (!a)
                json_object_set_new(c, cap_sets[s], a = json_array());
            bool have = false;
            for (size_t i = 0; i < json_array_size(a); i++)
                have |= spec_cap_from_name(json_string_value(json_array_get(a, i))) == cap;
            if (!have)
                json_array_append_new(a, json_string(spec_cap_name(cap)));
        }
    }
    return 0;
}

static int mount_flag(json_t *mounts, const char *v, capsa_err *e)
{
    char src[4096], dst[4096], mode[8] = "rw";
    const char *c1 = strchr(v, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c1 || c1 == v || !c1[1] || (c2 && strcmp(c2 + 1, "ro") && strcmp(c2 + 1, "rw")))
        return cerr_set(e, EINVAL, "--mount %s: expected SRC:DST[:ro|rw]", v);
    snprintf(src, sizeof src, "%.*s", (int)(c1 - v), v);
    snprintf(dst, sizeof dst, "%.*s", (int)(c2 ? c2 - c1 - 1 : (long)strlen(c1 + 1)), c1 + 1);
    if (c2)
        snprintf(mode, sizeof mode, "%s", c2 + 1);
    if (dst[0] != '/')
        return cerr_set(e, EINVAL, "--mount %s: destination must be an absolute path", v);
    char abs[4096];
    if (!realpath(src, abs))
        return cerr_sys(e, errno, "--mount %s: source %s", v, src);
    json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:[s, s, s, s]}", "destination",
                                            dst, "type", "bind", "source", abs, "options",
                                            "rbind", "nosuid", "nodev", mode));
    return 0;
}

static int tmpfs_flag(json_t *mounts, const char *v, capsa_err *e)
{
    char dst[4096];
    const char *colon = strchr(v, ':');
    snprintf(dst, sizeof dst, "%.*s", (int)(colon ? colon - v : (long)strlen(v)), v);
    if (dst[0] != '/')
        return cerr_set(e, EINVAL, "--tmpfs %s: destination must be an absolute path", v);
    json_t *opts = json_pack("[s, s, s]", "nosuid", "nodev", "mode=1777");
    if (colon && colon[1]) {
        autofree char *copy = xstrdup(colon + 1);
        for (char *t = strtok(copy, ","); t; t = strtok(NULL, ","))
            json_array_append_new(opts, json_string(t));
    }
    json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:o}", "destination", dst, "type",
                                            "tmpfs", "source", "tmpfs", "options", opts));
    return 0;
}

static int user_flag(json_t *p, const char *v, capsa_err *e)
{
    uint32_t uid, gid;
    bool has_gid;
    if (units_parse_user(v, &uid, &gid, &has_gid) < 0)
        return cerr_set(e, EINVAL, "--user %s: expected UID[:GID] as numbers", v);
    json_object_set_new(p, "user", json_pack("{s:I, s:I}", "uid", (json_int_t)uid, "gid",
                                             (json_int_t)(has_gid ? gid : uid)));
    return 0;
}

static int env_flag(json_t *p, const char *v, capsa_err *e)
{
    const char *eq = strchr(v, '=');
    if (!eq || eq == v)
        return cerr_set(e, EINVAL, "--env %s: expected KEY=VALUE", v);
    json_t *env = json_object_get(p, "env");
    size_t klen = (size_t)(eq - v) + 1;
    for (size_t i = 0; i < json_array_size(env); i++)
        if (!strncmp(json_string_value(json_array_get(env, i)), v, klen)) {
            json_array_set_new(env, i, json_string(v));
            return 0;
        }
    json_array_append_new(env, json_string(v));
    return 0;
}

/* Append {path, args} to hooks.<kind> of the config `c`. */
static void net_hook_add(json_t *c, const char *kind, const char *exe, json_t *args)
{
    json_t *h = json_object_get(c, "hooks");
    if (!h) {
        h = json_object();
        json_object_set_new(c, "hooks", h);
    }
    json_t *l = json_object_get(h, kind);
    if (!l) {
        l = json_array();
        json_object_set_new(h, kind, l);
    }
    json_array_append_new(l, json_pack("{s:s, s:o}", "path", exe, "args", args));
}

/* --net none | host | veth[,bridge=NAME][,subnet=CIDR]. veth is `capsa net-hook`
 * as createRuntime (up) and poststop (down) hooks: any OCI runtime runs them. */
static int net_flag(json_t *c, const char *v, capsa_err *e)
{
    json_t *l = json_object_get(c, "linux");
    if (!strcmp(v, "none"))
        return 0;   /* the default: a new network namespace with only lo, up */
    if (!strcmp(v, "host")) {
        json_t *ns = json_object_get(l, "namespaces");
        for (size_t i = json_array_size(ns); i-- > 0;)
            if (!strcmp(json_string_value(json_object_get(json_array_get(ns, i), "type")),
                        "network"))
                json_array_remove(ns, i);
        return 0;
    }
    if (strcmp(v, "veth") && strncmp(v, "veth,", 5))
        return cerr_set(e, EINVAL, "--net %s: expected none, host or veth[,bridge=NAME][,subnet=CIDR]", v);
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n < 0)
        return cerr_set(e, errno, "--net veth: readlink /proc/self/exe: %s", strerror(errno));
    exe[n] = 0;
    if (exe[0] != '/' || strstr(exe, " (deleted)"))
        return cerr_set(e, ENOENT, "--net veth: the capsa binary %s has no usable path", exe);
    json_t *opts = json_array();
    char *dup = strdup(v + 4), *save = NULL;
    for (char *o = strtok_r(dup, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
        const char *flag = !strncmp(o, "bridge=", 7) ? "--bridge" :
                           !strncmp(o, "subnet=", 7) ? "--subnet" : NULL;
        if (!flag || !o[7]) {
            int r = cerr_set(e, EINVAL, "--net veth: unknown option %s (expected bridge=NAME "
                             "or subnet=CIDR)", o);
            free(dup);
            json_decref(opts);
            return r;
        }
        json_array_append_new(opts, json_string(flag));
        json_array_append_new(opts, json_string(o + 7));
    }
    free(dup);
    json_t *up = json_pack("[s, s]", "capsa", "net-hook"), *down = json_deep_copy(up);
    json_array_extend(up, opts);
    json_array_extend(down, opts);
    json_array_append_new(up, json_string("up"));
    json_array_append_new(down, json_string("down"));
    json_decref(opts);
    net_hook_add(c, "createRuntime", exe, up);
    net_hook_add(c, "poststop", exe, down);
    return 0;
}

static int seccomp_flag(json_t *l, const char *v, capsa_err *e)
{
    if (!strcmp(v, "default"))
        return 0;
    if (!strcmp(v, "unconfined")) {
        json_object_del(l, "seccomp");
        return 0;
    }
    json_error_t je;
    json_t *prof = json_load_file(v, JSON_REJECT_DUPLICATES, &je);
    if (!prof || !json_is_object(prof)) {
        json_decref(prof);
        return cerr_set(e, EINVAL, "--seccomp %s: %d:%d: %s", v, je.line, je.column,
                        prof ? "expected a JSON object" : je.text);
    }
    json_object_set_new(l, "seccomp", prof);
    return 0;
}

int spec_apply_flags(char **text, const spec_flags *f, capsa_err *e)
{
    json_t *c = json_loads(*text, JSON_PRESERVE_ORDER, NULL);
    if (!c)
        return cerr_set(e, EINVAL, "default spec does not parse");
    json_t *p = json_object_get(c, "process"), *l = json_object_get(c, "linux");
    json_t *mounts = json_object_get(c, "mounts");
    int r = 0;
    if (f->readonly >= 0)
        json_object_set_new(json_object_get(c, "root"), "readonly", json_boolean(f->readonly));
    if (f->terminal)
        json_object_set_new(p, "terminal", json_true());
    if (f->cwd) {
        if (f->cwd[0] != '/')
            r = cerr_set(e, EINVAL, "--cwd %s: must be an absolute path", f->cwd);
        else
            json_object_set_new(p, "cwd", json_string(f->cwd));
    }
    if (r == 0 && f->user)
        r = user_flag(p, f->user, e);
    for (char **m = f->mounts; r == 0 && m && *m; m++)
        r = mount_flag(mounts, *m, e);
    for (char **m = f->tmpfs; r == 0 && m && *m; m++)
        r = tmpfs_flag(mounts, *m, e);
    for (char **v = f->env; r == 0 && v && *v; v++)
        r = env_flag(p, *v, e);
    if (r == 0)
        r = cap_flags(p, f->cap_drop, f->cap_add, e);
    if (r == 0 && f->net)
        r = net_flag(c, f->net, e);
    if (r == 0 && f->seccomp)
        r = seccomp_flag(l, f->seccomp, e);
    if (r == 0) {
        char *out = json_dumps(c, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        free(*text);
        *text = out;
    }
    json_decref(c);
    return r;
}
