#include "linux/sync.h"

#include "util/fs.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int sync_send(int sock, int type, int val, const char *text)
{
    struct msg m = {.type = type, .val = val};
    if (text)
        snprintf(m.text, sizeof m.text, "%s", text);
    size_t len = offsetof(struct msg, text) + (text ? strlen(m.text) + 1 : 0);
    ssize_t w;
    do
        w = send(sock, &m, len, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    return w < 0 ? -errno : 0;
}

int sync_send_fd(int sock, int type, int fd)
{
    struct msg m = {.type = type};
    return send_with_fd(sock, &m, offsetof(struct msg, text), fd);
}

int sync_recv(int sock, struct msg *m, int *fd)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = m, .iov_len = sizeof *m};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof u.buf};
    ssize_t r;
    memset(m, 0, sizeof *m);
    if (fd)
        *fd = -1;
    do
        r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return -errno;
    if (r == 0)
        return 0;
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        int got;
        memcpy(&got, CMSG_DATA(c), sizeof got);
        if (fd)
            *fd = got;
        else
            close(got);
    }
    m->text[sizeof m->text - 1] = 0;
    return 1;
}

int sync_expect(int sock, int type, capsa_err *e)
{
    struct msg m;
    int r = sync_recv(sock, &m, NULL);
    if (r <= 0)
        return cerr_set(e, EPIPE, "runtime parent went away");
    if (m.type != type)
        return cerr_set(e, EPROTO, "sync: expected message %d, got %d", type, m.type);
    return 0;
}

void sync_die(int sock, const capsa_err *e)
{
    sync_send(sock, MSG_ERROR, e->code, e->msg);
    _exit(1);
}
