/* Mounting config.json mounts inside the container root, before pivot_root.
 * Targets are resolved by fd inside the root; mount(2) is given the fd's
 * /proc/self/fd path so it lands on exactly that dentry. */
#include "linux/mounts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "linux/resolve.h"
#include "util/fs.h"

int mount_setattr_fd(int fd, uint64_t set, uint64_t clr, bool rec, capsa_err *e)
{
    if (!set && !clr)
        return 0;
    struct mount_attr attr = {.attr_set = set, .attr_clr = clr};
    /* Setting an atime mode requires clearing the whole atime field. */
    if (set & MOUNT_ATTR__ATIME)
        attr.attr_clr |= MOUNT_ATTR__ATIME;
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (rec ? AT_RECURSIVE : 0), &attr,
                sizeof attr) < 0)
        return cerr_sys(e, errno, "mount_setattr");
    return 0;
}

static int set_propagation(int rootfd, const char *dest, unsigned long prop, capsa_err *e)
{
    if (!prop)
        return 0;
    autoclose int fd = root_open(rootfd, dest, O_PATH, e);
    if (fd < 0)
        return fd;
    char p[32];
    if (mount(NULL, fd_path(fd, p), NULL, prop, NULL) < 0)
        return cerr_sys(e, errno, "set propagation of %s", dest);
    return 0;
}

/* After a mount, reopen the destination to get the new mount's root and apply
 * attributes (ro, nosuid, ...) with mount_setattr, which — unlike a bind remount —
 * leaves the flags the kernel locked in a user namespace alone. */
static int apply_attrs(int rootfd, const char *dest, const mount_opts *o, capsa_err *e)
{
    uint64_t set, clr;
    mount_flags_to_attr(o->flags, o->clear, &set, &clr);
    if (!set && !clr && !o->rec_set && !o->rec_clr)
        return 0;
    autoclose int fd = root_open(rootfd, dest, O_PATH, e);
    if (fd < 0)
        return fd;
    int r = mount_setattr_fd(fd, set, clr, false, e);
    if (r == 0)
        r = mount_setattr_fd(fd, o->rec_set, o->rec_clr, true, e);
    return r;
}

/* User namespaces carrying each mount's uidMappings/gidMappings, made by the
 * runtime before the fork (indexed like spec->mounts; -1: none). */
static const int *idmap_fds;
static const spec_mount *mount_spec_base;   /* spec->mounts, to index idmap_fds */
static size_t n_idmap_fds;

void mount_set_idmap_fds(const int *fds, size_t n)
{
    idmap_fds = fds;
    n_idmap_fds = n;
}

size_t mount_idmap_fds(const int **fds)
{
    *fds = idmap_fds;
    return n_idmap_fds;
}

/* An idmapped bind mount (runtime-spec 1.1 mount uidMappings): clone the source
 * tree, give it the mapping of a user namespace, attach it at the target. */
static int idmapped_bind(const char *src, int tfd, const spec_mount *m, bool rec, int userns,
                         capsa_err *e)
{
    autoclose int tree = (int)syscall(SYS_open_tree, AT_FDCWD, src,
                                      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
                                          (rec ? AT_RECURSIVE : 0));
    if (tree < 0)
        return cerr_sys(e, errno, "idmapped mount %s: open_tree", src);
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns};
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (rec ? AT_RECURSIVE : 0), &attr,
                sizeof attr) < 0)
        return cerr_sys(e, errno, "idmapped mount %s: set the id mapping", src);
    if (syscall(SYS_move_mount, tree, "", tfd, "", MOVE_MOUNT_F_EMPTY_PATH |
                                                      MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return cerr_sys(e, errno, "idmapped mount %s on %s", src, m->destination);
    return 0;
}

static int bind_mount(int rootfd, const char *src, const spec_mount *m, const mount_opts *o,
                      capsa_err *e)
{
    struct stat st;
    if (stat(src, &st) < 0)
        return cerr_sys(e, errno, "bind mount source %s", src);
    autoclose int tfd = S_ISDIR(st.st_mode) ? root_mkdir_p(rootfd, m->destination, 0755, e)
                                            : root_mkfile(rootfd, m->destination, e);
    if (tfd < 0)
        return tfd;
    char p[32];
    size_t idx = (size_t)(m - mount_spec_base);
    int userns = m->uid_mappings.n && idx < n_idmap_fds ? idmap_fds[idx] : -1;
    if (userns >= 0) {
        int r = idmapped_bind(src, tfd, m, o->rec, userns, e);
        if (r < 0)
            return r;
    } else if (mount(src, fd_path(tfd, p), NULL, MS_BIND | (o->rec ? MS_REC : 0), NULL) < 0) {
        return cerr_sys(e, errno, "bind mount %s on %s", src, m->destination);
    }
    return apply_attrs(rootfd, m->destination, o, e);
}

/* Each v1 hierarchy of the host, one line of /proc/self/mountinfo at a time. */
typedef int (*hier_fn)(const char *name, const char *fstype, const char *opts, void *arg,
                       capsa_err *e);

static int foreach_host_cgroup(hier_fn fn, void *arg, capsa_err *e)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return cerr_sys(e, errno, "open /proc/self/mountinfo");
    char *line = NULL;
    size_t cap = 0;
    int r = 0;
    while (r == 0 && getline(&line, &cap, f) > 0) {
        char mp[4096], fstype[64], src[256], sopts[1024];
        const char *sep = strstr(line, " - ");
        if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 ||
            sscanf(sep + 3, "%63s %255s %1023s", fstype, src, sopts) != 3)
            continue;
        if (strncmp(mp, "/sys/fs/cgroup/", 15) || strchr(mp + 15, '/'))
            continue;
        if (strcmp(fstype, "cgroup") && strcmp(fstype, "cgroup2"))
            continue;
        r = fn(mp + 15, fstype, sopts, arg, e);
    }
    free(line);
    fclose(f);
    return r;
}

