# podman scenarios, sourced by run.sh (uses its T, result, check, code, need).

pm() { "$T/bin/pm" "$@"; }

podman_scenarios() {
	if ! need podman podman || ! need conmon conmon; then
		result SKIP podman "podman/conmon not installed (ENGINES_INSTALL=1 installs them)"
		return
	fi
	mkdir -p "$T/podman/tmp"
	cat >"$T/bin/pm" <<EOF
#!/bin/sh
CONTAINERS_CONF="$T/containers.conf" exec podman --root "$T/podman/root" \\
	--runroot "$T/podman/runroot" --storage-driver vfs \\
	--cgroup-manager cgroupfs --events-backend file \\
	--runtime "$T/bin/runtime" "\$@"
EOF
	chmod +x "$T/bin/pm"
	# nofile: podman asks for 1048576, more than some hosts' hard limit.
	cat >"$T/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
netns = "none"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$T/podman/events.log"
tmp_dir = "$T/podman/tmp"
EOF
	rootfs_tar
	if ! pm import "$T/busybox.tar" localhost/nsinit-busybox:latest >/dev/null 2>&1; then
		result FAIL "podman import" "$(pm import "$T/busybox.tar" localhost/nsinit-busybox:latest 2>&1 | tail -1)"
		return
	fi
	I=localhost/nsinit-busybox:latest

	check "podman run --rm" "hi uid=0(root)" "$(pm run --rm $I sh -c 'echo hi; id' 2>&1 | tr '\n' ' ')"
	code "podman exit code 0" 0 pm run --rm $I true
	code "podman exit code 3" 3 pm run --rm $I sh -c 'exit 3'
	code "podman exit code 127 (command not found in sh)" 127 pm run --rm $I sh -c 'nonexistent-cmd'
	code "podman exit code 127 (missing executable)" 127 pm run --rm $I /nonexistent
	code "podman exit code 137 (child killed)" 137 pm run --rm $I sh -c 'sh -c "kill -9 \$\$"; exit $?'
	if command -v script >/dev/null; then
		# stdin stays open (as a user's terminal): with stdin at EOF at
		# once, podman's attach sometimes misses the output of a container
		# that exits at once (it is in `podman logs`; runc does not show it).
		out=$(sleep 3 | timeout 60 script -qec "$T/bin/pm run --rm -it $I sh -c 'test -t 0 && test -t 1 && echo tty-ok; tty'" /dev/null 2>&1)
		check "podman run -it (tty)" "tty-ok" "$out"
	else
		result SKIP "podman run -it" "no script(1)"
	fi

	# Detached lifecycle.
	pm run -d --name nsd1 $I sh -c 'echo started; exec sleep 7001' >/dev/null 2>"$T/err" ||
		result FAIL "podman run -d" "$(cat "$T/err")"
	check "podman exec" "inexec" "$(pm exec nsd1 sh -c 'echo inexec' 2>&1)"
	code "podman exec exit code" 5 pm exec nsd1 sh -c 'exit 5'
	check "podman exec -it" "/dev/pts/" "$(timeout 30 script -qec "$T/bin/pm exec -it nsd1 tty" /dev/null </dev/null 2>&1)"
	check "podman logs" "started" "$(pm logs nsd1 2>&1)"
	check "podman ps" "nsd1" "$(pm ps 2>&1)"
	check "podman top" "sleep 7001" "$(pm top nsd1 2>&1)"
	pm pause nsd1 >/dev/null 2>"$T/err"
	check "podman pause" "paused" "$(pm inspect -f '{{.State.Status}}' nsd1 2>&1) $(cat "$T/err")"
	pm unpause nsd1 >/dev/null 2>"$T/err"
	check "podman unpause" "running" "$(pm inspect -f '{{.State.Status}}' nsd1 2>&1) $(cat "$T/err")"
	check "podman stats" "nsd1" "$(pm stats --no-stream nsd1 2>&1)"
	# sleep as PID 1 ignores TERM: stop must escalate to KILL after -t.
	pm stop -t 1 nsd1 >/dev/null 2>"$T/err"
	check "podman stop (TERM then KILL)" "exited 137" "$(pm inspect -f '{{.State.Status}} {{.State.ExitCode}}' nsd1 2>&1) $(cat "$T/err")"
	code "podman rm" 0 pm rm nsd1

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
	check "podman --network none" "lo" "$(pm run --rm --network none $I ls /sys/class/net 2>&1)"

	# Pods: the infra container's namespaces joined by path.
	pm pod create --name nspod1 --infra-image $I --infra-command "sleep 7010" >/dev/null 2>&1
	infra=$(pm pod inspect -f '{{.InfraContainerID}}' nspod1 2>/dev/null)
	pm pod start nspod1 >/dev/null 2>&1
	ipid=$(pm inspect -f '{{.State.Pid}}' "$infra" 2>/dev/null)
	check "podman --pod (ipc, net, uts joined)" "$(readlink /proc/$ipid/ns/ipc 2>/dev/null || echo no-infra)" \
		"$(pm run --rm --pod nspod1 $I readlink /proc/self/ns/ipc 2>&1)"
	pm pod rm -f nspod1 >/dev/null 2>&1
	pm pod create --name nspod2 --share pid,ipc,uts --infra-image $I --infra-command "sleep 7011" >/dev/null 2>&1
	check "podman --pod --share pid" "sleep 7011" "$(pm run --rm --pod nspod2 $I ps 2>&1)"
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
