# containerd scenarios (ctr over the io.containerd.runc.v2 shim with
# --runc-binary), sourced by run.sh (uses its T, result, check, code, need).

cr() { ctr --address "$T/ctd/containerd.sock" "$@"; }

# ctr run/exec options: our runtime, its root under $T, no overlay needed.
RUNOPTS=""

# wait until TASK is STOPPED (bounded), or the task is gone.
ctd_wait_stopped() {
	i=0
	while [ $i -lt 100 ]; do
		s=$(cr task ls 2>/dev/null | awk -v t="$1" '$1 == t {print $3}')
		[ "$s" = STOPPED ] || [ -z "$s" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# containerd_setup: a containerd with its own config, socket, root and state
# under $T (pid in ctd_pid), the image localhost/nsinit-busybox:latest
# imported from an OCI archive that podman builds from the rootfs, and
# RUNOPTS for ctr run. Prints why not.
containerd_setup() {
	mkdir -p "$T/ctd"
	cat >"$T/ctd/config.toml" <<EOF
version = 2
root = "$T/ctd/root"
state = "$T/ctd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$T/ctd/containerd.sock"
[ttrpc]
  address = "$T/ctd/containerd.sock.ttrpc"
[debug]
  address = "$T/ctd/debug.sock"
EOF
	containerd --config "$T/ctd/config.toml" >"$T/ctd/containerd.log" 2>&1 &
	ctd_pid=$!
	i=0
	until cr version >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 $ctd_pid 2>/dev/null; then
			echo "containerd did not start: $(tail -3 "$T/ctd/containerd.log")"
			kill $ctd_pid 2>/dev/null
			return 1
		fi
		sleep 0.1
	done
	rootfs_tar
	out=$( (CONTAINERS_CONF=/dev/null podman --root "$T/ctd/podman" --runroot "$T/ctd/podman-run" \
		--storage-driver vfs import "$T/busybox.tar" localhost/nsinit-busybox:latest &&
		CONTAINERS_CONF=/dev/null podman --root "$T/ctd/podman" --runroot "$T/ctd/podman-run" \
			--storage-driver vfs save --format oci-archive -o "$T/ctd/image.tar" localhost/nsinit-busybox:latest &&
		cr images import --snapshotter native --base-name localhost/nsinit-busybox "$T/ctd/image.tar") 2>&1)
	if ! cr images ls -q 2>/dev/null | grep -q nsinit-busybox; then
		echo "image import: $out"
		containerd_stop
		return 1
	fi
	RUNOPTS="--snapshotter native --runc-binary ${CTD_RUNTIME:-$T/bin/runtime} --runc-root $T/ocistate/ctd"
}
containerd_stop() {
	kill $ctd_pid
	wait $ctd_pid 2>/dev/null
	# The image's podman store (vfs layers) is not needed any more.
	CONTAINERS_CONF=/dev/null podman --root "$T/ctd/podman" --runroot "$T/ctd/podman-run" \
		--storage-driver vfs system reset -f >/dev/null 2>&1
}

containerd_scenarios() {
	if ! need containerd || ! need ctr; then
		unavailable containerd "containerd/ctr not installed (ENGINES_INSTALL=1 installs them)"
		return
	fi
	if ! need podman; then
		unavailable containerd "the image archive is built with podman save (podman not installed)"
		return
	fi
	# Not in $(...): containerd_setup sets ctd_pid and RUNOPTS.
	if ! containerd_setup >"$T/why"; then
		result FAIL "containerd setup" "$(cat "$T/why")"
		return
	fi
	I=localhost/nsinit-busybox:latest

	check "ctr run --rm" "hi uid=0(root)" "$(cr run --rm $RUNOPTS $I c1 sh -c 'echo hi; id' 2>&1 | tr '\n' ' ')"
	code "ctr run exit code 3" 3 cr run --rm $RUNOPTS $I c2 sh -c 'exit 3'
	# A missing executable: refused at create, in runc's words ("exec: ...
	# no such file or directory"), which ctr passes on.
	out=$(cr run --rm $RUNOPTS $I c3 /nonexistent 2>&1)
	rc=$?
	case "$rc $out" in
	127*|*"no such file or directory"*) result PASS "ctr run missing executable" ;;
	*) result FAIL "ctr run missing executable" "exit $rc: $out" ;;
	esac
	# A real terminal (tmux): the shim gets the pty master over the console
	# socket; input, size and exit code go through.
	tty_start "ctr --address $T/ctd/containerd.sock run --rm -t $RUNOPTS $I c4 sh"
	if tty_wait "/ #"; then
		tty_keys 'stty size; echo $((6*7))' Enter
		tty_wait 42 && tty_keys 'exit 3' Enter
		tty_wait "END rc="
	fi
	check "ctr run -t (real terminal: size, input, exit code)" "30 100 42 / # exit 3 END rc=3" \
		"$(tty_screen | grep -v "^$" | tr "\n" " ")"
	tty_stop
	cr container rm c4 >/dev/null 2>&1
	cr run -d $RUNOPTS --memory-limit 67108864 $I c5 sh -c 'exec sleep 7005' >/dev/null 2>"$T/err" ||
		result FAIL "ctr run -d" "$(cat "$T/err")"
	check "ctr task ls (running)" "RUNNING" "$(cr task ls 2>&1 | grep c5)"
	pid=$(cr task ls 2>/dev/null | awk '$1 == "c5" {print $2}')
	check "ctr run --memory-limit (host cgroup)" "67108864" "$(cgroup_file "$pid" memory memory.limit_in_bytes memory.max)"
	check "ctr task exec -t (real terminal)" "exec-tty-ok" \
		"$(tty_run "ctr --address $T/ctd/containerd.sock task exec -t --exec-id et c5 sh -c 'test -t 0 && echo exec-tty-ok'")"
	check "ctr task exec" "inexec" "$(cr task exec --exec-id e1 c5 sh -c 'echo inexec' 2>&1)"
	code "ctr task exec exit code" 4 cr task exec --exec-id e2 c5 sh -c 'exit 4'
	cr task pause c5 2>"$T/err"
	check "ctr task pause" "PAUSED" "$(cr task ls 2>&1 | grep c5) $(cat "$T/err")"
	cr task resume c5 2>"$T/err"
	check "ctr task resume" "RUNNING" "$(cr task ls 2>&1 | grep c5) $(cat "$T/err")"
	check "ctr task ps" "PID" "$(cr task ps c5 2>&1)"
	check "ctr task metrics (the shim reads the cgroup: memory limit)" "67108864" "$(cr task metrics c5 2>&1)"
	code "ctr task kill" 0 cr task kill -s KILL c5
	ctd_wait_stopped c5 || result FAIL "ctr task kill: stopped" "$(cr task ls 2>&1)"
	gone "ctr task kill (host: PID 1 gone)" "$pid"
	check "ctr task delete (exit status 137)" "137" "$(cr task delete c5 2>&1)"
	code "ctr container rm" 0 cr container rm c5

	# kill --all reaches the container's other processes; KILL of a paused task.
	cr run -d $RUNOPTS $I c6 sh -c 'sleep 7008 & exec sleep 7009' >/dev/null 2>&1
	cr task kill -a -s KILL c6 >/dev/null 2>&1
	ctd_wait_stopped c6 && result PASS "ctr task kill --all" ||
		result FAIL "ctr task kill --all" "$(cr task ls 2>&1)"
	cr task delete c6 >/dev/null 2>&1
	cr container rm c6 >/dev/null 2>&1
	cr run -d $RUNOPTS $I c7 sleep 7009 >/dev/null 2>&1
	cr task pause c7 >/dev/null 2>&1
	cr task kill -s KILL c7 >/dev/null 2>&1
	ctd_wait_stopped c7 && result PASS "ctr task kill (paused)" ||
		result FAIL "ctr task kill (paused)" "$(cr task ls 2>&1)"
	cr task delete c7 >/dev/null 2>&1
	cr container rm c7 >/dev/null 2>&1
	# A runtime error reaches ctr as the runtime's message (JSON --log),
	# naming what failed.
	check "ctr runtime error message" "$T/nonexistent" \
		"$(cr run --rm $RUNOPTS --mount type=bind,src=$T/nonexistent,dst=/x,options=rbind $I c8 true 2>&1)"
	cr container rm c8 >/dev/null 2>&1

	# Host side: no records, mounts, processes.
	for c in $(cr task ls -q 2>/dev/null); do cr task kill -s KILL "$c"; done
	host_clean containerd
	left=$(find /sys/fs/cgroup -maxdepth 4 -type d -path '*/default/c[0-9]' 2>/dev/null)
	[ -z "$left" ] && result PASS "containerd host: no cgroups left" ||
		result FAIL "containerd host: no cgroups left" "$left"
	cr images rm $I >/dev/null 2>&1
	containerd_stop
}
