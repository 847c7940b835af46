/* capsa audit: namespaces, identity, capabilities, seccomp, no_new_privs and
 * LSM of one process; mounts and cgroups are in audit_mounts.c and
 * audit_cgroup.c. Each check adds exactly one row per subject, so a FAIL can
 * be found by its check id (docs/observe.md lists them). */
#include "observe/audit_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "observe/caps.h"
#include "util/fs.h"

/* What sharing each namespace with the host gives away. */
static const struct {
    obs_level if_shared;
    const char *why, *fix;
} ns_rules[OBS_NS__COUNT] = {
    [OBS_NS_CGROUP] = {OBS_WARN, "host cgroup paths visible in /proc/self/cgroup",
                       "add {\"type\": \"cgroup\"} to linux.namespaces"},
    [OBS_NS_IPC] = {OBS_FAIL, "host SysV shared memory, semaphores and message queues",
                    "add {\"type\": \"ipc\"} to linux.namespaces"},
    [OBS_NS_MNT] = {OBS_FAIL, "sees and changes the host's mount table",
                    "add {\"type\": \"mount\"} to linux.namespaces"},
    [OBS_NS_NET] = {OBS_FAIL, "host network: every interface, port and abstract unix socket",
                    "add {\"type\": \"network\"} to linux.namespaces (capsa spec --net none)"},
    [OBS_NS_PID] = {OBS_FAIL, "sees, and with capabilities signals or ptraces, host processes",
                    "add {\"type\": \"pid\"} to linux.namespaces"},
    [OBS_NS_TIME] = {OBS_PASS, "normal: changing clocks needs CAP_SYS_TIME anyway", NULL},
    [OBS_NS_USER] = {OBS_WARN, "ids are host ids: uid 0 inside is uid 0 on the host",
                     "add {\"type\": \"user\"} to linux.namespaces with linux.uidMappings/"
                     "gidMappings (capsa spec --rootless)"},
    [OBS_NS_UTS] = {OBS_WARN, "hostname and domainname are the host's",
                    "add {\"type\": \"uts\"} to linux.namespaces"},
};

static int count_procs(void)
{
    DIR *d = opendir("/proc");
    int n = 0;
    if (!d)
        return -1;
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] >= '1' && de->d_name[0] <= '9';
    closedir(d);
    return n;
}

/* Interface names other than lo, from /proc/PID/net/dev. */
static void net_ifaces(pid_t pid, char *buf, size_t n)
{
    autofree char *s = obs_proc_file(pid, "net/dev", NULL);
    size_t o = 0;
    buf[0] = 0;
    if (!s)
        return;
    for (char *l = s; l && *l;) {
        char *nl = strchrnul(l, '\n');
        char *colon = memchr(l, ':', (size_t)(nl - l));
        if (colon) {
            char *name = l + strspn(l, " ");
            int nlen = (int)(colon - name);
            if (!(nlen == 2 && !strncmp(name, "lo", 2)) && o + (size_t)nlen + 3 < n)
                o += (size_t)snprintf(buf + o, n - o, "%s%.*s", o ? ", " : "", nlen, name);
        }
        l = *nl ? nl + 1 : NULL;
    }
}

static int count_lines(const char *path)
{
    autofree char *s = NULL;
    size_t len;
    capsa_err e;
    if (fs_read(path, &s, &len, &e) < 0)
        return -1;
    int n = 0;
    for (char *p = s; *p; p++)
        n += *p == '\n';
    return n;
}

static void shared_detail(audit_ctx *c, enum obs_ns t, char *buf, size_t n)
{
    buf[0] = 0;
    if (t == OBS_NS_PID) {
        int np = count_procs();
        if (np > 0)
            snprintf(buf, n, " (%d processes visible)", np);
    } else if (t == OBS_NS_NET) {
        char ifs[256];
        net_ifaces(c->p->pid, ifs, sizeof ifs);
        if (*ifs)
            snprintf(buf, n, " (%s)", ifs);
    } else if (t == OBS_NS_IPC) {
        int shm = count_lines("/proc/sysvipc/shm");
        if (shm > 1)  /* the first line is a header */
            snprintf(buf, n, " (%d shared memory segments)", shm - 1);
    }
}

