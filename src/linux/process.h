#ifndef CAPSA_PROCESS_H
#define CAPSA_PROCESS_H

#include "spec/spec.h"
#include "util/err.h"

/* oomScoreAdj, before a user namespace is entered (its /proc/self files stay
 * the host root's while the process is not dumpable); a no-op when the value
 * is already the one inherited. */
int process_oom_score_adj(const spec_process *p, capsa_err *e);
/* Limits, priorities and personality that need privileges: before the user switch. */
int process_limits(const spec_process *p, const spec_linux *l, capsa_err *e);
/* Bounding set, groups, gid, uid, umask; then, with final_caps, the capability
 * sets (keeping caps across setuid). Without final_caps every permitted
 * capability stays effective (to load a seccomp filter without no_new_privs)
 * and process_final_caps sets them afterwards. */
int process_identity(const spec_process *p, bool final_caps, capsa_err *e);
int process_final_caps(const spec_process *p, capsa_err *e);
/* The ambient capabilities the kernel can raise (also in permitted and
 * inheritable), and a debug line naming those left out. */
uint64_t process_ambient_raisable(const spec_caps *c);
void process_log_ambient(const spec_caps *c);
/* The program to exec: args[0] looked up in the process's PATH. */
int process_find_exec(const spec_process *p, char **out, capsa_err *e);
/* cwd resolved inside the (already pivoted) root; created if missing like runc. */
int process_chdir(const spec_process *p, capsa_err *e);

#endif
