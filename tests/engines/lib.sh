# Shared by tests/engines/run.sh and bench/engines.sh (sourced; POSIX sh).
# Needs: here (the checkout), bin (nsinit), rootfs (busybox rootfs).
# Defines: T (a fresh temp dir), the runtime wrappers, the result counters
# and checks, the install step, host checks and the terminal helper.

T=$(mktemp -d /tmp/nsinit-engines.XXXXXX)
mkdir -p "$T/bin"
ln -s "$bin" "$T/bin/nsinit-oci"

# runtime_wrapper NAME REAL STATE: $T/bin/NAME runs REAL with its state in
# STATE whoever calls it (podman's cleanup process and containerd's shim do
# not pass our flags on), and logs every call to $T/runtime.log.
runtime_wrapper() {
	mkdir -p "$3"
	cat >"$T/bin/$1" <<EOF
#!/bin/sh
echo "\$(date +%T.%N) $1 \$*" >>"$T/runtime.log"
exec "$2" --root "$3" "\$@"
EOF
	chmod +x "$T/bin/$1"
}
real=${ENGINES_RUNTIME:-$T/bin/nsinit-oci}
runtime_wrapper runtime "$real" "$T/ocistate"

pass=0 fail=0 skip=0 xfail=0
summary=""
result() { # STATUS NAME [DETAIL]
	line="$1 $2${3:+: $3}"
	echo "$line"
	summary="$summary$line
"
	case $1 in
	PASS) pass=$((pass + 1)) ;;
	FAIL) fail=$((fail + 1)) ;;
	XFAIL) xfail=$((xfail + 1)) ;;
	*) skip=$((skip + 1)) ;;
	esac
}
flat() { printf %s "$1" | tr '\n' ' ' | cut -c1-300; }
# check NAME EXPECTED-SUBSTRING ACTUAL
check() {
	case "$3" in
	*"$2"*) result PASS "$1" ;;
	*) result FAIL "$1" "expected '$2', got '$(flat "$3")'" ;;
	esac
}
# code NAME EXPECTED-EXIT CMD...
code() {
	name=$1 want=$2
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" = "$want" ]; then result PASS "$name"; else
		result FAIL "$name" "exit $rc, want $want: $(flat "$out")"
	fi
}
# xcheck NAME EXPECTED KNOWN-GAP-MESSAGE ACTUAL: like check, but a failure
# that carries KNOWN-GAP-MESSAGE (a feature nsinit does not have yet) is an
# expected failure, XFAIL, which does not fail the run.
xcheck() {
	case "$4" in
	*"$2"*) result PASS "$1" ;;
	*"$3"*) result XFAIL "$1" "$(flat "$4")" ;;
	*) result FAIL "$1" "expected '$2', got '$(flat "$4")'" ;;
	esac
}

# An engine that cannot be run is a SKIP, or a FAIL under ENGINES_STRICT=1
# (CI); a host kernel without a feature the scenario needs is always a SKIP,
# with the feature named.
unavailable() { # NAME REASON
	if [ "${ENGINES_STRICT:-0}" = 1 ]; then result FAIL "$1" "$2 (ENGINES_STRICT=1)"; else result SKIP "$1" "$2"; fi
}
kernel_lacks() { # NAME FEATURE
	result SKIP "$1" "host kernel lacks $2"
}

