/* The systemd cgroup driver (--systemd-cgroup), as runc's
 * libcontainer/cgroups/systemd and crun's cgroup-systemd.c: the container's
 * cgroup is a transient scope `prefix-name.scope` in a slice, made by systemd
 * over D-Bus (StartTransientUnit, Delegate=yes, the init's pid, the limits as
 * unit properties); what systemd has no property for is written into the
 * delegated cgroup by the cgroupfs drivers afterwards (as runc does).
 *
 * libsystemd's sd-bus is loaded with dlopen when the driver is used: a capsa
 * that never uses it pays nothing at start (linking it costs ~0.4 ms per exec),
 * libsystemd0 is on every Debian system, and the static build leaves it out. */
#include "cgroup/cgroup.h"
#include "cgroup/convert.h"
#include "cgroup/internal.h"
#include "util/dl.h"
#include "util/userns.h"

#include <errno.h>
#include <inttypes.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if __has_include(<systemd/sd-bus.h>)
#define HAVE_SDBUS 1
#include <dlfcn.h>
#include <systemd/sd-bus.h>
#endif

static bool sd_on;
static const spec_map *sd_annotations;   /* the container's, for org.systemd.property.* */
/* Those of a pending create (cgroup_setup with pid 0): the runtime may clear
 * sd_annotations once cgroup_setup returns, before the scope starts with the init. */
static const spec_map *start_annotations;

void cgroup_set_systemd(bool on) { sd_on = on; }
bool cgroup_systemd(void) { return sd_on; }
bool cg_sd_enabled(void) { return sd_on; }

void cgroup_set_systemd_annotations(const spec_map *ann) { sd_annotations = ann; }

/* The unit a path names: its last component when it is a .scope. */
static const char *unit_of(const char *path)
{
    const char *u = path ? strrchr(path, '/') : NULL;
    u = u ? u + 1 : path;
    size_t n = u ? strlen(u) : 0;
    return n > 6 && !strcmp(u + n - 6, ".scope") ? u : NULL;
}

