/* cgroup v1 driver: one directory per controller hierarchy. Values and write
 * order follow runc's libcontainer/cgroups/fs so configs behave the same. */
#include "cgroup/convert.h"
#include "cgroup/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOT_SUPPORTED(e, what, file, dir) \
    cerr_set(e, EOPNOTSUPP, "%s: not supported by this kernel (no %s in %s)", what, file, dir)

/* memory.limit_in_bytes fails with EBUSY when usage is above the new limit
 * and cannot be reclaimed: say so with the numbers. */
static int set_mem_limit(const char *dir, int64_t limit, capsa_err *e)
{
    int r = cg_writef(dir, "memory.limit_in_bytes", e, "%" PRId64, limit);
    if (r == -EBUSY) {
        int64_t usage = 0;
        capsa_err e2;
        if (cg_read_i64(dir, "memory.usage_in_bytes", &usage, &e2) == 0) {
            size_t n = strlen(e->msg);
            snprintf(e->msg + n, sizeof e->msg - n, " (current usage %" PRId64 ")", usage);
        }
    }
    return r;
}

static int set_memsw(const char *dir, int64_t swap, capsa_err *e)
{
    if (!cg_has_file(dir, "memory.memsw.limit_in_bytes")) {
        if (swap == -1)  /* unlimited is what no swap accounting gives anyway */
            return 0;
        return cerr_set(e, EOPNOTSUPP, "memory.swap: no memory.memsw.limit_in_bytes in %s "
                        "(swap accounting is off; boot with swapaccount=1)", dir);
    }
    return cg_writef(dir, "memory.memsw.limit_in_bytes", e, "%" PRId64, swap);
}

int cg1_memory(const char *dir, const spec_memory *m, bool update, capsa_err *e)
{
    int r;
    /* 0 means unset (runc); OCI swap is memory+swap, exactly memsw. */
    int64_t limit = m->has_limit ? m->limit : 0;
    int64_t swap = m->has_swap ? m->swap : 0;
    if (limit == -1 && swap == 0)
        swap = -1;  /* unlimited memory with swap unset: both unlimited */
    if (update && m->has_check_before_update && m->check_before_update && limit > 0) {
        int64_t usage;
        if ((r = cg_read_i64(dir, "memory.usage_in_bytes", &usage, e)) < 0)
            return r;
        if (limit < usage)
            return cerr_set(e, EBUSY, "memory limit %" PRId64 " is below the current usage %"
                            PRId64 " of %s (checkBeforeUpdate)", limit, usage, dir);
    }
    if (m->has_use_hierarchy && cg_has_file(dir, "memory.use_hierarchy") &&
        (r = cg_write(dir, "memory.use_hierarchy", m->use_hierarchy ? "1" : "0", e)) < 0)
        return r;
    if (limit != 0 && swap != 0) {
        /* The kernel wants limit <= memsw at every step: when raising, memsw
         * goes first; when lowering, the limit goes first. */
        int64_t cur = 0;
        if ((r = cg_read_i64(dir, "memory.limit_in_bytes", &cur, e)) < 0)
            return r;
        if (swap == -1 || cur < swap) {
            if ((r = set_memsw(dir, swap, e)) < 0 || (r = set_mem_limit(dir, limit, e)) < 0)
                return r;
        } else {
            if ((r = set_mem_limit(dir, limit, e)) < 0 || (r = set_memsw(dir, swap, e)) < 0)
                return r;
        }
    } else {
        if (limit != 0 && (r = set_mem_limit(dir, limit, e)) < 0)
            return r;
        if (swap != 0 && (r = set_memsw(dir, swap, e)) < 0)
            return r;
    }
    if (m->has_reservation && m->reservation != 0 &&
        (r = cg_writef(dir, "memory.soft_limit_in_bytes", e, "%" PRId64, m->reservation)) < 0)
        return r;
    if (m->has_kernel && m->kernel != 0) {
        if (!cg_has_file(dir, "memory.kmem.limit_in_bytes"))
            return NOT_SUPPORTED(e, "memory.kernel", "memory.kmem.limit_in_bytes", dir);
        if ((r = cg_writef(dir, "memory.kmem.limit_in_bytes", e, "%" PRId64, m->kernel)) < 0)
            return r;
    }
    if (m->has_kernel_tcp && m->kernel_tcp != 0) {
        if (!cg_has_file(dir, "memory.kmem.tcp.limit_in_bytes"))
            return NOT_SUPPORTED(e, "memory.kernelTCP", "memory.kmem.tcp.limit_in_bytes", dir);
        if ((r = cg_writef(dir, "memory.kmem.tcp.limit_in_bytes", e, "%" PRId64,
                           m->kernel_tcp)) < 0)
            return r;
    }
    /* swappiness -1 (as uint64) means "leave it". */
    if (m->has_swappiness && m->swappiness != UINT64_MAX) {
        if (m->swappiness > 100)
            return cerr_set(e, EINVAL, "memory.swappiness %" PRIu64 " out of range 0..100",
                            m->swappiness);
        if ((r = cg_writef(dir, "memory.swappiness", e, "%" PRIu64, m->swappiness)) < 0)
            return r;
    }
    if (m->has_disable_oom_killer && m->disable_oom_killer &&
        (r = cg_write(dir, "memory.oom_control", "1", e)) < 0)
        return r;
    return 0;
}

