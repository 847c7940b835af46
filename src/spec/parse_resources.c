/* config.json "linux.resources": the cgroup settings. Values are checked for
 * type and schema range here; what a cgroup driver can apply is its business. */
#include "spec/spec_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int req_bool(pctx *c, json_t *o, const char *key, bool *out)
{
    int r = m_bool(c, o, key, out);
    return r == 0 ? p_missing(c, key) : r;
}

static const char *const rule_types[] = {"a", "c", "b", NULL};

static int parse_dev_rule(pctx *c, json_t *o, void *arg)
{
    spec_dev_rule *d = arg;
    autofree char *type = NULL;
    int r;
    TRY(req_bool(c, o, "allow", &d->allow));
    TRY(r = m_enum(c, o, "type", OPT, rule_types, "device type (want a, c or b)", &type));
    d->type = r ? type[0] : 'a';
    TRY(m_i64(c, o, "major", OPT, &d->has_major, &d->major));
    TRY(m_i64(c, o, "minor", OPT, &d->has_minor, &d->minor));
    TRY(r = m_str(c, o, "access", OPT, &d->access));
    if (r && strspn(d->access, "rwm") != strlen(d->access)) {
        char q[128];
        p_push_key(c, "access");
        return p_err(c, "\"%s\": access must be a combination of r, w and m",
                     p_quote(q, sizeof q, d->access));
    }
    return 0;
}

static int parse_memory(pctx *c, json_t *o, void *arg)
{
    spec_memory *m = arg;
    int64_t v;
    int r;
    m->present = true;
    TRY(m_i64(c, o, "limit", OPT, &m->has_limit, &m->limit));
    TRY(m_i64(c, o, "reservation", OPT, &m->has_reservation, &m->reservation));
    TRY(m_i64(c, o, "swap", OPT, &m->has_swap, &m->swap));
    TRY(m_i64(c, o, "kernel", OPT, &m->has_kernel, &m->kernel));
    TRY(m_i64(c, o, "kernelTCP", OPT, &m->has_kernel_tcp, &m->kernel_tcp));
    TRY(r = m_int(c, o, "swappiness", OPT, 0, 100, &v));
    if (r) {
        m->has_swappiness = true;
        m->swappiness = (uint64_t)v;
    }
    TRY(r = m_bool(c, o, "disableOOMKiller", &m->disable_oom_killer));
    m->has_disable_oom_killer = r > 0;
    TRY(r = m_bool(c, o, "useHierarchy", &m->use_hierarchy));
    m->has_use_hierarchy = r > 0;
    TRY(r = m_bool(c, o, "checkBeforeUpdate", &m->check_before_update));
    m->has_check_before_update = r > 0;
    return 0;
}

static int parse_cpu(pctx *c, json_t *o, void *arg)
{
    spec_cpu *cpu = arg;
    cpu->present = true;
    TRY(m_u64(c, o, "shares", OPT, &cpu->has_shares, &cpu->shares));
    TRY(m_i64(c, o, "quota", OPT, &cpu->has_quota, &cpu->quota));
    TRY(m_u64(c, o, "burst", OPT, &cpu->has_burst, &cpu->burst));
    TRY(m_u64(c, o, "period", OPT, &cpu->has_period, &cpu->period));
    TRY(m_i64(c, o, "realtimeRuntime", OPT, &cpu->has_rt_runtime, &cpu->rt_runtime));
    TRY(m_u64(c, o, "realtimePeriod", OPT, &cpu->has_rt_period, &cpu->rt_period));
    TRY(m_str(c, o, "cpus", OPT, &cpu->cpus));
    TRY(m_str(c, o, "mems", OPT, &cpu->mems));
    TRY(m_i64(c, o, "idle", OPT, &cpu->has_idle, &cpu->idle));
    return 0;
}

/* blkioWeight: the schema says 10..1000, but 0 means "not set" to runc and crun,
 * and Docker writes weight 0 into every config it makes. 1..9 is BFQ's range
 * (blkio.bfq.weight takes 1..1000; CFQ's 10..1000 is the kernel's to refuse);
 * above 1000 every kernel refuses the write, so runc fails too, later. */
static int blkio_weight(pctx *c, json_t *o, const char *key, bool *has, uint16_t *out)
{
    int64_t v;
    int r = m_int(c, o, key, OPT, 0, 1000, &v);
    if (r > 0) {
        *has = true;
        *out = (uint16_t)v;
    }
    return r;
}

static int parse_weight_dev(pctx *c, json_t *o, void *arg)
{
    spec_blkio_weight_dev *w = arg;
    TRY(m_i64(c, o, "major", REQ, NULL, &w->major));
    TRY(m_i64(c, o, "minor", REQ, NULL, &w->minor));
    TRY(blkio_weight(c, o, "weight", &w->has_weight, &w->weight));
    TRY(blkio_weight(c, o, "leafWeight", &w->has_leaf_weight, &w->leaf_weight));
    return 0;
}

static int parse_throttle(pctx *c, json_t *o, void *arg)
{
    spec_blkio_throttle *t = arg;
    TRY(m_i64(c, o, "major", REQ, NULL, &t->major));
    TRY(m_i64(c, o, "minor", REQ, NULL, &t->minor));
    TRY(m_u64(c, o, "rate", REQ, NULL, &t->rate));
    return 0;
}

static int throttles(pctx *c, json_t *o, const char *key, spec_blkio_throttles *t)
{
    return m_objarr(c, o, key, OPT, sizeof *t->v, (void **)&t->v, &t->n, parse_throttle);
}

