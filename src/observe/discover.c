/* Host-wide container discovery (see discover.h): /proc scanned for processes
 * in namespaces other than the host's, grouped into containers, each named
 * from its cgroup path (discover_cgroup.c), its init's parent
 * (discover_monitor.c) and the runtimes' state dirs (discover_state.c). */
#include "observe/discover_int.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "observe/procinfo.h"
#include "util/fs.h"

/* ---- processes ---- */

typedef struct {
    pid_t pid, ppid, nspid_last;
    unsigned long long pidns, mntns;
    char *cgroup;          /* primary path */
    obs_cgroup_class cls;
    bool classified;
    char comm[64];
    long group;
} proc_ent;

typedef struct {
    proc_ent *v;
    size_t n;
} proc_ents;

/* The namespaces a process must leave to count: the host's; inside a
 * container, our own. */
typedef struct {
    unsigned long long pid, mnt;
} ns_base;

static unsigned long long ns_ino(int pfd, const char *name)
{
    char buf[64];
    ssize_t n = readlinkat(pfd, name, buf, sizeof buf - 1);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *b = strchr(buf, '[');
    return b ? strtoull(b + 1, NULL, 10) : 0;
}

static char *read_at(int dfd, const char *name)
{
    autoclose int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
    char *s = NULL;
    capsa_err e;
    if (fd < 0 || fs_read_fd(fd, name, &s, NULL, &e) < 0)
        return NULL;
    return s;
}

static void read_status(int pfd, proc_ent *p)
{
    autofree char *s = read_at(pfd, "status");
    if (!s)
        return;
    for (const char *l = s; *l;) {
        const char *nl = strchrnul(l, '\n');
        if (!strncmp(l, "Name:", 5)) {
            const char *v = l + 5 + strspn(l + 5, " \t");
            snprintf(p->comm, sizeof p->comm, "%.*s", (int)(nl - v), v);
        } else if (!strncmp(l, "PPid:", 5)) {
            p->ppid = (pid_t)atoi(l + 5);
        } else if (!strncmp(l, "NSpid:", 6)) {
            const char *last = l + 6;
            for (const char *q = l + 6; q < nl; q++)
                if (*q == '\t' || *q == ' ')
                    last = q + 1;
            p->nspid_last = (pid_t)atoi(last);
        }
        l = *nl ? nl + 1 : nl;
    }
}

static int ns_baseline(ns_base *b, capsa_err *e)
{
    obs_ns_host host;
    obs_ns_host_load(&host);
    int self = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (self < 0)
        return cerr_sys(e, errno, "open /proc/self");
    unsigned long long self_pid = ns_ino(self, "ns/pid"), self_mnt = ns_ino(self, "ns/mnt");
    close(self);
    b->pid = host.ino[OBS_NS_PID];
    b->mnt = host.ino[OBS_NS_MNT];
    if (self_pid && self_pid != b->pid) {
        b->pid = self_pid;
        b->mnt = self_mnt;
    } else if (!host.known[OBS_NS_MNT]) {
        b->mnt = self_mnt;
    }
    return 0;
}

/* Every process (but ours, kernel threads and engines' daemons) in a pid or
 * mount namespace other than the baseline's. */
static int scan_procs(const ns_base *base, proc_ents *out, capsa_err *e)
{
    DIR *d = opendir("/proc");
    if (!d)
        return cerr_sys(e, errno, "open /proc");
    struct dirent *de;
    pid_t me = getpid();
    while ((de = readdir(d))) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        pid_t pid = (pid_t)atoi(de->d_name);
        if (pid == me)
            continue;
        int pfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0)
            continue;
        unsigned long long pns = ns_ino(pfd, "ns/pid"), mns = ns_ino(pfd, "ns/mnt");
        if (!pns || !mns || (pns == base->pid && mns == base->mnt)) {
            close(pfd);
            continue;
        }
        proc_ent p = {.pid = pid, .pidns = pns, .mntns = mns, .group = -1};
        autofree char *cg = read_at(pfd, "cgroup");
        read_status(pfd, &p);
        close(pfd);
        if (!cg || !*p.comm || p.ppid == 2 || pid == 2)
            continue;  /* gone meanwhile, or a kernel thread */
        if (pns == base->pid && obs_engine_daemon(p.comm))
            continue;
        p.cgroup = obs_primary_cgroup(cg, &p.cls, &p.classified);
        if (!p.cgroup)
            p.cgroup = xstrdup("/");
        out->v = xrealloc(out->v, (out->n + 1) * sizeof *out->v);
        out->v[out->n++] = p;
    }
    closedir(d);
    return 0;
}

