/* The compiled-filter cache (seccomp_cache.h). */
#include "linux/seccomp_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/err.h"
#include "util/fs.h"
#include "util/bytes.h"

#define MAGIC "capsa-bpf-1\n"
#define MAX_INSNS 65536
#define MAX_FILES 128

/* length-prefixed, so "ab"+"c" and "a"+"bc" differ; NULL differs from "" */
static void put_str(seccomp_key *k, const char *s)
{
    if (s)
        bytes_put_sized(k, s, strlen(s));
    else
        bytes_put_u64(k, UINT64_MAX);
}

static void put_strv(seccomp_key *k, const spec_strv *v)
{
    bytes_put_u64(k, v->n);
    for (size_t i = 0; i < v->n; i++)
        put_str(k, v->v[i]);
}

void seccomp_cache_key(const spec_seccomp *s, seccomp_key *k)
{
    *k = (seccomp_key){0};
    const struct scmp_version *lv = seccomp_version();
    bytes_put(k, MAGIC, strlen(MAGIC));
    put_str(k, CAPSA_VERSION " " CAPSA_COMMIT);
    bytes_put_u64(k, ((uint64_t)lv->major << 32) | ((uint64_t)lv->minor << 16) | lv->micro);
    bytes_put_u64(k, seccomp_arch_native());
    put_str(k, s->default_action);
    bytes_put_u64(k, s->has_default_errno_ret);
    bytes_put_u64(k, s->default_errno_ret);
    put_strv(k, &s->architectures);
    put_strv(k, &s->flags);
    bytes_put_u64(k, s->n_syscalls);
    for (size_t i = 0; i < s->n_syscalls; i++) {
        const spec_seccomp_syscall *c = &s->syscalls[i];
        put_strv(k, &c->names);
        put_str(k, c->action);
        bytes_put_u64(k, c->has_errno_ret);
        bytes_put_u64(k, c->errno_ret);
        bytes_put_u64(k, c->n_args);
        for (size_t j = 0; j < c->n_args; j++) {
            bytes_put_u64(k, (uint64_t)c->args[j].index);
            bytes_put_u64(k, c->args[j].value);
            bytes_put_u64(k, c->args[j].value_two);
            put_str(k, c->args[j].op);
        }
    }
}

/* FNV-1a: names the file only */
static uint64_t key_hash(const seccomp_key *k)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < k->n; i++)
        h = (h ^ (unsigned char)k->v[i]) * 1099511628211ULL;
    return h;
}

static bool owned_private(int fd, bool dir)
{
    struct stat st;
    return fstat(fd, &st) == 0 && st.st_uid == geteuid() && !(st.st_mode & 022) &&
           (dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
}

static int open_cache_dir(bool create)
{
    const char *env = getenv("CAPSA_CACHE");
    if (env && (!strcmp(env, "off") || !*env))
        return -1;
    autofree char *dir = NULL;
    if (env)
        dir = xstrdup(env);
    else if (geteuid() == 0)
        dir = xstrdup("/run/capsa-cache");
    else if (getenv("XDG_RUNTIME_DIR") && *getenv("XDG_RUNTIME_DIR"))
        dir = xasprintf("%s/capsa-cache", getenv("XDG_RUNTIME_DIR"));
    else
        return -1;
    if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 && !owned_private(fd, true)) {
        close(fd);
        return -1;
    }
    return fd;
}

int seccomp_cache_get(const seccomp_key *k, struct sock_filter **insns, size_t *n)
{
    autoclose int dir = open_cache_dir(false);
    if (dir < 0)
        return -1;
    char name[32];
    snprintf(name, sizeof name, "%016llx.bpf", (unsigned long long)key_hash(k));
    autoclose int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || !owned_private(fd, false) || fstat(fd, &st) < 0)
        return -1;
    /* key length, key, then the instructions */
    uint64_t klen;
    size_t head = sizeof klen + k->n;
    if ((size_t)st.st_size <= head || (size_t)st.st_size - head > MAX_INSNS * sizeof **insns ||
        ((size_t)st.st_size - head) % sizeof **insns)
        return -1;
    autofree char *buf = xmalloc((size_t)st.st_size);
    if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size)
        return -1;
    memcpy(&klen, buf, sizeof klen);
    if (klen != k->n || memcmp(buf + sizeof klen, k->v, k->n))
        return -1;
    *n = ((size_t)st.st_size - head) / sizeof **insns;
    *insns = xmalloc(*n * sizeof **insns);
    memcpy(*insns, buf + head, *n * sizeof **insns);
    return 0;
}

/* Many profiles (or many capsa builds) would grow the cache without end: past
 * MAX_FILES it starts over. */
static void prune(int dir)
{
    int fd = dup(dir);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    size_t count = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        count += de->d_name[0] != '.';
    if (count >= MAX_FILES) {
        rewinddir(d);
        while ((de = readdir(d)))
            if (de->d_name[0] != '.' && strstr(de->d_name, ".bpf"))
                unlinkat(dir, de->d_name, 0);
    }
    closedir(d);
}

void seccomp_cache_put(const seccomp_key *k, const struct sock_filter *insns, size_t n)
{
    autoclose int dir = open_cache_dir(true);
    if (dir < 0 || n == 0 || n > MAX_INSNS)
        return;
    prune(dir);
    char name[32], tmp[64];
    uint64_t h = key_hash(k);
    snprintf(name, sizeof name, "%016llx.bpf", (unsigned long long)h);
    snprintf(tmp, sizeof tmp, ".%016llx.%d", (unsigned long long)h, (int)getpid());
    int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    uint64_t klen = k->n;
    bool ok = write_all(fd, &klen, sizeof klen) == 0 && write_all(fd, k->v, k->n) == 0 &&
              write_all(fd, insns, n * sizeof *insns) == 0;
    close(fd);
    /* rename: a reader sees the old file, the new one or none, never half */
    if (!ok || renameat(dir, tmp, dir, name) < 0)
        unlinkat(dir, tmp, 0);
}
