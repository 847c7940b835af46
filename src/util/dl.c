#include "util/dl.h"

#include <dlfcn.h>
#include <stddef.h>

/* Only a dynamically linked executable has a dynamic section. */
extern const char _DYNAMIC[] __attribute__((weak));

bool dl_available(void)
{
    return _DYNAMIC != NULL;
}

void *dl_open(const char *lib, const char **why)
{
    if (!dl_available()) {
        *why = "the static capsa cannot load shared libraries: use the dynamically linked capsa";
        return NULL;
    }
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        *why = dlerror();
    return h;
}
