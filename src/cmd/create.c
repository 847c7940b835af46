#include <errno.h>
#include <stdlib.h>

#include "cmd/cmd.h"

enum { OPT_PIDFILE = 256, OPT_NOPIVOT, OPT_NOKEYRING, OPT_CONSOLE, OPT_DETACH, OPT_KEEP,
       OPT_PRESERVE, OPT_RM };

static const struct option create_opts[] = {
    {"bundle", required_argument, NULL, 'b'},
    {"pid-file", required_argument, NULL, OPT_PIDFILE},
    {"no-pivot", no_argument, NULL, OPT_NOPIVOT},
    {"no-new-keyring", no_argument, NULL, OPT_NOKEYRING},
    {"console-socket", required_argument, NULL, OPT_CONSOLE},
    {"preserve-fds", required_argument, NULL, OPT_PRESERVE},
    {"detach", no_argument, NULL, 'd'},
    {"keep", no_argument, NULL, OPT_KEEP},
    {"rm", no_argument, NULL, OPT_RM},
    {NULL, 0, NULL, 0},
};

/* create and run share their flags; run adds --detach and --keep. */
static int parse(const char *verb, int argc, char **argv, rt_create_opts *o, bool *detach,
                 bool *keep, capsa_err *e)
{
    const cmd_def *d = cmd_find(verb);
    bool rm = false;
    optind = 0;
    for (;;) {
        int c, r = cmd_getopt(d, argc, argv, "b:d", create_opts, &c, e);
        if (r)
            return r;
        if (c == -1)
            break;
        switch (c) {
        case 'b': o->bundle = optarg; break;
        case OPT_PIDFILE: o->pid_file = optarg; break;
        case OPT_NOPIVOT: o->no_pivot = true; break;
        case OPT_NOKEYRING: o->no_new_keyring = true; break;
        case OPT_CONSOLE: o->console_socket = optarg; break;
        case OPT_PRESERVE: {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || n < 0 || n > 1000)
                return cerr_set(e, EINVAL, "%s: --preserve-fds %s: expected a count", verb, optarg);
            o->preserve_fds = (int)n;
            break;
        }
        case OPT_RM:
            /* The foreground default, spelled out (as podman/docker users type it). */
            if (!detach)
                return cerr_set(e, EINVAL, "%s: unknown flag %s", verb, argv[optind - 1]);
            rm = true;
            break;
        case 'd':
        case OPT_KEEP:
            if (!detach)
                return cerr_set(e, EINVAL, "%s: unknown flag %s", verb, argv[optind - 1]);
            if (c == 'd')
                *detach = true;
            else
                *keep = true;
            break;
        }
    }
    if (rm && (*keep || *detach))
        return cerr_set(e, EINVAL, "--rm removes the container when it exits: not with %s",
                        *keep ? "--keep" : "--detach");
    return cmd_need_args(verb, argc, 1, 1, e);
}

int cmd_create(cmd_ctx *c, int argc, char **argv, capsa_err *e)
{
    rt_create_opts o = {0};
    int r = parse("create", argc, argv, &o, NULL, NULL, e);
    if (r)
        return r < 0 ? r : 0;
    return rt_create(&c->rt, argv[optind], &o, e);
}

int cmd_run(cmd_ctx *c, int argc, char **argv, capsa_err *e)
{
    rt_create_opts o = {0};
    bool detach = false, keep = false;
    int r = parse("run", argc, argv, &o, &detach, &keep, e);
    if (r)
        return r < 0 ? r : 0;
    int status = 0;
    r = rt_run(&c->rt, argv[optind], &o, detach, keep, &status, e);
    return r < 0 ? r : status;
}
