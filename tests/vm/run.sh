#!/bin/sh
# `make test-vm`: the unit and integration suites on a cgroup-v2-only kernel.
#
# Boots a stock Debian kernel (tests/vm/kernel.sh, cached under target/vm/)
# with cgroup_no_v1=all under qemu, with an initramfs (tests/vm/initramfs.sh)
# holding busybox, the host tools the tests use, the static nsinit, the
# busybox rootfs, the test executables built for musl (static) and the
# attack helpers prebuilt with gcc (NSINIT_ATTACK_DIR). The guest
# (tests/vm/init.sh) runs the suites with NSINIT_TEST_STRICT=1, prints
# NSINIT-VM-EXIT=<status> and powers off; this script exits with that status.
#
# Expects `make build rootfs` done (the Makefile target depends on them).
# Environment: NSINIT_VM_ARGS (extra libtest arguments, e.g. a filter),
# NSINIT_SOAK_SCALE (default 0.1 in the VM) and NSINIT_SOAK_SEED (passed in),
# NSINIT_VM_REPEAT (rounds of the suites, default 1; raise NSINIT_VM_TIMEOUT
# with it), NSINIT_VM_SUITE_TIMEOUT (seconds per suite in the guest, 300),
# NSINIT_VM_TIMEOUT (seconds, default 480), NSINIT_VM_KERNEL (a version),
# NSINIT_VM_MODE=bench (time starts instead of running the suites).
# Runs as root; installs qemu and the guest's tools when missing (Debian).
set -eu
cd "$(dirname "$0")/../.."
root=$(pwd)
out=$root/target/vm
cargo=${CARGO:-cargo}
target=x86_64-unknown-linux-musl
timeout=${NSINIT_VM_TIMEOUT:-480}
mkdir -p "$out"
t0=$(date +%s)

need=""
command -v qemu-system-x86_64 >/dev/null || need="$need qemu-system-x86"
dpkg -s busybox-static >/dev/null 2>&1 || need="$need busybox-static"
for t in dash:dash ip:iproute2 unshare:util-linux nsenter:util-linux script:bsdutils \
    strace:strace tmux:tmux gcc:gcc strip:binutils setpriv:util-linux useradd:passwd \
    newuidmap:uidmap; do
    command -v "${t%%:*}" >/dev/null || need="$need ${t#*:}"
done
if [ -n "$need" ]; then
    echo "test-vm: installing$need"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
fi

kernel=$(sh tests/vm/kernel.sh "$out/kernel")

# The test executables, static for musl (the guest has no libc of ours).
in=$out/input
rm -rf "$in" && mkdir -p "$in/tests" "$in/attack"
json=$out/build.json
$cargo test --locked --no-run --target $target --message-format=json >"$json"
grep '"reason":"compiler-artifact"' "$json" | grep '"profile":{[^}]*"test":true' |
    while read -r line; do
        exe=$(echo "$line" | grep -o '"executable":"[^"]*"' | cut -d'"' -f4)
        kind=$(echo "$line" | grep -o '"kind":\["[^"]*"' | head -n 1 | cut -d'"' -f4)
        name=$(echo "$line" | grep -o '"target":{[^}]*"name":"[^"]*"' | grep -o '"name":"[^"]*"' | cut -d'"' -f4)
        [ -n "$exe" ] || continue
        case $kind in lib) dst=unit ;; bin) dst=unit-$name ;; *) dst=$name ;; esac
        strip --strip-debug -o "$in/tests/$dst" "$exe"
    done
[ -e "$in/tests/integration" ] || { echo "test-vm: no integration test executable in $json" >&2; exit 1; }

