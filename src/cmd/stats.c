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
#include "observe/observe_stats.h"
#include "observe/report.h"

typedef struct {
    const char *format, *color;
    bool all, json;
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
    if (strcmp(o->format, "table") && strcmp(o->format, "json"))
        return cerr_set(e, EINVAL, "stats: --format must be table or json, not \"%s\"", o->format);
    o->json = !strcmp(o->format, "json");
    if (o->all == (argc - optind > 0))
        return cerr_set(e, EINVAL, "stats: give container ids or --all (see capsa stats --help)");
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
} entries;

static void entries_free(entries *es)
{
    for (size_t i = 0; i < es->n; i++)
        obs_target_free(&es->v[i].t);
    free(es->v);
    es->v = NULL;
    es->n = 0;
}

/* (Re)load the targets, keeping the last sample of those seen before so
 * rates survive a refresh of --all. */
static int load(cmd_ctx *c, const stats_opts *o, char **names, size_t nnames, entries *es,
                capsa_err *e)
{
    char **ids = names;
    size_t n = nnames;
    int r;
    if (o->all && (r = obs_target_ids(c->rt.root, &ids, &n, e)) < 0)
        return r;
    entries fresh = {xcalloc(n ? n : 1, sizeof *fresh.v), 0};
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
        for (size_t i = 0; i < es->n; i++)
            json_array_append_new(a, obs_stats_json(&es->v[i]));
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
            puts("(no running containers)");
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
        if (o.all && (r = load(c, &o, names, nnames, &es, e)) < 0)
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
