#ifndef CAPSA_FS_H
#define CAPSA_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

/* Write `len` bytes to path (O_WRONLY|O_TRUNC, no create). */
int fs_write(const char *path, const char *data, size_t len, capsa_err *e);
int fs_write_str(const char *path, const char *s, capsa_err *e);
/* Read a whole file (NUL-terminated); *out malloc'd. */
int fs_read(const char *path, char **out, size_t *len, capsa_err *e);
int fs_read_fd(int fd, const char *what, char **out, size_t *len, capsa_err *e);
/* Write atomically: path.tmp + rename (no fsync: runtime state only). */
int fs_write_atomic(const char *path, const char *data, size_t len, mode_t mode, capsa_err *e);
/* The same for name relative to dirfd (AT_FDCWD: the cwd); a failed write leaves
 * the old file as it was and no name.tmp behind. */
int fs_write_atomic_at(int dirfd, const char *name, const char *data, size_t len, mode_t mode,
                       capsa_err *e);
/* mkdir -p with mode for the components created. */
int fs_mkdir_p(const char *path, mode_t mode, capsa_err *e);
/* rm -rf of a directory tree that capsa owns (no mount crossing). */
int fs_rm_rf(const char *path, capsa_err *e);
int write_all(int fd, const void *buf, size_t len);
/* sendmsg of data with fd attached (SCM_RIGHTS); 0 or -errno. */
int send_with_fd(int sock, const void *data, size_t len, int fd);

#endif
