/* Running from a sealed copy of the capsa binary (see selfexe.h). */
#include "linux/selfexe.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/capability.h>
#include <linux/prctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util/err.h"
#include "util/fault.h"
#include "util/fs.h"

#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE 40  /* Linux 5.9 */
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U  /* Linux 6.3: say we mean to exec it (vm.memfd_noexec) */
#endif

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

static int swap_from(int exefd);

/* Set once this process has swapped itself onto a sealed copy: its exe can
 * change only by our own swap or an exec (which starts this over). */
static bool known_sealed;

static bool already_sealed(int exefd)
{
    int seals = fcntl(exefd, F_GET_SEALS);
    bool sealed = seals >= 0 && (seals & SEALS) == SEALS;
    known_sealed = known_sealed || sealed;
    return sealed;
}

/* pread/write, not sendfile with a NULL offset: that read from and moved
 * exefd's own file position, so a second copy from the same descriptor (the
 * fexecve copy of selfexe_ensure_sealed after a swap that failed, as for any
 * unprivileged `exec`) started at needed_size and kept only the header
 * pwrite()n over it: the kernel found no program headers and started the
 * process at the unrelocated entry (SIGSEGV). copy_matches_image() now also
 * refuses any such copy. */
static int copy_all(int from, int to, off_t size)
{
    char buf[65536];
    off_t done = 0;
    while (done < size) {
        size_t want = (size_t)(size - done) < sizeof buf ? (size_t)(size - done) : sizeof buf;
        ssize_t n = pread(from, buf, want, done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        if (write_all(to, buf, (size_t)n) < 0)
            return -errno;
        done += n;
    }
    return 0;
}

/* The copy must start with the header and program headers of the image that
 * runs now (what the kernel loaded from /proc/self/exe): a copy that lost them
 * would crash at its first instruction. The section fields may differ (the
 * copy has none). */
extern const Elf64_Ehdr __ehdr_start;

static bool copy_matches_image(int memfd)
{
    const Elf64_Ehdr *live = &__ehdr_start;
    Elf64_Ehdr eh;
    if (pread(memfd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh)
        return false;
    eh.e_shoff = live->e_shoff;
    eh.e_shnum = live->e_shnum;
    eh.e_shstrndx = live->e_shstrndx;
    if (memcmp(&eh, live, sizeof eh) || live->e_phnum > 64)
        return false;
    Elf64_Phdr ph[64];
    size_t len = (size_t)live->e_phnum * sizeof *ph;
    return pread(memfd, ph, len, (off_t)live->e_phoff) == (ssize_t)len &&
           !memcmp(ph, (const char *)live + live->e_phoff, len);
}

/* How much of the binary the copy needs: up to the end of the last segment
 * the program headers name. What follows (debug info, symbols, section
 * headers) is never loaded; leaving it out makes the copy 3-4 times smaller
 * for a -g build. The copy's header then says it has no sections. Anything
 * unexpected: the whole file. A sanitizer build keeps it all (its reports
 * read the symbols from /proc/self/exe). */
static off_t needed_size(int fd, off_t size, Elf64_Ehdr *eh)
{
#if defined(__SANITIZE_ADDRESS__)
    (void)fd;
    (void)eh;
    return size;
#else
    if (pread(fd, eh, sizeof *eh, 0) != (ssize_t)sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_phentsize != sizeof(Elf64_Phdr) ||
        eh->e_phnum == 0 || eh->e_phnum > 64)
        return size;
    Elf64_Phdr ph[64];
    size_t len = (size_t)eh->e_phnum * sizeof *ph;
    if (pread(fd, ph, len, (off_t)eh->e_phoff) != (ssize_t)len)
        return size;
    uint64_t end = eh->e_phoff + len;
    for (int i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_offset + ph[i].p_filesz > end)
            end = ph[i].p_offset + ph[i].p_filesz;
    return end < (uint64_t)size ? (off_t)end : size;
#endif
}

bool selfexe_off(void)
{
    const char *off = getenv("CAPSA_UNSAFE_NO_SEALED_EXE");
    return off && !strcmp(off, "1");
}

/* One sealed memfd copy of what exefd holds (close-on-exec), or -errno. */
static int copy_sealed_once(int exefd)
{
    struct stat st;
    if (fstat(exefd, &st) < 0)
        return -errno;
    int memfd = memfd_create("capsa", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    if (memfd < 0 && errno == EINVAL)  /* before Linux 6.3 */
        memfd = memfd_create("capsa", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (memfd < 0)
        return -errno;
    Elf64_Ehdr eh;
    off_t size = needed_size(exefd, st.st_size, &eh);
    int r = copy_all(exefd, memfd, size);
    if (r == 0 && fault_is("lose-phdrs")) {  /* test only: a copy as the old bug left it */
        char zero[512] = {0};
        if (pwrite(memfd, zero, sizeof zero, sizeof eh) != (ssize_t)sizeof zero)
            r = -errno;
    }
    if (r == 0 && size < st.st_size) {
        eh.e_shoff = 0;
        eh.e_shnum = 0;
        eh.e_shstrndx = SHN_UNDEF;
        if (pwrite(memfd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh)
            r = -errno;
    }
    if (r == 0 && fcntl(memfd, F_ADD_SEALS, SEALS) < 0)
        r = -errno;
    if (r < 0) {
        close(memfd);
        return r;
    }
    return memfd;
}

/* A sealed memfd copy of what exefd holds (close-on-exec), or -errno; one that
 * does not match the running image is made once more, then given up
 * (-ENOEXEC). */
static int copy_sealed(int exefd)
{
    for (int tries = 0; tries < 2; tries++) {
        int memfd = copy_sealed_once(exefd);
        if (memfd < 0 || copy_matches_image(memfd))
            return memfd;
        close(memfd);
    }
    return -ENOEXEC;
}

bool selfexe_sealed(void)
{
    if (known_sealed)
        return true;
    autoclose int exefd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    return exefd >= 0 && already_sealed(exefd);
}

int selfexe_sealed_fd(void)
{
    int exefd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (exefd < 0)
        return -errno;
    if (already_sealed(exefd))
        return exefd;
    int r = copy_sealed(exefd);
    close(exefd);
    return r;
}

int selfexe_ensure_sealed(int argc, char **argv)
{
    if (argc < 1 || !argv || argv[argc])
        return -EINVAL;
    if (selfexe_off())
        return 0;
    autoclose int exefd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (exefd < 0)
        return -errno;
    if (already_sealed(exefd)) {
        /* comm would otherwise be the fd number fexecve used ("3"). */
        const char *base = strrchr(argv[0], '/');
        prctl(PR_SET_NAME, base ? base + 1 : argv[0], 0, 0, 0);
        return 0;
    }
    if (swap_from(exefd) == 0)
        return 0;
    int memfd = copy_sealed(exefd);
    if (memfd < 0)
        return memfd;
    fexecve(memfd, argv, environ);
    int r = -errno;
    close(memfd);
    return r;
}

/* ---- the running process onto the sealed copy, without an exec ----
 * Every mapping of the binary is replaced, at the same address and with the
 * same protection, by a private mapping of the copy holding the same bytes
 * (pages the process has written, such as relocated data, are copied over);
 * then prctl(PR_SET_MM_EXE_FILE) points /proc/self/exe at the copy, which the
 * kernel allows only once no mapping of the old file is left. */

struct vma {
    uintptr_t start, end;
    unsigned long long off;
    int prot;
};

struct maps_line {
    unsigned long long start, end, off, ino;
    unsigned maj, min;
    char perms[8];
};

static bool maps_next(FILE *f, struct maps_line *m)
{
    char line[512];
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu", &m->start, &m->end, m->perms, &m->off,
                   &m->maj, &m->min, &m->ino) == 7)
            return true;
    return false;
}

/* The mappings of the binary in /proc/self/maps, or -errno. They are the ones
 * with the device and inode of the mapping that holds the code running now,
 * whose inode must be the one of /proc/self/exe (its device may differ from
 * stat's on btrfs or overlayfs); -ENOEXEC otherwise (under valgrind,
 * /proc/self/exe is the tool, not this program). */
static int exe_vmas(const struct stat *st, struct vma *v, int max)
{
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f)
        return -errno;
    uintptr_t me = (uintptr_t)&exe_vmas;
    struct maps_line m, self = {0};
    bool here = false;
    while (!here && maps_next(f, &m))
        if (me >= m.start && me < m.end) {
            self = m;
            here = true;
        }
    if (!here || self.ino != st->st_ino) {
        fclose(f);
        return -ENOEXEC;
    }
    rewind(f);
    int n = 0, r = 0;
    while (maps_next(f, &m)) {
        if (m.ino != self.ino || m.maj != self.maj || m.min != self.min)
            continue;
        if (n == max) {
            r = -E2BIG;
            break;
        }
        v[n++] = (struct vma){.start = (uintptr_t)m.start, .end = (uintptr_t)m.end, .off = m.off,
                              .prot = (m.perms[0] == 'r' ? PROT_READ : 0) |
                                      (m.perms[1] == 'w' ? PROT_WRITE : 0) |
                                      (m.perms[2] == 'x' ? PROT_EXEC : 0)};
    }
    fclose(f);
    return r < 0 ? r : n;
}

/* Relocations in code (DT_TEXTREL) would make code pages differ from the file:
 * the swap skips comparing code, so it refuses such a binary (capsa is linked
 * with -z text; this guards against a build that dropped the flag). */
extern ElfW(Dyn) _DYNAMIC[] __attribute__((weak));

static bool text_relocated(void)
{
    for (const ElfW(Dyn) *d = _DYNAMIC; d && d->d_tag != DT_NULL; d++)
        if (d->d_tag == DT_TEXTREL || (d->d_tag == DT_FLAGS && (d->d_un.d_val & DF_TEXTREL)))
            return true;
    return false;
}

/* One mapping of the binary onto the copy: map the copy's bytes elsewhere,
 * make every page equal to the live one, then move it over the original. */
static int swap_vma(const struct vma *v, int memfd)
{
    size_t len = v->end - v->start, pg = (size_t)sysconf(_SC_PAGESIZE);
    char *tmp = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, memfd, (off_t)v->off);
    if (tmp == MAP_FAILED)
        return -errno;
    /* A mapping that cannot be read was never read or written either; code
     * is never written (the binary is linked with -z text: no relocations in
     * it), so only data and relocated read-only data are compared. */
    const char *live = (const char *)v->start;
    bool written = (v->prot & PROT_READ) && (!(v->prot & PROT_EXEC) || (v->prot & PROT_WRITE));
    for (size_t o = 0; written && o < len; o += pg)
        if (memcmp(tmp + o, live + o, pg))
            memcpy(tmp + o, live + o, pg);
    /* mremap unmaps the target before it moves the pages there; should the
     * move itself then fail (out of memory), the original is gone and the
     * process dies on its next touch of it. It cannot be made atomic. */
    if (mprotect(tmp, len, v->prot) < 0 ||
        mremap(tmp, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)v->start) == MAP_FAILED)
        goto fail;
    return 0;
fail:;
    int r = -errno;
    munmap(tmp, len);
    return r;
}