int cg1_cpu(const char *dir, const spec_cpu *c, capsa_err *e)
{
    int r;
    /* Realtime budget before anything joins (runc SetRtSched): period first. */
    if (c->has_rt_period && c->rt_period != 0) {
        if (!cg_has_file(dir, "cpu.rt_period_us"))
            return NOT_SUPPORTED(e, "cpu.realtimePeriod", "cpu.rt_period_us", dir);
        if ((r = cg_writef(dir, "cpu.rt_period_us", e, "%" PRIu64, c->rt_period)) < 0)
            return r;
    }
    if (c->has_rt_runtime && c->rt_runtime != 0) {
        if (!cg_has_file(dir, "cpu.rt_runtime_us"))
            return NOT_SUPPORTED(e, "cpu.realtimeRuntime", "cpu.rt_runtime_us", dir);
        if ((r = cg_writef(dir, "cpu.rt_runtime_us", e, "%" PRId64, c->rt_runtime)) < 0)
            return r;
    }
    if (c->has_shares && c->shares != 0) {
        if ((r = cg_writef(dir, "cpu.shares", e, "%" PRIu64, c->shares)) < 0)
            return r;
        /* The kernel silently clamps to 2..262144: read back and refuse. */
        int64_t got;
        if ((r = cg_read_i64(dir, "cpu.shares", &got, e)) < 0)
            return r;
        if ((uint64_t)got != c->shares)
            return cerr_set(e, EINVAL, "cpu.shares %" PRIu64 " is out of range: the kernel "
                            "set %" PRId64 " in %s (allowed 2..262144)", c->shares, got, dir);
    }
    /* Burst must stay <= quota: if the new burst is refused (EINVAL) and a
     * quota comes, retry it after the quota (runc). */
    bool burst_later = false;
    if (c->has_burst) {
        if (!cg_has_file(dir, "cpu.cfs_burst_us"))
            return NOT_SUPPORTED(e, "cpu.burst", "cpu.cfs_burst_us", dir);
        r = cg_writef(dir, "cpu.cfs_burst_us", e, "%" PRIu64, c->burst);
        if (r == -EINVAL && c->has_quota && c->quota != 0)
            burst_later = true;
        else if (r < 0)
            return r;
    }
    /* A smaller period can be refused (EINVAL) while old quota/new period
     * exceeds the parent's: retry it after the quota. */
    bool period_later = false;
    if (c->has_period && c->period != 0) {
        r = cg_writef(dir, "cpu.cfs_period_us", e, "%" PRIu64, c->period);
        if (r == -EINVAL && c->has_quota && c->quota != 0)
            period_later = true;
        else if (r < 0)
            return r;
    }
    if (c->has_quota && c->quota != 0) {
        /* quota -1 is "no limit" on v1 as in OCI */
        if ((r = cg_writef(dir, "cpu.cfs_quota_us", e, "%" PRId64, c->quota)) < 0)
            return r;
        if (period_later &&
            (r = cg_writef(dir, "cpu.cfs_period_us", e, "%" PRIu64, c->period)) < 0)
            return r;
        if (burst_later && (r = cg_writef(dir, "cpu.cfs_burst_us", e, "%" PRIu64, c->burst)) < 0)
            return r;
    }
    if (c->has_idle) {
        if (!cg_has_file(dir, "cpu.idle"))
            return NOT_SUPPORTED(e, "cpu.idle", "cpu.idle", dir);
        if ((r = cg_writef(dir, "cpu.idle", e, "%" PRId64, c->idle)) < 0)
            return r;
    }
    return 0;
}

