/* cgroup v2 driver: one directory, controllers delegated from the parents
 * through cgroup.subtree_control. Conversions from the v1-shaped OCI values
 * are runc's (libcontainer/cgroups/fs2), see convert.h. */
#include "cgroup/convert.h"
#include "cgroup/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int v2_unsupported(capsa_err *e, const char *what)
{
    return cerr_set(e, EOPNOTSUPP, "%s is not supported on cgroup v2", what);
}

static int v2_memory(const char *dir, const spec_memory *m, bool update, capsa_err *e)
{
    int r;
    if (m->has_swappiness && m->swappiness != UINT64_MAX)
        return v2_unsupported(e, "memory.swappiness");
    if (m->has_disable_oom_killer && m->disable_oom_killer)
        return v2_unsupported(e, "memory.disableOOMKiller");
    if (m->has_kernel && m->kernel != 0)
        return v2_unsupported(e, "memory.kernel (kernel memory limit)");
    if (m->has_kernel_tcp && m->kernel_tcp != 0)
        return v2_unsupported(e, "memory.kernelTCP");
    if (m->has_use_hierarchy && !m->use_hierarchy)
        return v2_unsupported(e, "memory.useHierarchy=false");
    int64_t limit = m->has_limit ? m->limit : 0;
    int64_t swap = m->has_swap ? m->swap : 0;
    if (update && m->has_check_before_update && m->check_before_update && limit > 0) {
        int64_t usage;
        if ((r = cg_read_i64(dir, "memory.current", &usage, e)) < 0)
            return r;
        if (limit < usage)
            return cerr_set(e, EBUSY, "memory limit %" PRId64 " is below the current usage %"
                            PRId64 " of %s (checkBeforeUpdate)", limit, usage, dir);
    }
    char buf[32];
    if ((r = cg_swap_v2(limit, swap, buf, sizeof buf, e)) < 0)
        return r;
    /* Never write "" to memory.swap.max (that means 0). Without swap
     * (no memory.swap.max), "max" and "0" are what we have anyway. */
    if (*buf) {
        if (!cg_has_file(dir, "memory.swap.max")) {
            if (strcmp(buf, "max") && strcmp(buf, "0"))
                return cerr_set(e, EOPNOTSUPP, "memory.swap: no memory.swap.max in %s "
                                "(swap accounting is off)", dir);
        } else if ((r = cg_write(dir, "memory.swap.max", buf, e)) < 0) {
            return r;
        }
    }
    cg_mem_v2(limit, buf, sizeof buf);
    if (*buf && (r = cg_write(dir, "memory.max", buf, e)) < 0)
        return r;
    /* reservation is a soft guarantee: v1 soft_limit ~ v2 memory.low */
    cg_mem_v2(m->has_reservation ? m->reservation : 0, buf, sizeof buf);
    if (*buf && (r = cg_write(dir, "memory.low", buf, e)) < 0)
        return r;
    return 0;
}

static int v2_cpu(const char *dir, const spec_cpu *c, capsa_err *e)
{
    int r;
    if ((c->has_rt_runtime && c->rt_runtime != 0) || (c->has_rt_period && c->rt_period != 0))
        return v2_unsupported(e, "cpu.realtimeRuntime/realtimePeriod");
    uint64_t w = c->has_shares ? cg_shares_to_weight(c->shares) : 0;
    if (w && (r = cg_writef(dir, "cpu.weight", e, "%" PRIu64, w)) < 0)
        return r;
    if (c->has_idle && (r = cg_writef(dir, "cpu.idle", e, "%" PRId64, c->idle)) < 0)
        return r;
    /* Burst must fit the quota: try it first, and again after cpu.max. */
    bool burst_later = false;
    if (c->has_burst) {
        if (!cg_has_file(dir, "cpu.max.burst"))
            return cerr_set(e, EOPNOTSUPP, "cpu.burst: not supported by this kernel (no "
                            "cpu.max.burst in %s)", dir);
        burst_later = cg_writef(dir, "cpu.max.burst", e, "%" PRIu64, c->burst) < 0;
    }
    char max[64];
    cg_cpu_max(max, sizeof max, c->has_quota, c->quota, c->has_period, c->period);
    if (*max && (r = cg_write(dir, "cpu.max", max, e)) < 0)
        return r;
    if (burst_later && (r = cg_writef(dir, "cpu.max.burst", e, "%" PRIu64, c->burst)) < 0)
        return r;
    return 0;
}

