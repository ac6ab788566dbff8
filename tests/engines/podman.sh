# podman scenarios, sourced by run.sh (uses lib.sh's T, result, check, code...).

pm() { "$T/bin/pm" "$@"; }

# podman_setup: $T/bin/pm, podman with all its state under $T (runtime:
# $PM_RUNTIME, default $T/bin/runtime), and the image
# localhost/nsinit-busybox:latest imported from the rootfs. Prints why not.
podman_setup() {
	mkdir -p "$T/podman/tmp" "$T/podman/net"
	cat >"$T/bin/pm" <<EOF
#!/bin/sh
CONTAINERS_CONF="$T/containers.conf" exec podman --root "$T/podman/root" \\
	--runroot "$T/podman/runroot" --storage-driver vfs \\
	--cgroup-manager cgroupfs --events-backend file \\
	--runtime "\${PM_RUNTIME:-$T/bin/runtime}" "\$@"
EOF
	chmod +x "$T/bin/pm"
	# nofile: podman asks for 1048576, more than some hosts' hard limit.
	# No network unless a scenario asks (--network bridge); its network
	# definitions live under $T, not /etc/containers/networks.
	cat >"$T/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
netns = "none"
[network]
network_config_dir = "$T/podman/net"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$T/podman/events.log"
tmp_dir = "$T/podman/tmp"
EOF
	rootfs_tar
	pm import "$T/busybox.tar" localhost/nsinit-busybox:latest >"$T/podman/import.log" 2>&1 ||
		{ tail -1 "$T/podman/import.log"; return 1; }
}