/* What processes of one container share besides their namespaces: the
 * engine's id; else, in the host's pid ns, the cgroup path. */
static const char *group_key(const proc_ent *p, bool own_pid)
{
    return p->classified && *p->cls.id ? p->cls.id : own_pid ? "" : p->cgroup;
}

/* Group: a private pid ns with the engine's id (else the pid ns alone);
 * the host pid ns: mount ns + engine id (else the cgroup path). Returns the
 * number of groups. */
static size_t group_procs(proc_ents *ps, unsigned long long base_pid)
{
    size_t ng = 0;
    for (size_t i = 0; i < ps->n; i++) {
        proc_ent *p = &ps->v[i];
        bool own_pid = p->pidns != base_pid;
        const char *key = group_key(p, own_pid);
        for (size_t j = 0; j < i && p->group < 0; j++) {
            proc_ent *q = &ps->v[j];
            bool q_own = q->pidns != base_pid;
            if (own_pid != q_own || strcmp(key, group_key(q, q_own)))
                continue;
            if (own_pid ? p->pidns == q->pidns : p->mntns == q->mntns)
                p->group = q->group;
        }
        if (p->group < 0)
            p->group = (long)ng++;
    }
    return ng;
}

/* A group's init: NSpid 1 in its own pid ns, else the member whose parent is
 * outside the group (lowest pid), else any. *n: the group's size. */
static proc_ent *group_init(const proc_ents *ps, long g, unsigned long long base_pid,
                            unsigned *n)
{
    proc_ent *init = NULL;
    *n = 0;
    for (size_t i = 0; i < ps->n; i++) {
        proc_ent *p = &ps->v[i];
        if (p->group != g)
            continue;
        (*n)++;
        if (p->pidns != base_pid && p->nspid_last == 1) {
            init = p;
            continue;
        }
        bool parent_in = false;
        for (size_t j = 0; j < ps->n; j++)
            if (ps->v[j].pid == p->ppid && ps->v[j].group == g)
                parent_in = true;
        if (!parent_in && (!init || (init->nspid_last != 1 && p->pid < init->pid)))
            init = p;
    }
    for (size_t i = 0; i < ps->n && !init; i++)
        if (ps->v[i].group == g)
            init = &ps->v[i];
    return init;
}

static void procs_free(proc_ents *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        free(ps->v[i].cgroup);
    free(ps->v);
}

/* ---- naming a group ---- */

static char *dup0(const char *s)
{
    return s && *s ? xstrdup(s) : NULL;
}

