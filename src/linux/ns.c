/* Joining and creating namespaces, id maps, time offsets, loopback. */
#include "linux/linux.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/fs.h"

static int write_map(pid_t pid, const char *file, const spec_idmaps *m, capsa_err *e)
{
    char buf[4096], path[64];
    size_t n = 0;
    for (size_t i = 0; i < m->n && n < sizeof buf - 40; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%u %u %u\n", m->v[i].container_id,
                              m->v[i].host_id, m->v[i].size);
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    if (fs_write(path, buf, n, e) < 0)
        return cerr_wrap(e, "write %s", file);
    return 0;
}

int ns_write_id_maps(pid_t pid, const spec_linux *l, capsa_err *e)
{
    int r = write_map(pid, "uid_map", &l->uid_mappings, e);
    if (r == 0)
        r = write_map(pid, "gid_map", &l->gid_mappings, e);
    return r;
}

/* User namespace first: once inside it, the other joins are checked against it. */
int ns_join_paths(const spec_linux *l, bool user_only, capsa_err *e)
{
    static const enum spec_ns_type order[] = {NS_USER, NS_IPC, NS_UTS, NS_NET, NS_PID,
                                              NS_MNT, NS_CGROUP, NS_TIME};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
        const spec_ns *ns = &l->ns[order[i]];
        if (!ns->present || !ns->path || (user_only != (order[i] == NS_USER)))
            continue;
        autoclose int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return cerr_sys(e, errno, "open %s namespace %s", spec_ns_name(order[i]), ns->path);
        if (setns(fd, spec_ns_clone_flag(order[i])) < 0)
            return cerr_sys(e, errno, "join %s namespace %s", spec_ns_name(order[i]), ns->path);
    }
    return 0;
}

int ns_write_time_offsets(const spec_linux *l, capsa_err *e)
{
    char buf[256];
    size_t n = 0;
    for (size_t i = 0; i < l->n_time_offsets; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s %lld %u\n", l->time_offsets[i].clock,
                              (long long)l->time_offsets[i].secs, l->time_offsets[i].nanosecs);
    if (!n)
        return 0;
    if (fs_write("/proc/self/timens_offsets", buf, n, e) < 0)
        return cerr_wrap(e, "set linux.timeOffsets");
    return 0;
}

int net_loopback_up(capsa_err *e)
{
    autoclose int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return cerr_sys(e, errno, "socket for lo");
    struct ifreq ifr = {0};
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        return cerr_sys(e, errno, "get flags of lo");
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        return cerr_sys(e, errno, "bring lo up");
    return 0;
}