struct cg_arg {
    int dirfd;           /* the tmpfs at the cgroup destination */
    unsigned long flags;
    bool new_cgroupns;
};

/* This process's cgroup in the hierarchy whose mount options are `opts`
 * ("memory", "cpu,cpuacct", "name=systemd"; NULL for cgroup2), from
 * /proc/self/cgroup: without a cgroup namespace the container gets a bind of
 * its own cgroup, never the host's whole tree. */
static char cgroup_view[8192];

void mount_save_cgroup_view(void)
{
    int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, cgroup_view, sizeof cgroup_view - 1);
    close(fd);
    cgroup_view[n > 0 ? n : 0] = 0;
}

static int own_cgroup(const char *opts, char *out, size_t len)
{
    /* Read before the cgroup namespace was entered: inside it every path is "/". */
    FILE *f = cgroup_view[0] ? fmemopen(cgroup_view, strlen(cgroup_view), "r")
                             : fopen("/proc/self/cgroup", "re");
    if (!f)
        return -errno;
    char line[4096];
    int r = -ENOENT;
    while (r < 0 && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = 0;
        const char *ctrls = c1 + 1, *path = c2 + 1;
        bool match;
        if (!opts) {
            match = !*ctrls;
        } else {
            match = *ctrls != 0;
            autofree char *copy = xstrdup(ctrls);
            for (char *t = strtok(copy, ","); match && t; t = strtok(NULL, ",")) {
                size_t n = strlen(t);
                const char *hit = strstr(opts, t);
                match = hit && (hit == opts || hit[-1] == ',') && (!hit[n] || hit[n] == ',');
            }
        }
        if (match) {
            snprintf(out, len, "%s", path);
            r = 0;
        }
    }
    fclose(f);
    return r;
}

