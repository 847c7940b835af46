#include "util/units.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Digits with at most one fraction: no sign, no exponent, no hex, no spaces
 * (strtod would take "inf", "0x10" and " 5"). */
static const char *scan_number(const char *s, double *v)
{
    const char *p = s;
    while (isdigit((unsigned char)*p))
        p++;
    if (p == s)
        return NULL;
    if (*p == '.') {
        const char *f = ++p;
        while (isdigit((unsigned char)*p))
            p++;
        if (p == f)
            return NULL;
    }
    char buf[64];
    if ((size_t)(p - s) >= sizeof buf)
        return NULL;
    memcpy(buf, s, (size_t)(p - s));
    buf[p - s] = 0;
    *v = strtod(buf, NULL);
    return p;
}

int units_parse_size(const char *s, int64_t *out)
{
    if (!s)
        return -EINVAL;
    if (!strcmp(s, "-1")) {
        *out = -1;
        return 0;
    }
    double v;
    const char *p = scan_number(s, &v);
    if (!p)
        return -EINVAL;
    static const char units[] = "bkmgtp";
    double mult = 1;
    if (*p) {
        const char *u = strchr(units, tolower((unsigned char)*p));
        if (!u)
            return -EINVAL;
        mult = (double)(UINT64_C(1) << (10 * (u - units)));
        p++;
        if (u != units) {   /* after k/m/g/t/p: optional "i", then optional "b" */
            if (tolower((unsigned char)*p) == 'i')
                p++;
            if (tolower((unsigned char)*p) == 'b')
                p++;
        }
    }
    if (*p)
        return -EINVAL;
    double bytes = v * mult;
    if (bytes >= 9.2e18)
        return -ERANGE;
    *out = (int64_t)bytes;
    return 0;
}

int units_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return -EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end)
        return -EINVAL;
    if (errno == ERANGE || v < min || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

/* One id: digits only (no sign, no space), at most UINT32_MAX; *end after it. */
static int parse_id(const char *s, uint32_t *out, const char **end)
{
    if (*s < '0' || *s > '9')
        return -EINVAL;
    char *e;
    errno = 0;
    unsigned long long v = strtoull(s, &e, 10);
    if (errno || v > UINT32_MAX)
        return -EINVAL;
    *out = (uint32_t)v;
    *end = e;
    return 0;
}

int units_parse_id(const char *s, uint32_t *id)
{
    const char *end;
    return !s || parse_id(s, id, &end) < 0 || *end ? -EINVAL : 0;
}

int units_parse_user(const char *s, uint32_t *uid, uint32_t *gid, bool *has_gid)
{
    const char *end;
    uint32_t u, g = 0;
    if (!s || parse_id(s, &u, &end) < 0)
        return -EINVAL;
    bool has = *end == ':';
    if (has && parse_id(end + 1, &g, &end) < 0)
        return -EINVAL;
    if (*end)
        return -EINVAL;
    *uid = u;
    *gid = g;
    *has_gid = has;
    return 0;
}

int units_parse_duration(const char *s, uint64_t *ns)
{
    static const struct { const char *name; double ns; } units[] = {
        {"ns", 1}, {"us", 1e3}, {"µs", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9},
    };
    if (!s || !*s)
        return -EINVAL;
    if (!strcmp(s, "0")) {
        *ns = 0;
        return 0;
    }
    double total = 0;
    for (const char *p = s; *p;) {
        double v;
        if (!(p = scan_number(p, &v)))
            return -EINVAL;
        size_t n = 0;
        while (p[n] && !isdigit((unsigned char)p[n]) && p[n] != '.')
            n++;
        size_t k = 0;
        for (; k < sizeof units / sizeof units[0]; k++)
            if (strlen(units[k].name) == n && !strncmp(p, units[k].name, n))
                break;
        if (n == 0 || k == sizeof units / sizeof units[0])
            return -EINVAL;
        total += v * units[k].ns;
        p += n;
    }
    if (total >= 1.8e19)
        return -ERANGE;
    *ns = (uint64_t)total;
    return 0;
}

bool units_cpu_list_valid(const char *s)
{
    if (!s || !*s)
        return false;
    for (const char *p = s;;) {
        char *end;
        if (!isdigit((unsigned char)*p))
            return false;
        unsigned long a = strtoul(p, &end, 10);
        p = end;
        if (*p == '-') {
            if (!isdigit((unsigned char)*++p))
                return false;
            unsigned long b = strtoul(p, &end, 10);
            if (b < a)
                return false;
            p = end;
            /* the kernel's group syntax: "0-15:2/4" (2 of every 4) */
            if (*p == ':') {
                if (!isdigit((unsigned char)*++p))
                    return false;
                strtoul(p, &end, 10);
                if (*(p = end) != '/' || !isdigit((unsigned char)*++p))
                    return false;
                strtoul(p, &end, 10);
                p = end;
            }
        }
        if (!*p)
            return true;
        if (*p++ != ',')
            return false;
    }
}

void units_format_size(uint64_t bytes, char *buf, size_t n)
{
    static const char *const names[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int u = 0;
    double v = (double)bytes;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    double frac = v - (double)(uint64_t)v;
    if (u == 0)
        snprintf(buf, n, "%" PRIu64 " B", bytes);
    else if (frac < 0.05 || frac > 0.95)
        snprintf(buf, n, "%.0f %s", v, names[u]);
    else
        snprintf(buf, n, "%.1f %s", v, names[u]);
}
