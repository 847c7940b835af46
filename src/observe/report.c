/* Findings: collecting, counting, printing (table or JSON). */
#include "observe/report.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

void obs_add(obs_report *r, obs_level l, const char *category, const char *check,
             const char *fix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *summary;
    if (vasprintf(&summary, fmt, ap) < 0)
        summary = xstrdup("?");
    va_end(ap);
    r->v = xrealloc(r->v, (r->n + 1) * sizeof *r->v);
    r->v[r->n++] = (obs_finding){
        .level = l,
        .category = xstrdup(category),
        .check = xstrdup(check),
        .summary = summary,
        .fix = fix && *fix ? xstrdup(fix) : NULL,
    };
}

void obs_report_free(obs_report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].category);
        free(r->v[i].check);
        free(r->v[i].summary);
        free(r->v[i].fix);
    }
    free(r->v);
    r->v = NULL;
    r->n = 0;
}

const char *obs_level_name(obs_level l)
{
    switch (l) {
    case OBS_PASS: return "PASS";
    case OBS_SKIP: return "SKIP";
    case OBS_WARN: return "WARN";
    case OBS_FAIL: return "FAIL";
    }
    return "?";
}

obs_level obs_worst(const obs_report *r)
{
    obs_level w = OBS_PASS;
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].level > w)
            w = r->v[i].level;
    return w;
}

int obs_exit_code(obs_level worst, bool strict)
{
    switch (worst) {
    case OBS_PASS: return 0;
    case OBS_SKIP:
    case OBS_WARN: return strict ? 2 : 1;
    case OBS_FAIL: return 2;
    }
    return 2;
}

json_t *obs_report_json(const obs_report *r)
{
    json_t *a = json_array();
    size_t counts[4] = {0};
    for (size_t i = 0; i < r->n; i++) {
        const obs_finding *f = &r->v[i];
        counts[f->level]++;
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:o}", "check", f->check,
                                           "category", f->category, "result",
                                           obs_level_name(f->level), "summary", f->summary,
                                           "fix", f->fix ? json_string(f->fix) : json_null()));
    }
    json_t *c = json_object();
    for (int l = OBS_PASS; l <= OBS_FAIL; l++)
        json_object_set_new(c, obs_level_name((obs_level)l), json_integer((json_int_t)counts[l]));
    return json_pack("{s:o, s:o, s:s}", "findings", a, "counts", c, "worst",
                     obs_level_name(obs_worst(r)));
}

static const char *color_of(obs_level l)
{
    switch (l) {
    case OBS_PASS: return "\033[32m";
    case OBS_SKIP: return "\033[36m";
    case OBS_WARN: return "\033[33m";
    case OBS_FAIL: return "\033[1;31m";
    }
    return "";
}

void obs_report_print(FILE *f, const obs_report *r, bool color)
{
    size_t w = 5, counts[4] = {0};
    for (size_t i = 0; i < r->n; i++) {
        size_t l = strlen(r->v[i].check);
        if (l > w)
            w = l;
    }
    if (w > 28)
        w = 28;
    fprintf(f, "  %-6s %-*s %s\n", "RESULT", (int)w, "CHECK", "FINDING");
    for (size_t i = 0; i < r->n; i++) {
        const obs_finding *x = &r->v[i];
        counts[x->level]++;
        fprintf(f, "  %s%-6s%s %-*s %s\n", color ? color_of(x->level) : "",
                obs_level_name(x->level), color ? "\033[0m" : "", (int)w, x->check, x->summary);
        if (x->fix && x->level != OBS_PASS)
            fprintf(f, "  %-6s %-*s fix: %s\n", "", (int)w, "", x->fix);
    }
    obs_level worst = obs_worst(r);
    fprintf(f, "  %zu PASS, %zu WARN, %zu FAIL, %zu SKIP: %s%s%s\n", counts[OBS_PASS],
            counts[OBS_WARN], counts[OBS_FAIL], counts[OBS_SKIP], color ? color_of(worst) : "",
            obs_level_name(worst), color ? "\033[0m" : "");
}

bool obs_want_color(const char *mode, int fd)
{
    if (mode && !strcmp(mode, "always"))
        return true;
    if (mode && !strcmp(mode, "never"))
        return false;
    const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
    return isatty(fd) && !(nc && *nc) && !(term && !strcmp(term, "dumb"));
}

int obs_cli_error(const char *verb, const char *id, const capsa_err *e)
{
    fprintf(stderr, "capsa: %s%s%s: %s\n", verb, id ? " " : "", id ? id : "", e->msg);
    log_error("%s%s%s: %s", verb, id ? " " : "", id ? id : "", e->msg);
    return 3;
}

void obs_fmt_bytes(char *buf, size_t n, unsigned long long v)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (v < 1024) {
        snprintf(buf, n, "%llu B", v);
        return;
    }
    double d = (double)v;
    int u = 0;
    while (d >= 1024 && u < 6) {
        d /= 1024;
        u++;
    }
    snprintf(buf, n, d >= 100 ? "%.0f %s" : "%.1f %s", d, unit[u]);
}
