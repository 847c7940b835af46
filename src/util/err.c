#include "util/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* s with control characters as \xNN (at most n - 1 bytes). */
static void cerr_oneline(char *buf, size_t n, const char *s)
{
    size_t o = 0;
    for (; *s && o + 5 < n; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch == 0x7f)
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", ch);
        else
            buf[o++] = (char)ch;
    }
    buf[o] = 0;
}

/* Messages carry text from files (paths, names in config.json): control
 * characters are escaped here, so that every error stays one line. */
static void vset(capsa_err *e, int code, const char *fmt, va_list ap)
{
    char raw[CERR_MSG_MAX];
    e->code = code ? (code < 0 ? -code : code) : EIO;
    vsnprintf(raw, sizeof raw, fmt, ap);
    cerr_oneline(e->msg, sizeof e->msg, raw);
}

int cerr_set(capsa_err *e, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(e, code, fmt, ap);
    va_end(ap);
    return -e->code;
}

int cerr_sys(capsa_err *e, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(e, code, fmt, ap);
    va_end(ap);
    size_t n = strlen(e->msg);
    snprintf(e->msg + n, sizeof e->msg - n, ": %s", strerror(e->code));
    return -e->code;
}

int cerr_wrap(capsa_err *e, const char *fmt, ...)
{
    char raw[512], prefix[512], old[CERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    cerr_oneline(prefix, sizeof prefix, raw);
    memcpy(old, e->msg, sizeof old);
    /* Truncation keeps the start of the chain, which names the outer step. */
    size_t n = strlen(prefix);
    if (n > sizeof e->msg - 3)
        n = sizeof e->msg - 3;
    memcpy(e->msg, prefix, n);
    memcpy(e->msg + n, ": ", 2);
    size_t rest = sizeof e->msg - n - 3;
    size_t m = strnlen(old, rest);
    memcpy(e->msg + n + 2, old, m);
    e->msg[n + 2 + m] = 0;
    if (!e->code)
        e->code = EIO;
    return -e->code;
}

void cerr_clear(capsa_err *e)
{
    e->code = 0;
    e->msg[0] = 0;
}

void cleanup_freep(void *p)
{
    free(*(void **)p);
}

void cleanup_closep(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}

static void *oom(void)
{
    static const char m[] = "capsa: out of memory\n";
    if (write(2, m, sizeof m - 1) < 0) {
        /* nothing more to do */
    }
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    return p ? p : oom();
}

void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    return p ? p : oom();
}

void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    return p ? p : oom();
}

char *xstrdup(const char *s)
{
    char *p = s ? strdup(s) : NULL;
    return (s && !p) ? oom() : p;
}

char *xasprintf(const char *fmt, ...)
{
    char *p;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&p, fmt, ap);
    va_end(ap);
    return r < 0 ? oom() : p;
}
