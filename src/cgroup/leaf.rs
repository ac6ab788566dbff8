//! The container's own cgroup directories (the leaves) are made exclusively
//! and owned through a lock; the levels of `cgroups.parent` are shared, and
//! the last container to leave one removes it.
//!
//! Ownership: the nsinit that makes a container's leaves holds an `flock` on
//! the first hierarchy's leaf directory for as long as it manages them, and
//! makes them under an `flock` on that leaf's parent directory, so two
//! creators never interleave. A leaf that already exists belongs to someone
//! else unless it is provably stale: nobody holds its lock (its nsinit is
//! gone) and it holds no process in any hierarchy. A stale leaf is removed and
//! made again, so it is a new cgroup (a new inode: see
//! [`super::CgroupManager::destroy`], which only touches its own); a live one
//! is an error naming the cgroup. Like runc, which refuses a cgroup path that
//! another container's processes use, two containers never share a cgroup.
//!
//! Shared parents: every parent level nsinit creates is marked with the
//! extended attribute [`PARENT_MARK`]; whoever tears down a container removes
//! the marked levels that are empty, deepest first (`EBUSY`/`ENOTEMPTY`: still
//! in use, fine). Parents nsinit did not make (an administrator's, with limits
//! of their own) are never removed.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::fs::{FlockOperation, OFlags};
use rustix::io::Errno;

use super::fs;
use crate::error::{Context, Error, Result};

/// The extended attribute marking a parent level nsinit made (cgroupfs keeps
/// `trusted.*` attributes on its directories).
pub const PARENT_MARK: &str = "trusted.nsinit.parent";

/// How often a leaf mkdir is retried when a concurrent teardown removed a
/// shared parent between our `mkdir -p` and the leaf's `mkdir`.
const ATTEMPTS: usize = 3;

/// Proof of ownership of a container's leaves: the locked first leaf.
#[derive(Debug)]
pub struct Owner {
    pub lock: OwnedFd,
    /// The first leaf and its inode (a cgroup's id: never reused while the
    /// system runs).
    pub id: (PathBuf, u64),
}

/// Make every leaf in `leaves` (`bases[i]` is the directory below which the
/// levels of `cgroups.parent` start for `leaves[i]`). Records every directory
/// made in `created`, shallowest first.
pub fn make_leaves(leaves: &[&Path], bases: &[&Path], created: &mut Vec<PathBuf>) -> Result<Owner> {
    let Some(first) = leaves.first() else {
        return Err(Error::new("no cgroup hierarchy to place the container in"));
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        match make_leaves_once(first, leaves, bases, created) {
            Err(e) if e.errno() == Some(Errno::NOENT) && attempt < ATTEMPTS => continue,
            other => return other,
        }
    }
}

fn make_leaves_once(
    first: &Path,
    leaves: &[&Path],
    bases: &[&Path],
    created: &mut Vec<PathBuf>,
) -> Result<Owner> {
    for (leaf, base) in leaves.iter().zip(bases) {
        if let Some(parent) = leaf.parent() {
            make_parents(parent, base, created)?;
        }
    }
    // Creators of leaves under the same parent take turns: deciding that a
    // leaf is stale and replacing it must not interleave with its creation.
    let parent = first.parent().unwrap_or(first);
    let guard = open_dir(parent)?;
    rustix::fs::flock(&guard, FlockOperation::LockExclusive)
        .ctx(|| format!("flock {}", parent.display()))?;
    let fresh = mkdir(first)?;
    let lock = open_dir(first)?;
    match rustix::fs::flock(&lock, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {}
        Err(Errno::WOULDBLOCK) => {
            let pids = fs::procs(first).unwrap_or_default();
            let who = match pids.is_empty() {
                true => "nsinit (it is starting or stopping that container)".to_string(),
                false => format!("container (processes {pids:?})"),
            };
            return Err(Error::new(format!(
                "cgroup {} is already in use by another {who}; give each container its own \
                 cgroups.name",
                first.display()
            )));
        }
        Err(e) => return Err(Error::sys(format!("flock {}", first.display()), e)),
    }
    let (lock, start) = if fresh {
        created.push(first.to_path_buf());
        (lock, 1)
    } else {
        // Nobody owns it: stale if empty everywhere. Replace every leaf so the
        // cgroups are new ones (a stale record of the old ones cannot reach them).
        for leaf in leaves {
            remove_stale(leaf)?;
        }
        drop(lock);
        if !mkdir(first)? {
            return Err(Error::new(format!(
                "cgroup {} reappeared while nsinit replaced it",
                first.display()
            )));
        }
        created.push(first.to_path_buf());
        let lock = open_dir(first)?;
        rustix::fs::flock(&lock, FlockOperation::NonBlockingLockExclusive)
            .ctx(|| format!("flock {}", first.display()))?;
        (lock, 1)
    };
    for leaf in &leaves[start..] {
        if !mkdir(leaf)? {
            // No live owner (we hold the lock), so only a stale leftover.
            remove_stale(leaf)?;
            if !mkdir(leaf)? {
                return Err(Error::new(format!(
                    "cgroup {} reappeared while nsinit replaced it",
                    leaf.display()
                )));
            }
        }
        created.push(leaf.to_path_buf());
    }
    drop(guard);
    let stat = rustix::fs::fstat(&lock).ctx(|| format!("stat {}", first.display()))?;
    Ok(Owner {
        lock,
        id: (first.to_path_buf(), stat.st_ino),
    })
}

