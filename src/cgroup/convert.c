/* Pure value conversions (see convert.h for the formulas and their origin). */
#include "cgroup/convert.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

uint64_t cg_shares_to_weight(uint64_t shares)
{
    if (shares == 0)
        return 0;
    /* The kernel clamps cpu.shares to 2..262144; clamping first keeps the
     * formula from underflowing for 1 and overflowing 10000 above the max. */
    if (shares < 2)
        shares = 2;
    if (shares > 262144)
        shares = 262144;
    return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t cg_blkio_to_io_weight(uint64_t weight)
{
    if (weight == 0)
        return 0;
    if (weight < 10)
        weight = 10;
    if (weight > 1000)
        weight = 1000;
    return 1 + (weight - 10) * 9999 / 990;
}

void cg_cpu_max(char *buf, size_t n, bool has_quota, int64_t quota, bool has_period,
                uint64_t period)
{
    /* runc treats 0 as unset for both. */
    if (has_quota && quota == 0)
        has_quota = false;
    if (has_period && period == 0)
        has_period = false;
    if (!has_quota && !has_period) {
        buf[0] = 0;
        return;
    }
    char q[32] = "max";
    if (has_quota && quota > 0)
        snprintf(q, sizeof q, "%" PRId64, quota);
    if (has_period)
        snprintf(buf, n, "%s %" PRIu64, q, period);
    else
        snprintf(buf, n, "%s", q);
}

void cg_mem_v2(int64_t v, char *buf, size_t n)
{
    if (v == 0)
        buf[0] = 0;
    else if (v < 0)
        snprintf(buf, n, "max");
    else
        snprintf(buf, n, "%" PRId64, v);
}

int cg_swap_v2(int64_t limit, int64_t swap, char *buf, size_t n, capsa_err *e)
{
    buf[0] = 0;
    /* v1 compatibility (runc): unlimited memory with swap unset means both
     * unlimited. */
    if (limit == -1 && swap == 0) {
        snprintf(buf, n, "max");
        return 0;
    }
    if (swap == 0)
        return 0;
    if (swap < 0) {
        snprintf(buf, n, "max");
        return 0;
    }
    if (limit <= 0)
        return cerr_set(e, EINVAL, "memory.swap %" PRId64 ": a swap limit needs a memory "
                        "limit on cgroup v2", swap);
    if (swap < limit)
        return cerr_set(e, EINVAL, "memory.swap %" PRId64 " is below memory.limit %"
                        PRId64 " (OCI swap is memory+swap)", swap, limit);
    /* swap == limit gives "0": swap disabled. */
    snprintf(buf, n, "%" PRId64, swap - limit);
    return 0;
}

void cg_pids_max(int64_t limit, char *buf, size_t n)
{
    if (limit <= 0)
        snprintf(buf, n, "max");
    else
        snprintf(buf, n, "%" PRId64, limit);
}

static int access_ok(const char *a)
{
    if (!*a)
        return 0;
    for (; *a; a++)
        if (*a != 'r' && *a != 'w' && *a != 'm')
            return 0;
    return 1;
}

int cg_dev_rule_v1(const spec_dev_rule *r, char *buf, size_t n, capsa_err *e)
{
    char type = r->type ? r->type : 'a';
    const char *acc = r->access ? r->access : "rwm";
    if (type != 'a' && type != 'c' && type != 'b')
        return cerr_set(e, EINVAL, "device rule: invalid type '%c'", type);
    if (!access_ok(acc))
        return cerr_set(e, EINVAL, "device rule: invalid access \"%s\" (want a subset of rwm)",
                        acc);
    if ((r->has_major && r->major < 0) || (r->has_minor && r->minor < 0))
        return cerr_set(e, EINVAL, "device rule: negative major/minor");
    char maj[24] = "*", min[24] = "*";
    if (r->has_major)
        snprintf(maj, sizeof maj, "%" PRId64, r->major);
    if (r->has_minor)
        snprintf(min, sizeof min, "%" PRId64, r->minor);
    snprintf(buf, n, "%c %s:%s %s", type, maj, min, acc);
    return 0;
}

static size_t io_key(char *buf, size_t n, size_t off, const char *key, uint64_t v)
{
    if (v == CG_IO_UNSET || off >= n)
        return off;
    int w = v == 0 ? snprintf(buf + off, n - off, " %s=max", key)
                   : snprintf(buf + off, n - off, " %s=%" PRIu64, key, v);
    return w < 0 ? off : off + (size_t)w;
}

void cg_io_max_line(char *buf, size_t n, int64_t major, int64_t minor, uint64_t rbps,
                    uint64_t wbps, uint64_t riops, uint64_t wiops)
{
    int w = snprintf(buf, n, "%" PRId64 ":%" PRId64, major, minor);
    size_t off = w < 0 ? 0 : (size_t)w;
    off = io_key(buf, n, off, "rbps", rbps);
    off = io_key(buf, n, off, "wbps", wbps);
    off = io_key(buf, n, off, "riops", riops);
    io_key(buf, n, off, "wiops", wiops);
}
