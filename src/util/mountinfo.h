/* /proc/PID/mountinfo as the process sees it: the mount checks of `capsa
 * audit` and the host's cgroup mounts (src/cgroup/mode.c). */
#ifndef CAPSA_UTIL_MOUNTINFO_H
#define CAPSA_UTIL_MOUNTINFO_H

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
} mount_entry;

typedef struct {
    mount_entry *v;
    size_t n;
} mountinfo;

/* Parse mountinfo text (pure); malformed lines are skipped. */
void mountinfo_parse(const char *text, mountinfo *out);
int mountinfo_read(pid_t pid, mountinfo *out, capsa_err *e);
void mountinfo_free(mountinfo *m);

/* The mount that serves `path`: longest mount point that is `path` or a
 * parent directory of it; the last one (top of the stack) on ties. */
const mount_entry *mountinfo_covering(const mountinfo *m, const char *path);
/* The top mount exactly at `path`, NULL if none. */
const mount_entry *mountinfo_at(const mountinfo *m, const char *path);
bool mountinfo_ro(const mount_entry *m);
/* Is `opt` one of the comma-separated options? */
bool mountinfo_opt_has(const char *opts, const char *opt);

#endif
