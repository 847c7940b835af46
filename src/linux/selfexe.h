/* CVE-2019-5736: a container process that reaches the runtime's binary through
 * /proc/PID/exe (for instance by making its /bin/sh "#!/proc/self/exe" and
 * waiting for `capsa exec`) could reopen it for writing and replace the host's
 * capsa. The verbs that put processes into containers therefore run from a
 * sealed in-memory copy of the binary, never from the host file. */
#ifndef CAPSA_SELFEXE_H
#define CAPSA_SELFEXE_H

#include <stdbool.h>

/* If /proc/self/exe is not already a sealed memfd, swap to one without an exec
 * (selfexe_swap below); when that is refused, copy the binary into one
 * (MFD_CLOEXEC|MFD_ALLOW_SEALING, sealed against write, grow, shrink and further
 * sealing) and fexecve it with the same argv and environment: on success this
 * does not return. Returns 0 when already running from a sealed copy, or a
 * negative errno (the caller must not go on to create container processes).
 * The copy is made in the caller's cgroup, before any container cgroup exists,
 * so it is never charged to a container's memory limit.
 *
 * CAPSA_UNSAFE_NO_SEALED_EXE=1 in the environment skips the copy; it exists for
 * the escape test that shows the attack works without the protection and for
 * `make valgrind` (valgrind --trace-children=no would not follow the fexecve
 * into the copy, so it would check nothing), and is never needed otherwise (anyone who sets capsa's environment could also set
 * LD_PRELOAD, so it gives an attacker nothing new). */
int selfexe_ensure_sealed(int argc, char **argv);

/* A close-on-exec fd of a sealed copy of the binary (or of the running sealed
 * binary itself) to fexecve, or a negative errno. `create` uses it to re-execute
 * the container's init alone (src/linux/reinit.c): the copy is made by the
 * runtime, in its own cgroup, before init exists. */
int selfexe_sealed_fd(void);

/* The cheap way to the same end, for a process that has not yet made any
 * container process: without an exec, swap every mapping of the binary for one
 * of a sealed copy holding the same bytes, then point /proc/self/exe at the
 * copy (prctl PR_SET_MM_EXE_FILE, which needs CAP_SYS_RESOURCE and refuses while
 * any mapping of the old file is left). Everything it forks afterwards runs
 * from the copy too. 0 when done (or already running from a sealed copy), or a
 * negative errno: the caller then re-executes (selfexe_ensure_sealed, reinit.h).
 * Refused under a sanitizer and under valgrind (whose /proc/self/exe is the
 * tool), where the exec is kept. */
int selfexe_swap(void);

/* main() remembers its arguments; a verb that finds out late that it must run
 * from a sealed copy (create with a user namespace: see reinit.h) calls
 * selfexe_ensure_sealed_again() before it has changed anything. */
void selfexe_remember(int argc, char **argv);
int selfexe_ensure_sealed_again(void);

/* Whether /proc/self/exe is a sealed copy already. */
bool selfexe_sealed(void);

/* CAPSA_UNSAFE_NO_SEALED_EXE=1 (see above). */
bool selfexe_off(void);

#endif
