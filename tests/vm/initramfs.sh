#!/bin/sh
# Build the test VM's initramfs (an uncompressed newc cpio: the kernel unpacks
# it faster than it would decompress it under TCG):
#   tests/vm/initramfs.sh OUT STAGE_INPUT KERNEL_DIR
# STAGE_INPUT is the directory run.sh prepared: nsinit (static), rootfs/ (the
# busybox rootfs), tests/ (the musl test executables), attack/ (the static
# attack helpers), lone (the start timer of the bench mode), args (extra
# libtest arguments), env (shell exports for the tests), manifest (the source
# directory the test binaries were built in: unit tests read
# sample_configs/ from there).
#
# The guest is busybox (static) plus the host tools the tests run, copied
# with the shared libraries ldd names: dash as sh (as on Debian: busybox sh
# would run its own `ip` applet instead of iproute2's), iproute2's ip,
# util-linux (unshare, nsenter, script, mount, setpriv), shadow's useradd,
# newuidmap and newgidmap, strace, tmux and bash (with a few
# terminfo entries and the C.UTF-8 locale) and coreutils' stty.
set -eu
out=${1:?usage: initramfs.sh OUT STAGE_INPUT KERNEL_DIR}
in=${2:?}
kernel=${3:?}
here=$(cd "$(dirname "$0")" && pwd)
stage=$out.d
rm -rf "$stage" && mkdir -p "$stage"

# Merged /usr, as on the host, so ldd's paths land in one place.
mkdir -p "$stage/usr/bin" "$stage/usr/sbin" "$stage/usr/lib" "$stage/usr/lib64" \
    "$stage/usr/local/bin" "$stage/usr/share"
for d in bin sbin lib lib64; do ln -s "usr/$d" "$stage/$d"; done
mkdir -p "$stage/proc" "$stage/sys" "$stage/dev" "$stage/tmp" "$stage/run" "$stage/root" \
    "$stage/etc" "$stage/var/tmp" "$stage/mnt"
chmod 1777 "$stage/tmp" "$stage/var/tmp"

# put SRC DST: copy a file (following links) to DST inside the stage.
put() {
    mkdir -p "$stage$(dirname "$2")"
    cp -L "$1" "$stage$2"
}

# A dynamic host binary at the path PATH finds it, and its libraries.
tool() {
    p=$(command -v "$1") || { echo "initramfs.sh: $1 is not installed" >&2; exit 1; }
    put "$p" "$p"
    ldd "$p" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p' |
        while read -r lib; do
            [ -e "$stage$lib" ] || put "$lib" "$lib"
        done
}
for t in dash bash ip unshare nsenter script mount umount strace tmux stty setpriv useradd \
    newuidmap newgidmap; do tool "$t"; done
# The rootless tests: newuidmap/newgidmap are setuid root (cp drops the bit);
# useradd wants the shadow files and login.defs (subordinate id ranges).
chmod 4755 "$stage/usr/bin/newuidmap" "$stage/usr/bin/newgidmap"
ln -s dash "$stage/usr/bin/sh"

# busybox for everything else: an applet link wherever no real tool sits.
put /bin/busybox /usr/bin/busybox
for a in $("$stage/usr/bin/busybox" --list-full); do
    [ -e "$stage/$a" ] || [ -L "$stage/$a" ] || ln -s /usr/bin/busybox "$stage/$a"
done

for t in xterm xterm-256color screen screen-256color tmux tmux-256color linux vt100 dumb; do
    f=$(find /lib/terminfo /usr/share/terminfo -name "$t" 2>/dev/null | head -n 1)
    [ -n "$f" ] && put "$f" "/usr/share/terminfo/$(basename "$(dirname "$f")")/$t"
done
if [ -d /usr/lib/locale/C.utf8 ]; then
    mkdir -p "$stage/usr/lib/locale"
    cp -a /usr/lib/locale/C.utf8 "$stage/usr/lib/locale/"
fi

printf 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$stage/etc/passwd"
printf 'root:x:0:\ndaemon:x:1:\ntty:x:5:\nnogroup:x:65534:\n' >"$stage/etc/group"
touch "$stage/etc/shadow" "$stage/etc/gshadow" "$stage/etc/subuid" "$stage/etc/subgid"
chmod 600 "$stage/etc/shadow" "$stage/etc/gshadow"
cp /etc/login.defs "$stage/etc/login.defs" 2>/dev/null || true
cp /etc/os-release "$stage/etc/os-release" 2>/dev/null || echo 'ID=nsinit-vm' >"$stage/etc/os-release"
echo nsinit-vm >"$stage/etc/hostname"

# What the tests need.
cp "$in/nsinit" "$stage/usr/local/bin/nsinit"
v=$stage/nsinit-vm
mkdir -p "$v"
cp -a "$in/rootfs" "$v/rootfs"
cp -a "$in/tests" "$v/tests"
cp -a "$in/attack" "$v/attack"
cp "$in/args" "$in/env" "$in/lone" "$v/"
cp -a "$kernel/modules" "$v/modules"
manifest=$(cat "$in/manifest")
mkdir -p "$stage$manifest"
echo "$manifest" >"$v/manifest"
cp -a "$manifest/sample_configs" "$stage$manifest/sample_configs"
mkdir -p "$stage$manifest/tests"
cp -a "$manifest/tests/attack" "$stage$manifest/tests/attack"
cp "$here/init.sh" "$stage/init"
chmod 0755 "$stage/init"

(cd "$stage" && find . | busybox cpio -o -H newc 2>/dev/null) >"$out.tmp"
mv "$out.tmp" "$out"
rm -rf "$stage"
