#include "linux/resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

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

/* Walk the path component by component, creating missing directories. Each
 * prefix is resolved from the root again so ".." and symlinks stay inside. */
int root_mkdir_p(int rootfd, const char *path, mode_t mode, capsa_err *e)
{
    char buf[4096];
    if (strlen(path) >= sizeof buf)
        return cerr_set(e, ENAMETOOLONG, "path too long: %s", path);
    strcpy(buf, path);
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
    return parent;
}

int root_mkfile(int rootfd, const char *path, capsa_err *e)
{
    int fd = openat2_in_root(rootfd, path, O_PATH);
    if (fd >= 0)
        return fd;
    if (errno != ENOENT)
        return cerr_sys(e, errno, "open %s in the container root", path);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    const char *name = path;
    if (slash) {
        *slash = 0;
        name = path + (slash - dir) + 1;
    } else {
        strcpy(dir, "/");
    }
    autoclose int dfd = root_mkdir_p(rootfd, dir, 0755, e);
    if (dfd < 0)
        return dfd;
    /* O_PATH dirfds cannot create files; reopen the directory for real. */
    char p[32];
    autoclose int real = open(fd_path(dfd, p), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (real < 0)
        return cerr_sys(e, errno, "open %s in the container root", dir);
    int f = openat(real, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (f < 0 && errno != EEXIST)
        return cerr_sys(e, errno, "create %s in the container root", path);
    if (f >= 0)
        close(f);
    return root_open(rootfd, path, O_PATH, e);
}
