#include "util/fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool fault_is(const char *name)
{
    const char *want = getenv("CAPSA_FAULT");
    return want && !strcmp(want, name);
}

void fault_point(const char *stage)
{
    if (!fault_is(stage))
        return;
    /* pause(), not SIGSTOP: a pid namespace's init ignores a stop it sends itself. */
    dprintf(STDERR_FILENO, "capsa: fault: stopped at %s (CAPSA_FAULT, test only)\n", stage);
    for (;;)
        pause();
}
