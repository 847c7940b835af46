/* checkpoint and restore (runc's flags; the work is in runtime/criu.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "runtime/criu.h"

enum { O_IMAGE = 256, O_WORK, O_PARENT, O_LEAVE, O_TCP, O_UNIX, O_SHELL, O_LOCKS, O_CGMODE,
       O_PREDUMP, O_PIDFILE, O_CONSOLE, O_NOPIVOT, O_NOSUBREAPER, O_UNSUPPORTED };

static const struct option cr_opts[] = {
    {"image-path", required_argument, NULL, O_IMAGE},
    {"work-path", required_argument, NULL, O_WORK},
    {"parent-path", required_argument, NULL, O_PARENT},
    {"leave-running", no_argument, NULL, O_LEAVE},
    {"tcp-established", no_argument, NULL, O_TCP},
    {"ext-unix-sk", no_argument, NULL, O_UNIX},
    {"shell-job", no_argument, NULL, O_SHELL},
    {"file-locks", no_argument, NULL, O_LOCKS},
    {"manage-cgroups-mode", required_argument, NULL, O_CGMODE},
    {"pre-dump", no_argument, NULL, O_PREDUMP},
    {"bundle", required_argument, NULL, 'b'},
    {"detach", no_argument, NULL, 'd'},
    {"pid-file", required_argument, NULL, O_PIDFILE},
    {"console-socket", required_argument, NULL, O_CONSOLE},
    {"no-pivot", no_argument, NULL, O_NOPIVOT},
    {"no-subreaper", no_argument, NULL, O_NOSUBREAPER},
    /* runc flags capsa does not implement: refused by name */
    {"lazy-pages", no_argument, NULL, O_UNSUPPORTED},
    {"page-server", required_argument, NULL, O_UNSUPPORTED},
    {"status-fd", required_argument, NULL, O_UNSUPPORTED},
    {"empty-ns", required_argument, NULL, O_UNSUPPORTED},
    {"auto-dedup", no_argument, NULL, O_UNSUPPORTED},
    {"lsm-profile", required_argument, NULL, O_UNSUPPORTED},
    {"lsm-mount-context", required_argument, NULL, O_UNSUPPORTED},
    {NULL, 0, NULL, 0},
};

/* Flags of the other verb are unknown here, as in runc. */
static const char *const only_checkpoint[] = {"parent-path", "leave-running", "pre-dump", NULL};
static const char *const only_restore[] = {"bundle", "detach", "pid-file", "console-socket",
                                           "no-pivot", "no-subreaper", NULL};

static bool listed(const char *const *v, const char *name)
{
    for (; *v; v++)
        if (!strcmp(*v, name))
            return true;
    return false;
}

/* runc (urfave/cli) takes long flags with one dash too, and engines use it:
 * containerd's go-runc passes "-no-subreaper" to restore. */
static void one_dash_long_flags(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '-' || !a[1] || !a[2])
            continue;
        size_t n = strcspn(a + 1, "=");
        for (const struct option *o = cr_opts; o->name; o++)
            if (strlen(o->name) == n && !strncmp(o->name, a + 1, n)) {
                argv[i] = xasprintf("-%s", a);
                break;
            }
    }
}

static int parse(const char *verb, int argc, char **argv, rt_checkpoint_opts *ck,
                 rt_restore_opts *rs, capsa_err *e)
{
    const cmd_def *d = cmd_find(verb);
    one_dash_long_flags(argc, argv);
    optind = 0;
    for (;;) {
        int c, r = cmd_getopt(d, argc, argv, ck ? "" : "b:d", cr_opts, &c, e);
        if (r)
            return r;
        if (c == -1)
            break;
        const char *flag = argv[optind - 1];
        const char *name = flag + strspn(flag, "-");
        size_t nlen = strcspn(name, "=");
        char nm[32];
        snprintf(nm, sizeof nm, "%.*s", (int)(nlen < sizeof nm ? nlen : sizeof nm - 1), name);
        if (c == 'b' || c == 'd')
            snprintf(nm, sizeof nm, "%s", c == 'b' ? "bundle" : "detach");
        if ((ck && listed(only_restore, nm)) || (rs && listed(only_checkpoint, nm)))
            return cerr_set(e, EINVAL, "%s: unknown flag --%s", verb, nm);
        switch (c) {
        case O_UNSUPPORTED:
            return cerr_set(e, ENOTSUP, "%s: --%s is not supported by capsa (%s)", verb, nm,
                            !strcmp(nm, "lazy-pages") || !strcmp(nm, "page-server")
                                ? "no lazy migration: this kernel has no soft-dirty tracking "
                                  "and capsa drives no page server"
                                : "not implemented; see docs/checkpoint.md");
        case O_IMAGE: ck ? (ck->image_path = optarg) : (rs->image_path = optarg); break;
        case O_WORK: ck ? (ck->work_path = optarg) : (rs->work_path = optarg); break;
        case O_CGMODE: ck ? (ck->cg_mode = optarg) : (rs->cg_mode = optarg); break;
        case O_TCP: ck ? (ck->tcp_established = true) : (rs->tcp_established = true); break;
        case O_UNIX: ck ? (ck->ext_unix_sk = true) : (rs->ext_unix_sk = true); break;
        case O_SHELL: ck ? (ck->shell_job = true) : (rs->shell_job = true); break;
        case O_LOCKS: ck ? (ck->file_locks = true) : (rs->file_locks = true); break;
        case O_PARENT: ck->parent_path = optarg; break;
        case O_LEAVE: ck->leave_running = true; break;
        case O_PREDUMP: ck->pre_dump = true; break;
        case 'b': rs->bundle = optarg; break;
        case 'd': rs->detach = true; break;
        case O_PIDFILE: rs->pid_file = optarg; break;
        case O_CONSOLE: rs->console_socket = optarg; break;
        case O_NOPIVOT: rs->no_pivot = true; break;
        case O_NOSUBREAPER: break;   /* the restored init is capsa's child anyway */
        }
    }
    return cmd_need_args(verb, argc, 1, 1, e);
}

int cmd_checkpoint(cmd_ctx *c, int argc, char **argv, capsa_err *e)
{
    rt_checkpoint_opts o = {0};
    int r = parse("checkpoint", argc, argv, &o, NULL, e);
    if (r)
        return r < 0 ? r : 0;
    return rt_checkpoint(&c->rt, argv[optind], &o, e);
}

int cmd_restore(cmd_ctx *c, int argc, char **argv, capsa_err *e)
{
    rt_restore_opts o = {0};
    int r = parse("restore", argc, argv, NULL, &o, e);
    if (r)
        return r < 0 ? r : 0;
    int status = 0;
    r = rt_restore(&c->rt, argv[optind], &o, &status, e);
    return r < 0 ? r : status;
}
