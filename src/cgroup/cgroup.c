/* The cgroup interface: decide which hierarchy (v1 controller or cgroup2)
 * takes each resource on this host, then drive v1.c / v2.c. Hybrid hosts:
 * v1 controllers do the work; the cgroup2 hierarchy also gets the container
 * directory (so the 0:: path is the container's own) and takes only the
 * resources whose controller is on cgroup2 and not a v1 one. */
#include "cgroup/cgroup.h"
#include "cgroup/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/mountinfo.h"

static const struct {
    const char *v1, *v2, *spec;
} ctl_names[CGC__COUNT] = {
    [CGC_CPU] = {"cpu", "cpu", "linux.resources.cpu"},
    [CGC_CPUSET] = {"cpuset", "cpuset", "linux.resources.cpu.cpus/mems"},
    [CGC_MEMORY] = {"memory", "memory", "linux.resources.memory"},
    [CGC_PIDS] = {"pids", "pids", "linux.resources.pids"},
    [CGC_BLKIO] = {"blkio", "io", "linux.resources.blockIO"},
    [CGC_HUGETLB] = {"hugetlb", "hugetlb", "linux.resources.hugepageLimits"},
    [CGC_NET_CLS] = {"net_cls", NULL, "linux.resources.network.classID"},
    [CGC_NET_PRIO] = {"net_prio", NULL, "linux.resources.network.priorities"},
    [CGC_DEVICES] = {"devices", NULL, "linux.resources.devices"},
};

const char *cg_ctl_v1_name(enum cg_ctl c) { return ctl_names[c].v1; }
const char *cg_ctl_v2_name(enum cg_ctl c) { return ctl_names[c].v2; }
const char *cg_ctl_spec_name(enum cg_ctl c) { return ctl_names[c].spec; }

unsigned cg_needed(const spec_resources *r)
{
    unsigned m = 0;
    if (!r)
        return 0;
    const spec_cpu *c = &r->cpu;
    if (c->has_shares || c->has_quota || c->has_period || c->has_burst || c->has_rt_runtime ||
        c->has_rt_period || c->has_idle)
        m |= CGC_BIT(CGC_CPU);
    if ((c->cpus && *c->cpus) || (c->mems && *c->mems))
        m |= CGC_BIT(CGC_CPUSET);
    const spec_memory *mem = &r->memory;
    if (mem->has_limit || mem->has_reservation || mem->has_swap || mem->has_kernel ||
        mem->has_kernel_tcp || mem->has_swappiness || mem->has_disable_oom_killer ||
        mem->has_use_hierarchy)
        m |= CGC_BIT(CGC_MEMORY);
    if (r->has_pids)
        m |= CGC_BIT(CGC_PIDS);
    const spec_blkio *b = &r->blkio;
    /* Weight 0 is "not set" (runc): Docker writes blockIO {"weight": 0} into every
     * config, which must not need a blkio/io controller. */
    if ((b->has_weight && b->weight) || (b->has_leaf_weight && b->leaf_weight) ||
        b->n_weight_device || b->read_bps.n || b->write_bps.n || b->read_iops.n ||
        b->write_iops.n)
        m |= CGC_BIT(CGC_BLKIO);
    if (r->n_hugepages)
        m |= CGC_BIT(CGC_HUGETLB);
    /* classid 0 is "not set" (runc writes net_cls.classid only when non-zero). */
    if (r->has_net_class_id && r->net_class_id)
        m |= CGC_BIT(CGC_NET_CLS);
    if (r->n_net_priorities)
        m |= CGC_BIT(CGC_NET_PRIO);
    /* The caller passes the complete rule list (spec rules plus the default
     * allowed devices); no rules means the devices are left alone. */
    if (r->n_devices)
        m |= CGC_BIT(CGC_DEVICES);
    return m;
}

typedef struct {
    unsigned v1, v2;  /* controllers applied through each */
    bool unified;     /* unified map goes to the cgroup2 dir */
    cg_strv need;     /* v2 controller names the leaf must have */
} cg_plan;

