//! What a container sees at a `cgroup` mount (`/sys/fs/cgroup`).
//!
//! With a cgroup namespace, a cgroup2 mount shows the container's own cgroup
//! as its root. Without one, a fresh cgroup2 mount would show the host's
//! whole tree (every other container's cgroups and the host's layout), so,
//! like runc, the container gets a tmpfs holding a read-only bind of its own
//! directory of each hierarchy (`memory`, `cpu,cpuacct`, `unified`, …), or on
//! a v2-only host its own directory bound at the mount point itself.

use std::os::fd::BorrowedFd;

use rustix::fs::{Mode, OFlags};

use super::mount::{
    MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REMOUNT, bind_mount, cstr, mount_fs,
    remount_readonly,
};
use super::paths::{self, fd_path};
use crate::cgroup::Layout;
use crate::error::{Context, Result};

const FLAGS: u64 = MS_NOSUID | MS_NODEV | MS_NOEXEC;

/// Mount the container's view of its cgroups at `dst` (inside `root`).
pub fn mount_own_cgroups(root: BorrowedFd<'_>, dst: &str, flags: u64) -> Result<()> {
    let layout = Layout::detect().ctx(|| format!("cgroup view on {dst}"))?;
    if layout.v1.is_empty()
        && let Some(u) = &layout.unified
    {
        let own = u.dir_of(&u.own).ctx(|| "cgroup view")?;
        let t = paths::create_target(root, dst, true)?;
        bind(&own.to_string_lossy(), &fd_path(&t), dst)?;
        let t = paths::open_in_root(root, dst).ctx(|| format!("open {dst}"))?;
        return remount_readonly(&fd_path(&t), FLAGS).ctx(|| format!("remount {dst} read-only"));
    }
    let t = paths::create_target(root, dst, true)?;
    mount_fs("tmpfs", &fd_path(&t), "tmpfs", FLAGS, "mode=755")
        .ctx(|| format!("mount tmpfs on {dst}"))?;
    let top = paths::open_in_root(root, dst).ctx(|| format!("open {dst}"))?;
    for h in layout.v1.iter().chain(&layout.unified) {
        let Some(name) = h.mount_point.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let own = h.dir_of(&h.own).ctx(|| "cgroup view")?;
        let shown = format!("{dst}/{name}");
        rustix::fs::mkdirat(&top, name, Mode::from_raw_mode(0o755))
            .ctx(|| format!("mkdir {shown}"))?;
        let sub = rustix::fs::openat(
            &top,
            name,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .ctx(|| format!("open {shown}"))?;
        bind(&own.to_string_lossy(), &fd_path(&sub), &shown)?;
        let sub = paths::open_in_root(root, &shown).ctx(|| format!("open {shown}"))?;
        remount_readonly(&fd_path(&sub), FLAGS).ctx(|| format!("remount {shown} read-only"))?;
    }
    if flags & MS_RDONLY != 0 {
        crate::sys::mount(
            None,
            &fd_path(&top),
            None,
            MS_REMOUNT | MS_RDONLY | FLAGS,
            Some(c"mode=755"),
        )
        .ctx(|| format!("remount {dst} read-only"))?;
    }
    Ok(())
}

fn bind(src: &str, target: &std::ffi::CStr, shown: &str) -> Result<()> {
    bind_mount(&cstr(src), target, false).ctx(|| format!("bind {src} on {shown}"))
}
