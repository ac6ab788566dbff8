//! Raw system calls for mounts: mount(2), umount2(2), mount_setattr(2).
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::os::fd::{AsFd, AsRawFd};

use linux_raw_sys::general as g;
use rustix::io::Errno;

use super::raw::{check, opt_ptr, syscall6};

/// `mount(source, target, fstype, flags, data)` with the kernel's raw `MS_*`
/// flags, so propagation, remount and bind bits can be combined as the mount
/// table says. <https://man7.org/linux/man-pages/man2/mount.2.html>
pub fn mount(
    source: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: u64,
    data: Option<&CStr>,
) -> Result<(), Errno> {
    // SAFETY: every pointer is NULL or a valid NUL-terminated string that
    // outlives the call; flags is a plain integer.
    let ret = unsafe {
        syscall6(
            g::__NR_mount,
            [
                opt_ptr(source),
                target.as_ptr() as usize,
                opt_ptr(fstype),
                flags as usize,
                opt_ptr(data),
                0,
            ],
        )
    };
    check(ret).map(|_| ())
}

/// `umount2(target, flags)`.
pub fn umount2(target: &CStr, flags: u32) -> Result<(), Errno> {
    // SAFETY: target is a valid C string; flags an integer.
    let ret = unsafe {
        syscall6(
            g::__NR_umount2,
            [target.as_ptr() as usize, flags as usize, 0, 0, 0, 0],
        )
    };
    check(ret).map(|_| ())
}

/// `mount_setattr(AT_FDCWD, target, AT_RECURSIVE, {attr_set, attr_clr})`:
/// `MOUNT_ATTR_*` bits set and cleared on the mount at `target` and every
/// mount below it (Linux 5.12; older kernels answer `ENOSYS`). Setting
/// read-only is allowed in a user namespace, clearing a locked flag is not.
/// <https://man7.org/linux/man-pages/man2/mount_setattr.2.html>
pub fn mount_setattr_recursive(target: &CStr, set: u64, clear: u64) -> Result<(), Errno> {
    let attr = g::mount_attr {
        attr_set: set,
        attr_clr: clear,
        propagation: 0,
        userns_fd: 0,
    };
    mount_setattr(g::AT_FDCWD, target, g::AT_RECURSIVE, &attr)
}

/// `mount_setattr(tree, "", AT_EMPTY_PATH [| AT_RECURSIVE],
/// {attr_set: MOUNT_ATTR_IDMAP, userns_fd})`: idmap the detached mount
/// `tree` (from `open_tree(OPEN_TREE_CLONE)`), and with `recursive` every
/// mount below it, as the user namespace `userns` maps ids (Linux 5.12).
/// `EINVAL` when a filesystem of the tree cannot be idmapped.
pub fn mount_setattr_idmap(
    tree: impl AsFd,
    userns: impl AsFd,
    recursive: bool,
) -> Result<(), Errno> {
    let attr = g::mount_attr {
        attr_set: u64::from(g::MOUNT_ATTR_IDMAP),
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_fd().as_raw_fd() as u64,
    };
    let rec = if recursive { g::AT_RECURSIVE } else { 0 };
    mount_setattr(tree.as_fd().as_raw_fd(), c"", g::AT_EMPTY_PATH | rec, &attr)
}

fn mount_setattr(dirfd: i32, path: &CStr, flags: u32, attr: &g::mount_attr) -> Result<(), Errno> {
    // SAFETY: path is a valid C string and `attr` a valid mount_attr that
    // outlives the call; its size is passed as the kernel expects. A bad
    // descriptor number is an error (EBADF), not undefined behaviour.
    let ret = unsafe {
        syscall6(
            g::__NR_mount_setattr,
            [
                dirfd as isize as usize,
                path.as_ptr() as usize,
                flags as usize,
                attr as *const g::mount_attr as usize,
                core::mem::size_of::<g::mount_attr>(),
                0,
            ],
        )
    };
    check(ret).map(|_| ())
}
