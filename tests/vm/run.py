#!/usr/bin/python3
"""Run a command inside a qemu guest that is a pure cgroup v2 host.

    tests/vm/run.py [--accel auto|kvm|tcg] [--timeout S] [--cmd SHELL-CMD] [TEST_FILE...]

Default: tests/vm/suite.py in the guest, i.e. the smoke test (tests/vm/test_smoke.py) and
then the given pytest files (default: the cgroup files of tests/integration that exist),
with CAPSA=<checkout>/build/capsa. --cmd runs any shell command instead (in the checkout).

The guest boots Debian's kernel (package linux-image-amd64: /boot/vmlinuz-KVER with
/lib/modules/KVER, not the host's running kernel) with cgroup_no_v1=all; its root is the
host's / exported read-only over virtio-9p under a tmpfs overlay, the checkout is a
writable 9p share at the same path (see tests/vm/init.sh and
../shared/notes/cgroup-v2-vm.md). KVM is used only when a probe boot proves that it works
(the result is cached per host boot), else TCG. The uncompressed vmlinux (booted through
PVH, ~2.8 s faster than the bzImage) and the base initramfs are cached in build/vm-cache/;
everything else lives in a temporary directory removed at exit.

Exit status: the guest command's, 124 on timeout, 125 when the guest broke down; 0 with a
"SKIPPED" line when qemu or the kernel package is not installed.
"""
import argparse
import ctypes
import glob
import hashlib
import lzma
import os
import platform
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(os.path.dirname(HERE))
CACHE = os.environ.get("CAPSA_VM_CACHE", os.path.join(CHECKOUT, "build", "vm-cache"))
QEMU = "qemu-system-x86_64"
BUSYBOX = "/bin/busybox"
# virtio_pci pulls virtio, virtio_ring and the modern/legacy helpers; 9p pulls 9pnet,
# netfs and fscache; virtio_blk gives the guest a block device (/dev/vda, a 64 MiB qemu
# null device reading zeroes) for the io.max/io.weight tests. Built-in modules (another
# kernel config) are simply skipped.
MODULES = ["virtio_pci", "9pnet_virtio", "9p", "overlay", "virtio_blk"]
# norandmaps: under TCG, code at a new address is translated anew; without ASLR every
# process reuses the translations of the libraries and an exec costs 10 ms, not 30.
CMDLINE = ("cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 console=ttyS0 quiet panic=-1 "
           "norandmaps")
# The integration files whose subject depends on the cgroup version.
DEFAULT_TESTS = ["tests/integration/test_cgroups*.py",
                 "tests/integration/test_update_pause.py",
                 "tests/integration/test_oom_state.py",
                 "tests/integration/test_rootless_v2.py",
                 "tests/integration/test_observe.py",
                 "tests/integration/test_observe_stats.py",
                 # Debian's kernel has AppArmor on; the development hosts do not
                 "tests/integration/test_apparmor.py"]
KVM_PROBE_TIMEOUT = 6.0


class Skip(Exception):
    pass


def log(msg):
    print(f"vm: {msg}", flush=True)


# --- the guest kernel -------------------------------------------------------------

