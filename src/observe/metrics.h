/* The stats of every container on the host (and of each Kubernetes pod's
 * cgroup) and its audit findings as Prometheus text (0.0.4) or OpenMetrics
 * 1.0.0: for `capsa exporter` and `capsa stats --host --format openmetrics`.
 * Metric names, labels and units: docs/observe.md. */
#ifndef CAPSA_OBSERVE_METRICS_H
#define CAPSA_OBSERVE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cgroup/stats.h"
#include "observe/discover.h"
#include "observe/report.h"

typedef struct {
    const obs_host_ct *ct;      /* NULL: a pod row (pod_uid, qos below) */
    const char *pod_uid, *qos, *pod_cgroup;
    const cgroup_stats *s;      /* NULL: could not be read */
    const obs_report *audit;    /* NULL: not audited */
} obs_metrics_row;

typedef struct {
    double scrape_s;            /* time the scrape took so far (discovery + reads) */
    size_t read_errors;         /* containers whose cgroup could not be read */
} obs_metrics_meta;

/* Write every family (pure apart from f). */
void obs_metrics_write(FILE *f, const obs_metrics_row *rows, size_t n, bool openmetrics,
                       const obs_metrics_meta *meta);
/* "a\"b" -> a\"b escaped for a label value. */
void obs_metrics_label_escape(FILE *f, const char *s);

/* A scraper keeps audit results between scrapes (isolation rarely changes):
 * each container is audited again after audit_ttl_s seconds, or when its
 * init changes. */
typedef struct obs_scraper obs_scraper;
obs_scraper *obs_scraper_new(const char *extra_root, bool audit, double audit_ttl_s);
void obs_scraper_free(obs_scraper *sc);
/* Discover, read, audit, format: *text malloc'd. */
int obs_scrape(obs_scraper *sc, bool openmetrics, char **text, size_t *len, capsa_err *e);

#endif
