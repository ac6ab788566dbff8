//! Kernel parameters of the container's namespaces: sysctls under the
//! container's own /proc/sys, and the offsets of a new time namespace.

use rustix::fs::{Mode, OFlags, ResolveFlags};

use crate::error::{Context, Error, Result};

/// Write each `key = value` to `/proc/sys/KEY` (dots become slashes) in the
/// container, after its mounts. The file is resolved inside the root without
/// any symlink and must be on procfs, so a rootfs cannot redirect the write.
pub fn write_sysctls(sysctls: &[(String, String)]) -> Result<()> {
    if sysctls.is_empty() {
        return Ok(());
    }
    let root = rustix::fs::open(
        c"/",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| "open /")?;
    for (key, value) in sysctls {
        let path = format!("proc/sys/{}", key.replace('.', "/"));
        let fd = super::paths::openat2_retry(
            &root,
            path.as_str(),
            OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
        )
        .ctx(|| format!("sysctl {key}: open /{path}"))?;
        let fs = rustix::fs::fstatfs(&fd).ctx(|| format!("sysctl {key}: statfs /{path}"))?;
        if fs.f_type != rustix::fs::PROC_SUPER_MAGIC {
            return Err(Error::new(format!(
                "sysctl {key}: /{path} is not on procfs: refusing to write it"
            )));
        }
        rustix::io::write(&fd, value.as_bytes()).ctx(|| format!("sysctl {key}={value}"))?;
    }
    Ok(())
}

/// Write the offsets of the time namespace this process unshared for its
/// children (`/proc/self/timens_offsets`), before any process enters it.
pub fn write_time_offsets(offsets: &[(String, i64, u32)]) -> Result<()> {
    if offsets.is_empty() {
        return Ok(());
    }
    let text: String = offsets
        .iter()
        .map(|(clock, secs, nanos)| format!("{clock} {secs} {nanos}\n"))
        .collect();
    std::fs::write("/proc/self/timens_offsets", text).ctx(|| "write /proc/self/timens_offsets")
}
