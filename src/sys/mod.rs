//! The only place with `unsafe`: the few system calls rustix does not offer
//! (clone with namespace flags, execve, the signal mask and signalfd, bpf,
//! seccomp). Everything else in nsinit calls rustix.

pub mod bpf;
pub mod raw;

pub use raw::{
    CStringArray, SigSet, SignalInfo, block_signals, cloexec_from, clone_into_cgroup,
    clone_process, execve, exit_now, kill_raw, mount, read_signal, reset_signal_dispositions,
    restore_signal_mask, set_parent_death_signal, signalfd, umount2, unshare,
};
