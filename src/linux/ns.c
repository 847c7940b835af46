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
#include <sys/wait.h>
#include <stdlib.h>
#include <unistd.h>

#include "linux/resolve.h"
#include "util/fs.h"

static int write_map(pid_t pid, const char *file, const spec_idmaps *m, capsa_err *e)
{
    char buf[4096], path[64];
    size_t n = 0;
    for (size_t i = 0; i < m->n && n < sizeof buf - 40; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%u %u %u\n", m->v[i].container_id,
                              m->v[i].host_id, m->v[i].size);
    snprintf(path, sizeof path, "%d/%s", (int)pid, file);
    if (procfs_write(path, buf, n, e) < 0)
        return cerr_wrap(e, "write %s", file);
    return 0;
}

/* newuidmap/newgidmap (package uidmap) write ranges that /etc/subuid and
 * /etc/subgid grant to an unprivileged user. */
static int map_helper(const char *tool, pid_t pid, const spec_idmaps *m, capsa_err *e)
{
    char *argv[3 + 3 * 64 + 1];
    char nums[3 * 64][16], pidbuf[16];
    size_t k = 0;
    if (m->n > 64)
        return cerr_set(e, E2BIG, "%s: too many ranges", tool);
    argv[k++] = (char *)tool;
    snprintf(pidbuf, sizeof pidbuf, "%d", (int)pid);
    argv[k++] = pidbuf;
    for (size_t i = 0; i < m->n; i++) {
        uint32_t v[3] = {m->v[i].container_id, m->v[i].host_id, m->v[i].size};
        for (int j = 0; j < 3; j++) {
            snprintf(nums[3 * i + j], sizeof nums[0], "%u", v[j]);
            argv[k++] = nums[3 * i + j];
        }
    }
    argv[k] = NULL;
    pid_t c = fork();
    if (c < 0)
        return cerr_sys(e, errno, "fork %s", tool);
    if (c == 0) {
        execvp(tool, argv);
        dprintf(2, "capsa: %s: %s (install the uidmap package)\n", tool, strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(c, &st, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(st) || WEXITSTATUS(st))
        return cerr_set(e, EPERM, "%s refused the mapping: check the ranges in /etc/sub%cid for uid %u",
                        tool, tool[3] == 'u' ? 'u' : 'g', (unsigned)getuid());
    return 0;
}

/* One range mapping the caller's own id needs no helper (with setgroups denied). */
static bool own_id_only(const spec_idmaps *m, uint32_t id)
{
    return m->n == 1 && m->v[0].size == 1 && m->v[0].host_id == id;
}

int ns_write_id_maps(pid_t pid, const spec_linux *l, capsa_err *e)
{
    if (geteuid() != 0) {
        int r;
        if (own_id_only(&l->uid_mappings, getuid()))
            r = write_map(pid, "uid_map", &l->uid_mappings, e);
        else
            r = map_helper("newuidmap", pid, &l->uid_mappings, e);
        if (r < 0)
            return r;
        if (own_id_only(&l->gid_mappings, getgid())) {
            char path[64];
            snprintf(path, sizeof path, "/proc/%d/setgroups", (int)pid);
            if (fs_write_str(path, "deny", e) < 0)
                return cerr_wrap(e, "deny setgroups");
            return write_map(pid, "gid_map", &l->gid_mappings, e);
        }
        return map_helper("newgidmap", pid, &l->gid_mappings, e);
    }
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
    if (procfs_write("self/timens_offsets", buf, n, e) < 0)
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

/* A user namespace holding the given maps, as an fd (for an idmapped mount): a
 * child unshares it, the caller writes the maps, opens /proc/CHILD/ns/user and
 * lets the child go. */
int ns_idmap_userns(const spec_idmaps *uid, const spec_idmaps *gid, capsa_err *e)
{
    int ready[2], hold[2];
    if (pipe2(ready, O_CLOEXEC) < 0)
        return cerr_sys(e, errno, "pipe");
    if (pipe2(hold, O_CLOEXEC) < 0) {
        close(ready[0]);
        close(ready[1]);
        return cerr_sys(e, errno, "pipe");
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(hold[1]);   /* or the read below never sees EOF */
        close(ready[0]);
        char c = unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1)
            _exit(1);
        (void)read(hold[0], &c, 1);   /* until the caller has the fd */
        _exit(0);
    }
    close(ready[1]);
    close(hold[0]);
    char c = 'n';
    int r = 0, fd = -1;
    if (pid < 0 || read(ready[0], &c, 1) != 1 || c != 'y')
        r = cerr_set(e, EPERM, "create a user namespace for an idmapped mount");
    /* The kernel maps a file's on-disk id as the namespace-side id of the
     * mount's user namespace; OCI's hostID -> containerID is therefore written
     * inverted: "hostID containerID size". */
    spec_idmap ub[uid->n + 1], gb[gid->n + 1];
    for (size_t i = 0; i < uid->n; i++)
        ub[i] = (spec_idmap){.container_id = uid->v[i].host_id, .host_id = uid->v[i].container_id,
                             .size = uid->v[i].size};
    for (size_t i = 0; i < gid->n; i++)
        gb[i] = (spec_idmap){.container_id = gid->v[i].host_id, .host_id = gid->v[i].container_id,
                             .size = gid->v[i].size};
    spec_linux l = {.uid_mappings = {ub, uid->n}, .gid_mappings = {gb, gid->n}};
    if (r == 0 && (r = ns_write_id_maps(pid, &l, e)) == 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            r = cerr_sys(e, errno, "open %s", path);
    }
    close(hold[1]);
    close(ready[0]);
    if (pid > 0)
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    return r < 0 ? r : fd;
}