static int v2_cpuset(const char *dir, const spec_cpu *c, capsa_err *e)
{
    int r;
    if (c->cpus && *c->cpus && (r = cg_write(dir, "cpuset.cpus", c->cpus, e)) < 0)
        return r;
    if (c->mems && *c->mems && (r = cg_write(dir, "cpuset.mems", c->mems, e)) < 0)
        return r;
    return 0;
}

static uint64_t rate_for(const spec_blkio_throttles *t, int64_t maj, int64_t min)
{
    uint64_t v = CG_IO_UNSET;
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].major == maj && t->v[i].minor == min)
            v = t->v[i].rate;  /* the last entry for a device wins, as on v1 */
    return v;
}

static int io_max_dev(const char *dir, const spec_blkio *b, int64_t maj, int64_t min,
                      capsa_err *e)
{
    char line[160];
    cg_io_max_line(line, sizeof line, maj, min, rate_for(&b->read_bps, maj, min),
                   rate_for(&b->write_bps, maj, min), rate_for(&b->read_iops, maj, min),
                   rate_for(&b->write_iops, maj, min));
    return cg_write(dir, "io.max", line, e);
}

static int v2_io(const char *dir, const spec_blkio *b, capsa_err *e)
{
    int r;
    if (b->has_leaf_weight && b->leaf_weight)
        return v2_unsupported(e, "blockIO.leafWeight");
    /* io.bfq.weight takes the v1 range (1..1000) as is; io.weight wants the
     * converted 1..10000 one. */
    bool bfq = cg_has_file(dir, "io.bfq.weight");
    if (b->has_weight && b->weight) {
        if (bfq)
            r = cg_writef(dir, "io.bfq.weight", e, "%u", b->weight);
        else
            r = cg_writef(dir, "io.weight", e, "%" PRIu64, cg_blkio_to_io_weight(b->weight));
        if (r < 0)
            return r;
    }
    for (size_t i = 0; i < b->n_weight_device; i++) {
        const spec_blkio_weight_dev *d = &b->weight_device[i];
        if (d->has_leaf_weight && d->leaf_weight)
            return v2_unsupported(e, "blockIO.weightDevice.leafWeight");
        if (!d->has_weight || !d->weight)
            continue;
        if (bfq)
            r = cg_writef(dir, "io.bfq.weight", e, "%" PRId64 ":%" PRId64 " %u", d->major,
                          d->minor, d->weight);
        else
            r = cg_writef(dir, "io.weight", e, "%" PRId64 ":%" PRId64 " %" PRIu64, d->major,
                          d->minor, cg_blkio_to_io_weight(d->weight));
        if (r < 0)
            return r;
    }
    /* One io.max line per device with all of its limits. */
    const spec_blkio_throttles *all[] = {&b->read_bps, &b->write_bps, &b->read_iops,
                                         &b->write_iops};
    for (size_t t = 0; t < 4; t++) {
        for (size_t i = 0; i < all[t]->n; i++) {
            int64_t maj = all[t]->v[i].major, min = all[t]->v[i].minor;
            bool seen = false;  /* written already for an earlier list/entry? */
            for (size_t u = 0; u <= t && !seen; u++)
                for (size_t j = 0; j < (u == t ? i : all[u]->n) && !seen; j++)
                    seen = all[u]->v[j].major == maj && all[u]->v[j].minor == min;
            if (!seen && (r = io_max_dev(dir, b, maj, min, e)) < 0)
                return r;
        }
    }
    return 0;
}

