/* Parsing /proc/PID/mountinfo. */
#include "util/mountinfo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *mountinfo_unescape(const char *s, size_t n)
{
    char *o = xmalloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' &&
            s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
            o[j++] = (char)(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
            i += 3;
        } else {
            o[j++] = s[i];
        }
    }
    o[j] = 0;
    return o;
}


/* The idx-th space-separated field of line (len bytes). */
static bool field(const char *line, size_t len, int idx, const char **s, size_t *n)
{
    const char *p = line, *end = line + len;
    for (int i = 0; i < idx; i++) {
        while (p < end && *p != ' ')
            p++;
        while (p < end && *p == ' ')
            p++;
    }
    if (p >= end)
        return false;
    *s = p;
    *n = 0;
    while (p + *n < end && p[*n] != ' ')
        (*n)++;
    return true;
}

static bool parse_line(const char *l, size_t len, mount_entry *m)
{
    const char *sep = NULL;
    for (size_t i = 0; i + 3 <= len; i++)
        if (!memcmp(l + i, " - ", 3)) {
            sep = l + i;
            break;
        }
    if (!sep)
        return false;
    size_t pre = (size_t)(sep - l), post = len - pre - 3;
    const char *s;
    size_t n;
    if (sscanf(l, "%d %d %u:%u", &m->id, &m->parent, &m->major, &m->minor) != 4)
        return false;
    if (!field(l, pre, 3, &s, &n))
        return false;
    m->root = mountinfo_unescape(s, n);
    if (!field(l, pre, 4, &s, &n)) {
        free(m->root);
        return false;
    }
    m->mnt = mountinfo_unescape(s, n);
    m->opts = field(l, pre, 5, &s, &n) ? mountinfo_unescape(s, n) : xstrdup("");
    m->fstype = field(sep + 3, post, 0, &s, &n) ? mountinfo_unescape(s, n) : xstrdup("");
    m->source = field(sep + 3, post, 1, &s, &n) ? mountinfo_unescape(s, n) : xstrdup("");
    m->super_opts = field(sep + 3, post, 2, &s, &n) ? mountinfo_unescape(s, n) : xstrdup("");
    return true;
}

void mountinfo_parse(const char *text, mountinfo *out)
{
    memset(out, 0, sizeof *out);
    for (const char *l = text; l && *l;) {
        const char *nl = strchrnul(l, '\n');
        mount_entry m = {0};
        if (parse_line(l, (size_t)(nl - l), &m)) {
            out->v = xrealloc(out->v, (out->n + 1) * sizeof *out->v);
            out->v[out->n++] = m;
        }
        l = *nl ? nl + 1 : NULL;
    }
}

int mountinfo_read(pid_t pid, mountinfo *out, capsa_err *e)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mountinfo", (int)pid);
    autofree char *text = NULL;
    size_t len;
    memset(out, 0, sizeof *out);
    int r = fs_read(path, &text, &len, e);
    if (r < 0)
        return r;
    mountinfo_parse(text, out);
    return 0;
}

void mountinfo_free(mountinfo *m)
{
    for (size_t i = 0; i < m->n; i++) {
        mount_entry *x = &m->v[i];
        free(x->root);
        free(x->mnt);
        free(x->opts);
        free(x->fstype);
        free(x->source);
        free(x->super_opts);
    }
    free(m->v);
    m->v = NULL;
    m->n = 0;
}

/* Is mount point mp the path or one of its parent directories? */
static bool serves(const char *mp, const char *path)
{
    size_t l = strlen(mp);
    if (!strcmp(mp, "/"))
        return path[0] == '/';
    return !strncmp(mp, path, l) && (path[l] == '/' || !path[l]);
}

const mount_entry *mountinfo_covering(const mountinfo *m, const char *path)
{
    const mount_entry *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < m->n; i++) {
        size_t l = strlen(m->v[i].mnt);
        if (serves(m->v[i].mnt, path) && (!best || l >= best_len)) {
            best = &m->v[i];
            best_len = l;
        }
    }
    return best;
}

const mount_entry *mountinfo_at(const mountinfo *m, const char *path)
{
    const mount_entry *top = NULL;
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->v[i].mnt, path))
            top = &m->v[i];
    return top;
}

bool mountinfo_opt_has(const char *opts, const char *opt)
{
    size_t ol = strlen(opt);
    for (const char *p = opts; p && *p;) {
        size_t l = strcspn(p, ",");
        if (l == ol && !memcmp(p, opt, ol))
            return true;
        p += l;
        if (*p)
            p++;
    }
    return false;
}

bool mountinfo_ro(const mount_entry *m)
{
    return mountinfo_opt_has(m->opts, "ro");
}
