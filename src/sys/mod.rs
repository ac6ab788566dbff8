//! The only place with `unsafe`: the few system calls rustix does not offer
//! (clone with namespace flags, execve, the signal mask and signalfd, bpf,
//! seccomp). Everything else in nsinit calls rustix.

pub mod alloc;
pub mod bpf;
mod mount;
mod process;
pub mod raw;
mod sched;
mod seccomp;
mod signal;

pub use raw::close_fds_except;
pub use raw::{
    CStringArray, SigSet, SignalInfo, block_signals, cloexec_from, clone_into_cgroup,
    clone_process, execve, exit_now, kill_raw, mount, mount_setattr_idmap, mount_setattr_recursive,
    ns_type, read_signal, reset_signal_dispositions, restore_signal_mask, set_parent_death_signal,
    set_personality, signalfd, umount2, unshare,
};
pub use raw::{KEY_POS_ALL, join_session_keyring, set_key_permissions};
pub use raw::{SchedAttr, ioprio_set_self, sched_setattr, set_mempolicy};

/// `prctl(PR_SET_DUMPABLE, 0)`: no ptrace attach, no core dump, and
/// `/proc/PID/{exe,fd,mem,environ,…}` closed to all but CAP_SYS_PTRACE holders
/// in the user namespace nsinit was started in. Inherited by fork, reset by
/// execve. Every process nsinit puts into a container sets it before it is
/// visible there, so no container process can take a host descriptor or the
/// host binary through `/proc/PID/exe` (CVE-2019-5736, CVE-2016-9962 class).
pub fn set_non_dumpable() -> Result<(), rustix::io::Errno> {
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
}
