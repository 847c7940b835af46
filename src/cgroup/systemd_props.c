/* The pure half of the systemd driver (systemd.c does the D-Bus work):
 * cgroupsPath "slice:prefix:name" -> the scope's cgroup path, and the unit
 * properties a container's resources and org.systemd.property.* annotations
 * become, as a plain list (tested on the host: tests/unit/test_systemd.c). */
#include "cgroup/cgroup.h"
#include "cgroup/convert.h"
#include "cgroup/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/userns.h"

static char *sd_bad_path;   /* why cg_sd_path_for refused the cgroupsPath */

const char *cg_sd_bad_path(void) { return sd_bad_path; }

/* ---- cgroupsPath "slice:prefix:name" -> /expanded/slice/prefix-name.scope ---- */

/* systemd's unit name characters (unit-name.c: VALID_CHARS "-_.:\\@" + alnum). */
static bool unit_chars_ok(const char *s)
{
    for (; *s; s++)
        if (!(( *s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("-_.:\\@", *s)))
            return false;
    return true;
}

/* "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" -> "" (the root).
 * Refused as runc's ExpandSlice refuses: no ".slice" suffix, a '/', an empty
 * component ("-a.slice", "a--b.slice", "a-.slice", ".slice"); and, beyond runc,
 * characters systemd does not allow in a unit name (it would refuse them later). */
char *cg_sd_expand_slice(const char *slice)
{
    size_t n = strlen(slice);
    if (n < 6 || strcmp(slice + n - 6, ".slice") || strchr(slice, '/') || n > 255 ||
        !unit_chars_ok(slice))
        return NULL;
    if (!strcmp(slice, "-.slice"))
        return xstrdup("");
    autofree char *name = cg_strndup(slice, n - 6);
    size_t len = strlen(name);
    if (!len || name[0] == '-' || name[len - 1] == '-' || strstr(name, "--"))
        return NULL;
    char *out = xmalloc(len * (len + 8) + 16), *p = out;
    *p = 0;
    for (size_t i = 0; i <= len; i++)
        if (i == len || name[i] == '-')
            p += sprintf(p, "/%.*s.slice", (int)i, name);
    return out;
}

/* Is a user bus configured (where sd_bus_open_user looks)? */
static bool user_bus_configured(void)
{
    const char *a = getenv("DBUS_SESSION_BUS_ADDRESS"), *x = getenv("XDG_RUNTIME_DIR");
    if (a && *a)
        return true;
    if (!x || !*x)
        return false;
    autofree char *bus = xasprintf("%s/bus", x);
    return access(bus, F_OK) == 0;
}

/* runc's default parent: user.slice for its rootless cgroup manager, else
 * system.slice. runc is rootless as a non-root user, and as root of a user
 * namespace (rootless podman) when it finds a user bus there (it asks that bus
 * for its owner; without one it takes itself for root). */
static const char *default_slice(void)
{
    bool rootless = geteuid() != 0 || (in_user_namespace() && user_bus_configured());
    return rootless ? "user.slice" : "system.slice";
}

char *cg_sd_path_for(const char *cgroups_path, const char *id)
{
    free(sd_bad_path);
    sd_bad_path = NULL;
    autofree char *slice = NULL, *prefix = NULL, *name = NULL;
    if (!cgroups_path || !*cgroups_path) {
        /* runc: parent system.slice (rootless: user.slice), prefix "runc", name the id */
        slice = xstrdup(default_slice());
        prefix = xstrdup("capsa");
        name = xstrdup(id ? id : "");
    } else {
        const char *c1 = strchr(cgroups_path, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2 || strchr(c2 + 1, ':')) {
            sd_bad_path = xasprintf("--systemd-cgroup: linux.cgroupsPath \"%s\" is not of the "
                                    "form \"slice:prefix:name\"", cgroups_path);
            return NULL;
        }
        slice = cg_strndup(cgroups_path, (size_t)(c1 - cgroups_path));
        prefix = cg_strndup(c1 + 1, (size_t)(c2 - c1 - 1));
        name = xstrdup(c2 + 1);
        if (!*slice) {
            free(slice);
            slice = xstrdup(default_slice());
        }
    }
    autofree char *exp = cg_sd_expand_slice(slice);
    if (!exp) {
        sd_bad_path = xasprintf("--systemd-cgroup: linux.cgroupsPath: \"%s\" is not a valid "
                                "systemd slice name", slice);
        return NULL;
    }
    size_t nl = strlen(name);
    if (nl > 6 && !strcmp(name + nl - 6, ".slice")) {
        sd_bad_path = xasprintf("--systemd-cgroup: linux.cgroupsPath: a slice (\"%s\") as the "
                                "container's own unit is not supported, only scopes", name);
        return NULL;
    }
    autofree char *unit = xasprintf("%s-%s.scope", prefix, name);
    if (!*name || !unit_chars_ok(unit) || strlen(unit) > 255) {
        sd_bad_path = xasprintf("--systemd-cgroup: linux.cgroupsPath: \"%s\" is not a valid "
                                "systemd unit name", unit);
        return NULL;
    }
    return xasprintf("%s/%s", exp, unit);
}

/* ---- the property list ---- */

static cg_sd_prop *add(cg_sd_props *p, const char *name, char type)
{
    p->v = xrealloc(p->v, (p->n + 1) * sizeof *p->v);
    cg_sd_prop *q = &p->v[p->n++];
    memset(q, 0, sizeof *q);
    snprintf(q->name, sizeof q->name, "%s", name);
    q->type = type;
    return q;
}

static void add_u64(cg_sd_props *p, const char *name, uint64_t v) { add(p, name, 't')->u = v; }

void cg_sd_props_free(cg_sd_props *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].s);
        free(p->v[i].bytes);
        for (size_t j = 0; j < p->v[i].npairs * 2; j++)
            free(p->v[i].pairs[j]);
        free(p->v[i].pairs);
        free(p->v[i].vals);
    }
    free(p->v);
    p->v = NULL;
    p->n = 0;
}

