#!/bin/sh
# /init of the systemd test guest (tests/vm/systemd/run.py puts it over the /init of the
# cgroup v2 guest's initramfs: same busybox, modules, /run.env, /run.cmd, /run.files).
#
# Root as in tests/vm/init.sh (the host's / read-only over 9p under a tmpfs overlay, the
# checkout writable at its own path), then the host's own /lib/systemd/systemd becomes
# PID 1 with capsa-vm.target: a D-Bus system bus (dbus.socket) and one service running
# the command; the units a test host does not need are masked in the overlay's /etc so
# the boot stays short under TCG. The service reports the exit status on ttyS1
# ("CAPSA-VM-STATUS n") and powers off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
. /run.env

finish() {
    echo "CAPSA-VM-STATUS $1" > /dev/ttyS1
    sync
    poweroff -f
    reboot -f
}
die() {
    echo "capsa-vm: init: $*"
    finish 125
}

echo "CAPSA-VM-INIT"
[ "$CAPSA_VM_MODE" = probe ] && finish 0
for m in $(cat /modules.list); do
    insmod "/modules/$m" || die "insmod $m failed"
done

R=/newroot
p9="trans=virtio,version=9p2000.L,msize=512000"
mkdir -p /lower /upper $R
mount -t 9p -o "$p9,cache=loose,ro" hostroot /lower || die "mount hostroot (9p)"
mount -t tmpfs -o mode=0755 tmpfs /upper
mkdir /upper/data /upper/work
mount -t overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work overlay $R ||
    die "mount overlay"
# The host may itself be a container (/.dockerenv): systemd would see "docker", take its
# own argv for the kernel command line and ignore systemd.unified_cgroup_hierarchy=0
# (--legacy). The guest is a VM: hide the marker in the overlay.
rm -f $R/.dockerenv
[ -x $R/lib/systemd/systemd ] || die "no /lib/systemd/systemd on the host (apt-get install systemd)"
# systemd mounts proc, sys, dev, run, the cgroups itself. The host's /run (and its
# /run/systemd) must not show through: a tmpfs of our own.
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs $R/run
mkdir -p "$R$CAPSA_VM_SHARE"
mount -t 9p -o "$p9,cache=mmap" work "$R$CAPSA_VM_SHARE" || die "mount the checkout (9p)"

mkdir -p $R/run/capsa-vm/bin
cp /run.cmd $R/run/capsa-vm/cmd
cp /bin/busybox $R/run/capsa-vm/bin/busybox
[ -d /run.files ] && cp -p /run.files/* $R/run/capsa-vm/

# --- the units -----------------------------------------------------------------------
E=$R/etc/systemd/system
mask() { for u in "$@"; do rm -f "$E/$u"; ln -sf /dev/null "$E/$u"; done; }
# Not needed by a container host under test; each costs time under TCG or fails in a VM
# without a disk, network or clock source.
mask systemd-udevd.service systemd-udev-trigger.service systemd-udev-settle.service \
    systemd-udevd-control.socket systemd-udevd-kernel.socket \
    systemd-journal-flush.service systemd-journald-audit.socket \
    systemd-pstore.service systemd-timesyncd.service systemd-random-seed.service \
    systemd-firstboot.service systemd-machine-id-commit.service systemd-repart.service \
    systemd-sysusers.service systemd-binfmt.service systemd-modules-load.service \
    systemd-sysctl.service systemd-tmpfiles-setup-dev.service systemd-tmpfiles-setup.service \
    systemd-update-utmp.service systemd-pcrphase-sysinit.service systemd-pcrphase.service \
    systemd-remount-fs.service systemd-fsck-root.service kmod-static-nodes.service \
    systemd-ask-password-console.path systemd-ask-password-wall.path \
    proc-sys-fs-binfmt_misc.automount sys-fs-fuse-connections.mount sys-kernel-config.mount \
    sys-kernel-debug.mount sys-kernel-tracing.mount dev-hugepages.mount \
    cryptsetup.target integritysetup.target veritysetup.target swap.target \
    systemd-initctl.socket docker.socket podman.socket docker.service containerd.service \
    apt-daily.timer apt-daily-upgrade.timer man-db.timer dpkg-db-backup.timer \
    e2scrub_all.timer fstrim.timer logrotate.timer systemd-tmpfiles-clean.timer \
    getty.target serial-getty@ttyS0.service serial-getty@ttyS1.service \
    systemd-logind.service networking.service apparmor.service
cat > $E/capsa-vm.target <<UNIT
[Unit]
Description=capsa systemd test guest
Requires=capsa-vm.service
After=capsa-vm.service
AllowIsolate=yes
UNIT
cat > $E/capsa-vm.service <<UNIT
[Unit]
Description=capsa VM test command
DefaultDependencies=no
Requires=dbus.socket
After=dbus.socket systemd-journald.socket

[Service]
Type=simple
WorkingDirectory=$CAPSA_VM_SHARE
ExecStart=/bin/sh /run/capsa-vm/service
StandardInput=null
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
UNIT
cat > $R/run/capsa-vm/service <<'SH'
#!/bin/sh
echo "CAPSA-VM-SYSTEMD-UP $(cut -d' ' -f1 /proc/uptime)"
stty -onlcr 2>/dev/null
/bin/sh /run/capsa-vm/cmd < /dev/null
rc=$?
echo "CAPSA-VM-STATUS $rc" > /dev/ttyS1
sync
/run/capsa-vm/bin/busybox poweroff -f
SH
hostname capsa-systemd-guest
echo "CAPSA-VM-READY systemd $(readlink -f $R/lib/systemd/systemd)"
umount -l /proc /sys /dev
exec switch_root $R /lib/systemd/systemd --unit=capsa-vm.target --show-status=no \
    --log-target=console --log-level=warning
