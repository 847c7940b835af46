/* checkpoint and restore: the one module that talks to CRIU (see criu.h).
 *
 * What makes a capsa container restorable, and how this file provides it:
 * - its namespaces, mounts, tmpfs contents, seccomp filter, capabilities,
 *   no_new_privs, rlimits and memory are CRIU's (the images);
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
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "runtime/container.h"
#include "runtime/criu.h"
#include "util/fs.h"
#include "util/mountinfo.h"
#include "util/names.h"

/* ---- libcriu, loaded at run time ---- */

typedef struct criu_opts criu_opts;
struct cr_features { bool mem_track, lazy_pages, pidfd_store; };

static struct {
    void *h;
    int (*init_opts)(criu_opts **);
    void (*free_opts)(criu_opts *);
    int (*set_service_binary)(criu_opts *, const char *);
    void (*set_pid)(criu_opts *, int);
    void (*set_images_dir_fd)(criu_opts *, int);
    void (*set_work_dir_fd)(criu_opts *, int);
    int (*set_parent_images)(criu_opts *, const char *);
    void (*set_leave_running)(criu_opts *, bool);
    void (*set_ext_unix_sk)(criu_opts *, bool);
    void (*set_tcp_established)(criu_opts *, bool);
    void (*set_shell_job)(criu_opts *, bool);
    void (*set_file_locks)(criu_opts *, bool);
    void (*set_track_mem)(criu_opts *, bool);
    void (*set_log_level)(criu_opts *, int);
    int (*set_log_file)(criu_opts *, const char *);
    int (*set_root)(criu_opts *, const char *);
    void (*set_manage_cgroups)(criu_opts *, bool);
    void (*set_manage_cgroups_mode)(criu_opts *, int);   /* enum criu_cg_mode */
    int (*add_ext_mount)(criu_opts *, const char *, const char *);
    int (*add_cg_root)(criu_opts *, const char *, const char *);
    int (*add_inherit_fd)(criu_opts *, int, const char *);
    int (*add_external)(criu_opts *, const char *);
    int (*dump)(criu_opts *);
    int (*pre_dump)(criu_opts *);
    int (*restore_child)(criu_opts *);
    int (*get_version)(criu_opts *);
    int (*feature_check)(criu_opts *, struct cr_features *, size_t);
} L;

/* enum criu_cg_mode of criu.h (CRIU 4.x) */
enum { CG_IGNORE = 0, CG_SOFT = 3, CG_FULL = 4, CG_STRICT = 5 };

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
    L.h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!L.h)
        return dlerror();
#define SYM(field, name) \
    if (!(*(void **)&L.field = dlsym(L.h, "criu_local_" name))) return "libcriu lacks criu_local_" name
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
    SYM(set_manage_cgroups, "set_manage_cgroups");
    SYM(set_manage_cgroups_mode, "set_manage_cgroups_mode");
    SYM(add_ext_mount, "add_ext_mount");
    SYM(add_cg_root, "add_cg_root");
    SYM(add_inherit_fd, "add_inherit_fd");
    SYM(add_external, "add_external");
    SYM(dump, "dump");
    SYM(pre_dump, "pre_dump");
    SYM(restore_child, "restore_child");
    SYM(get_version, "get_version");
    SYM(feature_check, "feature_check");
#undef SYM
    return NULL;
}

