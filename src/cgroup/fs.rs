//! Reading and writing cgroupfs control files, with errors that name the
//! value, the file and the kernel's reason.
//!
//! Writes never create a file: on cgroupfs every knob a controller offers
//! exists, so a missing file means the knob is unavailable, and that must be
//! an error rather than a stray regular file. No file is opened through a
//! symbolic link ([`open`]): a link planted where nsinit writes (say at a
//! forged `cgroup.procs`) is refused, never followed.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::fs::{CWD, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::error::{Context, Error, Result};

/// Open `path` close-on-exec with no symbolic link in any component
/// (`openat2` `RESOLVE_NO_SYMLINKS`; `O_NOFOLLOW` on the last component where
/// the kernel predates openat2).
pub fn open(path: &Path, flags: OFlags) -> std::result::Result<OwnedFd, Errno> {
    let flags = flags | OFlags::CLOEXEC | OFlags::NOFOLLOW;
    let resolve = ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    match crate::rootfs::paths::openat2_retry(CWD, path, flags, Mode::empty(), resolve) {
        Err(Errno::NOSYS) => rustix::fs::open(path, flags, Mode::empty()),
        other => other,
    }
}

/// Write `value` to `dir/file` (`O_WRONLY|O_TRUNC`, no `O_CREAT`), in one write.
pub fn write(dir: &Path, file: &str, value: impl std::fmt::Display) -> Result<()> {
    let path = dir.join(file);
    let value = value.to_string();
    let what = || format!("write {value} to {}", path.display());
    let fd = open(&path, OFlags::WRONLY | OFlags::TRUNC).ctx(what)?;
    std::fs::File::from(fd)
        .write_all(value.as_bytes())
        .ctx(what)
}

/// Write each of `values` to `dir/file` with its own `write()` on one open
/// file (`O_WRONLY`, no `O_CREAT`): for files that take one entry per write,
/// such as `devices.allow`. Nothing is opened when there are no values.
pub fn write_each(dir: &Path, file: &str, values: &[String]) -> Result<()> {
    let path = dir.join(file);
    let mut f = None;
    for value in values {
        let what = || format!("write {value} to {}", path.display());
        let f = match &mut f {
            Some(f) => f,
            None => f.insert(std::fs::File::from(
                open(&path, OFlags::WRONLY | OFlags::TRUNC).ctx(what)?,
            )),
        };
        f.write_all(value.as_bytes()).ctx(what)?;
    }
    Ok(())
}

/// The contents of `dir/file`, trimmed.
pub fn read(dir: &Path, file: &str) -> Result<String> {
    let path = dir.join(file);
    let what = || format!("read {}", path.display());
    let mut s = String::new();
    std::fs::File::from(open(&path, OFlags::RDONLY).ctx(what)?)
        .read_to_string(&mut s)
        .ctx(what)?;
    Ok(s.trim().to_string())
}

/// Like [`read`], but `None` when the file does not exist.
pub fn read_opt(dir: &Path, file: &str) -> Result<Option<String>> {
    match read(dir, file) {
        Err(e) if e.errno() == Some(Errno::NOENT) => Ok(None),
        other => other.map(Some),
    }
}

/// Does `dir/file` exist?
pub fn exists(dir: &Path, file: &str) -> bool {
    rustix::fs::statat(CWD, dir.join(file), rustix::fs::AtFlags::SYMLINK_NOFOLLOW).is_ok()
}

/// A decimal number from `dir/file`, or `None` when the file is missing or
/// holds `max`.
pub fn read_u64(dir: &Path, file: &str) -> Result<Option<u64>> {
    match read_opt(dir, file)? {
        None => Ok(None),
        Some(s) if s == "max" => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|_| Error::new(format!("{}: not a number: {s:?}", dir.join(file).display()))),
    }
}

/// The value of `key` in a flat-keyed file (`key value` per line), such as
/// `memory.events`, `cgroup.events`, `cpu.stat` or `memory.oom_control`.
pub fn keyed(content: &str, key: &str) -> Option<u64> {
    content.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        if k == key {
            v.trim().parse().ok()
        } else {
            None
        }
    })
}

/// The pids listed in `dir/cgroup.procs`; an already removed cgroup has none.
pub fn procs(dir: &Path) -> Result<Vec<i32>> {
    let Some(s) = read_opt(dir, "cgroup.procs")? else {
        return Ok(Vec::new());
    };
    s.lines()
        .map(|l| {
            l.trim().parse().map_err(|_| {
                Error::new(format!(
                    "{}: bad pid {l:?}",
                    dir.join("cgroup.procs").display()
                ))
            })
        })
        .collect()
}

