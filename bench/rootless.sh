#!/bin/sh
# Rootless start→exit as an unprivileged user (issue 17): `nsinit exec
# /bin/true` with a user namespace (caller mapped to root; mnt, uts, ipc,
# pid, net) vs bubblewrap (`bwrap --unshare-all --bind ROOTFS / /bin/true`)
# vs the floor `unshare -U -r -fmpiun --mount-proc /bin/true`, all run as
# the user `nsinit-test` (created if missing) through setpriv.
# Run by bench/run.sh (as root); prints medians and ratios, writes
# target/bench/rootless.json. Environment: BENCH_RUNS (200) BENCH_ROUNDS (10) BENCH_WARMUP (10)
# NSINIT_BIN NSINIT_ROOTFS. The user's $XDG_RUNTIME_DIR is a tmpfs, as logind
# makes it.
set -eu
cd "$(dirname "$0")/.."
BIN=${NSINIT_BIN:-$PWD/target/x86_64-unknown-linux-musl/release/nsinit}
ROOTFS=${NSINIT_ROOTFS:-$PWD/target/rootfs}
RUNS=${BENCH_RUNS:-200}
WARMUP=${BENCH_WARMUP:-10}
USER_NAME=nsinit-test
OUT=target/bench/rootless.json

command -v bwrap >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null 2>&1 || true
for t in hyperfine setpriv unshare; do
	command -v "$t" >/dev/null 2>&1 || { echo "bench rootless: $t missing, skipped" >&2; exit 0; }
done
id -u "$USER_NAME" >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin "$USER_NAME"
uid=$(id -u "$USER_NAME")
gid=$(id -g "$USER_NAME")

work=$(mktemp -d /tmp/nsinit-bench-rootless.XXXXXX)
mkdir "$work/dir" "$work/xdg"
# $XDG_RUNTIME_DIR is a tmpfs where logind makes it (/run/user/UID): the
# same here, for the record nsinit keeps there.
mount -t tmpfs -o "size=1m,mode=700,uid=$uid,gid=$gid" nsinit-bench-xdg "$work/xdg"
trap 'umount "$work/xdg"; rm -rf "$work"' EXIT
cat >"$work/dir/container.json" <<EOF
{"root_fs": "$ROOTFS", "hostname": "bench",
 "namespaces": {"NEWNS": true, "NEWUTS": true, "NEWIPC": true, "NEWPID": true, "NEWNET": true, "NEWUSER": true},
 "environment": ["PATH=/bin:/usr/bin"],
 "mount_config": {"device_nodes": [
   {"type": 99, "path": "/dev/null", "major_number": 1, "minor_number": 3, "cgroup_permissions": "rwm", "file_mode": 438}]}}
EOF
chown "$uid:$gid" "$work" "$work/dir" "$work/dir/container.json"
chmod 755 "$work" "$work/dir"

as_user="setpriv --reuid $uid --regid $gid --clear-groups env -i PATH=/usr/bin:/bin XDG_RUNTIME_DIR=$work/xdg"
set -- \
	-n nsinit "$as_user $BIN --root $work/dir exec /bin/true" \
	-n floor "$as_user unshare -U -r -fmpiun --mount-proc /bin/true"
if command -v bwrap >/dev/null 2>&1; then
	set -- "$@" -n bwrap "$as_user bwrap --unshare-all --bind $ROOTFS / /bin/true"
	# The same work as nsinit's container (a fresh /proc, a /dev, /dev/pts,
	# /dev/shm and /dev/mqueue, a read-only /sys): what the issue's bare
	# command leaves out, for a like-for-like row.
	set -- "$@" -n bwrap-full "$as_user bwrap --unshare-all --bind $ROOTFS / --proc /proc --dev /dev --mqueue /dev/mqueue --ro-bind /sys /sys --tmpfs /tmp /bin/true"
else
	echo "bench rootless: bwrap missing, its row skipped" >&2
fi
# Each command must work before it is timed.
$as_user "$BIN" --root "$work/dir" exec /bin/true 2>/dev/null || { echo "bench rootless: nsinit exec as $USER_NAME failed" >&2; exit 1; }
mkdir -p target/bench
# In rounds (BENCH_ROUNDS, 10), each timing every row for RUNS/ROUNDS runs:
# a slow drift of the machine then weighs on every row alike instead of on
# whichever row hyperfine was timing (single blocks drifted ±15 %).
ROUNDS=${BENCH_ROUNDS:-10}
per=$(((RUNS + ROUNDS - 1) / ROUNDS))
i=0
while [ "$i" -lt "$ROUNDS" ]; do
	hyperfine -N --style basic --runs "$per" --warmup "$WARMUP" \
		--export-json "$OUT.$i" "$@" >/dev/null
	i=$((i + 1))
done
python3 -B - "$OUT" "$ROUNDS" <<'EOF'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
times = {}
for i in range(rounds):
    for x in json.load(open(f"{out}.{i}"))["results"]:
        times.setdefault(x["command"], []).extend(x["times"])
r = {k: statistics.median(v) for k, v in times.items()}
json.dump({"rounds": rounds, "medians": r, "times": times}, open(out, "w"))
n = r["nsinit"]
print(f"rootless start→exit (as an unprivileged user), medians of {rounds} interleaved rounds:")
for k, v in r.items():
    print(f"  {k:<10} {v * 1000:8.3f} ms   nsinit/{k} = {n / v:5.2f}x")
EOF
i=0
while [ "$i" -lt "$ROUNDS" ]; do
	rm -f "$OUT.$i"
	i=$((i + 1))
done