/* New libcriu options talking to our binary; NULL on allocation failure. */
static criu_opts *new_opts(void)
{
    criu_opts *o = NULL;
    if (L.init_opts(&o) < 0 || !o)
        return NULL;
    if (L.set_service_binary(o, g_info.binary) < 0) {
        L.free_opts(o);
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
    criu_opts *o = new_opts();
    ci->version = o ? L.get_version(o) : -ENOMEM;
    if (o)
        L.free_opts(o);
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

static int need_criu(const char *verb, capsa_err *e)
{
    const cr_info *ci = cr_probe();
    if (!ci->available)
        return cerr_set(e, ENOSYS, "%s needs CRIU: %s", verb, ci->why);
    return 0;
}

static int cg_mode_of(const char *m, int *mode, capsa_err *e)
{
    static const struct { const char *name; int v; } t[] = {
        {"soft", CG_SOFT}, {"full", CG_FULL}, {"strict", CG_STRICT}, {"ignore", CG_IGNORE}};
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

static int criu_failed(int r, const char *what, const char *workpath, int workfd,
                       const char *log, capsa_err *e)
{
    char why[768];
    log_reason(workfd, log, why, sizeof why);
    if (*why)
        return cerr_set(e, EIO, "criu %s failed: %s (log: %s/%s)", what, why, workpath, log);
    return cerr_set(e, r < 0 ? -r : EIO, "criu %s failed (%s; log: %s/%s)", what,
                    strerror(r < 0 ? -r : EIO), workpath, log);
}

/* mkdir -p and open DIR (relative to the cwd). */
static int open_dir(const char *path, bool create, int *fd, capsa_err *e)
{
    if (create && fs_mkdir_p(path, 0700, e) < 0)
        return cerr_wrap(e, "image/work path");
    *fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0)
        return cerr_sys(e, errno, "%s", path);
    return 0;
}

/* ---- what the images need besides CRIU's own files ---- */

#define STDIO_FILE "capsa-stdio"     /* three lines: the inherit key of fd 0, 1, 2 */
#define MOUNTS_FILE "capsa-mounts"   /* "bind\tDEST" or "null\tDEST" lines */

static bool is_bind(const spec_mount *m)
{
    if (m->type && !strcmp(m->type, "bind"))
        return true;
    for (size_t i = 0; i < m->options.n; i++)
        if (!strcmp(m->options.v[i], "bind") || !strcmp(m->options.v[i], "rbind"))
            return true;
    return false;
}

static bool mnt_in(const mountinfo *mi, int id)
{
    for (size_t i = 0; i < mi->n; i++)
        if (mi->v[i].id == id)
            return true;
    return false;
}

/* Each stdio fd of init: a pipe's "pipe:[ino]" (rewired at restore), a file on
 * a host mount the container does not have "file[mnt:ino]" (marked external
 * here), otherwise nothing (CRIU handles it or refuses it). */
static int stdio_keys(criu_opts *o, pid_t pid, const mountinfo *mi, char *out, size_t n,
                      capsa_err *e)
{
    *out = 0;
    for (int fd = 0; fd < 3; fd++) {
        char path[64], link[PATH_MAX] = "", key[PATH_MAX + 32] = "";
        snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, fd);
        ssize_t k = readlink(path, link, sizeof link - 1);
        if (k > 0)
            link[k] = 0;
        if (!strncmp(link, "pipe:", 5)) {
            snprintf(key, sizeof key, "%s", link);
        } else if (link[0] == '/') {
            char info[64];
            snprintf(info, sizeof info, "/proc/%d/fdinfo/%d", (int)pid, fd);
            autofree char *text = NULL;
            size_t len;
            capsa_err ignore;
            struct stat st;
            const char *m = fs_read(info, &text, &len, &ignore) == 0 ? strstr(text, "mnt_id:") : NULL;
            int mnt = m ? atoi(m + 7) : -1;
            if (m && !mnt_in(mi, mnt) && stat(path, &st) == 0) {
                snprintf(key, sizeof key, "file[%x:%llx]", (unsigned)mnt,
                         (unsigned long long)st.st_ino);
                if (L.add_external(o, key) < 0)
                    return cerr_set(e, ENOMEM, "criu: external %s", key);
            }
        }
        snprintf(out + strlen(out), n - strlen(out), "%s\n", key);
    }
    return 0;
}

/* Bind mounts (by destination) and masked files (binds of /dev/null). */
static int dump_mounts(criu_opts *o, pid_t pid, const spec *s, char **out, capsa_err *e)
{
    size_t cap = 256, len = 0;
    char *buf = xmalloc(cap);
    buf[0] = 0;
    for (size_t i = 0; i < s->n_mounts + s->linux.masked_paths.n; i++) {
        const char *kind, *dst;
        if (i < s->n_mounts) {
            if (!is_bind(&s->mounts[i]))
                continue;
            kind = "bind";
            dst = s->mounts[i].destination;
        } else {
            dst = s->linux.masked_paths.v[i - s->n_mounts];
            autofree char *p = xasprintf("/proc/%d/root%s", (int)pid, dst);
            struct stat st;
            if (stat(p, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
                continue;
            kind = "null";
        }
        if (strchr(dst, '\n') || strchr(dst, '\t')) {
            free(buf);
            return cerr_set(e, EINVAL, "mount destination %s: cannot be checkpointed", dst);
        }
        if (L.add_ext_mount(o, dst, dst) < 0) {
            free(buf);
            return cerr_set(e, ENOMEM, "criu: external mount %s", dst);
        }
        size_t need = strlen(kind) + strlen(dst) + 3;
        if (len + need >= cap)
            buf = xrealloc(buf, cap = 2 * (len + need));
        len += (size_t)sprintf(buf + len, "%s\t%s\n", kind, dst);
    }
    *out = buf;
    return 0;
}

static int refuse_unsupported(const spec *s, capsa_err *e)
{
    static const char *names[NS__COUNT] = {"pid", "network", "mount", "ipc", "uts", "user",
                                           "cgroup", "time"};
    if (s->has_process && s->process.terminal)
        return cerr_set(e, ENOTSUP, "process.terminal: a container with a terminal cannot be "
                                    "checkpointed or restored by capsa yet");
    for (int i = 0; i < NS__COUNT; i++)
        if (s->linux.ns[i].present && s->linux.ns[i].path)
            return cerr_set(e, ENOTSUP, "linux.namespaces: the %s namespace is joined from %s, "
                            "which capsa cannot checkpoint or restore yet", names[i],
                            s->linux.ns[i].path);
    return 0;
}

/* CRIU refuses a tree whose session leader is outside the container's pid
 * namespace: the init of a container made before capsa's init called setsid(). */
static bool session_outside(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    autofree char *text = NULL;
    size_t len;
    capsa_err ignore;
    const char *l = fs_read(path, &text, &len, &ignore) == 0 ? strstr(text, "\nNSsid:") : NULL;
    if (!l)
        return false;
    const char *end = strchr(l + 1, '\n'), *last = end;
    while (last > l && (last[-1] == ' ' || last[-1] == '\t'))
        last--;
    while (last > l && last[-1] != ' ' && last[-1] != '\t')
        last--;
    return atoi(last) == 0;   /* the innermost namespace's view: 0 = outside */
}

int rt_checkpoint(const rt_ctx *c, const char *id, const rt_checkpoint_opts *o, capsa_err *e)
{
    int mode, r;
    if ((r = cg_mode_of(o->cg_mode, &mode, e)) < 0 || (r = need_criu("checkpoint", e)) < 0)
        return r;
    if (o->pre_dump) {
        struct cr_features f = {.mem_track = true};
        criu_opts *fo = new_opts();
        if (!fo || L.feature_check(fo, &f, sizeof f) < 0 || !f.mem_track)
            r = cerr_set(e, ENOTSUP, "--pre-dump: this kernel has no soft-dirty memory tracking "
                                     "(CONFIG_MEM_SOFT_DIRTY), which CRIU's pre-dump needs");
        if (fo)
            L.free_opts(fo);
        if (r < 0)
            return r;
    }
    int dirfd;
    if ((r = ct_open_locked(c, id, &dirfd, e)) < 0)
        return r;
    cstate st;
    if ((r = state_read(dirfd, &st, e)) < 0) {
        r = ct_state_error(r, id, e);
        close(dirfd);
        return r;
    }
    spec *s = NULL;
    criu_opts *op = NULL;
    autofree char *mounts = NULL;
    autoclose int imgfd = -1;
    autoclose int workfd = -1;
    const char *img = o->image_path ? o->image_path : "checkpoint";
    const char *work = o->work_path ? o->work_path : img;
    const char *log = o->pre_dump ? "pre-dump.log" : "dump.log";
    const char *status = ct_status(dirfd, &st);
    if (strcmp(status, "running")) {
        r = cerr_set(e, EINVAL, "cannot checkpoint a container that is %s (only a running one)",
                     status);
        goto out;
    }
    if (!(s = ct_hooks_config(dirfd, &st))) {
        r = cerr_set(e, ENOENT, "cannot read the container's config.json (bundle %s)", st.bundle);
        goto out;
    }
    if (session_outside(st.pid)) {
        r = cerr_set(e, ENOTSUP, "container init %d is not in a session of its own (its session "
                     "leader is outside the container's pid namespace), which CRIU cannot dump; "
                     "containers whose init calls setsid(), as runc's does, can be", (int)st.pid);
        goto out;
    }
    if ((r = refuse_unsupported(s, e)) < 0 || (r = open_dir(img, true, &imgfd, e)) < 0 ||
        (r = open_dir(work, true, &workfd, e)) < 0)
        goto out;
    if (!(op = new_opts())) {
        r = cerr_set(e, ENOMEM, "criu: options");
        goto out;
    }
    mountinfo mi = {0};
    char keys[3 * (PATH_MAX + 40)];
    if ((r = mountinfo_read(st.pid, &mi, e)) == 0) {
        r = stdio_keys(op, st.pid, &mi, keys, sizeof keys, e);
        mountinfo_free(&mi);
    }
    if (r < 0 || (r = dump_mounts(op, st.pid, s, &mounts, e)) < 0)
        goto out;
    L.set_pid(op, st.pid);
    L.set_images_dir_fd(op, imgfd);
    L.set_work_dir_fd(op, workfd);
    L.set_log_level(op, 4);
    L.set_log_file(op, log);
    L.set_root(op, st.rootfs);
    L.set_manage_cgroups(op, mode != CG_IGNORE);
    L.set_manage_cgroups_mode(op, mode);
    L.set_leave_running(op, o->leave_running || o->pre_dump);
    L.set_tcp_established(op, o->tcp_established);
    L.set_ext_unix_sk(op, o->ext_unix_sk);
    L.set_shell_job(op, o->shell_job);
    L.set_file_locks(op, o->file_locks);
    if (o->parent_path && L.set_parent_images(op, o->parent_path) < 0) {
        r = cerr_set(e, ENOMEM, "criu: parent path");
        goto out;
    }
    if (o->pre_dump)
        L.set_track_mem(op, true);
    if ((r = fs_write_atomic_at(imgfd, STDIO_FILE, keys, strlen(keys), 0600, e)) < 0 ||
        (r = fs_write_atomic_at(imgfd, MOUNTS_FILE, mounts, strlen(mounts), 0600, e)) < 0)
        goto out;
    r = o->pre_dump ? L.pre_dump(op) : L.dump(op);
    if (r < 0) {
        r = criu_failed(r, o->pre_dump ? "pre-dump" : "dump", work, workfd, log, e);
        goto out;
    }
    r = 0;
    /* As runc: without --leave-running the container is gone (CRIU killed it). */
    if (!o->leave_running && !o->pre_dump) {
        capsa_err ignore;
        ct_destroy(c, dirfd, id, &st, &ignore);
    }
out:
    if (op)
        L.free_opts(op);
    if (s)
        spec_free(s);
    state_free(&st);
    close(dirfd);
    return r;
}

/* ---- restore ---- */

/* CRIU puts the processes back where they were, relative to the dumped root
 * cgroup; map that root to the new container's cgroup in every hierarchy. The
 * per-hierarchy paths are read from a helper process moved into the cgroup. */
static int add_cg_roots(criu_opts *op, const char *cg_path, capsa_err *e)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return cerr_sys(e, errno, "pipe");
    pid_t child = fork();
    if (child < 0) {
        close(p[0]);
        close(p[1]);
        return cerr_sys(e, errno, "fork");
    }
    if (child == 0) {
        char b;
        close(p[1]);
        while (read(p[0], &b, 1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    close(p[0]);
    int r = cgroup_enter(cg_path, child, e);
    autofree char *text = NULL;
    size_t len;
    if (r == 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/cgroup", (int)child);
        r = fs_read(path, &text, &len, e);
    }
    close(p[1]);
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
        ;
    if (r < 0)
        return cerr_wrap(e, "cgroup paths");
    /* "4:memory:/a/b", "1:cpu,cpuacct:/x", "0::/x" (cgroup2: CRIU's controller "") */
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = 0;
        if (L.add_cg_root(op, c1 + 1, c2 + 1) < 0)
            return cerr_set(e, ENOMEM, "criu: cgroup root");
    }
    return 0;
}

static const char *mount_source(const spec *s, const char *dst)
{
    for (size_t i = s->n_mounts; i-- > 0;)
        if (!strcmp(s->mounts[i].destination, dst) && s->mounts[i].source)
            return s->mounts[i].source;
    return NULL;
}

/* The external mounts and inherited stdio named at dump, bound to the new
 * bundle's sources and this process's fds 0-2. */
static int restore_externals(criu_opts *op, int imgfd, const spec *s, const char *bundle,
                             capsa_err *e)
{
    autofree char *mounts = NULL, *keys = NULL;
    size_t len;
    capsa_err ignore;
    autoclose int mfd = openat(imgfd, MOUNTS_FILE, O_RDONLY | O_CLOEXEC);
    if (mfd >= 0 && fs_read_fd(mfd, MOUNTS_FILE, &mounts, &len, e) < 0)
        return cerr_wrap(e, "checkpoint image");
    for (char *save = NULL, *l = mounts ? strtok_r(mounts, "\n", &save) : NULL; l;
         l = strtok_r(NULL, "\n", &save)) {
        char *tab = strchr(l, '\t');
        if (!tab)
            continue;
        *tab = 0;
        const char *dst = tab + 1, *src = "/dev/null";
        autofree char *abs = NULL;
        if (!strcmp(l, "bind")) {
            src = mount_source(s, dst);
            if (!src)
                return cerr_set(e, ENOENT, "the checkpoint has a bind mount on %s, which "
                                           "config.json does not have", dst);
            if (src[0] != '/')
                src = abs = xasprintf("%s/%s", bundle, src);
        }
        if (L.add_ext_mount(op, dst, src) < 0)
            return cerr_set(e, ENOMEM, "criu: external mount %s", dst);
    }
    autoclose int kfd = openat(imgfd, STDIO_FILE, O_RDONLY | O_CLOEXEC);
    if (kfd < 0 || fs_read_fd(kfd, STDIO_FILE, &keys, &len, &ignore) < 0)
        return 0;
    char *l = keys;
    for (int fd = 0; fd < 3 && l; fd++) {
        char *nl = strchr(l, '\n');
        if (nl)
            *nl = 0;
        if (*l && fcntl(fd, F_GETFD) >= 0 && L.add_inherit_fd(op, fd, l) < 0)
            return cerr_set(e, ENOMEM, "criu: inherit fd %d", fd);
        l = nl ? nl + 1 : NULL;
    }
    return 0;
}

/* The cgroup (made here, with the config's limits) and CRIU's restore into it;
 * *pid is the restored init, a child of this process. */
static int restore_into(const rt_restore_opts *o, const spec *s, cstate *st, int dirfd,
                        int imgfd, int workfd, const char *work, int mode, pid_t *pid,
                        capsa_err *e)
{
    spec_resources res = s->linux.resources;
    autofree spec_dev_rule *rules = ct_device_rules(s, &res.n_devices);
    res.devices = rules;
    autofree char *made = NULL;
    int r = cgroup_setup(st->cgroup_path, &res, 0, &made, e);
    if (r == 0 && made)
        r = state_write_cgroup_made(dirfd, made, e);
    if (r < 0) {
        if (made) {
            capsa_err ignore;
            cgroup_destroy(st->cgroup_path, made, &ignore);
        }
        return r;
    }
    criu_opts *op = new_opts();
    if (!op)
        return cerr_set(e, ENOMEM, "criu: options");
    if ((r = add_cg_roots(op, st->cgroup_path, e)) == 0)
        r = restore_externals(op, imgfd, s, st->bundle, e);
    if (r == 0) {
        L.set_images_dir_fd(op, imgfd);
        L.set_work_dir_fd(op, workfd);
        L.set_log_level(op, 4);
        L.set_log_file(op, "restore.log");
        L.set_root(op, st->rootfs);
        L.set_manage_cgroups(op, mode != CG_IGNORE);
        L.set_manage_cgroups_mode(op, mode);
        L.set_tcp_established(op, o->tcp_established);
        L.set_ext_unix_sk(op, o->ext_unix_sk);
        L.set_shell_job(op, o->shell_job);
        L.set_file_locks(op, o->file_locks);
        int k = L.restore_child(op);
        if (k <= 0)
            r = criu_failed(k, "restore", work, workfd, "restore.log", e);
        else
            *pid = k;
    }
    L.free_opts(op);
    return r;
}

int rt_restore(const rt_ctx *c, const char *id, const rt_restore_opts *o, int *status,
               capsa_err *e)
{
    int mode, r;
    *status = 0;
    if ((r = id_validate(id, e)) < 0 || (r = cg_mode_of(o->cg_mode, &mode, e)) < 0 ||
        (r = need_criu("restore", e)) < 0)
        return r;
    const char *img = o->image_path ? o->image_path : "checkpoint";
    const char *work = o->work_path ? o->work_path : img;
    autoclose int imgfd = -1;
    autoclose int workfd = -1;
    if ((r = open_dir(img, false, &imgfd, e)) < 0)
        return cerr_wrap(e, "--image-path");
    if (faccessat(imgfd, "inventory.img", R_OK, 0) < 0)
        return cerr_set(e, ENOENT, "--image-path %s holds no checkpoint (no inventory.img)", img);
    if ((r = open_dir(work, true, &workfd, e)) < 0)
        return r;
    char bundle[PATH_MAX], rootfs[PATH_MAX];
    if (!realpath(o->bundle ? o->bundle : ".", bundle))
        return cerr_sys(e, errno, "bundle %s", o->bundle ? o->bundle : ".");
    autofree char *cfg = xasprintf("%s/config.json", bundle);
    spec *s = NULL;
    if ((r = spec_load(cfg, &s, e)) < 0)
        return r;
    if ((r = spec_validate(s, e)) < 0 || (r = refuse_unsupported(s, e)) < 0) {
        spec_free(s);
        return r;
    }
    autofree char *rootpath = s->root_path[0] == '/' ? xstrdup(s->root_path)
                                                     : xasprintf("%s/%s", bundle, s->root_path);
    if (!realpath(rootpath, rootfs)) {
        r = cerr_sys(e, errno, "root.path %s", rootpath);
        spec_free(s);
        return r;
    }
    char owner[32];
    snprintf(owner, sizeof owner, "%u", (unsigned)getuid());
    cstate st = {.id = (char *)id, .bundle = bundle, .rootfs = rootfs,
                 .oci_version = s->oci_version, .created = ct_now_rfc3339(),
                 .cgroup_path = cgroup_path_for(s->linux.cgroups_path, id),
                 .annotations = s->annotations, .has_userns = s->linux.ns[NS_USER].present,
                 .poststart = s->hooks.poststart.n > 0, .poststop = s->hooks.poststop.n > 0,
                 .owner = owner};
    int dirfd = -1;
    pid_t pid = 0;
    if ((r = ct_claim(c, id, &st, &dirfd, e)) == 0)
        r = restore_into(o, s, &st, dirfd, imgfd, workfd, work, mode, &pid, e);
    if (r == 0) {
        st.pid = pid;
        st.pid_start = proc_start_time(pid);
        r = state_write(dirfd, &st, e);
    }
    if (r == 0 && o->pid_file)
        r = rt_write_pid_file(o->pid_file, pid, e);
    if (r < 0 && dirfd >= 0) {
        /* nothing half-made stays: processes, cgroup, state directory */
        capsa_err ignore;
        ct_destroy(c, dirfd, id, &st, &ignore);
    }
    if (pid > 0 && r < 0)
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    if (dirfd >= 0)
        close(dirfd);
    free(st.created);
    free(st.cgroup_path);
    spec_free(s);
    if (r < 0 || o->detach)
        return r;
    /* Foreground, as runc restore: wait for init, then delete the container. */
    rt_block_signals();
    r = rt_wait(pid, -1, status, e);
    capsa_err ignore;
    int d = rt_delete(c, id, true, r < 0 ? &ignore : e);
    return r < 0 ? r : d;
}