static int mount_hierarchy(const char *name, const char *fstype, const char *sopts, void *arg,
                           capsa_err *e)
{
    struct cg_arg *a = arg;
    char opts[1024] = "", p[32];
    /* Keep the controller/name options, never release_agent (CVE-2022-0492). */
    autofree char *copy = xstrdup(sopts);
    for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
        if (!strcmp(tok, "rw") || !strcmp(tok, "ro") || !strncmp(tok, "release_agent", 13))
            continue;
        if (*opts)
            strncat(opts, ",", sizeof opts - strlen(opts) - 1);
        strncat(opts, tok, sizeof opts - strlen(opts) - 1);
    }
    if (mkdirat(a->dirfd, name, 0755) < 0 && errno != EEXIST)
        return cerr_sys(e, errno, "mkdir /sys/fs/cgroup/%s", name);
    autoclose int fd = openat(a->dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return cerr_sys(e, errno, "open /sys/fs/cgroup/%s", name);
    int r;
    if (a->new_cgroupns) {
        r = mount(fstype, fd_path(fd, p), fstype, a->flags,
                  !strcmp(fstype, "cgroup2") ? NULL : opts);
    } else {
        char host[8400], own[4096] = "/";
        bool v2 = !strcmp(fstype, "cgroup2");
        if (own_cgroup(v2 ? NULL : opts, own, sizeof own) < 0)
            snprintf(own, sizeof own, "/");
        snprintf(host, sizeof host, "/sys/fs/cgroup/%s%s", name, own);
        r = mount(host, fd_path(fd, p), NULL, MS_BIND | MS_REC, NULL);
        if (r == 0) {
            uint64_t set, clr;
            mount_flags_to_attr(a->flags, 0, &set, &clr);
            autoclose int nfd = openat(a->dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
            r = nfd < 0 ? -1 : mount_setattr_fd(nfd, set, 0, true, e);
            if (r < 0)
                return r;
        }
    }
    if (r < 0)
        return cerr_sys(e, errno, "mount cgroup %s on /sys/fs/cgroup/%s", opts, name);
    return 0;
}

/* A "cgroup" mount: on a v2 host the cgroup2 filesystem itself; on v1 and hybrid
 * hosts a tmpfs holding one mount per host hierarchy, like runc. Inside a new
 * cgroup namespace each hierarchy shows the container's cgroup as its root. */
static int mount_cgroup(int rootfd, const spec_mount *m, const mount_opts *o, bool in_userns,
                        bool new_cgroupns, capsa_err *e)
{
    autoclose int tfd = root_mkdir_p(rootfd, m->destination, 0755, e);
    if (tfd < 0)
        return tfd;
    char p[32];
    struct statfs sfs;
    unsigned long fl = o->flags & ~(unsigned long)MS_REMOUNT;
    if (statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == 0x63677270 /* CGROUP2 */) {
        if (mount("cgroup2", fd_path(tfd, p), "cgroup2", fl, NULL) == 0)
            return 0;
        char own[4096] = "/", host[4200];
        if (own_cgroup(NULL, own, sizeof own) < 0)
            snprintf(own, sizeof own, "/");
        snprintf(host, sizeof host, "/sys/fs/cgroup%s", own);
        if (mount(host, fd_path(tfd, p), NULL, MS_BIND | MS_REC, NULL) < 0)
            return cerr_sys(e, errno, "mount cgroup2 on %s", m->destination);
        return apply_attrs(rootfd, m->destination, o, e);
    }
    if (mount("tmpfs", fd_path(tfd, p), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
        return cerr_sys(e, errno, "mount tmpfs on %s", m->destination);
    autoclose int dfd = root_open(rootfd, m->destination, O_RDONLY | O_DIRECTORY, e);
    if (dfd < 0)
        return dfd;
    /* A user namespace may not mount v1 hierarchies: bind the host's instead. */
    struct cg_arg a = {.dirfd = dfd, .flags = fl, .new_cgroupns = new_cgroupns && !in_userns};
    int r = foreach_host_cgroup(mount_hierarchy, &a, e);
    if (r < 0)
        return r;
    if (o->flags & MS_RDONLY) {
        autoclose int nfd = root_open(rootfd, m->destination, O_PATH, e);
        if (nfd < 0)
            return nfd;
        return mount_setattr_fd(nfd, MOUNT_ATTR_RDONLY, 0, false, e);
    }
    return 0;
}

/* Copy a directory tree (files, dirs, symlinks; modes and owners) between two
 * directory fds, never following symlinks: the source is the image's. */
static int copy_tree(int from, int to, int depth, capsa_err *e)
{
    if (depth > 32)
        return cerr_set(e, ELOOP, "tmpcopyup: directory tree too deep");
    int dfd = dup(from);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return cerr_sys(e, errno, "tmpcopyup: read directory");
    }
    struct dirent *de;
    int r = 0;
    while (r == 0 && (de = readdir(d))) {
        const char *n = de->d_name;
        struct stat st;
        if (!strcmp(n, ".") || !strcmp(n, "..") || fstatat(from, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (mkdirat(to, n, st.st_mode & 07777) < 0 && errno != EEXIST) {
                r = cerr_sys(e, errno, "tmpcopyup: mkdir %s", n);
                break;
            }
            int a = openat(from, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            int b = openat(to, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (a >= 0 && b >= 0)
                r = copy_tree(a, b, depth + 1, e);
            if (a >= 0)
                close(a);
            if (b >= 0)
                close(b);
        } else if (S_ISLNK(st.st_mode)) {
            char t[4096];
            ssize_t k = readlinkat(from, n, t, sizeof t - 1);
            if (k >= 0) {
                t[k] = 0;
                if (symlinkat(t, to, n) < 0 && errno != EEXIST)
                    r = cerr_sys(e, errno, "tmpcopyup: symlink %s", n);
            }
        } else if (S_ISREG(st.st_mode)) {
            autoclose int a = openat(from, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            autoclose int b = openat(to, n, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
            if (a < 0 || b < 0) {
                r = cerr_sys(e, errno, "tmpcopyup: copy %s", n);
                break;
            }
            char buf[65536];
            ssize_t k;
            while ((k = read(a, buf, sizeof buf)) > 0)
                if (write_all(b, buf, (size_t)k) < 0) {
                    r = cerr_sys(e, errno, "tmpcopyup: write %s", n);
                    break;
                }
        } else {
            continue;   /* devices, fifos, sockets: not copied */
        }
        if (r == 0)
            fchownat(to, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
    }
    closedir(d);
    return r;
}

void mount_set_spec_base(const spec_mount *mounts)
{
    mount_spec_base = mounts;
}

static bool is_dev(const char *dest)
{
    if (!dest || strncmp(dest, "/dev", 4))
        return false;
    for (dest += 4; *dest == '/'; dest++)
        ;
    return !*dest;
}

/* A read-only tmpfs, or a read-only /dev, is filled first (device nodes, the
 * mount points of /dev/pts and /dev/shm, tmpcopyup, mode) and made read-only
 * afterwards by mount_finish_ro, as runc does (runc issue 3248). */
static bool ro_delayed(const spec_mount *m, const mount_opts *o)
{
    if (!(o->flags & MS_RDONLY))
        return false;
    return is_dev(m->destination) || (!o->bind && m->type && !strcmp(m->type, "tmpfs"));
}

int mount_finish_ro(int rootfd, const spec_mount *m, capsa_err *e)
{
    mount_opts o;
    if (mount_parse_options(m->options.v, &o, e) < 0)
        return cerr_wrap(e, "mount %s", m->destination);
    if (m->type && !strcmp(m->type, "bind"))
        o.bind = true;
    if (!ro_delayed(m, &o))
        return 0;
    autoclose int fd = root_open(rootfd, m->destination, O_PATH, e);
    if (fd < 0 || mount_setattr_fd(fd, MOUNT_ATTR_RDONLY, 0, false, e) < 0)
        return cerr_wrap(e, "make %s read-only", m->destination);
    return 0;
}

int mount_one(int rootfd, const spec_mount *m, bool in_userns, bool new_cgroupns, capsa_err *e)
{
    mount_opts o;
    int r = mount_parse_options(m->options.v, &o, e);
    if (r < 0)
        return cerr_wrap(e, "mount %s", m->destination);
    const char *type = m->type ? m->type : "";
    const char *src = m->source ? m->source : type;
    if (!strcmp(type, "bind"))
        o.bind = true;
    if (ro_delayed(m, &o))
        o.flags &= ~(unsigned long)MS_RDONLY;
    if (o.bind) {
        r = bind_mount(rootfd, src, m, &o, e);
    } else if (!strcmp(type, "cgroup") || !strcmp(type, "cgroup2")) {
        r = mount_cgroup(rootfd, m, &o, in_userns, new_cgroupns, e);
    } else {
        autoclose int tfd = root_mkdir_p(rootfd, m->destination, 0755, e);
        if (tfd < 0)
            return tfd;
        char p[32];
        /* tmpcopyup: keep a handle on what the tmpfs is about to cover. */
        autoclose int below = o.tmpcopyup ? open(fd_path(tfd, p), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                                          : -1;
        unsigned long fl = o.flags & ~(unsigned long)MS_REMOUNT;
        r = mount(src, fd_path(tfd, p), type, fl, o.data[0] ? o.data : NULL);
        if (r == 0 && below >= 0) {
            autoclose int top = root_open(rootfd, m->destination, O_RDONLY | O_DIRECTORY, e);
            if (top < 0 || copy_tree(below, top, 0, e) < 0)
                return cerr_wrap(e, "mount %s", m->destination);
        }
        if (r < 0 && errno == EPERM && !strcmp(type, "sysfs")) {
            /* sysfs needs a network namespace owned by our user namespace. */
            mount_opts bo = o;
            bo.rec = true;
            r = bind_mount(rootfd, "/sys", m, &bo, e);
        } else if (r < 0) {
            r = cerr_sys(e, errno, "mount %s (%s) on %s%s%s", src, type, m->destination,
                         o.data[0] ? " with " : "", o.data);
        } else {
            r = 0;
            if (o.rec_set || o.rec_clr) {
                mount_opts ro = {.rec_set = o.rec_set, .rec_clr = o.rec_clr};
                r = apply_attrs(rootfd, m->destination, &ro, e);
            }
        }
    }
    if (r == 0)
        r = set_propagation(rootfd, m->destination, o.propagation, e);
    return r;
}