int cg1_cpuset(const char *dir, const spec_cpu *c, capsa_err *e)
{
    int r;
    if (c->cpus && *c->cpus && (r = cg_write(dir, "cpuset.cpus", c->cpus, e)) < 0)
        return r;
    if (c->mems && *c->mems && (r = cg_write(dir, "cpuset.mems", c->mems, e)) < 0)
        return r;
    return 0;
}

int cg1_pids(const char *dir, const spec_resources *r, capsa_err *e)
{
    char v[32];
    cg_pids_max(r->pids_limit, v, sizeof v);
    return cg_write(dir, "pids.max", v, e);
}

static int throttle(const char *dir, const char *file, const spec_blkio_throttles *t,
                    capsa_err *e)
{
    for (size_t i = 0; i < t->n; i++) {
        int r = cg_writef(dir, file, e, "%" PRId64 ":%" PRId64 " %" PRIu64, t->v[i].major,
                          t->v[i].minor, t->v[i].rate);
        if (r < 0)
            return r;
    }
    return 0;
}

int cg1_blkio(const char *dir, const spec_blkio *b, capsa_err *e)
{
    int r;
    /* CFQ had blkio.weight; with only BFQ the files are blkio.bfq.weight*. */
    const char *wf = "blkio.weight", *wdf = "blkio.weight_device";
    if (!cg_has_file(dir, wf) && cg_has_file(dir, "blkio.bfq.weight")) {
        wf = "blkio.bfq.weight";
        wdf = "blkio.bfq.weight_device";
    }
    bool want_weight = b->has_weight && b->weight;
    for (size_t i = 0; i < b->n_weight_device; i++)
        if (b->weight_device[i].has_weight && b->weight_device[i].weight)
            want_weight = true;
    if (want_weight && !cg_has_file(dir, wf))
        return cerr_set(e, EOPNOTSUPP, "blockIO.weight: not supported by this kernel (no "
                        "blkio.weight or blkio.bfq.weight in %s; the device's I/O scheduler "
                        "must be bfq)", dir);
    if (b->has_weight && b->weight && (r = cg_writef(dir, wf, e, "%u", b->weight)) < 0)
        return r;
    if (b->has_leaf_weight && b->leaf_weight) {
        if (!cg_has_file(dir, "blkio.leaf_weight"))
            return NOT_SUPPORTED(e, "blockIO.leafWeight", "blkio.leaf_weight", dir);
        if ((r = cg_writef(dir, "blkio.leaf_weight", e, "%u", b->leaf_weight)) < 0)
            return r;
    }
    for (size_t i = 0; i < b->n_weight_device; i++) {
        const spec_blkio_weight_dev *d = &b->weight_device[i];
        if (d->has_weight && d->weight &&
            (r = cg_writef(dir, wdf, e, "%" PRId64 ":%" PRId64 " %u", d->major, d->minor,
                           d->weight)) < 0)
            return r;
        if (d->has_leaf_weight && d->leaf_weight) {
            if (!cg_has_file(dir, "blkio.leaf_weight_device"))
                return NOT_SUPPORTED(e, "blockIO.weightDevice.leafWeight",
                                     "blkio.leaf_weight_device", dir);
            if ((r = cg_writef(dir, "blkio.leaf_weight_device", e, "%" PRId64 ":%" PRId64 " %u",
                               d->major, d->minor, d->leaf_weight)) < 0)
                return r;
        }
    }
    if ((r = throttle(dir, "blkio.throttle.read_bps_device", &b->read_bps, e)) < 0 ||
        (r = throttle(dir, "blkio.throttle.write_bps_device", &b->write_bps, e)) < 0 ||
        (r = throttle(dir, "blkio.throttle.read_iops_device", &b->read_iops, e)) < 0 ||
        (r = throttle(dir, "blkio.throttle.write_iops_device", &b->write_iops, e)) < 0)
        return r;
    return 0;
}

int cg1_hugetlb(const char *dir, const spec_resources *res, capsa_err *e)
{
    return cg_hugetlb_write(dir, res, "limit_in_bytes", e);
}

int cg1_net_cls(const char *dir, const spec_resources *r, capsa_err *e)
{
    return cg_writef(dir, "net_cls.classid", e, "%" PRIu32, r->net_class_id);
}

int cg1_net_prio(const char *dir, const spec_resources *res, capsa_err *e)
{
    for (size_t i = 0; i < res->n_net_priorities; i++) {
        const spec_netprio *p = &res->net_priorities[i];
        if (!p->name || !*p->name || strpbrk(p->name, " \n/"))
            return cerr_set(e, EINVAL, "network.priorities[%zu]: invalid interface name", i);
        int r = cg_writef(dir, "net_prio.ifpriomap", e, "%s %" PRIu32, p->name, p->priority);
        if (r < 0)
            return r;
    }
    return 0;
}

