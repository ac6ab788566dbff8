#!/bin/sh
# Real engines drive nsinit-oci: podman, containerd (ctr) and Docker,
# offline, with private state directories, on an image built from the busybox
# rootfs. Prints one line per scenario (PASS/FAIL/XFAIL/SKIP) and a summary;
# exits non-zero when a scenario failed.
#
#   tests/engines/run.sh [ENGINE...]   ENGINE: podman containerd docker (default: all)
#
# Environment:
#   NSINIT_BIN      the nsinit binary (default target/x86_64-unknown-linux-musl/release/nsinit)
#   NSINIT_ROOTFS   the busybox rootfs (default target/rootfs)
#   ENGINES_RUNTIME another runc-compatible runtime to run the same scenarios
#                   with (e.g. /usr/sbin/runc), for comparison
#   ENGINES_INSTALL=1  apt-get install the engines when missing (one apt call)
#   ENGINES_STRICT=1   an engine that cannot run is a FAIL, not a SKIP (CI);
#                   a host kernel lacking a feature stays a SKIP, named
#
# Nothing system-wide is touched: podman runs with --root/--runroot/a
# containers.conf in a temp dir, the runtime with --root in the temp dir,
# containerd and dockerd with their own config, socket, root and state.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${NSINIT_BIN:-$here/target/x86_64-unknown-linux-musl/release/nsinit}
rootfs=${NSINIT_ROOTFS:-$here/target/rootfs}
engines=${*:-podman containerd docker}
start=$(date +%s)

if [ "$(id -u)" != 0 ]; then
	if [ "${ENGINES_STRICT:-0}" = 1 ]; then echo "FAIL all: engines need root"; exit 1; fi
	echo "SKIP all: engines need root"
	exit 0
fi
[ -x "$bin" ] || { echo "FAIL: no nsinit binary at $bin (make build)"; exit 1; }
[ -d "$rootfs/bin" ] || { echo "FAIL: no rootfs at $rootfs"; exit 1; }

. "$here/tests/engines/lib.sh"
. "$here/tests/engines/podman.sh"
. "$here/tests/engines/containerd.sh"
. "$here/tests/engines/docker.sh"

# podman also builds the image archives for containerd and Docker; script
# and tmux give the scenarios a terminal.
# catatonit (podman --init), netavark and iptables (the default network)
# are only recommended by podman: named here.
install_missing script:bsdutils tmux:tmux ip:iproute2 ping:iputils-ping podman:podman conmon:conmon \
	/usr/libexec/podman/catatonit:catatonit /usr/lib/podman/netavark:netavark iptables:iptables \
	containerd:containerd ctr:containerd dockerd:docker.io docker:docker.io

lack=$(kernel_missing)
for e in $engines; do
	if [ -n "$lack" ]; then
		kernel_lacks "$e" "$lack"
		continue
	fi
	case $e in
	podman) podman_scenarios ;;
	containerd) containerd_scenarios ;;
	docker) docker_scenarios ;;
	*) result FAIL "$e" "unknown engine" ;;
	esac
done
tty_stop

echo
echo "== summary ($real, $(($(date +%s) - start)) s) =="
printf %s "$summary"
[ "$xfail" = 0 ] || echo "expected failures (known gaps, named above): $xfail"
echo "engines: $pass passed, $fail failed, $skip skipped"
if [ "$fail" = 0 ]; then rm -rf --one-file-system "$T"; else echo "runtime calls: $T/runtime.log"; fi
[ "$fail" = 0 ]
