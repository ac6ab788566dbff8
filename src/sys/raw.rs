//! Raw system calls, written with `core::arch::asm!` and numbered from
//! linux-raw-sys. Each wrapper is small, documented with its C prototype, and each
//! `unsafe` block carries its safety argument. The wrappers live by concept in
//! the sibling modules (process, signal, mount, sched, seccomp) and are
//! re-exported here, so `sys::raw::…` names every one.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::os::fd::{AsFd, AsRawFd};

use linux_raw_sys::general as g;
use rustix::io::Errno;

/// Issue a raw syscall with up to six arguments; returns the kernel's result
/// (negative errno on failure).
///
/// # Safety
/// The caller must pass arguments that are valid for syscall `nr`: pointers must
/// point to memory of the size and lifetime the kernel expects.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) unsafe fn syscall6(nr: u32, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the x86_64 syscall ABI: number in rax, args in rdi, rsi, rdx, r10,
    // r8, r9; rcx and r11 are clobbered. Argument validity is the caller's duty.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a[0], in("rsi") a[1], in("rdx") a[2],
            in("r10") a[3], in("r8") a[4], in("r9") a[5],
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// Issue a raw syscall with up to six arguments (aarch64).
///
/// # Safety
/// As for the x86_64 variant.
#[cfg(target_arch = "aarch64")]
#[inline(always)]
pub(super) unsafe fn syscall6(nr: u32, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the aarch64 syscall ABI: number in x8, args in x0..x5, result in x0.
    unsafe {
        core::arch::asm!(
            "svc 0",
            in("x8") nr as usize,
            inlateout("x0") a[0] as isize => ret,
            in("x1") a[1], in("x2") a[2], in("x3") a[3], in("x4") a[4], in("x5") a[5],
            options(nostack),
        );
    }
    ret
}

pub(super) fn check(ret: isize) -> Result<usize, Errno> {
    if (-4095..0).contains(&ret) {
        Err(Errno::from_raw_os_error(-ret as i32))
    } else {
        Ok(ret as usize)
    }
}

pub use super::mount::*;
pub use super::process::*;
pub use super::sched::*;
pub use super::seccomp::*;
pub use super::signal::*;

/// Raw descriptor number, for building `/proc/self/fd/N` paths.
pub fn fd_number(fd: impl AsFd) -> i32 {
    fd.as_fd().as_raw_fd()
}

pub(super) fn opt_ptr(s: Option<&CStr>) -> usize {
    s.map_or(0, |s| s.as_ptr() as usize)
}

/// `setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &1, 4)`: ask the kernel to
/// explain netlink errors (rustix has no public generic setsockopt).
/// <https://man7.org/linux/man-pages/man7/netlink.7.html>
pub fn set_netlink_ext_ack(fd: impl AsFd) -> Result<(), Errno> {
    use linux_raw_sys::{net::SOL_NETLINK, netlink::NETLINK_EXT_ACK};
    let on: u32 = 1;
    let fd = fd.as_fd().as_raw_fd() as usize;
    let args = [
        fd,
        SOL_NETLINK as usize,
        NETLINK_EXT_ACK as usize,
        &on as *const u32 as usize,
    ];
    // SAFETY: `on` is a valid 4-byte int that outlives the call and the length
    // argument (4) matches it; `fd` is borrowed for the duration of the call.
    check(unsafe {
        syscall6(
            g::__NR_setsockopt,
            [args[0], args[1], args[2], args[3], 4, 0],
        )
    })
    .map(|_| ())
}
