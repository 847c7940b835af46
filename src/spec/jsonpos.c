/* A second, position-only scan of config.json. jansson reports where syntax
 * errors are but not where values are, and a config error without a line and
 * column is hard to act on. The scan runs only on text jansson accepted, so it
 * trusts the grammar but still never reads past the end. */
#include "spec/spec_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    char *path;
    unsigned line, col;
} pos_ent;

/* The index is built on the first look-up: most configs parse without an
 * error and never need it. Until then only the text is kept. */
struct jsonpos {
    pos_ent *v;
    size_t n, cap;
    char *text;
    size_t len;
    bool built;
};

typedef struct {
    const unsigned char *p, *end;
    unsigned line, col;
    char *path;
    size_t plen, pcap;
    jsonpos *ix;
} scan;

/* jansson counts columns in characters, not bytes; so do we, so that both
 * kinds of position agree on lines with non-ASCII text. */
static void adv(scan *s)
{
    if (s->p >= s->end)
        return;
    unsigned char b = *s->p++;
    if (b == '\n') {
        s->line++;
        s->col = 1;
    } else if ((b & 0xC0) != 0x80) {
        s->col++;
    }
}

static void skip_ws(scan *s)
{
    while (s->p < s->end && strchr(" \t\r\n", *s->p) && *s->p)
        adv(s);
}

static void path_reserve(scan *s, size_t extra)
{
    if (s->plen + extra + 1 > s->pcap) {
        s->pcap = (s->plen + extra + 1) * 2;
        s->path = xrealloc(s->path, s->pcap);
    }
}

static void path_append(scan *s, const char *str, size_t n)
{
    path_reserve(s, n);
    memcpy(s->path + s->plen, str, n);
    s->plen += n;
    s->path[s->plen] = 0;
}

static void record(scan *s, unsigned line, unsigned col)
{
    jsonpos *ix = s->ix;
    if (ix->n == ix->cap) {
        ix->cap = ix->cap ? ix->cap * 2 : 64;
        ix->v = xrealloc(ix->v, ix->cap * sizeof *ix->v);
    }
    ix->v[ix->n++] = (pos_ent){xstrdup(s->path ? s->path : ""), line, col};
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static long read_u4(scan *s)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        if (s->p >= s->end || hexval(*s->p) < 0)
            return -1;
        v = v * 16 + hexval(*s->p);
        adv(s);
    }
    return v;
}

static void put_utf8(scan *s, unsigned long cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    path_append(s, b, n);
}

/* Scan a string; when decode is set, append its decoded text to the path
 * (object keys must match the decoded keys jansson hands the parser). */
static void scan_string(scan *s, bool decode)
{
    adv(s); /* opening quote */
    while (s->p < s->end && *s->p != '"') {
        if (*s->p != '\\') {
            if (decode)
                path_append(s, (const char *)s->p, 1);
            adv(s);
            continue;
        }
        adv(s);
        if (s->p >= s->end)
            return;
        unsigned char esc = *s->p;
        adv(s);
        if (!decode)
            continue;
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *k = esc ? strchr(from, esc) : NULL;
        if (k) {
            path_append(s, &to[k - from], 1);
        } else if (esc == 'u') {
            long cp = read_u4(s);
            if (cp >= 0xD800 && cp < 0xDC00 && s->end - s->p >= 6 && s->p[0] == '\\' &&
                s->p[1] == 'u') {
                adv(s);
                adv(s);
                long lo = read_u4(s);
                if (lo >= 0xDC00 && lo < 0xE000)
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (cp >= 0)
                put_utf8(s, (unsigned long)cp);
        }
    }
    adv(s); /* closing quote */
}

static void scan_value(scan *s, unsigned depth);

static void scan_object(scan *s, unsigned depth)
{
    size_t base = s->plen;
    adv(s); /* { */
    for (;;) {
        skip_ws(s);
        if (s->p >= s->end)
            return;
        if (*s->p == '}') {
            adv(s);
            return;
        }
        if (*s->p == ',') {
            adv(s);
            continue;
        }
        if (*s->p != '"') /* not JSON jansson accepted: stop rather than loop */
            return;
        if (base)
            path_append(s, ".", 1);
        scan_string(s, true);
        skip_ws(s);
        if (s->p < s->end && *s->p == ':')
            adv(s);
        scan_value(s, depth + 1);
        s->plen = base;
        if (s->path)
            s->path[base] = 0;
    }
}

static void scan_array(scan *s, unsigned depth)
{
    size_t base = s->plen;
    size_t i = 0;
    adv(s); /* [ */
    for (;;) {
        skip_ws(s);
        if (s->p >= s->end)
            return;
        if (*s->p == ']') {
            adv(s);
            return;
        }
        if (*s->p == ',') {
            adv(s);
            continue;
        }
        char idx[32];
        int n = snprintf(idx, sizeof idx, "[%zu]", i++);
        path_append(s, idx, (size_t)n);
        const unsigned char *before = s->p;
        scan_value(s, depth + 1);
        s->plen = base;
        s->path[base] = 0;
        if (s->p == before)
            return;
    }
}

static void scan_value(scan *s, unsigned depth)
{
    skip_ws(s);
    if (s->p >= s->end || depth > 4096)
        return;
    record(s, s->line, s->col);
    switch (*s->p) {
    case '{':
        scan_object(s, depth);
        break;
    case '[':
        scan_array(s, depth);
        break;
    case '"':
        scan_string(s, false);
        break;
    default: /* number, true, false, null */
        while (s->p < s->end && !strchr(",]} \t\r\n", *s->p) && *s->p)
            adv(s);
        break;
    }
}

static int ent_cmp(const void *a, const void *b)
{
    return strcmp(((const pos_ent *)a)->path, ((const pos_ent *)b)->path);
}

jsonpos *jsonpos_build(const char *text, size_t len)
{
    jsonpos *ix = xcalloc(1, sizeof *ix);
    ix->text = xmalloc(len + 1);
    memcpy(ix->text, text, len);
    ix->text[len] = 0;
    ix->len = len;
    return ix;
}

static void build(jsonpos *ix)
{
    scan s = {
        .p = (const unsigned char *)ix->text,
        .end = (const unsigned char *)ix->text + ix->len,
        .line = 1,
        .col = 1,
        .ix = ix,
    };
    path_reserve(&s, 64);
    s.path[0] = 0;
    scan_value(&s, 0);
    free(s.path);
    qsort(ix->v, ix->n, sizeof *ix->v, ent_cmp);
    ix->built = true;
    free(ix->text);
    ix->text = NULL;
}

bool jsonpos_find(jsonpos *ix, const char *path, unsigned *line, unsigned *col)
{
    if (!ix || !path)
        return false;
    if (!ix->built)
        build(ix);
    pos_ent key = {(char *)path, 0, 0};
    const pos_ent *e = bsearch(&key, ix->v, ix->n, sizeof *ix->v, ent_cmp);
    if (!e)
        return false;
    *line = e->line;
    *col = e->col;
    return true;
}

void jsonpos_free(jsonpos *ix)
{
    if (!ix)
        return;
    for (size_t i = 0; i < ix->n; i++)
        free(ix->v[i].path);
    free(ix->v);
    free(ix->text);
    free(ix);
}
