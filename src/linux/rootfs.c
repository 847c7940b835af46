/* The container's root filesystem, from the first mount to pivot_root. */
#include "linux/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "linux/mounts.h"
#include "linux/resolve.h"
#include "util/fs.h"
#include "util/mountinfo.h"

static unsigned long propagation_of(const char *name, capsa_err *e, int *r)
{
    static const struct { const char *n; unsigned long f; } t[] = {
        {"private", MS_PRIVATE}, {"rprivate", MS_PRIVATE | MS_REC},
        {"slave", MS_SLAVE},     {"rslave", MS_SLAVE | MS_REC},
        {"shared", MS_SHARED},   {"rshared", MS_SHARED | MS_REC},
        {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
    };
    *r = 0;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (!strcmp(name, t[i].n))
            return t[i].f;
    *r = cerr_set(e, EINVAL, "linux.rootfsPropagation: unknown value \"%s\"", name);
    return 0;
}

/* /dev/null of the host, verified to be the real 1:3 char device before it is
 * bind-mounted over masked files (CVE-2025-31133). */
static int open_host_null(capsa_err *e)
{
    int fd = open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return cerr_sys(e, errno, "open /dev/null");
    if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 ||
        minor(st.st_rdev) != 3) {
        close(fd);
        return cerr_set(e, EPERM, "/dev/null is not the null device");
    }
    return fd;
}

static int mask_paths(int rootfd, const spec_strv *paths, capsa_err *e)
{
    if (!paths->n)
        return 0;
    autoclose int nullfd = open_host_null(e);
    if (nullfd < 0)
        return nullfd;
    for (size_t i = 0; i < paths->n; i++) {
        capsa_err ignore;
        autoclose int fd = root_open(rootfd, paths->v[i], O_PATH | O_NOFOLLOW, &ignore);
        if (fd < 0)
            continue;  /* masking what does not exist is a no-op (runtime-spec) */
        struct stat st;
        char a[32], b[32];
        if (fstat(fd, &st) < 0)
            return cerr_sys(e, errno, "stat masked path %s", paths->v[i]);
        int r = S_ISDIR(st.st_mode)
                    ? mount("tmpfs", fd_path(fd, b), "tmpfs", MS_RDONLY, "size=0,mode=000")
                    : mount(fd_path(nullfd, a), fd_path(fd, b), NULL, MS_BIND, NULL);
        if (r < 0)
            return cerr_sys(e, errno, "mask %s", paths->v[i]);
    }
    return 0;
}

static int readonly_paths(int rootfd, const spec_strv *paths, capsa_err *e)
{
    for (size_t i = 0; i < paths->n; i++) {
        capsa_err ignore;
        autoclose int fd = root_open(rootfd, paths->v[i], O_PATH | O_NOFOLLOW, &ignore);
        if (fd < 0)
            continue;
        char p[32];
        if (mount(fd_path(fd, p), fd_path(fd, p), NULL, MS_BIND | MS_REC, NULL) < 0)
            return cerr_sys(e, errno, "bind mount readonly path %s", paths->v[i]);
        autoclose int nfd = root_open(rootfd, paths->v[i], O_PATH | O_NOFOLLOW, e);
        if (nfd < 0 || mount_setattr_fd(nfd, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
                                                  MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                                        0, true, e) < 0)
            return cerr_wrap(e, "make %s read-only", paths->v[i]);
    }
    return 0;
}

/* In resolve.c; to move to resolve.h (then delete this line). */
int procfs_write(const char *rel, const char *buf, size_t len, capsa_err *e);

/* Only sysctls that live in a namespace the container has of its own may be
 * set: anything else would change the host (runc refuses the same list). */
