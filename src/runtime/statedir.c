/* <root>/<id>/: opening, locking and claiming a container's state directory.
 *
 * The directory's flock is the container's lock: create holds it (LOCK_EX) from
 * the moment the directory appears until state.json names init; kill, start,
 * delete, exec and the resource verbs take it (LOCK_EX) for their work. state
 * and list only peek: they must answer while a slow create or a delete runs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/container.h"
#include "util/fs.h"
#include "util/names.h"

#define CLAIM_PREFIX ".create-"

static int open_dir(const rt_ctx *c, const char *id, int *dirfd, capsa_err *e)
{
    int r = id_validate(id, e);
    if (r < 0)
        return r;
    autofree char *path = xasprintf("%s/%s", c->root, id);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return cerr_set(e, ENOENT, "container \"%s\" does not exist", id);
        return cerr_sys(e, errno, "open %s", path);
    }
    *dirfd = fd;
    return 0;
}

/* Locked or not: a delete may have removed the directory meanwhile. */
static int still_there(int fd, const char *id, capsa_err *e)
{
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_nlink == 0) {
        close(fd);
        return cerr_set(e, ENOENT, "container \"%s\" does not exist", id);
    }
    return 0;
}

static int lock(int fd, int how)
{
    while (flock(fd, how) < 0)
        if (errno != EINTR)
            return -errno;
    return 0;
}

int ct_open_locked(const rt_ctx *c, const char *id, int *dirfd, capsa_err *e)
{
    int fd, r = open_dir(c, id, &fd, e);
    if (r < 0)
        return r;
    if ((r = lock(fd, LOCK_EX)) < 0) {
        close(fd);
        return cerr_sys(e, -r, "lock %s/%s", c->root, id);
    }
    if ((r = still_there(fd, id, e)) < 0)
        return r;
    *dirfd = fd;
    return 0;
}

int ct_open_peek(const rt_ctx *c, const char *id, int *dirfd, bool *busy, capsa_err *e)
{
    int fd, r = open_dir(c, id, &fd, e);
    if (r < 0)
        return r;
    *busy = lock(fd, LOCK_SH | LOCK_NB) == -EWOULDBLOCK;
    if ((r = still_there(fd, id, e)) < 0)
        return r;
    *dirfd = fd;
    return 0;
}

int ct_peek_state(const rt_ctx *c, const char *id, int *dirfd, cstate *st, bool *busy,
                  capsa_err *e)
{
    int r = ct_open_peek(c, id, dirfd, busy, e);
    if (r < 0)
        return r;
    r = state_read(*dirfd, st, e);
    if (r == -ENOENT && *busy) {
        /* A visible directory without state.json is being deleted right now
         * (create renames it into place with state.json inside): wait for the
         * delete, then see what is left. */
        if ((r = lock(*dirfd, LOCK_SH)) < 0) {
            close(*dirfd);
            return cerr_sys(e, -r, "lock %s/%s", c->root, id);
        }
        *busy = false;
        if ((r = still_there(*dirfd, id, e)) < 0)
            return r;
        r = state_read(*dirfd, st, e);
    }
    if (r < 0)
        r = ct_state_error(r, id, e);
    if (r < 0)
        close(*dirfd);
    return r;
}

int ct_state_error(int r, const char *id, capsa_err *e)
{
    if (r == -ENOENT)
        return cerr_set(e, EUCLEAN, "container \"%s\" has no state.json (damaged; delete "
                                    "--force removes it)", id);
    static const char hint[] = " (delete --force removes it)";
    size_t n = strlen(e->msg);
    if (n + sizeof hint <= sizeof e->msg)
        memcpy(e->msg + n, hint, sizeof hint);
    return -e->code;
}

/* A claim directory whose creator is gone (killed between mkdir and rename). */
static void remove_stale_claim(int rootfd, const char *root, const char *name)
{
    char *end;
    long pid = strtol(name + strlen(CLAIM_PREFIX), &end, 10);
    if (*end || pid <= 0 || (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
        return;
    autoclose int fd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
        return;
    autofree char *path = xasprintf("%s/%s", root, name);
    capsa_err ignore;
    fs_rm_rf(path, &ignore);
}

void ct_remove_stale_claims(const rt_ctx *c)
{
    autoclose int rootfd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = rootfd < 0 ? NULL : fdopendir(dup(rootfd));
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)))
        if (!strncmp(de->d_name, CLAIM_PREFIX, strlen(CLAIM_PREFIX)))
            remove_stale_claim(rootfd, c->root, de->d_name);
    closedir(d);
}

int ct_claim(const rt_ctx *c, const char *id, const cstate *st, int *dirfd, capsa_err *e)
{
    int r = fs_mkdir_p(c->root, 0711, e);
    if (r < 0)
        return cerr_wrap(e, "state root");
    autoclose int rootfd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return cerr_sys(e, errno, "open state root %s", c->root);
    if (faccessat(rootfd, id, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        return cerr_set(e, EEXIST, "container \"%s\" already exists", id);
    char tmp[64];
    snprintf(tmp, sizeof tmp, CLAIM_PREFIX "%d", (int)getpid());
    if (mkdirat(rootfd, tmp, 0711) < 0)
        return cerr_sys(e, errno, "create state directory in %s", c->root);
    int fd = openat(rootfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || flock(fd, LOCK_EX) < 0)
        r = cerr_sys(e, errno, "lock state directory %s/%s", c->root, tmp);
    if (r == 0 && st->cgroup_path)
        r = state_write_cgroup(fd, st->cgroup_path, e);
    if (r == 0)
        r = state_write(fd, st, e);
    if (r == 0 && renameat2(rootfd, tmp, rootfd, id, RENAME_NOREPLACE) < 0) {
        if (errno == EEXIST)
            r = cerr_set(e, EEXIST, "container \"%s\" already exists", id);
        else
            r = cerr_sys(e, errno, "create state directory %s/%s", c->root, id);
    }
    if (r < 0) {
        autofree char *path = xasprintf("%s/%s", c->root, tmp);
        capsa_err ignore;
        fs_rm_rf(path, &ignore);
        if (fd >= 0)
            close(fd);
        return r;
    }
    *dirfd = fd;
    return 0;
}
