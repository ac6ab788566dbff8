#!/bin/sh
# many.sh MODE N RUNTIME: start N containers that run /bin/true, back to back
# (MODE serial) or all at once (MODE parallel), and wait for every one.
# Timed as a whole by bench.py; the environment names the binaries and dirs:
#   BENCH_NSINIT  the nsinit binary
#   BENCH_WORK    holds the container dirs bench-par-0..N-1 and bundle-true
#   BENCH_STATE   holds the runc/crun state dirs
set -e
mode=$1 n=$2 rt=$3

one() {
	case $rt in
	nsinit) "$BENCH_NSINIT" --root "$BENCH_WORK/bench-par-$1" exec /bin/true ;;
	floor) unshare -fmpiun --mount-proc /bin/true ;;
	*) "$rt" --root "$BENCH_STATE/$rt" run -b "$BENCH_WORK/bundle-true" "bench-$rt-par-$1" ;;
	esac
}

i=0
if [ "$mode" = serial ]; then
	while [ "$i" -lt "$n" ]; do
		one 0
		i=$((i + 1))
	done
else
	pids=
	while [ "$i" -lt "$n" ]; do
		one "$i" &
		pids="$pids $!"
		i=$((i + 1))
	done
	status=0
	for p in $pids; do
		wait "$p" || status=1
	done
	exit "$status"
fi
