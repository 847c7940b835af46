/* Namespaces joined by path (linux.namespaces[].path) in checkpoint and
 * restore, as runc does it (criu_int.h):
 * - network and pid: external to the checkpoint. At dump CRIU is told the
 *   inode of init's namespace ("net[INODE]:extRootNetNS"), so it neither dumps
 *   nor recreates it; at restore the namespace named by the restore bundle's
 *   config.json (an engine makes a new one: podman's netns, CRI's sandbox) is
 *   opened and inherited by CRIU under that key.
 * - uts, ipc, time: CRIU dumps them as any namespace; at restore it joins the
 *   path again instead of making a new one (join-ns).
 * - mount, user, cgroup: refused (CRIU cannot join a mount or cgroup namespace
 *   it restores into, and runc's user namespace join is "not fully tested and
 *   dangerous" in CRIU's words). */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/criu_int.h"

static const struct {
    const char *oci;    /* linux.namespaces[].type */
    const char *criu;   /* CRIU's name */
    const char *key;    /* inherit key of an external namespace, runc's */
    int clone;
} NS[NS__COUNT] = {
    [NS_PID] = {"pid", "pid", "extRootPidNS", CLONE_NEWPID},
    [NS_NET] = {"network", "net", "extRootNetNS", CLONE_NEWNET},
    [NS_MNT] = {"mount", NULL, NULL, CLONE_NEWNS},
    [NS_IPC] = {"ipc", "ipc", NULL, CLONE_NEWIPC},
    [NS_UTS] = {"uts", "uts", NULL, CLONE_NEWUTS},
    [NS_USER] = {"user", NULL, NULL, CLONE_NEWUSER},
    [NS_CGROUP] = {"cgroup", NULL, NULL, CLONE_NEWCGROUP},
    [NS_TIME] = {"time", "time", NULL, 0x80 /* CLONE_NEWTIME */},
};

static bool joined(const spec *s, int t)
{
    return s->linux.ns[t].present && s->linux.ns[t].path && *s->linux.ns[t].path;
}

int cr_spec_check(const spec *s, capsa_err *e)
{
    for (int t = 0; t < NS__COUNT; t++)
        if (joined(s, t) && !NS[t].criu)
            return cerr_set(e, ENOTSUP, "linux.namespaces: the %s namespace is joined from %s; "
                            "CRIU cannot restore into a joined %s namespace", NS[t].oci,
                            s->linux.ns[t].path, NS[t].oci);
    return 0;
}

int cr_ns_dump(criu_opts *o, const spec *s, pid_t pid, capsa_err *e)
{
    for (int t = 0; t < NS__COUNT; t++) {
        if (!joined(s, t) || !NS[t].key)
            continue;
        /* init's own namespace, which is what CRIU sees (the path may be gone). */
        char path[64], ext[128];
        struct stat st;
        snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, NS[t].criu);
        if (stat(path, &st) < 0)
            return cerr_sys(e, errno, "%s namespace of init (%s)", NS[t].oci, path);
        snprintf(ext, sizeof ext, "%s[%llu]:%s", NS[t].criu, (unsigned long long)st.st_ino,
                 NS[t].key);
        if (crl.add_external(o, ext) < 0)
            return cerr_set(e, ENOMEM, "criu: external %s", ext);
    }
    return 0;
}

int cr_ns_restore(criu_opts *o, const spec *s, int fds[CR_NS_FDS], int *n, capsa_err *e)
{
    *n = 0;
    for (int t = 0; t < NS__COUNT; t++) {
        if (!joined(s, t))
            continue;
        const char *path = s->linux.ns[t].path;
        /* Not O_CLOEXEC: CRIU (libcriu's child) inherits it. */
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            return cerr_sys(e, errno, "linux.namespaces: %s namespace %s", NS[t].oci, path);
        int type = ioctl(fd, NS_GET_NSTYPE);
        if (type != NS[t].clone) {
            close(fd);
            return cerr_set(e, EINVAL, "linux.namespaces: %s is not a %s namespace", path,
                            NS[t].oci);
        }
        if (!NS[t].key) {
            close(fd);
            if (crl.join_ns_add(o, NS[t].criu, path, NULL) < 0)
                return cerr_set(e, ENOMEM, "criu: join %s namespace %s", NS[t].oci, path);
            continue;
        }
        fds[(*n)++] = fd;
        if (crl.add_inherit_fd(o, fd, NS[t].key) < 0)
            return cerr_set(e, ENOMEM, "criu: inherit %s namespace", NS[t].oci);
    }
    return 0;
}