const cg_sd_prop *cg_sd_props_get(const cg_sd_props *p, const char *name)
{
    for (size_t i = p->n; i-- > 0;)
        if (!strcmp(p->v[i].name, name))
            return &p->v[i];
    return NULL;
}

/* "0-3,7" -> systemd's CPU/NUMA bitmask (byte i bit j = cpu 8i+j). */
static int add_mask(cg_sd_props *p, const char *prop, const char *list, capsa_err *e)
{
    uint8_t mask[1024] = {0};
    size_t top = 0;
    for (const char *s = list; *s;) {
        while (*s == ' ' || *s == ',' || *s == '\n')
            s++;
        if (!*s)
            break;
        char *end;
        unsigned long a = strtoul(s, &end, 10), b = a;
        if (end == s)
            return cerr_set(e, EINVAL, "%s \"%s\" is not a cpu/node list", prop, list);
        if (*end == '-') {
            s = end + 1;
            b = strtoul(s, &end, 10);
            if (end == s)
                return cerr_set(e, EINVAL, "%s \"%s\" is not a cpu/node list", prop, list);
        }
        if (b < a || b >= sizeof mask * 8)
            return cerr_set(e, EINVAL, "%s \"%s\" is out of range", prop, list);
        for (unsigned long i = a; i <= b; i++)
            mask[i / 8] |= (uint8_t)(1u << (i % 8));
        if (b / 8 + 1 > top)
            top = b / 8 + 1;
        s = end;
    }
    cg_sd_prop *q = add(p, prop, 'y');
    q->bytes = xmalloc(top ? top : 1);
    memcpy(q->bytes, mask, top);
    q->nbytes = top;
    return 0;
}

static uint64_t mem_val(int64_t v) { return v < 0 ? UINT64_MAX : (uint64_t)v; }

