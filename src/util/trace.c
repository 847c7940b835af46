/* Setup phase timing (trace.h). */
#include "util/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long t0 = -1;

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void trace_init(void)
{
    const char *on = getenv("CAPSA_TRACE");
    if (!on || strcmp(on, "1"))
        return;
    const char *carried = getenv("CAPSA_TRACE_T0");
    char *end = NULL;
    long long t = carried ? strtoll(carried, &end, 10) : 0;
    if (carried && end && !*end && t > 0) {
        t0 = t;
        return;
    }
    t0 = now_ns();
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", t0);
    setenv("CAPSA_TRACE_T0", buf, 1);
}

bool trace_on(void)
{
    return t0 >= 0;
}

void trace_mark(const char *phase)
{
    if (t0 < 0)
        return;
    /* one write: lines from several processes do not interleave */
    char buf[160];
    int n = snprintf(buf, sizeof buf, "capsa: trace +%7.2f ms  [pid %d] %s\n",
                     (double)(now_ns() - t0) / 1e6, (int)getpid(), phase);
    if (n > 0 && write(2, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1) < 0)
        return;
}
