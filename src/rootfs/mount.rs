//! Mount wrappers named by intent, and the table of system mounts every
//! container gets.

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
pub const MS_STRICTATIME: u64 = g::MS_STRICTATIME as u64;

/// nosuid, noexec, nodev: libcontainer's `defaultMountFlags`.
pub const DEFAULT_FLAGS: u64 = MS_NOSUID | MS_NOEXEC | MS_NODEV;

/// One of the mounts every container gets.
pub struct SystemMount {
    pub source: &'static str,
    pub target: &'static str,
    pub fstype: &'static str,
    pub flags: u64,
    pub data: &'static str,
}

/// proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys, in mount order.
pub const SYSTEM_MOUNTS: [SystemMount; 6] = [
    SystemMount {
        source: "proc",
        target: "/proc",
        fstype: "proc",
        flags: DEFAULT_FLAGS,
        data: "",
    },
    SystemMount {
        source: "tmpfs",
        target: "/dev",
        fstype: "tmpfs",
        flags: MS_NOSUID | MS_STRICTATIME,
        data: "mode=755,size=65536k",
    },
    SystemMount {
        source: "devpts",
        target: "/dev/pts",
        fstype: "devpts",
        flags: MS_NOSUID | MS_NOEXEC,
        data: "newinstance,ptmxmode=0666,mode=620,gid=5",
    },
    SystemMount {
        source: "shm",
        target: "/dev/shm",
        fstype: "tmpfs",
        flags: DEFAULT_FLAGS,
        data: "mode=1777,size=65536k",
    },
    SystemMount {
        source: "mqueue",
        target: "/dev/mqueue",
        fstype: "mqueue",
        flags: DEFAULT_FLAGS,
        data: "",
    },
    SystemMount {
        source: "sysfs",
        target: "/sys",
        fstype: "sysfs",
        flags: DEFAULT_FLAGS,
        data: "",
    },
];

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_mount_table_matches_libcontainer() {
        let targets: Vec<_> = SYSTEM_MOUNTS.iter().map(|m| m.target).collect();
        assert_eq!(
            targets,
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/dev/shm",
                "/dev/mqueue",
                "/sys"
            ]
        );
        assert_eq!(DEFAULT_FLAGS, 14);
        assert_eq!(SYSTEM_MOUNTS[1].flags, MS_NOSUID | MS_STRICTATIME);
        assert!(SYSTEM_MOUNTS[2].data.contains("newinstance"));
        assert!(SYSTEM_MOUNTS[2].data.contains("ptmxmode=0666"));
    }
}