/* runc's findDeviceGroup: "c 136:* rwm" (a major, any minor) is DeviceAllow
 * "char-pts", the major's first name in /proc/devices; NULL when it has none. */
static const char *proc_devices_text;   /* tests: instead of /proc/devices */

void cg_sd_set_proc_devices(const char *text) { proc_devices_text = text; }

static char *major_group(char type, int64_t major)
{
    autofree char *own = NULL;
    const char *t = proc_devices_text;
    if (!t) {
        FILE *f = fopen("/proc/devices", "re");
        size_t cap = 0;
        if (!f)
            return NULL;
        ssize_t n = getdelim(&own, &cap, 0, f);
        fclose(f);
        if (n <= 0)
            return NULL;
        t = own;
    }
    const char *want = type == 'b' ? "Block devices:" : "Character devices:";
    bool in = false;
    for (const char *l = t; *l;) {
        size_t n = strcspn(l, "\n");
        if (n && l[n - 1] == ':')
            in = n == strlen(want) && !strncmp(l, want, n);
        else if (in) {
            char *end;
            long long m = strtoll(l, &end, 10);
            while (*end == ' ')
                end++;
            size_t nl = (size_t)(l + n - end);
            if (end != l && m == major && nl)
                return xasprintf("%s-%.*s", type == 'b' ? "block" : "char", (int)nl, end);
        }
        l += n + (l[n] == '\n');
    }
    return NULL;
}

/* DevicePolicy/DeviceAllow from the rule list, as far as systemd can say it:
 * a list that starts by denying everything and then allows becomes
 * DevicePolicy=strict + DeviceAllow ("/dev/char/1:3" for one node, "char-*" /
 * "block-*" for a whole type, "char-pts" for a major with any minor, as runc);
 * anything else (denies after allows, a major /proc/devices does not name) is left to the eBPF filter / devices.* files the cgroupfs
 * driver writes anyway. */
static void device_props(cg_sd_props *p, const spec_resources *res)
{
    if (!res->n_devices)
        return;
    const spec_dev_rule *d = res->devices;
    bool deny_all = !d[0].allow && (!d[0].type || d[0].type == 'a') && !d[0].has_major &&
                    !d[0].has_minor;
    if (!deny_all)
        return;
    for (size_t i = 1; i < res->n_devices; i++)
        if (!d[i].allow || !d[i].type || d[i].type == 'a')
            return;
    cg_sd_prop *pol = add(p, "DevicePolicy", 's');
    pol->s = xstrdup("strict");
    cg_sd_prop *q = add(p, "DeviceAllow", 'D');
    q->pairs = xcalloc(res->n_devices * 2, sizeof *q->pairs);
    for (size_t i = 1; i < res->n_devices; i++) {
        const char *kind = d[i].type == 'b' ? "block" : "char";
        char *node;
        if (d[i].has_major && d[i].major >= 0 && d[i].has_minor && d[i].minor >= 0)
            node = xasprintf("/dev/%s/%" PRId64 ":%" PRId64, kind, d[i].major, d[i].minor);
        else if (!d[i].has_major || d[i].major < 0)
            node = xasprintf("%s-*", kind);
        else if (!(node = major_group(d[i].type, d[i].major)))
            continue;
        q->pairs[q->npairs * 2] = node;
        q->pairs[q->npairs * 2 + 1] = xstrdup(d[i].access ? d[i].access : "rwm");
        q->npairs++;
    }
}

/* One a(st) property (IODeviceWeight, IOReadBandwidthMax, BlockIO...): the
 * device as systemd's "/dev/block/MAJ:MIN" (systemd parses that form itself,
 * no /dev/block symlink is needed) and the value. An empty list adds nothing. */
static cg_sd_prop *add_dev_list(cg_sd_props *p, const char *name, size_t cap)
{
    cg_sd_prop *q = add(p, name, 'A');
    q->pairs = xcalloc(cap * 2 + 1, sizeof *q->pairs);
    q->vals = xcalloc(cap + 1, sizeof *q->vals);
    return q;
}

