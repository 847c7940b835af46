/* The typed OCI runtime-spec (config.json, 1.0-1.2, Linux). Only src/spec sees JSON:
 * everything else works on these structs. Optional scalars carry a has_* flag. */
#ifndef CAPSA_SPEC_H
#define CAPSA_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

/* GNU C predefines `linux` as 1; the spec has a field of that name. */
#undef linux

typedef struct {
    char **v;   /* NULL-terminated; never NULL in a parsed spec, even if absent */
    size_t n;
} spec_strv;

typedef struct {
    char *key, *value;
} spec_kv;

typedef struct {
    spec_kv *v;
    size_t n;
} spec_map;

typedef struct {
    uint32_t container_id, host_id, size;
} spec_idmap;

typedef struct {
    spec_idmap *v;
    size_t n;
} spec_idmaps;

typedef struct {
    char *type, *source, *destination;
    spec_strv options;
    spec_idmaps uid_mappings, gid_mappings;
} spec_mount;

typedef struct {
    int resource;            /* RLIMIT_* number, resolved from "RLIMIT_NOFILE" */
    char *type;
    uint64_t hard, soft;
} spec_rlimit;

/* Capability sets as bit masks (bit N = capability N), resolved from names. */
typedef struct {
    bool present;
    uint64_t bounding, effective, inheritable, permitted, ambient;
} spec_caps;

typedef struct {
    uint32_t uid, gid;
    bool has_umask;
    uint32_t umask;
    uint32_t *additional_gids;
    size_t n_additional_gids;
    char *username;
} spec_user;

typedef struct {
    bool has_size;
    unsigned height, width;
} spec_console_size;

typedef struct {
    char *class_name;  /* "class" */
    bool has_priority, has_nice, has_cpus;
    int priority, nice;
    uint64_t runtime, deadline, period, flags_mask; /* flags resolved to SCHED_FLAG_* bits */
    bool has_runtime, has_deadline, has_period;
} spec_scheduler;

typedef struct {
    char *class_name;  /* IOPRIO_CLASS_RT|BE|IDLE */
    int priority;
} spec_ioprio;

typedef struct {
    bool terminal;
    spec_console_size console_size;
    spec_user user;
    spec_strv args;
    char *command_line;
    spec_strv env;
    char *cwd;
    spec_caps caps;
    spec_rlimit *rlimits;
    size_t n_rlimits;
    bool no_new_privileges;
    char *apparmor_profile;
    bool has_oom_score_adj;
    int oom_score_adj;
    char *selinux_label;
    bool has_scheduler;
    spec_scheduler scheduler;
    bool has_io_priority;
    spec_ioprio io_priority;
    spec_strv exec_cpu_affinity_initial; /* unused placeholder: see execCPUAffinity */
    char *exec_cpu_affinity_initial_s, *exec_cpu_affinity_final_s;
} spec_process;

typedef struct {
    char *path;
    spec_strv args, env;
    bool has_timeout;
    int timeout;
} spec_hook;

typedef struct {
    spec_hook *v;
    size_t n;
} spec_hooks_list;

typedef struct {
    spec_hooks_list prestart, create_runtime, create_container, start_container,
        poststart, poststop;
} spec_hooks;

enum spec_ns_type {
    NS_PID, NS_NET, NS_MNT, NS_IPC, NS_UTS, NS_USER, NS_CGROUP, NS_TIME, NS__COUNT
};

typedef struct {
    bool present;
    char *path;    /* NULL: create a new namespace; else setns() into it */
    size_t index;  /* its position in linux.namespaces, for located errors */
} spec_ns;

typedef struct {
    char type;     /* 'c', 'b', 'u', 'p' */
    char *path;
    int64_t major, minor;
    bool has_mode, has_uid, has_gid;
    uint32_t mode, uid, gid;
} spec_device;

/* resources: devices cgroup rule */
typedef struct {
    bool allow;
    char type;     /* 'a','c','b' (0 = 'a') */
    bool has_major, has_minor;
    int64_t major, minor;
    char *access;  /* "rwm" subset, NULL = "rwm" */
} spec_dev_rule;

typedef struct { int64_t major, minor; bool has_weight, has_leaf_weight; uint16_t weight, leaf_weight; } spec_blkio_weight_dev;
typedef struct { int64_t major, minor; uint64_t rate; } spec_blkio_throttle;
typedef struct { spec_blkio_throttle *v; size_t n; } spec_blkio_throttles;
typedef struct { char *page_size; uint64_t limit; } spec_hugepage;
typedef struct { char *name; uint32_t priority; } spec_netprio;