def _version_key(kver):
    return [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", kver)]


def module_index(kver):
    """{module name: path relative to /lib/modules/KVER} and {path: [deps]}, or None."""
    base = f"/lib/modules/{kver}"
    try:
        with open(os.path.join(base, "modules.dep")) as f:
            dep_lines = f.read().splitlines()
    except OSError:
        return None
    builtin = set()
    try:
        with open(os.path.join(base, "modules.builtin")) as f:
            builtin = {_modname(l.strip()) for l in f if l.strip()}
    except OSError:
        pass
    names, deps = {}, {}
    for line in dep_lines:
        path, _, rest = line.partition(":")
        names[_modname(path)] = path
        deps[path] = rest.split()
    return names, deps, builtin


def _modname(path):
    n = os.path.basename(path)
    n = re.sub(r"\.ko(\.(xz|zst|gz))?$", "", n)
    return n.replace("-", "_")


def modules_in_load_order(kver):
    idx = module_index(kver)
    if idx is None:
        return None
    names, deps, builtin = idx
    order = []

    def visit(path, depth=0):
        if path in order or depth > 50:
            return
        for d in deps.get(path, []):
            visit(d, depth + 1)
        order.append(path)

    for m in MODULES:
        if m in builtin:
            continue
        if m not in names:
            return None
        visit(names[m])
    return order


def find_kernel():
    """(kver, /boot/vmlinuz-KVER) of the newest installed kernel with usable modules."""
    forced = os.environ.get("CAPSA_VM_KERNEL")
    cands = [forced] if forced else glob.glob("/boot/vmlinuz-*")
    good = []
    for k in cands:
        kver = os.path.basename(k)[len("vmlinuz-"):]
        if os.path.isfile(k) and modules_in_load_order(kver) is not None:
            good.append((kver, k))
    if not good:
        raise Skip("no guest kernel: no /boot/vmlinuz-KVER with /lib/modules/KVER "
                   "(apt-get install linux-image-amd64)")
    return max(good, key=lambda t: _version_key(t[0]))


def _decompress_at(data, off, kind):
    payload = data[off:]
    try:
        if kind == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(payload)
        if kind == "xz":
            return lzma.LZMADecompressor(lzma.FORMAT_XZ).decompress(payload)
        if kind == "lzma":
            return lzma.LZMADecompressor(lzma.FORMAT_ALONE).decompress(payload)
        if kind == "bzip2":
            import bz2
            return bz2.BZ2Decompressor().decompress(payload)
        if kind == "zstd" and shutil.which("zstd"):
            # zstd -d stops at the end of the frame but complains about trailing bytes.
            p = subprocess.run(["zstd", "-dc"], input=payload, capture_output=True)
            return p.stdout
    except (lzma.LZMAError, zlib.error, OSError, EOFError, ValueError):
        return None
    return None


MAGICS = [(b"\x1f\x8b\x08", "gzip"), (b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"),
          (b"BZh", "bzip2"), (b"\x5d\x00\x00\x00", "lzma")]


def extract_vmlinux(bzimage):
    """The ELF vmlinux inside a bzImage, as scripts/extract-vmlinux finds it: try every
    offset where a compressor's magic occurs until one decompresses to an ELF file."""
    with open(bzimage, "rb") as f:
        data = f.read()
    for magic, kind in MAGICS:
        off = data.find(magic)
        while off >= 0:
            out = _decompress_at(data, off, kind)
            if out and out[:4] == b"\x7fELF":
                return out
            off = data.find(magic, off + 1)
    return None


def has_pvh_note(elf):
    """True if the ELF carries XEN_ELFNOTE_PHYS32_ENTRY (CONFIG_PVH), which qemu needs
    to boot an uncompressed vmlinux."""
    if elf[4] != 2:  # ELFCLASS64 only
        return False
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from(
            "<IIQQQQ", elf, phoff + i * phentsize)
        if p_type != 4:  # PT_NOTE
            continue
        pos, end = p_offset, p_offset + p_filesz
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, pos)
            name = elf[pos + 12:pos + 12 + namesz].rstrip(b"\0")
            if name == b"Xen" and ntype == 18:
                return True
            pos += 12 + ((namesz + 3) & ~3) + ((descsz + 3) & ~3)
    return False


def _atomic_write(path, data):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def boot_image(kver, bzimage):
    """A cached uncompressed vmlinux when the kernel can boot through PVH, else the
    bzImage itself."""
    st = os.stat(bzimage)
    tag = f"{st.st_size}-{int(st.st_mtime)}"
    out = os.path.join(CACHE, f"vmlinux-{kver}-{tag}")
    bad = out + ".nopvh"
    if os.path.exists(out):
        return out
    if os.path.exists(bad):
        return bzimage
    os.makedirs(CACHE, exist_ok=True)
    for old in glob.glob(os.path.join(CACHE, f"vmlinux-{kver}-*")):
        os.unlink(old)
    t = time.monotonic()
    elf = extract_vmlinux(bzimage)
    if elf is None or not has_pvh_note(elf):
        _atomic_write(bad, b"")
        log(f"{bzimage}: no PVH-bootable vmlinux inside, booting the bzImage")
        return bzimage
    _atomic_write(out, elf)
    log(f"extracted {out} ({len(elf) >> 20} MiB) in {time.monotonic() - t:.1f}s")
    return out


# --- initramfs (cpio "newc") ---------------------------------------------------------

class Cpio:
    def __init__(self):
        self.buf = bytearray()
        self.ino = 1

    def add(self, name, mode, data=b"", rdev=(0, 0)):
        name = name.lstrip("/").encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name), 0]
        self.ino += 1
        self.buf += b"070701" + b"".join(b"%08X" % v for v in fields) + name
        self.buf += b"\0" * (-len(self.buf) % 4)
        self.buf += data
        self.buf += b"\0" * (-len(self.buf) % 4)

    def dir(self, name):
        self.add(name, 0o040755)

    def file(self, name, data, mode=0o644):
        self.add(name, 0o100000 | mode, data)

    def symlink(self, name, target):
        self.add(name, 0o120777, target.encode())

    def close(self):
        self.add("TRAILER!!!", 0)
        self.buf += b"\0" * (-len(self.buf) % 512)
        return bytes(self.buf)


