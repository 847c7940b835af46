/* CLI verbs: thin wrappers that parse flags and call one runtime entry point. */
#ifndef CAPSA_CMD_H
#define CAPSA_CMD_H

#include <getopt.h>
#include <stdbool.h>

#include "runtime/runtime.h"
#include "util/err.h"

typedef struct {
    rt_ctx rt;
    const char *prog;
    int fail_status;   /* exit status when run() fails; 0: 1 (exec: 255, as runc) */
} cmd_ctx;

typedef struct {
    const char *name;
    int (*run)(cmd_ctx *c, int argc, char **argv, capsa_err *e);
    const char *summary;
    const char *usage;   /* full help text of the verb */
    bool takes_id;       /* first positional argument is a container id */
} cmd_def;

extern const cmd_def cmd_table[];

/* Shared flag parsing: getopt_long over the verb's argv; prints the verb's help
 * for -h/--help (returns 1 then). Unknown flags are errors naming the flag. */
int cmd_getopt(const cmd_def *d, int argc, char **argv, const char *shortopts,
               const struct option *longopts, int *opt, capsa_err *e);
const cmd_def *cmd_find(const char *name);
/* Exactly `n` positional arguments (ID...) or an error naming the verb. */
/* Append s to the NULL-terminated list *v of *n entries (repeatable flags). */
void cmd_push(char ***v, size_t *n, char *s);
int cmd_need_args(const char *verb, int argc, int n_min, int n_max, capsa_err *e);

int cmd_create(cmd_ctx *c, int argc, char **argv, capsa_err *e);
int cmd_start(cmd_ctx *c, int argc, char **argv, capsa_err *e);
int cmd_run(cmd_ctx *c, int argc, char **argv, capsa_err *e);
int cmd_state(cmd_ctx *c, int argc, char **argv, capsa_err *e);
int cmd_kill(cmd_ctx *c, int argc, char **argv, capsa_err *e);
int cmd_delete(cmd_ctx *c, int argc, char **argv, capsa_err *e);
int cmd_list(cmd_ctx *c, int argc, char **argv, capsa_err *e);
int cmd_spec(cmd_ctx *c, int argc, char **argv, capsa_err *e);
int cmd_exec(cmd_ctx *c, int argc, char **argv, capsa_err *e);
int cmd_features(cmd_ctx *c, int argc, char **argv, capsa_err *e);
int cmd_update(cmd_ctx *c, int argc, char **argv, capsa_err *e);
int cmd_pause(cmd_ctx *c, int argc, char **argv, capsa_err *e);
int cmd_resume(cmd_ctx *c, int argc, char **argv, capsa_err *e);
int cmd_ps(cmd_ctx *c, int argc, char **argv, capsa_err *e);
int cmd_events(cmd_ctx *c, int argc, char **argv, capsa_err *e);
int cmd_audit(cmd_ctx *c, int argc, char **argv, capsa_err *e);
int cmd_stats(cmd_ctx *c, int argc, char **argv, capsa_err *e);
int cmd_limits(cmd_ctx *c, int argc, char **argv, capsa_err *e);
int cmd_check(cmd_ctx *c, int argc, char **argv, capsa_err *e);
int cmd_nethook(cmd_ctx *c, int argc, char **argv, capsa_err *e);
int cmd_checkpoint(cmd_ctx *c, int argc, char **argv, capsa_err *e);
int cmd_restore(cmd_ctx *c, int argc, char **argv, capsa_err *e);

#endif
