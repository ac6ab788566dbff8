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
    echo "nsinit-vm: stage 1"
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

echo "nsinit-vm: stage 2 set up"
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
# libtest's JSON events (`{ "type": "test", "event": "ok", ... }`), printed as
# its usual lines; a failed test's output follows its line. The events say
# which tests started and did not finish.
pretty='/"type": "test"/ {
    n = $0; sub(/.*"name": "/, "", n); sub(/".*/, "", n)
    e = $0; sub(/.*"event": "/, "", e); sub(/".*/, "", e)
    if (e == "started") next
    t = ""
    if (match($0, /"exec_time": [0-9.]+/)) t = sprintf(" <%.3fs>", substr($0, RSTART + 13, RLENGTH - 13))
    print "test " n " ... " e t
    o = $0
    if (e == "failed" && sub(/.*"stdout": "/, "", o)) {
        sub(/"[^"]*$/, "", o); gsub(/\\n/, "\n", o); gsub(/\\t/, "\t", o); gsub(/\\"/, "\"", o)
        print o
    }
    fflush()
}
/"type": "suite"/ && !/"event": "started"/ { print "suite: " $0; fflush() }'
unfinished='/"type": "test"/ {
    n = $0; sub(/.*"name": "/, "", n); sub(/".*/, "", n)
    if ($0 ~ /"event": "started"/) s[n] = 1; else delete s[n]
}
END { for (n in s) print "nsinit-vm: still running: " n }'

# What every process is doing: for a suite that ran past its deadline.
report_hang() {
    $bb awk "$unfinished" "$1"
    for p in /proc/[0-9]*; do
        [ -r "$p/stat" ] || continue
        echo "nsinit-vm: ps $($bb cut -d' ' -f1-5 "$p/stat") wchan=$($bb cat "$p/wchan" 2>/dev/null) $($bb tr '\0' ' ' <"$p/cmdline" 2>/dev/null | $bb cut -c1-120)"
    done
}

# Per suite, seconds (the host's qemu timeout is NSINIT_VM_TIMEOUT, 480).
deadline=${NSINIT_VM_SUITE_TIMEOUT:-300}
rc=0
# NSINIT_VM_REPEAT rounds of every suite (a flaky test's hunt).
round=0
while [ $round -lt "${NSINIT_VM_REPEAT:-1}" ]; do
round=$((round + 1))
[ "${NSINIT_VM_REPEAT:-1}" = 1 ] || echo "nsinit-vm: round $round of $NSINIT_VM_REPEAT"
for t in /nsinit-vm/tests/*; do
    name=${t##*/}
    threads=2
    [ "$name" = integration ] && threads=4
    echo "nsinit-vm: running $name --test-threads=$threads $args"
    log=/tmp/$name.events
    : >"$log"
    # Output through a file and a pipe, as under CI (the console is a tty).
    # --format json and --report-time are unstable: RUSTC_BOOTSTRAP.
    ( RUSTC_BOOTSTRAP=1 exec "$t" --test-threads=$threads -Z unstable-options --format json \
        --report-time $args </dev/null >"$log" 2>&1 ) &
    suite=$!
    $bb tail -f "$log" | $bb awk "$pretty" &
    shown=$!
    waited=0
    while $bb kill -0 $suite 2>/dev/null && [ $waited -lt "$deadline" ]; do
        $bb sleep 1
        waited=$((waited + 1))
    done
    if $bb kill -0 $suite 2>/dev/null; then
        echo "nsinit-vm: $name still running after $deadline s"
        report_hang "$log"
        $bb kill -9 $suite
    fi
    wait $suite
    r=$?
    $bb sleep 1
    $bb kill $shown 2>/dev/null
    # Lines that are not events (a panic outside a test, a crash).
    $bb grep -v '^{' "$log"
    echo "nsinit-vm: $name exited $r at $($bb cut -d' ' -f1 /proc/uptime) s"
    [ "$r" = 0 ] || [ "$rc" != 0 ] || rc=$r
done
done
echo "NSINIT-VM-EXIT=$rc"
$bb sync
$bb poweroff -f
