//! Rootless containers: nsinit started by an unprivileged user, with a user
//! namespace. The same binary, no setuid bit of its own.
//!
//! - Id maps: without maps in the config, the caller's own uid and gid become
//!   0 in the container (one-line maps; `setgroups` is written `deny` first, as
//!   the kernel requires of an unprivileged writer). Maps that need more than
//!   the caller's own ids go through the setuid helpers `newuidmap` and
//!   `newgidmap` (shadow's, Debian package `uidmap`), which check them against
//!   /etc/subuid and /etc/subgid.
//! - Records: `$XDG_RUNTIME_DIR/nsinit` and `$XDG_RUNTIME_DIR/nsinit-oci`
//!   (runc's convention), or `/tmp/nsinit-$UID/…` when `XDG_RUNTIME_DIR` is
//!   unset; the base must be a directory of ours, not a symbolic link.
//! - What the user cannot do is checked before any side effect: a container
//!   without a user namespace, veth/bridge networks, raising a hard rlimit.
//!   Cgroups are used only when a writable delegated cgroup v2 subtree holds
//!   them; otherwise a one-line note and no cgroup.
//! - A PID namespace is required: the container's root is the caller's uid on
//!   the host, so without one it could signal every process of the user
//!   (nsinit's supervisor included), and no cgroup is there to kill what the
//!   container leaves when its PID 1 exits.
//!
//! The mount fallbacks a user namespace needs (sysfs bound read-only from the
//! host without a network namespace of its own, device nodes bound instead of
//! mknod, devpts without `gid=`) live in `rootfs`, where they serve root's user
//! namespaces too.

use std::path::{Path, PathBuf};

use rustix::fs::{Access, Mode, OFlags};
use rustix::io::Errno;

use crate::cgroup::{CgroupManager, Layout};
use crate::config::{Config, IdMap, Network, Ns};
use crate::error::{Context, Error, Result};

/// nsinit runs without root: the rules of this module apply.
pub fn rootless() -> bool {
    !rustix::process::geteuid().is_root()
}

/// With a user namespace and no maps, a non-root caller's own uid and gid
/// are root in the container. For root nothing changes: a user namespace
/// without maps stays a validation error (no guessed mapping of host ids).
pub fn default_own_maps(cfg: &mut Config) {
    if !rootless() || !cfg.namespaces.contains(Ns::User) {
        return;
    }
    let own = |id: u32| {
        vec![IdMap {
            container_id: 0,
            host_id: id,
            size: 1,
        }]
    };
    if cfg.uid_mappings.is_empty() {
        cfg.uid_mappings = own(rustix::process::geteuid().as_raw());
    }
    if cfg.gid_mappings.is_empty() {
        cfg.gid_mappings = own(rustix::process::getegid().as_raw());
    }
}

/// The maps map exactly one id, `own`.
fn only_own(maps: &[IdMap], own: u32) -> bool {
    matches!(maps, [m] if m.host_id == own && m.size == 1)
}

/// Rootless with only the caller's own uid and gid mapped: the child writes
/// its maps itself, as `unshare -r` does (the kernel allows one line that
/// maps the writer's own id), instead of waiting for the parent to.
pub fn self_maps(cfg: &Config) -> bool {
    rootless()
        && cfg.namespaces.contains(Ns::User)
        && only_own(&cfg.uid_mappings, rustix::process::geteuid().as_raw())
        && only_own(&cfg.gid_mappings, rustix::process::getegid().as_raw())
}

/// The child's own maps (see [`self_maps`]): setgroups denied first, then
/// uid_map and gid_map of `/proc/self`, while it is still dumpable (its
/// /proc files are the user's only then).
pub fn write_self_maps(uids: &[IdMap], gids: &[IdMap]) -> Result<()> {
    std::fs::write("/proc/self/setgroups", "deny").ctx(|| "write /proc/self/setgroups")?;
    write_map("self", "uid_map", uids)?;
    write_map("self", "gid_map", gids)
}

/// Write the user namespace's uid_map and gid_map of `pid` (the parent's
/// part). As root: the files, directly. Rootless with more than the caller's
/// own ids: through newuidmap/newgidmap (the own ids alone: the child, see
/// [`self_maps`]). Validation requires both maps: nothing maps the host's
/// root by default.
pub fn write_id_maps(pid: i32, uids: &[IdMap], gids: &[IdMap]) -> Result<()> {
    for (file, maps) in [("uid_map", uids), ("gid_map", gids)] {
        if maps.is_empty() {
            return Err(Error::new(format!(
                "user namespace without {file} entries: refusing to guess a mapping"
            )));
        }
    }
    if !rootless() {
        write_map(&pid.to_string(), "uid_map", uids)?;
        return write_map(&pid.to_string(), "gid_map", gids);
    }
    run_helper("newuidmap", "uid", "/etc/subuid", pid, uids)?;
    run_helper("newgidmap", "gid", "/etc/subgid", pid, gids)
}