/* PR_SET_MM_EXE_FILE needs CAP_SYS_RESOURCE; PR_SET_MM_MAP does the same with
 * CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN instead, but wants the whole layout,
 * which is handed back unchanged (from /proc/self/stat and brk). */
static int set_exe_file(int fd)
{
    if (prctl(PR_SET_MM, PR_SET_MM_EXE_FILE, fd, 0, 0) == 0)
        return 0;
    if (errno != EPERM)
        return -errno;
    char buf[1024];
    autoclose int sfd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    ssize_t n = sfd < 0 ? -1 : read(sfd, buf, sizeof buf - 1);
    if (n <= 0)
        return -EPERM;
    buf[n] = 0;
    /* fields after the command name's ')' start at field 3 */
    char *p = strrchr(buf, ')');
    unsigned long long f[53] = {0};
    for (int i = 3; p && i <= 51; i++) {
        p = strchr(p + 1, ' ');
        if (p)
            f[i] = strtoull(p + 1, NULL, 10);
    }
    if (!p)
        return -EPERM;
    struct prctl_mm_map m = {
        .start_code = f[26], .end_code = f[27], .start_stack = f[28],
        .start_data = f[45], .end_data = f[46], .start_brk = f[47],
        .brk = (uint64_t)syscall(SYS_brk, 0),
        .arg_start = f[48], .arg_end = f[49], .env_start = f[50], .env_end = f[51],
        .exe_fd = (uint32_t)fd,
    };
    if (prctl(PR_SET_MM, PR_SET_MM_MAP, &m, sizeof m, 0) < 0)
        return -errno;
    return 0;
}

