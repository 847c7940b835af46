/* The init blob and the re-executed init (reinit.h). */
#include "linux/reinit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <signal.h>

#include "linux/mounts.h"
#include "linux/seccomp_filter.h"
#include "linux/sync.h"
#include "util/bytes.h"
#include "util/fs.h"

#define MAGIC "capsa-init-1"

extern char **environ;

/* reading it back */
typedef struct {
    char *v;
    size_t n, off;
} blob;

/* strings with their NUL, so that init can use them where they lie */
static void put_str(bytes *b, const char *s)
{
    bytes_put_sized(b, s, strlen(s) + 1);
}

int reinit_write_blob(const spawn_cfg *c)
{
    bytes b = {0};
    bytes_put(&b, MAGIC, sizeof MAGIC);
    bytes_put_u64(&b, (uint64_t)(int64_t)c->state_dirfd);
    bytes_put_u64(&b, (uint64_t)c->preserve_fds);
    bytes_put_u64(&b, c->no_pivot);
    bytes_put_u64(&b, c->no_new_keyring);
    bytes_put_sized(&b, c->config_text, c->config_len);
    put_str(&b, c->s->fname);
    put_str(&b, c->rootfs);
    put_str(&b, c->bundle);
    const spec_strv *env = &c->s->process.env;
    bytes_put_u64(&b, env->n);
    for (size_t i = 0; i < env->n; i++)
        put_str(&b, env->v[i]);
    const int *ids;
    size_t n = mount_idmap_fds(&ids);
    bytes_put_u64(&b, n);
    for (size_t i = 0; i < n; i++)
        bytes_put_u64(&b, (uint64_t)(int64_t)ids[i]);
    const struct sock_filter *insns = NULL;
    size_t ninsns = 0;
    seccomp_prepared(&c->s->linux.seccomp, &insns, &ninsns);
    bytes_put_sized(&b, insns, ninsns * sizeof *insns);

    int fd = memfd_create("capsa-init", MFD_CLOEXEC);
    int r = fd < 0 ? -errno : write_all(fd, b.v, b.n);
    free(b.v);
    if (r < 0) {
        if (fd >= 0)
            close(fd);
        return r;
    }
    return fd;
}

/* What crosses the exec (then close-on-exec again in reinit_main): the state
 * directory and the idmapped mounts' user namespaces. */
static int set_cloexec(int state_dirfd, bool on)
{
    const int *ids;
    size_t n = mount_idmap_fds(&ids);
    int flag = on ? FD_CLOEXEC : 0;
    if (state_dirfd >= 0 && fcntl(state_dirfd, F_SETFD, flag) < 0)
        return -errno;
    for (size_t i = 0; i < n; i++)
        if (ids[i] >= 0 && fcntl(ids[i], F_SETFD, flag) < 0)
            return -errno;
    return 0;
}

int reinit_exec(int exe_fd, int blob_fd, int sock, int state_dirfd, pid_t runtime,
                int runtime_exe_fd)
{
    char a1[16], a2[16];
    snprintf(a1, sizeof a1, "%d", blob_fd);
    snprintf(a2, sizeof a2, "%d", sock);
    /* the blob and the socket cross the exec too; the copy itself is the exe */
    if (fcntl(blob_fd, F_SETFD, 0) < 0 || fcntl(sock, F_SETFD, 0) < 0 ||
        set_cloexec(state_dirfd, false) < 0)
        return -errno;
    char *argv[] = {"capsa", "__init", a1, a2, NULL};
    fexecve(exe_fd, argv, environ);
    if (errno != ENOENT)
        return -errno;
    /* An emulator that resolves /proc/self with its own idea of our pid (1 in
     * the new pid namespace): valgrind. The same sealed copy, through the
     * runtime's descriptor for it. */
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)runtime, runtime_exe_fd);
    execve(path, argv, environ);
    return -errno;
}

/* ---- after the exec ---- */

static bool get(blob *b, void *p, size_t n)
{
    if (b->n - b->off < n)
        return false;
    memcpy(p, b->v + b->off, n);
    b->off += n;
    return true;
}

static bool get_u64(blob *b, uint64_t *v)
{
    return get(b, v, sizeof *v);
}

/* a pointer into the blob (which lives as long as init) */
static const char *get_bytes(blob *b, size_t *n)
{
    uint64_t len;
    if (!get_u64(b, &len) || b->n - b->off < len)
        return NULL;
    const char *p = b->v + b->off;
    b->off += len;
    *n = len;
    return p;
}

