/* ps: the container's processes, as runc shows them: json is the array of
 * host pids; table runs the host's ps (default -ef, or the arguments after
 * the id) and keeps its header and the lines of the container's pids. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "util/fs.h"

extern char **environ;

/* Run ps with args; *out is its stdout and stderr together (runc shows both). */
static int run_ps(char **args, size_t nargs, char **out, capsa_err *e)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return cerr_sys(e, errno, "pipe");
    autofree char **argv = xcalloc(nargs + 2, sizeof *argv);
    argv[0] = "ps";
    for (size_t i = 0; i < nargs; i++)
        argv[i + 1] = args[i];
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, p[1], STDERR_FILENO);
    pid_t pid;
    int r = posix_spawnp(&pid, "ps", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    if (r != 0) {
        close(p[0]);
        return cerr_sys(e, r, "run ps");
    }
    size_t len;
    r = fs_read_fd(p[0], "ps output", out, &len, e);
    close(p[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return cerr_sys(e, errno, "wait for ps");
    if (r < 0)
        return r;
    if (!WIFEXITED(st) || WEXITSTATUS(st)) {
        char *nl = strchr(*out, '\n');
        if (nl)
            *nl = 0;
        r = cerr_set(e, EIO, "ps exited with status %d: %s",
                     WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), *out);
        free(*out);
        *out = NULL;
    }
    return r;
}

/* Column of "PID" in ps's header, -1 if none. */
static int pid_column(const char *header)
{
    autofree char *h = xstrdup(header);
    int i = 0;
    for (char *save = NULL, *t = strtok_r(h, " \t", &save); t; t = strtok_r(NULL, " \t", &save), i++)
        if (!strcmp(t, "PID"))
            return i;
    return -1;
}

static bool line_pid_in(const char *line, int col, const pid_t *pids, size_t n)
{
    autofree char *l = xstrdup(line);
    char *save = NULL, *t = strtok_r(l, " \t", &save);
    for (int i = 0; t && i < col; i++)
        t = strtok_r(NULL, " \t", &save);
    if (!t)
        return false;
    char *end;
    long v = strtol(t, &end, 10);
    if (*end)
        return false;
    for (size_t i = 0; i < n; i++)
        if (pids[i] == v)
            return true;
    return false;
}

static int print_table(char **args, size_t nargs, const pid_t *pids, size_t n, capsa_err *e)
{
    static char *def[] = {"-ef"};
    autofree char *out = NULL;
    int r = nargs ? run_ps(args, nargs, &out, e) : run_ps(def, 1, &out, e);
    if (r < 0)
        return r;
    char *save = NULL, *header = strtok_r(out, "\n", &save);
    int col = header ? pid_column(header) : -1;
    if (col < 0)
        return cerr_set(e, EINVAL, "no PID column in the output of ps (choose a ps format "
                        "that has one)");
    puts(header);
    for (char *l = strtok_r(NULL, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        if (line_pid_in(l, col, pids, n))
            puts(l);
    return 0;
}

int cmd_ps(cmd_ctx *c, int argc, char **argv, capsa_err *e)
{
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                         {NULL, 0, NULL, 0}};
    const char *format = "table";
    int opt, r;
    optind = 0;
    /* '+': stop at the id, so that "ps ID -ef" leaves -ef to ps. */
    while ((r = cmd_getopt(cmd_find("ps"), argc, argv, "+f:", opts, &opt, e)) == 0 && opt != -1)
        if (opt == 'f')
            format = optarg;
    if (r)
        return r < 0 ? r : 0;
    if (strcmp(format, "table") && strcmp(format, "json"))
        return cerr_set(e, EINVAL, "--format must be table or json, not \"%s\"", format);
    if ((r = cmd_need_args("ps", argc, 1, argc, e)) < 0)
        return r;
    const char *id = argv[optind];
    char **args = argv + optind + 1;
    size_t nargs = (size_t)(argc - optind - 1);
    if (nargs && !strcmp(args[0], "--")) {
        args++;
        nargs--;
    }
    autofree pid_t *pids = NULL;
    size_t n = 0;
    if ((r = rt_pids(&c->rt, id, &pids, &n, e)) < 0)
        return r;
    if (!strcmp(format, "json")) {
        /* runc: an array of host pids on one line. */
        fputc('[', stdout);
        for (size_t i = 0; i < n; i++)
            printf("%s%d", i ? "," : "", (int)pids[i]);
        fputs("]\n", stdout);
        return 0;
    }
    return print_table(args, nargs, pids, n, e);
}
