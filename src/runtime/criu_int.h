/* Private to src/runtime/criu*.c, the module that talks to CRIU (criu.h):
 * libcriu's entry points (loaded by criu.c), the helpers dump and restore
 * share, and the joined-namespace rules (criu_ns.c). */
#ifndef CAPSA_CRIU_INT_H
#define CAPSA_CRIU_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "runtime/criu.h"
#include "spec/spec.h"
#include "util/err.h"

typedef struct criu_opts criu_opts;
struct cr_features { bool mem_track, lazy_pages, pidfd_store; };

/* libcriu's criu_local_* functions, resolved by cr_probe() (criu.c). */
typedef struct {
    void *h;
    int (*init_opts)(criu_opts **);
    void (*free_opts)(criu_opts *);
    int (*set_service_binary)(criu_opts *, const char *);
    void (*set_pid)(criu_opts *, int);
    void (*set_images_dir_fd)(criu_opts *, int);
    void (*set_work_dir_fd)(criu_opts *, int);
    int (*set_parent_images)(criu_opts *, const char *);
    void (*set_leave_running)(criu_opts *, bool);
    void (*set_ext_unix_sk)(criu_opts *, bool);
    void (*set_tcp_established)(criu_opts *, bool);
    void (*set_shell_job)(criu_opts *, bool);
    void (*set_file_locks)(criu_opts *, bool);
    void (*set_track_mem)(criu_opts *, bool);
    void (*set_log_level)(criu_opts *, int);
    int (*set_log_file)(criu_opts *, const char *);
    int (*set_root)(criu_opts *, const char *);
    int (*set_freeze_cgroup)(criu_opts *, const char *);
    void (*set_manage_cgroups)(criu_opts *, bool);
    void (*set_manage_cgroups_mode)(criu_opts *, int);   /* enum criu_cg_mode */
    int (*add_ext_mount)(criu_opts *, const char *, const char *);
    int (*add_cg_root)(criu_opts *, const char *, const char *);
    int (*add_inherit_fd)(criu_opts *, int, const char *);
    int (*add_external)(criu_opts *, const char *);
    int (*join_ns_add)(criu_opts *, const char *, const char *, const char *);
    void (*set_orphan_pts_master)(criu_opts *, bool);
    void (*set_notify_cb)(criu_opts *, int (*)(char *, void *));
    int (*get_orphan_pts_master_fd)(void);   /* criu_get_orphan_pts_master_fd (global) */
    int (*dump)(criu_opts *);
    int (*pre_dump)(criu_opts *);
    int (*restore_child)(criu_opts *);
    int (*get_version)(criu_opts *);
    int (*feature_check)(criu_opts *, struct cr_features *, size_t);
} cr_lib;

extern cr_lib crl;

/* enum criu_cg_mode of criu.h (CRIU 4.x) */
enum { CR_CG_IGNORE = 0, CR_CG_SOFT = 3, CR_CG_FULL = 4, CR_CG_STRICT = 5 };

/* What the images need besides CRIU's own files, kept in the image directory. */
#define CR_STDIO_FILE "capsa-stdio"     /* three lines: the inherit key of fd 0, 1, 2 */
#define CR_MOUNTS_FILE "capsa-mounts"   /* "bind\tDEST" or "null\tDEST" lines */

/* New libcriu options talking to the probed binary; NULL on allocation failure. */
criu_opts *cr_new_opts(void);
/* 0 if CRIU is usable, else one line naming why (errno ENOSYS). */
int cr_need(const char *verb, capsa_err *e);
/* --manage-cgroups-mode NAME (default soft) -> CR_CG_*. */
int cr_cg_mode(const char *m, int *mode, capsa_err *e);
/* The error of a failed CRIU call r, quoting the first error line of its log. */
int cr_failed(int r, const char *what, const char *workpath, int workfd, const char *log,
              capsa_err *e);
/* A bind mount (type "bind" or a bind/rbind option)? */
bool cr_is_bind(const spec_mount *m);
/* Open directory PATH (mkdir -p first if create). */
int cr_open_dir(const char *path, bool create, int *fd, capsa_err *e);

/* ---- namespaces joined by path (criu_ns.c) ----
 * As runc: a joined network or pid namespace is external to the checkpoint
 * ("--external net[INODE]:extRootNetNS" at dump; at restore the namespace the
 * restore bundle names is handed to CRIU as an inherited fd with that key); a
 * joined uts, ipc or time namespace is joined again at restore (CRIU's join-ns).
 * Joined mount, user and cgroup namespaces are refused. */

/* Refuse what cannot be checkpointed or restored (one line naming it). */
int cr_spec_check(const spec *s, capsa_err *e);
/* At dump: mark init's joined net/pid namespaces external. */
int cr_ns_dump(criu_opts *o, const spec *s, pid_t pid, capsa_err *e);
/* At restore: hand the restore bundle's joined namespaces to CRIU. The fds
 * opened for it go into fds[0..*n) (the caller closes them after the restore). */
#define CR_NS_FDS 2
int cr_ns_restore(criu_opts *o, const spec *s, int fds[CR_NS_FDS], int *n, capsa_err *e);

#endif
