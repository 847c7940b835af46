/* Shared by the libFuzzer targets: what every reader must guarantee for any
 * input, beyond not crashing or leaking (ASan/UBSan/LeakSanitizer see those). */
#ifndef CAPSA_FUZZ_H
#define CAPSA_FUZZ_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

/* A refused input gives the one-line message capsa prints: not empty, no
 * newline or other control character that would break a log line, and the
 * negative errno of the return value in e->code. */
static inline void fuzz_check_error(int r, const capsa_err *e)
{
    if (r >= 0)
        return;
    if (e->code != -r || !e->msg[0]) {
        fprintf(stderr, "fuzz: error %d without its message (code %d, \"%s\")\n", r, e->code,
                e->msg);
        abort();
    }
    for (const char *p = e->msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            fprintf(stderr, "fuzz: control character 0x%02x in error \"%s\"\n",
                    (unsigned char)*p, e->msg);
            abort();
        }
}

#endif
