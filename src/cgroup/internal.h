/* Private to src/cgroup: the host's hierarchies, path resolution, file helpers
 * and the per-version drivers. Unit tests include it to drive the drivers on
 * fake directories. */
#ifndef CAPSA_CGROUP_INTERNAL_H
#define CAPSA_CGROUP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup/cgroup.h"
#include "spec/spec.h"
#include "util/err.h"

/* ---- hierarchies (mode.c) ---- */

#define CG_MAX_HIER 16

typedef struct {
    char *mount;        /* where it is mounted, e.g. /sys/fs/cgroup/memory */
    char *mnt_root;     /* root of the mount inside the hierarchy ("/" normally) */
    char ctrls[160];    /* v1: "cpu,cpuacct"; v2: "" */
    bool v2;
} cg_hier;

typedef struct {
    enum cgroup_mode mode;
    size_t n;
    cg_hier h[CG_MAX_HIER];
    int v2;             /* index of the cgroup2 hierarchy in h[], -1 if none */
    char *v2_ctrls;     /* cgroup.controllers of the cgroup2 root ("" if none) */
    char *self_cgroup;  /* text of /proc/self/cgroup */
} cg_host;

const char *cg_root(void);  /* CAPSA_CGROUP_ROOT or /sys/fs/cgroup */
enum cgroup_mode cg_detect_mode(const char *root);
int cg_host_load(cg_host *host, capsa_err *e);
void cg_host_free(cg_host *host);
/* Parse /proc/self/mountinfo text: the cgroup hierarchies mounted under root
 * (v1 ones with at least one real controller; the cgroup2 one at
 * root (unified) or root/unified (hybrid)). */
int cg_parse_mountinfo(const char *text, const char *root, enum cgroup_mode mode,
                       cg_host *host, capsa_err *e);
/* v1 hierarchy holding controller `ctrl`, NULL if not mounted. */
const cg_hier *cg_host_v1(const cg_host *host, const char *ctrl);
const cg_hier *cg_host_v2(const cg_host *host);
bool cg_hier_has(const cg_hier *h, const char *ctrl);

/* The cgroup of this process in a hierarchy, from /proc/self/cgroup text:
 * v1 matches any of `ctrls` (comma list), v2 the "0::" line. malloc'd. */
char *cg_own_path(const char *self_cgroup, const char *ctrls, bool v2);

/* Split `path` (as from cgroup_path_for) for hierarchy h into the directory
 * its relative part starts from (*base) and that part (*rel, no leading
 * slash, never empty, no "." / ".." components). *dir = base/rel.
 * Relative paths start from the runtime's own cgroup (v1) or its parent (v2,
 * like runc: the own cgroup has processes, so it cannot delegate controllers). */
int cg_resolve(const cg_host *host, const cg_hier *h, const char *path,
               char **base, char **rel, char **dir, capsa_err *e);
int cg_check_path(const char *path, capsa_err *e);

/* ---- files (fs.c) ---- */

typedef struct {
    char **v;
    size_t n;
} cg_strv;
void cg_strv_add(cg_strv *s, const char *str);
bool cg_strv_has(const cg_strv *s, const char *str);
void cg_strv_free(cg_strv *s);

