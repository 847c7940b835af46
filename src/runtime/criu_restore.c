/* restore: the restore half of the CRIU module (criu.h; what is restorable and
 * how is said in criu.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "runtime/container.h"
#include "runtime/criu.h"
#include "runtime/criu_int.h"
#include "linux/resolve.h"
#include "util/fs.h"
#include "util/mountinfo.h"
#include "util/names.h"

/* CRIU puts the processes back where they were, relative to the dumped root
 * cgroup; map that root to the new container's cgroup in every hierarchy. The
 * per-hierarchy paths are read from a helper process moved into the cgroup. */
static int add_cg_roots(criu_opts *op, const char *cg_path, char **cgtext, capsa_err *e)
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
    *cgtext = xstrdup(text);
    /* "4:memory:/a/b", "1:cpu,cpuacct:/x", "0::/x" (cgroup2: CRIU's controller "") */
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = 0;
        if (crl.add_cg_root(op, c1 + 1, c2 + 1) < 0)
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
/* The new container's directory in the cgroup hierarchy the host mounts at
 * HMNT: HMNT + its path there (cgtext: the container's /proc/PID/cgroup). */
static char *cgroup_source(const char *hmnt, const char *cgtext, capsa_err *e)
{
    mountinfo host = {0};
    if (mountinfo_read(getpid(), &host, e) < 0)
        return NULL;
    const mount_entry *m = mountinfo_at(&host, hmnt);
    bool v2 = m && !strcmp(m->fstype, "cgroup2");
    char *out = NULL;
    autofree char *copy = xstrdup(cgtext);
    for (char *save = NULL, *l = m ? strtok_r(copy, "\n", &save) : NULL; l && !out;
         l = strtok_r(NULL, "\n", &save)) {
        char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = 0;
        bool match = v2 ? !c1[1] : c1[1] && !strcmp(m->fstype, "cgroup");
        char *save2 = NULL;
        for (char *c = match && !v2 ? strtok_r(c1 + 1, ",", &save2) : NULL; c;
             c = strtok_r(NULL, ",", &save2))
            match = match && mountinfo_opt_has(m->super_opts, c);
        if (match)
            out = xasprintf("%s%s", hmnt, strcmp(c2 + 1, "/") ? c2 + 1 : "");
    }
    mountinfo_free(&host);
    if (!out)
        cerr_set(e, ENOENT, "the checkpoint has a cgroup mount of the host's %s, which is "
                            "not a cgroup hierarchy here", hmnt);
    return out;
}

/* The host's node at PATH is the device WHAT ("c1:3") a "dev" line names. */
static int host_dev(const char *path, const char *what, capsa_err *e)
{
    char type;
    unsigned maj, min;
    struct stat st;
    if (sscanf(what, "%c%u:%u", &type, &maj, &min) != 3)
        return cerr_set(e, EINVAL, "checkpoint image: bad device line for %s", path);
    if (lstat(path, &st) < 0)
        return cerr_sys(e, errno, "the checkpoint binds the host's device %s", path);
    if (!(type == 'b' ? S_ISBLK(st.st_mode) : S_ISCHR(st.st_mode)) ||
        major(st.st_rdev) != maj || minor(st.st_rdev) != min)
        return cerr_set(e, EINVAL, "the checkpoint binds the host's device %s (%c %u:%u), "
                        "which is another file here", path, type, maj, min);
    return 0;
}