static const char *sysctl_refusal(const spec_linux *l, const char *key)
{
    static const char *const ipc[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",
                                      "kernel.sem", "kernel.shmall", "kernel.shmmax",
                                      "kernel.shmmni", "kernel.shm_rmid_forced"};
    char k[256];
    snprintf(k, sizeof k, "%s", key);
    if (strchr(k, '/'))  /* "net/ipv4/conf/eth0.100/forwarding" form */
        for (char *c = k; *c; c++)
            if (*c == '/')
                *c = '.';
    bool is_ipc = !strncmp(k, "fs.mqueue.", 10);
    for (size_t i = 0; i < sizeof ipc / sizeof *ipc; i++)
        is_ipc |= !strcmp(k, ipc[i]);
    if (is_ipc)
        return l->ns[NS_IPC].present ? NULL : "is not allowed in the host's ipc namespace";
    if (!strncmp(k, "net.", 4))
        return l->ns[NS_NET].present ? NULL : "is not allowed in the host's network namespace";
    if (!strcmp(k, "kernel.domainname") && l->ns[NS_UTS].present)
        return NULL;
    if (!strcmp(k, "kernel.hostname") && l->ns[NS_UTS].present)
        return "conflicts with the hostname field";
    return "is not in a separate kernel namespace";
}

/* Sysctls are written through a private procfs instance, never through a path
 * in the container's root, so neither a symlink in the image nor a mount over
 * /proc/sys can redirect the write (CVE-2025-52881). */
static int write_sysctls(const spec_linux *l, capsa_err *e)
{
    const spec_map *m = &l->sysctl;
    for (size_t i = 0; i < m->n; i++) {
        const char *why = sysctl_refusal(l, m->v[i].key);
        if (why)
            return cerr_set(e, EPERM, "sysctl %s %s", m->v[i].key, why);
        char path[512];
        snprintf(path, sizeof path, "sys/%s", m->v[i].key);
        if (!strchr(m->v[i].key, '/'))
            for (char *c = path + 4; *c; c++)
                if (*c == '.')
                    *c = '/';
        if (procfs_write(path, m->v[i].value, strlen(m->v[i].value), e) < 0)
            return cerr_wrap(e, "sysctl %s=%s", m->v[i].key, m->v[i].value);
    }
    return 0;
}

static int do_pivot(const char *rootfs, bool no_pivot, capsa_err *e)
{
    if (chdir(rootfs) < 0)
        return cerr_sys(e, errno, "chdir %s", rootfs);
    if (no_pivot) {
        if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0)
            return cerr_sys(e, errno, "move %s to /", rootfs);
        if (chroot(".") < 0)
            return cerr_sys(e, errno, "chroot %s", rootfs);
        return chdir("/") < 0 ? cerr_sys(e, errno, "chdir /") : 0;
    }
    /* pivot_root(".", ".") stacks the old root on top of the new one; detach it
     * after making it a slave so the unmount cannot propagate to the host.
     * fchdir to the old root so "." names it, not the new root under it. */
    autoclose int oldroot = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (oldroot < 0)
        return cerr_sys(e, errno, "open old root");
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return cerr_sys(e, errno, "pivot_root %s", rootfs);
    if (fchdir(oldroot) < 0)
        return cerr_sys(e, errno, "chdir to old root");
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return cerr_sys(e, errno, "make old root a slave");
    if (umount2(".", MNT_DETACH) < 0)
        return cerr_sys(e, errno, "detach old root");
    return chdir("/") < 0 ? cerr_sys(e, errno, "chdir /") : 0;
}

/* The mount that holds the root directory becomes private (not recursive). */
static int root_parent_private(const char *rootfs, capsa_err *e)
{
    char real[4096];
    if (!realpath(rootfs, real))
        return cerr_sys(e, errno, "resolve root %s", rootfs);
    /* /proc/self: getpid() is 1 in a new pid namespace, and /proc is still the host's. */
    autofree char *text = NULL;
    size_t len;
    int r = fs_read("/proc/self/mountinfo", &text, &len, e);
    if (r < 0)
        return r;
    mountinfo mi;
    mountinfo_parse(text, &mi);
    const mount_entry *m = mountinfo_covering(&mi, real);
    if (m && mount(NULL, m->mnt, NULL, MS_PRIVATE, NULL) < 0)
        r = cerr_sys(e, errno, "make %s (the mount holding the root) private", m->mnt);
    mountinfo_free(&mi);
    return r;
}

