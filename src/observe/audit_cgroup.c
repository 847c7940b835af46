/* capsa audit: the cgroup limits a process lives under (effective: its
 * cgroup or any ancestor) and the devices cgroup allowlist. */
#include "observe/audit_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/stats.h"

obs_level audit_devices_list(const char *list, char *why, size_t n)
{
    obs_level worst = OBS_PASS;
    size_t rules = 0, o = 0;
    why[0] = 0;
    for (const char *l = list; l && *l;) {
        const char *nl = strchrnul(l, '\n');
        char type, maj[16], min[16], acc[8];
        if (sscanf(l, "%c %15[^:]:%15s %7s", &type, maj, min, acc) == 4) {
            rules++;
            bool rw = strchr(acc, 'r') || strchr(acc, 'w');
            const char *hole = NULL;
            if (type == 'a')
                hole = "every device";
            else if (type == 'b' && rw)
                hole = "block devices (raw disks)";
            else if (type == 'c' && rw && !strcmp(maj, "*"))
                hole = "every character device";
            else if (type == 'c' && rw && !strcmp(maj, "1") &&
                     (!strcmp(min, "*") || !strcmp(min, "1") || !strcmp(min, "2") ||
                      !strcmp(min, "4")))
                hole = "/dev/mem, /dev/kmem or /dev/port";
            if (hole) {
                worst = OBS_FAIL;
                if (o + 64 < n)
                    o += (size_t)snprintf(why + o, n - o, "%s%s (%.*s)", o ? "; " : "", hole,
                                          (int)(nl - l), l);
            }
        }
        l = *nl ? nl + 1 : NULL;
    }
    if (worst == OBS_PASS)
        snprintf(why, n, "allowlist of %zu rule%s, no raw disk or memory device", rules,
                 rules == 1 ? "" : "s");
    return worst;
}

#define MEM_FIX "linux.resources.memory.limit (capsa spec --memory 256m)"
#define PIDS_FIX "linux.resources.pids.limit (capsa spec --pids 100)"
#define CPU_FIX "linux.resources.cpu.quota and period (capsa spec --cpus 0.5)"
#define IO_FIX "linux.resources.blockIO.throttleReadBpsDevice/WriteBpsDevice/...IOPSDevice"

static void fmt_limit(char *buf, size_t n, uint64_t v)
{
    obs_fmt_bytes(buf, n, (unsigned long long)v);
}

static void check_memory(audit_ctx *c, const cgroup_stats *s)
{
    if (!s->has_memory) {
        obs_add(c->r, OBS_WARN, "cgroups", "cgroup.memory", MEM_FIX,
                "no memory controller for this cgroup (not mounted or not enabled): no limit");
        return;
    }
    char lim[32];
    if (s->mem_limit_eff == CG_UNLIMITED) {
        obs_add(c->r, OBS_WARN, "cgroups", "cgroup.memory", MEM_FIX,
                "no memory limit: can use all host memory and wake the host's OOM killer");
        return;
    }
    fmt_limit(lim, sizeof lim, s->mem_limit_eff);
    obs_add(c->r, OBS_PASS, "cgroups", "cgroup.memory", NULL, "limit %s%s", lim,
            s->mem_limit == s->mem_limit_eff ? "" : " (set on a parent cgroup)");
}

static void check_pids(audit_ctx *c, const cgroup_stats *s)
{
    if (!s->has_pids) {
        obs_add(c->r, OBS_WARN, "cgroups", "cgroup.pids", PIDS_FIX,
                "no pids controller for this cgroup (not mounted or not enabled): no limit");
        return;
    }
    if (s->pids_limit_eff == CG_UNLIMITED)
        obs_add(c->r, OBS_WARN, "cgroups", "cgroup.pids", PIDS_FIX,
                "no pids limit: a fork bomb exhausts the host's pids");
    else
        obs_add(c->r, OBS_PASS, "cgroups", "cgroup.pids", NULL, "limit %" PRIu64 "%s",
                s->pids_limit_eff,
                s->pids_limit == s->pids_limit_eff ? "" : " (set on a parent cgroup)");
}