def _read_module(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".xz"):
        return lzma.decompress(data)
    if path.endswith(".gz"):
        return zlib.decompress(data, 16 + zlib.MAX_WBITS)
    if path.endswith(".zst"):
        return subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
    return data


def base_initramfs(kver):
    """busybox + /init + the modules; cached by content."""
    mods = modules_in_load_order(kver)
    with open(os.path.join(HERE, "init.sh"), "rb") as f:
        init = f.read()
    h = hashlib.sha256(init)
    for p in [BUSYBOX] + [f"/lib/modules/{kver}/{m}" for m in mods]:
        st = os.stat(p)
        h.update(f"{p} {st.st_size} {st.st_mtime_ns}\n".encode())
    out = os.path.join(CACHE, f"initramfs-{kver}-{h.hexdigest()[:16]}.cpio")
    if os.path.exists(out):
        return out
    if not os.access(BUSYBOX, os.X_OK):
        raise Skip(f"{BUSYBOX} missing (apt-get install busybox-static)")
    c = Cpio()
    for d in ("bin", "dev", "proc", "sys", "modules"):
        c.dir(d)
    c.add("dev/console", 0o020600, rdev=(5, 1))
    c.add("dev/null", 0o020666, rdev=(1, 3))
    with open(BUSYBOX, "rb") as f:
        c.file("bin/busybox", f.read(), 0o755)
    c.symlink("bin/sh", "busybox")
    c.file("init", init, 0o755)
    listing = []
    for i, m in enumerate(mods):
        name = f"{i:02d}-{_modname(m)}.ko"
        c.file(f"modules/{name}", _read_module(f"/lib/modules/{kver}/{m}"))
        listing.append(name)
    c.file("modules.list", ("\n".join(listing) + "\n").encode())
    os.makedirs(CACHE, exist_ok=True)
    for old in glob.glob(os.path.join(CACHE, f"initramfs-{kver}-*.cpio")):
        os.unlink(old)
    _atomic_write(out, c.close())
    return out


def run_initramfs(base, tmpdir, mode, command, files=()):
    """The base archive followed by a small one with /run.env, /run.cmd and the given
    (name, bytes) files under /run.files/: the kernel unpacks concatenated cpio archives
    in order."""
    c = Cpio()
    if files:
        c.dir("run.files")
    for name, data in files:
        c.file(f"run.files/{name}", data, 0o755)
    env = {"CAPSA_VM_MODE": mode, "CAPSA_VM_SHARE": CHECKOUT}
    c.file("run.env", "".join(f"export {k}={shlex.quote(v)}\n"
                              for k, v in env.items()).encode())
    c.file("run.cmd", command.encode())
    path = os.path.join(tmpdir, "initramfs.cpio")
    with open(base, "rb") as f, open(path, "wb") as out:
        out.write(f.read())
        out.write(c.close())
    return path


# --- qemu --------------------------------------------------------------------------

def qemu_argv(accel, kernel, initrd, status_file, with_shares):
    # 2 GiB, not 1: the guest's /tmp is a tmpfs (half the RAM) holding every bundle of
    # the pytest session. Untouched guest RAM costs the host nothing.
    argv = [QEMU, "-nodefaults", "-nographic", "-no-reboot",
            "-m", os.environ.get("CAPSA_VM_MEM", "2048"), "-smp", "2",
            "-kernel", kernel, "-initrd", initrd, "-append", CMDLINE,
            "-serial", "stdio", "-serial", f"file:{status_file}", "-monitor", "none",
            "-nic", "none", "-fw_cfg", "name=etc/sercon-port,string=0"]
    if accel == "kvm":
        argv += ["-accel", "kvm", "-cpu", "host"]
    else:
        argv += ["-accel", "tcg,thread=multi", "-cpu", os.environ.get("CAPSA_VM_CPU", "max")]
    if with_shares:
        argv += ["-blockdev", "driver=null-co,node-name=null0,size=67108864,read-zeroes=on",
                 "-device", "virtio-blk-pci,drive=null0",
                 "-virtfs", "local,path=/,mount_tag=hostroot,security_model=passthrough,"
                 "readonly=on,multidevs=remap",
                 "-virtfs", f"local,path={CHECKOUT},mount_tag=work,"
                 "security_model=passthrough,multidevs=remap"]
    return argv


