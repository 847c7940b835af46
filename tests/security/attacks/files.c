/* Attacks through the file system: writable kernel knobs, masked files, device
 * nodes, descriptors leaked in from the host. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common.h"

/* Read PATH and write the same bytes back: proves the file is writable without
 * changing the host. */
int attack_write_same(int argc, char **argv)
{
    NEED_ARGS(2);
    char buf[4096];
    int fd = (int)TRY("open-read", open(argv[1], O_RDONLY | O_CLOEXEC));
    ssize_t n = TRY("read", read(fd, buf, sizeof buf));
    close(fd);
    fd = (int)TRY("open-write", open(argv[1], O_WRONLY | O_CLOEXEC));
    TRY("write", write(fd, buf, (size_t)n));
    close(fd);
    ok("wrote %zd bytes (the value already there) to %s", n, argv[1]);
}

/* Only open PATH for writing, never write: for files where any write acts. */
int attack_open_wr(int argc, char **argv)
{
    NEED_ARGS(2);
    int fd = (int)TRY("open-write", open(argv[1], O_WRONLY | O_CLOEXEC));
    close(fd);
    ok("opened %s for writing", argv[1]);
}

int attack_read(int argc, char **argv)
{
    NEED_ARGS(2);
    char buf[4096];
    int fd = (int)TRY("open", open(argv[1], O_RDONLY | O_CLOEXEC));
    ssize_t n = TRY("read", read(fd, buf, sizeof buf - 1));
    close(fd);
    buf[n] = 0;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] < 32 || buf[i] > 126)
            buf[i] = '.';
    ok("%zd %.60s", n, buf);
}

int attack_list(int argc, char **argv)
{
    NEED_ARGS(2);
    DIR *d = opendir(argv[1]);
    if (!d)
        fail("opendir", errno);
    int n = 0;
    char names[512] = "";
    for (struct dirent *de; (de = readdir(d));) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        n++;
        if (strlen(names) + strlen(de->d_name) + 2 < sizeof names) {
            strcat(names, " ");
            strcat(names, de->d_name);
        }
    }
    closedir(d);
    ok("%d%s", n, names);
}

static const char *kind(mode_t m)
{
    return S_ISREG(m) ? "reg" : S_ISDIR(m) ? "dir" : S_ISCHR(m) ? "chr" : S_ISBLK(m) ? "blk"
         : S_ISLNK(m) ? "lnk" : S_ISFIFO(m) ? "fifo" : "other";
}

/* stat PATH [nofollow]: type, device numbers, owner device/inode. */
int attack_stat(int argc, char **argv)
{
    NEED_ARGS(2);
    struct stat st;
    int flags = argc > 2 && !strcmp(argv[2], "nofollow") ? AT_SYMLINK_NOFOLLOW : 0;
    TRY("stat", fstatat(AT_FDCWD, argv[1], &st, flags));
    ok("%s %u:%u dev=%u:%u ino=%llu", kind(st.st_mode), major(st.st_rdev), minor(st.st_rdev),
       major(st.st_dev), minor(st.st_dev), (unsigned long long)st.st_ino);
}

/* A block device node of the host (its disk), opened and read. */
int attack_mknod_blk(int argc, char **argv)
{
    NEED_ARGS(3);
    const char *node = "/dev/capsa-attack-disk";
    unlink(node);
    TRY("mknod", mknod(node, S_IFBLK | 0600, makedev(atoi(argv[1]), atoi(argv[2]))));
    int fd = open(node, O_RDONLY | O_CLOEXEC);
    int err = errno;
    unlink(node);
    if (fd < 0)
        fail("open", err);
    char sector[512];
    ssize_t n = read(fd, sector, sizeof sector);
    close(fd);
    ok("opened block device %s:%s of the host and read %zd bytes", argv[1], argv[2], n);
}

/* Any descriptor beyond stdio that leads somewhere: CVE-2024-21626 leaked a
 * directory fd of the host; `fds MARKER` also tries to open MARKER relative to
 * each directory fd (a file that exists only on the host). */
int attack_fds(int argc, char **argv)
{
    const char *marker = argc > 1 ? argv[1] : NULL;
    char found[1024] = "";
    for (int fd = 3; fd < 1024; fd++) {
        struct stat st;
        if (fstat(fd, &st) < 0)
            continue;
        char link[64], target[256] = "?";
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n > 0)
            target[n] = 0;
        if (marker && S_ISDIR(st.st_mode)) {
            int m = openat(fd, marker, O_RDONLY | O_CLOEXEC);
            if (m >= 0) {
                char buf[128] = "";
                ssize_t k = read(m, buf, sizeof buf - 1);
                if (k > 0)
                    buf[strcspn(buf, "\n")] = 0;
                ok("fd %d (%s) reaches the host: %s says \"%s\"", fd, target, marker, buf);
            }
        }
        size_t len = strlen(found);
        snprintf(found + len, sizeof found - len, " %d:%s", fd, target);
    }
    if (*found)
        ok("open descriptors:%s", found);
    fail("no-descriptor", EBADF);
}

int attack_whoami(int argc, char **argv)
{
    (void)argc, (void)argv;
    uid_t r, e, s;
    getresuid(&r, &e, &s);
    ok("uid=%u euid=%u suid=%u", r, e, s);
}
