#include "linux/resolve.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/fs.h"

static int openat2_in_root(int rootfd, const char *path, int flags)
{
    struct open_how how = {
        .flags = (unsigned long long)(flags | O_CLOEXEC),
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    while (*path == '/')
        path++;
    if (!*path)
        path = ".";
    int fd;
    do
        fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
    while (fd < 0 && errno == EAGAIN);
    return fd;
}

int root_open(int rootfd, const char *path, int flags, capsa_err *e)
{
    int fd = openat2_in_root(rootfd, path, flags);
    if (fd < 0)
        return cerr_sys(e, errno, "open %s in the container root", path);
    return fd;
}

const char *fd_path(int fd, char buf[static 32])
{
    snprintf(buf, 32, "/proc/self/fd/%d", fd);
    return buf;
}

/* A dangling symlink at `name` in dir `parentfd`: the path to create instead,
 * still inside the root (absolute targets are taken from the root). */
static int follow_dangling(int parentfd, const char *dir, const char *name, const char *rest,
                           char *out, size_t cap)
{
    char target[4096];
    ssize_t n = readlinkat(parentfd, name, target, sizeof target - 1);
    if (n < 0)
        return -errno;
    target[n] = 0;
    int k = target[0] == '/' ? snprintf(out, cap, "%s%s%s", target, *rest ? "/" : "", rest)
                             : snprintf(out, cap, "%s/%s%s%s", dir, target, *rest ? "/" : "", rest);
    return (k < 0 || (size_t)k >= cap) ? -ENAMETOOLONG : 0;
}

/* Walk the path component by component, creating missing directories. Each
 * prefix is resolved from the root again so ".." and symlinks stay inside; a
 * dangling symlink is followed (inside the root) to where it points. */
int root_mkdir_p(int rootfd, const char *path, mode_t mode, capsa_err *e)
{
    char buf[4096], next[4096];
    if (strlen(path) >= sizeof buf)
        return cerr_set(e, ENAMETOOLONG, "path too long: %s", path);
    strcpy(buf, path);
    for (int depth = 0; depth < 40; depth++) {
        bool restart = false;
        char *p = buf;
        while (*p == '/')
            p++;
        int parent = openat2_in_root(rootfd, "/", O_PATH | O_DIRECTORY);
        if (parent < 0)
            return cerr_sys(e, errno, "open container root");
        while (*p) {
            char *slash = strchr(p, '/');
            if (slash)
                *slash = 0;
            if (*p && strcmp(p, ".")) {
                int fd = openat2_in_root(rootfd, buf, O_PATH | O_DIRECTORY);
                if (fd < 0 && errno == ENOENT) {
                    if (mkdirat(parent, p, mode) < 0 && errno != EEXIST) {
                        int err = errno;
                        close(parent);
                        return cerr_sys(e, err, "mkdir %s in the container root", buf);
                    }
                    fd = openat2_in_root(rootfd, buf, O_PATH | O_DIRECTORY);
                    if (fd < 0 && errno == ENOENT) {
                        /* mkdir said EEXIST but it does not resolve: a dangling link */
                        char dir[4096];
                        snprintf(dir, sizeof dir, "%.*s", (int)(p - buf), buf);
                        int r = follow_dangling(parent, dir, p, slash ? slash + 1 : "", next,
                                                sizeof next);
                        if (r == 0) {
                            close(parent);
                            strcpy(buf, next);
                            restart = true;
                            break;
                        }
                        errno = ENOENT;
                    }
                }
                if (fd < 0) {
                    int err = errno;
                    close(parent);
                    return cerr_sys(e, err, "open %s in the container root", buf);
                }
                close(parent);
                parent = fd;
            }
            if (!slash)
                break;
            *slash = '/';
            p = slash + 1;
            while (*p == '/')
                p++;
        }
        if (!restart)
            return parent;
    }
    return cerr_set(e, ELOOP, "too many symlinks in %s", path);
}

int root_mkfile(int rootfd, const char *path, capsa_err *e)
{
    char cur[4096], next[4096];
    snprintf(cur, sizeof cur, "%s", path);
    for (int depth = 0; depth < 40; depth++) {
        int fd = openat2_in_root(rootfd, cur, O_PATH);
        if (fd >= 0)
            return fd;
        if (errno != ENOENT)
            return cerr_sys(e, errno, "open %s in the container root", cur);
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", cur);
        char *slash = strrchr(dir, '/');
        const char *name = cur;
        if (slash) {
            *slash = 0;
            name = cur + (slash - dir) + 1;
        }
        autoclose int dfd = root_mkdir_p(rootfd, *dir ? dir : "/", 0755, e);
        if (dfd < 0)
            return dfd;
        /* O_PATH dirfds cannot create files; reopen the directory for real. */
        char p[32];
        autoclose int real = open(fd_path(dfd, p), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (real < 0)
            return cerr_sys(e, errno, "open %s in the container root", dir);
        int f = openat(real, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (f >= 0) {
            close(f);
            return root_open(rootfd, cur, O_PATH, e);
        }
        if (errno == ELOOP && follow_dangling(real, dir, name, "", next, sizeof next) == 0) {
            strcpy(cur, next);
            continue;
        }
        if (errno != EEXIST)
            return cerr_sys(e, errno, "create %s in the container root", cur);
        return root_open(rootfd, cur, O_PATH, e);
    }
    return cerr_set(e, ELOOP, "too many symlinks in %s", path);
}

/* ---- procfs handles (CVE-2025-52881) ----
 * Writes to /proc must not be redirectable by whoever controls the mount
 * namespace they happen in (an exec joins the container's, where /proc may be
 * anything). The handle is, in order of preference: a private procfs instance
 * that was never attached anywhere (fsopen + fsmount), a clone of the /proc
 * mount without its submounts (open_tree), or /proc itself; each is checked to
 * be the root of a procfs. Lookups below it follow no symlinks at all and
 * cross no mount point, so an over-mounted file is refused, not written. */

#define PROC_ROOT_INO 1

static bool is_proc_root(int fd)
{
    struct statfs sfs;
    struct stat st;
    return fstatfs(fd, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC && fstat(fd, &st) == 0 &&
           st.st_ino == PROC_ROOT_INO;
}

static int procfs_new(void)
{
    int fsfd = (int)syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC);
    if (fsfd < 0)
        return -1;
    int mfd = -1;
    if (syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
        mfd = (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC,
                           MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    close(fsfd);
    return mfd;
}

static int procfs_handle(void)
{
    static int fd = -1;
    static pid_t owner;
    /* One handle per process: a forked child may sit in other namespaces. An
     * inherited one is left alone (close-on-exec): its number may have been
     * closed and reused since. Re-checked on each use for the same reason. */
    if (fd >= 0 && owner == getpid() && is_proc_root(fd))
        return fd;
    fd = procfs_new();
    if (fd < 0)
        fd = (int)syscall(SYS_open_tree, AT_FDCWD, "/proc", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (fd < 0)
        fd = open("/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 && !is_proc_root(fd)) {
        close(fd);
        fd = -1;
        errno = EXDEV;
    }
    owner = getpid();
    return fd;
}

int procfs_open(const char *rel, int flags, capsa_err *e)
{
    int root = procfs_handle();
    if (root < 0)
        return cerr_sys(e, errno, "open a procfs handle");
    char path[512];
    /* "self" is a symlink; resolve it here so the lookup can refuse all symlinks. */
    if (!strncmp(rel, "self/", 5)) {
        char pid[32];
        ssize_t n = readlinkat(root, "self", pid, sizeof pid - 1);
        if (n <= 0)
            return cerr_sys(e, n < 0 ? errno : EIO, "read /proc/self");
        pid[n] = 0;
        snprintf(path, sizeof path, "%s/%s", pid, rel + 5);
    } else {
        snprintf(path, sizeof path, "%s", rel);
    }
    struct open_how how = {
        .flags = (unsigned long long)(flags | O_NOFOLLOW | O_CLOEXEC),
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
    };
    int fd;
    do
        fd = (int)syscall(SYS_openat2, root, path, &how, sizeof how);
    while (fd < 0 && errno == EAGAIN);
    if (fd < 0)
        return cerr_sys(e, errno, "open /proc/%s", rel);
    struct statfs sfs;
    if (fstatfs(fd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC) {
        close(fd);
        return cerr_set(e, EXDEV, "/proc/%s is not on procfs", rel);
    }
    return fd;
}

int procfs_write(const char *rel, const char *buf, size_t len, capsa_err *e)
{
    autoclose int fd = procfs_open(rel, O_WRONLY, e);
    if (fd < 0)
        return fd;
    if (write_all(fd, buf, len) < 0)
        return cerr_sys(e, errno, "write /proc/%s", rel);
    return 0;
}