static int plan(const cg_host *host, const spec_resources *r, cg_plan *pl, capsa_err *e)
{
    memset(pl, 0, sizeof *pl);
    if (!r)
        return 0;
    if (r->has_rdma)
        return cerr_set(e, EOPNOTSUPP, "linux.resources.rdma is not supported by capsa");
    unsigned needed = cg_needed(r);
    for (int c = 0; c < CGC__COUNT; c++) {
        if (!(needed & CGC_BIT(c)))
            continue;
        const char *v2n = cg_ctl_v2_name((enum cg_ctl)c);
        if (host->mode != CG_UNIFIED && cg_host_v1(host, cg_ctl_v1_name((enum cg_ctl)c))) {
            pl->v1 |= CGC_BIT(c);
        } else if (host->v2 >= 0 &&
                   (c == CGC_DEVICES || (v2n && cg_word_in(host->v2_ctrls, v2n)))) {
            pl->v2 |= CGC_BIT(c);
        } else if (host->mode == CG_UNIFIED && !v2n) {
            return cerr_set(e, EOPNOTSUPP, "%s is not supported on cgroup v2 (no %s controller)",
                            cg_ctl_spec_name((enum cg_ctl)c), cg_ctl_v1_name((enum cg_ctl)c));
        } else if (host->mode == CG_UNIFIED) {
            return cerr_set(e, EOPNOTSUPP, "%s: the %s controller is not available (not in "
                            "%s/cgroup.controllers)", cg_ctl_spec_name((enum cg_ctl)c), v2n,
                            host->h[host->v2].mount);
        } else {
            return cerr_set(e, EOPNOTSUPP, "%s: the %s cgroup controller is not mounted on "
                            "this host", cg_ctl_spec_name((enum cg_ctl)c),
                            cg_ctl_v1_name((enum cg_ctl)c));
        }
    }
    for (size_t i = 0; i < r->unified.n; i++) {
        const char *k = r->unified.v[i].key;
        if (host->v2 < 0)
            return cerr_set(e, EOPNOTSUPP, "linux.resources.unified needs cgroup v2 (this "
                            "host has cgroup v1 only)");
        int rr = cg2_check_unified_key(k, e);
        if (rr < 0)
            return rr;
        autofree char *ctl = cg_strndup(k, strcspn(k, "."));
        if (strcmp(ctl, "cgroup") && !cg_word_in(host->v2_ctrls, ctl))
            return cerr_set(e, EOPNOTSUPP, "linux.resources.unified.%s: the %s controller is "
                            "not on the cgroup2 hierarchy%s", k, ctl,
                            cg_host_v1(host, ctl) ? " (this hybrid host has it as cgroup v1)"
                                                  : "");
        pl->unified = true;
    }
    cg2_needed_names(r, pl->v2, pl->unified, &pl->need);
    return 0;
}

static void rollback(cg_strv *created)
{
    for (size_t i = created->n; i-- > 0;) {
        capsa_err e2;
        cg_rmdir_tree(created->v[i], 0, &e2);
    }
}

/* v1 cpuset: every directory this call made needs cpus/mems before a task
 * can join (a new cpuset cgroup starts empty). So does a parent a concurrent
 * create has just made and not filled yet: any empty one on the path is filled,
 * set values are left alone. One of cpuset.cpus / cpuset.mems of dir, filled from the nearest filled
 * ancestor (never above base) if empty; *val gets the value. From the leaf up:
 * usually its parent is filled already (two reads, not one per level). */
static int cpuset_fill_file(char *dir, size_t blen, const char *file, char **val, capsa_err *e)
{
    int r = cg_read(dir, file, val, e);
    if (r < 0 || **val)
        return r;
    char *slash = strrchr(dir, '/');
    if (!slash || (size_t)(slash - dir) < blen)
        return 0;   /* base itself is empty: nothing to copy */
    free(*val);
    *val = NULL;
    *slash = 0;
    r = cpuset_fill_file(dir, blen, file, val, e);
    *slash = '/';
    return r < 0 ? r : cg_write(dir, file, *val, e);
}

static int cpuset_fill(const char *base, const char *rel, capsa_err *e)
{
    autofree char *dir = cg_join(base, rel);
    static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
    for (size_t i = 0; i < 2; i++) {
        autofree char *val = NULL;
        int r = cpuset_fill_file(dir, strlen(base), files[i], &val, e);
        if (r < 0)
            return r;
    }
    return 0;
}

static int apply(const cg_host *host, const char *path, const spec_resources *r,
                 const cg_plan *pl, bool update, capsa_err *e)
{
    int rr = cg1_apply(host, path, r, pl->v1, update, e);
    if (rr < 0 || (!pl->v2 && !pl->unified))
        return rr;
    autofree char *dir = NULL;
    if ((rr = cg_resolve(host, cg_host_v2(host), path, NULL, NULL, &dir, e)) < 0)
        return rr;
    if (!cg_dir_exists(dir))
        return cerr_set(e, ENOENT, "cgroup %s does not exist", dir);
    return cg2_apply(dir, r, pl->v2, pl->unified, update, e);
}