typedef struct {
    bool present;
    bool has_limit, has_reservation, has_swap, has_kernel, has_kernel_tcp,
        has_swappiness, has_disable_oom_killer, has_use_hierarchy, has_check_before_update;
    int64_t limit, reservation, swap, kernel, kernel_tcp;
    uint64_t swappiness;
    bool disable_oom_killer, use_hierarchy, check_before_update;
} spec_memory;

typedef struct {
    bool present;
    bool has_shares, has_quota, has_burst, has_period, has_rt_runtime, has_rt_period, has_idle;
    uint64_t shares, period, burst, rt_period;
    int64_t quota, rt_runtime, idle;
    char *cpus, *mems;
} spec_cpu;

typedef struct {
    bool present;
    bool has_weight, has_leaf_weight;
    uint16_t weight, leaf_weight;
    spec_blkio_weight_dev *weight_device;
    size_t n_weight_device;
    spec_blkio_throttles read_bps, write_bps, read_iops, write_iops;
} spec_blkio;

typedef struct {
    bool present;
    spec_dev_rule *devices;
    size_t n_devices;
    spec_memory memory;
    spec_cpu cpu;
    bool has_pids;
    int64_t pids_limit;
    spec_blkio blkio;
    spec_hugepage *hugepages;
    size_t n_hugepages;
    bool has_net_class_id;
    uint32_t net_class_id;
    spec_netprio *net_priorities;
    size_t n_net_priorities;
    spec_map rdma_placeholder; /* rdma parsed but not supported */
    bool has_rdma;
    spec_map unified;
} spec_resources;

typedef struct {
    int64_t index;
    uint64_t value, value_two;
    char *op;      /* "SCMP_CMP_EQ" ... */
} spec_seccomp_arg;

typedef struct {
    spec_strv names;
    char *action;
    bool has_errno_ret;
    uint32_t errno_ret;
    spec_seccomp_arg *args;
    size_t n_args;
} spec_seccomp_syscall;

typedef struct {
    bool present;
    char *default_action;
    bool has_default_errno_ret;
    uint32_t default_errno_ret;
    spec_strv architectures, flags;
    char *listener_path, *listener_metadata;
    spec_seccomp_syscall *syscalls;
    size_t n_syscalls;
} spec_seccomp;

typedef struct {
    char *clock;  /* "monotonic" / "boottime" */
    int64_t secs;
    uint32_t nanosecs;
} spec_time_offset;

typedef struct {
    spec_ns ns[NS__COUNT];
    spec_idmaps uid_mappings, gid_mappings;
    spec_time_offset *time_offsets;
    size_t n_time_offsets;
    spec_device *devices;
    size_t n_devices;
    char *cgroups_path;
    spec_resources resources;
    spec_map sysctl;
    spec_seccomp seccomp;
    char *rootfs_propagation;   /* NULL if unset */
    spec_strv masked_paths, readonly_paths;
    bool has_masked_paths, has_readonly_paths;
    char *mount_label;
    bool has_personality;
    char *personality_domain;
    spec_strv personality_flags;
    bool has_intel_rdt;
    bool intel_rdt_limits;      /* l3CacheSchema, memBwSchema or schemata set */
    bool has_net_devices;       /* linux.netDevices with at least one device */
    char *memory_policy_mode;   /* linux.memoryPolicy.mode, NULL if unset */
} spec_linux;

typedef struct spec {
    char *oci_version;
    char *root_path;     /* root.path as written (relative to bundle or absolute) */
    bool root_readonly;
    spec_process process;
    bool has_process;
    char *hostname, *domainname;
    spec_mount *mounts;
    size_t n_mounts;
    spec_hooks hooks;
    bool has_hooks;
    spec_map annotations;
    spec_linux linux;
    bool has_linux;
    char *fname;         /* name used in messages, e.g. "config.json" */
    void *pos;           /* private: JSON path -> line:column index */
} spec;

/* Parse config.json text. `fname` is only used in messages:
 * "config.json:42:17: linux.resources.memory.limit: expected an integer, got a string".
 * On success *out owns a new spec (free with spec_free). */
int spec_parse(const char *text, size_t len, const char *fname, spec **out, capsa_err *e);
int spec_load(const char *path, spec **out, capsa_err *e);
/* As spec_load, and the file's bytes as read (*text, malloc'd): the container's
 * init re-parses exactly these after it re-executes (src/linux/reinit.c). */
