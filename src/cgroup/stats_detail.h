/* The detail runc's `events --stats` carries beyond the summary of stats.h:
 * per-CPU usage, the raw memory.stat, kernel memory, block I/O per device and
 * hugetlb per page size. Read-only; missing files leave their parts empty. */
#ifndef CAPSA_CGROUP_STATS_DETAIL_H
#define CAPSA_CGROUP_STATS_DETAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct {
    char key[64];
    uint64_t value;
} cgroup_stat_kv;

typedef struct {
    uint64_t major, minor;
    const char *op;          /* "Read", "Write", "Sync", "Async", "Discard", "Total" */
    uint64_t value;
} cgroup_blkio_entry;

typedef struct {
    char size[16];           /* "2MB", "1GB" */
    uint64_t usage, max, failcnt;
} cgroup_hugetlb_entry;

typedef struct {
    uint64_t *percpu, *percpu_user, *percpu_kernel;   /* v1 cpuacct, ns */
    size_t n_percpu, n_percpu_user, n_percpu_kernel;
    cgroup_stat_kv *raw;     /* memory.stat */
    size_t n_raw;
    bool has_kmem;           /* v1 memory.kmem.* */
    uint64_t kmem_usage, kmem_limit, kmem_max, kmem_failcnt;
    cgroup_blkio_entry *io_bytes, *io_ops;
    size_t n_io_bytes, n_io_ops;
    cgroup_hugetlb_entry *hugetlb;
    size_t n_hugetlb;
} cgroup_stats_detail;

/* For a container cgroup path (as in state.json). */
int cgroup_stats_detail_read(const char *path, cgroup_stats_detail *out, capsa_err *e);
void cgroup_stats_detail_free(cgroup_stats_detail *d);

#endif
