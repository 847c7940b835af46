/* create, start and run. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/trace.h"
#include "cgroup/cgroup.h"
#include "linux/hooks.h"
#include "linux/linux.h"
#include "linux/mounts.h"
#include "linux/seccomp_filter.h"
#include "linux/selfexe.h"
#include "runtime/container.h"
#include "util/fault.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/names.h"
#include "util/userns.h"

struct spawn_arg {
    const char *path;
    const spec_resources *res;
    const spec *s;
    cstate *st;
    const char *console_socket;
    int master;              /* kept for a foreground run's terminal proxy */
    bool no_cgroup;          /* rootless without delegation: none was made */
    cgroup_join join;        /* init cloned in one go: joins by itself */
    spawn_join sj;
    int dirfd;               /* the state directory, for cgroup.made */
    char *made;              /* the parent cgroups cgroup_setup made */
};

/* cgroup_setup, keeping in the state directory which parents it made (for
 * delete). If that cannot be kept, create fails and removes them itself, from
 * a->made, once its processes are gone. */
static int setup_cgroup(struct spawn_arg *a, pid_t pid, capsa_err *e)
{
    /* org.systemd.property.* annotations: properties of the scope (systemd driver) */
    cgroup_set_systemd_annotations(&a->s->annotations);
    int r = cgroup_setup(a->path, a->res, pid, &a->made, e);
    cgroup_set_systemd_annotations(NULL);
    if (r == 0 && a->made)
        r = state_write_cgroup_made(a->dirfd, a->made, e);
    return r;
}

static int take_console(int fd, void *arg, capsa_err *e)
{
    struct spawn_arg *a = arg;
    if (a->console_socket)
        return rt_send_console(a->console_socket, fd, e);
    a->master = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    return a->master < 0 ? cerr_sys(e, errno, "keep terminal") : 0;
}

static int runtime_hooks(pid_t init, char **state, void *arg, capsa_err *e)
{
    struct spawn_arg *a = arg;
    cstate st = *a->st;
    st.pid = init;
    *state = state_oci_json(&st, "creating", false);
    int r = hooks_run(&a->s->hooks.prestart, "prestart", *state, e);
    if (r == 0)
        r = hooks_run(&a->s->hooks.create_runtime, "createRuntime", *state, e);
    if (r == 0)
        fault_point("hooks");
    return r;
}

/* Socket activation passes through like runc: LISTEN_FDS fds follow stdio and
 * the process sees itself as LISTEN_PID 1. */
static int listen_fds(spec_process *p)
{
    const char *v = getenv("LISTEN_FDS"), *lp = getenv("LISTEN_PID");
    int n = v ? atoi(v) : 0;
    /* Like sd_listen_fds: only fds meant for this very process. */
    if (n <= 0 || !lp || atol(lp) != (long)getpid())
        return 0;
    p->env.v = xrealloc(p->env.v, (p->env.n + 3) * sizeof *p->env.v);
    p->env.v[p->env.n++] = xasprintf("LISTEN_FDS=%d", n);
    p->env.v[p->env.n++] = xstrdup("LISTEN_PID=1");
    p->env.v[p->env.n] = NULL;
    return n;
}

/* The limits a config asks for, named for the rootless warning. */
static void requested_limits(const spec_resources *r, char *buf, size_t len)
{
    buf[0] = 0;
    const struct { bool on; const char *name; } l[] = {
        {r->memory.has_limit, "memory"}, {r->memory.has_swap, "swap"},
        {r->cpu.has_quota || r->cpu.has_shares, "cpu"}, {r->cpu.cpus != NULL, "cpuset"},
        {r->has_pids, "pids"}, {r->blkio.present, "blockIO"},
    };
    for (size_t i = 0; i < sizeof l / sizeof *l; i++)
        if (l[i].on)
            snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", *buf ? ", " : "", l[i].name);
}

static int place_in_cgroup(pid_t pid, void *arg, capsa_err *e)
{
    struct spawn_arg *a = arg;
    int r = setup_cgroup(a, pid, e);
    trace_mark("cgroup");
    if (r == 0)
        fault_point("cgroup");
    if (r == 0 || !userns_rootless() ||
        (e->code != EACCES && e->code != EPERM && e->code != EROFS))
        return r;
    /* Rootless without a delegated cgroup: run without one, and say once which
     * limits are not applied rather than pretend they are. */
    char limits[128];
    requested_limits(a->res, limits, sizeof limits);
    fprintf(stderr, "capsa: warning: no cgroup delegated to uid %u (%s): %s\n",
            (unsigned)geteuid(), e->msg, *limits ? limits : "no limits requested");
    if (*limits)
        fprintf(stderr, "capsa: warning: limits NOT applied: %s\n", limits);
    cerr_clear(e);
    a->no_cgroup = true;
    return 0;
}