/* A migration by pid into every hierarchy (see cgroup_join for the way around
 * its cost). */
static int move_pid(const cg_host *host, const char *path, pid_t pid, capsa_err *e)
{
    int rr = 0;
    for (size_t i = 0; rr >= 0 && i < host->n; i++) {
        autofree char *dir = NULL;
        if ((rr = cg_resolve(host, &host->h[i], path, NULL, NULL, &dir, e)) >= 0)
            rr = cg_writef(dir, "cgroup.procs", e, "%d", (int)pid);
    }
    return rr;
}

/* The directories of `created` above the container's own (leaves), one per line. */
static char *made_parents(const cg_strv *created, const cg_strv *leaves)
{
    size_t len = 0;
    for (size_t i = 0; i < created->n; i++)
        len += strlen(created->v[i]) + 1;
    char *out = xmalloc(len + 1), *p = out;
    for (size_t i = 0; i < created->n; i++) {
        bool parent = false;
        size_t n = strlen(created->v[i]);
        for (size_t j = 0; j < leaves->n && !parent; j++)
            parent = !strncmp(leaves->v[j], created->v[i], n) && leaves->v[j][n] == '/';
        if (parent)
            p += sprintf(p, "%s\n", created->v[i]);
    }
    if (p == out) {
        free(out);
        return NULL;
    }
    return out;
}

static int fs_setup(const char *path, const spec_resources *r, pid_t pid, char **made,
                    capsa_err *e)
{
    cg_host host;
    cg_plan pl = {0};
    cg_strv created = {0}, leaves = {0};
    if (made)
        *made = NULL;
    int rr = cg_host_load(&host, e);
    if (rr < 0)
        return rr;
    if ((rr = cg_check_path(path, e)) < 0 || (rr = plan(&host, r, &pl, e)) < 0)
        goto out;
    for (size_t i = 0; i < host.n && rr >= 0; i++) {
        const cg_hier *h = &host.h[i];
        autofree char *base = NULL, *rel = NULL, *dir = NULL;
        if ((rr = cg_resolve(&host, h, path, &base, &rel, &dir, e)) < 0 ||
            (rr = cg_mkdir_path(base, rel, &created, e)) < 0)
            break;
        cg_strv_add(&leaves, dir);
        if (!h->v2 && cg_hier_has(h, "cpuset"))
            rr = cpuset_fill(base, rel, e);
        else if (h->v2)
            rr = cg2_prepare(base, rel, &created, &pl.need, e);
    }
    if (rr >= 0 && r)
        rr = apply(&host, path, r, &pl, false, e);
    if (rr >= 0 && pid > 0)
        rr = move_pid(&host, path, pid, e);
    if (rr < 0)
        rollback(&created);
    else if (made)
        *made = made_parents(&created, &leaves);
out:
    if (rr < 0)
        cerr_wrap(e, "cgroup %s", path);
    cg_strv_free(&pl.need);
    cg_strv_free(&created);
    cg_strv_free(&leaves);
    cg_host_free(&host);
    return rr;
}

/* ---- crun's run.oci.systemd.subgroup / run.oci.delegate-cgroup ----
 * The container's cgroup (recorded in its state: limits, stats, pause, kill,
 * delete use it) is SCOPE/SUBGROUP; with delegate-cgroup its processes are one
 * level further down, CGROUP/DELEGATE (no limits there, as crun), and the name
 * is kept as the xattr below on CGROUP's cgroup2 directory for exec. */

static int procs_dir(const cg_host *host, const char *path, char **dir, capsa_err *e);

#define DELEGATE_XATTR "trusted.capsa.delegate"

static char *ct_why;       /* why cgroup_path_for_ct refused the annotations */
static char *ct_delegate;  /* run.oci.delegate-cgroup of the create in progress */

char *cgroup_path_for_ct(const char *cgroups_path, const char *id, const spec_map *ann)
{
    free(ct_why);
    free(ct_delegate);
    ct_why = ct_delegate = NULL;
    autofree char *sub = NULL;
    char *del = NULL, *why = NULL;
    if (cg_sd_ct_annotations(ann, cg_sd_enabled(), cgroup_mode() == CG_UNIFIED, &sub, &del,
                             &why) < 0) {
        ct_why = why;
        return NULL;
    }
    char *path = cgroup_path_for(cgroups_path, id);
    if (path && sub) {
        char *p2 = xasprintf("%s/%s", path, sub);
        free(path);
        path = p2;
    }
    if (path)
        ct_delegate = del;
    else
        free(del);
    return path;
}