int cg2_check_unified_key(const char *key, capsa_err *e)
{
    /* Keys name files in this directory only; the core files that move or
     * kill processes or delegate controllers are the runtime's. */
    static const char *const reserved[] = {"cgroup.procs", "cgroup.threads", "cgroup.kill",
                                           "cgroup.subtree_control", "cgroup.freeze", NULL};
    if (!key || !*key || strchr(key, '/') || strstr(key, ".."))
        return cerr_set(e, EINVAL, "unified: invalid key \"%s\"", key ? key : "");
    for (int i = 0; reserved[i]; i++)
        if (!strcmp(key, reserved[i]))
            return cerr_set(e, EPERM, "unified: key \"%s\" is managed by the runtime", key);
    return 0;
}

static char *key_controller(const char *key)
{
    return cg_strndup(key, strcspn(key, "."));
}

static int v2_unified(const char *dir, const spec_map *u, capsa_err *e)
{
    for (size_t i = 0; i < u->n; i++) {
        const char *k = u->v[i].key, *v = u->v[i].value ? u->v[i].value : "";
        int r = cg2_check_unified_key(k, e);
        if (r < 0)
            return r;
        r = cg_write(dir, k, v, e);
        if (r == -ENOENT) {
            autofree char *ctl = key_controller(k);
            return cerr_set(e, ENOENT, "unified.%s: no such file in %s (is the %s controller "
                            "enabled for it?)", k, dir, ctl);
        }
        if (r < 0)
            return r;
    }
    return 0;
}

int cg2_apply(const char *dir, const spec_resources *r, unsigned mask, bool unified,
              bool update, capsa_err *e)
{
    int rr = 0;
    if (mask & CGC_BIT(CGC_CPUSET))
        rr = v2_cpuset(dir, &r->cpu, e);
    if (rr >= 0 && (mask & CGC_BIT(CGC_DEVICES)))
        rr = cg2_devices(dir, r->devices, r->n_devices, e);
    if (rr >= 0 && (mask & CGC_BIT(CGC_MEMORY)))
        rr = v2_memory(dir, &r->memory, update, e);
    if (rr >= 0 && (mask & CGC_BIT(CGC_CPU)))
        rr = v2_cpu(dir, &r->cpu, e);
    if (rr >= 0 && (mask & CGC_BIT(CGC_PIDS))) {
        char v[32];
        cg_pids_max(r->pids_limit, v, sizeof v);
        rr = cg_write(dir, "pids.max", v, e);
    }
    if (rr >= 0 && (mask & CGC_BIT(CGC_BLKIO)))
        rr = v2_io(dir, &r->blkio, e);
    if (rr >= 0 && (mask & CGC_BIT(CGC_HUGETLB)))
        rr = cg_hugetlb_write(dir, r, "max", e);
    if (rr >= 0 && (mask & (CGC_BIT(CGC_NET_CLS) | CGC_BIT(CGC_NET_PRIO))))
        rr = v2_unsupported(e, "network.classID/priorities (net_cls, net_prio)");
    /* Last, so that explicit unified values override the converted ones. */
    if (rr >= 0 && unified)
        rr = v2_unified(dir, &r->unified, e);
    return rr;
}

void cg2_needed_names(const spec_resources *r, unsigned mask, bool unified, cg_strv *need)
{
    for (int c = 0; c < CGC__COUNT; c++) {
        const char *n = cg_ctl_v2_name((enum cg_ctl)c);
        if ((mask & CGC_BIT(c)) && n && !cg_strv_has(need, n))
            cg_strv_add(need, n);
    }
    for (size_t i = 0; unified && i < r->unified.n; i++) {
        autofree char *ctl = key_controller(r->unified.v[i].key ? r->unified.v[i].key : "");
        if (*ctl && strcmp(ctl, "cgroup") && !cg_strv_has(need, ctl))
            cg_strv_add(need, ctl);
    }
}

