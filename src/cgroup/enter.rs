//! Entering the container's cgroups at start, before the container's process
//! does anything of its own (issue 18: device rules, memory and pids limits
//! apply to the whole setup, never to part of it at random).
//!
//! The parent opens everything before clone ([`CgroupManager::prepare_entry`]):
//! - cgroup v1: the `tasks` file of each hierarchy's leaf. The freshly cloned
//!   child is a single thread and writes `0` to each as its very first step:
//!   a thread moving itself takes no global lock, while a PID written to
//!   `cgroup.procs` waits for an RCU grace period (6–15 ms after idle);
//! - cgroup v2: the leaf directory, for `clone3(CLONE_INTO_CGROUP)`, which
//!   forks the child straight into it. Before Linux 5.7 the child writes `0`
//!   to the leaf's `cgroup.procs` instead (opened relative to that fd).
//!
//! Where the kernel refuses the child's own move (`EACCES`/`EPERM`, e.g. an
//! older kernel checking the child's credentials in a new user namespace),
//! the child says so in one byte and waits for SYNC 1; the parent then writes
//! its PID to every `cgroup.procs` before releasing it.

use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use rustix::fs::OFlags;
use rustix::io::Errno;
use rustix::process::Pid;

use super::{CgroupManager, UNIFIED, fs};
use crate::error::{Context, Error, Result};
use crate::sys;

/// What the child did about its cgroups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entered {
    /// It is in all of them (or there are none).
    Done,
    /// The kernel refused its own move: it must wait for SYNC 1, before
    /// which the parent moves it.
    ByParent,
}

/// Descriptors the parent opens before clone for the child to enter its cgroups.
#[derive(Debug)]
pub struct Entry {
    /// cgroup v1: each hierarchy's leaf `tasks`, write-only.
    tasks: Vec<OwnedFd>,
    /// cgroup v2: the leaf directory and its path.
    v2: Option<(OwnedFd, PathBuf)>,
    /// clone3 put the child into the v2 leaf at fork.
    placed: bool,
    /// The child's verdict (one byte): read end, write end.
    verdict: (OwnedFd, OwnedFd),
}

impl CgroupManager {
    /// Open what the child needs to enter the container's cgroups (parent,
    /// before clone).
    pub fn prepare_entry(&self) -> Result<Entry> {
        let v2_path = self.path(UNIFIED);
        let mut tasks = Vec::new();
        for dir in self.dirs().into_iter().filter(|d| Some(*d) != v2_path) {
            let path = dir.join("tasks");
            tasks.push(
                fs::open(&path, OFlags::WRONLY)
                    .ctx(|| format!("cgroups: open {}", path.display()))?,
            );
        }
        let v2 = match v2_path {
            Some(dir) => Some((
                fs::open(dir, OFlags::RDONLY | OFlags::DIRECTORY)
                    .ctx(|| format!("cgroups: open {}", dir.display()))?,
                dir.to_path_buf(),
            )),
            None => None,
        };
        let verdict =
            rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).ctx(|| "cgroups: pipe")?;
        Ok(Entry {
            tasks,
            v2,
            placed: false,
            verdict,
        })
    }
}

impl Entry {
    /// Clone the container process (see [`sys::clone_process`]), straight into
    /// the v2 leaf where the kernel can (`CLONE_INTO_CGROUP`, Linux 5.7).
    pub fn clone_process(&mut self, flags: u64) -> Result<Option<Pid>> {
        if let Some((dir, path)) = &self.v2 {
            match sys::clone_into_cgroup(flags, dir) {
                Ok(pid) => {
                    self.placed = true;
                    return Ok(pid);
                }
                // No clone3 or no CLONE_INTO_CGROUP: the child moves itself.
                Err(Errno::NOSYS | Errno::TOOBIG | Errno::INVAL) => {}
                Err(e) => {
                    // EBUSY: cgroup v2 keeps processes in leaves only.
                    let why = match e {
                        Errno::BUSY => " (it has controllers enabled for its children)",
                        _ => "",
                    };
                    return Err(Error::sys(
                        format!(
                            "clone the container process into cgroup {}{why}",
                            path.display()
                        ),
                        e,
                    ));
                }
            }
        }
        sys::clone_process(flags).ctx(|| "clone the container process")
    }

