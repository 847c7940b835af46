/* capsa audit (ID | --pid PID | --all): exit 0 all PASS, 1 any WARN/SKIP,
 * 2 any FAIL (--strict: WARN counts as FAIL), 3 when nothing could be
 * audited (bad flags, no such container or pid). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "observe/audit.h"
#include "observe/discover.h"

typedef struct {
    const char *format, *color;
    bool strict, all, host;
    pid_t pid;
} audit_opts;

static int parse(int argc, char **argv, audit_opts *o, capsa_err *e)
{
    static const struct option opts[] = {{"pid", required_argument, NULL, 'p'},
                                         {"all", no_argument, NULL, 'a'},
                                         {"host", no_argument, NULL, 'H'},
                                         {"format", required_argument, NULL, 'f'},
                                         {"strict", no_argument, NULL, 's'},
                                         {"color", required_argument, NULL, 'c'},
                                         {NULL, 0, NULL, 0}};
    int opt, r;
    optind = 0;
    while ((r = cmd_getopt(cmd_find("audit"), argc, argv, "p:af:s", opts, &opt, e)) == 0 &&
           opt != -1) {
        char *end;
        switch (opt) {
        case 'p':
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || *end || v <= 0 || v > 0x7fffffff)
                return cerr_set(e, EINVAL, "--pid: not a process id: \"%s\"", optarg);
            o->pid = (pid_t)v;
            break;
        case 'a': o->all = true; break;
        case 'H': o->host = true; break;
        case 'f': o->format = optarg; break;
        case 's': o->strict = true; break;
        case 'c': o->color = optarg; break;
        }
    }
    if (r)
        return r;
    if (strcmp(o->format, "table") && strcmp(o->format, "json"))
        return cerr_set(e, EINVAL, "--format must be table or json, not \"%s\"", o->format);
    if (strcmp(o->color, "auto") && strcmp(o->color, "always") && strcmp(o->color, "never"))
        return cerr_set(e, EINVAL, "--color must be auto, always or never, not \"%s\"", o->color);
    int ids = argc - optind;
    if ((ids > 0) + (o->pid > 0) + o->all + o->host != 1)
        return cerr_set(e, EINVAL, "give exactly one of ID, --pid PID or --all, or --host (see "
                        "capsa audit --help)");
    if (ids > 1)
        return cerr_set(e, EINVAL, "one container id at a time (or --all)");
    return 0;
}

static void print_header(const obs_target *t)
{
    if (t->id)
        printf("container %s (pid %d, %s)\n", t->id, (int)t->pid, t->status);
    else
        printf("pid %d\n", (int)t->pid);
}

/* Audit one live target into out (json) or stdout; returns its worst level.
 * hc: the container found on the host (--host), else NULL. */
static int audit_one(const obs_target *t, const obs_host_ct *hc, const audit_opts *o,
                     json_t *out, obs_level *worst, capsa_err *e)
{
    obs_report rep = {0};
    int r = obs_audit(t, &rep, e);
    if (r < 0)
        return r;
    obs_level w = obs_worst(&rep);
    if (w > *worst)
        *worst = w;
    if (out) {
        json_t *j = obs_report_json(&rep);
        json_object_set_new(j, "target", obs_target_json(t));
        if (hc)
            json_object_set_new(j, "container", obs_host_ct_json(hc));
        json_array_append_new(out, j);
    } else if (hc) {
        char name[200];
        obs_host_ct_name(hc, name, sizeof name);
        if (hc->id)
            printf("%s (pid %d, %s%s%s)\n", name, (int)hc->pid, hc->comm,
                   hc->runtime ? ", runtime " : "", hc->runtime ? hc->runtime : "");
        else
            printf("unknown container (pid %d, %s)\n", (int)hc->pid, hc->comm);
        obs_report_print(stdout, &rep, obs_want_color(o->color, 1));
    } else {
        print_header(t);
        obs_report_print(stdout, &rep, obs_want_color(o->color, 1));
    }
    obs_report_free(&rep);
    return 0;
}