/* Where a container's processes go: path, or path/DELEGATE when its cgroup2
 * directory carries the delegate xattr (a plain name, checked again). */
static char *proc_path(const cg_host *host, const char *path)
{
    const cg_hier *h = cg_host_v2(host);
    autofree char *dir = NULL;
    capsa_err e2;
    char name[256];
    ssize_t n;
    if (host->mode != CG_UNIFIED || !h || cg_resolve(host, h, path, NULL, NULL, &dir, &e2) < 0 ||
        (n = getxattr(dir, DELEGATE_XATTR, name, sizeof name - 1)) <= 0)
        return xstrdup(path);
    name[n] = 0;
    if (strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
        return xstrdup(path);
    return xasprintf("%s/%s", path, name);
}

/* The scope of a container path below it (subgroup), if the scope holds
 * nothing but that path: no process of its own and no other sub-cgroup (so a
 * cgroupfs container placed inside some capsa scope never stops or changes
 * that scope). NULL: path is not below a scope of its own (path itself may be
 * the scope). */
static char *own_scope_above(const cg_host *host, const char *path)
{
    char *scope = cg_sd_scope_of(path);
    if (!scope || !strcmp(scope, path)) {
        free(scope);
        return NULL;
    }
    const char *child = path + strlen(scope) + 1;
    size_t clen = strcspn(child, "/");
    autofree char *sdir = NULL;
    capsa_err e2;
    bool ok = procs_dir(host, scope, &sdir, &e2) >= 0;
    autofree char *own = ok ? cg_read_opt(sdir, "cgroup.procs") : NULL;
    if (!ok || (own && own[strspn(own, " \n")]))
        ok = false;
    DIR *d = ok ? opendir(sdir) : NULL;
    for (struct dirent *de; d && (de = readdir(d));)
        if (de->d_type == DT_DIR && strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
            (strlen(de->d_name) != clen || strncmp(de->d_name, child, clen)))
            ok = false;
    if (d)
        closedir(d);
    if (!ok) {
        free(scope);
        return NULL;
    }
    return scope;
}

static void enable_all(const char *dir)
{
    autofree char *ctrls = cg_read_opt(dir, "cgroup.controllers");
    for (const char *p = ctrls; p && *p;) {
        p += strspn(p, " \n");
        size_t n = strcspn(p, " \n");
        if (n) {
            capsa_err e2;
            cg_writef(dir, "cgroup.subtree_control", &e2, "+%.*s", (int)n, p);
        }
        p += n;
    }
}

/* cgroup2 below a started scope: mkdir path (SCOPE/SUB) and path/DELEGATE,
 * move pid into the deepest, then enable every controller the scope has in its
 * subtree_control (and path's, for the delegated one). v1 hierarchies are
 * left to fs_setup (no rule against processes in inner cgroups there). */
static int sd_sub_prepare(const char *scope, const char *path, const char *del, pid_t pid,
                          capsa_err *e)
{
    cg_host host;
    int rr = cg_host_load(&host, e);
    if (rr < 0)
        return rr;
    const cg_hier *h = cg_host_v2(&host);
    autofree char *sdir = NULL, *ldir = NULL, *tdir = NULL;
    if (!h)
        goto out;
    if ((rr = cg_resolve(&host, h, scope, NULL, NULL, &sdir, e)) < 0 ||
        (rr = cg_resolve(&host, h, path, NULL, NULL, &ldir, e)) < 0)
        goto out;
    tdir = del ? cg_join(ldir, del) : xstrdup(ldir);
    if (strcmp(ldir, sdir) && mkdir(ldir, 0755) < 0 && errno != EEXIST) {
        rr = cerr_sys(e, errno, "mkdir %s", ldir);
        goto out;
    }
    if (del && mkdir(tdir, 0755) < 0 && errno != EEXIST) {
        rr = cerr_sys(e, errno, "mkdir %s", tdir);
        goto out;
    }
    if (pid > 0 && (rr = cg_writef(tdir, "cgroup.procs", e, "%d", (int)pid)) < 0)
        goto out;
    if (strcmp(ldir, sdir))
        enable_all(sdir);
    if (del) {
        enable_all(ldir);
        if (setxattr(ldir, DELEGATE_XATTR, del, strlen(del), 0) < 0)
            rr = cerr_sys(e, errno, "annotation run.oci.delegate-cgroup: set %s on %s",
                          DELEGATE_XATTR, ldir);
    }
out:
    cg_host_free(&host);
    return rr;
}

/* The systemd driver: the scope first (it needs the init's pid: with none yet,
 * it waits for cgroup_join_v2_pid / cgroup_enter), then the cgroupfs drivers
 * write everything into the delegated cgroup, as runc does. With a subgroup
 * the scope is path's (SCOPE/SUB), the limits go both to the scope (unit
 * properties) and to SCOPE/SUB (files), as crun. */
static int sd_place(const char *path, const spec_resources *r, pid_t pid, char **made,
                    capsa_err *e)
{
    autofree char *scope = cg_sd_scope_of(path);
    int rr = cg_sd_start(scope ? scope : path, r, pid, e);
    if (rr < 0)
        return rr;
    if (scope && (strcmp(scope, path) || ct_delegate) &&
        (rr = sd_sub_prepare(scope, path, ct_delegate, pid, e)) < 0)
        cerr_wrap(e, "cgroup %s", path);
    if (rr == 0)
        rr = fs_setup(path, r, ct_delegate ? 0 : pid, made, e);
    if (rr < 0) {   /* the scope is ours: stop it, then remove what is left below */
        capsa_err e2;
        cg_sd_stop(scope ? scope : path, &e2);
        cgroup_destroy(path, NULL, &e2);
    }
    return rr;
}

static int sd_setup(const char *path, const spec_resources *r, pid_t pid, char **made,
                    capsa_err *e)
{
    cg_sd_set_pending(NULL, NULL);
    if (pid > 0)
        return sd_place(path, r, pid, made, e);
    autofree char *scope = cg_sd_scope_of(path);
    int rr = cg_sd_check(scope ? scope : path, e);
    if (rr == 0)
        cg_sd_set_pending(path, r);
    return rr;
}

int cgroup_setup(const char *path, const spec_resources *r, pid_t pid, char **made,
                 capsa_err *e)
{
    if (made)
        *made = NULL;
    if (!path && ct_why)
        return cerr_set(e, EINVAL, "%s", ct_why);
    return cg_sd_enabled() ? sd_setup(path, r, pid, made, e) : fs_setup(path, r, pid, made, e);
}

/* The pending scope of a create gets its init (see sd_setup). */
static int sd_start_pending(pid_t pid, capsa_err *e)
{
    autofree char *path = NULL;
    const spec_resources *r = cg_sd_take_pending(&path);
    return sd_place(path, r, pid, NULL, e);
}

/* systemd's own v1 hierarchy (name=systemd, on its legacy and hybrid layouts) holds
 * no controller, so the host's hierarchy list leaves it out; on the legacy layout it
 * is where systemd finds a unit's processes. systemd put the scope's init there; a
 * process that joins the container later (exec, restore) joins it too, as runc's does
 * (the name=systemd group of its legacy subsystems). The scope's directory in it
 * (also for a container in a sub-cgroup of its scope: systemd made only the scope's),
 * or NULL: not such a host, or path is in no scope. */
static char *named_systemd_dir(const cg_host *host, const char *path)
{
    autofree char *scope = host->mode == CG_UNIFIED ? NULL : cg_sd_scope_of(path);
    mountinfo mi;
    capsa_err e2;
    if (!scope || mountinfo_read(getpid(), &mi, &e2) < 0)
        return NULL;
    char *dir = NULL;
    struct stat st;
    for (size_t k = 0; k < mi.n && !dir; k++) {
        const mount_entry *m = &mi.v[k];
        if (strcmp(m->fstype, "cgroup") || !mountinfo_opt_has(m->super_opts, "name=systemd") ||
            strcmp(m->root, "/"))
            continue;
        dir = xasprintf("%s%s", m->mnt, scope);
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            free(dir);
            dir = NULL;
        }
    }
    mountinfo_free(&mi);
    return dir;
}

