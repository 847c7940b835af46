/* The container's init re-executed from a sealed copy of capsa (CVE-2019-5736)
 * without the runtime itself re-executing first.
 *
 * `create` no longer re-executes the whole command: the runtime makes a sealed
 * copy of its binary (selfexe_sealed_fd) and writes what init needs into a
 * memfd, the "init blob": the config.json bytes it parsed, the process
 * environment as the runtime computed it, rootfs and bundle, the flags, the
 * idmapped-mount user namespaces and the compiled seccomp program. The freshly
 * cloned init execs the copy as `capsa __init BLOBFD SOCKFD`, parses the blob
 * and goes on with its setup, while the runtime puts it in its cgroup at the
 * same time. The container never sees the host's binary: init runs from the
 * sealed copy before anything can reach it (it is the only process of its new
 * pid namespace until it execs the user's program). */
#ifndef CAPSA_REINIT_H
#define CAPSA_REINIT_H

#include "linux/linux.h"

/* The blob for c (close-on-exec memfd) or a negative errno. */
int reinit_write_blob(const spawn_cfg *c);

/* In the cloned init: exec the sealed copy exe_fd with the blob and the sync
 * socket (runtime / runtime_exe_fd: the runtime's pid and its descriptor of the
 * same copy, for an emulator that cannot fexecve). Returns only on failure. */
int reinit_exec(int exe_fd, int blob_fd, int sock, int state_dirfd, pid_t runtime,
                int runtime_exe_fd);

/* `capsa __init BLOBFD SOCKFD`: rebuild the setup and continue as init. */
__attribute__((noreturn)) void reinit_main(int argc, char **argv);

#endif
