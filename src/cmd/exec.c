#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"

enum { OPT_CONSOLE = 256, OPT_PIDFILE, OPT_CWD, OPT_NNP, OPT_PRESERVE, OPT_IGNORE_PAUSED,
       OPT_LABEL, OPT_APPARMOR, OPT_CGROUP };

static const struct option exec_opts[] = {
    {"process", required_argument, NULL, 'p'},
    {"tty", no_argument, NULL, 't'},
    {"console-socket", required_argument, NULL, OPT_CONSOLE},
    {"detach", no_argument, NULL, 'd'},
    {"pid-file", required_argument, NULL, OPT_PIDFILE},
    {"env", required_argument, NULL, 'e'},
    {"cwd", required_argument, NULL, OPT_CWD},
    {"user", required_argument, NULL, 'u'},
    {"additional-gids", required_argument, NULL, 'g'},
    {"cap", required_argument, NULL, 'c'},
    {"no-new-privs", no_argument, NULL, OPT_NNP},
    {"preserve-fds", required_argument, NULL, OPT_PRESERVE},
    {"ignore-paused", no_argument, NULL, OPT_IGNORE_PAUSED},
    {"process-label", required_argument, NULL, OPT_LABEL},
    {"apparmor", required_argument, NULL, OPT_APPARMOR},
    {"cgroup", required_argument, NULL, OPT_CGROUP},
    {NULL, 0, NULL, 0},
};

int cmd_exec(cmd_ctx *c, int argc, char **argv, capsa_err *e)
{
    rt_exec_opts o = {0};
    autofree char **env = NULL, **caps = NULL, **cgroups = NULL;
    size_t nenv = 0, ncaps = 0, ncgroups = 0;
    const char *gids = NULL;
    autofree char *gids_owned = NULL;
    int r = 0;
    optind = 0;
    for (;;) {
        int opt;
        if ((r = cmd_getopt(cmd_find("exec"), argc, argv, "+p:tde:u:g:c:", exec_opts, &opt, e)))
            return r < 0 ? r : 0;
        if (opt == -1)
            break;
        switch (opt) {
        case 'p': o.process_file = optarg; break;
        case 't': o.tty = true; break;
        case OPT_CONSOLE: o.console_socket = optarg; break;
        case 'd': o.detach = true; break;
        case OPT_PIDFILE: o.pid_file = optarg; break;
        case 'e':
            if (!strchr(optarg, '='))
                return cerr_set(e, EINVAL, "--env %s: expected KEY=VALUE", optarg);
            cmd_push(&env, &nenv, optarg);
            break;
        case OPT_CWD:
            if (optarg[0] != '/')
                return cerr_set(e, EINVAL, "--cwd %s: must be an absolute path", optarg);
            o.cwd = optarg;
            break;
        case 'u': o.user = optarg; break;
        case 'g':
            /* Repeatable like runc's (-g 1 -g 2); commas also work. */
            if (gids) {
                char *joined = xasprintf("%s,%s", gids, optarg);
                free(gids_owned);
                gids = gids_owned = joined;
            } else {
                gids = optarg;
            }
            o.additional_gids = gids;
            break;
        case 'c': cmd_push(&caps, &ncaps, optarg); break;
        case OPT_NNP: o.no_new_privs = true; break;
        case OPT_PRESERVE: {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || n < 0 || n > 1000)
                return cerr_set(e, EINVAL, "--preserve-fds %s: expected a count", optarg);
            o.preserve_fds = (int)n;
            break;
        }
        case OPT_IGNORE_PAUSED: o.ignore_paused = true; break;
        case OPT_CGROUP: cmd_push(&cgroups, &ncgroups, optarg); break;
        case OPT_LABEL:
            if (*optarg)
                return cerr_set(e, ENOTSUP, "exec: --process-label: no SELinux support in "
                                "capsa yet");
            break;
        case OPT_APPARMOR: o.apparmor = *optarg ? optarg : NULL; break;
        }
    }
    if (optind >= argc)
        return cerr_set(e, EINVAL, "exec: missing container id (see capsa exec --help)");
    int id = optind++;
    if (optind < argc && !strcmp(argv[optind], "--"))
        optind++;
    if (o.process_file && optind < argc)
        return cerr_set(e, EINVAL, "exec: give either --process or a command, not both");
    o.args = argv + optind;
    o.env = env;
    o.caps = caps;
    o.cgroups = cgroups;
    int status = 0;
    /* runc exits 255 when the process could not be run (1 is a usage error); a
     * process's own status can be anything, 255 included */
    c->fail_status = 255;
    r = rt_exec(&c->rt, argv[id], &o, &status, e);
    optind = id;  /* main names the id in an error line */
    return r < 0 ? r : status;
}
