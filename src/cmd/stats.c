/* capsa stats (ID... | --all) [--watch SECONDS] [--format json]: one sample
 * pair (rates over --interval) or a redraw every --watch seconds. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "observe/discover.h"
#include "observe/metrics.h"
#include "observe/observe_stats.h"
#include "observe/report.h"

typedef struct {
    const char *format, *color;
    bool all, json, host, om, prom;
    double watch, interval;
    long count;
} stats_opts;

static int seconds(const char *flag, const char *s, double *out, capsa_err *e)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !(v >= 0) || v > 86400)
        return cerr_set(e, EINVAL, "%s: not a number of seconds: \"%s\"", flag, s);
    *out = v;
    return 0;
}

static int parse(int argc, char **argv, stats_opts *o, capsa_err *e)
{
    static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                         {"host", no_argument, NULL, 'H'},
                                         {"watch", required_argument, NULL, 'w'},
                                         {"interval", required_argument, NULL, 'i'},
                                         {"count", required_argument, NULL, 'n'},
                                         {"format", required_argument, NULL, 'f'},
                                         {"color", required_argument, NULL, 'c'},
                                         {NULL, 0, NULL, 0}};
    int opt, r;
    optind = 0;
    while ((r = cmd_getopt(cmd_find("stats"), argc, argv, "aw:i:n:f:", opts, &opt, e)) == 0 &&
           opt != -1) {
        char *end;
        switch (opt) {
        case 'a': o->all = true; break;
        case 'H': o->host = true; break;
        case 'w':
            if ((r = seconds("--watch", optarg, &o->watch, e)) < 0)
                return r;
            if (o->watch < 0.05)
                return cerr_set(e, EINVAL, "--watch: at least 0.05 seconds");
            break;
        case 'i':
            if ((r = seconds("--interval", optarg, &o->interval, e)) < 0)
                return r;
            break;
        case 'n':
            errno = 0;
            o->count = strtol(optarg, &end, 10);
            if (errno || *end || o->count <= 0)
                return cerr_set(e, EINVAL, "--count: not a positive number: \"%s\"", optarg);
            break;
        case 'f': o->format = optarg; break;
        case 'c': o->color = optarg; break;
        }
    }
    if (r)
        return r;
    o->json = !strcmp(o->format, "json");
    o->om = !strcmp(o->format, "openmetrics");
    o->prom = !strcmp(o->format, "prometheus");
    if (strcmp(o->format, "table") && !o->json && !o->om && !o->prom)
        return cerr_set(e, EINVAL, "stats: --format must be table, json, openmetrics or "
                        "prometheus, not \"%s\"", o->format);
    if (o->all + o->host + (argc - optind > 0) != 1)
        return cerr_set(e, EINVAL, "stats: give container ids or --all, or --host (see capsa stats "
                        "--help)");
    if ((o->om || o->prom) && !o->host)
        return cerr_set(e, EINVAL, "stats: --format %s needs --host", o->format);
    if ((o->om || o->prom) && o->watch > 0)
        return cerr_set(e, EINVAL, "stats: --format %s prints one scrape: no --watch (capsa "
                        "exporter serves them)", o->format);
    return 0;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

typedef struct {
    obs_stats_entry *v;
    size_t n;
    json_t **info;   /* --host: what each entry is ({"container": ...} or {"pod": ...}) */
} entries;

static void entries_free(entries *es)
{
    for (size_t i = 0; i < es->n; i++) {
        obs_target_free(&es->v[i].t);
        if (es->info)
            json_decref(es->info[i]);
    }
    free(es->v);
    free(es->info);
    es->v = NULL;
    es->info = NULL;
    es->n = 0;
}

static void keep_prev(const entries *old, obs_stats_entry *en)
{
    for (size_t j = 0; j < old->n; j++) {
        if (!strcmp(old->v[j].t.id, en->t.id) && old->v[j].t.pid == en->t.pid &&
            !strcmp(old->v[j].t.pod_cgroup ? old->v[j].t.pod_cgroup : "",
                    en->t.pod_cgroup ? en->t.pod_cgroup : "")) {
            obs_target t = en->t;
            *en = old->v[j];
            en->t = t;
            return;
        }
    }
}

/* --host: every container on the host, and each Kubernetes pod's cgroup in a
 * row of its own before its containers ("pod/UID"). */
static int load_host(cmd_ctx *c, entries *es, capsa_err *e)
{
    obs_host_cts cs;
    int r = obs_discover(c->rt.root, &cs, e);
    if (r < 0)
        return r;
    size_t cap = 2 * cs.n + 1;
    entries fresh = {xcalloc(cap, sizeof *fresh.v), 0, xcalloc(cap, sizeof *fresh.info)};
    const char *last_pod = NULL;
    for (size_t i = 0; i < cs.n; i++) {
        const obs_host_ct *hc = &cs.v[i];
        if (hc->pod_cgroup && (!last_pod || strcmp(last_pod, hc->pod_cgroup))) {
            obs_stats_entry *en = &fresh.v[fresh.n];
            en->t.id = xasprintf("pod/%.8s", hc->pod_uid);
            en->t.pod_cgroup = xstrdup(hc->pod_cgroup);
            en->t.pid = hc->pid;  /* a member: its cgroups lead to the pod's */
            keep_prev(es, en);
            fresh.info[fresh.n++] = json_pack("{s:{s:s, s:s?, s:s}}", "pod", "uid", hc->pod_uid,
                                              "qos", hc->qos, "cgroup", hc->pod_cgroup);
            last_pod = hc->pod_cgroup;
        }
        obs_stats_entry *en = &fresh.v[fresh.n];
        char id[160];
        obs_host_ct_id(hc, true, id, sizeof id);
        /* indented under its pod's row, which only a pod cgroup makes */
        en->t.id = hc->id ? xasprintf("%s%s/%s", hc->pod_cgroup ? "  " : "", hc->engine, id)
                          : xstrdup(id);
        en->t.pid = hc->pid;
        keep_prev(es, en);
        fresh.info[fresh.n++] = json_pack("{s:o}", "container", obs_host_ct_json(hc));
    }
    obs_host_cts_free(&cs);
    entries_free(es);
    *es = fresh;
    return 0;
}

