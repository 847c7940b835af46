/* capsa limits [--pid PID] [--format json]: the limits this process (or
 * PID) lives under. Meant to be run inside a container. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "observe/limits.h"

int cmd_limits(cmd_ctx *c, int argc, char **argv, capsa_err *e)
{
    (void)c;
    static const struct option opts[] = {{"pid", required_argument, NULL, 'p'},
                                         {"format", required_argument, NULL, 'f'},
                                         {NULL, 0, NULL, 0}};
    int opt, r;
    const char *format = "table";
    pid_t pid = getpid();
    optind = 0;
    while ((r = cmd_getopt(cmd_find("limits"), argc, argv, "p:f:", opts, &opt, e)) == 0 &&
           opt != -1) {
        char *end;
        if (opt == 'f') {
            format = optarg;
        } else if (opt == 'p') {
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || *end || v <= 0 || v > 0x7fffffff)
                return cerr_set(e, EINVAL, "limits: --pid: not a process id: \"%s\"", optarg);
            pid = (pid_t)v;
        }
    }
    if (r)
        return r < 0 ? r : 0;
    if (strcmp(format, "table") && strcmp(format, "json"))
        return cerr_set(e, EINVAL, "limits: --format must be table or json, not \"%s\"", format);
    if ((r = cmd_need_args("limits", argc, 0, 0, e)) < 0)
        return r;
    return obs_limits(pid, !strcmp(format, "json"), e);
}