#if defined(__SANITIZE_ADDRESS__)
static const bool sanitizer = true;  /* its own bookkeeping of mappings: keep the exec */
#else
static const bool sanitizer = false;
#endif

/* Whether set_exe_file can succeed: without one of its capabilities (an
 * unprivileged user) the swap is not tried at all. */
static bool may_set_exe_file(void)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[2] = {{0}};
    if (syscall(SYS_capget, &h, d) < 0)
        return true;  /* let prctl decide */
    uint64_t eff = (uint64_t)d[1].effective << 32 | d[0].effective;
    uint64_t any = 1ULL << CAP_SYS_RESOURCE | 1ULL << CAP_SYS_ADMIN | 1ULL << CAP_CHECKPOINT_RESTORE;
    return (eff & any) != 0;
}

/* The swap, given an fd of /proc/self/exe that is not sealed yet. */
static int swap_from(int exefd)
{
    if (sanitizer || fault_is("no-swap") || text_relocated())
        return -ENOTSUP;
    if (!may_set_exe_file())
        return -EPERM;
    struct stat st;
    if (fstat(exefd, &st) < 0)
        return -errno;
    struct vma v[32];
    int n = exe_vmas(&st, v, 32);
    if (n < 0)
        return n;
    autoclose int memfd = copy_sealed(exefd);
    if (memfd < 0)
        return memfd;
    for (int i = 0; i < n; i++) {
        int r = swap_vma(&v[i], memfd);
        if (r < 0)
            return r;  /* the mappings swapped so far hold the same bytes */
    }
    int r = set_exe_file(memfd);
    if (r == 0)
        known_sealed = true;
    return r;
}

int selfexe_swap(void)
{
    if (known_sealed)
        return 0;
    if (sanitizer || fault_is("no-swap"))
        return -ENOTSUP;
    autoclose int exefd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (exefd < 0)
        return -errno;
    return already_sealed(exefd) ? 0 : swap_from(exefd);
}

static int saved_argc;
static char **saved_argv;

void selfexe_remember(int argc, char **argv)
{
    saved_argc = argc;
    saved_argv = argv;
}

int selfexe_ensure_sealed_again(void)
{
    return saved_argv ? selfexe_ensure_sealed(saved_argc, saved_argv) : -EINVAL;
}