gcc -static -O1 -o "$in/lone" tests/vm/lone.c
for src in tests/attack/*.c; do
    gcc -static -O1 -o "$in/attack/$(basename "$src" .c)" "$src"
done
cp target/$target/release/nsinit "$in/nsinit"
cp -a target/rootfs "$in/rootfs"
echo "${NSINIT_VM_ARGS:-}" >"$in/args"
# The soak's sizes under TCG (an instruction emulator): a tenth of the host's.
echo "export NSINIT_SOAK_SCALE=${NSINIT_SOAK_SCALE:-0.1}" >"$in/env"
[ -z "${NSINIT_SOAK_SEED:-}" ] || echo "export NSINIT_SOAK_SEED=$NSINIT_SOAK_SEED" >>"$in/env"
for v in NSINIT_VM_REPEAT NSINIT_VM_SUITE_TIMEOUT; do
    eval "val=\${$v:-}"
    [ -z "$val" ] || echo "export $v=$val" >>"$in/env"
done
echo "$root" >"$in/manifest"
sh tests/vm/initramfs.sh "$out/initramfs.cpio" "$in" "$kernel"
rm -rf "$in"

if grep -qE '^flags.* (vmx|svm)( |$)' /proc/cpuinfo && [ -w /dev/kvm ]; then
    accel="-accel kvm -cpu host"
else
    accel="-accel tcg,thread=multi -cpu max"
fi
append="console=ttyS0 cgroup_no_v1=all panic=-1 quiet loglevel=4 mitigations=off random.trust_cpu=on"
[ "${NSINIT_VM_MODE:-}" = bench ] && append="$append nsinit.vm=bench"
t1=$(date +%s)
echo "test-vm: booting $(basename "$kernel") ($accel), prepared in $((t1 - t0)) s"
log=$out/console.log
boot_timeout=${NSINIT_VM_BOOT_TIMEOUT:-120}
# One boot: the console goes to $log and, live, to our stdout. A guest that
# has not reached its suites ("nsinit-vm: booted") within $boot_timeout s
# is stopped (a boot stall of the emulator, seen once in ~15 boots under
# TCG, with no output at all): qemu.rc then says "stall".
boot() {
    : >"$log"
    timeout -k 10 "$timeout" qemu-system-x86_64 $accel -smp 2 -m 4096 -machine q35 \
        -kernel "$kernel/vmlinuz" -initrd "$out/initramfs.cpio" -append "$append" \
        -display none -serial stdio -monitor none -nic none -no-reboot \
        </dev/null >"$log" 2>&1 &
    qemu=$!
    tail -n +1 -f "$log" &
    shown=$!
    waited=0
    stalled=
    while kill -0 $qemu 2>/dev/null; do
        if [ -z "$stalled" ] && [ $waited -ge "$boot_timeout" ] &&
            ! grep -q 'nsinit-vm: booted' "$log"; then
            stalled=1
            echo "test-vm: the guest did not boot within $boot_timeout s; stopping it" >&2
            kill $qemu
        fi
        sleep 1
        waited=$((waited + 1))
    done
    wait $qemu && qrc=0 || qrc=$?
    sleep 1
    kill $shown 2>/dev/null || :
    if [ -n "$stalled" ]; then echo stall; else echo $qrc; fi >"$out/qemu.rc"
}
boot
# Only a stall before any test ran is retried, once: a test that fails or
# hangs (the guest names it, see init.sh) fails the stage.
if [ "$(cat "$out/qemu.rc")" = stall ]; then
    mv "$log" "$out/console-stalled.log"
    echo "test-vm: booting again (the stalled console is in $out/console-stalled.log)"
    boot
fi
qrc=$(cat "$out/qemu.rc")
t2=$(date +%s)
rc=$(tr -d '\r' <"$log" | sed -n 's/^NSINIT-VM-EXIT=\([0-9]*\)$/\1/p' | tail -n 1)
if [ -z "$rc" ]; then
    [ "$qrc" = 124 ] && echo "test-vm: timed out after $timeout s" >&2
    echo "test-vm: the guest reported no exit status (qemu exited $qrc); see $log" >&2
    exit 1
fi
echo "test-vm: guest exit status $rc; VM ran $((t2 - t1)) s, whole stage $((t2 - t0)) s"
exit "$rc"