# ENGINES_INSTALL=1: one apt-get install of every missing package
# (COMMAND or /PATH : PACKAGE).
install_missing() { # COMMAND:PACKAGE...
	[ "${ENGINES_INSTALL:-0}" = 1 ] || return 0
	pkgs=""
	for cp in "$@"; do
		c=${cp%%:*}
		case $c in
		/*) [ -e "$c" ] || pkgs="$pkgs ${cp#*:}" ;;
		*) command -v "$c" >/dev/null 2>&1 || pkgs="$pkgs ${cp#*:}" ;;
		esac
	done
	[ -n "$pkgs" ] || return 0
	echo "engines: installing$pkgs"
	apt="apt-get install -y -q --no-install-recommends"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $apt $pkgs >"$T/apt.log" 2>&1 ||
		{ apt-get update -qq >>"$T/apt.log" 2>&1 && DEBIAN_FRONTEND=noninteractive $apt $pkgs >>"$T/apt.log" 2>&1; } ||
		{ echo "engines: apt-get install$pkgs failed:"; tail -5 "$T/apt.log"; }
}
need() { command -v "$1" >/dev/null 2>&1; }

# Kernel features every engine needs (namespaces, a cgroup hierarchy);
# prints the first one missing.
kernel_missing() {
	for ns in mnt pid ipc uts net; do
		[ -e "/proc/self/ns/$ns" ] || { echo "the $ns namespace"; return; }
	done
	grep -q '^cgroup' /proc/self/mountinfo 2>/dev/null ||
		grep -q ' cgroup2\? ' /proc/self/mountinfo || { echo "a mounted cgroup hierarchy"; return; }
}
# have_controller NAME: a v1 hierarchy or the v2 root offers it.
have_controller() {
	[ -d "/sys/fs/cgroup/$1" ] && return 0
	grep -qw "$1" /sys/fs/cgroup/cgroup.controllers 2>/dev/null && return 0
	grep -qw "$1" /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null
}
# need_controllers SCENARIO NAME...: SKIP the scenario (kernel) when one lacks.
need_controllers() {
	s=$1
	shift
	for c in "$@"; do
		have_controller "$c" || { kernel_lacks "$s" "the $c cgroup controller"; return 1; }
	done
}

# Host-side leftovers: state records, cgroups, mounts, processes.
host_clean() { # ENGINE [RUNTIME-ROOT]
	left=$(find "${2:-$T/ocistate}/" -mindepth 1 -not -type d 2>/dev/null)
	[ -z "$left" ] || result FAIL "$1 host: no state records left" "$left"
	[ -n "$left" ] || result PASS "$1 host: no state records left"
	m=$(grep -c "$T/.*/merged\|$T/.*rootfs" /proc/self/mountinfo)
	[ "$m" = 0 ] && result PASS "$1 host: no container mounts left" ||
		result FAIL "$1 host: no container mounts left" "$m mounts under $T"
	p=$(ps -eo pid,args | grep -v grep | grep -c 'sleep 70[0-9][0-9]')
	[ "$p" = 0 ] && result PASS "$1 host: no container processes left" ||
		result FAIL "$1 host: no container processes left" "$(ps -eo pid,args | grep 'sleep 70[0-9][0-9]' | grep -v grep)"
}
# gone NAME PID: the host no longer has PID (bounded wait: the engine may
# reap it just after reporting).
gone() {
	if [ -z "$2" ] || [ "$2" = 0 ]; then result FAIL "$1" "no pid"; return; fi
	i=0
	while [ -d "/proc/$2" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -d "/proc/$2" ] && result FAIL "$1" "pid $2 still on the host: $(tr '\0' ' ' <"/proc/$2/cmdline")" ||
		result PASS "$1"
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

# A real terminal: a tmux pane (its own server socket under $T) whose stdin
# stays open as a user's does. tty_start CMD starts it (100x30); tty_wait
# TEXT waits (bounded, 60 s) until the pane shows TEXT; tty_keys sends keys;
# tty_screen prints the pane; tty_stop ends the server.
tty_n=0
tty_start() {
	# A new server (socket) each time: a killed server may still be going
	# away while the next one would start on the same socket.
	tty_n=$((tty_n + 1))
	tty_sock="$T/tmux$tty_n.sock"
	tmux -S "$tty_sock" new-session -d -x 100 -y 30 "$1; echo \"END rc=\$?\"; sleep 600"
}
tty_screen() { tmux -S "$tty_sock" capture-pane -p -S -100 2>/dev/null; }
tty_wait() {
	i=0
	until tty_screen | grep -qF -- "$1"; do
		i=$((i + 1))
		[ $i -lt 600 ] || return 1
		sleep 0.1
	done
}
tty_keys() { tmux -S "$tty_sock" send-keys "$@"; }
# tty_poll TEXT KEYS: type KEYS (and Enter) until the pane shows TEXT, for a
# state that reaches the container asynchronously (a resize goes from the
# terminal to the engine's client, to its monitor, to the pty): up to 20
# tries, 1 s each.
tty_poll() {
	n=0
	while [ $n -lt 20 ]; do
		tty_keys "$2" Enter
		j=0
		while [ $j -lt 10 ]; do
			tty_screen | grep -qF -- "$1" && return 0
			sleep 0.1
			j=$((j + 1))
		done
		n=$((n + 1))
	done
	return 1
}
tty_resize() { tmux -S "$tty_sock" resize-window -x "$1" -y "$2"; }
tty_stop() { [ -z "${tty_sock:-}" ] || tmux -S "$tty_sock" kill-server 2>/dev/null; }
# tty_run CMD: run CMD on a real terminal to its end; prints the pane. A
# tmux server that dies under the harness ("server exited unexpectedly",
# an empty pane without "END rc=") is the harness's failure, not the
# runtime's: CMD then runs once more on a new server.
tty_run() {
	for try in 1 2; do
		tty_start "$1"
		tty_wait "END rc=" || true
		screen=$(tty_screen)
		tty_stop
		case "$screen" in *"END rc="*) break ;; esac
		[ -n "$screen" ] && break
	done
	printf '%s\n' "$screen"
}
