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
     "      --console-socket PATH  send the terminal's master fd (process.terminal) to this socket\n"
     "      --preserve-fds N       pass fds 3..3+N-1 to the container process\n", true},
    {"start", cmd_start, "run the user program of a created container",
     "Usage: capsa start ID\n", true},
    {"run", cmd_run, "create and start a container",
     "Usage: capsa run [--bundle DIR] [--detach] [--pid-file FILE] [--keep] [--no-pivot]\n"
     "                 [--no-new-keyring] ID\n"
     "  -b, --bundle DIR     bundle directory holding config.json (default: .)\n"
     "  -d, --detach         return once the container is running\n"
     "      --pid-file FILE  write the container init's pid to FILE\n"
     "      --keep           keep the stopped container (do not delete it at exit)\n"
     "      --rm             delete the container when it exits (the foreground default)\n"
     "      --console-socket PATH  send the terminal's master fd to this socket\n"
     "      --preserve-fds N       pass fds 3..3+N-1 to the container process\n"
     "With process.terminal and no --console-socket, capsa proxies the terminal.\n"
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
     "Usage: capsa list [--format table|json] [--quiet] [--host]\n"
     "  -f, --format table|json  output format (default table)\n"
     "  -q, --quiet              print only the ids\n"
     "      --host               every container on the host, whoever started it (docker,\n"
     "                           containerd, Kubernetes, podman, runc, crun, capsa), found\n"
     "                           from /proc and cgroups (docs/observe.md)\n", false},
    {"spec", cmd_spec, "write a default config.json",
     "Usage: capsa spec [--bundle DIR] [--rootless] [SANDBOX FLAGS] [RESOURCE FLAGS] [-- CMD ARGS...]\n"
     "  -b, --bundle DIR  where to write config.json (default: .)\n"
     "      --rootless    a spec for an unprivileged user (user namespace, no network ns)\n"
     "Sandbox flags:\n"
     "      --rootfs DIR        root filesystem (default: rootfs, relative to the bundle)\n"
     "      --hostname NAME     hostname in the container's uts namespace (default capsa)\n"
     "      --readonly | --rw   read-only (the default) or writable root filesystem\n"
     "      --mount SRC:DST[:ro]  bind-mount a host path (repeatable)\n"
     "      --tmpfs DST[:OPTS]  a tmpfs, e.g. /tmp:size=64m (repeatable)\n"
     "      --env K=V           environment variable (repeatable)\n"
     "      --cwd DIR           working directory (absolute)\n"
     "      --user UID[:GID]    run as this user (numbers)\n"
     "      --net none|host|veth[,bridge=NAME][,subnet=CIDR]\n"
     "                          none (default): own netns with only lo; host: the host's;\n"
     "                          veth: a veth pair to the host (docs/network.md)\n"
     "      --cap-add CAP       add a capability (repeatable)\n"
     "      --cap-drop CAP|ALL  drop a capability, or all (repeatable; drops apply first)\n"
     "      --seccomp default|unconfined|FILE  the seccomp profile (default: deny list)\n"
     "      --terminal          allocate a terminal for the process\n"
     "  -- CMD ARGS...          the program (default: sh)\n"
     "Resource flags (into linux.resources):\n"
     "      --memory SIZE       memory limit (512k, 64m, 1g; -1 unlimited)\n"
     "      --memory-swap SIZE  memory+swap limit (>= --memory; -1 unlimited swap)\n"
     "      --cpus FLOAT        CPUs' worth of time: cpu.quota = FLOAT * 100000, period 100000\n"
     "      --cpu-shares N      relative CPU weight (2..262144)\n"
     "      --pids N            maximum number of tasks\n"
     "      --cpuset CPUS       CPUs allowed (0-3,6)\n"
     "      --io-weight N       block I/O weight (10..1000)\n", false},
    {"features", cmd_features, "print the features this runtime supports (runtime-spec features.md)",
     "Usage: capsa features\n", false},
    {"exec", cmd_exec, "run a new process in a running container",
     "Usage: capsa exec [FLAGS] ID [--] COMMAND [ARGS...]\n"
     "       capsa exec [FLAGS] --process process.json ID\n"
     "  -p, --process FILE       a process.json (runtime-spec process object) to run\n"
     "  -t, --tty                allocate a pseudo-terminal\n"
     "      --console-socket S   send the terminal's master fd to the unix socket S\n"
     "  -d, --detach             return once the process runs\n"
     "      --pid-file FILE      write the process's pid to FILE\n"
     "  -e, --env K=V            set an environment variable (repeatable)\n"
     "      --cwd DIR            working directory inside the container\n"
     "  -u, --user UID[:GID]     run as this user (numbers)\n"
     "  -g, --additional-gids G  comma-separated supplementary group ids\n"
     "  -c, --cap CAP            add a capability (repeatable)\n"
     "      --no-new-privs       set no_new_privs\n"
     "      --preserve-fds N     pass fds 3..3+N-1 to the process\n"
     "      --ignore-paused      allow exec into a paused container\n"
     "      --apparmor PROFILE   the AppArmor profile to run under (default: the\n"
     "                           config's process.apparmorProfile; AppArmor hosts)\n"
     "      --cgroup [CTRL[,CTRL]:]SUB  run in this existing sub-cgroup of the container's\n"
     "                           cgroup (repeatable with CTRL:, runc 1.1)\n"
     "The process joins every namespace and the cgroup of the container, and gets its\n"
     "capabilities, no_new_privs, rlimits and seccomp filter. In the foreground the exit\n"
     "status is the process's (128+N if killed by signal N).\n", true},
    {"update", cmd_update, "change the resource limits of a live container",
     "Usage: capsa update [FLAGS] ID\n"
     "  -r, --resources FILE        an OCI linux.resources JSON (\"-\": stdin); flags override it\n"
     "      --memory SIZE           memory limit (512k, 64m, 1g; -1 unlimited)\n"
     "      --memory-swap SIZE      memory+swap limit (>= --memory; -1 unlimited)\n"
     "      --memory-reservation SIZE  soft limit\n"
     "      --kernel-memory SIZE    kernel memory limit (v1, where the kernel has it)\n"
     "      --kernel-memory-tcp SIZE  kernel TCP buffer limit (v1)\n"
     "      --cpu-quota US          CPU time per period in microseconds (-1: no limit)\n"
     "      --cpu-period US         CFS period in microseconds (1000..1000000)\n"
     "      --cpu-share N           relative CPU weight (2..262144; v2: converted to cpu.weight)\n"
     "      --cpu-rt-runtime US     realtime runtime per period\n"
     "      --cpu-rt-period US      realtime period\n"
     "      --cpuset-cpus LIST      CPUs allowed (0-3,6)\n"
     "      --cpuset-mems LIST      memory nodes allowed\n"
     "      --pids-limit N          maximum number of tasks (-1: no limit)\n"
     "      --blkio-weight N        block I/O weight (10..1000)\n"
     "Only what is given changes; device rules are not updated (as in runc).\n", true},
    {"pause", cmd_pause, "freeze every process of a running container",
     "Usage: capsa pause ID\n", true},
    {"resume", cmd_resume, "thaw a paused container",
     "Usage: capsa resume ID\n", true},
    {"ps", cmd_ps, "list the processes of a container",
     "Usage: capsa ps [--format table|json] ID [PS-ARGS...]\n"
     "  -f, --format table|json  table: the host's `ps PS-ARGS` (default -ef) filtered to the\n"
     "                           container's processes; json: an array of host pids\n", true},
    {"events", cmd_events, "print container stats and OOM events as JSON",
     "Usage: capsa events [--stats] [--interval DURATION] ID\n"
     "      --stats             print one stats object and exit\n"
     "      --interval DURATION time between stats objects (default 5s; 500ms, 1m, ...)\n"
     "Without --stats: a {\"type\":\"stats\"} line now and every interval, and a\n"
     "{\"type\":\"oom\"} line whenever the kernel OOM-kills in the container, and a\n"
     "{\"type\":\"limit\"} line when forks are refused at its pids limit or it is throttled\n"
     "in most CPU periods (data.message says it in words), until it stops.\n", true},
    {"audit", cmd_audit, "report what is not isolated for a container or any process",
     "Usage: capsa audit [--format table|json] [--strict] [--color WHEN] ID | --pid PID | --all\n"
     "                   | --host\n"
     "  -p, --pid PID            audit any process on the host (podman, containerd, bwrap, ...)\n"
     "  -a, --all                audit every running container under --root\n"
     "      --host               audit every container on the host, whoever started it\n"
     "  -f, --format table|json  output format (default table; JSON schema: docs/observe.md)\n"
     "  -s, --strict             WARN counts as FAIL for the exit code\n"
     "      --color auto|always|never  colour the results (default auto: on a terminal)\n"
     "Checks namespaces, capabilities, seccomp, no_new_privs, user mapping, mounts, cgroup\n"
     "limits, devices and LSM label; each finding is PASS, WARN, FAIL or SKIP (could not\n"
     "read) with the config.json key that fixes it.\n"
     "Exit status: 0 all PASS, 1 any WARN or SKIP, 2 any FAIL, 3 nothing could be audited.\n", true},
    {"stats", cmd_stats, "show live resource use, limits and throttling of containers",
     "Usage: capsa stats [--format table|json] [--watch SECONDS [--count N]] [--interval SECONDS]\n"
     "                   ID... | --all | --host\n"
     "  -a, --all                every running container under --root\n"
     "      --host               every container on the host, whoever started it; Kubernetes\n"
     "                           pods get a pod/UID row (their pod cgroup) before their\n"
     "                           containers; with --format openmetrics|prometheus: one\n"
     "                           scrape of what `capsa exporter` serves\n"
     "  -w, --watch SECONDS      redraw every SECONDS (plain lines when not on a terminal)\n"
     "  -n, --count N            with --watch: stop after N redraws\n"
     "  -i, --interval SECONDS   without --watch: time between the two samples that give\n"
     "                           CPU % and throttling (default 0.5; 0: one sample, no rates)\n"
     "  -f, --format table|json  output format (JSON: one array per sample, docs/observe.md)\n"
     "      --color auto|always|never  mark near-limit values in colour\n"
     "Warnings (!) mark memory or pids at 90% of the limit, throttling and OOM kills in the\n"
     "last interval, and forks refused by pids.max.\n", true},
    {"limits", cmd_limits, "show the limits this process lives under (run inside a container)",
     "Usage: capsa limits [--pid PID] [--format table|json]\n"
     "  -p, --pid PID            another process instead of this one\n"
     "  -f, --format table|json  output format (default table)\n"
     "Effective CPUs (quota, cpuset, affinity), memory, pids and io limits of the cgroup\n"
     "and its parents, which namespaces are private, and the main rlimits. Needs only\n"
     "/proc and /sys/fs/cgroup.\n", false},
    {"check", cmd_check, "check that this host can run (rootless) containers",
     "Usage: capsa check [--format table|json] [--strict] [--color WHEN]\n"
     "  -f, --format table|json  output format (default table)\n"
     "  -s, --strict             WARN counts as FAIL for the exit code\n"
     "      --color auto|always|never  colour the results\n"
     "Kernel version and syscalls, namespace types, user-namespace sysctls, cgroup mode and\n"
     "controllers, delegation, PSI, seccomp, LSMs, overlayfs, newuidmap and subuid ranges.\n"
     "Exit status: 0 all PASS, 1 any WARN, 2 any FAIL, 3 usage error.\n", false},
    {"checkpoint", cmd_checkpoint, "checkpoint a running container to disk (CRIU)",
     "Usage: capsa checkpoint [FLAGS] ID\n"
     "      --image-path DIR    where the images go (default: ./checkpoint)\n"
     "      --work-path DIR     where CRIU writes its log (default: the image path)\n"
     "      --leave-running     keep the container running after the checkpoint\n"
     "      --tcp-established   checkpoint established TCP connections\n"
     "      --ext-unix-sk       allow external unix sockets\n"
     "      --shell-job         allow a process tree started from a shell (foreign session)\n"
     "      --file-locks        checkpoint file locks\n"
     "      --manage-cgroups-mode soft|full|strict|ignore  cgroup handling (default soft)\n"
     "      --pre-dump          dump memory only, keep running (needs soft-dirty tracking)\n"
     "      --parent-path DIR   a previous pre-dump, relative to the image path\n"
     "Without --leave-running the container is gone afterwards (as runc). CRIU is found\n"
     "with --criu PATH, $CAPSA_CRIU, build/criu next to capsa, or $PATH (docs/checkpoint.md).\n", true},
    {"restore", cmd_restore, "restore a container from a checkpoint (CRIU)",
     "Usage: capsa restore [FLAGS] ID\n"
     "      --image-path DIR    the checkpoint's images (default: ./checkpoint)\n"
     "      --work-path DIR     where CRIU writes its log (default: the image path)\n"
     "  -b, --bundle DIR        bundle holding config.json (default: .)\n"
     "  -d, --detach            return once the container runs\n"
     "      --pid-file FILE     write the restored init's pid to FILE\n"
     "      --console-socket S  accepted for runc compatibility (terminals are not restored yet)\n"
     "      --no-pivot          accepted for runc compatibility (CRIU makes the root)\n"
     "      --tcp-established, --ext-unix-sk, --shell-job, --file-locks,\n"
     "      --manage-cgroups-mode soft|full|strict|ignore  as for checkpoint\n"
     "In the foreground the exit status is the container's; it is deleted when it exits.\n", true},
    {"net-hook", cmd_nethook, "veth networking as an OCI hook (createRuntime up, poststop down)",
     "Usage: capsa net-hook [--bridge NAME] [--subnet CIDR] up|down   (OCI state on stdin)\n"
     "  up    create a veth pair: host end cvXXXXXXXX (from the container id), eth0 in the\n"
     "        container's network namespace, addresses, default route via the host end\n"
     "  down  delete the host end (and the bridge, if capsa made it and it has no ports)\n"
     "  -B, --bridge NAME   attach the host end to bridge NAME (created if missing, with\n"
     "                      the first address of the subnet); containers reach each other\n"
     "  -S, --subnet CIDR   address range (default: /30 pairs in 169.254.0.0/16, or\n"
     "                      169.254.100.0/24 with --bridge)\n"
     "See docs/network.md. `capsa spec --net veth` writes these hooks.\n", false},
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
    /* A leading '+' (stop at the first non-flag, for exec's command) must come first. */
    bool stop = shortopts && shortopts[0] == '+';
    snprintf(so, sizeof so, "%s:h%s", stop ? "+" : "", shortopts ? shortopts + stop : "");
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

void cmd_push(char ***v, size_t *n, char *s)
{
    *v = xrealloc(*v, (*n + 2) * sizeof **v);
    (*v)[(*n)++] = s;
    (*v)[*n] = NULL;
}
