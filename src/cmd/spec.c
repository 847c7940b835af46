#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "spec/spec.h"
#include "util/fs.h"
#include "util/units.h"

enum {
    OPT_ROOTLESS = 256, OPT_MEMORY, OPT_SWAP, OPT_CPUS, OPT_SHARES, OPT_PIDS, OPT_CPUSET,
    OPT_IO_WEIGHT, OPT_ROOTFS, OPT_HOSTNAME, OPT_READONLY, OPT_RW, OPT_MOUNT, OPT_TMPFS,
    OPT_ENV, OPT_CWD, OPT_USER, OPT_NET, OPT_CAP_ADD, OPT_CAP_DROP, OPT_SECCOMP, OPT_TERMINAL,
};

/* A size flag: bytes > 0, or -1 for unlimited. */
static int size_flag(const char *flag, const char *v, int64_t *out, capsa_err *e)
{
    int r = units_parse_size(v, out);
    if (r == -ERANGE)
        return cerr_set(e, ERANGE, "%s: \"%s\" is too large", flag, v);
    if (r < 0)
        return cerr_set(e, EINVAL, "%s: \"%s\" is not a size (like 512k, 64m, 1g; -1 "
                        "for unlimited)", flag, v);
    if (*out == 0)
        return cerr_set(e, EINVAL, "%s: 0 is not a limit (-1 means unlimited)", flag);
    return 0;
}

static int int_flag(const char *flag, const char *v, int64_t min, int64_t max, int64_t *out,
                    capsa_err *e)
{
    if (units_parse_int(v, min, max, out) < 0)
        return cerr_set(e, EINVAL, "%s: \"%s\" is not a number in %" PRId64 "..%" PRId64,
                        flag, v, min, max);
    return 0;
}

static int cpus_flag(const char *v, double *out, capsa_err *e)
{
    /* A decimal count of CPUs; the quota (cpus * 100000 us) must reach the
     * kernel's 1 ms minimum. */
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (!*v || *end || errno || !(d >= 0.01 && d <= 100000) || strspn(v, "0123456789.") != strlen(v))
        return cerr_set(e, EINVAL, "--cpus: \"%s\" is not a number of CPUs from 0.01 "
                        "(like 0.5 or 2)", v);
    *out = d;
    return 0;
}

static int resource_flag(int opt, const char *v, spec_default_opts *so, capsa_err *e)
{
    int64_t n;
    int r = 0;
    switch (opt) {
    case OPT_MEMORY: return size_flag("--memory", v, &so->memory, e);
    case OPT_SWAP: return size_flag("--memory-swap", v, &so->memory_swap, e);
    case OPT_CPUS: return cpus_flag(v, &so->cpus, e);
    case OPT_SHARES:
        if ((r = int_flag("--cpu-shares", v, 2, 262144, &n, e)) == 0)
            so->cpu_shares = (uint64_t)n;
        return r;
    case OPT_PIDS:
        if (!strcmp(v, "-1"))
            n = -1;
        else if ((r = int_flag("--pids", v, 1, INT32_MAX, &n, e)) < 0)
            return r;
        so->pids = n;
        return 0;
    case OPT_CPUSET:
        if (!units_cpu_list_valid(v))
            return cerr_set(e, EINVAL, "--cpuset: \"%s\" is not a CPU list (like 0-3,6)", v);
        so->cpuset = v;
        return 0;
    case OPT_IO_WEIGHT:
        if ((r = int_flag("--io-weight", v, 10, 1000, &n, e)) == 0)
            so->io_weight = (uint16_t)n;
        return r;
    }
    return 0;
}

