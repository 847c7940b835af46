/* capsa check: is this host ready to run containers (and rootless ones)?
 * Every check, its rule and its fix are in docs/observe.md. */
#ifndef CAPSA_OBSERVE_CHECK_H
#define CAPSA_OBSERVE_CHECK_H

#include <jansson.h>

#include "observe/report.h"

/* Fill r with the host checks; *host gets the facts found (kernel, cgroup
 * mode, controllers, LSMs, user) as a JSON object (new reference). */
void obs_check(obs_report *r, json_t **host);

/* "5.10.0-21-amd64" -> 5, 10; false if unparsable (pure). */
bool obs_kernel_version(const char *release, unsigned *major, unsigned *minor);

/* The "start-end (count)" ranges of user (name or uid) in /etc/subuid-style
 * text, comma separated, into buf; false if none (pure). */
bool obs_subid_ranges(const char *text, const char *name, unsigned uid, char *buf, size_t n);

#endif
