# nsinit — build, test, demo and benchmark.
#
#   make          static release binary: target/x86_64-unknown-linux-musl/release/nsinit
#   make demo     build, make the busybox rootfs, run a real container
#   make test     unit tests + root integration tests
#   make test-vm  the same suites in a qemu VM on a cgroup-v2-only Debian kernel
#   make bench    start/join latency, RSS and size vs runc, crun and unshare

TARGET   ?= x86_64-unknown-linux-musl
PREFIX   ?= /usr/local
CARGO    ?= cargo
BIN      := target/$(TARGET)/release/nsinit
ROOTFS   := target/rootfs
DEMO     := target/demo
APT      := DEBIAN_FRONTEND=noninteractive apt-get -y -qq
# Size: std rebuilt with panic=immediate-abort drops the unwinder and the
# backtrace symbolizer (gimli, addr2line, miniz) that the prebuilt std's panic
# hook pulls in: about 360 KiB of a 1.1 MiB binary. nsinit never panics by
# design (errors are values); a panic would abort (SIGABRT) without a message.
# Nothing unwinds, so no unwind tables either (-Cforce-unwind-tables=no):
# .eh_frame was 136 KiB of the binary.
# RUSTC_BOOTSTRAP lets the stable toolchain take the -Z flags (as the Linux
# kernel's Rust build does); without rust-src the build falls back to the
# prebuilt std.
SMALL_FLAGS := -Zunstable-options -Cpanic=immediate-abort -Cforce-unwind-tables=no

.PHONY: all build install rootfs demo test test-unit test-root test-vm test-engines lint bench clean

all: build

build:
	@if ! rustup target list --installed 2>/dev/null | grep -qx '$(TARGET)'; then \
	  rustup target add $(TARGET) >/dev/null 2>&1 || true; \
	fi
	@if rustup target list --installed 2>/dev/null | grep -qx '$(TARGET)'; then \
	  if rustup component list --installed 2>/dev/null | grep -q '^rust-src' && \
	     RUSTC_BOOTSTRAP=1 RUSTFLAGS="$(SMALL_FLAGS)" $(CARGO) build --release --locked \
	       --target $(TARGET) -Z build-std=std,panic_abort; then :; \
	  else \
	    echo "nsinit: rust-src missing or build-std failed: building with the prebuilt std (about 360 KiB larger)"; \
	    $(CARGO) build --release --locked --target $(TARGET); \
	  fi; \
	else \
	  echo "nsinit: the $(TARGET) target cannot be installed; building a static glibc binary (+crt-static) instead"; \
	  RUSTFLAGS="-C target-feature=+crt-static" $(CARGO) build --release --locked --target x86_64-unknown-linux-gnu && \
	  mkdir -p $(dir $(BIN)) && cp target/x86_64-unknown-linux-gnu/release/nsinit $(BIN); \
	fi
	@if command -v file >/dev/null; then \
	  file $(BIN) | grep -q 'statically linked\|static-pie' || { echo "nsinit: $(BIN) is not static"; exit 1; }; \
	fi

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/nsinit
	ln -sf nsinit $(DESTDIR)$(PREFIX)/bin/nsinit-join
	ln -sf nsinit $(DESTDIR)$(PREFIX)/bin/nsinit-init
	ln -sf nsinit $(DESTDIR)$(PREFIX)/bin/nsinit-oci

# A busybox rootfs from Debian's busybox-static: /bin/busybox and its applets,
# /etc/passwd and /etc/group with root, daemon and nobody, empty /proc /sys /dev /tmp /mnt
# (the suites bind there; made here, not by whichever test runs first: a test
# in a user namespace may not create it in the root-owned tree).
rootfs: $(ROOTFS)/bin/busybox

$(ROOTFS)/bin/busybox:
	@if ! dpkg -s busybox-static >/dev/null 2>&1; then \
	  echo "installing busybox-static"; apt-get update -qq && $(APT) install busybox-static >/dev/null; \
	fi
	rm -rf $(ROOTFS).tmp && mkdir -p $(ROOTFS).tmp
	cd $(ROOTFS).tmp && mkdir -p bin sbin usr/bin usr/sbin etc proc sys dev tmp mnt root home var/run && chmod 1777 tmp
	cp /bin/busybox $(ROOTFS).tmp/bin/busybox
	cd $(ROOTFS).tmp && for a in $$(./bin/busybox --list-full); do \
	  [ -e "$$a" ] || ln -s /bin/busybox "$$a"; done
	printf 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > $(ROOTFS).tmp/etc/passwd
	printf 'root:x:0:\ndaemon:x:1:\ntty:x:5:\naudio:x:29:daemon\nnogroup:x:65534:\n' > $(ROOTFS).tmp/etc/group
	rm -rf $(ROOTFS) && mv $(ROOTFS).tmp $(ROOTFS)

demo: build rootfs
	rm -rf $(DEMO) && cp -a $(ROOTFS) $(DEMO)
	cp sample_configs/minimal.json $(DEMO)/container.json
	cd $(DEMO) && ../../$(BIN) exec sh -c 'echo "hostname: $$(hostname)"; id; echo "pid: $$$$"'

test: build rootfs
	NSINIT_TEST_STRICT=1 NSINIT_ROOTFS=$(CURDIR)/$(ROOTFS) NSINIT_BIN=$(CURDIR)/$(BIN) $(CARGO) test --locked -- --test-threads=4

# Boots a stock Debian kernel with cgroup_no_v1=all under qemu (cached in
# target/vm/) and runs the unit and integration suites inside (tests/vm/).
test-vm: build rootfs
	CARGO="$(CARGO)" sh tests/vm/run.sh

# podman (and containerd) driving nsinit-oci on a locally built busybox
# image, private state dirs; ENGINES_INSTALL=1 apt-installs missing engines.
test-engines: build rootfs
	NSINIT_ROOTFS=$(CURDIR)/$(ROOTFS) NSINIT_BIN=$(CURDIR)/$(BIN) sh tests/engines/run.sh $(ENGINES)

test-unit:
	$(CARGO) test --locked --lib

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

bench: build rootfs
	sh bench/run.sh $(BENCH_ARGS)

clean:
	$(CARGO) clean
