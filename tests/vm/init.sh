#!/usr/bin/busybox sh
# /init of the test VM (see tests/vm/run.sh). Stage 1 copies the initramfs
# into a tmpfs and switch_roots into it (pivot_root, which every container
# start does, refuses the initramfs root). Stage 2 mounts what a cgroup-v2
# host has (cgroup2 alone: the kernel boots with cgroup_no_v1=all), loads
# the network modules, runs the unit and integration suites, prints
# NSINIT-VM-EXIT=<status> and powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
bb=/usr/bin/busybox

if [ ! -e /.nsinit-vm-stage2 ]; then
    $bb mount -t proc proc /proc
    $bb mkdir -p /newroot
    $bb mount -t tmpfs -o mode=0755 tmpfs /newroot
    for e in /* /.[!.]*; do
        case $e in
        /newroot | /proc | /sys | /dev | '/.[!.]*') ;;
        *) $bb cp -a "$e" /newroot/ ;;
        esac
    done
    $bb mkdir -p /newroot/proc /newroot/sys /newroot/dev
    : >/newroot/.nsinit-vm-stage2
    $bb umount /proc
    exec $bb switch_root /newroot /init
fi

fail() {
    echo "nsinit-vm: $*"
    echo "NSINIT-VM-EXIT=125"
    $bb poweroff -f
    exit 125
}

$bb mount -t proc proc /proc || fail "mount /proc"
$bb mount -t sysfs sysfs /sys || fail "mount /sys"
$bb mount -t devtmpfs devtmpfs /dev || fail "mount /dev"
$bb mkdir -p /dev/pts /dev/shm /dev/mqueue
$bb mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts || fail "mount /dev/pts"
$bb mount -t tmpfs -o mode=1777 tmpfs /dev/shm
$bb mount -t mqueue mqueue /dev/mqueue
$bb mount -t tmpfs -o mode=0755 tmpfs /run
# As systemd mounts it on a v2-only host.
$bb mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup ||
    $bb mount -t cgroup2 cgroup2 /sys/fs/cgroup || fail "mount cgroup2"
$bb grep -q ' cgroup ' /proc/mounts && fail "a cgroup v1 hierarchy is mounted"
$bb hostname nsinit-vm
$bb ip link set lo up
for m in $($bb cat /nsinit-vm/modules/order); do
    $bb insmod "/nsinit-vm/modules/$m" || fail "insmod $m"
done

manifest=$($bb cat /nsinit-vm/manifest)
cd "$manifest" || fail "cd $manifest"
export HOME=/root TERM=xterm LANG=C.UTF-8 TMPDIR=/tmp
export NSINIT_TEST_STRICT=1 NSINIT_ROOTFS=/nsinit-vm/rootfs NSINIT_BIN=/usr/local/bin/nsinit
export NSINIT_ATTACK_DIR=/nsinit-vm/attack
. /nsinit-vm/env
args=$($bb cat /nsinit-vm/args)

echo "nsinit-vm: $($bb uname -r), $($bb nproc) cpus, cgroup2 controllers: $($bb cat /sys/fs/cgroup/cgroup.controllers)"
echo "nsinit-vm: booted in $($bb cut -d' ' -f1 /proc/uptime) s"

if $bb grep -q 'nsinit.vm=bench' /proc/cmdline; then
    # A lone start after 100 ms of idle against the kernel's floor (ratios
    # only: absolute times under an instruction emulator mean nothing).
    d=/tmp/bench-start
    $bb mkdir -p $d
    $bb sed '1s|^{|{"root_fs": "/nsinit-vm/rootfs",|' sample_configs/minimal.json >$d/container.json
    /nsinit-vm/lone 20 100 "nsinit --root $d exec /bin/true" "unshare -fmpiun true" \
        "unshare -fmpiun --mount-proc /bin/true"
    echo "NSINIT-VM-EXIT=$?"
    $bb poweroff -f
fi
rc=0
for t in /nsinit-vm/tests/*; do
    name=${t##*/}
    threads=2
    [ "$name" = integration ] && threads=4
    echo "nsinit-vm: running $name --test-threads=$threads $args"
    # Output through a pipe, as under CI (the console is a tty).
    # Each test's time (libtest's --report-time is unstable: RUSTC_BOOTSTRAP).
    { RUSTC_BOOTSTRAP=1 "$t" --test-threads=$threads -Z unstable-options --report-time $args \
        </dev/null 2>&1; echo $? >/tmp/.rc; } | $bb cat
    r=$($bb cat /tmp/.rc)
    echo "nsinit-vm: $name exited $r at $($bb cut -d' ' -f1 /proc/uptime) s"
    [ "$r" = 0 ] || [ "$rc" != 0 ] || rc=$r
done
echo "NSINIT-VM-EXIT=$rc"
$bb sync
$bb poweroff -f
