#include "util/userns.h"

#include <stdio.h>

bool in_user_namespace(void)
{
    static int v = -1;
    if (v < 0) {
        unsigned long long in, out, count;
        FILE *f = fopen("/proc/self/uid_map", "re");
        v = f && fscanf(f, "%llu %llu %llu", &in, &out, &count) == 3 &&
            !(in == 0 && out == 0 && count == 4294967295ULL);
        if (f)
            fclose(f);
    }
    return v;
}
