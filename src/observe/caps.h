/* Capabilities by name, and which ones break isolation. */
#ifndef CAPSA_OBSERVE_CAPS_H
#define CAPSA_OBSERVE_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { OBS_CAP_OK, OBS_CAP_RISKY, OBS_CAP_DANGEROUS } obs_cap_risk;

/* How bad holding `cap` is, and why (NULL for OK). DANGEROUS: a known way
 * to the host (modules, raw memory, mounts, ptrace, bpf, ...); RISKY: weakens
 * isolation or resource control without a direct escape. */
obs_cap_risk obs_cap_risk_of(int cap, const char **why);

/* "CAP_CHOWN,CAP_KILL" (names from spec_cap_name, "cap_N" for unknown
 * bits), "none" for 0, or "ALL (N)" when every known capability is set. */
void obs_caps_names(uint64_t mask, char *buf, size_t n);
/* Every capability the kernel knows (from /proc/sys/kernel/cap_last_cap). */
uint64_t obs_caps_all(void);
int obs_caps_count(uint64_t mask);
/* "CAP_SYS_ADMIN"; "CAP_UNKNOWN" for a number spec does not know. */
const char *obs_cap_name(int cap);

#endif
