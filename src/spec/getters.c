/* Typed access to config.json members. Every error goes through one place
 * (spec_err_at) so that all of them read "file:line:col: path: message". */
#include "spec/spec_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

int spec_err_at(const spec *s, capsa_err *e, int code, const char *path, const char *fmt, ...)
{
    char msg[CERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    const char *fname = s && s->fname ? s->fname : "config.json";
    const char *sep = path && *path ? ": " : "";
    path = path ? path : "";
    /* Object keys are arbitrary text (cerr_set escapes their control
     * characters): a long path is cut so that the message still shows. */
    unsigned line, col;
    if (s && jsonpos_find(s->pos, path, &line, &col))
        return cerr_set(e, code, "%s:%u:%u: %.1000s%s%s", fname, line, col, path, sep, msg);
    return cerr_set(e, code, "%s: %.1000s%s%s", fname, path, sep, msg);
}

bool spec_has_path(const spec *s, const char *path)
{
    unsigned line, col;
    return s && jsonpos_find(s->pos, path, &line, &col);
}

static void path_reserve(pctx *c, size_t extra)
{
    if (c->len + extra + 1 > c->cap) {
        c->cap = (c->len + extra + 1) * 2;
        c->path = xrealloc(c->path, c->cap);
    }
}

size_t p_push_key(pctx *c, const char *key)
{
    size_t old = c->len, kl = strlen(key);
    path_reserve(c, kl + 1);
    if (c->len)
        c->path[c->len++] = '.';
    memcpy(c->path + c->len, key, kl + 1);
    c->len += kl;
    return old;
}

size_t p_push_idx(pctx *c, size_t i)
{
    size_t old = c->len;
    path_reserve(c, 24);
    c->len += (size_t)snprintf(c->path + c->len, 24, "[%zu]", i);
    return old;
}

void p_pop(pctx *c, size_t oldlen)
{
    c->len = oldlen;
    if (c->path)
        c->path[oldlen] = 0;
}

int p_err(pctx *c, const char *fmt, ...)
{
    char msg[CERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return spec_err_at(c->s, c->e, EINVAL, c->path ? c->path : "", "%s", msg);
}

int p_missing(pctx *c, const char *field)
{
    return p_err(c, "missing required field \"%s\"", field);
}

static const char *type_name(json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

int p_type(pctx *c, json_t *v, const char *want)
{
    return p_err(c, "expected %s, got %s", want, type_name(v));
}

const char *p_quote(char *buf, size_t n, const char *s)
{
    size_t o = 0, max = n > 80 ? 64 : n - 16;
    for (; *s && o < max; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch == 0x7f)
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", ch);
        else if (ch == '"' || ch == '\\')
            o += (size_t)snprintf(buf + o, n - o, "\\%c", ch);
        else
            buf[o++] = (char)ch;
    }
    snprintf(buf + o, n - o, "%s", *s ? "..." : "");
    return buf;
}

/* Look up o[key]; null is treated as absent. Pushes key on success. */
static int member(pctx *c, json_t *o, const char *key, bool req, json_t **v, size_t *old)
{
    *v = json_object_get(o, key);
    if (!*v || json_is_null(*v))
        return req ? p_missing(c, key) : 0;
    *old = p_push_key(c, key);
    return 1;
}

int m_str(pctx *c, json_t *o, const char *key, bool req, char **out)
{
    json_t *v;
    size_t old = 0;
    int r = member(c, o, key, req, &v, &old);
    if (r <= 0)
        return r;
    if (!json_is_string(v))
        return p_type(c, v, "a string");
    free(*out);
    *out = xstrdup(json_string_value(v));
    p_pop(c, old);
    return 1;
}

int m_abs_path(pctx *c, json_t *o, const char *key, bool req, char **out)
{
    int r = m_str(c, o, key, req, out);
    if (r > 0 && (*out)[0] != '/') {
        char q[128];
        size_t old = p_push_key(c, key);
        r = p_err(c, "\"%s\": must be an absolute path", p_quote(q, sizeof q, *out));
        p_pop(c, old);
    }
    return r;
}

int m_bool(pctx *c, json_t *o, const char *key, bool *out)
{
    json_t *v;
    size_t old = 0;
    int r = member(c, o, key, false, &v, &old);
    if (r <= 0)
        return r;
    if (!json_is_boolean(v))
        return p_type(c, v, "a boolean");
    *out = json_is_true(v);
    p_pop(c, old);
    return 1;
}

int v_int(pctx *c, json_t *v, int64_t min, int64_t max, int64_t *out)
{
    if (!json_is_integer(v))
        return p_type(c, v, "an integer");
    int64_t x = json_integer_value(v);
    if (x < min && min == 0)
        return p_err(c, "expected a non-negative integer, got %" PRId64, x);
    if (x < min || x > max)
        return p_err(c, "%" PRId64 " is out of range (%" PRId64 "..%" PRId64 ")", x, min, max);
    *out = x;
    return 0;
}

int m_int(pctx *c, json_t *o, const char *key, bool req, int64_t min, int64_t max, int64_t *out)
{
    json_t *v;
    size_t old = 0;
    int r = member(c, o, key, req, &v, &old);
    if (r <= 0)
        return r;
    TRY(v_int(c, v, min, max, out));
    p_pop(c, old);
    return 1;
}

int m_i64(pctx *c, json_t *o, const char *key, bool req, bool *has, int64_t *out)
{
    int r = m_int(c, o, key, req, INT64_MIN, INT64_MAX, out);
    if (r > 0 && has)
        *has = true;
    return r;
}

int m_u64(pctx *c, json_t *o, const char *key, bool req, bool *has, uint64_t *out)
{
    int64_t x;
    int r = m_int(c, o, key, req, 0, INT64_MAX, &x);
    if (r > 0) {
        *out = (uint64_t)x;
        if (has)
            *has = true;
    }
    return r;
}

int m_u32(pctx *c, json_t *o, const char *key, bool req, bool *has, uint32_t *out)
{
    int64_t x;
    int r = m_int(c, o, key, req, 0, UINT32_MAX, &x);
    if (r > 0) {
        *out = (uint32_t)x;
        if (has)
            *has = true;
    }
    return r;
}

int m_u16(pctx *c, json_t *o, const char *key, bool req, bool *has, uint16_t *out)
{
    int64_t x;
    int r = m_int(c, o, key, req, 0, UINT16_MAX, &x);
    if (r > 0) {
        *out = (uint16_t)x;
        if (has)
            *has = true;
    }
    return r;
}

int m_strv(pctx *c, json_t *o, const char *key, bool req, spec_strv *out)
{
    json_t *v;
    size_t old = 0;
    int r = member(c, o, key, req, &v, &old);
    if (r <= 0)
        return r;
    if (!json_is_array(v))
        return p_type(c, v, "an array of strings");
    free_strv(out);
    size_t n = json_array_size(v);
    out->v = xcalloc(n + 1, sizeof *out->v);
    for (size_t i = 0; i < n; i++) {
        json_t *el = json_array_get(v, i);
        size_t o2 = p_push_idx(c, i);
        if (!json_is_string(el))
            return p_type(c, el, "a string");
        out->v[out->n++] = xstrdup(json_string_value(el));
        p_pop(c, o2);
    }
    p_pop(c, old);
    return 1;
}

int m_map(pctx *c, json_t *o, const char *key, spec_map *out)
{
    json_t *v;
    size_t old = 0;
    int r = member(c, o, key, false, &v, &old);
    if (r <= 0)
        return r;
    if (!json_is_object(v))
        return p_type(c, v, "an object of strings");
    free_map(out);
    out->v = xcalloc(json_object_size(v), sizeof *out->v);
    const char *k;
    json_t *el;
    json_object_foreach(v, k, el) {
        size_t o2 = p_push_key(c, k);
        if (!json_is_string(el))
            return p_type(c, el, "a string");
        if (!*k)
            return p_err(c, "empty key");
        out->v[out->n++] = (spec_kv){xstrdup(k), xstrdup(json_string_value(el))};
        p_pop(c, o2);
    }
    p_pop(c, old);
    return 1;
}

int m_obj(pctx *c, json_t *o, const char *key, bool req, p_obj_fn fn, void *arg)
{
    json_t *v;
    size_t old = 0;
    int r = member(c, o, key, req, &v, &old);
    if (r <= 0)
        return r;
    if (!json_is_object(v))
        return p_type(c, v, "an object");
    TRY(fn(c, v, arg));
    p_pop(c, old);
    return 1;
}

int m_objarr(pctx *c, json_t *o, const char *key, bool req, size_t elem_size, void **out,
             size_t *n, p_obj_fn fn)
{
    json_t *v;
    size_t old = 0;
    int r = member(c, o, key, req, &v, &old);
    if (r <= 0)
        return r;
    if (!json_is_array(v))
        return p_type(c, v, "an array");
    size_t cnt = json_array_size(v);
    *out = xcalloc(cnt, elem_size);
    *n = cnt;
    for (size_t i = 0; i < cnt; i++) {
        json_t *el = json_array_get(v, i);
        size_t o2 = p_push_idx(c, i);
        if (!json_is_object(el))
            return p_type(c, el, "an object");
        TRY(fn(c, el, (char *)*out + i * elem_size));
        p_pop(c, o2);
    }
    p_pop(c, old);
    return 1;
}

static int parse_idmap(pctx *c, json_t *o, void *arg)
{
    spec_idmap *m = arg;
    TRY(m_u32(c, o, "containerID", REQ, NULL, &m->container_id));
    TRY(m_u32(c, o, "hostID", REQ, NULL, &m->host_id));
    TRY(m_u32(c, o, "size", REQ, NULL, &m->size));
    if (m->size == 0) {
        size_t old = p_push_key(c, "size");
        TRY(p_err(c, "must be greater than 0"));
        p_pop(c, old);
    }
    return 0;
}

int m_idmaps(pctx *c, json_t *o, const char *key, spec_idmaps *out)
{
    return m_objarr(c, o, key, OPT, sizeof *out->v, (void **)&out->v, &out->n, parse_idmap);
}

/* The same rule runc applies before exec: NAME=value with a non-empty NAME. */
int v_env(pctx *c, const spec_strv *env)
{
    for (size_t i = 0; i < env->n; i++) {
        const char *eq = strchr(env->v[i], '=');
        if (eq && eq != env->v[i])
            continue;
        char q[128];
        size_t old = p_push_idx(c, i);
        int r = p_err(c, "invalid environment variable \"%s\": %s", p_quote(q, sizeof q, env->v[i]),
                      eq ? "empty name" : "missing '='");
        p_pop(c, old);
        return r;
    }
    return 0;
}

int name_index(const char *const *names, const char *s)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(names[i], s))
            return i;
    return -1;
}

int m_enum(pctx *c, json_t *o, const char *key, bool req, const char *const *names,
           const char *what, char **out)
{
    int r = m_str(c, o, key, req, out);
    if (r <= 0)
        return r;
    int i = name_index(names, *out);
    if (i < 0) {
        char q[128];
        size_t old = p_push_key(c, key);
        r = p_err(c, "\"%s\": unknown %s", p_quote(q, sizeof q, *out), what);
        p_pop(c, old);
        return r;
    }
    return 1;
}

/* Fields this parser does not know (a newer runtime-spec, another platform, an
 * engine's extension) are ignored, as runc and crun ignore them; --debug names
 * each one. known: NULL-terminated. */
void note_unknown(pctx *c, json_t *o, const char *const *known)
{
    if (!log_debug_enabled())
        return;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        if (name_index(known, k) >= 0)
            continue;
        char q[128];
        log_debug("%s: ignoring unknown field %s%s%s", c->s->fname, c->path ? c->path : "",
                  c->len ? "." : "", p_quote(q, sizeof q, k));
    }
}