int rootfs_setup(const rootfs_cfg *c, capsa_err *e)
{
    const spec *s = c->s;
    int r = 0;
    /* Nothing we mount may propagate back to the host. */
    unsigned long prop = MS_SLAVE | MS_REC;
    if (s->linux.rootfs_propagation &&
        (prop = propagation_of(s->linux.rootfs_propagation, e, &r), r < 0))
        return r;
    /* rslave first, whatever else rootfsPropagation says: a non-recursive
     * "private" would leave the rest shared with the host, our mounts would
     * leak there and pivot_root would refuse a shared parent. The configured
     * propagation is applied to the new root after pivot_root.
     * "shared"/"rshared" (Kubernetes' Bidirectional volumes) is the exception,
     * as in runc: our copies must stay peers of the host's mounts, or a volume
     * bound from one would be a mere slave and a mount made in the container
     * would never reach the host. The mount holding the root is made private
     * instead, so nothing mounted in the root propagates out. */
    bool shared = s->linux.rootfs_propagation && (prop & MS_SHARED);
    if (mount(NULL, "/", NULL, (shared ? MS_SHARED : MS_SLAVE) | MS_REC, NULL) < 0)
        return cerr_sys(e, errno, "set propagation of / to %s", shared ? "rshared" : "rslave");
    if (shared && (r = root_parent_private(c->rootfs, e)) < 0)
        return r;
    if (mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        return cerr_sys(e, errno, "bind mount root %s", c->rootfs);
    autoclose int rootfd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return cerr_sys(e, errno, "open root %s", c->rootfs);

    bool dev_tmpfs = false;
    mount_set_spec_base(s->mounts);
    for (size_t i = 0; i < s->n_mounts; i++) {
        const spec_mount *m = &s->mounts[i];
        if ((r = mount_one(rootfd, m, c->in_userns, c->new_cgroupns, e)) < 0)
            return r;
        if (!strcmp(m->destination, "/dev"))
            dev_tmpfs = m->type && !strcmp(m->type, "tmpfs");
    }
    if ((r = dev_setup(rootfd, s, c->in_userns, dev_tmpfs, e)) < 0)
        return r;
    if ((r = write_sysctls(&s->linux, e)) < 0)
        return r;
    if ((r = mask_paths(rootfd, &s->linux.masked_paths, e)) < 0)
        return r;
    if ((r = readonly_paths(rootfd, &s->linux.readonly_paths, e)) < 0)
        return r;
    /* runc creates a missing cwd; do it while the root may still be written. */
    if (s->process.cwd) {
        capsa_err ignore;
        int fd = root_mkdir_p(rootfd, s->process.cwd, 0755, &ignore);
        if (fd >= 0)
            close(fd);
    }
    if (c->before_pivot && (r = c->before_pivot(c->arg, e)) < 0)
        return r;
    for (size_t i = 0; i < s->n_mounts; i++)
        if ((r = mount_finish_ro(rootfd, &s->mounts[i], e)) < 0)
            return r;
    if ((r = do_pivot(c->rootfs, c->no_pivot, e)) < 0)
        return r;
    if (s->linux.rootfs_propagation && mount(NULL, "/", NULL, prop, NULL) < 0)
        return cerr_sys(e, errno, "set rootfs propagation %s", s->linux.rootfs_propagation);
    if (s->root_readonly) {
        autoclose int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || mount_setattr_fd(fd, MOUNT_ATTR_RDONLY, 0, false, e) < 0)
            return cerr_wrap(e, "make root read-only");
    }
    return 0;
}