/* "+a +b" for every controller of dir/cgroup.controllers */
static int enable_all(const char *dir, capsa_err *e)
{
    autofree char *avail = NULL;
    int r = cg_read(dir, "cgroup.controllers", &avail, e);
    if (r < 0 || !*avail)
        return r;
    size_t cap = strlen(avail) * 2 + 2, o = 0;
    autofree char *line = xmalloc(cap);
    for (const char *s = avail; *s;) {
        s += strspn(s, " \n");
        size_t n = strcspn(s, " \n");
        if (n) {
            o += (size_t)snprintf(line + o, cap - o, "%s+%.*s", o ? " " : "", (int)n, s);
        }
        s += n;
    }
    if (cg_write(dir, "cgroup.subtree_control", line, e) == 0)
        return 0;
    /* One by one: a controller that cannot be enabled here (e.g. a threaded
     * subtree) must not keep the others off. Only the needed ones are
     * checked afterwards. */
    for (char *tok = strtok(line, " "); tok; tok = strtok(NULL, " ")) {
        capsa_err e2;
        cg_write(dir, "cgroup.subtree_control", tok, &e2);
    }
    return 0;
}

int cg2_prepare(const char *base, const char *rel, const cg_strv *created,
                const cg_strv *need, capsa_err *e)
{
    /* Delegate every available controller through the intermediate
     * directories this call created (like runc, so later updates and stats
     * find them). Existing ones are not ours to change. */
    autofree char *cur = xstrdup(base);
    for (const char *p = rel; *p;) {
        size_t n = strcspn(p, "/");
        autofree char *comp = cg_strndup(p, n);
        char *next = cg_join(cur, comp);
        free(cur);
        cur = next;
        p += n;
        p += strspn(p, "/");
        if (*p && cg_strv_has(created, cur)) {
            int r = enable_all(cur, e);
            if (r < 0)
                return r;
        }
    }
    autofree char *leaf = cg_join(base, rel);
    autofree char *have = NULL;
    int r = cg_read(leaf, "cgroup.controllers", &have, e);
    if (r < 0)
        return r;
    for (size_t i = 0; i < need->n; i++) {
        if (cg_word_in(have, need->v[i]))
            continue;
        /* Name the first parent on the way down that does not delegate it. */
        autofree char *parent = xstrdup(base);
        for (const char *p = rel; *p;) {
            size_t n = strcspn(p, "/");
            autofree char *comp = cg_strndup(p, n);
            autofree char *child = cg_join(parent, comp);
            autofree char *ctl = NULL;
            capsa_err e2;
            if (cg_read(child, "cgroup.controllers", &ctl, &e2) == 0 &&
                !cg_word_in(ctl, need->v[i]))
                break;
            free(parent);
            parent = TAKE_PTR(child);
            p += n;
            p += strspn(p, "/");
        }
        return cerr_set(e, EOPNOTSUPP, "cgroup v2 controller %s is not enabled in "
                        "%s/cgroup.subtree_control%s", need->v[i], parent,
                        cg_strv_has(created, parent) ? ""
                        : " (a cgroup capsa did not create: enable it there or use "
                          "another cgroupsPath)");
    }
    return 0;
}

int cg2_freeze(const char *dir, bool frozen, capsa_err *e)
{
    int r = cg_write(dir, "cgroup.freeze", frozen ? "1" : "0", e);
    if (r < 0)
        return r;
    const char *want = frozen ? "frozen 1" : "frozen 0";
    uint64_t deadline = cg_now_ms() + 5000;
    for (unsigned i = 0;; i++) {
        autofree char *ev = NULL;
        if ((r = cg_read(dir, "cgroup.events", &ev, e)) < 0)
            return r;
        for (char *l = strtok(ev, "\n"); l; l = strtok(NULL, "\n"))
            if (!strcmp(l, want))
                return 0;
        if (cg_now_ms() > deadline) {
            capsa_err e2;
            if (frozen)
                cg_write(dir, "cgroup.freeze", "0", &e2);
            return cerr_set(e, ETIMEDOUT, "%s %s: timed out waiting for \"%s\" in cgroup.events",
                            frozen ? "freeze" : "thaw", dir, want);
        }
        cg_sleep_ms(i < 10 ? 1 : 10);
    }
}

int cg2_is_frozen(const char *dir, capsa_err *e)
{
    autofree char *ev = NULL;
    int r = cg_read(dir, "cgroup.events", &ev, e);
    if (r < 0)
        return r;
    for (char *l = strtok(ev, "\n"); l; l = strtok(NULL, "\n"))
        if (!strcmp(l, "frozen 1"))
            return 1;
    return 0;
}