static void dev_list_add(cg_sd_prop *q, int64_t major, int64_t minor, uint64_t v)
{
    q->pairs[q->npairs * 2] = xasprintf("/dev/block/%" PRId64 ":%" PRId64, major, minor);
    q->vals[q->npairs++] = v;
}

static void add_throttle(cg_sd_props *p, const char *name, const spec_blkio_throttles *t)
{
    if (!t->n)
        return;
    cg_sd_prop *q = add_dev_list(p, name, t->n);
    for (size_t i = 0; i < t->n; i++)
        dev_list_add(q, t->v[i].major, t->v[i].minor, t->v[i].rate);
}

/* linux.resources.blockIO. Unified: IOWeight (the blkio weight 10..1000 as
 * capsa's io.weight file takes it, runc's fs2 formula 1 + (w-10)*9999/990),
 * IODeviceWeight, IO{Read,Write}{Bandwidth,IOPS}Max. Legacy (systemd drives
 * blkio v1): BlockIOWeight / BlockIODeviceWeight as given (10..1000),
 * BlockIO{Read,Write}Bandwidth; v1 systemd has no IOPS property (the
 * cgroupfs driver writes blkio.throttle.*_iops_device). Weight 0 is unset. */
static void io_props(cg_sd_props *p, const spec_blkio *b, bool legacy)
{
    if (b->has_weight && b->weight)
        add_u64(p, legacy ? "BlockIOWeight" : "IOWeight",
                legacy ? b->weight : cg_blkio_to_io_weight(b->weight));
    size_t nw = 0;
    for (size_t i = 0; i < b->n_weight_device; i++)
        nw += b->weight_device[i].has_weight && b->weight_device[i].weight;
    if (nw) {
        cg_sd_prop *q = add_dev_list(p, legacy ? "BlockIODeviceWeight" : "IODeviceWeight", nw);
        for (size_t i = 0; i < b->n_weight_device; i++) {
            const spec_blkio_weight_dev *d = &b->weight_device[i];
            if (d->has_weight && d->weight)
                dev_list_add(q, d->major, d->minor,
                             legacy ? d->weight : cg_blkio_to_io_weight(d->weight));
        }
    }
    add_throttle(p, legacy ? "BlockIOReadBandwidth" : "IOReadBandwidthMax", &b->read_bps);
    add_throttle(p, legacy ? "BlockIOWriteBandwidth" : "IOWriteBandwidthMax", &b->write_bps);
    if (!legacy) {
        add_throttle(p, "IOReadIOPSMax", &b->read_iops);
        add_throttle(p, "IOWriteIOPSMax", &b->write_iops);
    }
}

/* The limits systemd has properties for. Unified: the v2 names (runc's
 * genV2ResourcesProperties); legacy/hybrid (systemd drives v1 controllers):
 * MemoryLimit and CPUShares as runc's genV1ResourcesProperties, no
 * MemoryLow/MemorySwapMax/unified (v1 has no such files). */