class Boot:
    """One qemu run: console streamed (or captured), status read from ttyS1's file."""

    def __init__(self, argv, status_file, timeout, echo):
        self.argv, self.status_file, self.timeout, self.echo = argv, status_file, timeout, echo
        self.init_at = self.ready_at = None
        self.timed_out = False
        self.output = []

    def run(self):
        t0 = time.monotonic()
        p = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, start_new_session=True,
                             preexec_fn=_die_with_parent)
        timer_fired = []

        def on_timeout(*_):
            timer_fired.append(1)
            _kill(p)

        timer = threading.Timer(self.timeout, on_timeout)
        timer.start()
        try:
            for raw in iter(p.stdout.readline, b""):
                line = raw.decode(errors="replace").replace("\r", "")
                now = time.monotonic() - t0
                if "CAPSA-VM-INIT" in line and self.init_at is None:
                    self.init_at = now
                    continue
                if line.startswith("CAPSA-VM-READY"):
                    self.ready_at = now
                    if self.echo:
                        print(f"vm: guest ready after {now:.1f}s; {line[15:].strip()}",
                              flush=True)
                    continue
                if "etc/sercon-port" in line or "reboot: Power down" in line:
                    continue  # our own -fw_cfg (silences SeaBIOS), the final poweroff
                self.output.append(line)
                if self.echo:
                    sys.stdout.write(line)
                    sys.stdout.flush()
            p.wait()
        except BaseException:
            _kill(p)
            raise
        finally:
            timer.cancel()
        self.timed_out = bool(timer_fired)
        self.elapsed = time.monotonic() - t0
        self.qemu_rc = p.returncode
        return self.status()

    def status(self):
        try:
            with open(self.status_file) as f:
                m = re.search(r"CAPSA-VM-STATUS (\d+)", f.read())
        except OSError:
            m = None
        return int(m.group(1)) if m else None


try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None


def _die_with_parent():
    """In the child before exec: SIGKILL qemu if this script dies, however it dies."""
    if _prctl:
        _prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


def _kill(p):
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGKILL)  # qemu's own session: only what we started
        except ProcessLookupError:
            pass


