/* <root>/<id>/state.json: the only file that knows its JSON. */
#ifndef CAPSA_STATE_H
#define CAPSA_STATE_H

#include <stdbool.h>
#include <sys/types.h>

#include "spec/spec.h"
#include "util/err.h"

typedef struct {
    char *id, *bundle, *rootfs, *oci_version, *created, *cgroup_path, *owner;
    pid_t pid;
    unsigned long long pid_start;   /* /proc/PID/stat starttime: a recycled pid never matches */
    spec_map annotations;
    bool has_userns;
    bool poststart, poststop;       /* config.json has such hooks: reparse it then */
    unsigned long long oom_kills;   /* not stored: read from the cgroup for `state` */
} cstate;

/* Atomic (temp file + rename): a reader sees the old or the new state.json, whole. */
int state_write(int dirfd, const cstate *st, capsa_err *e);
/* cgroup.path: the container's cgroup, written once before it is made, so that
 * delete --force finds it even when state.json is damaged. */
int state_write_cgroup(int dirfd, const char *path, capsa_err *e);
char *state_read_cgroup(int dirfd);   /* malloc'd, or NULL */
/* cgroup.made: the parent cgroups create made (cgroup_setup's *made), which
 * delete may remove; absent when create made none. */
int state_write_cgroup_made(int dirfd, const char *made, capsa_err *e);
char *state_read_cgroup_made(int dirfd);   /* malloc'd, or NULL */
/* -ENOENT (without message) when the container has no state.json yet. */
int state_read(int dirfd, cstate *st, capsa_err *e);
/* The same from a buffer (state_read's parser; the fuzz target's entry point). */
int state_parse(const char *text, size_t len, cstate *st, capsa_err *e);
void state_free(cstate *st);

/* The OCI state document: {ociVersion,id,status,pid,bundle,annotations,...}. */
char *state_oci_json(const cstate *st, const char *status, bool pretty);

#endif
