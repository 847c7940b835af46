/* capsa: an OCI runtime, sandbox front-end and isolation observatory. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "cmd/cmd.h"
#include "linux/reinit.h"
#include "linux/selfexe.h"
#include "runtime/criu.h"
#include "util/trace.h"
#include "util/log.h"
#include "util/userns.h"

#define OCI_SPEC_VERSION "1.2.0"

/* src/cmd/exporter.c: kept out of cmd_table (table.c) so it stays optional. */
extern const cmd_def cmd_exporter_def;

static void usage(FILE *f)
{
    fputs("Usage: capsa [GLOBAL FLAGS] COMMAND [FLAGS] [ARGS]\n"
          "\n"
          "capsa is an OCI runtime (runtime-spec " OCI_SPEC_VERSION ") built on Linux namespaces and cgroups.\n"
          "\n"
          "Global flags:\n"
          "  --root DIR              state directory (default /run/capsa, rootless: $XDG_RUNTIME_DIR/capsa)\n"
          "  --log FILE              append log lines to FILE (engines read errors from it)\n"
          "  --log-format text|json  format of --log lines (default text)\n"
          "  --debug                 log debug messages\n"
          "  --systemd-cgroup        use systemd for cgroups (needs a running systemd)\n"
          "  --criu PATH             the criu binary for checkpoint/restore (docs/checkpoint.md)\n"
          "  -v, --version           print the version, commit and runtime-spec version\n"
          "  -h, --help              this help; COMMAND --help for a command's flags\n"
          "\n"
          "Commands:\n", f);
    for (const cmd_def *d = cmd_table; d->name; d++)
        fprintf(f, "  %-10s %s\n", d->name, d->summary);
    fprintf(f, "  %-10s %s\n", cmd_exporter_def.name, cmd_exporter_def.summary);
}

/* runc's shouldHonorXDGRuntimeDir: euid 0 in a user namespace (rootless podman
 * runs the runtime so) is rootless unless USER says root. */
static bool root_in_userns(void)
{
    const char *u = getenv("USER");
    return in_user_namespace() && (!u || strcmp(u, "root"));
}

static char *default_root(void)
{
    if (geteuid() == 0 && !(root_in_userns() && getenv("XDG_RUNTIME_DIR") &&
                            *getenv("XDG_RUNTIME_DIR")))
        return xstrdup("/run/capsa");
    const char *x = getenv("XDG_RUNTIME_DIR");
    if (x && *x)
        return xasprintf("%s/capsa", x);
    autofree char *run = xasprintf("/run/user/%u", (unsigned)geteuid());
    struct stat st;
    if (stat(run, &st) == 0 && st.st_uid == geteuid())
        return xasprintf("%s/capsa", run);
    return NULL;
}

static bool systemd_running(void)
{
    struct stat st;
    return stat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

/* --preserve-fds N (and LISTEN_FDS) hand fds 3..3+N-1 to the container. Fill the
 * unused ones with close-on-exec /dev/null before capsa opens anything, so none of capsa's own
 * descriptors (log file, locked state directory, ...) can land in that range and
 * leak into the container. */
static void reserve_preserved_fds(int argc, char **argv)
{
    long n = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        if (!strcmp(argv[i], "--preserve-fds") && i + 1 < argc)
            v = argv[i + 1];
        else if (!strncmp(argv[i], "--preserve-fds=", 15))
            v = argv[i] + 15;
        if (v && atol(v) > n)
            n = atol(v);
    }
    const char *lf = getenv("LISTEN_FDS"), *lp = getenv("LISTEN_PID");
    if (lf && lp && atol(lp) == (long)getpid() && atol(lf) > 0 && atol(lf) <= 1000)
        n += atol(lf);
    if (n > 1000)
        n = 1000;
    for (int fd = 3; fd < 3 + n; fd++)
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
            /* Close-on-exec: a placeholder, never passed on. */
            int nfd = open("/dev/null", O_RDWR | O_CLOEXEC);
            if (nfd >= 0 && nfd != fd) {
                dup3(nfd, fd, O_CLOEXEC);
                close(nfd);
            }
        }
}

