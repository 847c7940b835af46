/* Reading a process's credentials, namespaces and labels from /proc. */
#include "observe/procinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "util/fs.h"

static const struct {
    const char *proc, *spec;
    unsigned long long init_ino;  /* PROC_*_INIT_INO (include/linux/proc_ns.h) */
} ns_names[OBS_NS__COUNT] = {
    [OBS_NS_CGROUP] = {"cgroup", "cgroup", 0xEFFFFFFBULL},
    [OBS_NS_IPC] = {"ipc", "ipc", 0xEFFFFFFFULL},
    [OBS_NS_MNT] = {"mnt", "mount", 0xEFFFFFF8ULL},
    [OBS_NS_NET] = {"net", "network", 0xEFFFFFF9ULL},
    [OBS_NS_PID] = {"pid", "pid", 0xEFFFFFFCULL},
    [OBS_NS_TIME] = {"time", "time", 0xEFFFFFFAULL},
    [OBS_NS_USER] = {"user", "user", 0xEFFFFFFDULL},
    [OBS_NS_UTS] = {"uts", "uts", 0xEFFFFFFEULL},
};

const char *obs_ns_proc_name(enum obs_ns t) { return ns_names[t].proc; }
const char *obs_ns_spec_name(enum obs_ns t) { return ns_names[t].spec; }

static bool hexfield(const char *line, const char *key, uint64_t *out)
{
    size_t kl = strlen(key);
    if (strncmp(line, key, kl) || line[kl] != ':')
        return false;
    *out = strtoull(line + kl + 1, NULL, 16);
    return true;
}

static bool intfield(const char *line, const char *key, int *out)
{
    size_t kl = strlen(key);
    if (strncmp(line, key, kl) || line[kl] != ':')
        return false;
    *out = (int)strtol(line + kl + 1, NULL, 10);
    return true;
}

static bool idfield(const char *line, const char *key, uint32_t ids[4])
{
    size_t kl = strlen(key);
    if (strncmp(line, key, kl) || line[kl] != ':')
        return false;
    unsigned a, b, c, d;
    if (sscanf(line + kl + 1, "%u %u %u %u", &a, &b, &c, &d) != 4)
        return false;
    ids[0] = a, ids[1] = b, ids[2] = c, ids[3] = d;
    return true;
}

void obs_status_parse(const char *text, obs_proc *p)
{
    p->no_new_privs = p->seccomp = p->seccomp_filters = -1;
    int caps = 0, ids = 0;
    for (const char *l = text; l && *l;) {
        const char *nl = strchrnul(l, '\n');
        if (!strncmp(l, "Name:", 5)) {
            const char *s = l + 5;
            s += strspn(s, " \t");
            snprintf(p->comm, sizeof p->comm, "%.*s", (int)(nl - s), s);
        }
        caps += hexfield(l, "CapInh", &p->cap_inh) + hexfield(l, "CapPrm", &p->cap_prm) +
                hexfield(l, "CapEff", &p->cap_eff) + hexfield(l, "CapBnd", &p->cap_bnd) +
                hexfield(l, "CapAmb", &p->cap_amb);
        ids += idfield(l, "Uid", p->uid) + idfield(l, "Gid", p->gid);
        intfield(l, "NoNewPrivs", &p->no_new_privs);
        intfield(l, "Seccomp", &p->seccomp);
        intfield(l, "Seccomp_filters", &p->seccomp_filters);
        l = *nl ? nl + 1 : NULL;
    }
    p->has_caps = caps >= 4;  /* CapAmb only exists since 4.3 */
    p->has_ids = ids == 2;
}

static char *read_opt(const char *path, size_t *len)
{
    char *s = NULL;
    capsa_err e;
    return fs_read(path, &s, len, &e) < 0 ? NULL : s;
}

char *obs_proc_file(pid_t pid, const char *name, size_t *len)
{
    char path[128];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
    return read_opt(path, len);
}

static unsigned long long ns_inode(pid_t pid, enum obs_ns t, int *err)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, ns_names[t].proc);
    struct stat st;
    if (stat(path, &st) < 0) {
        *err = errno;
        return 0;
    }
    *err = 0;
    return (unsigned long long)st.st_ino;
}

