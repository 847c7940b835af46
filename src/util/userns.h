/* Whether capsa runs in a user namespace other than the initial one: rootless
 * podman runs the runtime as "root" of a user namespace of its own, and that
 * "root" is rootless for cgroups, the device filter and the state root (runc:
 * userns.RunningInUserNS). */
#ifndef CAPSA_UTIL_USERNS_H
#define CAPSA_UTIL_USERNS_H

#include <stdbool.h>

/* /proc/self/uid_map is not the identity map of the initial namespace
 * ("0 0 4294967295"), read anew at each call. */
bool in_user_namespace(void);

/* Rootless for cgroups, the device filter and the systemd driver, as runc
 * counts it: euid not 0, or root of a user namespace (in_user_namespace). */
bool userns_rootless(void);

#endif
