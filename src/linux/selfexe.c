/* Running from a sealed copy of the capsa binary (see selfexe.h). */
#include "linux/selfexe.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/err.h"
#include "util/fs.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U  /* Linux 6.3: say we mean to exec it (vm.memfd_noexec) */
#endif

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

static bool already_sealed(int exefd)
{
    int seals = fcntl(exefd, F_GET_SEALS);
    return seals >= 0 && (seals & SEALS) == SEALS;
}

static int copy_all(int from, int to, off_t size)
{
    off_t done = 0;
    while (done < size) {
        ssize_t n = sendfile(to, from, NULL, (size_t)(size - done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EINVAL || errno == ENOSYS) && done == 0)
            break;  /* no sendfile between these files: plain copy below */
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        done += n;
    }
    char buf[65536];
    while (done < size) {
        ssize_t n = read(from, buf, sizeof buf);
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

/* A sealed memfd copy of what exefd holds (close-on-exec), or -errno. */
static int copy_sealed(int exefd)
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
    int memfd = copy_sealed(exefd);
    if (memfd < 0)
        return memfd;
    fexecve(memfd, argv, environ);
    int r = -errno;
    close(memfd);
    return r;
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
