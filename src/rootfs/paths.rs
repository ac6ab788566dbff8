//! Safe path resolution inside the container's root.
//!
//! Every path from the config is resolved with `openat2(RESOLVE_IN_ROOT)`
//! against a descriptor of the rootfs, so a symlink in the rootfs pointing at
//! `/etc` or `../../` resolves inside the rootfs, never on the host. Mounts then
//! target the resolved descriptor through `/proc/self/fd/N`.

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{Mode, OFlags, ResolveFlags, openat2};
use rustix::io::Errno;

use crate::error::{Context, Result};

const RESOLVE: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

/// `openat2`, tried again while it fails with EAGAIN: with RESOLVE_IN_ROOT
/// or RESOLVE_BENEATH the kernel gives up when any rename or mount on the
/// system raced the walk (it cannot then prove `..` stayed inside), which
/// on a host starting containers in parallel is routine, not an attack
/// (openat2(2): "the caller may choose to retry"). Bounded; the last
/// EAGAIN is the error.
pub fn openat2_retry<P: rustix::path::Arg + Copy>(
    dir: impl AsFd,
    path: P,
    flags: OFlags,
    mode: Mode,
    resolve: ResolveFlags,
) -> Result<OwnedFd, Errno> {
    let mut tries = 0;
    loop {
        match openat2(&dir, path, flags, mode, resolve) {
            Err(Errno::AGAIN) if tries < 64 => tries += 1,
            r => return r,
        }
    }
}

/// Open `path` (absolute inside the container) as an `O_PATH` descriptor.
pub fn open_in_root(root: BorrowedFd<'_>, path: &str) -> Result<OwnedFd, Errno> {
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() { "." } else { rel };
    openat2_retry(
        root,
        rel,
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        RESOLVE,
    )
}

/// `/proc/self/fd/N` for a descriptor, usable as a mount source or target.
pub fn fd_path(fd: impl AsFd) -> CString {
    CString::new(format!("/proc/self/fd/{}", crate::sys::raw::fd_number(fd)))
        .expect("a formatted path has no NUL")
}

/// The canonical absolute path of the existing `path`, as `realpath`:
/// opened (following links) and named back by the kernel through
/// `/proc/self/fd`. Two calls, where `std::fs::canonicalize` reads a link
/// per component and has musl allocate the result (an mmap and a munmap on
/// every start). Without a usable /proc, std's.
pub fn canonical(path: &std::path::Path) -> std::io::Result<std::path::PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    let fd = rustix::fs::open(path, OFlags::PATH | OFlags::CLOEXEC, Mode::empty())?;
    match rustix::fs::readlink(fd_path(&fd).as_c_str(), Vec::new()) {
        Ok(name)
            if name.as_bytes().starts_with(b"/") && !name.as_bytes().ends_with(b" (deleted)") =>
        {
            Ok(std::ffi::OsString::from_vec(name.into_bytes()).into())
        }
        _ => std::fs::canonicalize(path),
    }
}

/// Split `/a/b/c` into (`/a/b`, `c`).
pub fn split_parent(path: &str) -> (&str, &str) {
    let path = path.trim_end_matches('/');
    match path.rfind('/') {
        Some(0) => ("/", &path[1..]),
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("/", path),
    }
}

/// `mkdir -p` inside the root; returns an `O_PATH` descriptor of the directory.
/// A dangling symlink on the way is followed (inside the root) and its
/// target created, as `mkdir -p` through the link would.
pub fn mkdir_all_in_root(root: BorrowedFd<'_>, path: &str) -> Result<OwnedFd> {
    mkdir_all_depth(root, path, 0)
}

fn mkdir_all_depth(root: BorrowedFd<'_>, path: &str, depth: u32) -> Result<OwnedFd> {
    match open_in_root(root, path) {
        Ok(fd) => return Ok(fd),
        Err(Errno::NOENT) => {}
        Err(e) => return Err(e).ctx(|| format!("open {path} in the rootfs")),
    }
    if depth > 40 {
        return Err(Errno::LOOP).ctx(|| format!("mkdir {path} in the rootfs"));
    }
    let mut parent = open_in_root(root, "/").ctx(|| "open the rootfs")?;
    let mut prefix = String::new();
    for comp in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
        let dir_of_comp = if prefix.is_empty() {
            "/".to_string()
        } else {
            prefix.clone()
        };
        prefix.push('/');
        prefix.push_str(comp);
        match rustix::fs::mkdirat(&parent, comp, Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(e).ctx(|| format!("mkdir {prefix} in the rootfs")),
        }
        parent = match open_in_root(root, &prefix) {
            Err(Errno::NOENT) => {
                // A dangling symlink: create its target, resolved inside the root.
                let target = rustix::fs::readlinkat(&parent, comp, Vec::new())
                    .ctx(|| format!("readlink {prefix} in the rootfs"))?;
                let target = target.to_string_lossy();
                let resolved = if target.starts_with('/') {
                    target.into_owned()
                } else {
                    format!("{dir_of_comp}/{target}")
                };
                mkdir_all_depth(root, &resolved, depth + 1)?;
                open_in_root(root, &prefix).ctx(|| format!("open {prefix} in the rootfs"))?
            }
            r => r.ctx(|| format!("open {prefix} in the rootfs"))?,
        };
    }
    Ok(parent)
}

