/* /dev inside the container. All of it happens relative to an fd of the
 * container's /dev (CVE-2026-41579: a /dev symlink in the image must not make
 * device setup touch host files). */
#include "linux/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "linux/resolve.h"

static const struct {
    const char *name;
    unsigned maj, min;
} default_devs[] = {
    {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

/* Where mknod is refused (user namespace), bind the host's node onto an empty
 * file — after checking it is the device the config names, not whatever sits at
 * that path. */
static int bind_host_dev(int rootfd, const char *path, char type, unsigned maj, unsigned min,
                         capsa_err *e)
{
    autoclose int src = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (src < 0)
        return cerr_sys(e, errno, "open host device %s", path);
    struct stat st;
    if (fstat(src, &st) < 0)
        return cerr_sys(e, errno, "stat host device %s", path);
    if (!(type == 'b' ? S_ISBLK(st.st_mode) : S_ISCHR(st.st_mode)) ||
        major(st.st_rdev) != maj || minor(st.st_rdev) != min)
        return cerr_set(e, EINVAL, "host %s is not the %c %u:%u device", path, type, maj, min);
    autoclose int dst = root_mkfile(rootfd, path, e);
    if (dst < 0)
        return dst;
    char a[32], b[32];
    if (mount(fd_path(src, a), fd_path(dst, b), NULL, MS_BIND, NULL) < 0)
        return cerr_sys(e, errno, "bind mount host device %s", path);
    return 0;
}

/* runtime-spec: a file already at the path that is not the requested device
 * is an error, never replaced (it may be a file of the image, like /etc/passwd). */
static int check_existing(int dfd, const char *name, const char *path, char type, unsigned maj,
                          unsigned min, capsa_err *e)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : cerr_sys(e, errno, "stat %s", path);
    bool same = type == 'p' ? S_ISFIFO(st.st_mode)
                            : (type == 'b' ? S_ISBLK(st.st_mode) : S_ISCHR(st.st_mode)) &&
                                  major(st.st_rdev) == maj && minor(st.st_rdev) == min;
    if (!same)
        return cerr_set(e, EEXIST, "device %s: a file that is not the %c %u:%u device "
                        "already exists there", path, type, maj, min);
    return 0;
}

static int make_dev(int rootfd, const char *path, char type, unsigned maj, unsigned min,
                    mode_t mode, uid_t uid, gid_t gid, bool in_userns, capsa_err *e)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || !slash[1])
        return cerr_set(e, EINVAL, "bad device path %s", path);
    *slash = 0;
    autoclose int dfd = root_mkdir_p(rootfd, *dir ? dir : "/", 0755, e);
    if (dfd < 0)
        return dfd;
    const char *name = slash + 1;
    int r = check_existing(dfd, name, path, type, maj, min, e);
    if (r < 0)
        return r;
    if (in_userns)
        return bind_host_dev(rootfd, path, type, maj, min, e);
    mode_t fmt = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
    unlinkat(dfd, name, 0);
    if (mknodat(dfd, name, fmt | (mode & 07777), makedev(maj, min)) < 0) {
        if (errno == EPERM && type != 'p')
            return bind_host_dev(rootfd, path, type, maj, min, e);
        return cerr_sys(e, errno, "mknod %s", path);
    }
    if (fchmodat(dfd, name, mode & 07777, 0) < 0 ||
        fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
        return cerr_sys(e, errno, "set owner and mode of %s", path);
    return 0;
}

static bool is_ptmx(const char *path)
{
    char clean[64];
    size_t n = 0;
    for (const char *p = path; *p && n < sizeof clean - 1; p++)
        if (*p != '/' || n == 0 || clean[n - 1] != '/')
            clean[n++] = *p;
    while (n > 1 && clean[n - 1] == '/')
        n--;
    clean[n] = 0;
    return !strcmp(clean, "/dev/ptmx");
}

int dev_setup(int rootfd, const spec *s, bool in_userns, bool dev_is_tmpfs, capsa_err *e)
{
    int r;
    if (dev_is_tmpfs) {
        for (size_t i = 0; i < sizeof default_devs / sizeof *default_devs; i++) {
            char path[64];
            snprintf(path, sizeof path, "/dev/%s", default_devs[i].name);
            r = make_dev(rootfd, path, 'c', default_devs[i].maj, default_devs[i].min, 0666, 0, 0,
                         in_userns, e);
            if (r < 0)
                return r;
        }
        autoclose int dfd = root_open(rootfd, "/dev", O_PATH | O_DIRECTORY, e);
        if (dfd < 0)
            return dfd;
        static const char *links[][2] = {
            {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
            {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
            {"/proc/kcore", "core"},
        };
        for (size_t i = 0; i < sizeof links / sizeof *links; i++)
            if (symlinkat(links[i][0], dfd, links[i][1]) < 0 && errno != EEXIST)
                return cerr_sys(e, errno, "symlink /dev/%s", links[i][1]);
        /* /dev/ptmx follows the container's own devpts instance. */
        struct stat st;
        if (fstatat(dfd, "pts/ptmx", &st, AT_SYMLINK_NOFOLLOW) == 0) {
            unlinkat(dfd, "ptmx", 0);
            if (symlinkat("pts/ptmx", dfd, "ptmx") < 0)
                return cerr_sys(e, errno, "symlink /dev/ptmx");
        }
    }
    for (size_t i = 0; i < s->linux.n_devices; i++) {
        const spec_device *d = &s->linux.devices[i];
        char t = d->type == 'u' ? 'c' : d->type;
        /* A privileged pod lists every host device, /dev/ptmx (c 5:2) too; on
         * a /dev of our own it is the link to the container's devpts made
         * above, as runc keeps it (runc skips /dev/ptmx in linux.devices). */
        if (dev_is_tmpfs && is_ptmx(d->path))
            continue;
        r = make_dev(rootfd, d->path, t, (unsigned)d->major, (unsigned)d->minor,
                     d->has_mode ? d->mode : 0666, d->has_uid ? d->uid : 0, d->has_gid ? d->gid : 0,
                     in_userns, e);
        if (r < 0)
            return r;
    }
    return 0;
}
