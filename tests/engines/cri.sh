#!/bin/sh
# The Kubernetes path, by hand (not part of make test-engines or CI): a private
# containerd with its CRI plugin enabled and a runtime handler "nsinit"
# (io.containerd.runc.v2, BinaryName = nsinit-oci), driven by tests/engines/
# cri.py as the kubelet would for one pod: sandbox (its "pause" container is
# the busybox image running sleep), a container in it, exec, stop, removal.
# See docs/kubernetes.md.
#
#   CRI_PYTHON=/path/to/python-with-grpcio CRI_PROTO_DIR=dir-with-api_pb2 sh tests/engines/cri.sh
#
# CRI_PROTO_DIR holds api_pb2.py/api_pb2_grpc.py generated from k8s.io/cri-api
# pkg/apis/runtime/v1/api.proto with grpcio-tools. ENGINES_RUNTIME as run.sh.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${NSINIT_BIN:-$here/target/x86_64-unknown-linux-musl/release/nsinit}
rootfs=${NSINIT_ROOTFS:-$here/target/rootfs}
py=${CRI_PYTHON:-python3}
proto=${CRI_PROTO_DIR:-}
[ "$(id -u)" = 0 ] || { echo "SKIP cri: needs root"; exit 0; }
PYTHONPATH=$proto "$py" -c 'import grpc, api_pb2' 2>/dev/null ||
	{ echo "SKIP cri: no grpcio or CRI modules (CRI_PYTHON, CRI_PROTO_DIR)"; exit 0; }
. "$here/tests/engines/lib.sh"

cr() { ctr --address "$T/ctd/containerd.sock" -n k8s.io "$@"; }
# containerd gives every pod sandbox oomScoreAdj -998; lowering it needs
# CAP_SYS_RESOURCE, which root lacks on some hosts (runc and nsinit-oci both
# fail there). On such a host the handler's binary drops process.oomScoreAdj
# from the bundle's config.json before create, and says so.
handler_bin=$T/bin/runtime
capeff=$(awk '/^CapEff/ {print $2}' /proc/self/status)
if [ $((0x$capeff >> 24 & 1)) = 0 ]; then
	echo "NOTE cri: root lacks CAP_SYS_RESOURCE here: oomScoreAdj < 0 is dropped from config.json"
	cat >"$T/bin/runtime-nooom" <<EOF
#!/bin/sh
prev=
for a in "\$@"; do
	if [ "\$prev" = --bundle ]; then
		python3 -c 'import json, sys
p = sys.argv[1] + "/config.json"
c = json.load(open(p))
if c.get("process", {}).get("oomScoreAdj", 0) < 0:
    del c["process"]["oomScoreAdj"]
    json.dump(c, open(p, "w"))' "\$a"
	fi
	prev=\$a
done
exec "$T/bin/runtime" "\$@"
EOF
	chmod +x "$T/bin/runtime-nooom"
	handler_bin=$T/bin/runtime-nooom
fi
mkdir -p "$T/ctd" "$T/cni" "$T/logs"
# containerd wants an address on the pod's eth0: ptp (a veth pair, host
# side removed on teardown) with host-local IPAM keeping its state under $T,
# on a private subnet, no masquerade, no firewall rules.
cat >"$T/cni/10-nsinit.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "nsinit-cri", "plugins": [
  {"type": "ptp", "ipMasq": false,
   "ipam": {"type": "host-local", "subnet": "10.99.77.0/24", "dataDir": "$T/cni-ipam"}},
  {"type": "loopback"}]}
EOF
cat >"$T/ctd/config.toml" <<EOF
version = 2
root = "$T/ctd/root"
state = "$T/ctd/state"
[grpc]
  address = "$T/ctd/containerd.sock"
[ttrpc]
  address = "$T/ctd/containerd.sock.ttrpc"
[debug]
  address = "$T/ctd/debug.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/nsinit-pause:latest"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
    default_runtime_name = "nsinit"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nsinit]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nsinit.options]
        BinaryName = "$handler_bin"
        Root = "$T/ocistate/cri"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$T/cni"
EOF
containerd --config "$T/ctd/config.toml" >"$T/ctd/containerd.log" 2>&1 &
ctd_pid=$!
i=0
until cr version >/dev/null 2>&1 || [ $i -gt 100 ]; do sleep 0.1; i=$((i + 1)); done

# Images: the busybox rootfs, and the same with CMD sleep as the "pause" image.
rootfs_tar
P="podman --root $T/podman --runroot $T/podman-run --storage-driver vfs"
CONTAINERS_CONF=/dev/null $P import --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' "$T/busybox.tar" localhost/nsinit-busybox:latest >/dev/null 2>&1
CONTAINERS_CONF=/dev/null $P import --change 'CMD ["sleep", "7021"]' --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' "$T/busybox.tar" localhost/nsinit-pause:latest >/dev/null 2>&1
CONTAINERS_CONF=/dev/null $P save --multi-image-archive --format docker-archive -o "$T/images.tar" \
	localhost/nsinit-busybox:latest localhost/nsinit-pause:latest >/dev/null 2>&1
cr images import --snapshotter native "$T/images.tar" >/dev/null 2>&1
cr images ls -q

# containerd's CRI pins each pod's netns under /var/run/netns and libcni
# caches results in /var/lib/cni: both must be as before at the end.
host_net() { ip -o link | awk -F': ' '{print $2}'; ls /var/run/netns /var/lib/cni/results 2>/dev/null; }
net_before=$(host_net)
for mode in pod pidpod; do
	mkdir -p "$T/logs/$mode"
	PYTHONPATH=$proto "$py" "$here/tests/engines/cri.py" "$T/ctd/containerd.sock" nsinit \
		localhost/nsinit-busybox:latest "$T/logs/$mode" "$mode" >"$T/cri-$mode.out" 2>&1
	while IFS= read -r l; do
		case $l in PASS*|FAIL*) result "${l%% *}" "${l#* }" ;; *) echo "$l" ;; esac
	done <"$T/cri-$mode.out"
done
host_clean cri
[ "$(host_net)" = "$net_before" ] && result PASS "cri host: no veth, netns pin, CNI cache left" ||
	result FAIL "cri host: no veth, netns pin, CNI cache left" "$(flat "$(host_net)")"
# The pod's cgroup parent is the kubelet's to remove (runc leaves it): only
# the containers' own cgroups must be gone; then the parents are removed.
left=$(find /sys/fs/cgroup -mindepth 3 -maxdepth 4 -type d -path '*/nsinit-cri-*/*' 2>/dev/null)
[ -z "$left" ] && result PASS "cri host: no container cgroups left" || result FAIL "cri host: no container cgroups left" "$left"
find /sys/fs/cgroup -mindepth 2 -maxdepth 2 -type d -name 'nsinit-cri-*' -exec rmdir {} + 2>/dev/null
kill $ctd_pid
wait $ctd_pid 2>/dev/null
echo "cri: $pass passed, $fail failed"
if [ "$fail" = 0 ]; then rm -rf --one-file-system "$T"; else
	echo "runtime calls: $T/runtime.log, containerd log: $T/ctd/containerd.log"
fi
