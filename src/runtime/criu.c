/* The part of the CRIU module (criu.h) that finds CRIU and loads libcriu, and
 * the helpers dump (criu_dump.c) and restore (criu_restore.c) share; joined
 * namespaces are criu_ns.c's. What makes a capsa container restorable:
 * - its namespaces (a user namespace with its mappings, a time namespace with
 *   its offsets kept continuous), mounts, tmpfs contents, seccomp filter,
 *   capabilities, no_new_privs, rlimits and memory are CRIU's (the images);
 *   namespaces joined by path are external or joined again (criu_ns.c, as runc);
 * - device nodes bound from the host (in a user namespace) are external mounts,
 *   re-bound from the host's node; a restore into a user namespace gives CRIU a
 *   0711 directory of links to the images (criu_restore.c);
 * - a terminal: the slave is dumped alone (orphan-pts-master); at restore CRIU's
 *   new master goes to --console-socket, or is proxied in the foreground;
 * - the root filesystem and every bind mount from the host are "external"
 *   mounts: at dump they are named by their destination, at restore each is
 *   bound from the (new) bundle's rootfs and mount sources, as runc does; so are
 *   masked files (binds of the host's /dev/null);
 * - stdio: a pipe to the outside is re-wired to the restoring capsa's fd 0-2
 *   (runc's descriptors.json rule), a host file outside the container's mounts
 *   (e.g. /dev/null) is an external file, inherited the same way;
 * - the cgroup is made by capsa (limits and the device rules from config.json)
 *   before CRIU puts the processes into it (--cgroup-root per hierarchy);
 * - state.json is written as create writes it, so state/exec/kill/pause/delete
 *   work on the restored container. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/dl.h"
#include "runtime/criu.h"
#include "runtime/criu_int.h"
#include "util/fs.h"

/* ---- libcriu, loaded at run time ---- */

cr_lib crl;

/* snprintf that may cut (paths and messages here are bounded by PATH_MAX). */
__attribute__((format(printf, 3, 4))) static void fmt(char *buf, size_t n, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, n, f, ap);
    va_end(ap);
}

static char g_binary[PATH_MAX];
static cr_info g_info;
static bool g_probed;

void cr_set_binary(const char *path)
{
    fmt(g_binary, sizeof g_binary, "%s", path ? path : "");
}

