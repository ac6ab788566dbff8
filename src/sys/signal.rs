//! Raw system calls for signals: the mask, signalfd, kill, dispositions.
#![allow(unsafe_code)]

use std::os::fd::{AsFd, FromRawFd, OwnedFd};

use linux_raw_sys::general as g;
use rustix::io::Errno;

use super::raw::{check, syscall6};

/// A kernel signal set (64 signals, as `rt_sigprocmask` takes it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigSet(pub u64);

impl SigSet {
    pub fn of(signals: &[i32]) -> Self {
        SigSet(signals.iter().fold(0u64, |m, &s| m | (1u64 << (s - 1))))
    }

    /// Every signal a process may catch (all but KILL and STOP).
    pub fn catchable() -> Self {
        let all = u64::MAX;
        SigSet(all & !(1 << (g::SIGKILL - 1)) & !(1 << (g::SIGSTOP - 1)))
    }

    pub fn contains(self, sig: i32) -> bool {
        (1..=64).contains(&sig) && self.0 & (1u64 << (sig - 1)) != 0
    }
}

fn sigprocmask(how: u32, set: SigSet) -> Result<SigSet, Errno> {
    let mut old = 0u64;
    // SAFETY: `set` and `old` are valid 8-byte signal sets for the duration of
    // the call, and the size argument (8) matches them.
    let ret = unsafe {
        syscall6(
            g::__NR_rt_sigprocmask,
            [
                how as usize,
                &set.0 as *const u64 as usize,
                &mut old as *mut u64 as usize,
                8,
                0,
                0,
            ],
        )
    };
    check(ret)?;
    Ok(SigSet(old))
}

/// Block `set` and return the previous mask. `rt_sigprocmask(SIG_BLOCK, …)`.
pub fn block_signals(set: SigSet) -> Result<SigSet, Errno> {
    sigprocmask(g::SIG_BLOCK, set)
}

/// Install `old` as the signal mask. `rt_sigprocmask(SIG_SETMASK, …)`.
pub fn restore_signal_mask(old: SigSet) -> Result<(), Errno> {
    sigprocmask(g::SIG_SETMASK, old).map(|_| ())
}

/// `signalfd4(-1, set, 8, SFD_CLOEXEC)`: a descriptor that reads the blocked
/// signals in `set`. <https://man7.org/linux/man-pages/man2/signalfd.2.html>
pub fn signalfd(set: SigSet, nonblock: bool) -> Result<OwnedFd, Errno> {
    let mut flags = g::O_CLOEXEC as usize;
    if nonblock {
        flags |= g::O_NONBLOCK as usize;
    }
    // SAFETY: `set` is a valid 8-byte signal set; -1 asks for a new descriptor.
    let ret = unsafe {
        syscall6(
            g::__NR_signalfd4,
            [
                -1isize as usize,
                &set.0 as *const u64 as usize,
                8,
                flags,
                0,
                0,
            ],
        )
    };
    let fd = check(ret)? as i32;
    // SAFETY: the kernel just returned this new descriptor and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// One record read from a signalfd: the signal and the sending pid.
#[derive(Clone, Copy, Debug)]
pub struct SignalInfo {
    pub signo: i32,
    pub pid: i32,
}

/// Read one `struct signalfd_siginfo` (128 bytes) from a signalfd.
pub fn read_signal(fd: impl AsFd) -> Result<Option<SignalInfo>, Errno> {
    let mut buf = [0u8; 128];
    match rustix::io::read(fd.as_fd(), &mut buf) {
        Ok(128) => Ok(Some(SignalInfo {
            signo: u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as i32,
            pid: u32::from_ne_bytes([buf[12], buf[13], buf[14], buf[15]]) as i32,
        })),
        Ok(_) => Ok(None),
        Err(Errno::AGAIN) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `kill(pid, sig)` with a raw signal number (rustix's `Signal` rejects
/// real-time signals, which nsinit forwards too).
pub fn kill_raw(pid: i32, sig: i32) -> Result<(), Errno> {
    // SAFETY: kill takes two integers.
    check(unsafe {
        syscall6(
            g::__NR_kill,
            [pid as isize as usize, sig as usize, 0, 0, 0, 0],
        )
    })
    .map(|_| ())
}

/// Reset every catchable signal to its default disposition
/// (`rt_sigaction(sig, {SIG_DFL}, NULL, 8)`), as a new container process expects.
pub fn reset_signal_dispositions() {
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: u64,
        restorer: usize,
        mask: u64,
    }
    let act = KernelSigaction {
        handler: 0,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    for sig in 1..=64usize {
        if sig == g::SIGKILL as usize || sig == g::SIGSTOP as usize {
            continue;
        }
        // SAFETY: `act` is a valid kernel sigaction (SIG_DFL, no flags) that
        // outlives the call; the old-action pointer is NULL; size 8 matches the
        // kernel's sigset. Failures (signals reserved by the kernel) are ignored.
        unsafe {
            syscall6(
                g::__NR_rt_sigaction,
                [sig, &act as *const _ as usize, 0, 8, 0, 0],
            );
        }
    }
}
