//! Namespaces joined by path (`linux.namespaces[i].path`, `NEWNET` with a
//! netns file): what kind of namespace a file is, and the pid namespace,
//! which applies to the children of the process that joins it.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::{Mode, OFlags};
use rustix::thread::LinkNameSpaceType;

use crate::config::{Config, Ns};
use crate::error::{Context, Error, Result};

/// The kind of namespace the file at `path` is (`net`, `pid`, …), asked of
/// the kernel (nsfs, NS_GET_NSTYPE), so a bind-mounted namespace file
/// (`/run/netns/x`, whose descriptor link names the mount) is recognised as
/// well as `/proc/PID/ns/net`. An error when the file is no namespace.
pub fn kind_of(path: &Path) -> Result<String> {
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
        .ctx(|| format!("open {}", path.display()))?;
    let kind =
        crate::sys::ns_type(&fd).ctx(|| format!("ioctl NS_GET_NSTYPE {}", path.display()))?;
    match kind.and_then(|k| Ns::ALL.into_iter().find(|n| n.clone_flag() == k)) {
        Some(ns) => Ok(ns.proc_name().to_string()),
        None => Err(Error::new(format!(
            "{}: not a namespace file",
            path.display()
        ))),
    }
}

/// Check that `path` is a namespace of kind `ns`; the message says what it is.
pub fn check_kind(path: &Path, ns: Ns) -> std::result::Result<(), String> {
    match kind_of(path) {
        Ok(k) if k == ns.proc_name() => Ok(()),
        Ok(k) => Err(format!(
            "{} is a {k} namespace, not a {} namespace",
            path.display(),
            ns.proc_name()
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// Check a joined mount namespace is not the runtime's own: the rootfs is
/// set up (mounts, pivot_root) in a joined mount namespace, which must not
/// be the host's.
pub fn check_not_own_mount_ns(path: &Path) -> std::result::Result<(), String> {
    if is_own(path, Ns::Mnt) {
        return Err(format!(
            "{} is the runtime's own mount namespace: the container's mounts and \
             pivot_root would change the host's",
            path.display()
        ));
    }
    Ok(())
}

/// Whether the namespace file `path` is the runtime's own namespace of kind
/// `ns` (the host's, as runc's "host network namespace": Docker's `--network
/// host` joins the host's by path).
pub fn is_own(path: &Path, ns: Ns) -> bool {
    let id = |p: &Path| rustix::fs::stat(p).map(|st| (st.st_dev, st.st_ino)).ok();
    let own = format!("/proc/self/ns/{}", ns.proc_name());
    matches!((id(path), id(Path::new(&own))), (Some(a), Some(b)) if a == b)
}

/// The caller's own pid namespace, to return to after the clone.
pub struct PidNsRestore(OwnedFd);

/// Join the configured pid namespace for our children, so PID 1 is cloned
/// into it (setns(CLONE_NEWPID) changes only `pid_for_children`). Returns
/// how to come back; `None` when no pid namespace path is configured.
pub fn enter_pid_for_children(cfg: &Config) -> Result<Option<PidNsRestore>> {
    let Some((_, path)) = cfg.ns_paths.iter().find(|(ns, _)| *ns == Ns::Pid) else {
        return Ok(None);
    };
    let own = open_ns(Path::new("/proc/self/ns/pid"), "pid")?;
    let target = open_ns(path, "pid")?;
    rustix::thread::move_into_link_name_space(target.as_fd(), Some(LinkNameSpaceType::ProcessID))
        .ctx(|| format!("setns pid namespace {}", path.display()))?;
    Ok(Some(PidNsRestore(own)))
}

impl PidNsRestore {
    /// Back to the caller's own pid namespace for later children (hooks).
    pub fn restore(self) -> Result<()> {
        rustix::thread::move_into_link_name_space(
            self.0.as_fd(),
            Some(LinkNameSpaceType::ProcessID),
        )
        .ctx(|| "setns back to the runtime's pid namespace")
    }
}

/// Open the namespace file `path` of the `kind` named in the error.
pub(super) fn open_ns(path: &Path, kind: &str) -> Result<OwnedFd> {
    rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
        .ctx(|| format!("open {kind} namespace {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_the_namespace_link() {
        assert_eq!(kind_of(Path::new("/proc/self/ns/net")).unwrap(), "net");
        assert_eq!(kind_of(Path::new("/proc/self/ns/pid")).unwrap(), "pid");
        assert!(check_kind(Path::new("/proc/self/ns/uts"), Ns::Uts).is_ok());
        assert_eq!(
            check_kind(Path::new("/proc/self/ns/uts"), Ns::Net).unwrap_err(),
            "/proc/self/ns/uts is a uts namespace, not a net namespace"
        );
        assert_eq!(
            check_kind(Path::new("/proc/self/status"), Ns::Net).unwrap_err(),
            "/proc/self/status: not a namespace file"
        );
    }
}
