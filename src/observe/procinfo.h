/* What /proc says about a process: credentials, capabilities, seccomp,
 * no_new_privs (/proc/PID/status), namespaces (/proc/PID/ns/<type>), id maps,
 * LSM label. Read-only, works on any pid the caller may inspect. */
#ifndef CAPSA_OBSERVE_PROCINFO_H
#define CAPSA_OBSERVE_PROCINFO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

enum obs_ns {
    OBS_NS_CGROUP, OBS_NS_IPC, OBS_NS_MNT, OBS_NS_NET, OBS_NS_PID, OBS_NS_TIME, OBS_NS_USER,
    OBS_NS_UTS, OBS_NS__COUNT
};

typedef struct {
    pid_t pid;
    char comm[64];
    bool has_ids, has_caps;
    uint32_t uid[4], gid[4];                        /* real, effective, saved, fs */
    uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
    int no_new_privs;                               /* -1: not reported */
    int seccomp;                                    /* -1 unknown, 0 off, 1 strict, 2 filter */
    int seccomp_filters;                            /* -1 unknown */
    unsigned long long ns[OBS_NS__COUNT];           /* nsfs inode, 0 = could not read */
    int ns_err[OBS_NS__COUNT];                      /* errno when ns[] is 0 */
    char *uid_map, *gid_map;                        /* NULL: could not read */
} obs_proc;

/* Fill the status fields from /proc/PID/status text (pure). */
void obs_status_parse(const char *text, obs_proc *p);
/* Everything above; -ESRCH/-ENOENT "no process PID" if it does not exist. */
int obs_proc_read(pid_t pid, obs_proc *p, capsa_err *e);
void obs_proc_free(obs_proc *p);
/* The text of /proc/PID/NAME (malloc'd, NUL-terminated; *len its length when
 * len is not NULL), NULL when it cannot be read. */
char *obs_proc_file(pid_t pid, const char *name, size_t *len);

const char *obs_ns_proc_name(enum obs_ns t);  /* "mnt", as in /proc/PID/ns */
const char *obs_ns_spec_name(enum obs_ns t);  /* "mount", as in linux.namespaces */

/* The host's namespaces. Every initial namespace has a fixed nsfs inode
 * (PROC_*_INIT_INO; net and mnt only since Linux 6.15), which works from
 * inside containers too; on older kernels net/mnt come from PID 1 when PID 1
 * is the host init (in the initial pid namespace) and readable. */
typedef struct {
    unsigned long long ino[OBS_NS__COUNT];
    bool known[OBS_NS__COUNT];
} obs_ns_host;
void obs_ns_host_load(obs_ns_host *h);
/* 1 shared with the host, 0 private, -1 cannot tell. */
int obs_ns_shared(const obs_ns_host *h, enum obs_ns t, unsigned long long ino);

/* The id `inside` maps to in a uid_map/gid_map text ("inside outside count"
 * lines), or -1 when unmapped (pure). */
long long obs_idmap_lookup(const char *map, unsigned long long inside);
/* Is this the identity map of the initial user namespace (0 0 4294967295)? */
bool obs_idmap_is_identity(const char *map);

/* Host LSMs that label processes ("apparmor", "selinux"), comma list, "" none. */
void obs_host_lsms(char *buf, size_t n);
/* The process's LSM label (trimmed), NULL if none/unreadable. malloc'd. */
char *obs_proc_label(pid_t pid, const char *lsm);

#endif
