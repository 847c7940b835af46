/* The state directories of runc, crun and capsa (see discover_int.h): which
 * containers they hold whose init still runs. */
#include "observe/discover_int.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "observe/procinfo.h"
#include "util/fs.h"

static unsigned long long proc_start(pid_t pid)
{
    autofree char *s = obs_proc_file(pid, "stat", NULL);
    if (!s)
        return 0;
    char *p = strrchr(s, ')');
    if (!p)
        return 0;
    /* fields after comm: state(3) ... starttime(22) */
    int field = 2;
    for (p++; *p && field < 22; p++)
        if (*p == ' ')
            field++;
    return strtoull(p, NULL, 10);
}

json_t *obs_json_at(int dfd, const char *name)
{
    int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return NULL;
    json_error_t je;
    json_t *j = json_loadfd(fd, 0, &je);
    close(fd);
    return json_is_object(j) ? j : (json_decref(j), NULL);
}

static long long jint(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

const char *obs_state_read(int cfd, pid_t *pid_out, unsigned long long *start_out)
{
    const char *rt = NULL;
    pid_t pid = 0;
    unsigned long long start = 0;
    json_t *j = obs_json_at(cfd, "state.json");
    if (j && json_object_get(j, "init_process_pid")) {
        rt = "runc";
        pid = (pid_t)jint(j, "init_process_pid");
        start = (unsigned long long)jint(j, "init_process_start");
    } else if (j && json_object_get(j, "pid") && json_object_get(j, "cgroup_path")) {
        rt = "capsa";
        pid = (pid_t)jint(j, "pid");
        start = (unsigned long long)jint(j, "pid_start");
    } else if (!j && (j = obs_json_at(cfd, "status")) && json_object_get(j, "pid")) {
        rt = "crun";
        pid = (pid_t)jint(j, "pid");
        start = (unsigned long long)jint(j, "process-start-time");
    }
    json_decref(j);
    if (!rt || pid <= 0)
        return NULL;
    unsigned long long now = proc_start(pid);
    if (!now || (start && now != start))
        return NULL;  /* stopped, or the pid was reused */
    *pid_out = pid;
    *start_out = now;
    return rt;
}

static bool have_root(const obs_state_cts *s, const char *root)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i].root, root))
            return true;
    return false;
}

static void scan_root(const char *root, const char *ns, obs_state_cts *out)
{
    if (have_root(out, root))
        return;
    int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0)
        return;
    DIR *d = fdopendir(rfd);
    if (!d) {
        close(rfd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
            continue;
        int cfd = openat(rfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (cfd < 0)
            continue;
        pid_t pid;
        unsigned long long now;
        const char *rt = obs_state_read(cfd, &pid, &now);
        close(cfd);
        if (!rt)
            continue;
        out->v = xrealloc(out->v, (out->n + 1) * sizeof *out->v);
        out->v[out->n++] = (obs_state_ct){xstrdup(de->d_name), xstrdup(rt), xstrdup(root),
                                          ns ? xstrdup(ns) : NULL, pid, now};
    }
    closedir(d);
    if (!out->n || strcmp(out->v[out->n - 1].root, root)) {
        /* remember scanned-but-empty roots too, so a root is read once */
        out->v = xrealloc(out->v, (out->n + 1) * sizeof *out->v);
        out->v[out->n++] = (obs_state_ct){NULL, NULL, xstrdup(root), NULL, 0, 0};
    }
}

/* Roots under a directory whose children are per-namespace roots. */
static void scan_nested(const char *dir, bool ns_named, obs_state_cts *out)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        autofree char *p = xasprintf("%s/%s", dir, de->d_name);
        scan_root(p, ns_named ? de->d_name : NULL, out);
    }
    closedir(d);
}

void obs_states_scan(const char *extra_root, obs_state_cts *out)
{
    /* Engines' own runc roots first, so their namespace is known. */
    scan_nested("/run/containerd/runc", true, out);
    scan_nested("/run/docker/runtime-runc", false, out);
    scan_root("/run/runc", NULL, out);
    scan_root("/run/crun", NULL, out);
    scan_root("/run/capsa", NULL, out);
    if (extra_root)
        scan_root(extra_root, NULL, out);
    /* Any other /run/X holding ID/state.json or ID/status (runc --root /run/X). */
    scan_nested("/run", false, out);
    const char *x = getenv("XDG_RUNTIME_DIR");
    if (x && *x) {
        autofree char *p = xasprintf("%s/capsa", x);
        scan_root(p, NULL, out);
    }
}

void obs_states_free(obs_state_cts *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].id);
        free(s->v[i].runtime);
        free(s->v[i].root);
        free(s->v[i].ns);
    }
    free(s->v);
}
