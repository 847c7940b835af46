#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/container.h"

unsigned long long proc_start_time(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    /* comm may hold spaces and parens: fields restart after the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    char state;
    unsigned long long start = 0;
    if (sscanf(p + 2, "%c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
               &state, &start) != 2)
        return 0;
    if (state == 'Z' || state == 'X')
        return 0;  /* exited: a zombie is a stopped container */
    return start;
}

int proc_open_verified(pid_t pid, unsigned long long start)
{
    if (pid <= 0)
        return -ESRCH;
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0)
        return -errno;
    /* Checked after the pidfd exists: the pidfd pins this exact process. */
    if (proc_start_time(pid) != start) {
        close(fd);
        return -ESRCH;
    }
    return fd;
}

/* The cgroup layer prepares the join, the linux layer runs it (spawn_join). */
static int join_self(void *join, capsa_err *e)
{
    return cgroup_join_self(join, e);
}

static int join_by_pid(void *join, pid_t pid, capsa_err *e)
{
    return cgroup_join_v2_pid(join, pid, e);
}

spawn_join ct_spawn_join(cgroup_join *j)
{
    return (spawn_join){.cgroup_fd = j->v2, .self = join_self, .by_pid = join_by_pid, .arg = j};
}
