/* Pure conversions from OCI resource values to cgroup file contents, v1 and
 * v2, the way runc does them (so the same config gives the same limits). */
#ifndef CAPSA_CGROUP_CONVERT_H
#define CAPSA_CGROUP_CONVERT_H

#include <linux/bpf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spec/spec.h"
#include "util/err.h"

/* cpu.shares (2..262144) -> cpu.weight (1..10000):
 * 1 + ((shares - 2) * 9999) / 262142, shares clamped into 2..262144 first.
 * 0 (unset) stays 0. */
uint64_t cg_shares_to_weight(uint64_t shares);

/* blkio.weight (10..1000) -> io.weight (1..10000): 1 + (w - 10) * 9999 / 990,
 * w clamped into 10..1000. 0 (unset) stays 0. */
uint64_t cg_blkio_to_io_weight(uint64_t weight);

/* cpu.max: "QUOTA PERIOD", "max PERIOD", or only the first field when the
 * period is unset (the kernel keeps the current period). quota <= 0 is "max".
 * buf is "" when neither is set (write nothing). */
void cg_cpu_max(char *buf, size_t n, bool has_quota, int64_t quota,
                bool has_period, uint64_t period);

/* v2 memory.swap.max from OCI memory.limit and memory.swap (which is
 * memory+swap, the v1 memsw meaning); 0 = unset, -1 = unlimited:
 * swap -1 -> "max"; limit -1 with swap unset -> "max"; swap == limit -> "0";
 * else swap - limit. Needs a limit and swap >= limit. buf "" = write nothing. */
int cg_swap_v2(int64_t limit, int64_t swap, char *buf, size_t n, capsa_err *e);

/* Memory value for v2 files: 0 -> "" (unset), < 0 -> "max", else the number. */
void cg_mem_v2(int64_t v, char *buf, size_t n);

/* pids.max: limit <= 0 -> "max". */
void cg_pids_max(int64_t limit, char *buf, size_t n);

/* v1 devices.allow/deny line: "c 1:3 rwm", '*' for a missing major/minor,
 * type 0 -> 'a', access NULL -> "rwm". Rejects unknown types and access. */
int cg_dev_rule_v1(const spec_dev_rule *r, char *buf, size_t n, capsa_err *e);

/* One io.max line: "MAJ:MIN rbps=.. wbps=.. riops=.. wiops=..", only the keys
 * given (CG_IO_UNSET = key absent); a rate of 0 means no limit ("max"), like
 * writing 0 to v1 blkio.throttle.* removes the limit. */
#define CG_IO_UNSET UINT64_MAX
void cg_io_max_line(char *buf, size_t n, int64_t major, int64_t minor, uint64_t rbps,
                    uint64_t wbps, uint64_t riops, uint64_t wiops);

/* The v2 device filter, like runc's devicefilter: default deny, the rules
 * checked last to first so the last matching rule wins. An allow rule matches
 * when every requested access is in its access; a deny rule when any is. A
 * rule for every device (type a, no major/minor, rwm) drops the rules before
 * it and sets the default. *out is malloc'd. */
int cg_devfilter_build(const spec_dev_rule *rules, size_t n, struct bpf_insn **out,
                       size_t *len, capsa_err *e);

#endif
