/* Shared by the audit check files. */
#ifndef CAPSA_OBSERVE_AUDIT_INT_H
#define CAPSA_OBSERVE_AUDIT_INT_H

#include "observe/audit.h"
#include "observe/procinfo.h"

typedef struct {
    const obs_target *t;
    const obs_proc *p;
    obs_ns_host host;
    int userns_private;   /* 1 private, 0 host's, -1 unknown */
    obs_report *r;
} audit_ctx;

void audit_mounts(audit_ctx *c);   /* audit_mounts.c */
void audit_cgroups(audit_ctx *c);  /* audit_cgroup.c */
/* Holes in a v1 devices.list: FAIL for every device, block devices or
 * /dev/mem-like ones, with why filled in (pure). */
obs_level audit_devices_list(const char *list, char *why, size_t n);

#endif
