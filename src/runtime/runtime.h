/* Container lifecycle (runtime-spec runtime.md): create, start, kill, delete, state. */
#ifndef CAPSA_RUNTIME_H
#define CAPSA_RUNTIME_H

#include <stdbool.h>
#include <sys/types.h>

#include "runtime/state.h"
#include "util/err.h"

typedef struct {
    const char *root;         /* state root, e.g. /run/capsa */
} rt_ctx;

typedef struct {
    const char *bundle;       /* NULL: current directory */
    const char *pid_file;
    bool no_pivot, no_new_keyring;
} rt_create_opts;

typedef struct {
    char *id, *status, *bundle, *created, *owner;
    pid_t pid;
} rt_info;

int rt_create(const rt_ctx *c, const char *id, const rt_create_opts *o, capsa_err *e);
int rt_start(const rt_ctx *c, const char *id, capsa_err *e);
/* Foreground run: *status is the container's exit code (128+N on signal N). */
int rt_run(const rt_ctx *c, const char *id, const rt_create_opts *o, bool detach, bool keep,
           int *status, capsa_err *e);
int rt_kill(const rt_ctx *c, const char *id, int sig, bool all, capsa_err *e);
int rt_delete(const rt_ctx *c, const char *id, bool force, capsa_err *e);
int rt_state_json(const rt_ctx *c, const char *id, char **out, capsa_err *e);
int rt_list(const rt_ctx *c, rt_info **out, size_t *n, capsa_err *e);
void rt_info_free(rt_info *v, size_t n);

/* /proc/PID/stat starttime (field 22); 0 if the process is gone. */
unsigned long long proc_start_time(pid_t pid);
/* A pidfd for pid if it is still the process that started at `start`, else -ESRCH. */
int proc_open_verified(pid_t pid, unsigned long long start);

#endif