int cg_join_named_systemd(const cg_host *host, const char *path, cgroup_join *j, capsa_err *e)
{
    autofree char *named = named_systemd_dir(host, path);
    if (!named || j->n_v1 >= sizeof j->v1 / sizeof *j->v1)
        return 0;
    autofree char *f = cg_join(named, "tasks");
    int fd = open(f, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return cerr_sys(e, errno, "open %s", f);
    j->v1[j->n_v1++] = fd;
    return 0;
}

int cgroup_enter(const char *path, pid_t pid, capsa_err *e)
{
    if (cg_sd_pending(path))
        return sd_start_pending(pid, e);
    cg_host host;
    int rr = cg_host_load(&host, e);
    if (rr < 0)
        return rr;
    autofree char *pp = proc_path(&host, path);
    rr = move_pid(&host, pp, pid, e);
    autofree char *named = rr >= 0 ? named_systemd_dir(&host, path) : NULL;
    if (named)
        rr = cg_writef(named, "cgroup.procs", e, "%d", (int)pid);
    cg_host_free(&host);
    return rr;
}

int cgroup_join_open(const char *path, cgroup_join *j, capsa_err *e)
{
    j->n_v1 = 0;
    j->v2 = -1;
    if (cg_sd_pending(path))
        return 0;   /* no cgroup yet: the scope starts with the init's pid */
    cg_host host;
    int rr = cg_host_load(&host, e);
    if (rr < 0)
        return rr;
    autofree char *pp = proc_path(&host, path);
    for (size_t i = 0; rr >= 0 && i < host.n; i++) {
        autofree char *dir = NULL;
        if ((rr = cg_resolve(&host, &host.h[i], pp, NULL, NULL, &dir, e)) < 0)
            break;
        autofree char *f = host.h[i].v2 ? xstrdup(dir) : cg_join(dir, "tasks");
        int fd = host.h[i].v2 ? open(f, O_PATH | O_DIRECTORY | O_CLOEXEC)
                              : open(f, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            rr = cerr_sys(e, errno, "open %s", f);
        else if (host.h[i].v2)
            j->v2 = fd;
        else if (j->n_v1 < sizeof j->v1 / sizeof *j->v1)
            j->v1[j->n_v1++] = fd;
        else
            close(fd);
    }
    if (rr >= 0)
        rr = cg_join_named_systemd(&host, path, j, e);
    cg_host_free(&host);
    if (rr < 0)
        cgroup_join_close(j);
    return rr;
}

int cgroup_join_self(const cgroup_join *j, capsa_err *e)
{
    for (size_t i = 0; i < j->n_v1; i++)
        if (write(j->v1[i], "0", 1) != 1)
            return cerr_sys(e, errno, "join the container's cgroup");
    return 0;
}

int cgroup_join_v2_pid(const cgroup_join *j, pid_t pid, capsa_err *e)
{
    if (j->v2 < 0 && !j->n_v1 && cg_sd_pending(NULL))
        return sd_start_pending(pid, e);
    if (j->v2 < 0)
        return 0;
    autoclose int fd = openat(j->v2, "cgroup.procs", O_WRONLY | O_CLOEXEC);
    char buf[16];
    int n = snprintf(buf, sizeof buf, "%d", (int)pid);
    if (fd < 0 || write(fd, buf, (size_t)n) != n)
        return cerr_sys(e, errno, "move %d into the container's cgroup", (int)pid);
    return 0;
}

void cgroup_join_close(cgroup_join *j)
{
    for (size_t i = 0; i < j->n_v1; i++)
        close(j->v1[i]);
    j->n_v1 = 0;
    if (j->v2 >= 0)
        close(j->v2);
    j->v2 = -1;
}

int cgroup_update(const char *path, const spec_resources *r, capsa_err *e)
{
    cg_host host;
    cg_plan pl = {0};
    int rr = cg_host_load(&host, e);
    if (rr < 0)
        return rr;
    if ((rr = plan(&host, r, &pl, e)) >= 0 && pl.need.n) {
        /* Nothing is created here: only check the leaf has what it needs. */
        autofree char *base = NULL, *rel = NULL;
        cg_strv none = {0};
        if ((rr = cg_resolve(&host, cg_host_v2(&host), path, &base, &rel, NULL, e)) >= 0)
            rr = cg2_prepare(base, rel, &none, &pl.need, e);
    }
    if (rr >= 0 && r) {
        autofree char *scope = own_scope_above(&host, path);
        rr = cg_sd_update(scope ? scope : path, r, e);
    }
    if (rr >= 0 && r)
        rr = apply(&host, path, r, &pl, true, e);
    if (rr < 0)
        cerr_wrap(e, "update cgroup %s", path);
    cg_strv_free(&pl.need);
    cg_host_free(&host);
    return rr;
}

/* Where the container's processes are listed: the cgroup2 dir when there is
 * one (hybrid included: the 0:: path is the container's), else a v1
 * hierarchy every container has a directory in. */
static int procs_dir(const cg_host *host, const char *path, char **dir, capsa_err *e)
{
    const cg_hier *h = cg_host_v2(host);
    static const char *const pref[] = {"pids", "memory", "freezer", "cpu", NULL};
    for (int i = 0; !h && pref[i]; i++)
        h = cg_host_v1(host, pref[i]);
    if (!h && host->n)
        h = &host->h[0];
    if (!h)
        return cerr_set(e, ENOENT, "no cgroup hierarchy is mounted under %s", cg_root());
    return cg_resolve(host, h, path, NULL, NULL, dir, e);
}

int cgroup_pids(const char *path, pid_t **out, size_t *n, capsa_err *e)
{
    cg_host host;
    *out = NULL;
    *n = 0;
    int rr = cg_host_load(&host, e);
    if (rr < 0)
        return rr;
    autofree char *dir = NULL;
    if ((rr = procs_dir(&host, path, &dir, e)) >= 0)
        rr = cg_read_procs(dir, true, out, n, e);
    if (rr < 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    cg_host_free(&host);
    return rr;
}

/* v1 freezer where mounted, else cgroup.freeze of the cgroup2 dir. */
static int freezer_dir(const cg_host *host, const char *path, char **dir, bool *v2,
                       capsa_err *e)
{
    const cg_hier *h = host->mode == CG_UNIFIED ? NULL : cg_host_v1(host, "freezer");
    if (!h)
        h = cg_host_v2(host);
    if (!h)
        return cerr_set(e, EOPNOTSUPP, "the freezer cgroup controller is not mounted");
    *v2 = h->v2;
    return cg_resolve(host, h, path, NULL, NULL, dir, e);
}

int cgroup_freeze(const char *path, bool frozen, capsa_err *e)
{
    cg_host host;
    int rr = cg_host_load(&host, e);
    if (rr < 0)
        return rr;
    autofree char *dir = NULL;
    bool v2;
    if ((rr = freezer_dir(&host, path, &dir, &v2, e)) >= 0)
        rr = v2 ? cg2_freeze(dir, frozen, e) : cg1_freeze(dir, frozen, e);
    cg_host_free(&host);
    return rr;
}

int cgroup_is_frozen(const char *path, capsa_err *e)
{
    cg_host host;
    int rr = cg_host_load(&host, e);
    if (rr < 0)
        return rr;
    autofree char *dir = NULL;
    bool v2;
    if ((rr = freezer_dir(&host, path, &dir, &v2, e)) >= 0)
        rr = v2 ? cg2_is_frozen(dir, e) : cg1_is_frozen(dir, e);
    cg_host_free(&host);
    return rr;
}

int cg_kill_procs(const char *dir, const char *fdir, bool fv2, int sig, capsa_err *e)
{
    /* SIGKILL: repeat until empty (children forked meanwhile), freezing
     * around each round so nothing forks while we signal (runc); a frozen
     * v1 task only dies once thawed. Other signals: one round. */
    int rounds = sig == SIGKILL ? 20 : 1;
    for (int i = 0; i < rounds; i++) {
        autofree pid_t *pids = NULL;
        size_t n = 0;
        int rr = cg_read_procs(dir, true, &pids, &n, e);
        if (rr < 0 && i > 0 && !cg_dir_exists(dir)) {
            /* gone with its last process: systemd removes an emptied scope's cgroups */
            cerr_clear(e);
            return 0;
        }
        if (rr < 0)
            return rr;
        if (!n)
            return 0;
        capsa_err e2;
        bool frozen = sig == SIGKILL && fdir &&
                      (fv2 ? cg2_freeze(fdir, true, &e2) : cg1_freeze(fdir, true, &e2)) == 0;
        for (size_t j = 0; j < n; j++)
            if (kill(pids[j], sig) < 0 && errno != ESRCH)
                return cerr_sys(e, errno, "kill %d (cgroup %s) with signal %d", (int)pids[j],
                                dir, sig);
        if (frozen)
            fv2 ? cg2_freeze(fdir, false, &e2) : cg1_freeze(fdir, false, &e2);
        if (sig != SIGKILL)
            return 0;
        cg_sleep_ms(i < 5 ? 2 : 20);
    }
    return cerr_set(e, EBUSY, "processes in cgroup %s survived SIGKILL", dir);
}

int cgroup_kill_all(const char *path, int sig, capsa_err *e)
{
    cg_host host;
    int rr = cg_host_load(&host, e);
    if (rr < 0)
        return rr;
    autofree char *dir = NULL, *fdir = NULL;
    bool fv2 = false;
    if ((rr = procs_dir(&host, path, &dir, e)) < 0)
        goto out;
    const cg_hier *h2 = cg_host_v2(&host);
    if (sig == SIGKILL && h2 && cg_has_file(dir, "cgroup.kill") &&
        !strncmp(dir, h2->mount, strlen(h2->mount))) {
        /* cgroup.kill (5.14+) kills the whole subtree atomically. */
        if ((rr = cg_write(dir, "cgroup.kill", "1", e)) < 0)
            goto out;
        for (int i = 0; i < 100; i++) {  /* wait (~1 s) until they are gone */
            autofree pid_t *pids = NULL;
            size_t n = 0;
            if (cg_read_procs(dir, true, &pids, &n, e) < 0 || !n)
                break;
            cg_sleep_ms(10);
        }
        goto out;
    }
    capsa_err e2;
    if (freezer_dir(&host, path, &fdir, &fv2, &e2) < 0 || !cg_dir_exists(fdir)) {
        free(fdir);
        fdir = NULL;
    }
    rr = cg_kill_procs(dir, fdir, fv2, sig, e);
out:
    cg_host_free(&host);
    return rr;
}

/* Remove, deepest first, the lines of `made` that are parents of `dir`, while
 * they are empty. */
static int by_depth_desc(const void *a, const void *b)
{
    size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);
    return la < lb ? 1 : la > lb ? -1 : 0;
}

/* Remove, deepest first, the lines of `made` that are parents of `dir` below
 * `base` (nothing at or above the runtime's own cgroup, whatever the file
 * says), while they are empty. One already gone does not stop the others. */
static void rmdir_made(const char *made, const char *base, const char *dir)
{
    if (!made)
        return;
    cg_strv v = {0};
    size_t blen = strlen(base);
    for (const char *p = made; *p;) {
        size_t n = strcspn(p, "\n");
        autofree char *line = cg_strndup(p, n);
        if (n > blen && !strncmp(dir, line, n) && dir[n] == '/' && line[blen] == '/' &&
            !strncmp(line, base, blen))
            cg_strv_add(&v, line);
        p += n + (p[n] == '\n');
    }
    if (v.n)
        qsort(v.v, v.n, sizeof *v.v, by_depth_desc);
    for (size_t i = 0; i < v.n; i++)
        if (rmdir(v.v[i]) < 0 && errno != ENOENT)
            break;
    cg_strv_free(&v);
}

int cgroup_destroy(const char *path, const char *made, capsa_err *e)
{
    cg_host host;
    autofree char *scope = NULL;
    int rr = cg_host_load(&host, e);
    if (rr < 0)
        return rr;
    if ((rr = cg_check_path(path, e)) < 0)
        goto out;
    if (cg_sd_pending(path))
        cg_sd_set_pending(NULL, NULL);
    /* a subgroup's scope (holding nothing else) is stopped as the container's own */
    scope = own_scope_above(&host, path);
    cg_sd_stop(scope ? scope : path, e);   /* a scope capsa made: systemd removes it */
    /* The default path's parent, "capsa" under the runtime's own cgroup, is
     * capsa's own and goes when its last container does; other parents only if
     * this container's create made them. */
    bool default_parent = !strncmp(path, "capsa/", 6) && !strchr(path + 6, '/');
    uint64_t deadline = cg_now_ms() + 1000;
    for (size_t i = 0; i < host.n; i++) {
        autofree char *base = NULL, *rel = NULL, *dir = NULL;
        capsa_err e2;
        int r1 = cg_resolve(&host, &host.h[i], path, &base, &rel, &dir, &e2);
        if (r1 >= 0 && (r1 = cg_rmdir_tree(dir, deadline, &e2)) >= 0) {
            autofree char *sdir = NULL;   /* the scope's, if systemd left it (empty only) */
            if (scope && cg_resolve(&host, &host.h[i], scope, NULL, NULL, &sdir, &e2) >= 0 &&
                strlen(sdir) < strlen(dir))
                rmdir(sdir);
            rmdir_made(made, base, dir);
            if (default_parent)
                cg_rmdir_parents(base, rel);
        }
        if (r1 < 0 && rr >= 0) {
            rr = r1;
            *e = e2;
        }
    }
out:
    cg_host_free(&host);
    return rr;
}