static int parse_blkio(pctx *c, json_t *o, void *arg)
{
    spec_blkio *b = arg;
    b->present = true;
    TRY(blkio_weight(c, o, "weight", &b->has_weight, &b->weight));
    TRY(blkio_weight(c, o, "leafWeight", &b->has_leaf_weight, &b->leaf_weight));
    TRY(m_objarr(c, o, "weightDevice", OPT, sizeof *b->weight_device, (void **)&b->weight_device,
                 &b->n_weight_device, parse_weight_dev));
    TRY(throttles(c, o, "throttleReadBpsDevice", &b->read_bps));
    TRY(throttles(c, o, "throttleWriteBpsDevice", &b->write_bps));
    TRY(throttles(c, o, "throttleReadIOPSDevice", &b->read_iops));
    TRY(throttles(c, o, "throttleWriteIOPSDevice", &b->write_iops));
    return 0;
}

static int parse_hugepage(pctx *c, json_t *o, void *arg)
{
    spec_hugepage *h = arg;
    TRY(m_str(c, o, "pageSize", REQ, &h->page_size));
    TRY(m_u64(c, o, "limit", REQ, NULL, &h->limit));
    return 0;
}

static int parse_netprio(pctx *c, json_t *o, void *arg)
{
    spec_netprio *p = arg;
    TRY(m_str(c, o, "name", REQ, &p->name));
    TRY(m_u32(c, o, "priority", REQ, NULL, &p->priority));
    return 0;
}

static int parse_network(pctx *c, json_t *o, void *arg)
{
    spec_resources *r = arg;
    TRY(m_u32(c, o, "classID", OPT, &r->has_net_class_id, &r->net_class_id));
    TRY(m_objarr(c, o, "priorities", OPT, sizeof *r->net_priorities,
                 (void **)&r->net_priorities, &r->n_net_priorities, parse_netprio));
    return 0;
}

static int parse_pids(pctx *c, json_t *o, void *arg)
{
    spec_resources *r = arg;
    TRY(m_i64(c, o, "limit", REQ, &r->has_pids, &r->pids_limit));
    return 0;
}

static int parse_rdma_dev(pctx *c, json_t *o, void *arg)
{
    (void)arg;
    uint32_t v;
    TRY(m_u32(c, o, "hcaHandles", OPT, NULL, &v));
    TRY(m_u32(c, o, "hcaObjects", OPT, NULL, &v));
    return 0;
}

/* rdma is a map keyed by device name; only its shape is checked. */
static int parse_rdma(pctx *c, json_t *o, void *arg)
{
    spec_resources *r = arg;
    const char *k;
    json_t *v;
    r->has_rdma = json_object_size(o) > 0;
    json_object_foreach(o, k, v) {
        (void)v;
        TRY(m_obj(c, o, k, REQ, parse_rdma_dev, NULL));
    }
    return 0;
}

int parse_resources(pctx *c, json_t *o, void *arg)
{
    spec_resources *r = arg;
    r->present = true;
    TRY(m_objarr(c, o, "devices", OPT, sizeof *r->devices, (void **)&r->devices, &r->n_devices,
                 parse_dev_rule));
    TRY(m_obj(c, o, "memory", OPT, parse_memory, &r->memory));
    TRY(m_obj(c, o, "cpu", OPT, parse_cpu, &r->cpu));
    TRY(m_obj(c, o, "pids", OPT, parse_pids, r));
    TRY(m_obj(c, o, "blockIO", OPT, parse_blkio, &r->blkio));
    TRY(m_objarr(c, o, "hugepageLimits", OPT, sizeof *r->hugepages, (void **)&r->hugepages,
                 &r->n_hugepages, parse_hugepage));
    TRY(m_obj(c, o, "network", OPT, parse_network, r));
    TRY(m_obj(c, o, "rdma", OPT, parse_rdma, r));
    TRY(m_map(c, o, "unified", &r->unified));
    return 0;
}

void free_resources(spec_resources *r)
{
    for (size_t i = 0; i < r->n_devices; i++)
        free(r->devices[i].access);
    free(r->devices);
    free(r->cpu.cpus);
    free(r->cpu.mems);
    free(r->blkio.weight_device);
    free(r->blkio.read_bps.v);
    free(r->blkio.write_bps.v);
    free(r->blkio.read_iops.v);
    free(r->blkio.write_iops.v);
    for (size_t i = 0; i < r->n_hugepages; i++)
        free(r->hugepages[i].page_size);
    free(r->hugepages);
    for (size_t i = 0; i < r->n_net_priorities; i++)
        free(r->net_priorities[i].name);
    free(r->net_priorities);
    free_map(&r->rdma_placeholder);
    free_map(&r->unified);
}

/* A standalone linux.resources object (`capsa update -r FILE`): the same
 * parser, with errors located in that file ("r.json:3:14: memory.limit: ..."). */
int spec_parse_resources(const char *text, size_t len, const char *fname, spec_resources *out,
                         capsa_err *e)
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        return cerr_set(e, EINVAL, "%s:%d:%d: invalid JSON: %s", fname, jerr.line,
                        jerr.column, jerr.text);
    }
    /* A throwaway spec carries the file name and the position index. */
    spec *s = xcalloc(1, sizeof *s);
    s->fname = xstrdup(fname);
    s->pos = jsonpos_build(text, len);
    pctx c = {.s = s, .e = e};
    int r = json_is_object(root) ? parse_resources(&c, root, out)
                                 : p_type(&c, root, "an object (linux.resources)");
    free(c.path);
    json_decref(root);
    spec_free(s);
    if (r < 0)
        spec_resources_free(out);
    return r;
}

void spec_resources_free(spec_resources *r)
{
    free_resources(r);
    memset(r, 0, sizeof *r);
}
