/* capsa check [--format json] [--strict]: host readiness. Exit codes as
 * audit: 0 all PASS, 1 any WARN, 2 any FAIL (--strict: WARN is FAIL), 3 on
 * a usage error. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "observe/check.h"

int cmd_check(cmd_ctx *c, int argc, char **argv, capsa_err *e)
{
    (void)c;
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                         {"strict", no_argument, NULL, 's'},
                                         {"color", required_argument, NULL, 'c'},
                                         {NULL, 0, NULL, 0}};
    int opt, r;
    const char *format = "table", *color = "auto";
    bool strict = false;
    optind = 0;
    while ((r = cmd_getopt(cmd_find("check"), argc, argv, "f:s", opts, &opt, e)) == 0 &&
           opt != -1) {
        if (opt == 'f')
            format = optarg;
        else if (opt == 's')
            strict = true;
        else if (opt == 'c')
            color = optarg;
    }
    if (r > 0)
        return 0;
    if (r == 0 && strcmp(format, "table") && strcmp(format, "json"))
        r = cerr_set(e, EINVAL, "--format must be table or json, not \"%s\"", format);
    if (r == 0 && strcmp(color, "auto") && strcmp(color, "always") && strcmp(color, "never"))
        r = cerr_set(e, EINVAL, "--color must be auto, always or never, not \"%s\"", color);
    if (r == 0 && optind < argc)
        r = cerr_set(e, EINVAL, "takes no arguments (see capsa check --help)");
    if (r < 0)
        return obs_cli_error("check", NULL, e);
    obs_report rep = {0};
    json_t *host = NULL;
    obs_check(&rep, &host);
    obs_level worst = obs_worst(&rep);
    int code = obs_exit_code(worst, strict);
    if (!strcmp(format, "json")) {
        json_t *doc = obs_report_json(&rep);
        json_object_set_new(doc, "version", json_integer(1));
        json_object_set_new(doc, "host", host);
        json_object_set_new(doc, "strict", json_boolean(strict));
        json_object_set_new(doc, "exit_code", json_integer(code));
        char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(s);
        free(s);
        json_decref(doc);
    } else {
        const char *k = json_string_value(json_object_get(host, "kernel"));
        const char *m = json_string_value(json_object_get(host, "cgroup_mode"));
        printf("host: Linux %s, cgroups %s\n", k ? k : "?", m ? m : "?");
        obs_report_print(stdout, &rep, obs_want_color(color, 1));
        json_decref(host);
    }
    obs_report_free(&rep);
    return code;
}
