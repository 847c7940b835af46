#include "util/fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void fault_point(const char *stage)
{
    const char *want = getenv("CAPSA_FAULT");
    if (!want || strcmp(want, stage))
        return;
    /* pause(), not SIGSTOP: a pid namespace's init ignores a stop it sends itself. */
    dprintf(STDERR_FILENO, "capsa: fault: stopped at %s (CAPSA_FAULT, test only)\n", stage);
    for (;;)
        pause();
}