int cg1_devices(const char *dir, const spec_dev_rule *rules, size_t n, capsa_err *e)
{
    char line[96];
    /* Validate all first so a bad rule does not leave "deny all" behind. */
    for (size_t i = 0; i < n; i++) {
        int r = cg_dev_rule_v1(&rules[i], line, sizeof line, e);
        if (r < 0)
            return cerr_wrap(e, "devices[%zu]", i);
    }
    int r = cg_write(dir, "devices.deny", "a", e);
    for (size_t i = 0; r >= 0 && i < n; i++) {
        cg_dev_rule_v1(&rules[i], line, sizeof line, e);
        r = cg_write(dir, rules[i].allow ? "devices.allow" : "devices.deny", line, e);
    }
    return r;
}

int cg1_apply(const cg_host *host, const char *path, const spec_resources *r, unsigned mask,
              bool update, capsa_err *e)
{
    /* runc's subsystem order: cpuset, devices, memory, cpu, pids, blkio, ... */
    static const enum cg_ctl order[] = {CGC_CPUSET, CGC_DEVICES, CGC_MEMORY, CGC_CPU,
                                        CGC_PIDS, CGC_BLKIO, CGC_HUGETLB, CGC_NET_CLS,
                                        CGC_NET_PRIO};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        enum cg_ctl c = order[i];
        if (!(mask & CGC_BIT(c)))
            continue;
        const cg_hier *h = cg_host_v1(host, cg_ctl_v1_name(c));
        if (!h)
            return cerr_set(e, EOPNOTSUPP, "%s: the %s cgroup controller is not mounted",
                            cg_ctl_spec_name(c), cg_ctl_v1_name(c));
        autofree char *dir = NULL;
        int rr = cg_resolve(host, h, path, NULL, NULL, &dir, e);
        if (rr < 0)
            return rr;
        if (!cg_dir_exists(dir))
            return cerr_set(e, ENOENT, "cgroup %s does not exist", dir);
        switch (c) {
        case CGC_CPUSET: rr = cg1_cpuset(dir, &r->cpu, e); break;
        case CGC_DEVICES: rr = cg1_devices(dir, r->devices, r->n_devices, e); break;
        case CGC_MEMORY: rr = cg1_memory(dir, &r->memory, update, e); break;
        case CGC_CPU: rr = cg1_cpu(dir, &r->cpu, e); break;
        case CGC_PIDS: rr = cg1_pids(dir, r, e); break;
        case CGC_BLKIO: rr = cg1_blkio(dir, &r->blkio, e); break;
        case CGC_HUGETLB: rr = cg1_hugetlb(dir, r, e); break;
        case CGC_NET_CLS: rr = cg1_net_cls(dir, r, e); break;
        case CGC_NET_PRIO: rr = cg1_net_prio(dir, r, e); break;
        default: break;
        }
        if (rr < 0)
            return rr;
    }
    return 0;
}

int cg1_freeze(const char *dir, bool frozen, capsa_err *e)
{
    const char *want = frozen ? "FROZEN" : "THAWED";
    uint64_t deadline = cg_now_ms() + 5000;
    for (unsigned i = 0;; i++) {
        /* Freezing can stall in FREEZING while a task sits in a state the
         * freezer skips; writing FROZEN again retries it (runc does too). */
        if (i % 20 == 0) {
            int r = cg_write(dir, "freezer.state", want, e);
            if (r < 0)
                return r;
        }
        autofree char *state = NULL;
        int r = cg_read(dir, "freezer.state", &state, e);
        if (r < 0)
            return r;
        if (!strcmp(state, want))
            return 0;
        if (cg_now_ms() > deadline) {
            capsa_err e2;
            if (frozen)
                cg_write(dir, "freezer.state", "THAWED", &e2);
            return cerr_set(e, ETIMEDOUT, "%s %s: timed out, freezer.state is %s",
                            frozen ? "freeze" : "thaw", dir, state);
        }
        cg_sleep_ms(i < 10 ? 1 : 10);
    }
}

int cg1_is_frozen(const char *dir, capsa_err *e)
{
    autofree char *state = NULL;
    int r = cg_read(dir, "freezer.state", &state, e);
    if (r < 0)
        return r;
    return !strcmp(state, "FROZEN");
}