    /// The child's first step: move itself into every cgroup, tell the
    /// parent, close every descriptor of the entry.
    pub fn enter_child(self) -> Entered {
        let mut ok = self
            .tasks
            .iter()
            .all(|fd| rustix::io::write(fd, b"0").is_ok());
        if let Some((dir, _)) = self.v2.as_ref().filter(|_| ok && !self.placed) {
            ok = rustix::fs::openat(
                dir,
                "cgroup.procs",
                OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
                rustix::fs::Mode::empty(),
            )
            .and_then(|fd| rustix::io::write(fd, b"0"))
            .is_ok();
        }
        let entered = if ok { Entered::Done } else { Entered::ByParent };
        let byte = if ok { b"0" } else { b"1" };
        let _ = rustix::io::write(&self.verdict.1, byte);
        entered
    }

    /// Parent, before SYNC 1: the child's verdict; when it could not move
    /// itself, move it (write its PID to every `cgroup.procs`).
    pub fn confirm(self, cg: &CgroupManager, pid: i32) -> Result<()> {
        let Entry { verdict, .. } = self;
        let (read, write) = verdict;
        drop(write);
        let mut byte = [0u8; 1];
        let n = loop {
            match rustix::io::read(read.as_fd(), &mut byte) {
                Err(Errno::INTR) => continue,
                other => break other.ctx(|| "cgroups: read the container's verdict")?,
            }
        };
        match (n, byte[0]) {
            (1, b'0') => Ok(()),
            (1, _) => cg.add_process(pid),
            _ => Err(Error::new(
                "cgroups: the container process exited before entering its cgroups",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::CgroupRecord;

    /// A manager over one fake v1 hierarchy whose leaf has `tasks` and
    /// `cgroup.procs` as plain files.
    fn fake(tag: &str) -> (PathBuf, CgroupManager) {
        let root = std::env::temp_dir().join(format!("nsinit-enter-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let leaf = root.join("pids/c1");
        std::fs::create_dir_all(&leaf).unwrap();
        for f in ["tasks", "cgroup.procs"] {
            std::fs::write(leaf.join(f), "").unwrap();
        }
        let rec = CgroupRecord {
            paths: [("pids".to_string(), leaf)].into(),
            ..Default::default()
        };
        let m = CgroupManager::from_record_checked(&rec, |_| Ok(())).unwrap();
        (root, m)
    }

    fn read(root: &std::path::Path, f: &str) -> String {
        std::fs::read_to_string(root.join("pids/c1").join(f)).unwrap()
    }

    #[test]
    fn the_child_moves_itself_and_the_parent_writes_nothing() {
        let (root, m) = fake("self");
        let entry = m.prepare_entry().unwrap();
        // What the child does with its copy (here: the same descriptors).
        let tasks: Vec<OwnedFd> = entry.tasks.iter().map(|f| f.try_clone().unwrap()).collect();
        let write_end = entry.verdict.1.try_clone().unwrap();
        let child = Entry {
            tasks,
            v2: None,
            placed: false,
            verdict: (entry.verdict.0.try_clone().unwrap(), write_end),
        };
        assert_eq!(child.enter_child(), Entered::Done);
        assert_eq!(read(&root, "tasks"), "0");
        entry.confirm(&m, 4242).unwrap();
        assert_eq!(read(&root, "cgroup.procs"), "", "no cgroup.procs write");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_refused_child_is_moved_by_the_parent() {
        let (root, m) = fake("parent");
        let entry = m.prepare_entry().unwrap();
        rustix::io::write(&entry.verdict.1, b"1").unwrap();
        entry.confirm(&m, 4242).unwrap();
        assert_eq!(read(&root, "cgroup.procs"), "4242");

        let entry = m.prepare_entry().unwrap();
        let err = entry.confirm(&m, 4242).unwrap_err().to_string();
        assert_eq!(
            err,
            "cgroups: the container process exited before entering its cgroups"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