static bool systemd_booted(void)
{
    struct stat st;
    return stat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

/* Rootless: the scope is the user's own systemd's (systemdUser), as runc and
 * crun decide it: not euid 0, or euid 0 in a user namespace. */

/* The user manager's own cgroup (e.g. /user.slice/user-1000.slice/user@1000.service)
 * once the user bus answered; NULL: the system manager (or not asked yet). */
static char *mgr_cg;

/* The path below the manager: what the unit and its slice are named from. */
static const char *mgr_rel(const char *path)
{
    size_t n = mgr_cg ? strlen(mgr_cg) : 0;
    return n && !strncmp(path, mgr_cg, n) && path[n] == '/' ? path + n : path;
}

/* The slice a path's unit is in: its parent component ("-.slice" at the root). */
static char *slice_of(const char *path)
{
    path = mgr_rel(path);
    const char *end = strrchr(path, '/');
    if (!end || end == path)
        return xstrdup("-.slice");
    const char *s = end;
    while (s > path && s[-1] != '/')
        s--;
    return cg_strndup(s, (size_t)(end - s));
}

#ifdef HAVE_SDBUS

/* ---- libsystemd, loaded on first use ---- */


static struct {
    void *h;
    __typeof__(sd_bus_open_system) *open_system;
    __typeof__(sd_bus_open_user) *open_user;
    __typeof__(sd_bus_flush_close_unref) *close_unref;
    __typeof__(sd_bus_message_new_method_call) *new_call;
    __typeof__(sd_bus_message_append) *append;
    __typeof__(sd_bus_message_append_array) *append_array;
    __typeof__(sd_bus_message_open_container) *open;
    __typeof__(sd_bus_message_close_container) *close;
    __typeof__(sd_bus_message_read) *read;
    __typeof__(sd_bus_message_unref) *msg_unref;
    __typeof__(sd_bus_call) *call;
    __typeof__(sd_bus_call_method) *call_method;
    __typeof__(sd_bus_get_property_string) *get_string;
    __typeof__(sd_bus_match_signal) *match_signal;
    __typeof__(sd_bus_slot_unref) *slot_unref;
    __typeof__(sd_bus_process) *process;
    __typeof__(sd_bus_wait) *wait;
    __typeof__(sd_bus_error_free) *error_free;
    __typeof__(sd_bus_error_has_name) *error_has_name;
} L;

static const char *load_lib(void)
{
    static const char *why;
    if (L.h || why)
        return why;
    if (!dl_available())
        return why = "the static capsa build has no libsystemd (Debian ships no static one)";
    const char *err = NULL;
    if (!(L.h = dl_open("libsystemd.so.0", &err)))
        return why = "libsystemd.so.0 cannot be loaded (install libsystemd0)";
#define SYM(f, n) \
    if (!(*(void **)&L.f = dlsym(L.h, n))) return why = "libsystemd.so.0 lacks " n
    SYM(open_system, "sd_bus_open_system");
    SYM(open_user, "sd_bus_open_user");
    SYM(close_unref, "sd_bus_flush_close_unref");
    SYM(new_call, "sd_bus_message_new_method_call");
    SYM(append, "sd_bus_message_append");
    SYM(append_array, "sd_bus_message_append_array");
    SYM(open, "sd_bus_message_open_container");
    SYM(close, "sd_bus_message_close_container");
    SYM(read, "sd_bus_message_read");
    SYM(msg_unref, "sd_bus_message_unref");
    SYM(call, "sd_bus_call");
    SYM(call_method, "sd_bus_call_method");
    SYM(get_string, "sd_bus_get_property_string");
    SYM(match_signal, "sd_bus_match_signal");
    SYM(slot_unref, "sd_bus_slot_unref");
    SYM(process, "sd_bus_process");
    SYM(wait, "sd_bus_wait");
    SYM(error_free, "sd_bus_error_free");
    SYM(error_has_name, "sd_bus_error_has_name");
#undef SYM
    return NULL;
}

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MGR "org.freedesktop.systemd1.Manager"

/* runc too: "cannot use rootless systemd cgroups manager on cgroup v1". */
#define V1_ROOTLESS "rootless on cgroup v1 (systemd's legacy or hybrid layout): a user's " \
    "systemd is delegated no controllers there, as runc refuses it (use the cgroupfs driver)"

/* Where sd_bus_open_user looks, for messages. */
static char *user_bus_where(void)
{
    const char *a = getenv("DBUS_SESSION_BUS_ADDRESS"), *x = getenv("XDG_RUNTIME_DIR");
    if (a && *a)
        return xasprintf("DBUS_SESSION_BUS_ADDRESS=%s", a);
    if (x && *x)
        return xasprintf("%s/bus", x);
    return xstrdup("neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set");
}

/* The user manager's ControlGroup property (malloc'd, NULL if it has none). */
static char *manager_cgroup(sd_bus *b)
{
    char *cg = NULL;
    sd_bus_error err = SD_BUS_ERROR_NULL;
    if (L.get_string(b, SD_DEST, SD_PATH, SD_MGR, "ControlGroup", &err, &cg) < 0) {
        L.error_free(&err);
        return NULL;
    }
    if (!*cg || !strcmp(cg, "/")) {
        free(cg);
        return NULL;
    }
    return cg;
}

/* The bus of the manager the container's scope belongs to: the system's when
 * capsa is real root; rootless, the user's own systemd over the user bus
 * (DBUS_SESSION_BUS_ADDRESS or $XDG_RUNTIME_DIR/bus: systemdUser), its
 * cgroup kept in mgr_cg. euid 0 in a user namespace without a user bus uses
 * the system's (as crun). */
static int bus_open(sd_bus **b, capsa_err *e)
{
    *b = NULL;
    const char *w = load_lib();
    if (w)
        return cerr_set(e, EOPNOTSUPP, "--systemd-cgroup: %s", w);
    if (!systemd_booted())
        return cerr_set(e, EOPNOTSUPP, "--systemd-cgroup: systemd is not running on this host "
                        "(use the default cgroupfs driver)");
    int r;
    if (userns_rootless()) {
        if (cgroup_mode() != CG_UNIFIED)
            return cerr_set(e, EOPNOTSUPP, "--systemd-cgroup: %s", V1_ROOTLESS);
        if ((r = L.open_user(b)) >= 0) {
            free(mgr_cg);
            if ((mgr_cg = manager_cgroup(*b)))
                return 0;
            L.close_unref(*b);
            *b = NULL;
        }
        /* euid 0 in a user namespace and no user manager: the system's (as crun) */
        if (geteuid() == 0 && L.open_system(b) >= 0)
            return 0;
        autofree char *where = user_bus_where();
        return cerr_set(e, r < 0 ? -r : ENOENT, "--systemd-cgroup: rootless: cannot reach the "
                        "user's systemd (systemd --user) on the user bus (%s): %s", where,
                        r < 0 ? strerror(-r) : "no user manager answers there");
    }
    if ((r = L.open_system(b)) < 0)
        return cerr_set(e, -r, "--systemd-cgroup: cannot connect to the system bus: %s",
                        strerror(-r));
    return 0;
}

/* The controllers delegated to the user manager (its cgroup's cgroup.controllers). */
static char *user_controllers(void)
{
    if (!mgr_cg)
        return NULL;
    autofree char *dir = xasprintf("%s%s", cg_root(), mgr_cg);
    char *c = cg_read_opt(dir, "cgroup.controllers");
    if (!c)
        return NULL;
    size_t n = strlen(c);
    while (n && (c[n - 1] == '\n' || c[n - 1] == ' '))
        c[--n] = 0;
    return c;
}

int cgroup_systemd_usable(bool user, char **why)
{
    *why = NULL;
    const char *w = load_lib();
    if (w) {
        *why = xstrdup(w);
        return 0;
    }
    if (!systemd_booted()) {
        *why = xstrdup("systemd is not running on this host (no /run/systemd/system)");
        return 0;
    }
    sd_bus *b = NULL;
    if (user) {
        if (cgroup_mode() != CG_UNIFIED) {
            *why = xstrdup(V1_ROOTLESS);
            return 0;
        }
        int r = L.open_user(&b);
        if (r < 0) {
            autofree char *where = user_bus_where();
            *why = xasprintf("no user bus (%s): %s", where, strerror(-r));
            return 0;
        }
        free(mgr_cg);
        mgr_cg = manager_cgroup(b);
        L.close_unref(b);
        if (!mgr_cg) {
            *why = xstrdup("the user bus answers but no systemd user manager does");
            return 0;
        }
        autofree char *ctrls = user_controllers();
        *why = xasprintf("the user's systemd at %s, delegating \"%s\"", mgr_cg,
                         ctrls ? ctrls : "");
        return 1;
    }
    int r = L.open_system(&b);
    if (r < 0) {
        *why = xasprintf("cannot connect to the system bus: %s", strerror(-r));
        return 0;
    }
    L.close_unref(b);
    return 1;
}

bool cgroup_systemd_built(void) { return dl_available(); }

/* cgroupsPath's scope, /slice/prefix-name.scope, below the user manager's
 * cgroup when rootless (runc's getSliceFull): what the state records and every
 * other command uses. Takes path; returns it or its replacement. Unchanged when
 * the user bus cannot be reached: the create then fails with bus_open's line. */
char *cg_sd_full_path(char *path)
{
    if (!path || path[0] != '/' || !userns_rootless())
        return path;
    sd_bus *b;
    capsa_err e;
    if (bus_open(&b, &e) < 0)
        return path;
    L.close_unref(b);
    if (!mgr_cg || !strncmp(path, mgr_cg, strlen(mgr_cg)))
        return path;
    char *full = xasprintf("%s%s", mgr_cg, path);
    free(path);
    return full;
}

static int bus_fail(capsa_err *e, int r, sd_bus_error *err, const char *what, const char *unit)
{
    int code = r < 0 ? -r : EIO;
    cerr_set(e, code, "systemd: %s %s: %s", what, unit,
             err && err->message ? err->message : strerror(code));
    if (err)
        L.error_free(err);
    return -code;
}

/* ---- properties ---- */


/* Marshal the list as (sv) entries of the open a(sv). */
static int append_props(sd_bus_message *m, const cg_sd_props *p, capsa_err *e)
{
    int r = 0;
    for (size_t i = 0; i < p->n; i++) {
        const cg_sd_prop *q = &p->v[i];
        switch (q->type) {
        case 't': r = L.append(m, "(sv)", q->name, "t", q->u); break;
        case 'x': r = L.append(m, "(sv)", q->name, "x", q->i); break;
        case 'u': r = L.append(m, "(sv)", q->name, "u", (uint32_t)q->u); break;
        case 'i': r = L.append(m, "(sv)", q->name, "i", (int32_t)q->i); break;
        case 'd': r = L.append(m, "(sv)", q->name, "d", q->d); break;
        case 'b': r = L.append(m, "(sv)", q->name, "b", (int)q->b); break;
        case 's': r = L.append(m, "(sv)", q->name, "s", q->s); break;
        case 'y':
            if ((r = L.open(m, 'r', "sv")) >= 0 && (r = L.append(m, "s", q->name)) >= 0 &&
                (r = L.open(m, 'v', "ay")) >= 0 &&
                (r = L.append_array(m, 'y', q->bytes, q->nbytes)) >= 0 && (r = L.close(m)) >= 0)
                r = L.close(m);
            break;
        case 'D':
            if ((r = L.open(m, 'r', "sv")) < 0 || (r = L.append(m, "s", q->name)) < 0 ||
                (r = L.open(m, 'v', "a(ss)")) < 0 || (r = L.open(m, 'a', "(ss)")) < 0)
                break;
            for (size_t j = 0; r >= 0 && j < q->npairs; j++)
                r = L.append(m, "(ss)", q->pairs[2 * j], q->pairs[2 * j + 1]);
            if (r >= 0 && (r = L.close(m)) >= 0 && (r = L.close(m)) >= 0)
                r = L.close(m);
            break;
        case 'A':   /* a(st): IODeviceWeight, IOReadBandwidthMax, BlockIO... */
            if ((r = L.open(m, 'r', "sv")) < 0 || (r = L.append(m, "s", q->name)) < 0 ||
                (r = L.open(m, 'v', "a(st)")) < 0 || (r = L.open(m, 'a', "(st)")) < 0)
                break;
            for (size_t j = 0; r >= 0 && j < q->npairs; j++)
                r = L.append(m, "(st)", q->pairs[2 * j], q->vals[j]);
            if (r >= 0 && (r = L.close(m)) >= 0 && (r = L.close(m)) >= 0)
                r = L.close(m);
            break;
        default: r = -EINVAL;
        }
        if (r < 0)
            return cerr_set(e, -r, "systemd: build the unit property %s: %s", q->name,
                            strerror(-r));
    }
    return 0;
}

/* The resources' properties (and, at start, the annotations' after them, so
 * they win as in runc), appended to m. */
static int resource_props(sd_bus_message *m, const spec_resources *res, bool start, capsa_err *e)
{
    cg_sd_props p = {0};
    int r = cg_sd_resource_props(res, cgroup_mode() != CG_UNIFIED, &p, e);
    if (r >= 0 && start)
        r = cg_sd_annotation_props(start_annotations ? start_annotations : sd_annotations, &p,
                                   e);
    if (r >= 0)
        r = append_props(m, &p, e);
    cg_sd_props_free(&p);
    return r;
}

/* ---- jobs ---- */

typedef struct {
    const char *job;
    char result[32];
    bool done;
} job_wait;

static int on_job_removed(sd_bus_message *m, void *arg, sd_bus_error *err)
{
    (void)err;
    job_wait *w = arg;
    uint32_t id;
    const char *path, *unit, *result;
    if (L.read(m, "uoss", &id, &path, &unit, &result) < 0)
        return 0;
    if (w->job && !strcmp(path, w->job)) {
        snprintf(w->result, sizeof w->result, "%s", result);
        w->done = true;
    }
    return 0;
}

/* Wait (30 s at most, as runc) for JobRemoved of w->job. */
static int job_wait_done(sd_bus *b, job_wait *w, const char *unit, capsa_err *e)
{
    uint64_t deadline = cg_now_ms() + 30000;
    while (!w->done) {
        int r = L.process(b, NULL);
        if (r < 0)
            return cerr_set(e, -r, "systemd: waiting for the job of %s: %s", unit, strerror(-r));
        if (r > 0)
            continue;
        uint64_t now = cg_now_ms();
        if (now >= deadline)
            return cerr_set(e, ETIMEDOUT, "systemd: timed out waiting for the job of %s", unit);
        if ((r = L.wait(b, (deadline - now) * 1000)) < 0)
            return cerr_set(e, -r, "systemd: waiting for the job of %s: %s", unit, strerror(-r));
    }
    return 0;
}

/* Call Manager.method(unit, "replace") and wait for its job. *result = the job's result. */
static int unit_job(sd_bus *b, const char *method, const char *unit, char *result, size_t rn,
                    sd_bus_error *err)
{
    job_wait w = {0};
    sd_bus_slot *slot = NULL;
    sd_bus_message *reply = NULL;
    int r = L.match_signal(b, &slot, SD_DEST, SD_PATH, SD_MGR, "JobRemoved", on_job_removed, &w);
    if (r < 0)
        return r;
    r = L.call_method(b, SD_DEST, SD_PATH, SD_MGR, method, err, &reply, "ss", unit, "replace");
    if (r >= 0)
        r = L.read(reply, "o", &w.job);
    capsa_err e2;
    if (r >= 0)
        r = job_wait_done(b, &w, unit, &e2) < 0 ? -e2.code : 0;
    if (r >= 0)
        snprintf(result, rn, "%s", w.result);
    if (reply)
        L.msg_unref(reply);
    L.slot_unref(slot);
    return r;
}

static void reset_failed(sd_bus *b, const char *unit)
{
    sd_bus_error err = SD_BUS_ERROR_NULL;
    L.call_method(b, SD_DEST, SD_PATH, SD_MGR, "ResetFailedUnit", &err, NULL, "s", unit);
    L.error_free(&err);
}

static int start_scope(sd_bus *b, const char *path, pid_t pid, const spec_resources *res,
                       capsa_err *e)
{
    const char *unit = unit_of(path);
    autofree char *slice = slice_of(path);
    for (int attempt = 0;; attempt++) {
        sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_slot *slot = NULL;
        job_wait w = {0};
        int r = L.new_call(b, &m, SD_DEST, SD_PATH, SD_MGR, "StartTransientUnit");
        if (r >= 0)
            r = L.append(m, "ss", unit, "replace");
        if (r >= 0)
            r = L.open(m, 'a', "(sv)");
        if (r >= 0)
            r = L.append(m, "(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)", "Description", "s",
                         "capsa container", "Slice", "s", slice, "Delegate", "b", 1,
                         "MemoryAccounting", "b", 1, "CPUAccounting", "b", 1, "IOAccounting",
                         "b", 1, "TasksAccounting", "b", 1, "DefaultDependencies", "b", 0);
        if (r >= 0)
            r = L.append(m, "(sv)", "PIDs", "au", 1, (uint32_t)pid);
        if (r >= 0 && resource_props(m, res, true, e) < 0) {
            L.msg_unref(m);
            return -e->code;
        }
        if (r >= 0)
            r = L.close(m);
        if (r >= 0)
            r = L.append(m, "a(sa(sv))", 0);
        if (r >= 0)
            r = L.match_signal(b, &slot, SD_DEST, SD_PATH, SD_MGR, "JobRemoved", on_job_removed,
                               &w);
        if (r >= 0)
            r = L.call(b, m, 0, &err, &reply);
        L.msg_unref(m);
        if (r < 0 && attempt == 0 && L.error_has_name(&err, "org.freedesktop.systemd1.UnitExists")) {
            /* a failed or dead one left behind: runc resets it and tries once more */
            L.error_free(&err);
            L.slot_unref(slot);
            reset_failed(b, unit);
            continue;
        }
        if (r < 0) {
            L.slot_unref(slot);
            return bus_fail(e, r, &err, "start unit", unit);
        }
        r = L.read(reply, "o", &w.job);
        if (r >= 0)
            r = job_wait_done(b, &w, unit, e);
        else
            cerr_set(e, -r, "systemd: start unit %s: bad reply", unit);
        L.msg_unref(reply);
        L.slot_unref(slot);
        if (r < 0)
            return r;
        if (strcmp(w.result, "done")) {
            reset_failed(b, unit);
            return cerr_set(e, EIO, "systemd: start unit %s: job %s (see journalctl -u %s)",
                            unit, w.result, unit);
        }
        return 0;
    }
}

/* Is `unit` one capsa made for `path`? Its object path in *obj. */
static int our_unit(sd_bus *b, const char *path, char **obj)
{
    const char *unit = unit_of(path);
    sd_bus_error err = SD_BUS_ERROR_NULL;
    sd_bus_message *reply = NULL;
    const char *o;
    *obj = NULL;
    int r = L.call_method(b, SD_DEST, SD_PATH, SD_MGR, "GetUnit", &err, &reply, "s", unit);
    L.error_free(&err);
    if (r < 0)
        return 0;
    if (L.read(reply, "o", &o) >= 0)
        *obj = xstrdup(o);
    L.msg_unref(reply);
    if (!*obj)
        return 0;
    char *desc = NULL, *cg = NULL;
    L.get_string(b, SD_DEST, *obj, "org.freedesktop.systemd1.Unit", "Description", NULL, &desc);
    L.get_string(b, SD_DEST, *obj, "org.freedesktop.systemd1.Scope", "ControlGroup", NULL, &cg);
    const char *p = path[0] == '/' ? path : NULL;
    bool ours = desc && !strcmp(desc, "capsa container") &&
                (!cg || !*cg || (p && !strcmp(cg, p)));
    free(desc);
    free(cg);
    return ours;
}

/* The bus, for a path that names a scope: what check and start share. */
static int open_for(const char *path, sd_bus **b, capsa_err *e)
{
    if (!path)
        return cerr_set(e, EINVAL, "%s", cg_sd_bad_path() ? cg_sd_bad_path() : "--systemd-cgroup: no cgroup path");
    if (!unit_of(path))
        return cerr_set(e, EINVAL, "--systemd-cgroup: cgroup path %s names no .scope unit", path);
    int r = bus_open(b, e);
    if (r == 0 && mgr_cg && mgr_rel(path) == path) {
        L.close_unref(*b);
        return cerr_set(e, EINVAL, "--systemd-cgroup: rootless: cgroup path %s is not below the "
                        "user manager's cgroup %s", path, mgr_cg);
    }
    return r;
}

int cg_sd_check(const char *path, capsa_err *e)
{
    sd_bus *b;
    int rr = open_for(path, &b, e);
    if (rr == 0)
        L.close_unref(b);
    return rr;
}

int cg_sd_start(const char *path, const spec_resources *r, pid_t pid, capsa_err *e)
{
    sd_bus *b;
    int rr = open_for(path, &b, e);
    if (rr < 0)
        return rr;
    rr = start_scope(b, path, pid, r, e);
    start_annotations = NULL;
    L.close_unref(b);
    return rr;
}

int cg_sd_update(const char *path, const spec_resources *res, capsa_err *e)
{
    sd_bus *b;
    capsa_err e0;
    if (!unit_of(path) || !systemd_booted() || load_lib() || bus_open(&b, &e0) < 0)
        return 0;
    autofree char *obj = NULL;
    int rr = 0;
    if (our_unit(b, path, &obj)) {
        const char *unit = unit_of(path);
        sd_bus_message *m = NULL;
        sd_bus_error err = SD_BUS_ERROR_NULL;
        int r = L.new_call(b, &m, SD_DEST, SD_PATH, SD_MGR, "SetUnitProperties");
        if (r >= 0)
            r = L.append(m, "sb", unit, 1);
        if (r >= 0)
            r = L.open(m, 'a', "(sv)");
        if (r >= 0 && (rr = resource_props(m, res, false, e)) < 0) {
            L.msg_unref(m);
            L.close_unref(b);
            return rr;
        }
        if (r >= 0)
            r = L.close(m);
        if (r >= 0)
            r = L.call(b, m, 0, &err, NULL);
        if (m)
            L.msg_unref(m);
        if (r < 0)
            rr = bus_fail(e, r, &err, "set properties of", unit);
        L.error_free(&err);
    }
    L.close_unref(b);
    return rr;
}

int cg_sd_stop(const char *path, capsa_err *e)
{
    (void)e;
    sd_bus *b;
    capsa_err e0;
    if (!unit_of(path) || !systemd_booted() || load_lib() || bus_open(&b, &e0) < 0)
        return 0;
    autofree char *obj = NULL;
    if (our_unit(b, path, &obj)) {
        const char *unit = unit_of(path);
        sd_bus_error err = SD_BUS_ERROR_NULL;
        char result[32] = "";
        int r = unit_job(b, "StopUnit", unit, result, sizeof result, &err);
        L.error_free(&err);
        (void)r;   /* gone already (NoSuchUnit) is fine; runc only warns too */
        reset_failed(b, unit);
    }
    L.close_unref(b);
    return 0;
}

#else /* no <systemd/sd-bus.h> at build time */

int cgroup_systemd_usable(bool user, char **why)
{
    (void)user;
    *why = xstrdup("capsa was built without libsystemd-dev: no systemd driver");
    return 0;
}
bool cgroup_systemd_built(void) { return false; }
char *cg_sd_full_path(char *path) { return path; }
int cg_sd_check(const char *path, capsa_err *e)
{
    (void)path;
    return cerr_set(e, EOPNOTSUPP, "--systemd-cgroup: %s", cg_sd_bad_path() ? cg_sd_bad_path() :
                    "capsa was built without libsystemd-dev: no systemd driver");
}
int cg_sd_start(const char *path, const spec_resources *r, pid_t pid, capsa_err *e)
{
    (void)path; (void)r; (void)pid;
    return cerr_set(e, EOPNOTSUPP, "--systemd-cgroup: %s", cg_sd_bad_path() ? cg_sd_bad_path() :
                    "capsa was built without libsystemd-dev: no systemd driver");
}
int cg_sd_update(const char *path, const spec_resources *r, capsa_err *e)
{
    (void)path; (void)r; (void)e;
    return 0;
}
int cg_sd_stop(const char *path, capsa_err *e)
{
    (void)path; (void)e;
    return 0;
}
#endif

/* ---- create with a pid not yet known (init cloned into the cgroup) ---- */

/* cgroup_setup(pid 0) in systemd mode: a scope cannot start without a pid, so
 * the start waits for the init (cgroup_join_v2_pid / cgroup_enter). */
static struct {
    char *path;
    const spec_resources *r;
    const spec_map *ann;
} pending;

void cg_sd_set_pending(const char *path, const spec_resources *r)
{
    free(pending.path);
    pending.path = path ? xstrdup(path) : NULL;
    pending.r = r;
    pending.ann = path ? sd_annotations : NULL;
}

bool cg_sd_pending(const char *path)
{
    return pending.path && (!path || !strcmp(pending.path, path));
}

const spec_resources *cg_sd_take_pending(char **path)
{
    *path = pending.path;
    pending.path = NULL;
    start_annotations = pending.ann;
    pending.ann = NULL;
    return pending.r;
}