static void audit_namespaces(audit_ctx *c)
{
    for (int i = 0; i < OBS_NS__COUNT; i++) {
        enum obs_ns t = (enum obs_ns)i;
        char check[32];
        snprintf(check, sizeof check, "namespace.%s", obs_ns_proc_name(t));
        if (!c->p->ns[t]) {
            if (c->p->ns_err[t] == ENOENT) {
                obs_add(c->r, t == OBS_NS_TIME ? OBS_PASS : OBS_WARN, "namespaces", check, NULL,
                        "not supported by this kernel");
            } else {
                obs_add(c->r, OBS_SKIP, "namespaces", check, NULL,
                        "cannot read /proc/%d/ns/%s: %s (run as root)", (int)c->p->pid,
                        obs_ns_proc_name(t), strerror(c->p->ns_err[t]));
            }
            continue;
        }
        int shared = obs_ns_shared(&c->host, t, c->p->ns[t]);
        if (shared < 0) {
            obs_add(c->r, OBS_SKIP, "namespaces", check, NULL,
                    "%s:[%llu]: cannot tell whether it is the host's (PID 1 unreadable)",
                    obs_ns_proc_name(t), c->p->ns[t]);
        } else if (!shared) {
            obs_add(c->r, OBS_PASS, "namespaces", check, NULL, "private (%s:[%llu])",
                    obs_ns_proc_name(t), c->p->ns[t]);
        } else {
            char detail[320];
            shared_detail(c, t, detail, sizeof detail);
            obs_add(c->r, ns_rules[t].if_shared, "namespaces", check, ns_rules[t].fix,
                    "shared with the host: %s%s", ns_rules[t].why, detail);
        }
    }
}

static void audit_identity(audit_ctx *c)
{
    const obs_proc *p = c->p;
    if (!p->has_ids) {
        obs_add(c->r, OBS_SKIP, "process", "user.root", NULL, "no Uid line in /proc/%d/status",
                (int)p->pid);
        return;
    }
    /* /proc/PID/status shows ids as the reader's user namespace sees them:
     * read from the host, they are host ids. */
    unsigned euid = p->uid[1];
    long long root_to = p->uid_map ? obs_idmap_lookup(p->uid_map, 0) : -1;
    const char *fix = "linux.uidMappings/gidMappings with a user namespace (capsa spec "
                      "--rootless), or a non-root process.user.uid";
    if (c->userns_private == 1 && root_to == 0)
        obs_add(c->r, OBS_FAIL, "process", "user.root", fix,
                "the user namespace maps its root to host root (uid_map 0 -> 0)");
    else if (c->userns_private == 1)
        obs_add(c->r, OBS_PASS, "process", "user.root", NULL,
                "user namespace: runs as host uid %u%s", euid,
                root_to > 0 ? "" : " (container root unmapped)");
    else if (euid == 0)
        obs_add(c->r, OBS_WARN, "process", "user.root", fix,
                "runs as uid 0 with no user namespace: root here is root on the host");
    else
        obs_add(c->r, OBS_PASS, "process", "user.root", NULL,
                "runs as uid %u (not root), no user namespace", euid);
}

static void audit_caps(audit_ctx *c)
{
    const obs_proc *p = c->p;
    if (!p->has_caps) {
        obs_add(c->r, OBS_SKIP, "capabilities", "capabilities", NULL,
                "no Cap* lines in /proc/%d/status", (int)p->pid);
        return;
    }
    bool userns = c->userns_private == 1;
    uint64_t held = p->cap_eff | p->cap_prm | p->cap_amb;
    char eff[1024], bnd[1024];
    obs_caps_names(p->cap_eff, eff, sizeof eff);
    obs_caps_names(p->cap_bnd, bnd, sizeof bnd);
    obs_level worst = OBS_PASS;
    for (int cap = 0; cap < 64; cap++) {
        uint64_t bit = UINT64_C(1) << cap;
        const char *why;
        obs_cap_risk risk = obs_cap_risk_of(cap, &why);
        if (risk == OBS_CAP_OK || !((p->cap_bnd | held) & bit))
            continue;
        char check[48];
        snprintf(check, sizeof check, "cap.%s", obs_cap_name(cap));
        autofree char *fix = xasprintf("remove %s from process.capabilities (every set)",
                                       obs_cap_name(cap));
        obs_level l;
        if (held & bit) {
            /* In a user namespace a capability only reaches what that
             * namespace owns: still worth a warning, not an escape. */
            l = risk == OBS_CAP_DANGEROUS && !userns ? OBS_FAIL : OBS_WARN;
            obs_add(c->r, l, "capabilities", check, fix, "%s%s: %s",
                    p->cap_eff & bit ? "effective" : p->cap_amb & bit ? "ambient" : "permitted",
                    userns ? " (in a user namespace)" : "", why);
        } else if (risk == OBS_CAP_DANGEROUS && p->no_new_privs != 1) {
            l = OBS_WARN;
            obs_add(c->r, l, "capabilities", check,
                    "process.noNewPrivileges: true, or drop it from process.capabilities.bounding",
                    "in the bounding set without no_new_privs: a setuid or file-capability "
                    "binary regains it (%s)", why);
        } else {
            continue;
        }
        if (l > worst)
            worst = l;
    }
    /* The summary row carries the worst of the cap.* rows, not a new finding. */
    obs_add(c->r, worst, "capabilities", "capabilities",
            worst != OBS_PASS ? "see the cap.* rows" : NULL, "effective %s; bounding %s", eff,
            bnd);
}

