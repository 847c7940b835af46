#ifndef CAPSA_PROCESS_H
#define CAPSA_PROCESS_H

#include "spec/spec.h"
#include "util/err.h"

/* Limits, priorities and personality that need privileges: before the user switch. */
int process_limits(const spec_process *p, const spec_linux *l, capsa_err *e);
/* Groups, gid, uid, then the five capability sets (keeping caps across setuid). */
int process_identity(const spec_process *p, capsa_err *e);
/* The program to exec: args[0] looked up in the process's PATH. */
int process_find_exec(const spec_process *p, char **out, capsa_err *e);
/* cwd resolved inside the (already pivoted) root; created if missing like runc. */
int process_chdir(const spec_process *p, capsa_err *e);

#endif
