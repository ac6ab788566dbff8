//! The container's filesystem: propagation, the rootfs bind, system mounts,
//! configured mounts, device nodes, /dev links, the console, the root switch,
//! and afterwards the read-only and masked paths.
//!
//! Everything runs in the cloned child, in its own mount namespace, before
//! the user command. Paths from the config are resolved inside the rootfs
//! (see `paths`), so a symlink in the rootfs cannot redirect a mount or mknod
//! onto the host.

pub mod cgroupfs;
pub mod copyup;
pub mod dev;
pub mod mount;
pub mod paths;
pub mod sysctl;

use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;
use rustix::mount::MoveMountFlags;

use crate::config::mount_options::{ATTR_NODEV, ATTR_NOEXEC, ATTR_NOSUID, ATTR_RDONLY, RecAttr};
use crate::config::{Config, Mount, Ns};
use crate::console::Pty;
use crate::error::{Context, Error, Result};
use mount::{
    DEFAULT_FLAGS, MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC,
    MS_SLAVE, bind_mount, cstr, detach, mount_fs, remount_bind, remount_readonly, set_propagation,
};
use paths::{create_target, fd_path};

/// Build the container's root filesystem and switch into it.
///
/// With `console`, the container's terminal is opened in its devpts and
/// bound on `/dev/console`, and returned (see [`dev::open_console`]);
/// `before_switch` runs once the mounts are made, before the root switch
/// (the OCI hooks of create). `idmapped`: the detached idmapped mounts the
/// parent made, one per mount with `idmap`, in mount order.
pub fn prepare_rootfs(
    cfg: &Config,
    console: bool,
    idmapped: Vec<OwnedFd>,
    before_switch: impl FnOnce() -> Result<()>,
) -> Result<Option<Pty>> {
    let rootfs = cstr(&cfg.rootfs.to_string_lossy());
    if !own_mount_ns(cfg) {
        // No mount namespace (OCI, as runc and crun do it): the mounts go
        // into the host's tree under the rootfs, resolved inside it, and
        // are unmounted at teardown ([`unmount_host_mounts`]).
        if !cfg.mount.mounts.is_empty() || !cfg.mount.device_nodes.is_empty() {
            let root = rustix::fs::open(
                rootfs.as_c_str(),
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .ctx(|| format!("open rootfs {}", cfg.rootfs.display()))?;
            mount_all(root.as_fd(), cfg, &mut idmapped.into_iter())?;
            dev::create_device_nodes(root.as_fd(), &cfg.mount.device_nodes, false)?;
        }
        before_switch()?;
        rustix::process::chroot(rootfs.as_c_str())
            .ctx(|| format!("chroot {}", cfg.rootfs.display()))?;
        rustix::process::chdir("/").ctx(|| "chdir /")?;
        return Ok(None);
    }
    // Why first, and recursive: mounts made below must not propagate back
    // to the host, and pivot_root refuses a shared parent. A slave root
    // (runc's default, or configured) still receives the host's mounts. A
    // shared one stays the host's peer, as in runc: a bind with `rshared`
    // then propagates both ways (Kubernetes' Bidirectional), and only the
    // mount holding the rootfs is made private. The configured propagation
    // itself is applied after the root switch.
    let configured = cfg.mount.rootfs_propagation;
    let shared = configured & mount::MS_SHARED != 0;
    let slave = configured & MS_SLAVE != 0
        || (configured == 0 && (cfg.mount.slave_by_default || cfg.mount.no_pivot_root));
    let propagation = match (shared, slave) {
        (true, _) => configured,
        (false, true) => MS_SLAVE | MS_REC,
        (false, false) => MS_PRIVATE | MS_REC,
    };
    set_propagation(c"/", propagation).ctx(|| "set the propagation of /")?;
    if shared {
        make_parent_private(&rootfs)?;
    }
    // pivot_root needs the new root to be a mount point.
    bind_mount(&rootfs, &rootfs, true)
        .ctx(|| format!("bind {} on itself", cfg.rootfs.display()))?;
    let root = rustix::fs::open(
        rootfs.as_c_str(),
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| format!("open rootfs {}", cfg.rootfs.display()))?;
    let root = root.as_fd();
    mount_all(root, cfg, &mut idmapped.into_iter())?;
    dev::create_device_nodes(
        root,
        &cfg.mount.device_nodes,
        cfg.namespaces.contains(Ns::User),
    )?;
    dev::create_dev_links(root)?;
    let pty = console.then(|| dev::open_console(root)).transpose()?;
    before_switch()?;
    switch_root(root, cfg)?;
    if cfg.mount.readonly_fs {
        remount_readonly(c"/", 0).ctx(|| "remount / read-only")?;
    }
    reopen_dev_null(root);
    rustix::process::umask(Mode::from_raw_mode(0o022));
    Ok(pty)
}

/// Without a mount namespace, the destinations of the mounts made in the
/// host's tree (for the record, and teardown); none otherwise.
pub fn host_mounts(cfg: &Config) -> Vec<String> {
    if own_mount_ns(cfg) {
        return Vec::new();
    }
    cfg.mount
        .mounts
        .iter()
        .map(|m| m.destination.clone())
        .collect()
}

/// Detach what [`host_mounts`] listed, last first (a mount made below
/// another goes before it). Each destination is resolved inside `rootfs`
/// without following a link (the container may have replaced anything it
/// could write), and only a mount sitting on it is detached: a destination
/// a failed start never mounted is a plain directory, left alone.
pub fn unmount_host_mounts(rootfs: &std::path::Path, dests: &[String], ids: &[u64]) -> Result<()> {
    if dests.is_empty() && ids.is_empty() {
        return Ok(());
    }
    let root = rustix::fs::open(
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| format!("open rootfs {}", rootfs.display()))?;
    let resolve = rustix::fs::ResolveFlags::IN_ROOT | rustix::fs::ResolveFlags::NO_SYMLINKS;
    for dst in dests.iter().rev() {
        let rel = dst.trim_start_matches('/');
        // Stacked mounts (the container's own included) come off one by one.
        for _ in 0..16 {
            let Ok(fd) = paths::openat2_retry(
                &root,
                if rel.is_empty() { "." } else { rel },
                OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
                resolve,
            ) else {
                break;
            };
            if !is_mount_root(&fd) {
                break;
            }
            detach(&fd_path(&fd)).ctx(|| format!("unmount {} in {}", dst, rootfs.display()))?;
        }
    }
    unmount_moved(rootfs, &root, ids)
}

/// Detach the mounts of `ids` still under `rootfs`, wherever the container
/// moved them (a directory above a mount renamed): their place is read from
/// mountinfo, resolved inside the rootfs without following a link, and a
/// mount is detached only when the id of what sits there is its own.
fn unmount_moved(rootfs: &std::path::Path, root: &OwnedFd, ids: &[u64]) -> Result<()> {
    let resolve = rustix::fs::ResolveFlags::IN_ROOT | rustix::fs::ResolveFlags::NO_SYMLINKS;
    // Each pass detaches every mount on top (a lazy detach takes the mounts
    // below it along); one it covered comes up in the next.
    let mut passes = 0;
    loop {
        let left: Vec<_> = mounts_below(rootfs)?
            .into_iter()
            .filter(|(id, _)| ids.contains(id))
            .collect();
        let Some((_, first)) = left.first() else {
            return Ok(());
        };
        let mut detached = false;
        for (id, at) in &left {
            let rel = at.strip_prefix(rootfs).unwrap_or(at);
            let Ok(fd) = paths::openat2_retry(
                root,
                rel,
                OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
                resolve,
            ) else {
                continue;
            };
            if mount_id_at(&fd, "") == Some(*id) && is_mount_root(&fd) {
                detach(&fd_path(&fd)).ctx(|| format!("unmount {} (mount {id})", at.display()))?;
                detached = true;
            }
        }
        passes += 1;
        if !detached || passes == 16 {
            return Err(Error::new(format!(
                "{} mount(s) of the container left under {}, first {}: a link or another \
                 mount sits on the path to them",
                left.len(),
                rootfs.display(),
                first.display()
            )));
        }
    }
}

/// The mounts strictly below `rootfs` in our mount namespace: (mount id,
/// mount point), from `/proc/self/mountinfo`.
pub fn mounts_below(rootfs: &std::path::Path) -> Result<Vec<(u64, std::path::PathBuf)>> {
    use crate::cgroup::layout::{parse_mount_line, read_proc};
    Ok(read_proc("/proc/self/mountinfo")?
        .lines()
        .filter_map(parse_mount_line)
        .filter(|m| m.mount_point != rootfs && m.mount_point.starts_with(rootfs))
        .map(|m| (m.id, m.mount_point))
        .collect())
}

/// The mount id (as in mountinfo) of `path` under `fd` (`""`: `fd` itself),
/// not following a link.
fn mount_id_at(fd: &OwnedFd, path: &str) -> Option<u64> {
    use rustix::fs::{AtFlags, StatxFlags, statx};
    let flags = if path.is_empty() {
        AtFlags::EMPTY_PATH
    } else {
        AtFlags::SYMLINK_NOFOLLOW
    };
    statx(fd, path, flags, StatxFlags::MNT_ID)
        .ok()
        .map(|s| s.stx_mnt_id)
}

/// Make the mount holding `rootfs` (the rootfs itself when it is a mount
/// point) private in the container's namespace, as runc's
/// `rootfsParentMountPrivate`: pivot_root refuses a shared parent, and the
/// rootfs bound on itself there would show up on the host.
fn make_parent_private(rootfs: &CStr) -> Result<()> {
    let dir = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let mut fd = rustix::fs::open(rootfs, dir, Mode::empty())
        .ctx(|| format!("open rootfs {}", rootfs.to_string_lossy()))?;
    // Up through `..` to the root of its mount (or to `/`).
    for _ in 0..4096 {
        let up = rustix::fs::openat(&fd, c"..", dir | OFlags::NOFOLLOW, Mode::empty())
            .ctx(|| "open the rootfs's parent")?;
        let id = |fd: &OwnedFd| rustix::fs::fstat(fd).map(|st| (st.st_dev, st.st_ino));
        if is_mount_root(&fd) || id(&fd).ok() == id(&up).ok() {
            break;
        }
        fd = up;
    }
    set_propagation(&fd_path(&fd), MS_PRIVATE)
        .ctx(|| format!("make the mount of {} private", rootfs.to_string_lossy()))
}

/// Whether `fd` is the root of a mount: its mount differs from that of `..`.
fn is_mount_root(fd: &OwnedFd) -> bool {
    match (mount_id_at(fd, ""), mount_id_at(fd, "..")) {
        (Some(a), Some(b)) => a != b,
        _ => false,
    }
}

/// The container has a mount namespace: a new one, or one joined by path
/// (then the rootfs is set up in it, as runc and crun do). Without one, its
/// terminal is a pty of the host's.
pub fn own_mount_ns(cfg: &Config) -> bool {
    cfg.namespaces.contains(Ns::Mnt) || cfg.ns_paths.iter().any(|(ns, _)| *ns == Ns::Mnt)
}

/// Mount one target resolved inside the root: `what` names it in errors.
fn mount_in_root(
    root: BorrowedFd<'_>,
    target: &str,
    dir: bool,
    f: impl FnOnce(&CStr) -> Result<(), Errno>,
    what: &str,
) -> Result<OwnedFd> {
    let fd = create_target(root, target, dir)?;
    f(&fd_path(&fd)).ctx(|| format!("{what} on {target}"))?;
    Ok(fd)
}

/// The configured mounts, in order (for the 2014 schema the system mounts
/// come first in the list), each resolved inside the root.
fn mount_all(
    root: BorrowedFd<'_>,
    cfg: &Config,
    idmapped: &mut std::vec::IntoIter<OwnedFd>,
) -> Result<()> {
    let has = |ns: Ns| cfg.namespaces.contains(ns) || cfg.ns_paths.iter().any(|(n, _)| *n == ns);
    let userns = has(Ns::User);
    let cgroupns = has(Ns::Cgroup);
    for m in &cfg.mount.mounts {
        let dst = m.destination.as_str();
        let host_sys = std::cell::Cell::new(false);
        if m.is_bind() {
            let src = m.source.as_deref().unwrap_or(std::path::Path::new(""));
            let meta =
                std::fs::metadata(src).ctx(|| format!("bind mount source {}", src.display()))?;
            let src_c = cstr(&src.to_string_lossy());
            let what = format!("bind {}", src.display());
            let rec = m.flags & MS_REC != 0;
            // An idmapped one was cloned from `src` (`container::idmap`): attach it.
            let tree = match m.idmap {
                Some(_) => Some(idmapped.next().ok_or(Errno::BADF).ctx(|| what.clone())?),
                None => None,
            };
            let flags =
                MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_SYMLINKS;
            mount_in_root(
                root,
                dst,
                meta.is_dir(),
                |t| match &tree {
                    Some(tree) => rustix::mount::move_mount(tree, c"", rustix::fs::CWD, t, flags),
                    None => bind_mount(&src_c, t, rec),
                },
                &what,
            )?;
        } else if m.fstype == "cgroup" && (!cgroupns || userns) {
            // A fresh cgroup2 mount without a cgroup namespace shows the
            // host's whole tree (and a user namespace may not mount it).
            cgroupfs::mount_own_cgroups(root, dst, m.flags)?;
        } else if m.fstype == "cgroup" && cgroupfs::mount_ns_cgroups(root, dst, m.flags)? {
            // v1 hierarchies, each showing the namespace's root.
        } else {
            let what = format!("mount {}", m.fstype);
            // tmpcopyup: what the tmpfs covers, opened before it does.
            let mut below = None;
            let mount = |t: &CStr| {
                if m.copy_up {
                    below = copyup::open_source(t)?;
                }
                mount_filesystem(m, t, userns, &cfg.gid_mappings, &host_sys)
            };
            mount_in_root(root, dst, true, mount, &what)?;
            if let Some(from) = below {
                let top = paths::open_in_root(root, dst).ctx(|| format!("open {dst}"))?;
                copyup::copy_tree(from.as_fd(), top.as_fd(), dst)?;
            }
        }
        let extra = m.flags & !(MS_BIND | MS_REC);
        if m.is_bind() && extra != 0 {
            // The descriptor names what is under the bind: reopen the path.
            let fd = paths::open_in_root(root, dst).ctx(|| format!("open {dst}"))?;
            remount_bind(&fd_path(&fd), extra).ctx(|| format!("remount {dst}"))?;
        }
        // The host's /sys bound for a sysfs: read-only, nosuid, nodev and
        // noexec all the way down, through the recursive options' path.
        let mut rec = m.recursive;
        if host_sys.get() {
            let attrs = ATTR_RDONLY | ATTR_NOSUID | ATTR_NODEV | ATTR_NOEXEC;
            rec = RecAttr {
                set: rec.set | attrs,
                clear: rec.clear & !attrs,
            };
        }
        if !rec.is_empty() {
            // The descriptor names what is under the mount: reopen the path.
            let fd = paths::open_in_root(root, dst).ctx(|| format!("open {dst}"))?;
            let t = fd_path(&fd);
            match crate::sys::mount_setattr_recursive(&t, rec.set, rec.clear) {
                // Before Linux 5.12: the bound /sys's top, at least.
                Err(Errno::NOSYS) if host_sys.get() => remount_readonly(&t, DEFAULT_FLAGS),
                r => r,
            }
            .ctx(|| format!("set the recursive mount options of {dst}"))?;
        }
        if m.propagation != 0 {
            let fd = paths::open_in_root(root, dst).ctx(|| format!("open {dst}"))?;
            set_propagation(&fd_path(&fd), m.propagation)
                .ctx(|| format!("set the propagation of {dst}"))?;
        }
    }
    Ok(())
}

/// Mount a filesystem, with the fallbacks a user namespace needs; `host_sys`
/// says the host's /sys was bound instead of a sysfs (to be made read-only).
fn mount_filesystem(
    m: &Mount,
    t: &CStr,
    userns: bool,
    gid_maps: &[crate::config::IdMap],
    host_sys: &std::cell::Cell<bool>,
) -> Result<(), Errno> {
    let fstype = match m.fstype.as_str() {
        // The container sees the unified hierarchy (its own root under NEWCGROUP).
        "cgroup" => "cgroup2",
        other => other,
    };
    let source = m
        .source
        .as_deref()
        .map_or(fstype.into(), |s| s.to_string_lossy());
    let data = m.data.as_deref().unwrap_or("");
    // gid 5 (tty) may be unmapped in a user namespace: devpts refuses it
    // (EINVAL), after half a millisecond of setting up a superblock. With
    // the maps known (created here), leave it out at once.
    let without_gid = || {
        let kept: Vec<&str> = data.split(',').filter(|o| !o.starts_with("gid=")).collect();
        kept.join(",")
    };
    let unmapped = |o: &str| {
        let gid = o.strip_prefix("gid=").and_then(|g| g.parse::<u64>().ok());
        gid.is_some_and(|g| {
            !gid_maps.is_empty()
                && !gid_maps.iter().any(|m| {
                    (u64::from(m.container_id)..u64::from(m.container_id) + u64::from(m.size))
                        .contains(&g)
                })
        })
    };
    if fstype == "devpts" && userns && data.split(',').any(unmapped) {
        return mount_fs(&source, t, fstype, m.flags, &without_gid());
    }
    match mount_fs(&source, t, fstype, m.flags, data) {
        Err(Errno::INVAL) if fstype == "devpts" && data.contains("gid=") => {
            mount_fs(&source, t, fstype, m.flags, &without_gid())
        }
        // sysfs needs a network namespace a user namespace may lack: bind the
        // host's, read-only with every mount below it (cgroupfs, tracefs…).
        Err(Errno::PERM) if userns && fstype == "sysfs" => {
            host_sys.set(true);
            bind_mount(c"/sys", t, true)
        }
        // mqueue needs its own IPC namespace under a user namespace.
        Err(Errno::PERM) if fstype == "mqueue" && userns => Ok(()),
        r => r,
    }
}

/// pivot_root into the rootfs and detach the old root (or MS_MOVE + chroot).
fn switch_root(root: BorrowedFd<'_>, cfg: &Config) -> Result<()> {
    rustix::process::fchdir(root).ctx(|| format!("chdir {}", cfg.rootfs.display()))?;
    if cfg.mount.no_pivot_root {
        mount::move_mount(c".", c"/")?;
        rustix::process::chroot(c".").ctx(|| "chroot .")?;
    } else {
        // The old root's mounts are the host's peers under a shared root:
        // detaching them would unmount the host's own, so they become
        // slaves first (as runc does), reached through the old "/".
        let shared = cfg.mount.rootfs_propagation & mount::MS_SHARED != 0;
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let old = shared
            .then(|| rustix::fs::open(c"/", flags, Mode::empty()))
            .transpose()
            .ctx(|| "open the old root")?;
        // pivot_root(".", "."): the old root ends up stacked on "/" and is
        // detached at once, with no directory left behind in the rootfs.
        rustix::process::pivot_root(c".", c".")
            .ctx(|| format!("pivot_root {}", cfg.rootfs.display()))?;
        if let Some(old) = old {
            rustix::process::fchdir(&old).ctx(|| "chdir to the old root")?;
            set_propagation(c".", MS_SLAVE | MS_REC).ctx(|| "make the old root a slave")?;
        }
        detach(c".").ctx(|| "detach the old root")?;
    }
    rustix::process::chdir(c"/").ctx(|| "chdir /")
}

/// The configured propagation of the root mount, applied once it is "/"
/// and the read-only and masked paths are in place (an unbindable root
/// would refuse their binds), as runc orders it.
pub fn set_root_propagation(cfg: &Config) -> Result<()> {
    let configured = cfg.mount.rootfs_propagation;
    if configured == 0 || !own_mount_ns(cfg) {
        return Ok(());
    }
    set_propagation(c"/", configured).ctx(|| "set linux.rootfsPropagation on /")
}

/// Make `readonly_paths` read-only and hide `mask_paths`; runs after the root
/// switch, so the paths are the container's own.
///
/// Each path is resolved inside the root without magic links and mounted on
/// through its descriptor; one under /proc must be on procfs (fstatfs), so a
/// rootfs cannot turn the read-only /proc/sys into a bind of its own directory
/// while the real one stays writable. The /dev/null bound over masked files
/// must be the 1:3 character device.
pub fn restrict_paths(cfg: &Config) -> Result<()> {
    if cfg.readonly_paths.is_empty() && cfg.mask_paths.is_empty() {
        return Ok(());
    }
    let root = rustix::fs::open(
        c"/",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| "open /")?;
    let root = root.as_fd();
    // The mounts below go through /proc/self/fd: /proc must be procfs.
    if open_restricted(root, "/proc")?.is_none() {
        return Err(Error::new(
            "restrict paths: the container has no /proc (is it a symlink in the rootfs?)",
        ));
    }
    for path in &cfg.readonly_paths {
        let Some(fd) = open_restricted(root, path)? else {
            continue;
        };
        bind_mount(&fd_path(&fd), &fd_path(&fd), true).ctx(|| format!("bind {path} on itself"))?;
        // The descriptor names what is now under the bind: reopen the path
        // to reach the bind mount itself.
        let Some(fd) = open_restricted(root, path)? else {
            continue;
        };
        remount_readonly(&fd_path(&fd), MS_NOSUID | MS_NODEV | MS_NOEXEC)
            .ctx(|| format!("remount {path} read-only"))?;
    }
    let mut null = None;
    for path in &cfg.mask_paths {
        let Some(fd) = open_restricted(root, path)? else {
            continue;
        };
        let st = rustix::fs::fstat(&fd).ctx(|| format!("stat {path}"))?;
        let r = if FileType::from_raw_mode(st.st_mode).is_dir() {
            mount_fs("tmpfs", &fd_path(&fd), "tmpfs", MS_RDONLY, "size=0")
        } else {
            let null = match &mut null {
                Some(null) => null,
                slot @ None => slot.insert(open_null(root)?),
            };
            bind_mount(&fd_path(&*null), &fd_path(&fd), false)
        };
        r.ctx(|| format!("mask {path} (with /dev/null or an empty tmpfs)"))?;
    }
    Ok(())
}

/// Stdio on the host's /dev/null moves to the container's, opened
/// read-write, as runc does (`reOpenDevNull`): an engine passes a read-only
/// /dev/null as stdin, and a command that writes to (or reopens) its stdin
/// behaves as under runc. Best effort, before anything of the container
/// runs: only the 1:3 character device found in the root without links,
/// reopened through the container's /proc checked to be procfs.
fn reopen_dev_null(root: BorrowedFd<'_>) {
    use rustix::stdio::{dup2_stderr, dup2_stdin, dup2_stdout, stderr, stdin, stdout};
    let is_null = |fd: BorrowedFd<'_>| {
        rustix::fs::fstat(fd).is_ok_and(|st| {
            FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice
                && st.st_rdev == rustix::fs::makedev(1, 3)
        })
    };
    let which = [stdin(), stdout(), stderr()].map(is_null);
    if !which.contains(&true) {
        return;
    }
    let proc_ok = paths::open_in_root(root, "/proc")
        .and_then(|fd| rustix::fs::fstatfs(&fd))
        .is_ok_and(|fs| fs.f_type == rustix::fs::PROC_SUPER_MAGIC);
    let Some(null) = proc_ok.then(|| open_null(root).ok()).flatten() else {
        return;
    };
    let flags = OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC;
    let Ok(rw) = rustix::fs::open(fd_path(&null).as_c_str(), flags, Mode::empty()) else {
        return;
    };
    let dup = [dup2_stdin, dup2_stdout, dup2_stderr];
    for (null_now, dup) in which.into_iter().zip(dup) {
        if null_now {
            let _ = dup(&rw);
        }
    }
}

