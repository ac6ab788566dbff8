//! nsinit as a library: the runtime's modules, used by the `nsinit` binary
//! (whose `main.rs` holds only the applet table) and by the integration tests.
#![deny(unsafe_code)]

pub mod applet;
pub mod caps;
pub mod cgroup;
pub mod cli;
pub mod config;
pub mod console;
pub mod container;
pub mod error;
pub mod init;
pub mod log;
pub mod network;
pub mod oci;
pub mod rootfs;
pub mod sched;
pub mod seccomp;
pub mod sys;
pub mod user;
