//! `tmpcopyup`: a tmpfs mounted over a directory of the rootfs starts with a
//! copy of that directory (podman's `--read-only` puts one on /run, /tmp and
//! /var/tmp so the image's files stay visible and writable).
//!
//! The directory is opened before the mount covers it, and the copy walks it
//! through descriptors only: every name is taken relative to an opened
//! directory, without following a link, so a symlink in the rootfs copies as
//! a symlink and never leads the walk out of it.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::error::{Context, Result};

/// How deep a tree is copied; deeper is an error, not a stack overflow.
const MAX_DEPTH: usize = 64;

/// Open the directory at `target` (an `/proc/self/fd/N` path resolved
/// inside the root) for reading, before something is mounted over it.
/// `None` when there is nothing to copy (it is not a directory).
pub fn open_source(target: &std::ffi::CStr) -> Result<Option<OwnedFd>, Errno> {
    match rustix::fs::open(
        target,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::NOTDIR) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Copy what `from` holds into `to` (the fresh tmpfs): directories, files,
/// symlinks and device nodes, with their modes and owners. `dst` names the
/// mount in errors.
pub fn copy_tree(from: BorrowedFd<'_>, to: BorrowedFd<'_>, dst: &str) -> Result<()> {
    copy_dir(from, to, 0).ctx(|| format!("tmpcopyup {dst}"))
}

fn copy_dir(from: BorrowedFd<'_>, to: BorrowedFd<'_>, depth: usize) -> Result<(), Errno> {
    if depth > MAX_DEPTH {
        return Err(Errno::LOOP);
    }
    let mut dir = rustix::fs::Dir::read_from(from)?;
    while let Some(entry) = dir.read() {
        let entry = entry?;
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        let st = rustix::fs::statat(from, name, AtFlags::SYMLINK_NOFOLLOW)?;
        let kind = FileType::from_raw_mode(st.st_mode);
        let mode = Mode::from_raw_mode(st.st_mode & 0o7777);
        let nofollow = OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match kind {
            FileType::Directory => {
                rustix::fs::mkdirat(to, name, Mode::from_raw_mode(0o700))?;
                let sub_from = rustix::fs::openat(
                    from,
                    name,
                    OFlags::RDONLY | OFlags::DIRECTORY | nofollow,
                    Mode::empty(),
                )?;
                let sub_to = rustix::fs::openat(
                    to,
                    name,
                    OFlags::PATH | OFlags::DIRECTORY | nofollow,
                    Mode::empty(),
                )?;
                copy_dir(sub_from.as_fd(), sub_to.as_fd(), depth + 1)?;
            }
            FileType::RegularFile => {
                let src = rustix::fs::openat(
                    from,
                    name,
                    OFlags::RDONLY | OFlags::NONBLOCK | nofollow,
                    Mode::empty(),
                )?;
                // Still the regular file stat saw, not something swapped in.
                let now = rustix::fs::fstat(&src)?;
                if FileType::from_raw_mode(now.st_mode) != FileType::RegularFile {
                    return Err(Errno::INVAL);
                }
                let out = rustix::fs::openat(
                    to,
                    name,
                    OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | nofollow,
                    Mode::from_raw_mode(0o600),
                )?;
                while rustix::fs::sendfile(&out, &src, None, 1 << 20)? > 0 {}
            }
            FileType::Symlink => {
                let target = rustix::fs::readlinkat(from, name, Vec::new())?;
                rustix::fs::symlinkat(&target, to, name)?;
            }
            FileType::Fifo => rustix::fs::mknodat(to, name, kind, mode, 0)?,
            FileType::CharacterDevice | FileType::BlockDevice => {
                match rustix::fs::mknodat(to, name, kind, mode, st.st_rdev) {
                    Ok(()) => {}
                    // In a user namespace: no device nodes (nor could one
                    // be opened on its nodev mounts); skipped.
                    Err(Errno::PERM) => continue,
                    Err(e) => return Err(e),
                }
            }
            // A socket is bound by a running program; nothing to copy.
            _ => continue,
        }
        // Owner first: chown clears the set-id bits the mode then restores.
        // An owner the user namespace does not map stays the container's root.
        match rustix::fs::chownat(
            to,
            name,
            Some(rustix::fs::Uid::from_raw(st.st_uid)),
            Some(rustix::fs::Gid::from_raw(st.st_gid)),
            AtFlags::SYMLINK_NOFOLLOW,
        ) {
            Ok(()) | Err(Errno::INVAL) => {}
            Err(e) => return Err(e),
        }
        if kind != FileType::Symlink {
            rustix::fs::chmodat(to, name, mode, AtFlags::empty())?;
        }
    }
    Ok(())
}
