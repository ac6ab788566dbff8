//! Root integration tests: real containers on the busybox rootfs.
//! Run by `make test` (which builds the rootfs first); skipped without root.

mod caps;
mod cgroup;
mod cgroup_race;
mod common;
mod exec;
mod init;
mod join;
mod joinsec;
mod network;
mod relay;
mod tty;
mod validation;