int cg_sd_resource_props(const spec_resources *res, bool legacy, cg_sd_props *p, capsa_err *e)
{
    int r;
    if (!res)
        return 0;
    const spec_memory *mem = &res->memory;
    if (mem->has_limit && mem->limit)
        add_u64(p, legacy ? "MemoryLimit" : "MemoryMax", mem_val(mem->limit));
    if (!legacy && mem->has_reservation && mem->reservation)
        add_u64(p, "MemoryLow", mem_val(mem->reservation));
    if (!legacy && mem->has_swap && mem->swap) {
        char buf[32];
        capsa_err e2;
        if (cg_swap_v2(mem->has_limit ? mem->limit : 0, mem->swap, buf, sizeof buf, &e2) == 0 &&
            *buf)
            add_u64(p, "MemorySwapMax", strcmp(buf, "max") ? strtoull(buf, NULL, 10) : UINT64_MAX);
    }
    const spec_cpu *c = &res->cpu;
    if (c->has_shares && c->shares) {
        if (legacy)
            add_u64(p, "CPUShares", c->shares);
        else
            add_u64(p, "CPUWeight", cg_shares_to_weight(c->shares));
    }
    if ((c->has_quota && c->quota) || (c->has_period && c->period)) {
        uint64_t period = c->has_period && c->period ? c->period : 100000;
        if (c->has_period && c->period)
            add_u64(p, "CPUQuotaPeriodUSec", period);
        uint64_t per_sec = UINT64_MAX;
        if (c->has_quota && c->quota > 0) {
            /* runc: systemd keeps quota per second in 10 ms steps: round up */
            per_sec = (uint64_t)c->quota * 1000000 / period;
            if (per_sec % 10000)
                per_sec = (per_sec / 10000 + 1) * 10000;
        }
        add_u64(p, "CPUQuotaPerSecUSec", per_sec);
    }
    if (c->cpus && *c->cpus && (r = add_mask(p, "AllowedCPUs", c->cpus, e)) < 0)
        return r;
    if (c->mems && *c->mems && (r = add_mask(p, "AllowedMemoryNodes", c->mems, e)) < 0)
        return r;
    if (res->has_pids)
        add_u64(p, "TasksMax", res->pids_limit < 0 ? UINT64_MAX :
                res->pids_limit == 0 ? 1 : (uint64_t)res->pids_limit);
    for (size_t i = 0; !legacy && i < res->unified.n; i++) {
        const char *k = res->unified.v[i].key, *v = res->unified.v[i].value;
        static const char *const memk[][2] = {
            {"memory.high", "MemoryHigh"}, {"memory.low", "MemoryLow"},
            {"memory.min", "MemoryMin"}, {"memory.max", "MemoryMax"},
            {"memory.swap.max", "MemorySwapMax"}, {"pids.max", "TasksMax"}};
        for (size_t j = 0; j < sizeof memk / sizeof *memk; j++) {
            if (strcmp(k, memk[j][0]))
                continue;
            uint64_t n = strncmp(v, "max", 3) ? strtoull(v, NULL, 10) : UINT64_MAX;
            if (n == 0 && !strcmp(k, "pids.max"))
                n = 1;
            add_u64(p, memk[j][1], n);
        }
        if (!strcmp(k, "cpu.weight"))
            add_u64(p, "CPUWeight", strtoull(v, NULL, 10));
    }
    io_props(p, &res->blkio, legacy);
    device_props(p, res);
    return 0;
}

/* ---- org.systemd.property.NAME annotations (runc's initSystemdProps) ---- */

/* Properties capsa itself depends on: an annotation may not replace them
 * (Description marks capsa's own scopes, the rest place the container). */
static const char *const reserved[] = {"Description", "Slice", "PIDs", "Delegate", NULL};

static int parse_int(const char *s, bool neg_ok, int64_t *iv, uint64_t *uv)
{
    char *end;
    errno = 0;
    if (neg_ok) {
        *iv = strtoll(s, &end, 0);
    } else {
        if (*s == '-')
            return -1;
        *uv = strtoull(s, &end, 0);
    }
    return errno || end == s || *end ? -1 : 0;
}

/* A GVariant text value, the subset runc's annotations use: "uint64 N",
 * "int64 N", "uint32 N", "int32 N" (or "@t N", "@x N", "@u N", "@i N"),
 * a bare integer (int32, as GVariant), "double D", true/false, 'string' or
 * "string". */
