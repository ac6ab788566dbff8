//! Mount wrappers named by intent.

use std::ffi::{CStr, CString};

use linux_raw_sys::general as g;
use rustix::io::Errno;

use crate::error::{Context, Result};
use crate::sys;

pub const MS_RDONLY: u64 = g::MS_RDONLY as u64;
pub const MS_NOSUID: u64 = g::MS_NOSUID as u64;
pub const MS_NODEV: u64 = g::MS_NODEV as u64;
pub const MS_NOEXEC: u64 = g::MS_NOEXEC as u64;
pub const MS_REMOUNT: u64 = g::MS_REMOUNT as u64;
pub const MS_BIND: u64 = g::MS_BIND as u64;
pub const MS_MOVE: u64 = g::MS_MOVE as u64;
pub const MS_REC: u64 = g::MS_REC as u64;
pub const MS_PRIVATE: u64 = g::MS_PRIVATE as u64;
pub const MS_SLAVE: u64 = g::MS_SLAVE as u64;
pub const MS_SHARED: u64 = g::MS_SHARED as u64;

pub use crate::config::mounts::DEFAULT_FLAGS;

pub fn cstr(s: &str) -> CString {
    CString::new(s).unwrap_or_default()
}

/// Mount a filesystem (`mount -t fstype source target -o data`).
pub fn mount_fs(
    source: &str,
    target: &CStr,
    fstype: &str,
    flags: u64,
    data: &str,
) -> Result<(), Errno> {
    let data = (!data.is_empty()).then(|| cstr(data));
    sys::mount(
        Some(&cstr(source)),
        target,
        Some(&cstr(fstype)),
        flags,
        data.as_deref(),
    )
}

/// Bind-mount `source` on `target` (recursively when `rec`).
pub fn bind_mount(source: &CStr, target: &CStr, rec: bool) -> Result<(), Errno> {
    let flags = MS_BIND | if rec { MS_REC } else { 0 };
    sys::mount(Some(source), target, None, flags, None)
}

/// Remount a bind mount read-only, keeping `extra` flags (nosuid…).
///
/// In a user namespace the kernel refuses to drop flags that are locked on
/// the mount, so on EPERM retry with the mount's current flags added.
pub fn remount_readonly(target: &CStr, extra: u64) -> Result<(), Errno> {
    let flags = MS_BIND | MS_REMOUNT | MS_RDONLY | extra;
    match sys::mount(None, target, None, flags, None) {
        Err(Errno::PERM) => {
            let current = rustix::fs::statvfs(target)
                .map(|s| s.f_flag.bits())
                .unwrap_or(0);
            let locked = current & (MS_NOSUID | MS_NODEV | MS_NOEXEC | g::MS_NOATIME as u64);
            sys::mount(None, target, None, flags | locked, None)
        }
        r => r,
    }
}

/// Remount a bind mount with `flags` (read-only, nosuid…): the same
/// locked-flags retry as [`remount_readonly`].
pub fn remount_bind(target: &CStr, flags: u64) -> Result<(), Errno> {
    if flags & MS_RDONLY != 0 {
        return remount_readonly(target, flags & !MS_RDONLY);
    }
    sys::mount(None, target, None, MS_BIND | MS_REMOUNT | flags, None)
}

/// Change a mount's propagation (`MS_PRIVATE`, `MS_SLAVE`, with `MS_REC`).
pub fn set_propagation(target: &CStr, flags: u64) -> Result<(), Errno> {
    sys::mount(None, target, None, flags, None)
}

/// `umount2(target, MNT_DETACH)`.
pub fn detach(target: &CStr) -> Result<(), Errno> {
    sys::umount2(target, g::MNT_DETACH)
}

/// Move a mount (`MS_MOVE`).
pub fn move_mount(source: &CStr, target: &CStr) -> Result<()> {
    sys::mount(Some(source), target, None, MS_MOVE, None).ctx(|| {
        format!(
            "move mount {} to {}",
            source.to_string_lossy(),
            target.to_string_lossy()
        )
    })
}