podman_scenarios() {
	if ! need podman || ! need conmon; then
		unavailable podman "podman/conmon not installed (ENGINES_INSTALL=1 installs them)"
		return
	fi
	if ! why=$(podman_setup); then
		result FAIL "podman import" "$why"
		return
	fi
	I=localhost/nsinit-busybox:latest

	check "podman run --rm" "hi uid=0(root)" "$(pm run --rm $I sh -c 'echo hi; id' 2>&1 | tr '\n' ' ')"
	code "podman exit code 0" 0 pm run --rm $I true
	code "podman exit code 3" 3 pm run --rm $I sh -c 'exit 3'
	code "podman exit code 127 (command not found in sh)" 127 pm run --rm $I sh -c 'nonexistent-cmd'
	code "podman exit code 127 (missing executable)" 127 pm run --rm $I /nonexistent
	code "podman exit code 137 (child killed)" 137 pm run --rm $I sh -c 'sh -c "kill -9 \$\$"; exit $?'
	# A real terminal (tmux; conmon gets the pty master over the console
	# socket): input reaches the shell, the size is the terminal's and
	# follows a resize, the exit code comes back.
	tty_start "$T/bin/pm run --rm -it $I sh"
	if tty_wait "/ #"; then
		tty_keys 'tty; stty size; echo $((6*7))' Enter
		tty_wait 42 && tty_resize 90 25 && tty_poll "25 90" 'stty size' && tty_keys 'exit 3' Enter
		tty_wait "END rc="
	fi
	screen=$(tty_screen | grep -v "^$" | tr "\n" " ")
	check "podman run -it (real terminal: size, input)" \
		"30 100 42 / # stty size " "$screen"
	check "podman run -it (resize reaches the container, exit code)" "25 90 / # exit 3 END rc=3" "$screen"
	# The pty is one of the container's devpts, as with runc (ttyname:
	# /dev/pts/0, not /dev/console).
	check "podman run -it (tty is the container's /dev/pts/0, as runc)" "# tty; stty size; echo \$((6*7)) /dev/pts/0 " \
		"$screen"
	tty_stop
	check "podman run -it (a command that exits at once)" "tty-ok" \
		"$(tty_run "$T/bin/pm run --rm -it $I sh -c 'test -t 0 && test -t 1 && echo tty-ok'")"
	# The terminal belongs to a non-root user (as runc chowns it): it can
	# open it by name (/dev/pts/0, /proc/self/fd/0).
	check "podman run -it --user 1000 (opens its terminal by name)" "tty-open-ok" \
		"$(tty_run "$T/bin/pm run --rm -it --user 1000 $I sh -c 'echo hi > \$(tty) && echo tty-open-ok'")"

	# Detached lifecycle.
	pm run -d --name nsd1 $I sh -c 'echo started; exec sleep 7001' >/dev/null 2>"$T/err" ||
		result FAIL "podman run -d" "$(cat "$T/err")"
	check "podman exec" "inexec" "$(pm exec nsd1 sh -c 'echo inexec' 2>&1)"
	code "podman exec exit code" 5 pm exec nsd1 sh -c 'exit 5'
	check "podman exec -it" "/dev/pts/" "$(tty_run "$T/bin/pm exec -it nsd1 tty")"
	check "podman logs" "started" "$(pm logs nsd1 2>&1)"
	check "podman ps" "nsd1" "$(pm ps 2>&1)"
	check "podman top" "sleep 7001" "$(pm top nsd1 2>&1)"
	pm pause nsd1 >/dev/null 2>"$T/err"
	check "podman pause" "paused" "$(pm inspect -f '{{.State.Status}}' nsd1 2>&1) $(cat "$T/err")"
	pm unpause nsd1 >/dev/null 2>"$T/err"
	check "podman unpause" "running" "$(pm inspect -f '{{.State.Status}}' nsd1 2>&1) $(cat "$T/err")"
	check "podman stats" "nsd1" "$(pm stats --no-stream nsd1 2>&1)"
	# sleep as PID 1 ignores TERM: stop must escalate to KILL after -t.
	pid=$(pm inspect -f '{{.State.Pid}}' nsd1 2>/dev/null)
	check "podman ps (host: the container's PID 1 is sleep 7001)" "sleep 7001" "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>&1)"
	pm stop -t 1 nsd1 >/dev/null 2>"$T/err"
	check "podman stop (TERM then KILL)" "exited 137" "$(pm inspect -f '{{.State.Status}} {{.State.ExitCode}}' nsd1 2>&1) $(cat "$T/err")"
	gone "podman stop (host: PID 1 gone)" "$pid"
	code "podman rm" 0 pm rm nsd1
	# A PID 1 that handles TERM: stop ends at once with its exit code, and
	# its child (sleep 7013) dies with the pid namespace.
	pm run -d --name nsd4 $I sh -c 'trap "exit 7" TERM; sleep 7013 & wait' >/dev/null 2>"$T/err"
	pid=$(pm inspect -f '{{.State.Pid}}' nsd4 2>/dev/null)
	t0=$(date +%s)
	pm stop -t 30 nsd4 >/dev/null 2>>"$T/err"
	check "podman stop (TERM handled: its exit code, well before -t)" "exited 7 fast" \
		"$(pm inspect -f '{{.State.Status}} {{.State.ExitCode}}' nsd4 2>&1) $([ $(($(date +%s) - t0)) -lt 20 ] && echo fast) $(cat "$T/err")"
	gone "podman stop (host: PID 1 gone)" "$pid"
	code "podman rm (stopped)" 0 pm rm nsd4

	pm run -d --name nsd2 $I sleep 7002 >/dev/null 2>&1
	code "podman kill" 0 pm kill nsd2
	check "podman kill exit code" "137" "$(pm wait nsd2 2>&1)"
	code "podman rm after kill" 0 pm rm nsd2
	pm run -d --name nsd3 $I sleep 7003 >/dev/null 2>&1
	code "podman rm -f (running)" 0 pm rm -f nsd3

	# Resources: applied on the host (read through PID 1's cgroup) ...
	pm run -d --name nsres --memory 64m --pids-limit 50 --cpus 0.5 $I sleep 7004 >/dev/null 2>"$T/err"
	pid=$(pm inspect -f '{{.State.Pid}}' nsres 2>/dev/null)
	check "podman --memory (host cgroup)" "67108864" "$(cgroup_file "$pid" memory memory.limit_in_bytes memory.max) $(cat "$T/err")"
	check "podman --pids-limit (host cgroup)" "50" "$(cgroup_file "$pid" pids pids.max pids.max)"
	check "podman --cpus (host cgroup)" "50000" "$(cgroup_file "$pid" cpu cpu.cfs_quota_us cpu.max)"
	pm rm -f nsres >/dev/null 2>&1
	# ... and as the container sees them in /sys/fs/cgroup.
	check "podman --memory (container view)" "67108864" \
		"$(pm run --rm --memory 64m $I sh -c 'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null' 2>&1)"
	check "podman --pids-limit (container view)" "50" \
		"$(pm run --rm --pids-limit 50 $I sh -c 'cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/pids/pids.max 2>/dev/null' 2>&1)"
	check "podman --cpus (container view)" "50000" \
		"$(pm run --rm --cpus 0.5 $I sh -c 'cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null' 2>&1)"
	# A cgroup namespace on a v1 host shows every hierarchy, as runc (one
	# cgroup2 mount had no memory controller); on v2, memory.max.
	check "podman --cgroupns=private (container view: the memory limit)" "67108864" \
		"$(pm run --rm --cgroupns=private --memory 64m $I sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null' 2>&1)"
	check "podman --read-only" "Read-only file system" "$(pm run --rm --read-only $I touch /x 2>&1)"
	check "podman --cap-drop ALL" "CapEff:	0000000000000000" "$(pm run --rm --cap-drop ALL $I grep CapEff /proc/self/status 2>&1)"
	check "podman --user" "uid=1000" "$(pm run --rm --user 1000:1000 $I id 2>&1)"
	check "podman --hostname" "nshost" "$(pm run --rm --hostname nshost $I hostname 2>&1)"
	check "podman -e" "bar" "$(pm run --rm -e FOO=bar $I sh -c 'echo $FOO' 2>&1)"
	mkdir -p "$T/vol" && echo from-host >"$T/vol/f"
	check "podman -v" "from-host" "$(pm run --rm -v "$T/vol:/data" $I cat /data/f 2>&1)"
	check "podman --device" "wrote" "$(pm run --rm --device /dev/null:/dev/xnull $I sh -c 'echo x > /dev/xnull && echo wrote' 2>&1)"
	# Every capability of the host's bounding set (0x1f... on this kernel).
	check "podman --privileged" "CapEff:	000001f" "$(pm run --rm --privileged $I grep CapEff /proc/self/status 2>&1)"
	check "podman --init" "/run/podman-init" "$(pm run --rm --init $I ps 2>&1)"
	check "podman --tmpfs" " /x tmpfs" "$(pm run --rm --tmpfs /x:size=1m $I grep ' /x ' /proc/mounts 2>&1)"
	check "podman --network none" "[lo ]" "[$(pm run --rm --network none $I ls /sys/class/net 2>&1 | tr '\n' ' ')]"
	# The host's view of --user, --cap-drop, --hostname, --read-only.
	pm run -d --name nsusr --user 1000:1000 --cap-drop ALL --hostname nshost2 --read-only $I sleep 7014 >/dev/null 2>"$T/err"
	pid=$(pm inspect -f '{{.State.Pid}}' nsusr 2>/dev/null)
	check "podman --user --cap-drop --hostname --read-only (host view)" \
		"Uid: 1000 1000 1000 1000 CapEff: 0000000000000000 nshost2 ro" \
		"$(awk '/^Uid|^CapEff/ {$1=$1; print}' "/proc/$pid/status" 2>&1 | tr '\n' ' ')$(nsenter -t "$pid" -u hostname 2>&1) $(awk '$5 == "/" {split($6, o, ","); print o[1]}' "/proc/$pid/mountinfo" 2>&1) $(cat "$T/err")"
	pm rm -f nsusr >/dev/null 2>&1
	# Limits are enforced, not only written: memory beyond --memory (and
	# podman's swap = 2 x memory) is OOM-killed, forks beyond --pids-limit fail.
	check "podman --memory enforced (OOM kill, exit 137)" "137" \
		"$(pm run --rm --memory 32m $I dd if=/dev/zero of=/dev/null bs=200M count=1 >/dev/null 2>&1; echo $?)"
	check "podman --pids-limit enforced" "fork" \
		"$(pm run --rm --pids-limit 5 $I sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait' 2>&1)"
	podman_network

	# Pods: the infra container's namespaces joined by path.
	pm pod create --name nspod1 --infra-image $I --infra-command "sleep 7010" >/dev/null 2>&1
	infra=$(pm pod inspect -f '{{.InfraContainerID}}' nspod1 2>/dev/null)
	pm pod start nspod1 >/dev/null 2>&1
	ipid=$(pm inspect -f '{{.State.Pid}}' "$infra" 2>/dev/null)
	check "podman --pod (ipc, net, uts joined)" "$(readlink /proc/$ipid/ns/ipc 2>/dev/null || echo no-infra)" \
		"$(pm run --rm --pod nspod1 $I readlink /proc/self/ns/ipc 2>&1)"
	pm pod rm -f nspod1 >/dev/null 2>&1
	pm pod create --name nspod2 --share pid,ipc,uts --infra-image $I --infra-command "sleep 7011" >/dev/null 2>&1
	# Needs joining a pid namespace by path (helper ocimore's work): an
	# XFAIL while nsinit-oci says it does not support it, a FAIL otherwise.
	xcheck "podman --pod --share pid" "sleep 7011" "joining an existing pid namespace is not supported" \
		"$(pm run --rm --pod nspod2 $I ps 2>&1)"
	pm pod rm -f nspod2 >/dev/null 2>&1

	pm rm -af >/dev/null 2>&1
	host_clean podman
	left=$(find /sys/fs/cgroup -maxdepth 4 -type d -name 'libpod-*' 2>/dev/null)
	[ -z "$left" ] && result PASS "podman host: no cgroups left" ||
		result FAIL "podman host: no cgroups left" "$left"
	pm rmi -af >/dev/null 2>&1
	# podman keeps its own shm mounts etc. under runroot until reset.
	pm system reset -f >/dev/null 2>&1
}

