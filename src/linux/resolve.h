/* Path resolution inside a container root filesystem. The rootfs belongs to the
 * attacker: every lookup is openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS) from an
 * O_PATH fd of the root, so a symlink can never lead outside it (CVE-2021-30465). */
#ifndef CAPSA_RESOLVE_H
#define CAPSA_RESOLVE_H

#include <sys/types.h>

#include "util/err.h"

/* Open `path` (absolute or relative, taken inside root) with flags (O_CLOEXEC added). */
int root_open(int rootfd, const char *path, int flags, capsa_err *e);
/* mkdir -p inside root; returns an O_PATH|O_DIRECTORY fd of the final directory. */
int root_mkdir_p(int rootfd, const char *path, mode_t mode, capsa_err *e);
/* Create parents and an empty regular file (if missing); returns an O_PATH fd. */
int root_mkfile(int rootfd, const char *path, capsa_err *e);
/* "/proc/self/fd/N" for a resolved fd: mount(2) on it mounts on exactly that dentry. */
const char *fd_path(int fd, char buf[static 32]);

/* Open/write a file under /proc through a private, verified procfs handle:
 * no symlinks, no mount crossings ("self/..." is resolved first). */
int procfs_open(const char *rel, int flags, capsa_err *e);
int procfs_write(const char *rel, const char *buf, size_t len, capsa_err *e);

#endif