/* runtime-spec: the notify fd goes to listenerPath with the container state. */
static int pass_seccomp_fd(pid_t init, int fd, void *arg, capsa_err *e)
{
    struct spawn_arg *a = arg;
    cstate st = *a->st;
    st.pid = init;
    autofree char *state = state_oci_json(&st, "creating", false);
    const spec_seccomp *sc = &a->s->linux.seccomp;
    int r = seccomp_send_listener(sc->listener_path, fd, state, sc->listener_metadata, e);
    /* runc's words, which engines and scripts match on, before capsa's */
    return r < 0 ? cerr_wrap(e, "failed to connect with seccomp agent") : r;
}

/* The devices cgroup gets the config's rules, then the devices every container
 * needs (as runc does), then each linux.devices node: last match wins. */
spec_dev_rule *ct_device_rules(const spec *s, size_t *n)
{
    static const spec_dev_rule std[] = {
        {.allow = true, .type = 'c', .access = "m"},
        {.allow = true, .type = 'b', .access = "m"},
        {.allow = true, .type = 'c', .has_major = true, .major = 1, .has_minor = true, .minor = 3, .access = "rwm"},
        {.allow = true, .type = 'c', .has_major = true, .major = 1, .has_minor = true, .minor = 5, .access = "rwm"},
        {.allow = true, .type = 'c', .has_major = true, .major = 1, .has_minor = true, .minor = 7, .access = "rwm"},
        {.allow = true, .type = 'c', .has_major = true, .major = 1, .has_minor = true, .minor = 8, .access = "rwm"},
        {.allow = true, .type = 'c', .has_major = true, .major = 1, .has_minor = true, .minor = 9, .access = "rwm"},
        {.allow = true, .type = 'c', .has_major = true, .major = 5, .has_minor = true, .minor = 0, .access = "rwm"},
        {.allow = true, .type = 'c', .has_major = true, .major = 5, .has_minor = true, .minor = 2, .access = "rwm"},
        {.allow = true, .type = 'c', .has_major = true, .major = 136, .access = "rwm"},
    };
    const spec_resources *r = &s->linux.resources;
    size_t nstd = sizeof std / sizeof *std;
    spec_dev_rule *v = xcalloc(r->n_devices + nstd + s->linux.n_devices, sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < r->n_devices; i++)
        v[k++] = r->devices[i];
    for (size_t i = 0; i < nstd; i++)
        v[k++] = std[i];
    for (size_t i = 0; i < s->linux.n_devices; i++) {
        const spec_device *d = &s->linux.devices[i];
        if (d->type == 'p')
            continue;
        v[k++] = (spec_dev_rule){.allow = true, .type = d->type == 'b' ? 'b' : 'c',
                                 .has_major = true, .major = d->major, .has_minor = true,
                                 .minor = d->minor, .access = "rwm"};
    }
    *n = k;
    return v;
}

int ct_rootfs_path(const spec *s, const char *bundle, char rootfs[PATH_MAX], capsa_err *e)
{
    autofree char *rootpath = s->root_path[0] == '/' ? xstrdup(s->root_path)
                                                     : xasprintf("%s/%s", bundle, s->root_path);
    if (!realpath(rootpath, rootfs))
        return cerr_sys(e, errno, "root.path %s", rootpath);
    return 0;
}

char *ct_now_rfc3339(void)
{
    struct timespec ts;
    struct tm tm;
    char buf[64];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + k, sizeof buf - k, ".%09ldZ", ts.tv_nsec);
    return xstrdup(buf);
}

int rt_write_pid_file(const char *path, pid_t pid, capsa_err *e)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%d", (int)pid);
    autofree char *abs = path[0] == '/' ? xstrdup(path) : NULL;
    if (!abs) {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd))
            return cerr_sys(e, errno, "getcwd");
        abs = xasprintf("%s/%s", cwd, path);
    }
    if (fs_write_atomic(abs, buf, (size_t)n, 0644, e) < 0)
        return cerr_wrap(e, "pid file");
    return 0;
}

