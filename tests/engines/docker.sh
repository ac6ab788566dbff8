# Docker scenarios: a private dockerd (its own socket, data and exec roots,
# no iptables, no bridge) with nsinit-oci added as runtime "nsinit", sourced
# by run.sh (uses its T, result, check, code, need).

dk() { docker -H "unix://$T/dk/docker.sock" "$@"; }

docker_scenarios() {
	if ! need dockerd || ! need docker; then
		unavailable docker "dockerd not installed (ENGINES_INSTALL=1 installs docker.io)"
		return
	fi
	if ! need podman; then
		unavailable docker "the image archive is built with podman save (podman not installed)"
		return
	fi
	mkdir -p "$T/dk"
	cat >"$T/dk/daemon.json" <<EOF
{"runtimes": {"nsinit": {"path": "$T/bin/runtime"}},
 "default-ulimits": {"nofile": {"Name": "nofile", "Hard": 1024, "Soft": 1024}}}
EOF
	dockerd --config-file "$T/dk/daemon.json" --data-root "$T/dk/data" \
		--exec-root "$T/dk/exec" -H "unix://$T/dk/docker.sock" \
		--pidfile "$T/dk/docker.pid" --iptables=false --bridge=none \
		--storage-driver vfs >"$T/dk/dockerd.log" 2>&1 &
	dk_pid=$!
	i=0
	until dk version >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 200 ] || ! kill -0 $dk_pid 2>/dev/null; then
			result FAIL "dockerd start" "$(tail -3 "$T/dk/dockerd.log")"
			kill $dk_pid 2>/dev/null
			return
		fi
		sleep 0.1
	done
	rootfs_tar
	out=$( (CONTAINERS_CONF=/dev/null podman --root "$T/dk/podman" --runroot "$T/dk/podman-run" \
		--storage-driver vfs import "$T/busybox.tar" localhost/nsinit-busybox:latest &&
		CONTAINERS_CONF=/dev/null podman --root "$T/dk/podman" --runroot "$T/dk/podman-run" \
			--storage-driver vfs save --format docker-archive -o "$T/dk/image.tar" localhost/nsinit-busybox:latest &&
		dk load -i "$T/dk/image.tar") 2>&1)
	I=localhost/nsinit-busybox:latest
	if ! dk image inspect $I >/dev/null 2>&1; then
		result FAIL "docker load" "$out"
		kill $dk_pid
		return
	fi
	R="--runtime nsinit"

	check "docker run --rm" "hi uid=0(root)" "$(dk run $R --rm $I sh -c 'echo hi; id' 2>&1 | tr '\n' ' ')"
	code "docker exit code 3" 3 dk run $R --rm $I sh -c 'exit 3'
	code "docker exit code 127" 127 dk run $R --rm $I /nonexistent
	# A real terminal (tmux): input, size and exit code through dockerd and
	# containerd's shim, which gets the pty master over the console socket.
	tty_start "docker -H unix://$T/dk/docker.sock run $R --rm -it $I sh"
	if tty_wait "/ #"; then
		tty_keys 'stty size; echo $((6*7))' Enter
		tty_wait 42 && tty_keys 'exit 3' Enter
		tty_wait "END rc="
	fi
	check "docker run -it (real terminal: size, input, exit code)" "30 100 42 / # exit 3 END rc=3" \
		"$(tty_screen | grep -v "^$" | tr "\n" " ")"
	tty_stop
	dk run $R -d --name dd1 $I sleep 7006 >/dev/null 2>"$T/err" || result FAIL "docker run -d" "$(cat "$T/err")"
	check "docker exec" "inexec" "$(dk exec dd1 sh -c 'echo inexec' 2>&1)"
	code "docker exec exit code" 4 dk exec dd1 sh -c 'exit 4'
	check "docker exec -it (real terminal)" "exec-tty-ok" \
		"$(tty_run "docker -H unix://$T/dk/docker.sock exec -it dd1 sh -c 'test -t 0 && echo exec-tty-ok'")"
	dk pause dd1 >/dev/null 2>"$T/err"
	check "docker pause" "paused" "$(dk inspect -f '{{.State.Status}}' dd1 2>&1) $(cat "$T/err")"
	dk unpause dd1 >/dev/null 2>"$T/err"
	check "docker unpause" "running" "$(dk inspect -f '{{.State.Status}}' dd1 2>&1) $(cat "$T/err")"
	check "docker top" "sleep 7006" "$(dk top dd1 2>&1)"
	pid=$(dk inspect -f '{{.State.Pid}}' dd1 2>/dev/null)
	dk stop -t 1 dd1 >/dev/null 2>"$T/err"
	check "docker stop (TERM then KILL)" "exited 137" "$(dk inspect -f '{{.State.Status}} {{.State.ExitCode}}' dd1 2>&1) $(cat "$T/err")"
	gone "docker stop (host: PID 1 gone)" "$pid"
	code "docker rm" 0 dk rm dd1
	# A PID 1 that handles TERM: stop ends with its exit code, before -t.
	dk run $R -d --name dd3 $I sh -c 'trap "exit 7" TERM; sleep 7016 & wait' >/dev/null 2>"$T/err"
	t0=$(date +%s)
	dk stop -t 30 dd3 >/dev/null 2>>"$T/err"
	check "docker stop (TERM handled: its exit code, well before -t)" "exited 7 fast" \
		"$(dk inspect -f '{{.State.Status}} {{.State.ExitCode}}' dd3 2>&1) $([ $(($(date +%s) - t0)) -lt 20 ] && echo fast) $(cat "$T/err")"
	dk rm dd3 >/dev/null 2>&1
	dk run $R -d --name dd2 --memory 64m --pids-limit 50 $I sleep 7007 >/dev/null 2>&1
	pid=$(dk inspect -f '{{.State.Pid}}' dd2 2>/dev/null)
	check "docker --memory (host cgroup)" "67108864" "$(cgroup_file "$pid" memory memory.limit_in_bytes memory.max)"
	check "docker --pids-limit (host cgroup)" "50" "$(cgroup_file "$pid" pids pids.max pids.max)"
	check "docker --memory (container view)" "67108864" \
		"$(dk exec dd2 sh -c 'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null' 2>&1)"
	check "docker --memory enforced (OOM kill, exit 137)" "137" \
		"$(dk run $R --rm --memory 32m $I dd if=/dev/zero of=/dev/null bs=200M count=1 >/dev/null 2>&1; echo $?)"
	code "docker kill" 0 dk kill dd2
	check "docker kill exit code" "137" "$(dk wait dd2 2>&1)"
	code "docker rm after kill" 0 dk rm dd2
	check "docker --read-only --user --hostname --cap-drop -e" \
		"1000 h1 y CapEff:	0000000000000000 touch: /x: Read-only file system" \
		"$(dk run $R --rm --read-only --user 1000:1000 --hostname h1 --cap-drop ALL -e X=y $I \
			sh -c 'id -u | tr -d "\n"; echo " $(hostname) $X $(grep CapEff /proc/self/status) $(touch /x 2>&1)"' 2>&1)"
	# Stdio as runc gives it: a non-root user can reopen /dev/stdout (the
	# pipe is given to it), stdin is the container's /dev/null, read-write.
	check "docker --user 1000 (reopens /dev/stdout; stdin /dev/null writable)" "out w" \
		"$(dk run $R --rm --user 1000 $I sh -c 'echo out > /dev/stdout; echo x >&0 && echo w' 2>&1 | tr '\n' ' ')"
	# -v DIR:/x:rshared (Kubernetes' Bidirectional): a mount the container
	# makes below it reaches the host, as with runc.
	mkdir -p "$T/pv/c" && mount --bind "$T/pv" "$T/pv" && mount --make-shared "$T/pv"
	dk run $R --rm --cap-add SYS_ADMIN --security-opt seccomp=unconfined -v "$T/pv:/pv:rshared" $I \
		mount -t tmpfs fromctr /pv/c >/dev/null 2>"$T/err"
	check "docker -v DIR:/x:rshared (the container's mount reaches the host)" "fromctr" \
		"$(awk -v p="$T/pv/c" '$5 == p {print $0}' /proc/self/mountinfo) $(cat "$T/err")"
	umount -R -l "$T/pv"
	# --network host joins the host's network namespace by path: a net.*
	# sysctl would change the host's value; refused, as runc refuses it.
	ka=$(cat /proc/sys/net/ipv4/tcp_keepalive_time)
	code "docker --network host --sysctl net.* (refused, as runc)" 125 \
		dk run $R --rm --network host --sysctl net.ipv4.tcp_keepalive_time=7321 $I true
	echo "$ka" >/proc/sys/net/ipv4/tcp_keepalive_time

	dk rm -f $(dk ps -aq) >/dev/null 2>&1
	host_clean docker "$T/dk/exec/runtime-runc"
	left=$(find /sys/fs/cgroup -maxdepth 4 -type d -path '*/docker/*' 2>/dev/null)
	[ -z "$left" ] && result PASS "docker host: no cgroups left" ||
		result FAIL "docker host: no cgroups left" "$left"
	dk rmi -f $I >/dev/null 2>&1
	kill $dk_pid
	wait $dk_pid 2>/dev/null
	# dockerd binds the host's network namespace there for --network host
	# and leaves it when it stops.
	umount "$T/dk/exec/netns/default" 2>/dev/null
	CONTAINERS_CONF=/dev/null podman --root "$T/dk/podman" --runroot "$T/dk/podman-run" \
		--storage-driver vfs system reset -f >/dev/null 2>&1
}
