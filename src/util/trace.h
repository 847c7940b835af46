/* CAPSA_TRACE=1: the time of each setup phase on stderr, so a user can see
 * where a container's start time goes (docs/performance.md).
 *
 *   capsa: trace +  1.23 ms  [pid 42] parse
 *
 * Times count from the first capsa process of the command (carried across the
 * sealed re-exec in CAPSA_TRACE_T0) and include every process of the setup. */
#pragma once
#include <stdbool.h>

void trace_init(void);             /* once, first thing in main */
bool trace_on(void);
void trace_mark(const char *phase);