/// Make sure a mount target exists (a directory, or an empty file when `dir` is
/// false) and return an `O_PATH` descriptor of it.
pub fn create_target(root: BorrowedFd<'_>, path: &str, dir: bool) -> Result<OwnedFd> {
    if dir {
        return mkdir_all_in_root(root, path);
    }
    match open_in_root(root, path) {
        Ok(fd) => return Ok(fd),
        Err(Errno::NOENT) => {}
        Err(e) => return Err(e).ctx(|| format!("open {path} in the rootfs")),
    }
    let (parent, name) = split_parent(path);
    let pfd = mkdir_all_in_root(root, parent)?;
    let flags = OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
    match rustix::fs::openat(&pfd, name, flags, Mode::from_raw_mode(0o644)) {
        Ok(_) | Err(Errno::EXIST) => {}
        Err(e) => return Err(e).ctx(|| format!("create {path} in the rootfs")),
    }
    open_in_root(root, path).ctx(|| format!("open {path} in the rootfs"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_parent_and_name() {
        assert_eq!(split_parent("/dev/null"), ("/dev", "null"));
        assert_eq!(split_parent("/tmp"), ("/", "tmp"));
        assert_eq!(split_parent("/a/b/c/"), ("/a/b", "c"));
    }

    /// The kernel's name for an opened path is realpath's: links, `.` and
    /// `..` resolved; a missing path is an error, as with std.
    #[test]
    fn canonical_names_a_path_as_realpath_does() {
        let dir = std::env::temp_dir().join(format!("nsinit-canon-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("a/b")).unwrap();
        std::os::unix::fs::symlink("a/b", dir.join("link")).unwrap();
        let odd = dir.join("link/../b/./");
        assert_eq!(
            canonical(&odd).unwrap(),
            std::fs::canonicalize(&odd).unwrap()
        );
        assert_eq!(
            canonical(&odd).unwrap(),
            std::fs::canonicalize(&dir).unwrap().join("a/b")
        );
        let missing = canonical(&dir.join("nope")).unwrap_err();
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let dir = std::env::temp_dir().join(format!("nsinit-paths-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("real")).unwrap();
        std::os::unix::fs::symlink("/etc", dir.join("evil")).unwrap();
        std::os::unix::fs::symlink("../../../../..", dir.join("up")).unwrap();
        let root = rustix::fs::open(&dir, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        // /evil/x → <root>/etc/x, created inside the root, not in the host's /etc.
        create_target(root.as_fd(), "/evil/nsinit-test-file", false).unwrap();
        assert!(dir.join("etc/nsinit-test-file").exists());
        assert!(!std::path::Path::new("/etc/nsinit-test-file").exists());
        // /up/tmpdir → <root>/tmpdir.
        mkdir_all_in_root(root.as_fd(), "/up/tmpdir").unwrap();
        assert!(dir.join("tmpdir").is_dir());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A `..` walked while anything on the system is renamed makes the
    /// kernel answer EAGAIN to RESOLVE_IN_ROOT; containers started in
    /// parallel (each renaming its record files) must not fail on it.
    #[test]
    fn resolution_survives_renames_elsewhere() {
        let dir = std::env::temp_dir().join(format!("nsinit-paths-race-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("root/real")).unwrap();
        std::os::unix::fs::symlink("../../..", dir.join("root/real/up")).unwrap();
        let root = rustix::fs::open(
            dir.join("root"),
            OFlags::PATH | OFlags::DIRECTORY,
            Mode::empty(),
        )
        .unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let churn = {
            let (stop, a, b) = (stop.clone(), dir.join("a"), dir.join("b"));
            std::fs::write(&a, "").unwrap();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = std::fs::rename(&a, &b);
                    let _ = std::fs::rename(&b, &a);
                }
            })
        };
        let mut raw_again = 0;
        for _ in 0..20_000 {
            let raw = openat2(&root, "real/up/real", OFlags::PATH, Mode::empty(), RESOLVE);
            raw_again += usize::from(matches!(raw, Err(Errno::AGAIN)));
            open_in_root(root.as_fd(), "/real/up/real").unwrap();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        churn.join().unwrap();
        eprintln!("plain openat2 answered EAGAIN {raw_again} times of 20000");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