/* What the init's parent (a shim, conmon) names, where the cgroup path did not. */
static void name_by_monitor(obs_host_ct *c, pid_t ppid)
{
    obs_monitor m;
    if (obs_monitor_of(ppid, &m)) {
        if (!c->engine)
            c->engine = xstrdup(m.engine);
        if (!c->id)
            c->id = xstrdup(m.id);
        c->ns = dup0(m.ns);
        c->name = dup0(m.name);
        c->pod_name = dup0(m.pod_name);
        c->pod_namespace = dup0(m.pod_ns);
        if (!c->pod_uid)
            c->pod_uid = dup0(m.pod_uid);
        pid_t spid;
        unsigned long long sstart;
        int sfd = m.state_dir ? open(m.state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        const char *rt = sfd >= 0 ? obs_state_read(sfd, &spid, &sstart) : NULL;
        if (sfd >= 0)
            close(sfd);
        if (rt && spid == c->pid) {
            c->runtime = xstrdup(rt);
            c->state_root = xstrdup(m.state_root);
        }
    }
    obs_monitor_free(&m);
}

/* What a state dir whose init is c's names (marked used). */
static void name_by_state(obs_host_ct *c, const obs_state_cts *st, bool *st_used)
{
    for (size_t s = 0; s < st->n; s++) {
        const obs_state_ct *sc = &st->v[s];
        if (!sc->id || sc->pid != c->pid)
            continue;
        st_used[s] = true;
        if (!c->runtime) {
            c->runtime = xstrdup(sc->runtime);
            c->state_root = xstrdup(sc->root);
        }
        if (!c->ns)
            c->ns = dup0(sc->ns);
        if (!c->engine) {
            const char *r = sc->root;
            c->engine = xstrdup(!strncmp(r, "/run/containerd/", 16) ? "containerd"
                                : !strncmp(r, "/run/docker/", 12) ? "docker"
                                                                  : sc->runtime);
        }
        if (!c->id)
            c->id = xstrdup(sc->id);
        return;
    }
}

static void group_ct(obs_host_ct *c, const proc_ent *init, unsigned n, const ns_base *base,
                     const obs_state_cts *st, bool *st_used)
{
    c->pid = init->pid;
    c->nprocs = n;
    snprintf(c->comm, sizeof c->comm, "%s", init->comm);
    c->cgroup = xstrdup(init->cgroup);
    c->pidns = init->pidns;
    c->mntns = init->mntns;
    c->own_pidns = init->pidns != base->pid;
    c->own_mntns = init->mntns != base->mnt;
    if (init->classified) {
        c->engine = xstrdup(init->cls.engine);
        c->id = dup0(init->cls.id);
        c->pod_uid = dup0(init->cls.pod_uid);
        c->qos = *init->cls.pod_uid ? dup0(init->cls.qos) : NULL;
        c->pod_cgroup = dup0(init->cls.pod_cgroup);
    }
    name_by_monitor(c, init->ppid);
    name_by_state(c, st, st_used);
    if (!c->engine)
        c->engine = xstrdup("unknown");
}

/* Containers of a state dir that share both namespaces with the host (no
 * group holds their init). */
static void add_host_ns_states(obs_host_cts *out, const obs_state_cts *st, const bool *st_used)
{
    for (size_t s = 0; s < st->n; s++) {
        const obs_state_ct *sc = &st->v[s];
        if (!sc->id || st_used[s])
            continue;
        bool seen = false;
        for (size_t i = 0; i < out->n; i++)
            if (out->v[i].pid == sc->pid)
                seen = true;
        if (seen)
            continue;
        autofree char *cg = obs_proc_file(sc->pid, "cgroup", NULL);
        if (!cg)
            continue;
        out->v = xrealloc(out->v, (out->n + 1) * sizeof *out->v);
        obs_host_ct *c = &out->v[out->n++];
        memset(c, 0, sizeof *c);
        obs_cgroup_class cls;
        bool classified;
        c->cgroup = obs_primary_cgroup(cg, &cls, &classified);
        c->pid = sc->pid;
        c->nprocs = 1;
        c->id = xstrdup(sc->id);
        c->runtime = xstrdup(sc->runtime);
        c->state_root = xstrdup(sc->root);
        c->engine = xstrdup(classified ? cls.engine : sc->runtime);
        autofree char *comm = obs_proc_file(sc->pid, "comm", NULL);
        if (comm)
            snprintf(c->comm, sizeof c->comm, "%.*s", (int)strcspn(comm, "\n"), comm);
    }
}

static int cmp_str0(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

static int cmp_ct(const void *a, const void *b)
{
    const obs_host_ct *x = a, *y = b;
    int r = strcmp(x->engine, y->engine);
    if (!r)  /* a pod's containers together */
        r = cmp_str0(x->pod_uid, y->pod_uid);
    if (!r)
        r = cmp_str0(x->id, y->id);
    if (!r)
        r = (x->pid > y->pid) - (x->pid < y->pid);
    return r;
}

int obs_discover(const char *extra_root, obs_host_cts *out, capsa_err *e)
{
    out->v = NULL;
    out->n = 0;
    ns_base base;
    int r = ns_baseline(&base, e);
    if (r < 0)
        return r;
    proc_ents ps = {0};
    if ((r = scan_procs(&base, &ps, e)) < 0) {
        procs_free(&ps);
        return r;
    }
    size_t ng = group_procs(&ps, base.pid);

    obs_state_cts st = {0};
    obs_states_scan(extra_root, &st);
    bool *st_used = xcalloc(st.n ? st.n : 1, sizeof *st_used);
    out->v = xcalloc(ng ? ng : 1, sizeof *out->v);
    for (size_t g = 0; g < ng; g++) {
        unsigned n;
        const proc_ent *init = group_init(&ps, (long)g, base.pid, &n);
        group_ct(&out->v[out->n++], init, n, &base, &st, st_used);
    }
    add_host_ns_states(out, &st, st_used);
    free(st_used);
    obs_states_free(&st);
    procs_free(&ps);
    if (out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, cmp_ct);
    return 0;
}

void obs_host_cts_free(obs_host_cts *cs)
{
    for (size_t i = 0; i < cs->n; i++) {
        obs_host_ct *c = &cs->v[i];
        free(c->id);
        free(c->engine);
        free(c->runtime);
        free(c->state_root);
        free(c->ns);
        free(c->pod_uid);
        free(c->qos);
        free(c->pod_cgroup);
        free(c->pod_name);
        free(c->pod_namespace);
        free(c->name);
        free(c->cgroup);
    }
    free(cs->v);
    cs->v = NULL;
    cs->n = 0;
}
