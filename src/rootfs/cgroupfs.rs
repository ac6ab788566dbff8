//! What a container sees at a `cgroup` mount (`/sys/fs/cgroup`).
//!
//! With a cgroup namespace, a cgroup2 mount shows the container's own cgroup
//! as its root. Without one, a fresh cgroup2 mount would show the host's
//! whole tree (every other container's cgroups and the host's layout), so,
//! like runc, the container gets a tmpfs holding a read-only bind of its own
//! directory of each hierarchy (`memory`, `cpu,cpuacct`, `unified`, …), or on
//! a v2-only host its own directory bound at the mount point itself.
//!
//! With a cgroup namespace on a host with v1 hierarchies, a single cgroup2
//! mount would leave out every v1 controller (no `memory/memory.limit_in_bytes`
//! to read): the container gets, as with runc, a tmpfs holding a fresh mount
//! of each hierarchy, whose root the namespace makes the container's cgroup.
//! Co-mounted controllers (`cpu,cpuacct`) get runc's links (`cpu`, `cpuacct`).

use std::os::fd::{BorrowedFd, OwnedFd};

use rustix::fs::{Mode, OFlags};

use super::mount::{
    MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REMOUNT, bind_mount, cstr, mount_fs,
    remount_readonly,
};
use super::paths::{self, fd_path};
use crate::cgroup::Layout;
use crate::cgroup::layout::parse_mount_line;
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
    // /proc/self/cgroup lists the hierarchies last mounted first: shown in
    // the host's mount order, as runc shows them.
    for h in layout.v1.iter().rev().chain(&layout.unified) {
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
        link_controllers(&top, name, dst)?;
    }
    finish_tmpfs(&top, dst, flags)
}

/// The cgroup view inside a cgroup namespace on a host with v1 hierarchies
/// (see the module doc); `false` on a v2-only host, where the caller's
/// cgroup2 mount is the whole view.
pub fn mount_ns_cgroups(root: BorrowedFd<'_>, dst: &str, flags: u64) -> Result<bool> {
    let mountinfo = crate::cgroup::layout::read_proc("/proc/self/mountinfo")?;
    let own = crate::cgroup::layout::read_proc("/proc/self/cgroup")?;
    let shown = hierarchies(&mountinfo, &own);
    if !shown.iter().any(|h| h.fstype == "cgroup") {
        return Ok(false);
    }
    let t = paths::create_target(root, dst, true)?;
    mount_fs("tmpfs", &fd_path(&t), "tmpfs", FLAGS, "mode=755")
        .ctx(|| format!("mount tmpfs on {dst}"))?;
    let top = paths::open_in_root(root, dst).ctx(|| format!("open {dst}"))?;
    for h in &shown {
        let at = format!("{dst}/{}", h.name);
        rustix::fs::mkdirat(&top, h.name.as_str(), Mode::from_raw_mode(0o755))
            .ctx(|| format!("mkdir {at}"))?;
        let sub = rustix::fs::openat(
            &top,
            h.name.as_str(),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ctx(|| format!("open {at}"))?;
        let source = h.data.strip_prefix("name=").unwrap_or(&h.fstype);
        mount_fs(
            source,
            &fd_path(&sub),
            &h.fstype,
            FLAGS | (flags & MS_RDONLY),
            &h.data,
        )
        .ctx(|| format!("mount {} {} on {at}", h.fstype, h.data))?;
        link_controllers(&top, &h.name, dst)?;
    }
    finish_tmpfs(&top, dst, flags)?;
    Ok(true)
}

/// One hierarchy as the container sees it: `name` under the mount point,
/// mounted as `fstype` (`cgroup` or `cgroup2`) with `data` (its
/// controllers, `name=systemd`; empty for cgroup2).
#[derive(Debug, PartialEq, Eq)]
pub struct Shown {
    pub name: String,
    pub fstype: String,
    pub data: String,
}

/// The hierarchies the caller belongs to (`/proc/self/cgroup`), each named
/// after where the host mounts it (`memory`, `cpu,cpuacct`, `unified`), in
/// the host's mount order.
pub fn hierarchies(mountinfo: &str, proc_cgroup: &str) -> Vec<Shown> {
    let mut lists: Vec<&str> = proc_cgroup
        .lines()
        .filter_map(|l| l.split(':').nth(1))
        .collect();
    let mut shown = Vec::new();
    for m in mountinfo.lines().filter_map(parse_mount_line) {
        let Some(name) = m.mount_point.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let has = |list: &&str| match m.fstype.as_str() {
            "cgroup2" => list.is_empty(),
            "cgroup" => {
                !list.is_empty() && list.split(',').all(|c| m.options.iter().any(|o| o == c))
            }
            _ => false,
        };
        if let Some(i) = lists.iter().position(has) {
            let list = lists.remove(i);
            shown.push(Shown {
                name: name.to_string(),
                fstype: m.fstype.clone(),
                data: list.to_string(),
            });
        }
    }
    shown
}

/// runc's links for co-mounted controllers: `cpu` and `cpuacct` to
/// `cpu,cpuacct`.
fn link_controllers(top: &OwnedFd, name: &str, dst: &str) -> Result<()> {
    if !name.contains(',') {
        return Ok(());
    }
    for part in name
        .split(',')
        .filter(|p| !p.is_empty() && !p.contains('='))
    {
        match rustix::fs::symlinkat(name, top, part) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(e).ctx(|| format!("symlink {dst}/{part} -> {name}")),
        }
    }
    Ok(())
}

/// The tmpfs holding the view, read-only when the mount asks for it.
fn finish_tmpfs(top: &OwnedFd, dst: &str, flags: u64) -> Result<()> {
    if flags & MS_RDONLY != 0 {
        crate::sys::mount(
            None,
            &fd_path(top),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[Shown]) -> Vec<(&str, &str, &str)> {
        v.iter()
            .map(|h| (h.name.as_str(), h.fstype.as_str(), h.data.as_str()))
            .collect()
    }

    #[test]
    fn hybrid_host_in_mount_order_with_comounted_and_named_hierarchies() {
        let mountinfo = "\
24 1 0:22 / /sys rw - sysfs sysfs rw
30 24 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
31 30 0:27 /.. /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate
32 30 0:28 /.. /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
35 30 0:31 /.. /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
36 30 0:32 /.. /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
90 1 0:32 /.. /elsewhere/memory rw - cgroup cgroup rw,memory
";
        let own = "4:memory:/\n3:cpu,cpuacct:/\n1:name=systemd:/\n0::/\n";
        assert_eq!(
            names(&hierarchies(mountinfo, own)),
            [
                ("unified", "cgroup2", ""),
                ("systemd", "cgroup", "name=systemd"),
                ("cpu,cpuacct", "cgroup", "cpu,cpuacct"),
                ("memory", "cgroup", "memory"),
            ]
        );
    }

    #[test]
    fn v2_only_host_has_no_v1_hierarchy() {
        let mountinfo = "30 24 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(
            names(&hierarchies(mountinfo, "0::/\n")),
            [("cgroup", "cgroup2", "")]
        );
    }
}
