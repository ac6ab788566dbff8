#!/bin/sh
# Fetch a stock Debian kernel for the test VM and cache it unpacked:
#   tests/vm/kernel.sh CACHE_DIR   prints CACHE_DIR/<version> on stdout
# That directory holds `vmlinuz` and the modules the network tests need
# (llc, stp, bridge, veth: the package has no modules.dep, so the guest
# loads them in this order with insmod). The package is fetched with
# `apt-get download` and unpacked with `dpkg-deb -x` into the cache, never
# installed into /boot. NSINIT_VM_KERNEL=<version> (e.g. 6.1.0-50-amd64)
# picks one; otherwise the newest plain -amd64 image apt offers, or, when
# apt offers none, the newest one already cached.
set -eu
cache=${1:?usage: kernel.sh CACHE_DIR}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
modules="net/llc/llc.ko net/802/stp.ko net/bridge/bridge.ko drivers/net/veth.ko"

ver=${NSINIT_VM_KERNEL:-}
if [ -z "$ver" ]; then
    ver=$(apt-cache search --names-only '^linux-image-[0-9.]+-[0-9]+-amd64$' 2>/dev/null |
        sed -n 's/^linux-image-\([^ ]*\) .*/\1/p' | sort -V | tail -n 1)
fi
if [ -z "$ver" ]; then
    ver=$(ls "$cache" 2>/dev/null | grep -E '^[0-9.]+-[0-9]+-amd64$' | sort -V | tail -n 1 || true)
fi
[ -n "$ver" ] || { echo "kernel.sh: apt offers no linux-image-*-amd64 (run apt-get update)" >&2; exit 1; }

dir=$cache/$ver
if [ ! -f "$dir/vmlinuz" ]; then
    echo "kernel.sh: fetching linux-image-$ver" >&2
    tmp=$cache/.fetch.$$
    rm -rf "$tmp" && mkdir -p "$tmp"
    trap 'rm -rf "$tmp"' EXIT
    # apt-get drops privileges to _apt for the download: give it a directory it may write.
    chmod 0777 "$tmp"
    (cd "$tmp" && apt-get download -q "linux-image-$ver" >&2)
    dpkg-deb -x "$tmp"/linux-image-"$ver"_*.deb "$tmp/x"
    mkdir -p "$tmp/out/modules"
    cp "$tmp/x/boot/vmlinuz-$ver" "$tmp/out/vmlinuz"
    cp "$tmp/x/boot/config-$ver" "$tmp/out/config"
    for m in $modules; do
        cp "$tmp/x/lib/modules/$ver/kernel/$m" "$tmp/out/modules/"
    done
    # The load order, for the guest.
    for m in $modules; do basename "$m"; done > "$tmp/out/modules/order"
    rm -rf "$dir" && mv "$tmp/out" "$dir"
fi
echo "$dir"
