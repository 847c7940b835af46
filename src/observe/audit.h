/* capsa audit: what is NOT isolated for a process (a container's init or any
 * pid). Every check, its rule and its fix are in docs/observe.md. */
#ifndef CAPSA_OBSERVE_AUDIT_H
#define CAPSA_OBSERVE_AUDIT_H

#include <jansson.h>

#include "observe/report.h"
#include "observe/target.h"

/* Run every check on t (which must have a live pid) into r. Fails only when
 * the process cannot be read at all; unreadable parts become SKIP rows. */
int obs_audit(const obs_target *t, obs_report *r, capsa_err *e);

/* {"kind","id","pid","status","comm"} */
json_t *obs_target_json(const obs_target *t);

#endif