static void audit_seccomp_nnp(audit_ctx *c)
{
    const obs_proc *p = c->p;
    const char *fix = "set linux.seccomp (capsa spec writes a default deny-list profile)";
    switch (p->seccomp) {
    case 0:
        obs_add(c->r, OBS_FAIL, "process", "seccomp", fix,
                "no seccomp filter: every syscall (keyctl, bpf, mount, ...) reaches the kernel");
        break;
    case 1:
        obs_add(c->r, OBS_PASS, "process", "seccomp", NULL, "strict mode");
        break;
    case 2:
        obs_add(c->r, OBS_PASS, "process", "seccomp", NULL, "filter mode, %d filter%s",
                p->seccomp_filters, p->seccomp_filters == 1 ? "" : "s");
        break;
    default:
        obs_add(c->r, OBS_SKIP, "process", "seccomp", NULL,
                "kernel does not report seccomp in /proc/PID/status");
    }
    if (p->no_new_privs == 1)
        obs_add(c->r, OBS_PASS, "process", "no_new_privs", NULL, "set");
    else if (p->no_new_privs == 0)
        obs_add(c->r, OBS_WARN, "process", "no_new_privs", "process.noNewPrivileges: true",
                "not set: setuid/setgid and file-capability binaries raise privileges");
    else
        obs_add(c->r, OBS_SKIP, "process", "no_new_privs", NULL,
                "kernel does not report NoNewPrivs");
}

static void audit_lsm(audit_ctx *c)
{
    char lsms[64];
    obs_host_lsms(lsms, sizeof lsms);
    if (!*lsms) {
        obs_add(c->r, OBS_PASS, "lsm", "lsm", NULL,
                "host has no AppArmor or SELinux: nothing to confine with");
        return;
    }
    bool aa = strstr(lsms, "apparmor") != NULL;
    autofree char *label = obs_proc_label(c->p->pid, aa ? "apparmor" : "selinux");
    const char *fix = aa ? "process.apparmorProfile" : "process.selinuxLabel";
    if (!label)
        obs_add(c->r, OBS_SKIP, "lsm", "lsm", NULL, "host has %s; cannot read the label of %d",
                lsms, (int)c->p->pid);
    else if (!strncmp(label, "unconfined", 10) || strstr(label, ":unconfined_t:") ||
             strstr(label, ":spc_t:"))
        obs_add(c->r, OBS_WARN, "lsm", "lsm", fix, "%s: unconfined (%s)", lsms, label);
    else
        obs_add(c->r, OBS_PASS, "lsm", "lsm", NULL, "%s label %s", lsms, label);
}

int obs_audit(const obs_target *t, obs_report *r, capsa_err *e)
{
    obs_proc p;
    int rr = obs_proc_read(t->pid, &p, e);
    if (rr < 0)
        return rr;
    audit_ctx c = {.t = t, .p = &p, .r = r};
    obs_ns_host_load(&c.host);
    c.userns_private = obs_ns_shared(&c.host, OBS_NS_USER, p.ns[OBS_NS_USER]);
    if (c.userns_private >= 0)
        c.userns_private = !c.userns_private;
    audit_namespaces(&c);
    audit_identity(&c);
    audit_caps(&c);
    audit_seccomp_nnp(&c);
    audit_mounts(&c);
    audit_cgroups(&c);
    audit_lsm(&c);
    obs_proc_free(&p);
    return 0;
}

json_t *obs_target_json(const obs_target *t)
{
    obs_proc p;
    capsa_err e;
    const char *comm = NULL;
    if (t->pid > 0 && obs_proc_read(t->pid, &p, &e) == 0) {
        comm = p.comm;
        obs_proc_free(&p);
    }
    return json_pack("{s:s, s:o, s:i, s:o, s:o}", "kind", t->id ? "container" : "pid", "id",
                     t->id ? json_string(t->id) : json_null(), "pid", (int)t->pid, "status",
                     t->status ? json_string(t->status) : json_null(), "comm",
                     comm ? json_string(comm) : json_null());
}
