//! The only place with `unsafe`: the few system calls rustix does not offer
//! (clone with namespace flags, execve, the signal mask and signalfd, bpf,
//! seccomp). Everything else in nsinit calls rustix.

pub mod bpf;
pub mod raw;

pub use raw::{
    CStringArray, SignalInfo, kill_raw, reset_signal_dispositions, set_parent_death_signal,
    SigSet, block_signals, clone_process, execve, exit_now, read_signal, restore_signal_mask,
    signalfd,
};