static int restore_externals(criu_opts *op, int imgfd, const spec *s, const char *bundle,
                             const char *cgtext, capsa_err *e)
{
    autofree char *mounts = NULL, *keys = NULL;
    size_t len;
    int r;
    capsa_err ignore;
    autoclose int mfd = openat(imgfd, CR_MOUNTS_FILE, O_RDONLY | O_CLOEXEC);
    if (mfd >= 0 && fs_read_fd(mfd, CR_MOUNTS_FILE, &mounts, &len, e) < 0)
        return cerr_wrap(e, "checkpoint image");
    for (char *save = NULL, *l = mounts ? strtok_r(mounts, "\n", &save) : NULL; l;
         l = strtok_r(NULL, "\n", &save)) {
        char *tab = strchr(l, '\t');
        if (!tab)
            continue;
        *tab = 0;
        const char *dst = tab + 1, *src = "/dev/null";
        autofree char *abs = NULL;
        if (!strcmp(l, "cgroup")) {
            char *t2 = strchr(dst, '\t');
            if (!t2)
                continue;
            *t2 = 0;
            if (!(src = abs = cgroup_source(t2 + 1, cgtext, e)))
                return -ENOENT;
        } else if (!strcmp(l, "dev")) {
            char *t2 = strchr(dst, '\t');
            if (!t2)
                continue;
            *t2 = 0;
            if ((r = host_dev(dst, t2 + 1, e)) < 0)
                return r;
            src = dst;
        } else if (!strcmp(l, "bind")) {
            src = mount_source(s, dst);
            if (!src)
                return cerr_set(e, ENOENT, "the checkpoint has a bind mount on %s, which "
                                           "config.json does not have", dst);
            if (src[0] != '/')
                src = abs = xasprintf("%s/%s", bundle, src);
        }
        if (crl.add_ext_mount(op, dst, src) < 0)
            return cerr_set(e, ENOMEM, "criu: external mount %s", dst);
    }
    autoclose int kfd = openat(imgfd, CR_STDIO_FILE, O_RDONLY | O_CLOEXEC);
    if (kfd < 0 || fs_read_fd(kfd, CR_STDIO_FILE, &keys, &len, &ignore) < 0)
        return 0;
    char *l = keys;
    for (int fd = 0; fd < 3 && l; fd++) {
        char *nl = strchr(l, '\n');
        if (nl)
            *nl = 0;
        if (*l && fcntl(fd, F_GETFD) >= 0 && crl.add_inherit_fd(op, fd, l) < 0)
            return cerr_set(e, ENOMEM, "criu: inherit fd %d", fd);
        l = nl ? nl + 1 : NULL;
    }
    return 0;
}

static bool under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    return !strncmp(path, dir, n) && (path[n] == '/' || (n == 1 && dir[0] == '/'));
}

/* As runc before a restore: the mount points config.json needs, made in the
 * rootfs where missing (an imported checkpoint's fresh rootfs lacks those made at
 * create, e.g. /etc/hosts), except inside other mounts: CRIU restores a tmpfs's
 * contents and the kernel filesystems, and a bind mount's are the host's. */
static int make_mountpoints(const spec *s, const char *rootfs, const char *bundle,
                            capsa_err *e)
{
    autoclose int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return cerr_sys(e, errno, "root.path %s", rootfs);
    for (size_t i = 0; i < s->n_mounts; i++) {
        const spec_mount *m = &s->mounts[i];
        bool skip = false;
        for (size_t j = 0; j < s->n_mounts && !skip; j++) {
            const spec_mount *o = &s->mounts[j];
            skip = j != i && under(m->destination, o->destination);
        }
        if (skip)
            continue;
        bool file = false;
        if (cr_is_bind(m) && m->source) {
            autofree char *src = m->source[0] == '/' ? xstrdup(m->source)
                                                     : xasprintf("%s/%s", bundle, m->source);
            struct stat st;
            file = stat(src, &st) == 0 && !S_ISDIR(st.st_mode);
        }
        int fd = file ? root_mkfile(rootfd, m->destination, e)
                      : root_mkdir_p(rootfd, m->destination, 0755, e);
        if (fd < 0)
            return cerr_wrap(e, "mount point %s", m->destination);
        close(fd);
    }
    return 0;
}

/* One per restoring capsa: two restores from one image dir do not meet. */
static const char *userns_dir(void)
{
    static char name[48];
    snprintf(name, sizeof name, ".capsa-userns-images-%d", (int)getpid());
    return name;
}

