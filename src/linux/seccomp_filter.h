/* linux.seccomp: validation at create time, the filter built with libseccomp and
 * loaded in the container's init, and the SCMP_ACT_NOTIFY listener hand-off.
 * Semantics follow runc so that profiles written for it (Docker's, podman's)
 * behave the same: unknown syscall names are skipped, a rule whose action is the
 * default action is skipped, several args on the same index are OR-ed. */
#ifndef CAPSA_SECCOMP_H
#define CAPSA_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>

#include <linux/filter.h>

#include "spec/spec.h"
#include "util/err.h"

/* Everything that can be wrong with the profile, checked before anything is
 * created: unknown action/operator/architecture/flag, arg index > 5, errnoRet on
 * an action that returns no value, NOTIFY without listenerPath, ... The message
 * names the JSON path: `linux.seccomp.syscalls[2].args[0].op: unknown operator
 * "SCMP_CMP_FOO"`. Returns 0 when s->present is false. */
int seccomp_check(const spec_seccomp *s, capsa_err *e);

/* Does any rule use SCMP_ACT_NOTIFY (so the load returns a listener fd)? */
bool seccomp_uses_notify(const spec_seccomp *s);

/* Build the filter now, in the runtime (from the cache of seccomp_cache.h when
 * it holds this profile), so that seccomp_install in the container's processes
 * forked afterwards only loads it. Optional: without it, install compiles. */
int seccomp_prepare(const spec_seccomp *s, capsa_err *e);
/* The program prepared for s (*n = 0 if none), and setting it from elsewhere
 * (the re-executed init gets it from the runtime; takes ownership of insns). */
void seccomp_prepared(const spec_seccomp *s, const struct sock_filter **insns, size_t *n);
void seccomp_set_prepared(const spec_seccomp *s, struct sock_filter *insns, size_t n);

/* Build and load the filter into the calling thread (all threads with
 * SECCOMP_FILTER_FLAG_TSYNC). The kernel wants no_new_privs already set or
 * CAP_SYS_ADMIN: capsa never sets no_new_privs here (that is
 * process.noNewPrivileges' job). Refuses a profile with NOTIFY rules, whose
 * listener fd would be lost: use seccomp_install_notify for those. */
int seccomp_install(const spec_seccomp *s, capsa_err *e);

/* As seccomp_install; *notify_fd receives the listener fd (O_CLOEXEC) when a
 * rule uses SCMP_ACT_NOTIFY, else -1. The caller owns and closes it. */
int seccomp_install_notify(const spec_seccomp *s, int *notify_fd, capsa_err *e);

/* Send the listener fd to the seccomp agent at listener_path (AF_UNIX stream)
 * with the runtime-spec "container process state" as payload:
 * {"ociVersion", "fds": ["seccompFd"], "pid", "metadata", "state"}. state_json
 * is the container's state (runtime-spec state.json, with "pid"); metadata is
 * linux.seccomp.listenerMetadata or NULL. One connection, closed afterwards. */
int seccomp_send_listener(const char *listener_path, int notify_fd, const char *state_json,
                          const char *metadata, capsa_err *e);

/* Names capsa accepts, for `capsa features` (linux.seccomp.actions, operators,
 * archs, knownFlags). Each returns the count, filling at most cap entries. */
size_t seccomp_known_actions(const char **out, size_t cap);
size_t seccomp_known_operators(const char **out, size_t cap);
size_t seccomp_known_archs(const char **out, size_t cap);
size_t seccomp_known_flags(const char **out, size_t cap);
/* The subset of known flags this libseccomp and kernel can apply. */
size_t seccomp_supported_flags(const char **out, size_t cap);

#endif
