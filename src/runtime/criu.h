/* Checkpoint and restore through CRIU. src/runtime/criu*.c is the one module that
 * talks to CRIU (criu.c: finding CRIU, libcriu; criu_dump.c, criu_restore.c; criu_ns.c:
 * joined namespaces; criu_int.h: what they share): it loads libcriu at run time
 * (dlopen, so capsa builds and runs without it), which drives the criu binary over
 * its RPC ("swrk") protocol, as crun does. docs/checkpoint.md says how CRIU is found
 * and what is restored. */
#ifndef CAPSA_CRIU_H
#define CAPSA_CRIU_H

#include <limits.h>
#include <stdbool.h>

#include "runtime/runtime.h"
#include "util/err.h"

/* The oldest CRIU that works here: 4.1 handles the kernel's [vvar_vclock]
 * area (kernels >= 6.x); Debian 12's 3.17 fails in kerndat_vdso_fill_symtable. */
#define CR_MIN_VERSION 40100

typedef struct {
    bool available;
    int version;              /* e.g. 40200, 0 if unknown */
    char binary[PATH_MAX];    /* the criu binary used */
    char lib[PATH_MAX];       /* the libcriu loaded */
    char why[512];            /* when !available: one line saying why */
} cr_info;

/* The global --criu PATH (runc's flag): the criu binary to use. */
void cr_set_binary(const char *path);
/* Find criu and libcriu and ask the binary its version (cached per process). */
const cr_info *cr_probe(void);

typedef struct {
    const char *image_path;   /* default ./checkpoint (runc's) */
    const char *work_path;    /* logs; default: the image path */
    const char *parent_path;  /* --parent-path: a pre-dump, relative to image_path */
    const char *cg_mode;      /* soft (default), full, strict, ignore */
    bool leave_running, tcp_established, ext_unix_sk, shell_job, file_locks, pre_dump;
} rt_checkpoint_opts;

typedef struct {
    const char *image_path, *work_path, *bundle, *pid_file, *console_socket, *cg_mode;
    bool detach, no_pivot, tcp_established, ext_unix_sk, shell_job, file_locks;
} rt_restore_opts;

/* Dump a running container into image_path. Without leave_running the
 * container is gone afterwards (as runc). A failed dump leaves it running. */
int rt_checkpoint(const rt_ctx *c, const char *id, const rt_checkpoint_opts *o, capsa_err *e);
/* Make container id from an image. Foreground (no detach): wait for it and
 * delete it, *status = its exit code (128+N on signal N); detached: *status 0. */
int rt_restore(const rt_ctx *c, const char *id, const rt_restore_opts *o, int *status,
               capsa_err *e);

#endif