static const char *get_str(blob *b)
{
    size_t n;
    const char *p = get_bytes(b, &n);
    return p && n && !p[n - 1] ? p : NULL;
}

static int read_blob(int fd, blob *b)
{
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size <= 0)
        return -EINVAL;
    b->n = (size_t)st.st_size;
    b->v = xmalloc(b->n);
    b->off = 0;
    if (pread(fd, b->v, b->n, 0) != (ssize_t)b->n)
        return -EIO;
    char magic[sizeof MAGIC];
    return get(b, magic, sizeof magic) && !memcmp(magic, MAGIC, sizeof MAGIC) ? 0 : -EINVAL;
}

static int rebuild(blob *b, spawn_cfg *c, capsa_err *e)
{
    uint64_t dirfd, preserve, no_pivot, no_keyring, n_env, n_ids;
    size_t text_len, bpf_len;
    const char *text, *fname, *rootfs, *bundle;
    if (!get_u64(b, &dirfd) || !get_u64(b, &preserve) || !get_u64(b, &no_pivot) ||
        !get_u64(b, &no_keyring) || !(text = get_bytes(b, &text_len)) || !(fname = get_str(b)) ||
        !(rootfs = get_str(b)) || !(bundle = get_str(b)) || !get_u64(b, &n_env) ||
        n_env > b->n)
        return cerr_set(e, EPROTO, "init: bad setup blob");
    spec *s = NULL;
    int r = spec_parse(text, text_len, fname, &s, e);
    if (r < 0)
        return r;
    /* the environment as the runtime made it (LISTEN_FDS, ...) */
    spec_strv *env = &s->process.env;
    for (size_t i = 0; i < env->n; i++)
        free(env->v[i]);
    env->v = xrealloc(env->v, (n_env + 1) * sizeof *env->v);
    env->n = 0;
    for (uint64_t i = 0; i < n_env; i++) {
        const char *v = get_str(b);
        if (!v)
            return cerr_set(e, EPROTO, "init: bad setup blob (env)");
        env->v[env->n++] = xstrdup(v);
    }
    env->v[env->n] = NULL;
    if (!get_u64(b, &n_ids) || n_ids > b->n)
        return cerr_set(e, EPROTO, "init: bad setup blob (idmaps)");
    int *ids = xcalloc(n_ids + 1, sizeof *ids);
    for (uint64_t i = 0; i < n_ids; i++) {
        uint64_t v;
        if (!get_u64(b, &v))
            return cerr_set(e, EPROTO, "init: bad setup blob (idmaps)");
        ids[i] = (int)(int64_t)v;
    }
    mount_set_idmap_fds(ids, n_ids);
    const char *bpf = get_bytes(b, &bpf_len);
    if (!bpf || bpf_len % sizeof(struct sock_filter))
        return cerr_set(e, EPROTO, "init: bad setup blob (seccomp)");
    if (bpf_len) {
        struct sock_filter *insns = xmalloc(bpf_len);
        memcpy(insns, bpf, bpf_len);
        seccomp_set_prepared(&s->linux.seccomp, insns, bpf_len / sizeof *insns);
    }
    *c = (spawn_cfg){.s = s, .rootfs = rootfs, .bundle = bundle, .state_dirfd = (int)dirfd,
                     .no_pivot = no_pivot, .no_new_keyring = no_keyring,
                     .preserve_fds = (int)preserve, .config_text = text,
                     .config_len = text_len, .exe_fd = -1, .blob_fd = -1};
    return 0;
}

void reinit_main(int argc, char **argv)
{
    /* exec made us dumpable again: not for a moment longer than needed */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    prctl(PR_SET_NAME, "capsa", 0, 0, 0);
    if (argc != 4)
        _exit(127);
    int blob_fd = atoi(argv[2]), sock = atoi(argv[3]);
    if (fcntl(sock, F_SETFD, FD_CLOEXEC) < 0)
        _exit(127);
    capsa_err e = {0};
    static blob b;   /* lives as long as init: the cfg points into it */
    spawn_cfg c;
    if (read_blob(blob_fd, &b) < 0)
        cerr_set(&e, EPROTO, "init: cannot read its setup blob");
    close(blob_fd);
    if (e.code || rebuild(&b, &c, &e) < 0)
        sync_die(sock, &e);
    set_cloexec(c.state_dirfd, true);
    linux_init_continue(&c, sock);
}
