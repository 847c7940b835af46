"""Host-global kernel files: /proc/sys, core_pattern, sysrq-trigger, /sys, and the
masked /proc and /sys entries that leak host information.

Writes write back the bytes already there (attack `write_same`), or only open the
file for writing (`open_wr`) where any write would act (sysrq-trigger)."""
import os

import pytest


def _skip_unless(path):
    if not os.path.exists(path):
        pytest.skip(f"{path} does not exist on this kernel")


def _read(path):
    with open(path, "rb") as f:
        return f.read()


@pytest.mark.parametrize("path,how", [
    # /proc/sys: a host-wide sysctl (kernel.printk_ratelimit is not namespaced)
    ("/proc/sys/kernel/printk_ratelimit", "write_same"),
    # core_pattern "|/prog" runs /prog as root on the host at the next crash
    ("/proc/sys/kernel/core_pattern", "write_same"),
    # one byte here crashes, reboots or syncs the host
    ("/proc/sysrq-trigger", "open_wr"),
    # the CPUs every new interrupt of the host goes to
    ("/proc/irq/default_smp_affinity", "write_same"),
], ids=["proc-sys", "core_pattern", "sysrq-trigger", "proc-irq"])
def test_readonly_proc_paths(sec, path, how):
    _skip_unless(path)
    before = _read(path) if how == "write_same" else None
    # readonlyPaths: /proc/sys and /proc/sysrq-trigger are read-only binds
    sec.attack(how, path).assert_blocked("EROFS", step="open-write")
    ro = next(p for p in ("/proc/sys", "/proc/irq", path) if path.startswith(p))
    sec.attack(how, path, off=[f"rw:{ro}"]).assert_ok()
    if before is not None:
        assert _read(path) == before, f"{path} changed on the host"


RCU = "/sys/kernel/rcu_expedited"


@pytest.mark.skipif(not os.path.exists(RCU), reason=f"{RCU} missing")
def test_sysfs_read_only(sec):
    before = _read(RCU)
    # sysfs is mounted "ro" by the default spec
    sec.attack("write_same", RCU).assert_blocked("EROFS", step="open-write")
    sec.attack("write_same", RCU, off=["rw-mount:/sys"]).assert_ok()
    assert _read(RCU) == before


@pytest.mark.parametrize("path,extra", [
    # host timers, with the comm and pid of every process that set one
    ("/proc/timer_list", []),
    # every key of every user the reader may view
    ("/proc/keys", []),
    # physical memory of the host; also needs CAP_SYS_RAWIO
    ("/proc/kcore", ["cap:CAP_SYS_RAWIO"]),
], ids=["timer_list", "keys", "kcore"])
def test_masked_proc_files(sec, path, extra):
    _skip_unless(path)
    # maskedPaths: /dev/null (verified to be 1:3) is bind-mounted over the file
    r = sec.attack("read", path)
    assert (r.ok and r.detail.startswith("0 ")) or r.outcome == "fail", \
        f"a masked file must read as empty: {r!r}"
    r = sec.attack("read", path, off=[f"unmask:{path}", *extra]).assert_ok()
    assert not r.detail.startswith("0 "), f"unmasked {path} should have content: {r!r}"


def test_masked_sys_firmware(sec):
    _skip_unless("/sys/firmware")
    host = len(os.listdir("/sys/firmware"))
    if host == 0:
        pytest.skip("/sys/firmware is empty on this host")
    # a directory is masked with an empty read-only tmpfs
    r = sec.attack("list", "/sys/firmware").assert_ok()
    assert r.detail.split()[0] == "0", f"masked /sys/firmware lists entries: {r!r}"
    r = sec.attack("list", "/sys/firmware", off=["unmask:/sys/firmware"]).assert_ok()
    assert int(r.detail.split()[0]) == host
