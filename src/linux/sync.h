/* The typed messages between the runtime (parent) and the processes it creates,
 * over a SOCK_SEQPACKET socketpair; fds travel with SCM_RIGHTS. */
#ifndef CAPSA_SYNC_H
#define CAPSA_SYNC_H

#include "util/err.h"

enum msg_type {
    MSG_GO = 1,         /* parent: cgroup placed, go on */
    MSG_USERNS,         /* child: new user namespace exists, write its maps */
    MSG_USERNS_DONE,    /* parent: maps written */
    MSG_PID,            /* stage1: val = host pid of the final process */
    MSG_READY,          /* init: blocked on the exec fifo from now on */
    MSG_ERROR,          /* any: text = one-line error, val = errno */
    MSG_SECCOMP_FD,     /* child: fd = seccomp notify listener */
    MSG_SECCOMP_DONE,   /* parent: listener handed on */
    MSG_CONSOLE_FD,     /* child: fd = pty master */
    MSG_CONSOLE_DONE,   /* parent: master handed on */
    MSG_HOOKS,          /* init: namespaces and mounts exist, run the runtime hooks */
    MSG_HOOKS_DONE,     /* parent: done; text = the state JSON for the container's hooks */
};

struct msg {
    int type;
    int val;
    char text[CERR_MSG_MAX];
};

int sync_send(int sock, int type, int val, const char *text);
int sync_send_fd(int sock, int type, int fd);
/* 1 with a message (and *fd if one came and fd != NULL), 0 on EOF, <0 error. */
int sync_recv(int sock, struct msg *m, int *fd);
int sync_expect(int sock, int type, capsa_err *e);
/* Send the error to the parent and _exit(1). */
__attribute__((noreturn)) void sync_die(int sock, const capsa_err *e);

#endif
