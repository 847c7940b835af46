/* The optional libraries (libcriu for checkpoint, libsystemd for --systemd-cgroup,
 * libmicrohttpd for the exporter) are loaded when those are used, so every
 * create and run stays free of them. */
#ifndef CAPSA_DL_H
#define CAPSA_DL_H

#include <stdbool.h>

/* False in the static capsa (make static): glibc's dlopen cannot load a shared
 * library into it (it crashes), so the callers say what is missing instead. */
bool dl_available(void);
/* dlopen(lib, RTLD_NOW | RTLD_LOCAL), or NULL with *why (static build, or
 * dlerror's text). */
void *dl_open(const char *lib, const char **why);

#endif