/* (Re)load the targets, keeping the last sample of those seen before so
 * rates survive a refresh of --all. */
static int load(cmd_ctx *c, const stats_opts *o, char **names, size_t nnames, entries *es,
                capsa_err *e)
{
    char **ids = names;
    size_t n = nnames;
    int r;
    if (o->host)
        return load_host(c, es, e);
    if (o->all && (r = obs_target_ids(c->rt.root, &ids, &n, e)) < 0)
        return r;
    entries fresh = {xcalloc(n ? n : 1, sizeof *fresh.v), 0, NULL};
    r = 0;
    for (size_t i = 0; i < n; i++) {
        obs_stats_entry *en = &fresh.v[fresh.n];
        capsa_err e2;
        int rr = obs_target_container(c->rt.root, ids[i], &en->t, o->all ? &e2 : e);
        if (rr < 0) {
            if (o->all)
                continue;
            r = rr;
            break;
        }
        if (o->all && !obs_target_live(&en->t)) {
            obs_target_free(&en->t);
            continue;
        }
        for (size_t j = 0; j < es->n; j++) {
            if (!strcmp(es->v[j].t.id, ids[i])) {
                obs_target t = en->t;
                *en = es->v[j];
                en->t = t;
                break;
            }
        }
        fresh.n++;
    }
    if (o->all)
        obs_ids_free(ids, n);
    entries_free(es);
    *es = fresh;
    if (r < 0)
        entries_free(es);
    return r;
}

static void print(const entries *es, const stats_opts *o, bool color)
{
    if (o->json) {
        json_t *a = json_array();
        for (size_t i = 0; i < es->n; i++) {
            json_t *j = obs_stats_json(&es->v[i]);
            if (es->info) {
                json_object_update(j, es->info[i]);
                /* the engine's full id, not the table's short name */
                json_t *ct = json_object_get(es->info[i], "container");
                json_object_set(j, "id", ct ? json_object_get(ct, "id") : json_null());
            }
            json_array_append_new(a, j);
        }
        char *s = json_dumps(a, JSON_COMPACT);
        puts(s);
        free(s);
        json_decref(a);
    } else {
        obs_stats_print_header(stdout);
        for (size_t i = 0; i < es->n; i++)
            obs_stats_print_row(stdout, &es->v[i], color);
        for (size_t i = 0; i < es->n; i++)
            obs_stats_print_warnings(stdout, &es->v[i], color);
        if (!es->n)
            puts(o->host ? "(no containers on this host)" : "(no running containers)");
    }
    fflush(stdout);
}

int cmd_stats(cmd_ctx *c, int argc, char **argv, capsa_err *e)
{
    stats_opts o = {.format = "table", .color = "auto", .interval = 0.5};
    int r = parse(argc, argv, &o, e);
    if (r)
        return r < 0 ? r : 0;
    char **names = argv + optind;
    size_t nnames = (size_t)(argc - optind);
    bool tty = isatty(1), color = obs_want_color(o.color, 1);
    if (o.om || o.prom) {  /* one scrape, for node-exporter's textfile collector */
        obs_scraper *sc = obs_scraper_new(c->rt.root, true, 0);
        char *text;
        size_t len;
        r = obs_scrape(sc, o.om, &text, &len, e);
        obs_scraper_free(sc);
        if (r < 0)
            return r;
        fwrite(text, 1, len, stdout);
        free(text);
        return 0;
    }
    if (o.host)
        obs_stats_set_id_width(24);
    entries es = {0};
    if ((r = load(c, &o, names, nnames, &es, e)) < 0)
        return r;
    for (size_t i = 0; i < es.n; i++)
        obs_stats_sample(&es.v[i]);
    if (o.watch <= 0) {
        if (o.interval > 0) {
            sleep_s(o.interval);
            for (size_t i = 0; i < es.n; i++)
                obs_stats_sample(&es.v[i]);
        }
        print(&es, &o, color);
        entries_free(&es);
        return 0;
    }
    /* --watch: like top on a terminal (redraw in place), appended plain
     * lines otherwise so logs and pipes stay readable. */
    for (long round = 0; !o.count || round < o.count; round++) {
        sleep_s(o.watch);
        if ((o.all || o.host) && (r = load(c, &o, names, nnames, &es, e)) < 0)
            break;
        for (size_t i = 0; i < es.n; i++)
            obs_stats_sample(&es.v[i]);
        if (tty && !o.json)
            fputs("\033[H\033[2J", stdout);
        print(&es, &o, color);
    }
    entries_free(&es);
    return r < 0 ? r : 0;
}
