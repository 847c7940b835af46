/* The stats of a Kubernetes pod's cgroup, found from one of its containers'
 * processes (see discover.h). */
#include "observe/discover.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int obs_pod_stats_read(pid_t pid, const char *pod_cgroup, cgroup_stats *out, capsa_err *e)
{
    const char *comp = strrchr(pod_cgroup, '/');
    comp = comp ? comp + 1 : pod_cgroup;
    if (!*comp)
        return cerr_set(e, EINVAL, "pod cgroup \"%s\": no last component", pod_cgroup);
    /* the pod's component ("pod<UID>", "kubepods-…-pod<UID>.slice") in each of
     * the member's hierarchies: they may place the pod under different parents */
    int r = cgroup_stats_read_pid_ancestor(pid, comp, out, e);
    if (r >= 0)
        snprintf(out->path, sizeof out->path, "%s", pod_cgroup);
    return r;
}
