/* Host discovery's output: a container's name, id and JSON, and `capsa list
 * --host` (see discover.h). */
#include "observe/discover_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void obs_host_ct_name(const obs_host_ct *c, char *buf, size_t n)
{
    char id[160];
    obs_host_ct_id(c, true, id, sizeof id);
    if (!c->id)
        snprintf(buf, n, "unknown container (pid %d)", (int)c->pid);
    else if (c->name && strcmp(c->name, c->id))
        snprintf(buf, n, "%s %s \"%s\"", c->engine, id, c->name);
    else
        snprintf(buf, n, "%s %s", c->engine, id);
}

json_t *obs_host_ct_json(const obs_host_ct *c)
{
    json_t *pod = !c->pod_uid && !c->pod_name
                      ? json_null()
                      : json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?}", "uid", c->pod_uid, "qos",
                                  c->qos, "cgroup", c->pod_cgroup, "name", c->pod_name,
                                  "namespace", c->pod_namespace);
    return json_pack("{s:s?, s:s, s:s?, s:s?, s:i, s:s, s:i, s:s?, s:s?, s:s?, s:b, s:b, s:o}",
                     "id", c->id, "engine", c->engine, "name", c->name, "runtime", c->runtime,
                     "pid", (int)c->pid, "comm", c->comm, "processes", (int)c->nprocs, "cgroup",
                     c->cgroup, "state_root", c->state_root, "namespace", c->ns, "own_pid_ns",
                     (int)c->own_pidns, "own_mount_ns", (int)c->own_mntns, "pod", pod);
}

void obs_host_ct_id(const obs_host_ct *c, bool shorten, char *buf, size_t n)
{
    if (!c->id)
        snprintf(buf, n, "pid-%d", (int)c->pid);
    else if (shorten && strlen(c->id) == 64 && obs_is_hexid(c->id, 64))
        snprintf(buf, n, "%.12s", c->id);
    else
        snprintf(buf, n, "%s", c->id);
}

int obs_host_list(const char *extra_root, bool json, bool quiet, capsa_err *e)
{
    obs_host_cts cs;
    int r = obs_discover(extra_root, &cs, e);
    if (r < 0)
        return r;
    if (json) {
        json_t *a = json_array();
        for (size_t i = 0; i < cs.n; i++)
            json_array_append_new(a, obs_host_ct_json(&cs.v[i]));
        char *s = json_dumps(a, JSON_COMPACT);
        puts(s);
        free(s);
        json_decref(a);
    } else if (quiet) {
        for (size_t i = 0; i < cs.n; i++) {
            char id[160];
            obs_host_ct_id(&cs.v[i], false, id, sizeof id);
            puts(id);
        }
    } else {
        printf("%-11s %-24s %-8s %5s %-8s %-20s %-16s %-14s %s\n", "ENGINE", "ID", "PID",
               "PROCS", "RUNTIME", "NAME", "COMMAND", "POD", "CGROUP");
        for (size_t i = 0; i < cs.n; i++) {
            const obs_host_ct *c = &cs.v[i];
            char id[160], pod[160] = "-";
            obs_host_ct_id(c, true, id, sizeof id);
            if (c->pod_name)  /* the CRI's names, else the UID from the cgroup path */
                snprintf(pod, sizeof pod, "%s/%s", c->pod_namespace ? c->pod_namespace : "?",
                         c->pod_name);
            else if (c->pod_uid)
                snprintf(pod, sizeof pod, "%.8s/%s", c->pod_uid, c->qos ? c->qos : "?");
            printf("%-11s %-24s %-8d %5u %-8s %-20s %-16s %-14s %s\n", c->engine, id,
                   (int)c->pid, c->nprocs, c->runtime ? c->runtime : "-",
                   c->name ? c->name : "-", c->comm, pod, c->cgroup ? c->cgroup : "-");
        }
        if (!cs.n)
            puts("(no containers on this host)");
    }
    obs_host_cts_free(&cs);
    return 0;
}
