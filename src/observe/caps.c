/* Capability risk table. The reasons are what an attacker does with the
 * capability, so the audit output explains itself. */
#include "observe/caps.h"

#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec/spec.h"

static const struct {
    int cap;
    obs_cap_risk risk;
    const char *why;
} table[] = {
    {CAP_SYS_ADMIN, OBS_CAP_DANGEROUS, "mount, cgroup release_agent, namespaces: the classic escape"},
    {CAP_SYS_MODULE, OBS_CAP_DANGEROUS, "loads kernel modules: arbitrary kernel code"},
    {CAP_SYS_PTRACE, OBS_CAP_DANGEROUS, "ptrace/process_vm_* on any process it can see"},
    {CAP_SYS_RAWIO, OBS_CAP_DANGEROUS, "raw I/O ports and /dev/mem: reads and writes kernel memory"},
    {CAP_DAC_READ_SEARCH, OBS_CAP_DANGEROUS, "open_by_handle_at reads host files (shocker)"},
    {CAP_NET_ADMIN, OBS_CAP_DANGEROUS, "reconfigures interfaces, routes, firewall of its network namespace"},
    {CAP_SYS_BOOT, OBS_CAP_DANGEROUS, "reboot and kexec_load"},
    {CAP_BPF, OBS_CAP_DANGEROUS, "loads BPF programs and maps: kernel attack surface"},
    {CAP_PERFMON, OBS_CAP_DANGEROUS, "perf_event_open on the system: kernel pointers, side channels"},
    {CAP_SYS_TIME, OBS_CAP_DANGEROUS, "sets the host clock (clocks are not namespaced)"},
    {CAP_MAC_ADMIN, OBS_CAP_DANGEROUS, "changes the AppArmor/SELinux policy"},
    {CAP_MAC_OVERRIDE, OBS_CAP_DANGEROUS, "bypasses the AppArmor/SELinux policy"},
    {CAP_SYSLOG, OBS_CAP_DANGEROUS, "reads and clears the kernel log, kernel addresses"},
    {CAP_AUDIT_CONTROL, OBS_CAP_DANGEROUS, "changes or disables the host's audit rules"},
    {CAP_SYS_RESOURCE, OBS_CAP_RISKY, "overrides resource limits and quotas"},
    {CAP_SYS_NICE, OBS_CAP_RISKY, "realtime priorities starve the host's CPUs"},
    {CAP_IPC_LOCK, OBS_CAP_RISKY, "locks unlimited memory"},
    {CAP_IPC_OWNER, OBS_CAP_RISKY, "bypasses SysV IPC permissions"},
    {CAP_LINUX_IMMUTABLE, OBS_CAP_RISKY, "clears immutable/append-only file flags"},
    {CAP_SYS_PACCT, OBS_CAP_RISKY, "switches process accounting"},
    {CAP_SYS_TTY_CONFIG, OBS_CAP_RISKY, "vhangup and tty configuration"},
    {CAP_WAKE_ALARM, OBS_CAP_RISKY, "wakes the system from suspend"},
    {CAP_BLOCK_SUSPEND, OBS_CAP_RISKY, "blocks system suspend"},
    {CAP_AUDIT_READ, OBS_CAP_RISKY, "reads the host's audit log over netlink"},
    {CAP_CHECKPOINT_RESTORE, OBS_CAP_RISKY, "sets pids and reads other processes' state"},
    {CAP_LEASE, OBS_CAP_RISKY, "file leases on files it does not own"},
};

obs_cap_risk obs_cap_risk_of(int cap, const char **why)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].cap == cap) {
            if (why)
                *why = table[i].why;
            return table[i].risk;
        }
    if (why)
        *why = NULL;
    return OBS_CAP_OK;
}

uint64_t obs_caps_all(void)
{
    int last = spec_cap_last();
    FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
    if (f) {
        int v;
        if (fscanf(f, "%d", &v) == 1 && v > 0 && v < 64)
            last = v;
        fclose(f);
    }
    return last >= 63 ? UINT64_MAX : (UINT64_C(1) << (last + 1)) - 1;
}

int obs_caps_count(uint64_t mask)
{
    return __builtin_popcountll(mask);
}

void obs_caps_names(uint64_t mask, char *buf, size_t n)
{
    buf[0] = 0;
    if (!mask) {
        snprintf(buf, n, "none");
        return;
    }
    uint64_t all = obs_caps_all();
    if ((mask & all) == all) {
        snprintf(buf, n, "ALL (%d)", obs_caps_count(mask));
        return;
    }
    /* Nearly everything (a privileged process missing one or two): name
     * what is missing, not 40 capabilities. */
    bool except = obs_caps_count(mask & all) > obs_caps_count(all) / 2;
    uint64_t list = except ? all & ~mask : mask;
    size_t len = 0;
    if (except)
        len = (size_t)snprintf(buf, n, "ALL (%d) except ", obs_caps_count(mask));
    for (int c = 0; c < 64 && len < n; c++) {
        if (!(list & (UINT64_C(1) << c)))
            continue;
        const char *name = spec_cap_name(c);
        char tmp[16];
        if (!name) {
            snprintf(tmp, sizeof tmp, "cap_%d", c);
            name = tmp;
        }
        int w = snprintf(buf + len, n - len, "%s%s",
                         len && buf[len - 1] != ' ' ? "," : "", name);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

const char *obs_cap_name(int cap)
{
    const char *n = spec_cap_name(cap);
    return n ? n : "CAP_UNKNOWN";
}
