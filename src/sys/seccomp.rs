//! Raw system calls for seccomp: installing a filter, with or without a
//! notification listener, and probing the kernel's filter flags.
#![allow(unsafe_code)]

use std::os::fd::{FromRawFd, OwnedFd};

use linux_raw_sys::general as g;
use rustix::io::Errno;

use super::raw::{check, syscall6};

/// One classic-BPF instruction, `struct sock_filter` from <linux/filter.h>.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockFilter {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// `struct sock_fprog` from <linux/filter.h>.
#[repr(C)]
struct SockFprog {
    len: u16,
    filter: *const SockFilter,
}

/// `SECCOMP_SET_MODE_FILTER` from <linux/seccomp.h>.
const SECCOMP_SET_MODE_FILTER: usize = 1;

/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog)`: install a filter on the
/// calling thread (all threads with TSYNC). Returns the kernel's result: 0, a
/// thread id for a failed TSYNC, or a listener fd with NEW_LISTENER (which
/// nsinit never passes). The kernel needs no_new_privs or CAP_SYS_ADMIN.
/// <https://man7.org/linux/man-pages/man2/seccomp.2.html>
pub fn seccomp_set_mode_filter(flags: u32, filter: &[SockFilter]) -> Result<usize, Errno> {
    let len = u16::try_from(filter.len()).map_err(|_| Errno::INVAL)?;
    let prog = SockFprog {
        len,
        filter: filter.as_ptr(),
    };
    // SAFETY: `prog` points to `len` valid instructions that outlive the call;
    // the kernel copies the program before returning and keeps no pointer.
    let ret = unsafe {
        syscall6(
            g::__NR_seccomp,
            [
                SECCOMP_SET_MODE_FILTER,
                flags as usize,
                &prog as *const SockFprog as usize,
                0,
                0,
                0,
            ],
        )
    };
    check(ret)
}

/// Whether the kernel knows the filter flag `flag`: `seccomp(SET_MODE_FILTER,
/// flag, NULL)` checks the flags before reading the program, so it fails with
/// `EFAULT` for a known flag and `EINVAL` for an unknown one; it installs
/// nothing either way.
pub fn seccomp_flag_known(flag: u32) -> bool {
    // SAFETY: a NULL program pointer is never dereferenced by us; the kernel
    // validates it (copy_from_user fails with EFAULT) after checking the flags.
    let ret = unsafe {
        syscall6(
            g::__NR_seccomp,
            [SECCOMP_SET_MODE_FILTER, flag as usize, 0, 0, 0, 0],
        )
    };
    check(ret) != Err(Errno::INVAL)
}

/// `SECCOMP_FILTER_FLAG_NEW_LISTENER` from <linux/seccomp.h>.
pub const SECCOMP_FILTER_FLAG_NEW_LISTENER: u32 = 8;

/// [`seccomp_set_mode_filter`] with `SECCOMP_FILTER_FLAG_NEW_LISTENER` added:
/// the filter's user-notification descriptor (close-on-exec, as the kernel
/// creates it). With TSYNC the caller must pass TSYNC_ESRCH too, so that the
/// result cannot be a thread id.
pub fn seccomp_set_mode_filter_listener(
    flags: u32,
    filter: &[SockFilter],
) -> Result<OwnedFd, Errno> {
    let fd = seccomp_set_mode_filter(flags | SECCOMP_FILTER_FLAG_NEW_LISTENER, filter)?;
    let fd = i32::try_from(fd).map_err(|_| Errno::INVAL)?;
    // SAFETY: with NEW_LISTENER (and without TSYNC, or with TSYNC_ESRCH) a
    // successful call returns a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