/// `mkdir -p dir`; returns the directories it created, shallowest first.
pub fn mkdir_all(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut cur = dir;
    while !cur.is_dir() {
        missing.push(cur.to_path_buf());
        cur = match cur.parent() {
            Some(p) => p,
            None => break,
        };
    }
    missing.reverse();
    let mut created = Vec::new();
    for d in missing {
        match rustix::fs::mkdir(&d, rustix::fs::Mode::from_raw_mode(0o755)) {
            Ok(()) => created.push(d),
            Err(Errno::EXIST) => {}
            Err(e) => {
                remove_dirs(&created);
                return Err(Error::sys(format!("mkdir {}", d.display()), e));
            }
        }
    }
    Ok(created)
}

/// Best-effort `rmdir` of `dirs`, deepest first, for undoing a failed create.
pub fn remove_dirs(dirs: &[PathBuf]) {
    for d in dirs.iter().rev() {
        let _ = rmdir_retry(d, Duration::from_millis(200));
    }
}

/// `rmdir dir`, retrying `EBUSY` (processes still leaving) for up to `patience`.
/// A directory that is already gone counts as removed.
pub fn rmdir_retry(dir: &Path, patience: Duration) -> Result<()> {
    let deadline = Instant::now() + patience;
    loop {
        match rustix::fs::rmdir(dir) {
            Ok(()) | Err(Errno::NOENT) => return Ok(()),
            Err(Errno::BUSY) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(Error::sys(format!("rmdir {}", dir.display()), e)),
        }
    }
}

/// Remove `dir` and every cgroup below it, deepest first (a container may
/// have made sub-cgroups of its own).
pub fn remove_tree(dir: &Path, patience: Duration) -> Result<()> {
    // Usually there is nothing below: one rmdir does it.
    match rustix::fs::rmdir(dir) {
        Ok(()) | Err(Errno::NOENT) => return Ok(()),
        Err(Errno::BUSY | Errno::NOTEMPTY) => {}
        Err(e) => return Err(Error::sys(format!("rmdir {}", dir.display()), e)),
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.raw_os_error() == Some(Errno::NOENT.raw_os_error()) => return Ok(()),
        Err(e) => return Err(e).ctx(|| format!("read directory {}", dir.display())),
    };
    for entry in entries {
        let entry = entry.ctx(|| format!("read directory {}", dir.display()))?;
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_tree(&entry.path(), patience)?;
        }
    }
    rmdir_retry(dir, patience)
}

/// hugetlb: `hugetlb.<size>.<file>` per configured page size (`limit_in_bytes`
/// on v1, `max` on v2); a page size the kernel lacks is an error naming it.
pub fn write_hugetlb_limits(dir: &Path, cfg: &crate::config::Cgroups, file: &str) -> Result<()> {
    for (size, limit) in &cfg.hugetlb_limit {
        let name = format!("hugetlb.{size}.{file}");
        if !exists(dir, &name) {
            return Err(Error::new(format!(
                "hugetlb_limit: page size {size} is not supported here (no {})",
                dir.join(&name).display()
            )));
        }
        write(dir, &name, limit)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_files() {
        let s = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
        assert_eq!(keyed(s, "oom_kill"), Some(3));
        assert_eq!(keyed(s, "oom"), None);
        assert_eq!(keyed("populated 1\nfrozen 0\n", "frozen"), Some(0));
    }

    #[test]
    fn write_never_creates_and_names_the_file() {
        let dir = std::env::temp_dir().join(format!("nsinit-cgfs-{}", std::process::id()));
        let created = mkdir_all(&dir.join("a/b")).unwrap();
        assert_eq!(created, [dir.clone(), dir.join("a"), dir.join("a/b")]);
        assert_eq!(mkdir_all(&dir.join("a/b")).unwrap(), Vec::<PathBuf>::new());
        let err = write(&dir, "pids.max", 10).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "write 10 to {}/pids.max: No such file or directory",
                dir.display()
            )
        );
        assert!(!dir.join("pids.max").exists());
        std::fs::write(dir.join("pids.max"), "max\n").unwrap();
        write(&dir, "pids.max", 10).unwrap();
        assert_eq!(read(&dir, "pids.max").unwrap(), "10");
        assert_eq!(read_u64(&dir, "pids.max").unwrap(), Some(10));
        assert_eq!(read_u64(&dir, "nope").unwrap(), None);
        std::fs::write(dir.join("cgroup.procs"), "12\n34\n").unwrap();
        assert_eq!(procs(&dir).unwrap(), [12, 34]);
        assert_eq!(procs(&dir.join("a")).unwrap(), Vec::<i32>::new());
        std::fs::remove_file(dir.join("pids.max")).unwrap();
        std::fs::remove_file(dir.join("cgroup.procs")).unwrap();
        remove_tree(&dir, Duration::ZERO).unwrap();
        assert!(!dir.exists());
    }
}
