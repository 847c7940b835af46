/* Test-only fault injection: CAPSA_FAULT=<stage> makes the process that reaches
 * that stage of `capsa create` stop there for good, so a test can SIGKILL the
 * runtime (or its children) with the container half made. Stages, in order:
 * statedir, cgroup, namespaces, hooks, mounts, exec, created (docs/capsa.md). */
#ifndef CAPSA_FAULT_H
#define CAPSA_FAULT_H

#include <stdbool.h>

/* No-op unless $CAPSA_FAULT names `stage`; then one line on stderr and wait forever. */
void fault_point(const char *stage);

/* Whether $CAPSA_FAULT is exactly `name`: a switch that makes one fast path
 * refuse, so a test reaches its fallback (no-swap: selfexe_swap refuses and
 * the re-executing ways to a sealed copy run). */
bool fault_is(const char *name);

#endif