static int parse_value(const char *v, cg_sd_prop *q)
{
    static const struct { const char *kw; char t; } kws[] = {
        {"uint64 ", 't'}, {"@t ", 't'}, {"int64 ", 'x'}, {"@x ", 'x'},
        {"uint32 ", 'u'}, {"@u ", 'u'}, {"int32 ", 'i'}, {"@i ", 'i'},
        {"double ", 'd'}, {"@d ", 'd'}};
    while (*v == ' ')
        v++;
    size_t n = strlen(v);
    while (n && v[n - 1] == ' ')
        n--;
    autofree char *s = cg_strndup(v, n);
    if (!strcmp(s, "true") || !strcmp(s, "false")) {
        q->type = 'b';
        q->b = s[0] == 't';
        return 0;
    }
    if (n >= 2 && (s[0] == '\'' || s[0] == '"') && s[n - 1] == s[0]) {
        q->type = 's';
        q->s = cg_strndup(s + 1, n - 2);
        return strchr(q->s, s[0]) ? -1 : 0;
    }
    const char *num = s;
    char t = 'i';
    for (size_t i = 0; i < sizeof kws / sizeof *kws; i++)
        if (!strncmp(s, kws[i].kw, strlen(kws[i].kw))) {
            t = kws[i].t;
            num = s + strlen(kws[i].kw);
            break;
        }
    while (*num == ' ')
        num++;
    q->type = t;
    if (t == 'd') {
        char *end;
        errno = 0;
        q->d = strtod(num, &end);
        return errno || end == num || *end ? -1 : 0;
    }
    if (t == 't' || t == 'u') {
        if (parse_int(num, false, NULL, &q->u) < 0 || (t == 'u' && q->u > UINT32_MAX))
            return -1;
        return 0;
    }
    if (parse_int(num, true, &q->i, NULL) < 0 ||
        (t == 'i' && (q->i < INT32_MIN || q->i > INT32_MAX)))
        return -1;
    return 0;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

int cg_sd_annotation_props(const spec_map *ann, cg_sd_props *p, capsa_err *e)
{
    static const char pre[] = "org.systemd.property.";
    for (size_t i = 0; ann && i < ann->n; i++) {
        const char *k = ann->v[i].key, *v = ann->v[i].value ? ann->v[i].value : "";
        if (strncmp(k, pre, sizeof pre - 1))
            continue;
        const char *name = k + sizeof pre - 1;
        /* runc's checkPropertyName: at least 3 ASCII letters, nothing else */
        bool ok = strlen(name) >= 3 && strlen(name) < sizeof p->v[0].name - 2;
        for (const char *c = name; ok && *c; c++)
            ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z');
        if (!ok)
            return cerr_set(e, EINVAL, "annotation %s: \"%s\" is not a systemd property name", k,
                            name);
        for (size_t j = 0; reserved[j]; j++)
            if (!strcmp(name, reserved[j]))
                return cerr_set(e, EINVAL, "annotation %s: capsa sets %s itself", k, name);
        cg_sd_prop *q = add(p, name, 0);
        if (parse_value(v, q) < 0)
            return cerr_set(e, EINVAL, "annotation %s=%s: the value is not a GVariant of a "
                            "supported type (e.g. \"uint64 123\", true, 'text')", k, v);
        /* runc: a NAMESec property is NAMEUSec in microseconds */
        if (ends_with(name, "Sec") && !ends_with(name, "USec") && !ends_with(name, "NSec")) {
            snprintf(q->name + strlen(name) - 3, sizeof q->name - strlen(name) + 3, "USec");
            switch (q->type) {
            case 't': case 'u': q->u *= 1000000; break;
            case 'x': case 'i': q->i *= 1000000; break;
            case 'd': q->type = 't'; q->u = (uint64_t)(q->d * 1e6); break;
            default:
                return cerr_set(e, EINVAL, "annotation %s=%s: a ...Sec property needs a "
                                "number", k, v);
            }
        }
    }
    return 0;
}

/* ---- crun's run.oci.systemd.subgroup / run.oci.delegate-cgroup ---- */

/* One cgroup directory name below the scope: not empty, no '/', not "." or
 * "..", no control characters, and not a name the kernel's own files take
 * ("cgroup.procs", "memory.max": "<controller or cgroup>.<anything>"). */
static const char *bad_cgroup_name(const char *n)
{
    static const char *const pre[] = {"cgroup", "cpu", "cpuset", "cpuacct", "io", "blkio",
                                      "memory", "pids", "hugetlb", "rdma", "misc", "freezer",
                                      "devices", "net_cls", "net_prio", "perf_event", NULL};
    if (!*n)
        return "is empty";
    if (strlen(n) > 255)
        return "is longer than 255 bytes";
    if (strchr(n, '/'))
        return "contains a '/' (one cgroup name, not a path)";
    if (!strcmp(n, ".") || !strcmp(n, ".."))
        return "is \".\" or \"..\"";
    for (const char *c = n; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return "contains a control character";
    const char *dot = strchr(n, '.');
    for (size_t i = 0; dot && pre[i]; i++)
        if (strlen(pre[i]) == (size_t)(dot - n) && !strncmp(n, pre[i], (size_t)(dot - n)))
            return "is the name of a cgroup interface file";
    if (!strcmp(n, "tasks") || !strcmp(n, "notify_on_release") || !strcmp(n, "release_agent"))
        return "is the name of a cgroup interface file";
    return NULL;
}

/* v for a one-line message: control characters as '?', at most 80 bytes. */
static char *printable(const char *v)
{
    char *o = cg_strndup(v, strnlen(v, 80));
    for (char *c = o; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    return o;
}

static const char *ann_get(const spec_map *ann, const char *key, bool *present)
{
    *present = false;
    const char *v = NULL;
    for (size_t i = 0; ann && i < ann->n; i++)
        if (!strcmp(ann->v[i].key, key)) {
            *present = true;
            v = ann->v[i].value ? ann->v[i].value : "";
        }
    return v;
}

int cg_sd_ct_annotations(const spec_map *ann, bool systemd, bool unified, char **sub,
                         char **del, char **why)
{
    *sub = *del = *why = NULL;
    bool has;
    const char *v = ann_get(ann, "run.oci.systemd.force_cgroup_v1", &has);
    autofree char *pv = v ? printable(v) : NULL;
    if (has) {
        *why = xasprintf("annotation run.oci.systemd.force_cgroup_v1=%s: not supported by "
                         "capsa (a named cgroup v1 hierarchy for systemd in the container)", pv);
        return -1;
    }
    const char *s = ann_get(ann, "run.oci.systemd.subgroup", &has);
    if (systemd && has && *s) {
        const char *bad = bad_cgroup_name(s);
        if (bad) {
            autofree char *ps = printable(s);
            *why = xasprintf("annotation run.oci.systemd.subgroup=%s: the name %s", ps, bad);
            return -1;
        }
        *sub = xstrdup(s);
    }
    const char *d = ann_get(ann, "run.oci.delegate-cgroup", &has);
    if (has && *d) {
        const char *bad = bad_cgroup_name(d);
        autofree char *pd = printable(d);
        if (!systemd)
            *why = xasprintf("annotation run.oci.delegate-cgroup=%s: capsa supports it only with "
                             "--systemd-cgroup", pd);
        else if (!unified)
            *why = xasprintf("annotation run.oci.delegate-cgroup=%s: needs the unified cgroup v2 "
                             "hierarchy (delegation is not safe on cgroup v1)", pd);
        else if (bad)
            *why = xasprintf("annotation run.oci.delegate-cgroup=%s: the name %s", pd, bad);
        if (*why) {
            free(*sub);
            *sub = NULL;
            return -1;
        }
        *del = xstrdup(d);
    }
    return 0;
}

char *cg_sd_scope_of(const char *path)
{
    if (!path)
        return NULL;
    /* the last component ending in ".scope", at most two levels above the end */
    size_t n = strlen(path);
    const char *end = path + n;
    for (int up = 0; up < 3 && end > path; up++) {
        const char *s = end;
        while (s > path && s[-1] != '/')
            s--;
        if (end - s > 6 && !strncmp(end - 6, ".scope", 6))
            return cg_strndup(path, (size_t)(end - path));
        end = s > path ? s - 1 : s;
    }
    return NULL;
}
