/* /proc/PID/mountinfo as the process sees it, for the mount checks of
 * `capsa audit`. */
#ifndef CAPSA_OBSERVE_MOUNTINFO_H
#define CAPSA_OBSERVE_MOUNTINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

typedef struct {
    int id, parent;
    unsigned major, minor;
    char *root;       /* path inside the filesystem ("/" or a bind source) */
    char *mnt;        /* mount point, unescaped */
    char *opts;       /* per-mount options: "ro,nosuid,..." */
    char *fstype, *source, *super_opts;
} obs_mount;

typedef struct {
    obs_mount *v;
    size_t n;
} obs_mounts;

/* Parse mountinfo text (pure); malformed lines are skipped. */
void obs_mounts_parse(const char *text, obs_mounts *out);
int obs_mounts_read(pid_t pid, obs_mounts *out, capsa_err *e);
void obs_mounts_free(obs_mounts *m);

/* The mount that serves `path`: longest mount point that is `path` or a
 * parent directory of it; the last one (top of the stack) on ties. */
const obs_mount *obs_mount_covering(const obs_mounts *m, const char *path);
/* The top mount exactly at `path`, NULL if none. */
const obs_mount *obs_mount_at(const obs_mounts *m, const char *path);
bool obs_mount_ro(const obs_mount *m);
/* Is `opt` one of the comma-separated options? */
bool obs_opt_has(const char *opts, const char *opt);

#endif
