/* update: change a live container's cgroup limits, with runc's flags or an
 * OCI linux.resources JSON (-r FILE, "-" for stdin). Flags given with -r
 * override the file's values. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "util/fs.h"
#include "util/units.h"

enum {
    OPT_BLKIO_WEIGHT = 256, OPT_CPU_PERIOD, OPT_CPU_QUOTA, OPT_CPU_SHARE, OPT_RT_PERIOD,
    OPT_RT_RUNTIME, OPT_CPUSET_CPUS, OPT_CPUSET_MEMS, OPT_KMEM, OPT_KMEM_TCP, OPT_MEMORY,
    OPT_MEM_RESERVATION, OPT_MEM_SWAP, OPT_PIDS_LIMIT,
};

static const struct option update_opts[] = {
    {"resources", required_argument, NULL, 'r'},
    {"blkio-weight", required_argument, NULL, OPT_BLKIO_WEIGHT},
    {"cpu-period", required_argument, NULL, OPT_CPU_PERIOD},
    {"cpu-quota", required_argument, NULL, OPT_CPU_QUOTA},
    {"cpu-share", required_argument, NULL, OPT_CPU_SHARE},
    {"cpu-rt-period", required_argument, NULL, OPT_RT_PERIOD},
    {"cpu-rt-runtime", required_argument, NULL, OPT_RT_RUNTIME},
    {"cpuset-cpus", required_argument, NULL, OPT_CPUSET_CPUS},
    {"cpuset-mems", required_argument, NULL, OPT_CPUSET_MEMS},
    {"kernel-memory", required_argument, NULL, OPT_KMEM},
    {"kernel-memory-tcp", required_argument, NULL, OPT_KMEM_TCP},
    {"memory", required_argument, NULL, OPT_MEMORY},
    {"memory-reservation", required_argument, NULL, OPT_MEM_RESERVATION},
    {"memory-swap", required_argument, NULL, OPT_MEM_SWAP},
    {"pids-limit", required_argument, NULL, OPT_PIDS_LIMIT},
    {NULL, 0, NULL, 0},
};

static const char *flag_name(int opt)
{
    for (const struct option *o = update_opts; o->name; o++)
        if (o->val == opt)
            return o->name;
    return "?";
}

static int size_arg(int opt, const char *v, bool *has, int64_t *out, capsa_err *e)
{
    int r = units_parse_size(v, out);
    if (r < 0)
        return cerr_set(e, EINVAL, "--%s: \"%s\" is not a size (like 512k, 64m, 1g; -1 "
                        "for unlimited)", flag_name(opt), v);
    *has = true;
    return 0;
}

static int num_arg(int opt, const char *v, int64_t min, int64_t max, int64_t *out, capsa_err *e)
{
    if (units_parse_int(v, min, max, out) < 0)
        return cerr_set(e, EINVAL, "--%s: \"%s\" is not a number in %" PRId64 "..%"
                        PRId64, flag_name(opt), v, min, max);
    return 0;
}

/* Replace a string field (the -r file's value, if any, is freed). */
static void set_str(char **field, const char *v)
{
    free(*field);
    *field = xstrdup(v);
}