/// Write `/proc/<pid>/<file>` (`pid` a number or `self`).
fn write_map(pid: &str, file: &str, maps: &[IdMap]) -> Result<()> {
    let text: String = maps
        .iter()
        .map(|m| format!("{} {} {}\n", m.container_id, m.host_id, m.size))
        .collect();
    let path = format!("/proc/{pid}/{file}");
    std::fs::write(&path, text).ctx(|| format!("write {path}"))
}

/// Run `helper PID inside outside count…` (found through `PATH`), naming
/// what is missing when it is absent or refuses. fork + execve through the
/// hook runner (std's `Command` costs 30 KiB); the helper's own complaint
/// goes to our stderr.
fn run_helper(helper: &str, kind: &str, subids: &str, pid: i32, maps: &[IdMap]) -> Result<()> {
    let path_var = std::env::var("PATH").unwrap_or_default();
    let Ok(path) = super::process::find_command(helper, &path_var) else {
        return Err(Error::new(format!(
            "rootless: the {kind} maps need more than your own {kind}, which takes the setuid \
             helper `{helper}`: not found in PATH (Debian/Ubuntu: apt install uidmap; it reads \
             {subids}); or map only your own {kind} (leave the maps out)"
        )));
    };
    let mut args = vec![path.clone(), pid.to_string()];
    for m in maps {
        args.extend([
            m.container_id.to_string(),
            m.host_id.to_string(),
            m.size.to_string(),
        ]);
    }
    let hook = crate::oci::hooks::Hook {
        path: PathBuf::from(path),
        args,
        env: Vec::new(),
        timeout: Some(10),
    };
    crate::oci::hooks::run_hook(&hook, b"").map_err(|e| {
        Error::new(format!(
            "rootless: {helper} refused the {kind} maps ({e}): is there an entry for your user \
             in {subids} covering them?"
        ))
    })
}

/// The rootless container's config: checks first (no side effect yet), then
/// the cgroups dropped when no delegated subtree can hold them. `None` when
/// nsinit runs as root (nothing changes).
pub fn adjust(cfg: &Config, rlimits: &[crate::config::Rlimit]) -> Result<Option<Config>> {
    if !rootless() {
        return Ok(None);
    }
    let uid = rustix::process::geteuid().as_raw();
    let userns =
        cfg.namespaces.contains(Ns::User) || cfg.ns_paths.iter().any(|(n, _)| *n == Ns::User);
    if !userns {
        return Err(Error::new(format!(
            "rootless: running as uid {uid}, the container needs a user namespace of its own \
             (NEWUSER, or `user` in linux.namespaces)"
        )));
    }
    if !cfg.namespaces.contains(Ns::Pid) && !cfg.ns_paths.iter().any(|(n, _)| *n == Ns::Pid) {
        return Err(Error::new(
            "rootless: the container needs a PID namespace (NEWPID, or `pid` in \
             linux.namespaces): its root is your uid on the host, and without one it could \
             signal your other processes, nsinit's own among them",
        ));
    }
    if cfg.networks.iter().any(|n| matches!(n, Network::Veth(_))) {
        return Err(Error::new(
            "rootless: veth and bridge networks need root on the host (CAP_NET_ADMIN); a \
             loopback in the container's own network namespace works",
        ));
    }
    check_rlimits(rlimits.iter().chain(&cfg.rlimits))?;
    let Some(cg) = &cfg.cgroups else {
        return Ok(None);
    };
    match delegated(cg) {
        // Why no device rules: the eBPF device program needs CAP_SYS_ADMIN in
        // the host's user namespace, and the user can open no device the
        // host's permissions would not let it open anyway (no mknod in a
        // user namespace; host nodes are bind-mounted). runc does the same.
        Ok(true) => Ok(Some(Config {
            cgroups: Some(crate::config::Cgroups {
                allow_all_devices: true,
                allowed_devices: Vec::new(),
                ..cg.clone()
            }),
            ..cfg.clone()
        })),
        Ok(false) | Err(_) => {
            crate::log::warn(&format!(
                "rootless: no writable delegated cgroup v2 subtree for `{}`: running without \
                 cgroups (no resource limits, no pause)",
                cg.name
            ));
            Ok(Some(Config {
                cgroups: None,
                ..cfg.clone()
            }))
        }
    }
}

