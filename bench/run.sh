#!/bin/sh
# make bench: nsinit vs runc, crun and the unshare floor on one busybox rootfs.
# Installs missing tools (a peer that cannot be had is skipped), then runs the
# whole comparison inside a private mount namespace in which the hybrid
# cgroup2 mount (/sys/fs/cgroup/unified) is replaced by a throwaway tmpfs:
# crun 1.8 refuses hybrid mode, and every runtime sees the same cgroup setup.
# Results: target/bench/results.json and target/bench/table.md.
# Options (passed to bench/bench.py): --update-readme  rewrite the table in bench/README.md
# Environment: BENCH_RUNS (200) BENCH_WARMUP (10) BENCH_MANY_RUNS (5) NSINIT_BIN NSINIT_ROOTFS
set -eu
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: must run as root (namespaces, cgroups, runc and crun)" >&2
	exit 1
fi

if [ -z "${BENCH_INNER:-}" ]; then
	missing=
	for t in hyperfine runc crun; do
		command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
	done
	[ -x /usr/bin/time ] || missing="$missing time"
	if [ -n "$missing" ]; then
		echo "bench: installing$missing"
		apt="apt-get install -y -qq"
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive $apt $missing >/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive $apt $missing >/dev/null 2>&1; } ||
			echo "bench: could not install all of$missing; what is missing is reported as skipped"
	fi
	sh bench/engines.sh || echo "bench: engines skipped: bench/engines.sh failed (see above)"
	BENCH_INNER=1 exec unshare -m --propagation private sh "$0" "$@"
fi

# Inside the private mount namespace: nothing here is seen by the host.
if mountpoint -q /sys/fs/cgroup/unified 2>/dev/null; then
	umount /sys/fs/cgroup/unified
	mount -t tmpfs -o size=4m,mode=755 bench-no-cgroup2 /sys/fs/cgroup/unified
fi
sh bench/rootless.sh || echo "bench: the rootless rows failed"
sh bench/seccomp.sh || echo "bench: the seccomp rows failed" >&2
exec python3 -B bench/bench.py "$@"
