/* SCMP_ACT_NOTIFY: hand the listener fd to the seccomp agent at listenerPath,
 * with the runtime-spec "container process state" as payload (config-linux.md,
 * "The Container Process State"). */
#include "linux/seccomp_filter.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The version of the container process state format capsa writes. */
#define PROCESS_STATE_OCI_VERSION "1.2.0"

static char *process_state(const char *state_json, const char *metadata, capsa_err *e)
{
    json_error_t je;
    json_t *st = json_loads(state_json ? state_json : "", 0, &je);
    if (!st || !json_is_object(st)) {
        json_decref(st);
        cerr_set(e, EINVAL, "seccomp listener: container state: %s",
                 st ? "not a JSON object" : je.text);
        return NULL;
    }
    json_t *pid = json_object_get(st, "pid");
    if (!json_is_integer(pid) || json_integer_value(pid) <= 0) {
        json_decref(st);
        cerr_set(e, EINVAL, "seccomp listener: container state has no pid");
        return NULL;
    }
    json_t *m = json_object();
    json_object_set_new(m, "ociVersion", json_string(PROCESS_STATE_OCI_VERSION));
    json_object_set_new(m, "fds", json_pack("[s]", "seccompFd"));
    json_object_set_new(m, "pid", json_integer(json_integer_value(pid)));
    if (metadata) {
        json_t *md = json_string(metadata);
        if (!md) {
            json_decref(st);
            json_decref(m);
            cerr_set(e, EINVAL, "seccomp listener: linux.seccomp.listenerMetadata is not UTF-8");
            return NULL;
        }
        json_object_set_new(m, "metadata", md);
    }
    json_object_set_new(m, "state", st);
    char *text = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(m);
    if (!text)
        cerr_set(e, ENOMEM, "seccomp listener: cannot encode the container process state");
    return text;
}

/* The fd travels with the first sendmsg only, as the spec requires. */
static int send_all(int sock, int fd, const char *buf, size_t len)
{
    bool fd_sent = false;
    while (len > 0 || !fd_sent) {
        struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
        union {
            char buf[CMSG_SPACE(sizeof(int))];
            struct cmsghdr align;
        } u;
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
        if (!fd_sent) {
            memset(&u, 0, sizeof u);
            msg.msg_control = u.buf;
            msg.msg_controllen = sizeof u.buf;
            struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(c), &fd, sizeof fd);
        }
        ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        fd_sent = true;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int seccomp_send_listener(const char *listener_path, int notify_fd, const char *state_json,
                          const char *metadata, capsa_err *e)
{
    if (!listener_path || !*listener_path)
        return cerr_set(e, EINVAL, "seccomp listener: no linux.seccomp.listenerPath");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(listener_path) >= sizeof sa.sun_path)
        return cerr_set(e, ENAMETOOLONG, "seccomp listener %s: path longer than %zu bytes",
                        listener_path, sizeof sa.sun_path - 1);
    strcpy(sa.sun_path, listener_path);
    autofree char *payload = process_state(state_json, metadata, e);
    if (!payload)
        return -e->code;
    autoclose int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return cerr_sys(e, errno, "seccomp listener %s: socket", listener_path);
    int r;
    do
        r = connect(sock, (struct sockaddr *)&sa, sizeof sa);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return cerr_sys(e, errno, "seccomp listener %s: connect", listener_path);
    if ((r = send_all(sock, notify_fd, payload, strlen(payload))) < 0)
        return cerr_sys(e, r, "seccomp listener %s: send", listener_path);
    return 0;
}
