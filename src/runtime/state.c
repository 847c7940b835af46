#include "runtime/state.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fs.h"

static json_t *annotations_json(const spec_map *m)
{
    json_t *o = json_object();
    for (size_t i = 0; i < m->n; i++)
        json_object_set_new(o, m->v[i].key, json_string(m->v[i].value));
    return o;
}

int state_write(int dirfd, const cstate *st, capsa_err *e)
{
    json_t *o = json_pack("{s:s, s:s, s:i, s:I, s:s, s:s, s:s?, s:s, s:s, s:b}",
                          "ociVersion", st->oci_version, "id", st->id, "pid", (int)st->pid,
                          "pid_start", (json_int_t)st->pid_start, "bundle", st->bundle,
                          "rootfs", st->rootfs, "cgroup_path", st->cgroup_path,
                          "created", st->created, "owner", st->owner ? st->owner : "",
                          "userns", st->has_userns);
    if (o && (st->poststart || st->poststop)) {
        json_object_set_new(o, "poststart", json_boolean(st->poststart));
        json_object_set_new(o, "poststop", json_boolean(st->poststop));
    }
    if (!o)
        return cerr_set(e, EINVAL, "build state.json");
    json_object_set_new(o, "annotations", annotations_json(&st->annotations));
    autofree char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return fs_write_atomic_at(dirfd, "state.json", text, strlen(text), 0600, e);
}

int state_write_cgroup(int dirfd, const char *path, capsa_err *e)
{
    return fs_write_atomic_at(dirfd, "cgroup.path", path, strlen(path), 0600, e);
}

static char *read_text(int dirfd, const char *name)
{
    autoclose int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    char *text = NULL;
    size_t len;
    capsa_err ignore;
    if (fd < 0 || fs_read_fd(fd, name, &text, &len, &ignore) < 0)
        return NULL;
    if (!len || strlen(text) != len) {
        free(text);
        return NULL;
    }
    return text;
}

char *state_read_cgroup(int dirfd)
{
    return read_text(dirfd, "cgroup.path");
}

int state_write_cgroup_made(int dirfd, const char *made, capsa_err *e)
{
    return fs_write_atomic_at(dirfd, "cgroup.made", made, strlen(made), 0600, e);
}

char *state_read_cgroup_made(int dirfd)
{
    return read_text(dirfd, "cgroup.made");
}

static char *dup_str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? xstrdup(s) : NULL;
}

int state_read(int dirfd, cstate *st, capsa_err *e)
{
    memset(st, 0, sizeof *st);
    int fd = openat(dirfd, "state.json", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return -ENOENT;
        return cerr_sys(e, errno, "open state.json");
    }
    autofree char *text = NULL;
    size_t len;
    int r = fs_read_fd(fd, "state.json", &text, &len, e);
    close(fd);
    if (r < 0)
        return r;
    return state_parse(text, len, st, e);
}

int state_parse(const char *text, size_t len, cstate *st, capsa_err *e)
{
    memset(st, 0, sizeof *st);
    json_error_t je;
    if (len == 0)
        return cerr_set(e, EINVAL, "state.json is corrupt: empty file");
    json_t *o = json_loadb(text, len, 0, &je);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        return cerr_set(e, EINVAL, "state.json is corrupt: %s", o ? "not an object" : je.text);
    }
    st->id = dup_str(o, "id");
    st->bundle = dup_str(o, "bundle");
    st->rootfs = dup_str(o, "rootfs");
    st->oci_version = dup_str(o, "ociVersion");
    st->created = dup_str(o, "created");
    st->cgroup_path = dup_str(o, "cgroup_path");
    st->owner = dup_str(o, "owner");
    json_t *pid = json_object_get(o, "pid");
    bool pid_ok = json_is_integer(pid) && json_integer_value(pid) >= 0 &&
                  json_integer_value(pid) <= INT32_MAX;
    st->pid = (pid_t)json_integer_value(pid);
    st->pid_start = (unsigned long long)json_integer_value(json_object_get(o, "pid_start"));
    st->has_userns = json_is_true(json_object_get(o, "userns"));
    st->poststart = json_is_true(json_object_get(o, "poststart"));
    st->poststop = json_is_true(json_object_get(o, "poststop"));
    json_t *ann = json_object_get(o, "annotations");
    if (json_is_object(ann) && json_object_size(ann)) {
        st->annotations.v = xcalloc(json_object_size(ann), sizeof(spec_kv));
        const char *k;
        json_t *v;
        json_object_foreach(ann, k, v) {
            st->annotations.v[st->annotations.n].key = xstrdup(k);
            st->annotations.v[st->annotations.n++].value =
                xstrdup(json_string_value(v) ? json_string_value(v) : "");
        }
    }
    json_decref(o);
    if (!st->id || !st->bundle || !pid_ok) {
        /* a pid out of range would wrap into another one (4294967297 is 1, init) */
        bool ids = st->id && st->bundle;
        state_free(st);
        return cerr_set(e, EINVAL, "state.json is corrupt: %s",
                        ids ? "pid is not a valid pid" : "missing id or bundle");
    }
    return 0;
}

void state_free(cstate *st)
{
    free(st->id);
    free(st->bundle);
    free(st->rootfs);
    free(st->oci_version);
    free(st->created);
    free(st->cgroup_path);
    free(st->owner);
    for (size_t i = 0; i < st->annotations.n; i++) {
        free(st->annotations.v[i].key);
        free(st->annotations.v[i].value);
    }
    free(st->annotations.v);
    memset(st, 0, sizeof *st);
}

char *state_oci_json(const cstate *st, const char *status, bool pretty)
{
    /* A stopped container has no process: pid 0, as runc (state, poststop hooks). */
    int pid = strcmp(status, "stopped") ? (int)st->pid : 0;
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:s}", "ociVersion",
                          st->oci_version ? st->oci_version : "1.2.0", "id", st->id, "status",
                          status, "pid", pid, "bundle", st->bundle);
    if (st->rootfs)
        json_object_set_new(o, "rootfs", json_string(st->rootfs));
    if (st->created)
        json_object_set_new(o, "created", json_string(st->created));
    if (st->owner)
        json_object_set_new(o, "owner", json_string(st->owner));
    json_object_set_new(o, "annotations", annotations_json(&st->annotations));
    /* capsa extension: the kernel OOM-killed a process of this container. */
    if (st->oom_kills) {
        json_object_set_new(o, "oomKilled", json_true());
        json_object_set_new(o, "oomKills", json_integer((json_int_t)st->oom_kills));
    }
    char *s = json_dumps(o, pretty ? JSON_INDENT(2) | JSON_PRESERVE_ORDER : JSON_COMPACT);
    json_decref(o);
    return s;
}
