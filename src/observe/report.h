/* Findings of `capsa audit` and `capsa check`: PASS/WARN/FAIL/SKIP rows with
 * a reason and a fix, printed as a table or JSON (schema: docs/observe.md). */
#ifndef CAPSA_OBSERVE_REPORT_H
#define CAPSA_OBSERVE_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/err.h"

/* Ordered by severity: the worst finding decides the exit code. SKIP (could
 * not be checked, e.g. no permission) ranks with WARN: unknown is not safe. */
typedef enum { OBS_PASS, OBS_SKIP, OBS_WARN, OBS_FAIL } obs_level;

typedef struct {
    obs_level level;
    char *category;   /* "namespaces", "capabilities", "process", "cgroups", "mounts", ... */
    char *check;      /* stable id: "namespace.net", "cap.CAP_SYS_ADMIN", "cgroup.memory" */
    char *summary;    /* one line: what was found */
    char *fix;        /* config.json key or capsa flag; NULL when nothing to fix */
} obs_finding;

typedef struct {
    obs_finding *v;
    size_t n;
} obs_report;

void obs_add(obs_report *r, obs_level l, const char *category, const char *check,
             const char *fix, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void obs_report_free(obs_report *r);
const char *obs_level_name(obs_level l);
obs_level obs_worst(const obs_report *r);
/* 0 all PASS, 1 any WARN/SKIP, 2 any FAIL; strict: WARN/SKIP count as FAIL. */
int obs_exit_code(obs_level worst, bool strict);

/* {"findings":[...], "counts":{"PASS":n,...}, "worst":"FAIL"} (new reference). */
json_t *obs_report_json(const obs_report *r);
/* Table rows, the fix under each non-PASS row, a summary line. */
void obs_report_print(FILE *f, const obs_report *r, bool color);

/* Colour on a terminal unless NO_COLOR is set or TERM=dumb; mode
 * "auto"|"always"|"never". */
bool obs_want_color(const char *mode, int fd);

/* Print "capsa: VERB[ ID]: message" (and log it) for verbs whose exit codes
 * 1 and 2 mean WARN and FAIL; returns 3 ("could not check"). */
int obs_cli_error(const char *verb, const char *id, const capsa_err *e);

/* "1.5 GiB", "512 KiB", "12 B" */
void obs_fmt_bytes(char *buf, size_t n, unsigned long long v);

#endif