static int apply_flag(int opt, const char *v, spec_resources *r, capsa_err *e)
{
    spec_memory *m = &r->memory;
    spec_cpu *c = &r->cpu;
    int64_t n;
    int rr = 0;
    switch (opt) {
    case OPT_MEMORY: return size_arg(opt, v, &m->has_limit, &m->limit, e);
    case OPT_MEM_SWAP: return size_arg(opt, v, &m->has_swap, &m->swap, e);
    case OPT_MEM_RESERVATION: return size_arg(opt, v, &m->has_reservation, &m->reservation, e);
    case OPT_KMEM: return size_arg(opt, v, &m->has_kernel, &m->kernel, e);
    case OPT_KMEM_TCP: return size_arg(opt, v, &m->has_kernel_tcp, &m->kernel_tcp, e);
    case OPT_CPU_PERIOD:
        if ((rr = num_arg(opt, v, 0, INT64_MAX, &n, e)) == 0) {
            c->has_period = true;
            c->period = (uint64_t)n;
        }
        return rr;
    case OPT_CPU_QUOTA:
        if ((rr = num_arg(opt, v, INT64_MIN, INT64_MAX, &n, e)) == 0) {
            c->has_quota = true;
            c->quota = n;
        }
        return rr;
    case OPT_CPU_SHARE:
        if ((rr = num_arg(opt, v, 0, INT64_MAX, &n, e)) == 0) {
            c->has_shares = true;
            c->shares = (uint64_t)n;
        }
        return rr;
    case OPT_RT_PERIOD:
        if ((rr = num_arg(opt, v, 0, INT64_MAX, &n, e)) == 0) {
            c->has_rt_period = true;
            c->rt_period = (uint64_t)n;
        }
        return rr;
    case OPT_RT_RUNTIME:
        if ((rr = num_arg(opt, v, INT64_MIN, INT64_MAX, &n, e)) == 0) {
            c->has_rt_runtime = true;
            c->rt_runtime = n;
        }
        return rr;
    case OPT_CPUSET_CPUS: set_str(&c->cpus, v); return 0;
    case OPT_CPUSET_MEMS: set_str(&c->mems, v); return 0;
    case OPT_PIDS_LIMIT:
        if ((rr = num_arg(opt, v, INT64_MIN, INT64_MAX, &n, e)) == 0) {
            r->has_pids = true;
            r->pids_limit = n;
        }
        return rr;
    case OPT_BLKIO_WEIGHT:
        if ((rr = num_arg(opt, v, 0, 1000, &n, e)) < 0)
            return rr;
        /* 0 leaves the weight alone (runc); else the OCI range. */
        if (n != 0 && n < 10)
            return cerr_set(e, EINVAL, "--blkio-weight: %" PRId64 " is out of range "
                            "10..1000", n);
        r->blkio.has_weight = n != 0;
        r->blkio.weight = (uint16_t)n;
        return 0;
    }
    return 0;
}

static int load_file(const char *path, spec_resources *r, capsa_err *e)
{
    autofree char *text = NULL;
    size_t len;
    int rr = !strcmp(path, "-") ? fs_read_fd(STDIN_FILENO, "stdin", &text, &len, e)
                                : fs_read(path, &text, &len, e);
    if (rr < 0)
        return cerr_wrap(e, "-r");
    rr = spec_parse_resources(text, len, !strcmp(path, "-") ? "stdin" : path, r, e);
    return rr;
}

int cmd_update(cmd_ctx *c, int argc, char **argv, capsa_err *e)
{
    const char *file = NULL;
    struct {
        int opt;
        const char *val;
    } flags[32];
    size_t nflags = 0;
    int opt, r;
    optind = 0;
    while ((r = cmd_getopt(cmd_find("update"), argc, argv, "r:", update_opts, &opt, e)) == 0 &&
           opt != -1) {
        if (opt == 'r')
            file = optarg;
        else if (nflags < sizeof flags / sizeof flags[0])
            flags[nflags++] = (typeof(flags[0])){opt, optarg};
    }
    if (r)
        return r < 0 ? r : 0;
    if ((r = cmd_need_args("update", argc, 1, 1, e)) < 0)
        return r;
    if (!file && !nflags)
        return cerr_set(e, EINVAL, "nothing to change (give -r FILE or flags; see "
                        "capsa update --help)");
    spec_resources res = {0};
    if (file && (r = load_file(file, &res, e)) < 0)
        return r;
    for (size_t i = 0; i < nflags && r >= 0; i++)
        r = apply_flag(flags[i].opt, flags[i].val, &res, e);
    res.memory.present |= res.memory.has_limit || res.memory.has_swap ||
                          res.memory.has_reservation || res.memory.has_kernel ||
                          res.memory.has_kernel_tcp;
    if (r >= 0)
        r = rt_update(&c->rt, argv[optind], &res, e);
    spec_resources_free(&res);
    return r;
}
