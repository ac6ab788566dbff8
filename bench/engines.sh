#!/bin/sh
# bench: what users feel (issue 16). `podman run --rm IMAGE true` and
# `ctr run --rm IMAGE ID true` with nsinit-oci, runc and crun as the runtime:
# same image (the busybox rootfs, imported), same flags, median wall time of
# BENCH_ENGINE_RUNS (20) runs each after 2 warm-ups, the runtimes taking
# turns. An engine or runtime that is missing is printed as skipped, with the
# reason; this script then still exits 0 so that `make bench` goes on.
# Results: target/bench/engines.md.
#
# Runs in a private mount namespace in which the hybrid cgroup2 mount is a
# throwaway tmpfs (crun 1.8 refuses hybrid mode), as bench/run.sh does (room
# for the cgroup.procs files crun writes there under podman and ctr); the
# engines' state is under a temp dir (tests/engines/lib.sh).
set -u
cd "$(dirname "$0")/.."
here=$PWD
bin=${NSINIT_BIN:-$here/target/x86_64-unknown-linux-musl/release/nsinit}
rootfs=${NSINIT_ROOTFS:-$here/target/rootfs}
runs=${BENCH_ENGINE_RUNS:-20}

skipped() { echo "bench engines: skipped: $*"; exit 0; }
[ "$(id -u)" = 0 ] || skipped "needs root"
[ -x "$bin" ] || skipped "no nsinit binary at $bin (make build)"
[ -d "$rootfs/bin" ] || skipped "no rootfs at $rootfs"
command -v podman >/dev/null 2>&1 || skipped "podman not installed (ENGINES_INSTALL=1 make test-engines installs the engines)"
if [ -z "${BENCH_ENGINES_INNER:-}" ]; then
	BENCH_ENGINES_INNER=1 exec unshare -m --propagation private sh "$0" "$@"
fi
if mountpoint -q /sys/fs/cgroup/unified 2>/dev/null; then
	umount /sys/fs/cgroup/unified
	mount -t tmpfs -o size=16m,mode=755 bench-no-cgroup2 /sys/fs/cgroup/unified
fi

. "$here/tests/engines/lib.sh"
. "$here/tests/engines/podman.sh"
. "$here/tests/engines/containerd.sh"
mkdir -p "$here/target/bench"
md="$here/target/bench/engines.md"

# A runtime wrapper without the call log (the same one exec for each runtime).
wrapper() { # NAME REAL
	mkdir -p "$T/state-$1"
	printf '#!/bin/sh\nexec %s --root %s "$@"\n' "$2" "$T/state-$1" >"$T/bin/rt-$1"
	chmod +x "$T/bin/rt-$1"
}
runtimes=""
for r in nsinit-oci:$T/bin/nsinit-oci runc:/usr/sbin/runc crun:/usr/bin/crun; do
	name=${r%%:*} path=${r#*:}
	if [ -x "$path" ]; then
		wrapper "$name" "$path"
		runtimes="$runtimes $name"
	else
		echo "bench engines: $name skipped: not installed ($path)"
	fi
done

# row LABEL FUNC: FUNC RUNTIME runs the command once with RUNTIME. Two
# warm-ups each, then $runs rounds, each round running every runtime once in
# turn (so that a load change on the host hits all of them alike); one line
# with the median per runtime and nsinit-oci's ratio to the others.
row() {
	ok=""
	for r in $runtimes; do
		: >"$T/times-$r"
		if "$2" "$r" >"$T/bench-out" 2>&1 && "$2" "$r" >/dev/null 2>&1; then ok="$ok $r"; else
			echo "fail: $(flat "$(tail -2 "$T/bench-out")")" >"$T/times-$r"
		fi
	done
	i=0
	while [ $i -lt "$runs" ]; do
		for r in $ok; do
			t0=$(date +%s%N)
			"$2" "$r" >/dev/null 2>&1
			t1=$(date +%s%N)
			echo $(((t1 - t0) / 1000)) >>"$T/times-$r"
		done
		i=$((i + 1))
	done
	line="| $1 |"
	base=""
	for r in $runtimes; do
		case " $ok " in
		*" $r "*) m=$(sort -n "$T/times-$r" | awk '{a[NR] = $1} END {m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.1f", m / 1000}') ;;
		*) line="$line $r: $(cat "$T/times-$r") |"; continue ;;
		esac
		[ "$r" = nsinit-oci ] && base=$m
		if [ -n "$base" ] && [ "$r" != nsinit-oci ]; then
			line="$line $r $m ms (nsinit-oci/$r $(awk -v a="$base" -v b="$m" 'BEGIN {printf "%.2f", a / b}')) |"
		else
			line="$line $r $m ms |"
		fi
	done
	echo "$line" | tee -a "$md"
}

echo "| engine command (median of $runs, wall) | runtimes |" >"$md"
echo "|---|---|" >>"$md"
if why=$(podman_setup); then
	pm_true() { PM_RUNTIME="$T/bin/rt-$1" pm run --rm localhost/nsinit-busybox:latest true; }
	row "podman run --rm IMAGE true" pm_true
	pm system reset -f >/dev/null 2>&1
else
	echo "bench engines: podman skipped: $why" | tee -a "$md"
fi
if ! command -v containerd >/dev/null 2>&1 || ! command -v ctr >/dev/null 2>&1; then
	echo "bench engines: containerd skipped: not installed" | tee -a "$md"
elif containerd_setup >"$T/why"; then
	ctr_true() {
		cr run --rm --snapshotter native --runc-binary "$T/bin/rt-$1" \
			--runc-root "$T/state-$1/ctd" localhost/nsinit-busybox:latest "b-$1" true
	}
	row "ctr run --rm IMAGE ID true" ctr_true
	cr images rm localhost/nsinit-busybox:latest >/dev/null 2>&1
	containerd_stop
else
	echo "bench engines: containerd skipped: $(cat "$T/why")" | tee -a "$md"
fi
rm -rf --one-file-system "$T"
