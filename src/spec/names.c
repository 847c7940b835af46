/* Names used by config.json <-> kernel numbers: namespaces, capabilities,
 * rlimits. A capability table rather than libcap's cap_from_name, because that
 * also accepts bare numbers ("12"), and a config must name what it means. */
#include "spec/spec.h"

#include <linux/capability.h>
#include <sched.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const struct {
    const char *name, *proc;
    int flag;
} ns_table[NS__COUNT] = {
    [NS_PID] = {"pid", "pid", CLONE_NEWPID},
    [NS_NET] = {"network", "net", CLONE_NEWNET},
    [NS_MNT] = {"mount", "mnt", CLONE_NEWNS},
    [NS_IPC] = {"ipc", "ipc", CLONE_NEWIPC},
    [NS_UTS] = {"uts", "uts", CLONE_NEWUTS},
    [NS_USER] = {"user", "user", CLONE_NEWUSER},
    [NS_CGROUP] = {"cgroup", "cgroup", CLONE_NEWCGROUP},
    [NS_TIME] = {"time", "time", CLONE_NEWTIME},
};

const char *spec_ns_name(enum spec_ns_type t)
{
    return (unsigned)t < NS__COUNT ? ns_table[t].name : NULL;
}

const char *spec_ns_proc_name(enum spec_ns_type t)
{
    return (unsigned)t < NS__COUNT ? ns_table[t].proc : NULL;
}

int spec_ns_clone_flag(enum spec_ns_type t)
{
    return (unsigned)t < NS__COUNT ? ns_table[t].flag : 0;
}

static const char *const cap_names[] = {
    "CAP_CHOWN",            "CAP_DAC_OVERRIDE",   "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",           "CAP_KILL",           "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",          "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",        "CAP_NET_RAW",        "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",       "CAP_SYS_RAWIO",      "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",        "CAP_SYS_ADMIN",      "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",     "CAP_SYS_TIME",       "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",            "CAP_AUDIT_WRITE",    "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",     "CAP_MAC_ADMIN",      "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",    "CAP_AUDIT_READ",     "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

#define N_CAPS ((int)(sizeof cap_names / sizeof cap_names[0]))

/* Newer kernel headers mean new capabilities: add them to the table. */
_Static_assert(N_CAPS - 1 >= CAP_LAST_CAP,
               "cap_names is missing capabilities of <linux/capability.h>");

int spec_cap_from_name(const char *name)
{
    if (!name)
        return -1;
    const char *bare = strncasecmp(name, "CAP_", 4) == 0 ? name + 4 : name;
    for (int i = 0; i < N_CAPS; i++)
        if (strcasecmp(cap_names[i] + 4, bare) == 0)
            return i;
    return -1;
}

const char *spec_cap_name(int cap)
{
    return cap >= 0 && cap < N_CAPS ? cap_names[cap] : NULL;
}

int spec_cap_last(void)
{
    return N_CAPS - 1;
}

static const struct {
    const char *name;
    int resource;
} rlimits[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

int spec_rlimit_from_name(const char *name)
{
    for (size_t i = 0; name && i < sizeof rlimits / sizeof rlimits[0]; i++)
        if (strcmp(rlimits[i].name, name) == 0)
            return rlimits[i].resource;
    return -1;
}