/// The container's cgroups can be made by us: a cgroup v2-only host whose
/// directory that would hold them is writable (systemd's user delegation,
/// or a subtree the administrator chowned to the user).
fn delegated(cg: &crate::config::Cgroups) -> Result<bool> {
    // Why first: a process in v1 hierarchies (`ID:controllers:path` with an
    // ID other than 0) is on a v1 or hybrid host, which this refuses below
    // anyway; /proc/self/cgroup says so without a mountinfo read.
    let own = crate::cgroup::layout::read_proc("/proc/self/cgroup")?;
    if own.lines().any(|l| !l.is_empty() && !l.starts_with("0:")) {
        return Ok(false);
    }
    let layout = Layout::detect()?;
    if !layout.v1.is_empty() || layout.unified.is_none() {
        return Ok(false);
    }
    let leaves = CgroupManager::plan_at(cg, &layout)?;
    Ok(!leaves.is_empty()
        && leaves.iter().all(|l| {
            l.parent()
                .is_some_and(|p| rustix::fs::access(p, Access::WRITE_OK | Access::EXEC_OK).is_ok())
        }))
}

/// A user may lower a hard limit, never raise it (CAP_SYS_RESOURCE).
fn check_rlimits<'a>(rlimits: impl Iterator<Item = &'a crate::config::Rlimit>) -> Result<()> {
    for r in rlimits {
        let Some(res) = super::process::rlimit_resource(r.resource) else {
            continue;
        };
        let now = rustix::process::getrlimit(res);
        let hard = now.maximum.unwrap_or(u64::MAX);
        if r.hard > hard || r.soft > hard {
            let show = |v: u64| {
                if v == u64::MAX {
                    "unlimited".to_string()
                } else {
                    v.to_string()
                }
            };
            return Err(Error::new(format!(
                "rootless: rlimit {res:?} {}/{}: above your hard limit {} (only root may raise \
                 it); lower it in the config",
                show(r.soft),
                show(r.hard),
                show(hard)
            )));
        }
    }
    Ok(())
}

/// setgroups(2) is denied in this user namespace (rootless, only the
/// caller's gid mapped): `Ok(true)` when the process may go on with the
/// groups it has (none were asked for), an error when groups were asked for.
pub fn setgroups_denied(wanted: &[u32]) -> Result<bool> {
    let text = std::fs::read_to_string("/proc/self/setgroups").unwrap_or_default();
    if text.trim() != "deny" {
        return Ok(false);
    }
    if wanted.is_empty() {
        return Ok(true);
    }
    Err(Error::new(format!(
        "setgroups {wanted:?}: denied in this user namespace (rootless, only your own gid is \
         mapped): map a gid range through newgidmap (/etc/subgid) to use additional groups"
    )))
}

/// The directory holding the records of `name` (`nsinit`, `nsinit-oci`):
/// `/run/NAME` for root; for a user `$XDG_RUNTIME_DIR/NAME`, or, when that
/// is unset, `/tmp/nsinit-$UID/NAME` (created 0700). The base must be a
/// directory owned by the user and not a symbolic link.
pub fn store(name: &str) -> Result<PathBuf> {
    if !rootless() {
        return Ok(Path::new("/run").join(name));
    }
    let uid = rustix::process::geteuid().as_raw();
    let base = match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if !dir.is_absolute() {
                return Err(Error::new(format!(
                    "rootless: XDG_RUNTIME_DIR={}: not an absolute path",
                    dir.display()
                )));
            }
            dir
        }
        None => {
            let dir = PathBuf::from(format!("/tmp/nsinit-{uid}"));
            match rustix::fs::mkdir(&dir, Mode::RWXU) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(e).ctx(|| format!("mkdir {}", dir.display())),
            }
            dir
        }
    };
    check_own_dir(&base, uid)?;
    Ok(base.join(name))
}

/// `dir` is a directory (not a symbolic link) owned by `uid` that no one
/// else may write.
fn check_own_dir(dir: &Path, uid: u32) -> Result<()> {
    let shown = dir.display();
    let fd = rustix::fs::open(
        dir,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| format!("rootless: record directory base {shown} (XDG_RUNTIME_DIR)"))?;
    let st = rustix::fs::fstat(&fd).ctx(|| format!("stat {shown}"))?;
    if st.st_uid != uid || st.st_mode & 0o022 != 0 {
        return Err(Error::new(format!(
            "rootless: {shown} (XDG_RUNTIME_DIR) must be a directory of uid {uid} that no one \
             else can write (it is uid {}, mode {:o}): refusing to keep container records there",
            st.st_uid,
            st.st_mode & 0o7777
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(c: u32, h: u32, s: u32) -> IdMap {
        IdMap {
            container_id: c,
            host_id: h,
            size: s,
        }
    }

    #[test]
    fn only_own_is_one_id_of_the_caller() {
        assert!(only_own(&[map(0, 1000, 1)], 1000));
        assert!(only_own(&[map(5, 1000, 1)], 1000));
        assert!(!only_own(&[map(0, 1000, 2)], 1000));
        assert!(!only_own(&[map(0, 1001, 1)], 1000));
        assert!(!only_own(&[map(0, 1000, 1), map(1, 100000, 10)], 1000));
        assert!(!only_own(&[], 1000));
    }
}
