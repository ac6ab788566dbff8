//! /dev: device nodes, the standard symlinks, /dev/ptmx and /dev/console.

use std::os::fd::BorrowedFd;

use rustix::fs::{AtFlags, FileType, Mode};
use rustix::io::Errno;

use super::mount::{bind_mount, cstr};
use super::paths::{create_target, fd_path, mkdir_all_in_root, open_in_root, split_parent};
use crate::config::{Device, DeviceKind};
use crate::console::{Pty, open_pty};
use crate::error::{Context, Error, Result};

/// Create the configured device nodes (mknod, then chown). In a user
/// namespace mknod is not allowed, so the host's node is bind-mounted instead.
pub fn create_device_nodes(root: BorrowedFd<'_>, devices: &[Device], userns: bool) -> Result<()> {
    let old = rustix::process::umask(Mode::empty());
    let r = devices
        .iter()
        .try_for_each(|d| create_device_node(root, d, userns));
    rustix::process::umask(old);
    r
}

fn create_device_node(root: BorrowedFd<'_>, dev: &Device, userns: bool) -> Result<()> {
    let Some(path) = dev.path.as_deref() else {
        return Ok(());
    };
    if userns {
        let fd = create_target(root, path, false)?;
        return bind_mount(&cstr(path), &fd_path(&fd), false).ctx(|| format!("bind device {path}"));
    }
    let (parent, name) = split_parent(path);
    let pfd = mkdir_all_in_root(root, parent)?;
    let kind = match dev.kind {
        DeviceKind::Block => FileType::BlockDevice,
        DeviceKind::Fifo => FileType::Fifo,
        _ => FileType::CharacterDevice,
    };
    let rdev = rustix::fs::makedev(dev.major.unwrap_or(0), dev.minor.unwrap_or(0));
    match rustix::fs::mknodat(
        &pfd,
        name,
        kind,
        Mode::from_raw_mode(dev.file_mode & 0o7777),
        rdev,
    ) {
        Ok(()) | Err(Errno::EXIST) => {}
        Err(e) => return Err(e).ctx(|| format!("mknod {path}")),
    }
    rustix::fs::chownat(
        &pfd,
        name,
        Some(rustix::fs::Uid::from_raw(dev.uid)),
        Some(rustix::fs::Gid::from_raw(dev.gid)),
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .ctx(|| format!("chown {path}"))
}

/// `/dev/ptmx → pts/ptmx`, `/dev/fd → /proc/self/fd`, stdin/stdout/stderr.
pub fn create_dev_links(root: BorrowedFd<'_>) -> Result<()> {
    let dev = mkdir_all_in_root(root, "/dev")?;
    let _ = rustix::fs::unlinkat(&dev, "ptmx", AtFlags::empty());
    let links = [
        ("pts/ptmx", "ptmx"),
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
    ];
    for (target, name) in links {
        match rustix::fs::symlinkat(target, &dev, name) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(e).ctx(|| format!("symlink /dev/{name} -> {target}")),
        }
    }
    Ok(())
}

/// The container's terminal: a pty of its own devpts (`/dev/ptmx` →
/// `pts/ptmx`, resolved inside the root), the slave bound on `/dev/console`
/// (as runc and crun). Opened before the root switch, through the host's
/// /proc; the slave's name is computed when asked, so inside it reads
/// `/dev/pts/N`.
pub fn open_console(root: BorrowedFd<'_>) -> Result<Pty> {
    let ptmx = open_in_root(root, "/dev/ptmx")
        .ctx(|| "open /dev/ptmx in the rootfs (a terminal needs a devpts mount on /dev/pts)")?;
    let pty = open_pty(&fd_path(&ptmx))?;
    let slave = pty
        .slave
        .as_ref()
        .ok_or_else(|| Error::new("pty without a slave"))?;
    let fd = create_target(root, "/dev/console", false)?;
    bind_mount(&fd_path(slave), &fd_path(&fd), false).ctx(|| "bind the pty on /dev/console")?;
    Ok(pty)
}