# The default network (netavark's bridge, its definitions under $T): the
# container has an address, reaches the gateway, the host reaches it; after
# rm no veth, bridge or firewall rule for it is left on the host.
podman_network() {
	if ! ip link add nsinit-vt0 type veth peer name nsinit-vt1 2>"$T/err"; then
		kernel_lacks "podman default network" "veth ($(cat "$T/err"))"
		return
	fi
	ip link del nsinit-vt0
	links=$(ip -o link | awk -F': ' '{print $2}' | sort)
	pm run -d --name nsnet --network bridge $I sleep 7015 >/dev/null 2>"$T/err"
	ip=$(pm inspect -f '{{.NetworkSettings.IPAddress}}' nsnet 2>/dev/null)
	gw=$(pm inspect -f '{{.NetworkSettings.Gateway}}' nsnet 2>/dev/null)
	check "podman default network (container reaches the gateway)" " 0% packet loss" \
		"$(pm exec nsnet ping -c1 -W5 "$gw" 2>&1) $(cat "$T/err")"
	check "podman default network (host reaches the container)" " 0% packet loss" "$(ping -c1 -W5 "$ip" 2>&1)"
	pm rm -f nsnet >/dev/null 2>&1
	now=$(ip -o link | awk -F': ' '{print $2}' | sort)
	rules=$(iptables-save 2>/dev/null | grep -F -- "$ip/" | head -3)
	[ "$now" = "$links" ] && [ -n "$ip" ] && [ -z "$rules" ] && result PASS "podman default network (host: no veth, bridge, rule left)" ||
		result FAIL "podman default network (host: no veth, bridge, rule left)" \
			"ip '$ip', links now: $(flat "$now"), rules: $(flat "$rules")"
}