int spec_load_text(const char *path, spec **out, char **text, size_t *len, capsa_err *e);
void spec_free(spec *s);
/* A document holding only a process object (`exec --process FILE`): the result
 * has has_process set and only `process` filled. */
int spec_parse_process(const char *text, size_t len, const char *fname, spec **out, capsa_err *e);
int spec_load_process(const char *path, spec **out, capsa_err *e);

/* Semantic checks after parsing (absolute paths, known names, ranges) and
 * "not supported by capsa yet" for fields no code implements. */
int spec_validate(const spec *s, capsa_err *e);
/* The same for a process.json (spec_parse_process): a field capsa does not
 * implement (scheduler, ioPriority, an LSM label, ...) is refused, not ignored. */
int spec_validate_process(const spec *s, capsa_err *e);
/* "apparmor" or "selinux" is enabled on this host (runc's tests). */
bool spec_lsm_enabled(const char *name);

/* A located error for a JSON path of this spec ("mounts[2].destination",
 * "linux.resources.memory.limit"): "config.json:L:C: <path>: <message>".
 * Without a position for the path, "config.json: <path>: <message>". */
int spec_err_at(const spec *s, capsa_err *e, int code, const char *path,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
bool spec_has_path(const spec *s, const char *path);

const char *spec_ns_name(enum spec_ns_type t);   /* "pid", "network", "mount", ... */
const char *spec_ns_proc_name(enum spec_ns_type t); /* /proc/PID/ns name: "pid","net","mnt",... */
int spec_ns_clone_flag(enum spec_ns_type t);      /* CLONE_NEWPID ... */

/* Capability name ("CAP_SYS_ADMIN" or "SYS_ADMIN", any case) <-> number. */
int spec_cap_from_name(const char *name);         /* -1 if unknown */
const char *spec_cap_name(int cap);               /* "CAP_CHOWN" */
int spec_cap_last(void);                          /* highest cap number known */

/* RLIMIT_* name to number, -1 if unknown. */
int spec_rlimit_from_name(const char *name);

/* Options for `capsa spec`. */
typedef struct {
    bool rootless;
    const char *rootfs;    /* default "rootfs" */
    const char *hostname;  /* NULL: "capsa" */
    char **args;           /* NULL: ["sh"] */
    /* linux.resources from `capsa spec` flags; 0 / NULL = not set, -1 = unlimited */
    int64_t memory, memory_swap;  /* bytes */
    double cpus;                  /* -> cpu.quota = cpus * 100000, cpu.period = 100000 */
    uint64_t cpu_shares;
    int64_t pids;
    const char *cpuset;           /* cpu.cpus */
    uint16_t io_weight;           /* blockIO.weight */
} spec_default_opts;

/* Build a default config.json text (runc-like, locked down), pretty-printed,
 * no trailing newline; NULL if an option is not UTF-8. Caller frees. */
char *spec_default_json(const spec_default_opts *o);
/* The sandbox flags of `capsa spec`, applied on top of the default config. */
typedef struct {
    int readonly;                 /* -1 keep the default (read-only), 0 rw, 1 ro */
    bool terminal;
    const char *cwd, *user, *net, *seccomp;
    char **mounts, **tmpfs, **env, **cap_add, **cap_drop;   /* NULL-terminated */
} spec_flags;

/* Rewrites *text (a config from spec_default_json); errors name the flag. */
int spec_apply_flags(char **text, const spec_flags *f, capsa_err *e);

/* The default seccomp profile (linux.seccomp of `capsa spec`), JSON text. */
char *spec_default_seccomp_json(void);
/* Syscalls the default profile never allows (NULL-terminated). */
extern const char *const spec_seccomp_denied[];

/* A standalone linux.resources object (`capsa update -r`), errors located in
 * fname. *out is zeroed first; free with spec_resources_free. */
int spec_parse_resources(const char *text, size_t len, const char *fname, spec_resources *out,
                         capsa_err *e);
void spec_resources_free(spec_resources *r);
/* Range and consistency checks of resource values (negative sizes, swap below
 * the limit, quota with a zero period, ...). Messages name the field relative
 * to linux.resources ("memory.swap: ..."). for_update: values may complete
 * what the cgroup already has (swap without a limit is fine then). */
int spec_validate_resources(const spec_resources *r, bool for_update, capsa_err *e);

#endif