static bool is_exec(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

static bool in_path(const char *name, char *out, size_t n)
{
    const char *path = getenv("PATH");
    autofree char *dup = xstrdup(path && *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for (char *save = NULL, *d = strtok_r(dup, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        fmt(out, n, "%s/%s", d, name);
        if (is_exec(out))
            return true;
    }
    return false;
}

/* --criu (unless runc's default "criu"), $CAPSA_CRIU, the project-local build
 * next to the binary (build/capsa -> build/criu/sbin/criu), then $PATH. */
static bool find_binary(char *out, size_t n)
{
    const char *env = getenv("CAPSA_CRIU");
    const char *want = *g_binary && strcmp(g_binary, "criu") ? g_binary : env && *env ? env : NULL;
    if (want) {
        if (strchr(want, '/')) {
            fmt(out, n, "%s", want);
            return is_exec(out);
        }
        return in_path(want, out, n);
    }
    char exe[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k > 0 && exe[0] == '/') {
        exe[k] = 0;
        char *slash = strrchr(exe, '/');
        *slash = 0;
        fmt(out, n, "%s/criu/sbin/criu", exe);
        if (is_exec(out))
            return true;
    }
    return in_path("criu", out, n);
}

static const char *load_lib(const char *binary, char *lib, size_t n)
{
    const char *env = getenv("CAPSA_LIBCRIU");
    char prefix[PATH_MAX];
    fmt(prefix, sizeof prefix, "%s", binary);
    for (int i = 0; i < 2; i++) {   /* PREFIX/sbin/criu -> PREFIX */
        char *s = strrchr(prefix, '/');
        if (s)
            *s = 0;
    }
    fmt(lib, n, "%s/lib/libcriu.so.2", prefix);
    if (env && *env)
        fmt(lib, n, "%s", env);
    else if (access(lib, R_OK) < 0)
        fmt(lib, n, "libcriu.so.2");
    const char *why = NULL;
    if (!(crl.h = dl_open(lib, &why)))
        return why;
#define SYM(field, name) \
    if (!(*(void **)&crl.field = dlsym(crl.h, "criu_local_" name))) return "libcriu lacks criu_local_" name
    SYM(init_opts, "init_opts");
    SYM(free_opts, "free_opts");
    SYM(set_service_binary, "set_service_binary");
    SYM(set_pid, "set_pid");
    SYM(set_images_dir_fd, "set_images_dir_fd");
    SYM(set_work_dir_fd, "set_work_dir_fd");
    SYM(set_parent_images, "set_parent_images");
    SYM(set_leave_running, "set_leave_running");
    SYM(set_ext_unix_sk, "set_ext_unix_sk");
    SYM(set_tcp_established, "set_tcp_established");
    SYM(set_shell_job, "set_shell_job");
    SYM(set_file_locks, "set_file_locks");
    SYM(set_track_mem, "set_track_mem");
    SYM(set_log_level, "set_log_level");
    SYM(set_log_file, "set_log_file");
    SYM(set_root, "set_root");
    SYM(set_freeze_cgroup, "set_freeze_cgroup");
    SYM(set_manage_cgroups, "set_manage_cgroups");
    SYM(set_manage_cgroups_mode, "set_manage_cgroups_mode");
    SYM(add_ext_mount, "add_ext_mount");
    SYM(add_cg_root, "add_cg_root");
    SYM(add_inherit_fd, "add_inherit_fd");
    SYM(add_external, "add_external");
    SYM(join_ns_add, "join_ns_add");
    SYM(set_orphan_pts_master, "set_orphan_pts_master");
    SYM(set_notify_cb, "set_notify_cb");
    SYM(dump, "dump");
    SYM(pre_dump, "pre_dump");
    SYM(restore_child, "restore_child");
    SYM(get_version, "get_version");
    SYM(feature_check, "feature_check");
#undef SYM
    if (!(*(void **)&crl.get_orphan_pts_master_fd = dlsym(crl.h, "criu_get_orphan_pts_master_fd")))
        return "libcriu lacks criu_get_orphan_pts_master_fd";
    return NULL;
}

criu_opts *cr_new_opts(void)
{
    criu_opts *o = NULL;
    if (crl.init_opts(&o) < 0 || !o)
        return NULL;
    if (crl.set_service_binary(o, g_info.binary) < 0) {
        crl.free_opts(o);
        return NULL;
    }
    return o;
}

const cr_info *cr_probe(void)
{
    cr_info *ci = &g_info;
    if (g_probed)
        return ci;
    g_probed = true;
    if (!find_binary(ci->binary, sizeof ci->binary)) {
        fmt(ci->why, sizeof ci->why, "no criu binary found (%s; scripts/build-criu.sh builds "
                 "one into build/criu)", *g_binary && strcmp(g_binary, "criu") ? g_binary :
                 getenv("CAPSA_CRIU") ? "$CAPSA_CRIU" : "not next to capsa nor on $PATH");
        return ci;
    }
    const char *err = load_lib(ci->binary, ci->lib, sizeof ci->lib);
    if (err) {
        fmt(ci->why, sizeof ci->why, "cannot load libcriu (%s): %s", ci->lib, err);
        return ci;
    }
    criu_opts *o = cr_new_opts();
    ci->version = o ? crl.get_version(o) : -ENOMEM;
    if (o)
        crl.free_opts(o);
    if (ci->version <= 0) {
        fmt(ci->why, sizeof ci->why, "%s does not answer its version (not a working criu)",
                 ci->binary);
        ci->version = 0;
    } else if (ci->version < CR_MIN_VERSION) {
        fmt(ci->why, sizeof ci->why, "%s is CRIU %d.%d, too old for this kernel (capsa needs "
                 ">= 4.1; scripts/build-criu.sh builds 4.2)", ci->binary, ci->version / 10000,
                 ci->version / 100 % 100);
    } else {
        ci->available = true;
    }
    return ci;
}

int cr_need(const char *verb, capsa_err *e)
{
    const cr_info *ci = cr_probe();
    if (!ci->available)
        return cerr_set(e, ENOSYS, "%s needs CRIU: %s", verb, ci->why);
    return 0;
}

int cr_cg_mode(const char *m, int *mode, capsa_err *e)
{
    static const struct { const char *name; int v; } t[] = {
        {"soft", CR_CG_SOFT}, {"full", CR_CG_FULL}, {"strict", CR_CG_STRICT}, {"ignore", CR_CG_IGNORE}};
    if (!m || !*m)
        m = "soft";
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (!strcmp(m, t[i].name)) {
            *mode = t[i].v;
            return 0;
        }
    return cerr_set(e, EINVAL, "--manage-cgroups-mode %s: must be soft, full, strict or ignore", m);
}

/* The first real error line of a CRIU log, without its "(00.1) Error (file:line): ". */
static void log_reason(int workfd, const char *name, char *out, size_t n)
{
    *out = 0;
    autoclose int fd = openat(workfd, name, O_RDONLY | O_CLOEXEC);
    autofree char *text = NULL;
    size_t len;
    capsa_err ignore;
    if (fd < 0 || fs_read_fd(fd, name, &text, &len, &ignore) < 0)
        return;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *p = strstr(l, "Error (");
        /* harmless without CAP_SYS_RESOURCE (docs/checkpoint.md) */
        if (!p || strstr(l, "RLIMIT_NOFILE") || strstr(l, "FAILED"))
            continue;
        char *q = strstr(p, "): ");
        snprintf(out, n, "%s", q ? q + 3 : p);
        return;   /* the first error is the cause; later ones are its consequences */
    }
}

int cr_failed(int r, const char *what, const char *workpath, int workfd, const char *log,
              capsa_err *e)
{
    char why[768];
    log_reason(workfd, log, why, sizeof why);
    if (*why)
        return cerr_set(e, EIO, "criu %s failed: %s (log: %s/%s)", what, why, workpath, log);
    return cerr_set(e, r < 0 ? -r : EIO, "criu %s failed (%s; log: %s/%s)", what,
                    strerror(r < 0 ? -r : EIO), workpath, log);
}

/* mkdir -p and open DIR (relative to the cwd). */
int cr_open_dir(const char *path, bool create, int *fd, capsa_err *e)
{
    if (create && fs_mkdir_p(path, 0700, e) < 0)
        return cerr_wrap(e, "image/work path");
    *fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0)
        return cerr_sys(e, errno, "%s", path);
    return 0;
}

bool cr_is_bind(const spec_mount *m)
{
    if (m->type && !strcmp(m->type, "bind"))
        return true;
    for (size_t i = 0; i < m->options.n; i++)
        if (!strcmp(m->options.v[i], "bind") || !strcmp(m->options.v[i], "rbind"))
            return true;
    return false;
}
