#!/usr/bin/python3
"""Run a command in a qemu guest whose PID 1 is systemd (the host's /lib/systemd/systemd).

    tests/vm/systemd/run.py [--accel auto|kvm|tcg] [--timeout S]
                            [--layout unified|legacy|both | --legacy]
                            [--cmd SHELL-CMD] [TEST_FILE...]

The guest of tests/vm/run.py (Debian's kernel, the host's / read-only over 9p under a
tmpfs overlay, the checkout writable at its own path) with tests/vm/systemd/init.sh as
/init: systemd boots capsa-vm.target (a D-Bus system bus and one service that runs the
command, see init.sh), on the unified cgroup hierarchy, or on systemd's legacy one
(systemd.unified_cgroup_hierarchy=0: every controller a v1 hierarchy). --layout both
boots twice, unified then legacy; it is the default of the test run (`make vm-systemd`),
--cmd defaults to unified. Default command: pytest on every test file of tests/vm/systemd
with CAPSA=<the snapshot of build/capsa>.

Exit status: the guest command's, 124 on timeout, 125 when the guest broke down; 0 with a
"SKIPPED" line when qemu, the kernel package or systemd is not installed.
"""
import argparse
import importlib.util
import os
import shlex
import signal
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("capsa_vm_run",
                                               os.path.join(HERE, "..", "run.py"))
vm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(vm)

UNIFIED = ("systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all console=ttyS0 quiet "
           "panic=-1 norandmaps systemd.show_status=0")
LEGACY = ("systemd.unified_cgroup_hierarchy=0 systemd.legacy_systemd_cgroup_controller=1 "
          "console=ttyS0 quiet panic=-1 norandmaps systemd.show_status=0")
HYBRID = ("systemd.unified_cgroup_hierarchy=0 console=ttyS0 quiet panic=-1 norandmaps "
          "systemd.show_status=0")
CMDLINES = {"unified": UNIFIED, "legacy": LEGACY, "hybrid": HYBRID}
DEFAULT_TESTS = ["tests/vm/systemd"]


def systemd_initramfs(base, tmpdir, command, files):
    """The cgroup v2 guest's initramfs with our /init over its own (cpio archives are
    unpacked in order, a later file replaces an earlier one)."""
    path = vm.run_initramfs(base, tmpdir, "run", command, files)
    c = vm.Cpio()
    with open(os.path.join(HERE, "init.sh"), "rb") as f:
        c.file("init", f.read(), 0o755)
    with open(path, "ab") as out:
        out.write(c.close())
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--accel", choices=("auto", "kvm", "tcg"),
                    default=os.environ.get("CAPSA_VM_ACCEL", "auto"))
    ap.add_argument("--timeout", type=float,
                    default=float(os.environ.get("CAPSA_VM_TIMEOUT", "900")))
    ap.add_argument("--layout", choices=("unified", "legacy", "hybrid", "both"),
                    help="systemd's cgroup layout: unified (v2), legacy "
                         "(systemd.unified_cgroup_hierarchy=0), hybrid (legacy plus "
                         "systemd's cgroup2 at /sys/fs/cgroup/unified) or both (unified and "
                         "legacy), one boot each "
                         "(default: both for the tests, unified for --cmd)")
    ap.add_argument("--legacy", action="store_const", const="legacy", dest="layout",
                    help="the same as --layout legacy")
    ap.add_argument("--cmd", help="shell command to run in the guest (cwd: the checkout)")
    ap.add_argument("tests", nargs="*")
    args = ap.parse_args()

    def stop(n, _frame):
        print(f"vm: stopped by signal {n}; killing qemu", flush=True)
        sys.exit(128 + n)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)
    try:
        if not os.path.exists("/lib/systemd/systemd"):
            raise vm.Skip("no /lib/systemd/systemd on the host (apt-get install systemd)")
        if not os.path.exists("/usr/bin/dbus-daemon"):
            raise vm.Skip("no dbus-daemon on the host (apt-get install dbus)")
        if vm.platform.machine() != "x86_64":
            raise vm.Skip(f"host is {vm.platform.machine()}, the guest needs x86_64")
        if not vm.shutil.which(vm.QEMU):
            raise vm.Skip(f"{vm.QEMU} not installed (apt-get install qemu-system-x86)")
        if os.geteuid() != 0:
            raise vm.Skip("needs root (exports / through 9p with security_model=passthrough)")
        kver, bzimage = vm.find_kernel()
        os.makedirs(vm.CACHE, exist_ok=True)
        kernel = vm.boot_image(kver, bzimage)
        base = vm.base_initramfs(kver)
    except vm.Skip as e:
        print(f"SKIPPED: systemd VM suite (tests/vm/systemd): {e}", flush=True)
        return 0
    layouts = {"unified": ["unified"], "legacy": ["legacy"], "hybrid": ["hybrid"],
               "both": ["unified", "legacy"],
               None: ["unified"] if args.cmd else ["unified", "legacy"]}[args.layout]
    if args.cmd:
        body = args.cmd
    else:
        body = ("exec /usr/bin/python3 -m pytest -q -p no:cacheprovider -rs "
                + " ".join(map(shlex.quote, args.tests or DEFAULT_TESTS)))
    for layout in layouts:
        rc = boot(args, kernel, kver, base, body, layout)
        if rc:
            return rc
    return 0


def boot(args, kernel, kver, base, body, layout):
    vm.CMDLINE = CMDLINES[layout]
    with tempfile.TemporaryDirectory(prefix="capsa-vm-systemd-") as tmpdir:
        accel, why = args.accel, "forced"
        if accel == "auto":
            ok, why = vm.kvm_works(base, tmpdir, kernel)
            accel = "kvm" if ok else "tcg"
        vm.log(f"systemd guest: kernel {kver}, accel {accel} ({why}), "
               f"{layout} cgroups, timeout {args.timeout:.0f}s")
        status = os.path.join(tmpdir, "status")
        capsa_path, capsa_data = vm.capsa_binary()
        files = []
        guest_capsa = capsa_path
        if capsa_data is not None:
            files.append(("capsa", capsa_data))
            guest_capsa = vm.GUEST_CAPSA
        initrd = systemd_initramfs(base, tmpdir, vm.guest_command(
            argparse.Namespace(cmd=body, tests=[]), guest_capsa), files)
        b = vm.Boot(vm.qemu_argv(accel, kernel, initrd, status, True), status, args.timeout,
                    echo=True)
        rc = b.run()
    up = [ln for ln in b.output if ln.startswith("CAPSA-VM-SYSTEMD-UP")]
    when = (f"systemd ran the test service {float(up[0].split()[1]):.1f}s after the kernel "
            f"started" if up else "the test service never started")
    if b.timed_out:
        print(f"FAILED: systemd VM ({layout}): timed out after {args.timeout:.0f}s ({when})",
              flush=True)
        return 124
    if rc is None:
        print(f"FAILED: systemd VM ({layout}): the guest ended without an exit status "
              f"(qemu exit {b.qemu_rc}, {when}, {b.elapsed:.1f}s)", flush=True)
        return 125
    verdict = "PASSED" if rc == 0 else f"FAILED (exit {rc})"
    vm.log(f"{verdict} ({layout} cgroups): accel {accel}, {when}, total {b.elapsed:.1f}s")
    return rc


if __name__ == "__main__":
    sys.exit(main())
