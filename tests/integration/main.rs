//! Root integration tests: real containers on the busybox rootfs.
//! Run by `make test` (which builds the rootfs first and sets
//! `NSINIT_TEST_STRICT=1`: a missing prerequisite fails there); elsewhere a
//! test without its prerequisites prints `SKIP <test>: <reason>`.

mod caps;
mod cgroup;
mod cgroup_cpu;
mod cgroup_fields;
mod cgroup_race;
mod cgroup_v2;
mod common;
mod compat;
mod exec;
mod idmap;
mod init;
mod join;
mod joinsec;
mod network;
mod oci;
mod oci_conform;
mod oci_engines;
mod oci_hooks;
mod oci_nspath;
mod oci_sched;
mod oci_update;
mod recmount;
mod record;
mod relay;
mod rootless;
mod seccomp;
mod seccomp_log;
mod seccomp_notify;
mod soak;
mod tty;
mod tty_devpts;
mod validation;
