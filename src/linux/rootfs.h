#ifndef CAPSA_ROOTFS_H
#define CAPSA_ROOTFS_H

#include <stdbool.h>

#include "spec/spec.h"
#include "util/err.h"

typedef struct {
    const spec *s;
    const char *rootfs;     /* absolute path on the host */
    bool no_pivot;
    bool in_userns;         /* a user namespace is in effect: no mknod, bind fallbacks */
    bool new_cgroupns;
    bool new_netns;
    /* Called after the mounts, before pivot_root (createRuntime and
     * createContainer hooks run here). */
    int (*before_pivot)(void *arg, capsa_err *e);
    void *arg;
} rootfs_cfg;

/* Everything from the first mount to being inside the new root: mounts, /dev,
 * sysctls, masked and read-only paths, pivot_root (or MS_MOVE + chroot). */
int rootfs_setup(const rootfs_cfg *c, capsa_err *e);

/* /dev content: default devices, linux.devices, the standard symlinks. */
int dev_setup(int rootfd, const spec *s, bool in_userns, bool dev_is_tmpfs, capsa_err *e);

#endif
