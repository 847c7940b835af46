/* Shared by the libFuzzer targets: what every reader must guarantee for any
 * input, beyond not crashing or leaking (ASan/UBSan/LeakSanitizer see those). */
#ifndef CAPSA_FUZZ_H
#define CAPSA_FUZZ_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/convert.h"
#include "spec/spec.h"
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

/* What the cgroup drivers make of accepted resources (v1 and v2 file
 * contents, the v2 device program): pure conversions, no cgroup touched. */
static inline void fuzz_convert_resources(const spec_resources *r)
{
    char buf[256];
    capsa_err e = {0};
    cg_shares_to_weight(r->cpu.shares);
    cg_blkio_to_io_weight(r->blkio.weight);
    cg_cpu_max(buf, sizeof buf, r->cpu.has_quota, r->cpu.quota, r->cpu.has_period,
               r->cpu.period);
    cg_mem_v2(r->memory.limit, buf, sizeof buf);
    cg_mem_v2(r->memory.reservation, buf, sizeof buf);
    fuzz_check_error(cg_swap_v2(r->memory.limit, r->memory.swap, buf, sizeof buf, &e), &e);
    cg_pids_max(r->pids_limit, buf, sizeof buf);
    for (size_t i = 0; i < r->blkio.read_bps.n; i++)
        cg_io_max_line(buf, sizeof buf, r->blkio.read_bps.v[i].major,
                       r->blkio.read_bps.v[i].minor, r->blkio.read_bps.v[i].rate, CG_IO_UNSET,
                       CG_IO_UNSET, CG_IO_UNSET);
    for (size_t i = 0; i < r->blkio.write_iops.n; i++)
        cg_io_max_line(buf, sizeof buf, r->blkio.write_iops.v[i].major,
                       r->blkio.write_iops.v[i].minor, CG_IO_UNSET, CG_IO_UNSET, CG_IO_UNSET,
                       r->blkio.write_iops.v[i].rate);
    for (size_t i = 0; i < r->n_devices; i++) {
        cerr_clear(&e);
        fuzz_check_error(cg_dev_rule_v1(&r->devices[i], buf, sizeof buf, &e), &e);
    }
    struct bpf_insn *prog = NULL;
    size_t len = 0;
    cerr_clear(&e);
    int rc = cg_devfilter_build(r->devices, r->n_devices, &prog, &len, &e);
    fuzz_check_error(rc, &e);
    free(prog);
}

#endif
