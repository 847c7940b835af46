/* The one-id verbs: start, state, delete, kill. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "util/names.h"

int cmd_start(cmd_ctx *c, int argc, char **argv, capsa_err *e)
{
    int opt, r;
    optind = 0;
    while ((r = cmd_getopt(cmd_find("start"), argc, argv, "", NULL, &opt, e)) == 0 && opt != -1)
        ;
    if (r)
        return r < 0 ? r : 0;
    if ((r = cmd_need_args("start", argc, 1, 1, e)) < 0)
        return r;
    return rt_start(&c->rt, argv[optind], e);
}

int cmd_state(cmd_ctx *c, int argc, char **argv, capsa_err *e)
{
    int opt, r;
    optind = 0;
    while ((r = cmd_getopt(cmd_find("state"), argc, argv, "", NULL, &opt, e)) == 0 && opt != -1)
        ;
    if (r)
        return r < 0 ? r : 0;
    if ((r = cmd_need_args("state", argc, 1, 1, e)) < 0)
        return r;
    char *json = NULL;
    if ((r = rt_state_json(&c->rt, argv[optind], &json, e)) < 0)
        return r;
    puts(json);
    free(json);
    return 0;
}

int cmd_delete(cmd_ctx *c, int argc, char **argv, capsa_err *e)
{
    static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
    int opt, r;
    bool force = false;
    optind = 0;
    while ((r = cmd_getopt(cmd_find("delete"), argc, argv, "f", opts, &opt, e)) == 0 && opt != -1)
        force |= opt == 'f';
    if (r)
        return r < 0 ? r : 0;
    if ((r = cmd_need_args("delete", argc, 1, 1, e)) < 0)
        return r;
    return rt_delete(&c->rt, argv[optind], force, e);
}

int cmd_kill(cmd_ctx *c, int argc, char **argv, capsa_err *e)
{
    static const struct option opts[] = {{"all", no_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
    int opt, r;
    bool all = false;
    optind = 0;
    while ((r = cmd_getopt(cmd_find("kill"), argc, argv, "a", opts, &opt, e)) == 0 && opt != -1)
        all |= opt == 'a';
    if (r)
        return r < 0 ? r : 0;
    if ((r = cmd_need_args("kill", argc, 1, 2, e)) < 0)
        return r;
    int sig = SIGTERM;
    /* signal 0 (runc takes it): only checks that the process is there */
    if (argc - optind == 2 && !strcmp(argv[optind + 1], "0"))
        sig = 0;
    else if (argc - optind == 2 && (sig = signal_parse(argv[optind + 1], e)) < 0)
        return cerr_wrap(e, "kill");
    return rt_kill(&c->rt, argv[optind], sig, all, e);
}
