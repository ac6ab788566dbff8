#!/bin/sh
# Real engines drive nsinit-oci: podman, containerd (ctr) and Docker,
# offline, with private state directories, on an image built from the busybox
# rootfs. Prints one line per scenario (PASS/FAIL/SKIP) and a summary; exits
# non-zero when a scenario failed.
#
#   tests/engines/run.sh [ENGINE...]   ENGINE: podman containerd docker (default: all)
#
# Environment:
#   NSINIT_BIN      the nsinit binary (default target/x86_64-unknown-linux-musl/release/nsinit)
#   NSINIT_ROOTFS   the busybox rootfs (default target/rootfs)
#   ENGINES_RUNTIME another runc-compatible runtime to run the same scenarios
#                   with (e.g. /usr/sbin/runc), for comparison
#   ENGINES_INSTALL=1  apt-get install the engines when missing
#
# Nothing system-wide is touched: podman runs with --root/--runroot/a
# containers.conf in a temp dir, the runtime with --root in the temp dir,
# containerd and dockerd with their own config, socket, root and state.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${NSINIT_BIN:-$here/target/x86_64-unknown-linux-musl/release/nsinit}
rootfs=${NSINIT_ROOTFS:-$here/target/rootfs}
engines=${*:-podman containerd docker}

if [ "$(id -u)" != 0 ]; then
	echo "SKIP all: engines need root"
	exit 0
fi
[ -x "$bin" ] || { echo "FAIL: no nsinit binary at $bin (make build)"; exit 1; }
[ -d "$rootfs/bin" ] || { echo "FAIL: no rootfs at $rootfs"; exit 1; }

T=$(mktemp -d /tmp/nsinit-engines.XXXXXX)
mkdir -p "$T/bin"
ln -s "$bin" "$T/bin/nsinit-oci"
# The runtime, with its state under $T whoever calls it (podman's cleanup
# process and containerd's shim do not pass our flags on).
real=${ENGINES_RUNTIME:-$T/bin/nsinit-oci}
cat >"$T/bin/runtime" <<EOF
#!/bin/sh
echo "\$(date +%T.%N) \$*" >>"$T/runtime.log"
exec "$real" --root "$T/ocistate" "\$@"
EOF
chmod +x "$T/bin/runtime"
mkdir -p "$T/ocistate"

pass=0 fail=0 skip=0
summary=""
result() { # STATUS NAME [DETAIL]
	line="$1 $2${3:+: $3}"
	echo "$line"
	summary="$summary$line
"
	case $1 in PASS) pass=$((pass + 1)) ;; FAIL) fail=$((fail + 1)) ;; *) skip=$((skip + 1)) ;; esac
}
# check NAME EXPECTED-SUBSTRING ACTUAL
check() {
	case "$3" in
	*"$2"*) result PASS "$1" ;;
	*) result FAIL "$1" "expected '$2', got '$(printf %s "$3" | tr '\n' ' ' | cut -c1-300)'" ;;
	esac
}
# code NAME EXPECTED-EXIT CMD...
code() {
	name=$1 want=$2
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" = "$want" ]; then result PASS "$name"; else
		result FAIL "$name" "exit $rc, want $want: $(printf %s "$out" | tr '\n' ' ' | cut -c1-300)"
	fi
}
need() { # COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 && return 0
	[ "${ENGINES_INSTALL:-0}" = 1 ] || return 1
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null 2>&1
	command -v "$1" >/dev/null 2>&1
}

# Host-side leftovers: state records, cgroups, mounts, processes.
host_clean() { # ENGINE [RUNTIME-ROOT]
	left=$(find "${2:-$T/ocistate}" -mindepth 1 -not -type d 2>/dev/null)
	[ -z "$left" ] || result FAIL "$1 host: no state records left" "$left"
	[ -n "$left" ] || result PASS "$1 host: no state records left"
	m=$(grep -c "$T/.*/merged\|$T/.*rootfs" /proc/self/mountinfo)
	[ "$m" = 0 ] && result PASS "$1 host: no container mounts left" ||
		result FAIL "$1 host: no container mounts left" "$m mounts under $T"
	p=$(ps -eo pid,args | grep -v grep | grep -c 'sleep 700[0-9]')
	[ "$p" = 0 ] && result PASS "$1 host: no container processes left" ||
		result FAIL "$1 host: no container processes left" "$(ps -eo pid,args | grep 'sleep 700[0-9]' | grep -v grep)"
}

# cgroup_file PID V1-CONTROLLER V1-FILE V2-FILE: a file of PID's cgroup, from the host.
cgroup_file() {
	[ -n "$1" ] || return
	v1=$(awk -F: -v c="$2" '$2 ~ "(^|,)" c "(,|$)" {print $3}' "/proc/$1/cgroup")
	if [ -n "$v1" ] && [ -f "/sys/fs/cgroup/$2$v1/$3" ]; then
		cat "/sys/fs/cgroup/$2$v1/$3"
	else
		v2=$(awk -F: '$1 == 0 {print $3}' "/proc/$1/cgroup")
		cat "/sys/fs/cgroup$v2/$4"
	fi
}

rootfs_tar() {
	[ -f "$T/busybox.tar" ] || tar -C "$rootfs" -cf "$T/busybox.tar" .
}

. "$here/tests/engines/podman.sh"
. "$here/tests/engines/containerd.sh"
. "$here/tests/engines/docker.sh"

for e in $engines; do
	case $e in
	podman) podman_scenarios ;;
	containerd) containerd_scenarios ;;
	docker) docker_scenarios ;;
	*) result SKIP "$e" "unknown engine" ;;
	esac
done

echo
echo "== summary ($real) =="
printf %s "$summary"
echo "pass $pass, fail $fail, skip $skip"
if [ "$fail" = 0 ]; then rm -rf --one-file-system "$T"; else echo "runtime calls: $T/runtime.log"; fi
[ "$fail" = 0 ]
