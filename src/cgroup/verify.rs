//! Cgroup paths read back from a record are checked before nsinit acts on
//! them (issue 11): each must be a plain absolute path strictly below a
//! cgroup mount point of this host, and, where it exists, a directory on
//! cgroupfs (`fstatfs`: `CGROUP_SUPER_MAGIC` or `CGROUP2_SUPER_MAGIC`),
//! reached without a symbolic link. Every file nsinit then opens there is
//! opened without following links ([`super::fs::open`]).

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use linux_raw_sys::general as g;
use rustix::fs::OFlags;
use rustix::io::Errno;

use super::{fs, layout};
use crate::error::{Context, Error, Result};

/// The cgroup mount points of this host (`/proc/self/mountinfo`).
pub fn host_mounts() -> Result<Vec<PathBuf>> {
    let mountinfo = layout::read_proc("/proc/self/mountinfo")?;
    Ok(layout::cgroup_mounts(&mountinfo))
}

/// Where `path` may be used as a container's cgroup: below one of `mounts`.
pub fn check_location(path: &Path, mounts: &[PathBuf]) -> Result<()> {
    // Byte-wise: `Path::components` would quietly drop a `.`.
    let bytes = path.as_os_str().as_bytes();
    let plain = bytes.starts_with(b"/")
        && bytes
            .split(|b| *b == b'/')
            .skip(1)
            .all(|c| !c.is_empty() && c != b"." && c != b"..");
    if !plain {
        return Err(Error::new(format!(
            "cgroup path {} refused: not a plain absolute path",
            path.display()
        )));
    }
    if !mounts.iter().any(|m| path.starts_with(m) && path != m) {
        return Err(Error::new(format!(
            "cgroup path {} refused: not below a cgroup mount point of this host ({})",
            path.display(),
            mounts
                .iter()
                .map(|m| m.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(())
}

/// Is `path` (when it exists) a directory on cgroupfs, reached without links?
pub fn check_cgroupfs(path: &Path) -> Result<()> {
    let fd = match fs::open(path, OFlags::PATH | OFlags::DIRECTORY) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(()),
        Err(e) => {
            return Err(Error::sys(
                format!("cgroup path {} refused: open", path.display()),
                e,
            ));
        }
    };
    let st = rustix::fs::fstatfs(&fd).ctx(|| format!("fstatfs {}", path.display()))?;
    let magic = st.f_type as i64;
    if magic != i64::from(g::CGROUP_SUPER_MAGIC) && magic != i64::from(g::CGROUP2_SUPER_MAGIC) {
        return Err(Error::new(format!(
            "cgroup path {} refused: not on cgroupfs (filesystem magic {magic:#x})",
            path.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_outside_the_mounts_or_with_dots_are_refused() {
        let mounts = [
            PathBuf::from("/sys/fs/cgroup/pids"),
            PathBuf::from("/sys/fs/cgroup/unified"),
        ];
        check_location(Path::new("/sys/fs/cgroup/pids/nsinit/c1"), &mounts).unwrap();
        for bad in [
            "/tmp/x",
            "/sys/fs/cgroup/pids",
            "/sys/fs/cgroup/pids/../../../../etc",
            "/sys/fs/cgroup/pids/./c1",
            "sys/fs/cgroup/pids/c1",
            "/sys/fs/cgroup/pidsx/c1",
        ] {
            let err = check_location(Path::new(bad), &mounts)
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with(&format!("cgroup path {bad} refused: ")),
                "{err}"
            );
        }
    }

    #[test]
    fn a_directory_off_cgroupfs_is_refused() {
        let dir = std::env::temp_dir();
        let err = check_cgroupfs(&dir).unwrap_err().to_string();
        assert!(err.contains("not on cgroupfs"), "{err}");
        check_cgroupfs(&dir.join("nsinit-no-such-cgroup-dir")).unwrap();
    }
}