/// `mkdir -p` of the levels from `base` down to `dir`, marking each level made.
fn make_parents(dir: &Path, base: &Path, created: &mut Vec<PathBuf>) -> Result<()> {
    let made = fs::mkdir_all(dir)?;
    for d in &made {
        if d.starts_with(base) && d != base {
            // Best effort: without the mark only its creator removes it.
            let _ = rustix::fs::setxattr(d, PARENT_MARK, b"1", rustix::fs::XattrFlags::empty());
        }
    }
    created.extend(made);
    Ok(())
}

/// `mkdir dir`: `true` when made, `false` when it already existed.
fn mkdir(dir: &Path) -> Result<bool> {
    match rustix::fs::mkdir(dir, rustix::fs::Mode::from_raw_mode(0o755)) {
        Ok(()) => {
            #[cfg(test)]
            POPULATE.with(|p| p.borrow().as_ref().map(|f| f(dir)));
            Ok(true)
        }
        Err(Errno::EXIST) => Ok(false),
        Err(e) => Err(Error::sys(format!("mkdir {}", dir.display()), e)),
    }
}

fn open_dir(dir: &Path) -> Result<OwnedFd> {
    fs::open(dir, OFlags::RDONLY | OFlags::DIRECTORY).ctx(|| format!("open {}", dir.display()))
}

/// Remove a leftover leaf (and any cgroups below it) that no process uses;
/// one with processes belongs to a running container and is an error.
fn remove_stale(leaf: &Path) -> Result<()> {
    let pids = fs::procs(leaf)?;
    if !pids.is_empty() {
        return Err(Error::new(format!(
            "cgroup {} is already in use by another container (processes {pids:?}); \
             give each container its own cgroups.name",
            leaf.display()
        )));
    }
    fs::remove_tree(leaf, Duration::ZERO).map_err(|e| {
        Error::new(format!(
            "cgroup {} is already in use by another container ({e}); give each container \
             its own cgroups.name",
            leaf.display()
        ))
    })
}

/// Remove the leaves of a plan that nobody owns (the first leaf's lock is
/// free) and that hold no process, under the parent lock creators take.
pub fn remove_unowned(leaves: &[PathBuf]) -> Result<()> {
    let Some(first) = leaves.first() else {
        return Ok(());
    };
    let parent = first.parent().unwrap_or(first);
    let guard = match open_dir(parent) {
        Ok(g) => g,
        Err(e) if e.errno() == Some(Errno::NOENT) => return Ok(()),
        Err(e) => return Err(e),
    };
    rustix::fs::flock(&guard, FlockOperation::LockExclusive)
        .ctx(|| format!("flock {}", parent.display()))?;
    if let Ok(lock) = open_dir(first) {
        match rustix::fs::flock(&lock, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            // A live nsinit owns it: not a leftover.
            Err(Errno::WOULDBLOCK) => return Ok(()),
            Err(e) => return Err(Error::sys(format!("flock {}", first.display()), e)),
        }
    }
    for leaf in leaves {
        if rustix::fs::access(leaf.as_path(), rustix::fs::Access::EXISTS).is_err() {
            continue;
        }
        if fs::procs(leaf).is_ok_and(|p| p.is_empty()) {
            fs::remove_tree(leaf, Duration::ZERO)?;
        }
    }
    drop(guard);
    Ok(())
}

/// Tests: what the kernel does at mkdir on cgroupfs (create the knobs).
#[cfg(test)]
pub type Populate = Option<Box<dyn Fn(&Path)>>;

#[cfg(test)]
thread_local! {
    pub static POPULATE: std::cell::RefCell<Populate> = const { std::cell::RefCell::new(None) };
}

/// Is `dir` still the cgroup recorded as `ino`? (`None`: it no longer exists.)
pub fn same_cgroup(dir: &Path, ino: u64) -> Option<bool> {
    let fd = fs::open(dir, OFlags::PATH | OFlags::DIRECTORY).ok()?;
    rustix::fs::fstat(fd.as_fd()).ok().map(|s| s.st_ino == ino)
}

/// Remove the shared parent levels (deepest first) that nsinit made (`mine`,
/// or marked by another nsinit) and that are empty now. A level still in use
/// (`EBUSY`, `ENOTEMPTY`) stays for its last user to remove.
pub fn remove_parents(parents: &[PathBuf], mine: &[PathBuf]) {
    for p in parents {
        let ours = mine.contains(p) || rustix::fs::getxattr(p, PARENT_MARK, &mut [0u8; 4]).is_ok();
        if ours {
            let _ = rustix::fs::rmdir(p);
        }
    }
}