/* Remove the directory userns_images() makes, with its links. */
static void unlink_userns_images(int imgfd)
{
    int dfd = openat(imgfd, userns_dir(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return;
    DIR *d = fdopendir(dfd);
    for (struct dirent *de; d && (de = readdir(d));)
        if (de->d_name[0] != '.')
            unlinkat(dfd, de->d_name, 0);
    if (d)
        closedir(d);
    else
        close(dfd);
    unlinkat(imgfd, userns_dir(), AT_REMOVEDIR);
}

/* With a user namespace, CRIU opens some images from inside it (as the
 * container's root, a host uid like 100000), through the image directory's fd:
 * that directory must be searchable by it, and an image dir is 0700 (runc's,
 * capsa's). CRIU is given a directory made for the restore inside the image dir
 * instead, mode 0711, holding hard links to the images (0644, as CRIU makes
 * them): other users still cannot reach it past the image dir. *fd = -1 when
 * the images dir is searchable by everyone already. */
static int userns_images(int imgfd, int *fd, capsa_err *e)
{
    *fd = -1;
    struct stat st;
    if (fstat(imgfd, &st) < 0)
        return cerr_sys(e, errno, "image path");
    if ((st.st_mode & S_IXOTH))
        return 0;
    unlink_userns_images(imgfd);   /* a left-over of a killed capsa with our pid */
    if (mkdirat(imgfd, userns_dir(), 0711) < 0)
        return cerr_sys(e, errno, "image path: make %s for a user namespace restore",
                        userns_dir());
    int dfd = openat(imgfd, userns_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r = 0;
    if (dfd < 0 || fchmod(dfd, 0711) < 0)
        r = cerr_sys(e, errno, "image path: %s", userns_dir());
    DIR *d = r == 0 ? fdopendir(dup(imgfd)) : NULL;
    if (r == 0 && !d)
        r = cerr_sys(e, errno, "image path");
    for (struct dirent *de; r == 0 && (de = readdir(d));) {
        if (de->d_type != DT_REG || de->d_name[0] == '.')
            continue;
        if (linkat(imgfd, de->d_name, dfd, de->d_name, 0) < 0)
            r = cerr_sys(e, errno, "image path: link %s into %s (a user namespace restore "
                         "needs a writable image dir)", de->d_name, userns_dir());
    }
    if (d)
        closedir(d);
    if (r < 0) {
        if (dfd >= 0)
            close(dfd);
        unlink_userns_images(imgfd);
        return r;
    }
    *fd = dfd;
    return 0;
}

/* A terminal: CRIU makes a new pty pair for the restored slave (its
 * orphan-pts-master option, as runc) and hands the master to capsa in the
 * "orphan-pts-master" notification; it goes to --console-socket as create sends
 * it, or, in a foreground restore without one, is kept (g_master) for rt_wait to
 * proxy, as runc does. A failure here fails the restore. */
static const char *g_console;
static capsa_err g_console_err;
static int g_master = -1;

static int on_notify(char *action, void *arg)
{
    (void)arg;
    if (strcmp(action, "orphan-pts-master"))
        return 0;
    int fd = crl.get_orphan_pts_master_fd();
    if (fd < 0) {
        cerr_set(&g_console_err, EIO, "criu sent no terminal master");
        return -1;
    }
    int r = 0;
    if (g_console)
        r = rt_send_console(g_console, fd, &g_console_err);
    else if (g_master < 0 && (g_master = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)
        r = cerr_sys(&g_console_err, errno, "keep the terminal master");
    close(fd);
    return r < 0 ? -1 : 0;
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
    int r = make_mountpoints(s, st->rootfs, st->bundle, e);
    if (r < 0)
        return r;
    cgroup_set_systemd_annotations(&s->annotations);  /* as create: scope properties */
    r = cgroup_setup(st->cgroup_path, &res, 0, &made, e);
    cgroup_set_systemd_annotations(NULL);
    if (r == 0 && made)
        r = state_write_cgroup_made(dirfd, made, e);
    if (r < 0) {
        if (made) {
            capsa_err ignore;
            cgroup_destroy(st->cgroup_path, made, &ignore);
        }
        return r;
    }
    criu_opts *op = cr_new_opts();
    if (!op)
        return cerr_set(e, ENOMEM, "criu: options");
    int nsfds[CR_NS_FDS], nns = 0;
    autofree char *cgtext = NULL;
    if ((r = add_cg_roots(op, st->cgroup_path, &cgtext, e)) == 0 &&
        (r = restore_externals(op, imgfd, s, st->bundle, cgtext, e)) == 0)
        r = cr_ns_restore(op, s, nsfds, &nns, e);
    int usernsfd = -1;
    if (r == 0 && s->linux.ns[NS_USER].present)
        r = userns_images(imgfd, &usernsfd, e);
    if (r == 0) {
        crl.set_images_dir_fd(op, usernsfd >= 0 ? usernsfd : imgfd);
        crl.set_work_dir_fd(op, workfd);
        crl.set_log_level(op, 4);
        crl.set_log_file(op, "restore.log");
        crl.set_root(op, st->rootfs);
        crl.set_manage_cgroups(op, mode != CR_CG_IGNORE);
        crl.set_manage_cgroups_mode(op, mode);
        crl.set_tcp_established(op, o->tcp_established);
        crl.set_ext_unix_sk(op, o->ext_unix_sk);
        crl.set_shell_job(op, o->shell_job);
        crl.set_file_locks(op, o->file_locks);
        if (s->process.terminal) {
            g_console = o->console_socket;
            g_console_err = (capsa_err){0};
            crl.set_orphan_pts_master(op, true);
            crl.set_notify_cb(op, on_notify);
        }
        int k = crl.restore_child(op);
        if (k <= 0 && g_console_err.code)
            r = cerr_set(e, g_console_err.code, "%s", g_console_err.msg);
        else if (k <= 0)
            r = cr_failed(k, "restore", work, workfd, "restore.log", e);
        else
            *pid = k;
    }
    if (usernsfd >= 0) {
        close(usernsfd);
        unlink_userns_images(imgfd);
    }
    while (nns > 0)
        close(nsfds[--nns]);
    crl.free_opts(op);
    return r;
}

int rt_restore(const rt_ctx *c, const char *id, const rt_restore_opts *o, int *status,
               capsa_err *e)
{
    int mode, r;
    *status = 0;
    if ((r = id_validate(id, e)) < 0 || (r = cr_cg_mode(o->cg_mode, &mode, e)) < 0 ||
        (r = cr_need("restore", e)) < 0)
        return r;
    const char *img = o->image_path ? o->image_path : "checkpoint";
    const char *work = o->work_path ? o->work_path : img;
    autoclose int imgfd = -1;
    autoclose int workfd = -1;
    if ((r = cr_open_dir(img, false, &imgfd, e)) < 0)
        return cerr_wrap(e, "--image-path");
    if (faccessat(imgfd, "inventory.img", R_OK, 0) < 0)
        return cerr_set(e, ENOENT, "--image-path %s holds no checkpoint (no inventory.img)", img);
    if ((r = cr_open_dir(work, true, &workfd, e)) < 0)
        return r;
    char bundle[PATH_MAX], rootfs[PATH_MAX];
    if (!realpath(o->bundle ? o->bundle : ".", bundle))
        return cerr_sys(e, errno, "bundle %s", o->bundle ? o->bundle : ".");
    autofree char *cfg = xasprintf("%s/config.json", bundle);
    spec *s = NULL;
    if ((r = spec_load(cfg, &s, e)) < 0)
        return r;
    if (s->has_process && s->process.terminal && !o->console_socket && o->detach)
        r = cerr_set(e, EINVAL, "process.terminal needs --console-socket to restore detached "
                                "(the restored terminal's new master is sent there)");
    else if (!(s->has_process && s->process.terminal) && o->console_socket)
        r = cerr_set(e, EINVAL, "--console-socket: config.json has no process.terminal");
    if (r < 0 || (r = spec_validate(s, e)) < 0 || (r = cr_spec_check(s, e)) < 0) {
        spec_free(s);
        return r;
    }
    if ((r = ct_rootfs_path(s, bundle, rootfs, e)) < 0) {
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
    int master = g_master;
    g_master = -1;
    if (master >= 0 && (r < 0 || o->detach)) {
        close(master);
        master = -1;
    }
    if (dirfd >= 0)
        close(dirfd);
    free(st.created);
    free(st.cgroup_path);
    spec_free(s);
    if (r < 0 || o->detach)
        return r;
    /* Foreground, as runc restore: wait for init, then delete the container. */
    rt_block_signals();
    r = rt_wait(pid, master, status, e);
    if (master >= 0)
        close(master);
    capsa_err ignore;
    int d = rt_delete(c, id, true, r < 0 ? &ignore : e);
    return r < 0 ? r : d;
}