/* On error *fail_id (malloc'd) names the container that failed, if any. */
static int run(cmd_ctx *c, const audit_opts *o, const char *id, json_t *targets,
               obs_level *worst, char **fail_id, capsa_err *e)
{
    obs_target t;
    int r;
    if (o->pid > 0) {
        if ((r = obs_target_pid(o->pid, &t, e)) < 0)
            return r;
        r = audit_one(&t, NULL, o, targets, worst, e);
        obs_target_free(&t);
        return r;
    }
    if (o->host) {
        obs_host_cts cs;
        if ((r = obs_discover(c->rt.root, &cs, e)) < 0)
            return r;
        size_t audited = 0;
        for (size_t i = 0; i < cs.n && r >= 0; i++) {
            capsa_err e2;
            if (obs_target_pid(cs.v[i].pid, &t, &e2) < 0)
                continue;  /* gone meanwhile */
            if (audited++ && !targets)
                putchar('\n');
            int rr = audit_one(&t, &cs.v[i], o, targets, worst, &e2);
            if (rr < 0 && !targets)
                printf("%s\n", e2.msg);  /* exited meanwhile, or unreadable */
            obs_target_free(&t);
        }
        if (!audited && !targets)
            printf("no containers on this host\n");
        obs_host_cts_free(&cs);
        return r;
    }
    char **ids = NULL;
    size_t n = 0;
    if (o->all) {
        if ((r = obs_target_ids(c->rt.root, &ids, &n, e)) < 0)
            return r;
    } else {
        ids = xcalloc(1, sizeof *ids);
        ids[n++] = xstrdup(id);
    }
    size_t audited = 0;
    r = 0;
    for (size_t i = 0; i < n && r >= 0; i++) {
        capsa_err e2;
        int rr = obs_target_container(c->rt.root, ids[i], &t, o->all ? &e2 : e);
        if (rr < 0) {
            if (!o->all)
                r = rr;
            continue;  /* --all: deleted meanwhile */
        }
        if (!obs_target_live(&t)) {
            if (!o->all)
                r = cerr_set(e, ESRCH, "container is %s: no process to audit", t.status);
            else if (!targets)
                printf("container %s: %s, nothing to audit\n\n", t.id, t.status);
        } else {
            r = audit_one(&t, NULL, o, targets, worst, e);
            audited++;
            if (r >= 0 && !targets && i + 1 < n)
                putchar('\n');
        }
        obs_target_free(&t);
        if (r < 0)
            *fail_id = xstrdup(ids[i]);
    }
    if (r >= 0 && o->all && !audited && !targets)
        printf("no running containers in %s\n", c->rt.root);
    obs_ids_free(ids, n);
    return r;
}

int cmd_audit(cmd_ctx *c, int argc, char **argv, capsa_err *e)
{
    audit_opts o = {.format = "table", .color = "auto"};
    int r = parse(argc, argv, &o, e);
    if (r > 0)
        return 0;  /* --help */
    if (r < 0)
        return obs_cli_error("audit", NULL, e);
    const char *id = optind < argc ? argv[optind] : NULL;
    bool json = !strcmp(o.format, "json");
    json_t *targets = json ? json_array() : NULL;
    obs_level worst = OBS_PASS;
    autofree char *fail_id = NULL;
    r = run(c, &o, id, targets, &worst, &fail_id, e);
    if (r < 0) {
        json_decref(targets);
        return obs_cli_error("audit", fail_id, e);
    }
    int code = obs_exit_code(worst, o.strict);
    if (json) {
        json_t *doc = json_pack("{s:i, s:o, s:s, s:b, s:i}", "version", 1, "targets", targets,
                                "worst", obs_level_name(worst), "strict", o.strict,
                                "exit_code", code);
        char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(s);
        free(s);
        json_decref(doc);
    }
    return code;
}