int main(int argc, char **argv)
{
    const char *root = NULL, *log_file = NULL, *log_format = NULL;
    bool debug = false, systemd = false;
    int i = 1;
    capsa_err e = {0};

    trace_init();
    /* the container's init, re-executed from a sealed copy (linux/reinit.h) */
    if (argc > 1 && !strcmp(argv[1], "__init"))
        reinit_main(argc, argv);
    selfexe_remember(argc, argv);
    reserve_preserved_fds(argc, argv);
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        const char *eq = strchr(a, '=');
        char name[64];
        snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
        bool takes = !strcmp(name, "--root") || !strcmp(name, "--log") ||
                     !strcmp(name, "--log-format") || !strcmp(name, "--criu") ||
                     !strcmp(name, "--rootless");
        if (takes) {
            val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!val) {
                fprintf(stderr, "capsa: flag %s needs a value\n", name);
                return 1;
            }
        }
        if (!strcmp(name, "--root"))
            root = val;
        else if (!strcmp(name, "--log"))
            log_file = val;
        else if (!strcmp(name, "--log-format"))
            log_format = val;
        else if (!strcmp(name, "--debug"))
            debug = true;
        else if (!strcmp(name, "--systemd-cgroup"))
            systemd = true;
        else if (!strcmp(name, "--criu"))
            cr_set_binary(val);   /* checkpoint/restore: the criu binary */
        else if (!strcmp(name, "--rootless"))
            ; /* accepted for runc compatibility */
        else if (!strcmp(name, "-v") || !strcmp(name, "--version")) {
            printf("capsa version %s\ncommit: %s\nspec: %s\n", CAPSA_VERSION, CAPSA_COMMIT,
                   OCI_SPEC_VERSION);
            return 0;
        } else if (!strcmp(name, "-h") || !strcmp(name, "--help")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "capsa: unknown global flag %s (see capsa --help)\n", a);
            return 1;
        }
    }
    if (i >= argc) {
        /* as runc: no command prints the help, and that is not an error */
        usage(stdout);
        return 0;
    }
    const char *verb = argv[i];
    if (!strcmp(verb, "help")) {
        usage(stdout);
        return 0;
    }
    const cmd_def *d = cmd_find(verb);
    if (!d && !strcmp(verb, cmd_exporter_def.name))
        d = &cmd_exporter_def;
    if (!d) {
        fprintf(stderr, "capsa: unknown command \"%s\" (see capsa --help)\n", verb);
        return 3;  /* runc's status for a command it does not know */
    }
    /* exec runs from a sealed copy; create and run let init re-execute alone
     * (linux/reinit.h), or re-execute once they know they need to */
    if (!strcmp(verb, "exec") && (errno = -selfexe_ensure_sealed(argc, argv)) > 0) {
        fprintf(stderr, "capsa: %s: cannot run from a sealed copy of the capsa binary: %s\n",
                verb, strerror(errno));
        return 1;
    }
    trace_mark("main");
    if (log_init(log_file, log_format, debug) < 0) {
        fprintf(stderr, "capsa: --log %s / --log-format %s: cannot use them\n",
                log_file ? log_file : "-", log_format ? log_format : "-");
        return 1;
    }
    if (systemd && !systemd_running()) {
        fprintf(stderr, "capsa: --systemd-cgroup: systemd is not running on this host "
                        "(use the default cgroupfs driver)\n");
        log_error("--systemd-cgroup: systemd is not running on this host");
        return 1;
    }
    cgroup_set_systemd(systemd);   /* the systemd cgroup driver (cgroup/systemd.c) */
    autofree char *droot = root ? NULL : default_root();
    bool needs_root = strcmp(verb, "spec") && strcmp(verb, "features") && strcmp(verb, "check") &&
                      strcmp(verb, "limits");
    if (!root && !droot && needs_root) {
        fprintf(stderr, "capsa: no state directory: set XDG_RUNTIME_DIR or pass --root\n");
        return 1;
    }
    cmd_ctx c = {.rt = {.root = root ? root : droot}, .prog = argv[0]};
    int r = d->run(&c, argc - i, argv + i, &e);
    if (r < 0) {
        /* getopt left optind on the first positional argument: the id. */
        const char *id = d->takes_id && optind > 0 && optind < argc - i ? argv[i + optind] : NULL;
        fprintf(stderr, "capsa: %s%s%s: %s\n", verb, id ? " " : "", id ? id : "", e.msg);
        log_error("%s%s%s: %s", verb, id ? " " : "", id ? id : "", e.msg);
        return c.fail_status ? c.fail_status : 1;
    }
    return r;
}
