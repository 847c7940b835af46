#ifndef CAPSA_MOUNTS_H
#define CAPSA_MOUNTS_H

#include <stdbool.h>
#include <stdint.h>

#include "spec/spec.h"
#include "util/err.h"

/* Mount options of a config.json mount, split the way mount(2) and
 * mount_setattr(2) want them. Unknown options become filesystem data. */
typedef struct {
    unsigned long flags;        /* MS_* set on the mount (not propagation) */
    unsigned long clear;        /* MS_* explicitly cleared (rw, suid, dev, exec, ...) */
    unsigned long propagation;  /* MS_SHARED|MS_SLAVE|MS_PRIVATE|MS_UNBINDABLE (+MS_REC) */
    uint64_t rec_set, rec_clr;  /* MOUNT_ATTR_* for the recursive r* forms (rro, rnosuid, ...) */
    bool bind, rec;
    bool tmpcopyup;             /* copy what the tmpfs covers into it (podman --read-only) */
    char data[4096];            /* comma-joined filesystem options */
} mount_opts;

/* Every option name mount_parse_options understands (for `capsa features`). */
size_t mount_known_options(const char **out, size_t cap);

int mount_parse_options(char *const *opts, mount_opts *out, capsa_err *e);

/* Mount one config.json mount inside the root (pre-pivot). `in_userns` selects
 * bind-mount fallbacks where the kernel refuses a fresh mount. */
int mount_one(int rootfd, const spec_mount *m, bool in_userns, bool new_cgroupns,
              capsa_err *e);

/* A read-only tmpfs or /dev is mounted read-write by mount_one so that it can
 * be filled; this makes it read-only once the root is complete (no-op for
 * every other mount). */
int mount_finish_ro(int rootfd, const spec_mount *m, capsa_err *e);

/* Idmapped mounts: user-namespace fds indexed like spec->mounts (-1: none),
 * created by the runtime and inherited by init. */
void mount_set_idmap_fds(const int *fds, size_t n);
size_t mount_idmap_fds(const int **fds);
void mount_set_spec_base(const spec_mount *mounts);

/* Remember this process's cgroups (host view) before a cgroup namespace hides
 * them: cgroup mounts without a usable cgroupns bind the container's own. */
void mount_save_cgroup_view(void);

/* Apply MOUNT_ATTR_* set/clear on the mount at fd (recursively if rec). */
int mount_setattr_fd(int fd, uint64_t set, uint64_t clr, bool rec, capsa_err *e);
/* mount_opts MS_* flags -> MOUNT_ATTR_* bits */
void mount_flags_to_attr(unsigned long flags, unsigned long clear, uint64_t *set, uint64_t *clr);

#endif
