#!/bin/sh
# /init of the cgroup v2 test guest (tests/vm/run.py packs it into the initramfs with a
# static busybox, the modules listed in /modules.list and /run.env + /run.cmd).
#
# The guest's root is the host's / (virtio-9p, read-only) under an overlay whose upper
# layer is a guest tmpfs, so every host binary works and nothing on the host changes;
# the checkout is a second, writable 9p share at its own path. Fresh proc/sys/dev/tmp/run
# and a cgroup2-only /sys/fs/cgroup (the kernel runs with cgroup_no_v1=all) make the guest
# a pure v2 host. The command's exit status goes to ttyS1 ("CAPSA-VM-STATUS n"), its
# output to the console (ttyS0).
finish() {
    echo "CAPSA-VM-STATUS $1" > /dev/ttyS1
    sync
    poweroff -f
    reboot -f  # -no-reboot turns this into a qemu exit too
}

if [ "$1" = stage2 ]; then
    # PID 1 in the new root: run the command (host binaries, host PATH) and report.
    export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    # Shared propagation everywhere, as systemd sets up every v2 distribution host.
    /run/capsa-vm/bin/busybox mount --make-rshared /
    cd "$CAPSA_VM_SHARE" && /bin/sh /run/capsa-vm/cmd < /dev/null
    rc=$?
    export PATH=/run/capsa-vm/bin
    finish $rc
fi

/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
. /run.env

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
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
# as on a booted host: AppArmor's interface (apparmor_parser, tests/integration/test_apparmor.py)
mount -t securityfs securityfs $R/sys/kernel/security 2>/dev/null
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm $R/dev/mqueue
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts $R/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
mount -t mqueue mqueue $R/dev/mqueue
mount -t tmpfs -o mode=1777 tmpfs $R/tmp
mount -t tmpfs -o mode=0755 tmpfs $R/run
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 $R/sys/fs/cgroup ||
    die "mount cgroup2"
# The checkout last: it may live under /tmp or /run (CI clones anywhere).
mkdir -p "$R$CAPSA_VM_SHARE"
mount -t 9p -o "$p9,cache=mmap" work "$R$CAPSA_VM_SHARE" || die "mount the checkout (9p)"
cg=$R/sys/fs/cgroup
for c in $(cat $cg/cgroup.controllers); do
    echo "+$c" > $cg/cgroup.subtree_control || die "enable the $c controller"
done
hostname capsa-v2-guest
ip link set lo up

# switch_root, not chroot: a chrooted process may not create user namespaces.
mkdir -p $R/run/capsa-vm/bin
cp /run.cmd $R/run/capsa-vm/cmd
cp /init $R/run/capsa-vm/init
cp /bin/busybox $R/run/capsa-vm/bin/busybox
for a in sh poweroff reboot sync; do ln -s busybox $R/run/capsa-vm/bin/$a; done
[ -d /run.files ] && cp -p /run.files/* $R/run/capsa-vm/
stty -onlcr 2>/dev/null
echo "CAPSA-VM-READY controllers: $(cat $cg/cgroup.subtree_control)"
umount -l /proc /sys /dev
exec switch_root $R /run/capsa-vm/bin/sh /run/capsa-vm/init stage2
