/* Loading observation targets. */
#include "observe/target.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "runtime/runtime.h"
#include "runtime/state.h"
#include "util/names.h"

int obs_target_container(const char *root, const char *id, obs_target *t, capsa_err *e)
{
    memset(t, 0, sizeof *t);
    int r = id_validate(id, e);
    if (r < 0)
        return r;
    cstate st = {0};
    const char *status;
    rt_ctx c = {.root = root};
    if ((r = rt_peek(&c, id, &st, &status, e)) < 0)
        return r;
    t->id = xstrdup(id);
    t->status = xstrdup(status);
    t->pid = obs_target_live(t) ? st.pid : 0;
    t->cgroup_path = st.cgroup_path ? xstrdup(st.cgroup_path) : NULL;
    t->bundle = st.bundle ? xstrdup(st.bundle) : NULL;
    state_free(&st);
    return 0;
}

int obs_target_pid(pid_t pid, obs_target *t, capsa_err *e)
{
    memset(t, 0, sizeof *t);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", (int)pid);
    struct stat st;
    if (pid <= 0 || stat(path, &st) < 0)
        return cerr_set(e, ESRCH, "no process %d", (int)pid);
    t->pid = pid;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int obs_target_ids(const char *root, char ***ids, size_t *n, capsa_err *e)
{
    *ids = NULL;
    *n = 0;
    DIR *d = opendir(root);
    if (!d) {
        if (errno == ENOENT)
            return 0;  /* nothing ever created: no containers */
        return cerr_sys(e, errno, "open %s", root);
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        capsa_err ignore;
        if (de->d_name[0] == '.' || id_validate(de->d_name, &ignore) < 0)
            continue;
        *ids = xrealloc(*ids, (*n + 1) * sizeof **ids);
        (*ids)[(*n)++] = xstrdup(de->d_name);
    }
    closedir(d);
    if (*n)
        qsort(*ids, *n, sizeof **ids, cmp_str);
    return 0;
}

void obs_ids_free(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

void obs_target_free(obs_target *t)
{
    free(t->id);
    free(t->status);
    free(t->cgroup_path);
    free(t->bundle);
    free(t->pod_cgroup);
    memset(t, 0, sizeof *t);
}

bool obs_target_live(const obs_target *t)
{
    if (!t->status)
        return t->pid > 0;
    return !strcmp(t->status, "running") || !strcmp(t->status, "created") ||
           !strcmp(t->status, "paused");
}
