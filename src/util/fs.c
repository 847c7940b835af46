#include "util/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int fs_write(const char *path, const char *data, size_t len, capsa_err *e)
{
    autoclose int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0)
        return cerr_sys(e, errno, "open %s", path);
    int r = write_all(fd, data, len);
    if (r < 0)
        return cerr_sys(e, -r, "write %s", path);
    return 0;
}

int fs_write_str(const char *path, const char *s, capsa_err *e)
{
    return fs_write(path, s, strlen(s), e);
}

int fs_read_fd(int fd, const char *what, char **out, size_t *len, capsa_err *e)
{
    size_t cap = 4096, n = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap)
            buf = xrealloc(buf, cap *= 2);
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int err = errno;
            free(buf);
            return cerr_sys(e, err, "read %s", what);
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    buf[n] = 0;
    *out = buf;
    if (len)
        *len = n;
    return 0;
}

int fs_read(const char *path, char **out, size_t *len, capsa_err *e)
{
    autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cerr_sys(e, errno, "open %s", path);
    return fs_read_fd(fd, path, out, len, e);
}

int fs_write_atomic_at(int dirfd, const char *name, const char *data, size_t len, mode_t mode,
                       capsa_err *e)
{
    autofree char *tmp = xasprintf("%s.tmp", name);
    autoclose int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return cerr_sys(e, errno, "create %s", tmp);
    /* No fsync: these files (state.json, pid files) describe processes that a
     * power loss ends anyway; rename alone means no reader ever sees half a
     * file. An fsync cost a disk flush per container start. */
    int r = write_all(fd, data, len);
    if (r < 0) {
        int err = -r;
        unlinkat(dirfd, tmp, 0);
        return cerr_sys(e, err, "write %s", name);
    }
    if (renameat(dirfd, tmp, dirfd, name) < 0) {
        int err = errno;
        unlinkat(dirfd, tmp, 0);
        return cerr_sys(e, err, "rename %s", tmp);
    }
    return 0;
}

int fs_write_atomic(const char *path, const char *data, size_t len, mode_t mode, capsa_err *e)
{
    return fs_write_atomic_at(AT_FDCWD, path, data, len, mode, e);
}

int fs_mkdir_p(const char *path, mode_t mode, capsa_err *e)
{
    autofree char *p = xstrdup(path);
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == 0) {
            char c = *s;
            *s = 0;
            if (mkdir(p, mode) < 0 && errno != EEXIST)
                return cerr_sys(e, errno, "mkdir %s", p);
            *s = c;
            if (!c)
                break;
        }
    }
    return 0;
}

static int rm_at(int dfd, const char *name, capsa_err *e)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : cerr_sys(e, errno, "stat %s", name);
    if (S_ISDIR(st.st_mode)) {
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return cerr_sys(e, errno, "open %s", name);
        DIR *d = fdopendir(fd);
        if (!d) {
            close(fd);
            return cerr_sys(e, errno, "opendir %s", name);
        }
        struct dirent *de;
        int r = 0;
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            if ((r = rm_at(dirfd(d), de->d_name, e)) < 0)
                break;
        }
        closedir(d);
        if (r < 0)
            return r;
        if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
            return cerr_sys(e, errno, "rmdir %s", name);
        return 0;
    }
    if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
        return cerr_sys(e, errno, "unlink %s", name);
    return 0;
}

int fs_rm_rf(const char *path, capsa_err *e)
{
    return rm_at(AT_FDCWD, path, e);
}

int send_with_fd(int sock, const void *data, size_t len, int fd)
{
    struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof u.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    ssize_t w;
    do
        w = sendmsg(sock, &mh, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    return w < 0 ? -errno : 0;
}
