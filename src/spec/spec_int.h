/* Private to src/spec: the JSON position index and the parser's typed getters.
 * Nothing outside src/spec includes this (only src/spec sees JSON). */
#ifndef CAPSA_SPEC_INT_H
#define CAPSA_SPEC_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "spec/spec.h"

/* jsonpos.c: JSON path ("mounts[3].destination") -> line:column of the value's
 * first character, because jansson keeps no positions for values. */
typedef struct jsonpos jsonpos;
jsonpos *jsonpos_build(const char *text, size_t len);
bool jsonpos_find(jsonpos *ix, const char *path, unsigned *line, unsigned *col);
void jsonpos_free(jsonpos *ix);

/* Parser context: the JSON path of the value being parsed, kept in step with
 * the descent so that every error names where it happened. */
typedef struct {
    spec *s;
    capsa_err *e;
    char *path;
    size_t len, cap;
} pctx;

#define TRY(x)                  \
    do {                        \
        int _r = (x);           \
        if (_r < 0)             \
            return _r;          \
    } while (0)

#define REQ true
#define OPT false

size_t p_push_key(pctx *c, const char *key);
size_t p_push_idx(pctx *c, size_t i);
void p_pop(pctx *c, size_t oldlen);
/* Errors located at the current path. */
int p_err(pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int p_missing(pctx *c, const char *field);
int p_type(pctx *c, json_t *v, const char *want);
/* A value quoted for a one-line message: escapes control characters, truncates. */
const char *p_quote(char *buf, size_t n, const char *s);

/* Member getters: o[key] with the path extended by key. null counts as absent
 * (as Go's encoding/json does), so a required null is "missing".
 * Return 1 if present, 0 if absent, <0 on error. */
int m_str(pctx *c, json_t *o, const char *key, bool req, char **out);
int m_abs_path(pctx *c, json_t *o, const char *key, bool req, char **out);
int m_bool(pctx *c, json_t *o, const char *key, bool *out);
int v_int(pctx *c, json_t *v, int64_t min, int64_t max, int64_t *out);
int m_int(pctx *c, json_t *o, const char *key, bool req, int64_t min, int64_t max, int64_t *out);
int m_i64(pctx *c, json_t *o, const char *key, bool req, bool *has, int64_t *out);
int m_u64(pctx *c, json_t *o, const char *key, bool req, bool *has, uint64_t *out);
int m_u32(pctx *c, json_t *o, const char *key, bool req, bool *has, uint32_t *out);
int m_u16(pctx *c, json_t *o, const char *key, bool req, bool *has, uint16_t *out);
int m_strv(pctx *c, json_t *o, const char *key, bool req, spec_strv *out);
int m_map(pctx *c, json_t *o, const char *key, spec_map *out);

typedef int (*p_obj_fn)(pctx *c, json_t *o, void *arg);
/* o[key] must be an object; fn parses it with the path extended. */
int m_obj(pctx *c, json_t *o, const char *key, bool req, p_obj_fn fn, void *arg);
/* o[key] must be an array of objects; allocates *n elements of elem_size,
 * zeroed and stored in *out before parsing so spec_free can clean up. */
int m_objarr(pctx *c, json_t *o, const char *key, bool req, size_t elem_size,
             void **out, size_t *n, p_obj_fn fn);
/* Index of s in a NULL-terminated table, -1 if absent. */
int name_index(const char *const *names, const char *s);
/* A string that must be one of names: "\"x\": unknown <what>". */
int m_enum(pctx *c, json_t *o, const char *key, bool req, const char *const *names,
           const char *what, char **out);
int m_idmaps(pctx *c, json_t *o, const char *key, spec_idmaps *out);
int v_env(pctx *c, const spec_strv *env);
/* --debug: name each member of o that is not in known (NULL-terminated); such
 * members are ignored, as runc ignores them. */
void note_unknown(pctx *c, json_t *o, const char *const *known);

/* parse_linux.c, parse_resources.c */
int parse_linux(pctx *c, json_t *o, void *arg);
int parse_resources(pctx *c, json_t *o, void *arg);
void free_linux(spec_linux *l);
void free_resources(spec_resources *r);
void free_strv(spec_strv *v);
void free_map(spec_map *m);

#endif
