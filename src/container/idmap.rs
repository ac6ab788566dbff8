//! Idmapped bind mounts (runtime-spec 1.2 `uidMappings`/`gidMappings` on a
//! mount, options `idmap` and `ridmap`), as runc 1.2 and crun make them.
//!
//! `MOUNT_ATTR_IDMAP` needs CAP_SYS_ADMIN in the user namespace owning the
//! source's filesystem (the host's), which the container process lacks
//! once it is in its own. So the child clones the source into a detached
//! mount (`open_tree`) and sends it over the sync channel (SYNC 1m); the
//! parent idmaps it (`mount_setattr`) through a user namespace with the
//! mount's maps, or the container's; the child attaches it with
//! `move_mount` on the destination resolved inside its root, where the
//! other mounts go (`rootfs::mount_all`). The detached mounts are gone as
//! soon as their last descriptor is closed: a failed start leaves none.

use std::os::fd::OwnedFd;
use std::path::Path;

use linux_raw_sys::general as g;
use rustix::io::Errno;
use rustix::mount::OpenTreeFlags;

use super::nspath::open_ns;
use super::rootless;
use super::sync;
use crate::config::{Config, IdMap, Idmap, Ns};
use crate::error::{Context, Error, Result};
use crate::sys;

/// The idmapped mounts of `cfg`, in mount order.
fn idmapped(cfg: &Config) -> impl Iterator<Item = (&crate::config::Mount, &Idmap)> {
    cfg.mount
        .mounts
        .iter()
        .filter_map(|m| m.idmap.as_ref().map(|i| (m, i)))
}

/// Whether the child waits for idmapped mounts (SYNC 1m).
pub fn any(cfg: &Config) -> bool {
    idmapped(cfg).next().is_some()
}

/// Before any side effect: idmapping takes the host's CAP_SYS_ADMIN.
pub fn check_host(cfg: &Config) -> Result<()> {
    if any(cfg) && rootless::rootless() {
        return Err(Error::new(
            "idmapped mounts need root (CAP_SYS_ADMIN in the host's user namespace)",
        ));
    }
    Ok(())
}

/// SYNC 1m (parent): idmap each mount the container process `pid` sends
/// (its id maps are written by now), one per idmapped mount, in order, and
/// send it back.
pub fn idmap_mounts(cfg: &Config, pid: i32, sock: &OwnedFd) -> Result<()> {
    let mut own = None;
    for (m, map) in idmapped(cfg) {
        let src = m.source.as_deref().unwrap_or(Path::new(""));
        let tree = sync::recv_mount(sock)?;
        let made;
        let userns = if map.uid_mappings.is_empty() {
            match &own {
                Some(fd) => fd,
                None => {
                    let path = match cfg.ns_paths.iter().find(|(ns, _)| *ns == Ns::User) {
                        Some((_, p)) => p.clone(),
                        None => format!("/proc/{pid}/ns/user").into(),
                    };
                    own.insert(open_ns(&path, "user")?)
                }
            }
        } else {
            made = mapped_userns(&map.uid_mappings, &map.gid_mappings)?;
            &made
        };
        sys::mount_setattr_idmap(&tree, userns, map.recursive).map_err(|e| {
            let why = match e {
                Errno::INVAL => ": the filesystem does not support idmapped mounts",
                _ => "",
            };
            Error::sys(
                format!("mount_setattr MOUNT_ATTR_IDMAP {}{why}", src.display()),
                e,
            )
        })?;
        sync::send_mount(sock, &tree)?;
    }
    Ok(())
}

/// SYNC 1m (child, in its final namespaces, before its mounts): clone the
/// source of each idmapped mount, in mount order, and have the parent
/// idmap it. Cloned here, the copy keeps the kernel's lock on the mounts
/// below its top (MNT_LOCKED, set when the host's mounts were copied into
/// the container's user namespace), as a plain `rbind` does: the container
/// cannot unmount them to see what they cover on the host.
pub fn clone_mounts(cfg: &Config, sock: &OwnedFd) -> Result<Vec<OwnedFd>> {
    let mut trees = Vec::new();
    for (m, _) in idmapped(cfg) {
        let src = m.source.as_deref().unwrap_or(Path::new(""));
        let mut flags = OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC;
        if m.flags & u64::from(g::MS_REC) != 0 {
            flags |= OpenTreeFlags::AT_RECURSIVE;
        }
        let tree = rustix::mount::open_tree(rustix::fs::CWD, src, flags)
            .ctx(|| format!("open_tree {}", src.display()))?;
        sync::send_mount(sock, &tree)?;
        trees.push(sync::recv_mount(sock)?);
    }
    Ok(trees)
}

/// A user namespace with the given maps: a helper process unshares one,
/// the maps are written from here, and the helper exits once it is open
/// (it waits on a pipe whose only writer is this process, so it exits even
/// when nsinit dies first).
fn mapped_userns(uids: &[IdMap], gids: &[IdMap]) -> Result<OwnedFd> {
    let (rd, wr) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).ctx(|| "pipe")?;
    let Some(pid) = sys::clone_process(Ns::User.clone_flag()).ctx(|| "clone a user namespace")?
    else {
        drop(wr);
        while let Err(Errno::INTR) = rustix::io::read(&rd, &mut [0u8; 1]) {}
        sys::exit_now(0)
    };
    let raw = pid.as_raw_nonzero().get();
    let ns = rootless::write_id_maps(raw, uids, gids)
        .and_then(|()| open_ns(Path::new(&format!("/proc/{raw}/ns/user")), "user"));
    drop(wr);
    let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
    ns
}
