/* OCI hooks (runtime-spec config.md "POSIX-platform Hooks"). */
#ifndef CAPSA_HOOKS_H
#define CAPSA_HOOKS_H

#include "spec/spec.h"
#include "util/err.h"

/* Run each hook in order with the state JSON on stdin; the first failure (exit
 * status != 0, signal, timeout) stops and is the error, naming kind and path. */
int hooks_run(const spec_hooks_list *l, const char *kind, const char *state_json, capsa_err *e);
size_t hooks_run_warn(const spec_hooks_list *l, const char *kind, const char *state_json);

#endif
