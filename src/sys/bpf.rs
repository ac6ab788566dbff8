//! The bpf(2) calls nsinit needs for the cgroup v2 device allow-list: load a
//! `BPF_PROG_TYPE_CGROUP_DEVICE` program and attach it to a cgroup directory.
//! The program itself is built (and explained) in `cgroup::bpf`.
//!
//! linux-raw-sys has no `bpf` module, so the few constants and the two
//! `union bpf_attr` layouts used here are spelled out from
//! `include/uapi/linux/bpf.h`. <https://man7.org/linux/man-pages/man2/bpf.2.html>
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use linux_raw_sys::general as g;
use rustix::io::Errno;

use super::raw::{check, syscall6};

/// `BPF_PROG_LOAD` command.
const BPF_PROG_LOAD: usize = 5;
/// `BPF_PROG_ATTACH` command.
const BPF_PROG_ATTACH: usize = 8;
/// `enum bpf_prog_type`: `BPF_PROG_TYPE_CGROUP_DEVICE`.
pub const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
/// `enum bpf_attach_type`: `BPF_CGROUP_DEVICE`.
pub const BPF_CGROUP_DEVICE: u32 = 6;

/// One eBPF instruction exactly as the kernel reads it (`struct bpf_insn`):
/// opcode, `dst_reg:4 | src_reg:4` (dst in the low nibble on little-endian
/// machines, the only ones nsinit builds for), 16-bit offset, 32-bit immediate.
pub type RawInsn = [u8; 8];

/// The `BPF_PROG_LOAD` member of `union bpf_attr`, up to `expected_attach_type`.
/// Later fields are left out; the kernel zero-fills a shorter attr.
#[repr(C, align(8))]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// The `BPF_PROG_ATTACH` member of `union bpf_attr`, up to `attach_flags`.
#[repr(C)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

fn bpf<T>(cmd: usize, attr: &mut T) -> Result<usize, Errno> {
    // SAFETY: `attr` is a live, properly aligned `union bpf_attr` prefix for
    // `cmd` (callers pass only the two repr(C) layouts above) whose size is
    // given exactly; every pointer stored inside it points to memory the
    // caller keeps alive for the duration of the call.
    let ret = unsafe {
        syscall6(
            g::__NR_bpf,
            [
                cmd,
                attr as *mut T as usize,
                std::mem::size_of::<T>(),
                0,
                0,
                0,
            ],
        )
    };
    check(ret)
}

/// `bpf(BPF_PROG_LOAD, {BPF_PROG_TYPE_CGROUP_DEVICE, insns, license, log})`:
/// verify and load a device-cgroup program; returns its descriptor (CLOEXEC,
/// as every bpf fd is).
///
/// When `log` is not empty the verifier writes its report there (NUL-terminated),
/// which is what to show the user when loading fails with `EACCES`/`EINVAL`.
pub fn load_cgroup_device_program(
    insns: &[RawInsn],
    license: &CStr,
    name: &str,
    log: &mut [u8],
) -> Result<OwnedFd, Errno> {
    let mut prog_name = [0u8; 16];
    for (dst, src) in prog_name.iter_mut().zip(name.bytes().take(15)) {
        *dst = src;
    }
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: u32::try_from(insns.len()).map_err(|_| Errno::TOOBIG)?,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: u32::from(!log.is_empty()),
        log_size: u32::try_from(log.len()).map_err(|_| Errno::TOOBIG)?,
        log_buf: if log.is_empty() {
            0
        } else {
            log.as_mut_ptr() as u64
        },
        kern_version: 0,
        prog_flags: 0,
        prog_name,
        prog_ifindex: 0,
        expected_attach_type: BPF_CGROUP_DEVICE,
    };
    let fd = bpf(BPF_PROG_LOAD, &mut attr)? as i32;
    // SAFETY: BPF_PROG_LOAD returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `bpf(BPF_PROG_ATTACH, {cgroup_dir_fd, prog_fd, BPF_CGROUP_DEVICE, 0})`:
/// attach a loaded device program to the cgroup open at `cgroup` (an
/// `O_DIRECTORY` descriptor). With flags 0 a descendant cannot override it.
/// The attachment keeps the program alive; its descriptor may be closed after.
pub fn attach_cgroup_device_program(
    cgroup: BorrowedFd<'_>,
    prog: BorrowedFd<'_>,
) -> Result<(), Errno> {
    let mut attr = ProgAttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: 0,
    };
    bpf(BPF_PROG_ATTACH, &mut attr).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_layouts_match_the_kernel_offsets() {
        // Offsets from include/uapi/linux/bpf.h (BPF_PROG_LOAD member).
        assert_eq!(std::mem::offset_of!(ProgLoadAttr, insns), 8);
        assert_eq!(std::mem::offset_of!(ProgLoadAttr, license), 16);
        assert_eq!(std::mem::offset_of!(ProgLoadAttr, log_buf), 32);
        assert_eq!(std::mem::offset_of!(ProgLoadAttr, prog_name), 48);
        assert_eq!(std::mem::offset_of!(ProgLoadAttr, expected_attach_type), 68);
        assert_eq!(std::mem::size_of::<ProgLoadAttr>(), 72);
        assert_eq!(std::mem::size_of::<ProgAttachAttr>(), 16);
    }
}