static void check_cpu(audit_ctx *c, const cgroup_stats *s)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (!s->has_cpu) {
        obs_add(c->r, OBS_WARN, "cgroups", "cgroup.cpu", CPU_FIX,
                "no cpu controller for this cgroup (not mounted or not enabled): no quota");
        return;
    }
    if (s->cpu_limit_eff > 0)
        obs_add(c->r, OBS_PASS, "cgroups", "cgroup.cpu", NULL, "quota %.2f CPUs", s->cpu_limit_eff);
    else if (s->cpuset_ncpus && ncpu > 0 && s->cpuset_ncpus < (unsigned)ncpu)
        obs_add(c->r, OBS_PASS, "cgroups", "cgroup.cpu", NULL, "cpuset %s: %u of %ld CPUs",
                s->cpuset_cpus, s->cpuset_ncpus, ncpu);
    else
        obs_add(c->r, OBS_WARN, "cgroups", "cgroup.cpu", CPU_FIX,
                "no cpu quota: can keep all %ld host CPUs busy", ncpu);
}

static void check_io(audit_ctx *c, const cgroup_stats *s)
{
    if (!s->has_io) {
        obs_add(c->r, OBS_WARN, "cgroups", "cgroup.io", IO_FIX,
                "no io/blkio controller for this cgroup (not mounted or not enabled): "
                "unthrottled");
        return;
    }
    if (s->io_throttled) {
        char first[128];
        snprintf(first, sizeof first, "%.*s", (int)strcspn(s->io_max, "\n"), s->io_max);
        obs_add(c->r, OBS_PASS, "cgroups", "cgroup.io", NULL, "throttled (%s)", first);
    } else {
        obs_add(c->r, OBS_WARN, "cgroups", "cgroup.io", IO_FIX,
                "io unthrottled: can saturate the host's disks");
    }
}

static void check_devices(audit_ctx *c, const cgroup_stats *s)
{
    const char *fix = "linux.resources.devices: deny all ({\"allow\": false, \"access\": "
                      "\"rwm\"}) first, then allow what is needed";
    if (!s->has_devices) {
        obs_add(c->r, OBS_SKIP, "cgroups", "cgroup.devices", NULL,
                "cannot read the device rules of this process's cgroup%s",
                s->devices_progs < 0 && s->mode == CG_UNIFIED ? " (BPF_PROG_QUERY needs root)" : "");
        return;
    }
    if (s->devices_progs >= 0) {
        if (s->devices_allow_all)
            obs_add(c->r, OBS_FAIL, "cgroups", "cgroup.devices", fix,
                    "no device filter (eBPF) on the cgroup: every device node is usable");
        else
            obs_add(c->r, OBS_PASS, "cgroups", "cgroup.devices", NULL,
                    "%d device filter program%s in effect (rules are not inspectable)",
                    s->devices_progs, s->devices_progs == 1 ? "" : "s");
        return;
    }
    char why[512];
    obs_level l = audit_devices_list(s->devices_list, why, sizeof why);
    obs_add(c->r, l, "cgroups", "cgroup.devices", l == OBS_PASS ? NULL : fix, "%s%s",
            l == OBS_PASS ? "" : "allowed: ", why);
}

void audit_cgroups(audit_ctx *c)
{
    cgroup_stats s;
    capsa_err e;
    int r = -1;
    if (c->t->cgroup_path)
        r = cgroup_stats_read(c->t->cgroup_path, &s, &e);
    if (r < 0)  /* not a capsa container, or its recorded path is gone */
        r = cgroup_stats_read_pid(c->p->pid, &s, &e);
    if (r < 0) {
        obs_add(c->r, OBS_SKIP, "cgroups", "cgroups", NULL, "%s", e.msg);
        return;
    }
    check_memory(c, &s);
    check_pids(c, &s);
    check_cpu(c, &s);
    check_io(c, &s);
    check_devices(c, &s);
}