/// Resolve a restricted path inside the root (`None` when it does not exist)
/// and check that one under /proc really is on procfs.
fn open_restricted(root: BorrowedFd<'_>, path: &str) -> Result<Option<OwnedFd>> {
    let fd = match paths::open_in_root(root, path) {
        Err(Errno::NOENT) => return Ok(None),
        r => r.ctx(|| format!("open {path} in the container"))?,
    };
    let under_proc = path.trim_start_matches('/').split('/').next() == Some("proc");
    if under_proc {
        let fs = rustix::fs::fstatfs(&fd).ctx(|| format!("statfs {path}"))?;
        if fs.f_type != rustix::fs::PROC_SUPER_MAGIC {
            return Err(Error::new(format!(
                "{path} is not on procfs (filesystem type {:#x}): refusing to restrict \
                 something else than the container's /proc",
                fs.f_type
            )));
        }
    }
    Ok(Some(fd))
}

/// The container's /dev/null, checked to be the 1:3 character device.
fn open_null(root: BorrowedFd<'_>) -> Result<OwnedFd> {
    let fd = paths::open_in_root(root, "/dev/null").ctx(|| "open /dev/null in the container")?;
    let st = rustix::fs::fstat(&fd).ctx(|| "stat /dev/null")?;
    let rdev = st.st_rdev;
    let is_null = FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice
        && rustix::fs::major(rdev) == 1
        && rustix::fs::minor(rdev) == 3;
    if !is_null {
        return Err(Error::new(
            "/dev/null in the container is not the null device (char 1:3): refusing to mask with it",
        ));
    }
    Ok(fd)
}