def kvm_works(base, tmpdir, kernel):
    """Boot once under KVM with an init that only reports back; KVM counts only if the
    guest reached init within KVM_PROBE_TIMEOUT (a PVM-only /dev/kvm fails or hangs)."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
        os.close(fd)
    except OSError:
        return False, "/dev/kvm not usable"
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot_id = f.read().strip()
    except OSError:
        boot_id = "?"
    key = f"{boot_id} {os.path.basename(kernel)}"
    cache = os.path.join(CACHE, "kvm-probe")
    try:
        with open(cache) as f:
            k, _, verdict = f.read().strip().rpartition(" ")
        if k == key:
            return verdict == "yes", "cached probe for this host boot"
    except OSError:
        pass
    status = os.path.join(tmpdir, "probe.status")
    initrd = run_initramfs(base, tmpdir, "probe", "")
    b = Boot(qemu_argv("kvm", kernel, initrd, status, False), status, KVM_PROBE_TIMEOUT,
             echo=False)
    ok = b.run() == 0 and b.init_at is not None
    _atomic_write(cache, f"{key} {'yes' if ok else 'no'}\n".encode())
    why = (f"probe boot reached init in {b.init_at:.1f}s" if ok else
           "probe boot timed out" if b.timed_out else
           f"probe boot failed: {''.join(b.output[-3:]).strip()[:200]}")
    return ok, why


# --- main --------------------------------------------------------------------------

GUEST_CAPSA = "/run/capsa-vm/capsa"


def capsa_binary():
    """(host path, bytes or None) of the binary under test. A snapshot of it goes into
    the initramfs: a rebuild on the host during the run must not swap it under the
    guest (seen as a SIGSEGV of capsa in the guest)."""
    path = os.path.abspath(os.environ.get("CAPSA") or
                           os.path.join(CHECKOUT, "build", "capsa"))
    try:
        with open(path, "rb") as f:
            return path, f.read()
    except OSError:
        return path, None


def guest_command(args, capsa):
    if args.cmd:
        body = args.cmd
    else:
        files = args.tests or [f for pat in DEFAULT_TESTS
                               for f in sorted(glob.glob(os.path.join(CHECKOUT, pat)))]
        files = [os.path.relpath(os.path.abspath(f), CHECKOUT)
                 if os.path.abspath(f).startswith(CHECKOUT + "/") else f for f in files]
        body = "exec /usr/bin/python3 tests/vm/suite.py " + " ".join(map(shlex.quote, files))
    return ("export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "
            "HOME=/root TERM=dumb LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 "
            "CAPSA_TEST_STRICT=1 CAPSA_VM_GUEST=1\n"
            f"export CAPSA={shlex.quote(capsa)}\n"
            + body + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--accel", choices=("auto", "kvm", "tcg"),
                    default=os.environ.get("CAPSA_VM_ACCEL", "auto"))
    ap.add_argument("--timeout", type=float,
                    default=float(os.environ.get("CAPSA_VM_TIMEOUT", "420")),
                    help="seconds for the whole guest run (default 420)")
    ap.add_argument("--cmd", help="shell command to run in the guest (cwd: the checkout)")
    ap.add_argument("tests", nargs="*", help="pytest files (default: the cgroup tests)")
    args = ap.parse_args()
    # make/CI stopping us: unwind (qemu is killed, the temporary directory removed).
    def stop(n, _frame):
        print(f"vm: stopped by signal {n}; killing qemu", flush=True)
        sys.exit(128 + n)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)

    try:
        if platform.machine() != "x86_64":
            raise Skip(f"host is {platform.machine()}, the guest needs x86_64")
        if not shutil.which(QEMU):
            raise Skip(f"{QEMU} not installed (apt-get install qemu-system-x86)")
        if os.geteuid() != 0:
            raise Skip("needs root (exports / through 9p with security_model=passthrough)")
        kver, bzimage = find_kernel()
        os.makedirs(CACHE, exist_ok=True)
        kernel = boot_image(kver, bzimage)
        base = base_initramfs(kver)
    except Skip as e:
        print(f"SKIPPED: cgroup v2 VM suite (tests/vm): {e}", flush=True)
        return 0

    with tempfile.TemporaryDirectory(prefix="capsa-vm-") as tmpdir:
        accel, why = args.accel, "forced"
        if accel == "auto":
            ok, why = kvm_works(base, tmpdir, kernel)
            accel = "kvm" if ok else "tcg"
        log(f"kernel {kver} ({os.path.basename(kernel)}), accel {accel} ({why}), "
            f"timeout {args.timeout:.0f}s")
        status = os.path.join(tmpdir, "status")
        capsa_path, capsa_data = capsa_binary()
        files = []
        if capsa_data is None:
            log(f"warning: {capsa_path} does not exist (make)")
            guest_capsa = capsa_path
        else:
            files.append(("capsa", capsa_data))
            guest_capsa = GUEST_CAPSA
            log(f"runtime under test: {capsa_path}, copied to {GUEST_CAPSA} in the guest")
        initrd = run_initramfs(base, tmpdir, "run", guest_command(args, guest_capsa), files)
        b = Boot(qemu_argv(accel, kernel, initrd, status, True), status, args.timeout,
                 echo=True)
        rc = b.run()
    boot = f"init after {b.init_at:.1f}s" if b.init_at is not None else "init never reached"
    if b.timed_out:
        print(f"FAILED: cgroup v2 VM: timed out after {args.timeout:.0f}s ({boot})",
              flush=True)
        return 124
    if rc is None:
        print(f"FAILED: cgroup v2 VM: the guest ended without an exit status "
              f"(qemu exit {b.qemu_rc}, {boot}, {b.elapsed:.1f}s)", flush=True)
        return 125
    verdict = "PASSED" if rc == 0 else f"FAILED (exit {rc})"
    log(f"{verdict}: accel {accel}, {boot}, total {b.elapsed:.1f}s")
    return rc


if __name__ == "__main__":
    sys.exit(main())