int obs_proc_read(pid_t pid, obs_proc *p, capsa_err *e)
{
    memset(p, 0, sizeof *p);
    p->pid = pid;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    autofree char *st = NULL;
    size_t len;
    if (pid <= 0 || fs_read(path, &st, &len, e) < 0)
        return cerr_set(e, ESRCH, "no process %d", (int)pid);
    obs_status_parse(st, p);
    for (int t = 0; t < OBS_NS__COUNT; t++)
        p->ns[t] = ns_inode(pid, (enum obs_ns)t, &p->ns_err[t]);
    p->uid_map = obs_proc_file(pid, "uid_map", NULL);
    p->gid_map = obs_proc_file(pid, "gid_map", NULL);
    return 0;
}

void obs_proc_free(obs_proc *p)
{
    free(p->uid_map);
    free(p->gid_map);
    p->uid_map = p->gid_map = NULL;
}

/* Does this kernel give init_net and the initial mount ns fixed inodes?
 * Checked on 6.18; dynamic inodes start at 0xF0000000, so a match with the
 * fixed number is never a coincidence. */
static bool fixed_net_mnt(void)
{
    struct utsname u;
    unsigned maj = 0, min = 0;
    return uname(&u) == 0 && sscanf(u.release, "%u.%u", &maj, &min) == 2 &&
           (maj > 6 || (maj == 6 && min >= 18));
}

void obs_ns_host_load(obs_ns_host *h)
{
    memset(h, 0, sizeof *h);
    int err;
    unsigned long long pid1_pidns = ns_inode(1, OBS_NS_PID, &err);
    bool pid1_host = pid1_pidns == ns_names[OBS_NS_PID].init_ino;
    for (int t = 0; t < OBS_NS__COUNT; t++) {
        h->ino[t] = ns_names[t].init_ino;
        h->known[t] = true;
    }
    /* net and mnt got fixed inodes in 6.15: before that, the host's are
     * whatever PID 1 (the host init) has. */
    static const enum obs_ns late[] = {OBS_NS_NET, OBS_NS_MNT};
    for (size_t i = 0; i < 2; i++) {
        enum obs_ns t = late[i];
        unsigned long long self = ns_inode(getpid(), t, &err);
        unsigned long long one = pid1_host ? ns_inode(1, t, &err) : 0;
        if (one)
            h->ino[t] = one;
        else if (self != ns_names[t].init_ino && !fixed_net_mnt())
            h->known[t] = false;  /* not in the host's ns, and no way to name it */
    }
}

int obs_ns_shared(const obs_ns_host *h, enum obs_ns t, unsigned long long ino)
{
    if (!ino)
        return -1;
    if (ino == h->ino[t] || ino == ns_names[t].init_ino)
        return 1;
    return h->known[t] ? 0 : -1;
}

long long obs_idmap_lookup(const char *map, unsigned long long inside)
{
    for (const char *l = map; l && *l;) {
        unsigned long long in, out, count;
        if (sscanf(l, "%llu %llu %llu", &in, &out, &count) == 3 && inside >= in &&
            inside - in < count)
            return (long long)(out + (inside - in));
        l = strchr(l, '\n');
        if (l)
            l++;
    }
    return -1;
}

bool obs_idmap_is_identity(const char *map)
{
    unsigned long long in, out, count;
    return map && sscanf(map, "%llu %llu %llu", &in, &out, &count) == 3 && in == 0 &&
           out == 0 && count == 4294967295ULL;
}

void obs_host_lsms(char *buf, size_t n)
{
    buf[0] = 0;
    autofree char *list = read_opt("/sys/kernel/security/lsm", NULL);
    bool aa = false, se = false;
    if (list) {
        aa = strstr(list, "apparmor") != NULL;
        se = strstr(list, "selinux") != NULL;
    } else {
        /* securityfs not mounted: the modules' own switches. */
        autofree char *en = read_opt("/sys/module/apparmor/parameters/enabled", NULL);
        aa = en && en[0] == 'Y';
        struct stat st;
        se = stat("/sys/fs/selinux/enforce", &st) == 0;
    }
    snprintf(buf, n, "%s%s%s", aa ? "apparmor" : "", aa && se ? "," : "", se ? "selinux" : "");
}

char *obs_proc_label(pid_t pid, const char *lsm)
{
    char *s = NULL;
    if (lsm && !strcmp(lsm, "apparmor"))
        s = obs_proc_file(pid, "attr/apparmor/current", NULL);
    if (!s)
        s = obs_proc_file(pid, "attr/current", NULL);
    if (s) {
        size_t l = strlen(s);
        while (l && (s[l - 1] == '\n' || s[l - 1] == '\0' || s[l - 1] == ' '))
            s[--l] = 0;
        if (!l) {
            free(s);
            s = NULL;
        }
    }
    return s;
}