int cmd_spec(cmd_ctx *c, int argc, char **argv, capsa_err *e)
{
    (void)c;
    static const struct option opts[] = {{"bundle", required_argument, NULL, 'b'},
                                         {"rootless", no_argument, NULL, OPT_ROOTLESS},
                                         {"memory", required_argument, NULL, OPT_MEMORY},
                                         {"memory-swap", required_argument, NULL, OPT_SWAP},
                                         {"cpus", required_argument, NULL, OPT_CPUS},
                                         {"cpu-shares", required_argument, NULL, OPT_SHARES},
                                         {"pids", required_argument, NULL, OPT_PIDS},
                                         {"cpuset", required_argument, NULL, OPT_CPUSET},
                                         {"io-weight", required_argument, NULL, OPT_IO_WEIGHT},
                                         {"rootfs", required_argument, NULL, OPT_ROOTFS},
                                         {"hostname", required_argument, NULL, OPT_HOSTNAME},
                                         {"readonly", no_argument, NULL, OPT_READONLY},
                                         {"rw", no_argument, NULL, OPT_RW},
                                         {"mount", required_argument, NULL, OPT_MOUNT},
                                         {"tmpfs", required_argument, NULL, OPT_TMPFS},
                                         {"env", required_argument, NULL, OPT_ENV},
                                         {"cwd", required_argument, NULL, OPT_CWD},
                                         {"user", required_argument, NULL, OPT_USER},
                                         {"net", required_argument, NULL, OPT_NET},
                                         {"cap-add", required_argument, NULL, OPT_CAP_ADD},
                                         {"cap-drop", required_argument, NULL, OPT_CAP_DROP},
                                         {"seccomp", required_argument, NULL, OPT_SECCOMP},
                                         {"terminal", no_argument, NULL, OPT_TERMINAL},
                                         {NULL, 0, NULL, 0}};
    spec_default_opts so = {0};
    spec_flags sf = {.readonly = -1};
    autofree char **mounts = NULL, **tmpfs = NULL, **env = NULL, **cap_add = NULL,
                  **cap_drop = NULL;
    size_t nm = 0, nt = 0, ne = 0, nca = 0, ncd = 0;
    const char *bundle = ".";
    int opt, r;
    optind = 0;
    while ((r = cmd_getopt(cmd_find("spec"), argc, argv, "b:", opts, &opt, e)) == 0 && opt != -1) {
        if (opt == 'b')
            bundle = optarg;
        else if (opt == OPT_ROOTLESS)
            so.rootless = true;
        else if (opt == OPT_ROOTFS)
            so.rootfs = optarg;
        else if (opt == OPT_HOSTNAME)
            so.hostname = optarg;
        else if (opt == OPT_READONLY || opt == OPT_RW)
            sf.readonly = opt == OPT_READONLY;
        else if (opt == OPT_MOUNT)
            cmd_push(&mounts, &nm, optarg);
        else if (opt == OPT_TMPFS)
            cmd_push(&tmpfs, &nt, optarg);
        else if (opt == OPT_ENV)
            cmd_push(&env, &ne, optarg);
        else if (opt == OPT_CAP_ADD)
            cmd_push(&cap_add, &nca, optarg);
        else if (opt == OPT_CAP_DROP)
            cmd_push(&cap_drop, &ncd, optarg);
        else if (opt == OPT_CWD)
            sf.cwd = optarg;
        else if (opt == OPT_USER)
            sf.user = optarg;
        else if (opt == OPT_NET)
            sf.net = optarg;
        else if (opt == OPT_SECCOMP)
            sf.seccomp = optarg;
        else if (opt == OPT_TERMINAL)
            sf.terminal = true;
        else if ((r = resource_flag(opt, optarg, &so, e)) < 0)
            return r;
    }
    if (r)
        return r < 0 ? r : 0;
    /* `capsa spec [FLAGS] -- CMD ARGS...`: the container's program. */
    if (optind < argc)
        so.args = argv + optind;
    sf.mounts = mounts;
    sf.tmpfs = tmpfs;
    sf.env = env;
    sf.cap_add = cap_add;
    sf.cap_drop = cap_drop;
    /* --memory-swap is memory+swap (runc, docker): it cannot be below --memory. */
    if (so.memory_swap > 0 && so.memory <= 0)
        return cerr_set(e, EINVAL, "--memory-swap needs --memory (a limit, not -1)");
    if (so.memory_swap > 0 && so.memory_swap < so.memory)
        return cerr_set(e, EINVAL, "--memory-swap %" PRId64 " is below --memory %" PRId64
                        " (it is the memory+swap total; -1 for unlimited swap)",
                        so.memory_swap, so.memory);
    autofree char *text = spec_default_json(&so);
    if (!text)
        return cerr_set(e, EINVAL, "an option is not valid UTF-8");
    if ((r = spec_apply_flags(&text, &sf, e)) < 0)
        return r;
    autofree char *path = xasprintf("%s/config.json", bundle);
    if (access(path, F_OK) == 0)
        return cerr_set(e, EEXIST, "%s already exists (remove it first)", path);
    autoclose int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return cerr_sys(e, errno, "create %s", path);
    if (write_all(fd, text, strlen(text)) < 0 || write_all(fd, "\n", 1) < 0)
        return cerr_sys(e, errno, "write %s", path);
    return 0;
}