char *cg_join(const char *a, const char *b);
char *cg_strndup(const char *s, size_t n);
int cg_write(const char *dir, const char *file, const char *val, capsa_err *e);
int cg_writef(const char *dir, const char *file, capsa_err *e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Whole file, trailing newline removed. */
int cg_read(const char *dir, const char *file, char **out, capsa_err *e);
/* For statistics: dir/file's text, or NULL when there is no dir or file. */
char *cg_read_opt(const char *dir, const char *file);
/* An integer file: "max" and negatives (-1) read as UINT64_MAX (no limit). */
bool cg_read_u64(const char *dir, const char *file, uint64_t *out);
/* v1 reports "no limit" as PAGE_COUNTER_MAX pages (9223372036854771712 on
 * x86-64): anything that large is no limit. */
#define CG_V1_UNLIMITED_FROM (UINT64_C(1) << 62)
/* Integer file; "max" reads as INT64_MAX. */
int cg_read_i64(const char *dir, const char *file, int64_t *out, capsa_err *e);
bool cg_has_file(const char *dir, const char *file);
/* hugepageLimits into hugetlb.SIZE.LIMIT and, where the kernel has it,
 * hugetlb.SIZE.rsvd.LIMIT (as runc); LIMIT is "limit_in_bytes" (v1) or "max" (v2). */
int cg_hugetlb_write(const char *dir, const spec_resources *res, const char *limit,
                     capsa_err *e);
bool cg_dir_exists(const char *dir);
/* Is `word` one of the whitespace-separated words of `list`? */
bool cg_word_in(const char *list, const char *word);
/* mkdir base/rel component by component; dirs made are appended to created. */
int cg_mkdir_path(const char *base, const char *rel, cg_strv *created, capsa_err *e);
/* Remove dir and any sub-cgroups, retrying EBUSY until deadline_ms (monotonic
 * ms, 0 = single try). Missing is fine. */
int cg_rmdir_tree(const char *dir, uint64_t deadline_ms, capsa_err *e);
/* rmdir base/rel's parent components up to (and including) the first one of
 * rel, stopping silently at the first that cannot be removed. */
void cg_rmdir_parents(const char *base, const char *rel);
/* Pids in dir's cgroup.procs (and sub-cgroups when recursive), appended. */
int cg_read_procs(const char *dir, bool recursive, pid_t **pids, size_t *n, capsa_err *e);
uint64_t cg_now_ms(void);
void cg_sleep_ms(unsigned ms);

/* ---- controllers ---- */

enum cg_ctl {
    CGC_CPU, CGC_CPUSET, CGC_MEMORY, CGC_PIDS, CGC_BLKIO, CGC_HUGETLB,
    CGC_NET_CLS, CGC_NET_PRIO, CGC_DEVICES, CGC__COUNT
};
#define CGC_BIT(c) (1u << (c))
#define CGC_ALL ((1u << CGC__COUNT) - 1)
const char *cg_ctl_v1_name(enum cg_ctl c);  /* "blkio" */
const char *cg_ctl_v2_name(enum cg_ctl c);  /* "io"; NULL: no v2 controller */
const char *cg_ctl_spec_name(enum cg_ctl c);/* "linux.resources.blockIO" */
unsigned cg_needed(const spec_resources *r);

/* ---- v1 driver (v1.c): each writes one controller directory ---- */

int cg1_memory(const char *dir, const spec_memory *m, bool update, capsa_err *e);
int cg1_cpu(const char *dir, const spec_cpu *c, capsa_err *e);
int cg1_cpuset(const char *dir, const spec_cpu *c, capsa_err *e);
int cg1_pids(const char *dir, const spec_resources *r, capsa_err *e);
int cg1_blkio(const char *dir, const spec_blkio *b, capsa_err *e);
int cg1_hugetlb(const char *dir, const spec_resources *r, capsa_err *e);
int cg1_net_cls(const char *dir, const spec_resources *r, capsa_err *e);
int cg1_net_prio(const char *dir, const spec_resources *r, capsa_err *e);
int cg1_devices(const char *dir, const spec_dev_rule *rules, size_t n, capsa_err *e);
/* Apply the controllers in `mask` to their hierarchies. */
int cg1_apply(const cg_host *host, const char *path, const spec_resources *r,
              unsigned mask, bool update, capsa_err *e);
int cg1_freeze(const char *dir, bool frozen, capsa_err *e);
int cg1_is_frozen(const char *dir, capsa_err *e);

/* ---- v2 driver (v2.c): one directory ---- */

/* Apply the controllers in `mask` (and, if `unified`, the unified map) to dir. */
int cg2_apply(const char *dir, const spec_resources *r, unsigned mask, bool unified,
              bool update, capsa_err *e);
/* Controller names r needs on cgroup v2 (mask + unified keys), into need. */
void cg2_needed_names(const spec_resources *r, unsigned mask, bool unified, cg_strv *need);
/* Enable controllers in the subtree_control of the intermediate dirs this call
 * created, then check every `need` controller reached the leaf. */
int cg2_prepare(const char *base, const char *rel, const cg_strv *created,
                const cg_strv *need, capsa_err *e);
int cg2_freeze(const char *dir, bool frozen, capsa_err *e);
int cg2_is_frozen(const char *dir, capsa_err *e);
/* Unified map key checks: no '/', "..", empty, or core files that move/kill. */
int cg2_check_unified_key(const char *key, capsa_err *e);

/* Signal every process of dir (and sub-cgroups); SIGKILL repeats until the
 * cgroup is empty, freezing fdir (v1 freezer or cgroup2 dir, may be NULL)
 * around each round. (cgroup.c) */
int cg_kill_procs(const char *dir, const char *fdir, bool fdir_v2, int sig, capsa_err *e);

/* ---- v2 devices (devices_bpf.c) ---- */

/* Load a BPF_PROG_TYPE_CGROUP_DEVICE program built from rules, attach it to
 * dir (BPF_F_ALLOW_MULTI) and detach the programs attached before. */
int cg2_devices(const char *dir, const spec_dev_rule *rules, size_t n, capsa_err *e);

/* ---- systemd driver (systemd.c) ---- */

bool cg_sd_enabled(void);
/* "a-b.slice" -> "/a.slice/a-b.slice", "-.slice" -> ""; NULL if not a slice name. */
char *cg_sd_expand_slice(const char *slice);
/* The scope's cgroup path, or NULL when cgroups_path is not "slice:prefix:name"
 * (cg_sd_check / cg_sd_start with a NULL path then report why). */
char *cg_sd_path_for(const char *cgroups_path, const char *id);
/* Rootless (systemdUser): path below the user manager's cgroup (systemd.c).
 * Takes path; returns it or its replacement. */
char *cg_sd_full_path(char *path);
/* Add to j the tasks file of the scope's cgroup in systemd's name=systemd v1
 * hierarchy (legacy/hybrid layouts), where path is in a scope: joiners of a
 * container land where systemd put its init. Nothing elsewhere. */
int cg_join_named_systemd(const cg_host *host, const char *path, cgroup_join *j,
                          capsa_err *e);
/* The path names a scope and systemd can be reached (nothing is started). */
int cg_sd_check(const char *path, capsa_err *e);
/* StartTransientUnit of path's scope with pid and r's limits; waits for the job. */
int cg_sd_start(const char *path, const spec_resources *r, pid_t pid, capsa_err *e);
/* SetUnitProperties on path's scope if capsa made it (else nothing). */
int cg_sd_update(const char *path, const spec_resources *r, capsa_err *e);
/* StopUnit + ResetFailedUnit of path's scope if capsa made it (else nothing). */
int cg_sd_stop(const char *path, capsa_err *e);
/* Why the last cg_sd_path_for refused its cgroupsPath (NULL: it did not). */
const char *cg_sd_bad_path(void);

/* Unit properties as a plain list (systemd_props.c), marshalled by systemd.c.
 * type: 't' u64, 'x' i64, 'u' u32, 'i' i32, 'd' double, 'b' bool, 's' string,
 * 'y' byte array (AllowedCPUs masks), 'D' DeviceAllow a(ss) from pairs,
 * 'A' a(st) (IODeviceWeight, IOReadBandwidthMax, BlockIO*...): the device
 * path in pairs[2j] (pairs[2j+1] NULL) and the value in vals[j]. */
typedef struct {
    char name[64];
    char type;
    uint64_t u;
    int64_t i;
    double d;
    bool b;
    char *s;
    uint8_t *bytes;
    size_t nbytes;
    char **pairs;        /* 'D': path, access, path, access, ... ('A': path, NULL, ...) */
    size_t npairs;
    uint64_t *vals;      /* 'A': the value of each pair */
} cg_sd_prop;
typedef struct {
    cg_sd_prop *v;
    size_t n;
} cg_sd_props;
/* Append the limits r has unit properties for (legacy: systemd drives v1
 * controllers: MemoryLimit/CPUShares as runc's v1 driver). */
int cg_sd_resource_props(const spec_resources *r, bool legacy, cg_sd_props *p, capsa_err *e);
/* Append the org.systemd.property.NAME=VALUE annotations (GVariant text values,
 * NAMESec -> NAMEUSec in microseconds, as runc). Bad name/value: one-line error. */
int cg_sd_annotation_props(const spec_map *ann, cg_sd_props *p, capsa_err *e);
/* Unit tests: the text of /proc/devices (for "char-NAME" DeviceAllow entries). */
void cg_sd_set_proc_devices(const char *text);
const cg_sd_prop *cg_sd_props_get(const cg_sd_props *p, const char *name);   /* the last */
void cg_sd_props_free(cg_sd_props *p);

/* crun's annotations: run.oci.systemd.subgroup=NAME (systemd driver only; the
 * container's cgroup is SCOPE/NAME) and run.oci.delegate-cgroup=NAME (systemd
 * driver on the unified hierarchy; the processes one level further down, in
 * CGROUP/NAME). *sub / *del malloc'd or NULL (absent or ""). Refused (-1, *why
 * one line naming the annotation): run.oci.systemd.force_cgroup_v1, a bad NAME,
 * delegate-cgroup without the systemd driver or without cgroup v2. */
int cg_sd_ct_annotations(const spec_map *ann, bool systemd, bool unified, char **sub,
                         char **del, char **why);
/* The scope a container cgroup path is in: path up to its last component
 * ending in ".scope" when that is the last, or one or two above it; else NULL. */
char *cg_sd_scope_of(const char *path);

/* A create whose init is not born yet: the scope starts with its pid later. */
void cg_sd_set_pending(const char *path, const spec_resources *r);
bool cg_sd_pending(const char *path);   /* NULL: any */
/* The pending path (malloc'd, into *path) and limits; nothing is pending after. */
const spec_resources *cg_sd_take_pending(char **path);

#endif