static int resolve_bundle(const char *bundle, char **out, capsa_err *e)
{
    char buf[PATH_MAX];
    if (!realpath(bundle ? bundle : ".", buf))
        return cerr_sys(e, errno, "bundle %s", bundle ? bundle : ".");
    *out = xstrdup(buf);
    return 0;
}

static int create(const rt_ctx *c, const char *id, const rt_create_opts *o, int *master,
                  capsa_err *e)
{
    int r = id_validate(id, e);
    if (r < 0)
        return r;
    autofree char *bundle = NULL;
    if ((r = resolve_bundle(o->bundle, &bundle, e)) < 0)
        return r;
    autofree char *cfg = xasprintf("%s/config.json", bundle);
    spec *s = NULL;
    autofree char *text = NULL;
    size_t text_len = 0;
    if ((r = spec_load_text(cfg, &s, &text, &text_len, e)) < 0)
        return r;
    /* The runtime swaps itself onto a sealed copy (linux/selfexe.h); if it
     * cannot, init re-executes alone from one when it is cloned in one go, and
     * otherwise the whole command re-executes (linux/reinit.h). */
    if (!selfexe_off() && selfexe_swap() < 0 && !linux_spawn_one_clone(s) &&
        (r = selfexe_ensure_sealed_again()) < 0) {
        spec_free(s);
        return cerr_sys(e, -r, "cannot run from a sealed copy of the capsa binary");
    }
    trace_mark("parse config.json");
    if ((r = spec_validate(s, e)) < 0 || (r = seccomp_check(&s->linux.seccomp, e)) < 0 ||
        (!s->has_process &&
                                          (r = cerr_set(e, EINVAL, "config.json: process: missing, nothing to run")) < 0)) {
        spec_free(s);
        return r;
    }
    if (s->process.terminal && !o->console_socket && !master) {
        spec_free(s);
        return cerr_set(e, EINVAL, "process.terminal needs --console-socket when capsa does not stay "
                                   "in the foreground");
    }
    char rootfs[PATH_MAX];
    if ((r = ct_rootfs_path(s, bundle, rootfs, e)) < 0) {
        spec_free(s);
        return r;
    }

    cstate st = {.id = (char *)id, .bundle = bundle, .rootfs = rootfs,
                 .oci_version = s->oci_version, .created = ct_now_rfc3339(),
                 .cgroup_path = cgroup_path_for_ct(s->linux.cgroups_path, id, &s->annotations),
                 .annotations = s->annotations, .has_userns = s->linux.ns[NS_USER].present,
                 .poststart = s->hooks.poststart.n > 0, .poststop = s->hooks.poststop.n > 0};
    char owner[32];
    snprintf(owner, sizeof owner, "%u", (unsigned)getuid());
    st.owner = owner;
    /* The first state.json comes with the directory: a half-made container is
     * visible and `delete --force` knows its cgroup. */
    int dirfd = -1;
    if ((r = ct_claim(c, id, &st, &dirfd, e)) < 0) {
        free(st.created);
        free(st.cgroup_path);
        spec_free(s);
        return r;
    }
    fault_point("statedir");
    /* poststart/poststop run later from this copy, whatever becomes of the bundle */
    if ((s->hooks.poststart.n || s->hooks.poststop.n) &&
        (r = fs_write_atomic_at(dirfd, "config.json", text, text_len, 0600, e)) < 0) {
        capsa_err ignore;
        ct_destroy(c, dirfd, id, &st, &ignore);
        free(st.created);
        free(st.cgroup_path);
        close(dirfd);
        spec_free(s);
        return r;
    }
    spec_resources res = s->linux.resources;
    /* Rootless: no device filter of our own (loading one needs CAP_BPF or
     * CAP_SYS_ADMIN on v2, and a user namespace cannot mknod anyway: devices are
     * bind-mounted), like runc; rules the config asks for still go in. */
    autofree spec_dev_rule *rules = NULL;
    bool rootless = userns_rootless();
    if (!rootless || s->linux.resources.n_devices) {
        rules = ct_device_rules(s, &res.n_devices);
        res.devices = rules;
    }
    struct spawn_arg cga = {.path = st.cgroup_path, .res = &res, .s = s, .st = &st,
                            .console_socket = o->console_socket, .master = -1,
                            .join = {.v2 = -1}, .dirfd = dirfd};
    /* A separate open of the directory: the flock'd fd must not reach init. */
    autoclose int fifo_dirfd = openat(dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    spawn_cfg sc = {.s = s, .rootfs = rootfs, .bundle = bundle, .state_dirfd = fifo_dirfd,
                    .config_text = text, .config_len = text_len, .exe_fd = -1, .blob_fd = -1,
                    .no_pivot = o->no_pivot, .no_new_keyring = o->no_new_keyring,
                    .preserve_fds = o->preserve_fds + listen_fds(&s->process),
                    .on_console_fd = take_console, .on_hooks = runtime_hooks,
                    .on_child = place_in_cgroup, .on_seccomp_fd = pass_seccomp_fd,
                    .arg = &cga};
    /* idmapped mounts: their user namespaces are made here, on the host side */
    int idfds[s->n_mounts + 1];
    for (size_t i = 0; i < s->n_mounts; i++) {
        idfds[i] = -1;
        if (r == 0 && s->mounts[i].uid_mappings.n) {
            int fd = ns_idmap_userns(&s->mounts[i].uid_mappings, &s->mounts[i].gid_mappings, e);
            if (fd < 0)
                r = cerr_wrap(e, "mounts[%zu]", i);
            else
                idfds[i] = fd;
        }
    }
    mount_set_idmap_fds(idfds, s->n_mounts);
    pid_t pid = 0;
    if (r == 0 && mkfifoat(dirfd, "exec.fifo", 0622) < 0)
        r = cerr_sys(e, errno, "create exec fifo");
    if (r == 0)
        fchmodat(dirfd, "exec.fifo", 0622, 0);
    trace_mark("state dir");
    /* Cloned in one go (as root): the cgroup first, init joins it by itself. */
    if (r == 0 && !rootless && linux_spawn_one_clone(s)) {
        if ((r = setup_cgroup(&cga, 0, e)) == 0)
            fault_point("cgroup");
        if (r == 0)
            r = cgroup_join_open(cga.path, &cga.join, e);
        trace_mark("cgroup");
        cga.sj = ct_spawn_join(&cga.join);
        sc.join = &cga.sj;
    }
    if (r == 0)
        r = linux_spawn(&sc, &pid, e);
    if (r == 0) {
        st.pid = pid;
        st.pid_start = proc_start_time(pid);
        if (cga.no_cgroup) {
            free(st.cgroup_path);
            st.cgroup_path = NULL;
        }
        r = state_write(dirfd, &st, e);
    }
    trace_mark("created");
    if (r == 0)
        fault_point("created");
    if (r == 0 && o->pid_file)
        r = rt_write_pid_file(o->pid_file, pid, e);
    if (r < 0) {
        capsa_err ignore;
        ct_destroy(c, dirfd, id, &st, &ignore);
        if (cga.made && st.cgroup_path)   /* in case cgroup.made could not be written */
            cgroup_destroy(st.cgroup_path, cga.made, &ignore);
        /* A failed create still ends the lifecycle with poststop (runtime-spec). */
        if (s->hooks.poststop.n) {
            autofree char *state = state_oci_json(&st, "stopped", false);
            if (hooks_run(&s->hooks.poststop, "poststop", state, &ignore) < 0)
                fprintf(stderr, "capsa: warning: %s\n", ignore.msg);
        }
    }
    if (r == 0 && master)
        *master = cga.master;
    else if (cga.master >= 0)
        close(cga.master);
    for (size_t i = 0; i < s->n_mounts; i++)
        if (idfds[i] >= 0)
            close(idfds[i]);
    mount_set_idmap_fds(NULL, 0);
    cgroup_join_close(&cga.join);
    free(cga.made);
    free(st.created);
    free(st.cgroup_path);
    close(dirfd);
    spec_free(s);
    return r;
}

int rt_create(const rt_ctx *c, const char *id, const rt_create_opts *o, capsa_err *e)
{
    return create(c, id, o, NULL, e);
}

int ct_wait_pidfd(int pidfd, int timeout_ms)
{
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    int r;
    do
        r = poll(&p, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    return r;
}

int rt_start(const rt_ctx *c, const char *id, capsa_err *e)
{
    int dirfd, r = ct_open_locked(c, id, &dirfd, e);
    if (r < 0)
        return r;
    cstate st;
    r = state_read(dirfd, &st, e);
    if (r == -ENOENT)
        r = cerr_set(e, ENOENT, "container \"%s\" does not exist", id);
    if (r < 0) {
        close(dirfd);
        return r;
    }
    /* Declared before the first goto: a jump past a cleanup variable's
     * initialisation would close whatever its stack slot held. */
    autoclose int pidfd = -1;
    autoclose int fifo = -1;
    const char *status = ct_status(dirfd, &st);
    if (strcmp(status, "created")) {
        r = cerr_set(e, EINVAL, "cannot start a container that is %s (only a created one)", status);
        goto out;
    }
    /* The fifo only once init is pinned: opening it lets init go on to exec,
     * so a start that fails after it would leave a "created" container running. */
    pidfd = proc_open_verified(st.pid, st.pid_start);
    /* ENOSYS: no pidfds where capsa runs (valgrind 3.19 has none): the start
     * time check below stands in for the pin, as in runtimes without pidfds. */
    if (pidfd < 0 && pidfd != -ENOSYS) {
        r = cerr_sys(e, -pidfd, "open container init %d of %s", (int)st.pid, id);
        goto out;
    }
    fifo = openat(dirfd, "exec.fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fifo < 0) {
        r = cerr_sys(e, errno, "open exec fifo of %s", id);
        goto out;
    }
    struct pollfd p[2] = {{.fd = fifo, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
    for (;;) {
        int k = poll(p, pidfd >= 0 ? 2 : 1, pidfd >= 0 ? -1 : 100);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            r = cerr_sys(e, errno, "wait for container init");
            goto out;
        }
        if (p[0].revents & POLLIN)
            break;
        if (pidfd >= 0 ? p[1].revents != 0 : proc_start_time(st.pid) != st.pid_start) {
            r = cerr_set(e, ESRCH, "container init exited before start");
            goto out;
        }
    }
    /* "0" then EOF (the fifo is close-on-exec in init): the program runs.
     * Any other bytes are init's error (startContainer hook, execve). */
    char buf[CERR_MSG_MAX];
    size_t n = 0;
    fcntl(fifo, F_SETFL, 0);
    for (;;) {
        ssize_t k = read(fifo, buf + n, sizeof buf - 1 - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        n += (size_t)k;
        if (n == sizeof buf - 1)
            break;
    }
    buf[n] = 0;
    if (n != 1 || buf[0] != '0') {
        unlinkat(dirfd, "exec.fifo", 0);
        r = n == 0 ? cerr_set(e, EIO, "container init did not confirm start")
                   : cerr_set(e, EIO, "%s", buf[0] == '1' ? buf + 1 : buf[0] == '0' ? buf + 1 : buf);
        goto out;
    }
    unlinkat(dirfd, "exec.fifo", 0);
    trace_mark("started");
    if (st.poststart) {
        /* poststart failures are reported, not fatal (runtime-spec). */
        capsa_err he = {0};
        spec *hooks = ct_hooks_config(dirfd, &st);
        if (ct_run_hooks(hooks, &st, "poststart", "running", &he) < 0)
            fprintf(stderr, "capsa: warning: %s\n", he.msg);
        if (hooks)
            spec_free(hooks);
    }
out:
    state_free(&st);
    close(dirfd);
    return r;
}

int rt_run(const rt_ctx *c, const char *id, const rt_create_opts *o, bool detach, bool keep,
           int *status, capsa_err *e)
{
    /* Become the subreaper so init is reparented to us when stage1 exits. */
    if (!detach) {
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        rt_block_signals();
    }
    autoclose int master = -1;
    int r = create(c, id, o, detach ? NULL : &master, e);
    if (r < 0)
        return r;
    pid_t init = 0;
    if ((r = rt_start(c, id, e)) == 0 && !detach) {
        int dirfd;
        if ((r = ct_open_locked(c, id, &dirfd, e)) == 0) {
            cstate st;
            if ((r = state_read(dirfd, &st, e)) == 0) {
                init = st.pid;
                state_free(&st);
            }
            close(dirfd);
        }
        if (r == 0)
            r = rt_wait(init, master, status, e);
        /* Before the delete: the OOM kill counter lives in the cgroup. */
        trace_mark("exited");
        if (r == 0)
            rt_oom_report(c, id);
    }
    if (r < 0 || (!detach && !keep)) {
        capsa_err ignore;
        int d = rt_delete(c, id, true, r < 0 ? &ignore : e);
        if (r == 0)
            r = d;
        trace_mark("deleted");
    }
    return r;
}
