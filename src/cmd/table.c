#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"

const cmd_def cmd_table[] = {
    {"create", cmd_create, "create a container (stopped before the user program)",
     "Usage: capsa create [--bundle DIR] [--pid-file FILE] [--no-pivot] [--no-new-keyring] ID\n"
     "  -b, --bundle DIR     bundle directory holding config.json (default: .)\n"
     "      --pid-file FILE  write the container init's pid to FILE\n"
     "      --no-pivot       use MS_MOVE + chroot instead of pivot_root\n"
     "      --no-new-keyring do not create a new session keyring\n"
     "      --console-socket PATH  (accepted for compatibility; terminals are not supported yet)\n", true},
    {"start", cmd_start, "run the user program of a created container",
     "Usage: capsa start ID\n", true},
    {"run", cmd_run, "create and start a container",
     "Usage: capsa run [--bundle DIR] [--detach] [--pid-file FILE] [--keep] [--no-pivot]\n"
     "                 [--no-new-keyring] ID\n"
     "  -b, --bundle DIR     bundle directory holding config.json (default: .)\n"
     "  -d, --detach         return once the container is running\n"
     "      --pid-file FILE  write the container init's pid to FILE\n"
     "      --keep           keep the stopped container (do not delete it at exit)\n"
     "In the foreground the exit status is the container's (128+N if killed by signal N).\n", true},
    {"state", cmd_state, "print the state of a container as JSON",
     "Usage: capsa state ID\n", true},
    {"kill", cmd_kill, "send a signal to the container's init (or all its processes)",
     "Usage: capsa kill [--all] ID [SIGNAL]\n"
     "  SIGNAL   name (TERM, SIGTERM) or number; default SIGTERM\n"
     "  -a, --all  signal every process of the container\n", true},
    {"delete", cmd_delete, "delete a container and everything it holds",
     "Usage: capsa delete [--force] ID\n"
     "  -f, --force  kill a running container first\n", true},
    {"list", cmd_list, "list containers",
     "Usage: capsa list [--format table|json] [--quiet]\n"
     "  -f, --format table|json  output format (default table)\n"
     "  -q, --quiet              print only the ids\n", false},
    {"spec", cmd_spec, "write a default config.json",
     "Usage: capsa spec [--bundle DIR] [--rootless]\n"
     "  -b, --bundle DIR  where to write config.json (default: .)\n"
     "      --rootless    a spec for an unprivileged user (user namespace, no network ns)\n", false},
    {"features", cmd_features, "print the features this runtime supports (runtime-spec features.md)",
     "Usage: capsa features\n", false},
    {NULL, NULL, NULL, NULL, false},
};

const cmd_def *cmd_find(const char *name)
{
    for (const cmd_def *d = cmd_table; d->name; d++)
        if (!strcmp(d->name, name))
            return d;
    return NULL;
}

int cmd_getopt(const cmd_def *d, int argc, char **argv, const char *shortopts,
               const struct option *longopts, int *opt, capsa_err *e)
{
    static const struct option help = {"help", no_argument, NULL, 'h'};
    struct option all[32];
    size_t n = 0;
    for (; longopts && longopts[n].name && n < 30; n++)
        all[n] = longopts[n];
    all[n++] = help;
    memset(&all[n], 0, sizeof all[n]);
    char so[64];
    snprintf(so, sizeof so, ":h%s", shortopts ? shortopts : "");
    opterr = 0;
    int c = getopt_long(argc, argv, so, all, NULL);
    *opt = c;
    if (c == 'h') {
        fputs(d->usage, stdout);
        return 1;
    }
    if (c == '?')
        return cerr_set(e, EINVAL, "%s: unknown flag %s", d->name, argv[optind - 1]);
    if (c == ':')
        return cerr_set(e, EINVAL, "%s: flag %s needs a value", d->name, argv[optind - 1]);
    return 0;
}

int cmd_need_args(const char *verb, int argc, int n_min, int n_max, capsa_err *e)
{
    int have = argc - optind;
    if (have < n_min)
        return cerr_set(e, EINVAL, "%s: missing container id (see capsa %s --help)", verb, verb);
    if (have > n_max)
        return cerr_set(e, EINVAL, "%s: too many arguments (see capsa %s --help)", verb, verb);
    return 0;
}
