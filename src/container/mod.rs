//! The container lifecycle: create (the parent and child step lists), join,
//! state.json, supervision of the running container, and teardown.

mod child;
pub mod create;
pub mod delete;
pub mod hooks;
pub mod idmap;
pub mod join;
pub mod nspath;
pub mod process;
pub mod record;
pub mod rootless;
pub mod state;
pub mod supervise;
pub mod sync;

use std::path::PathBuf;

use crate::error::{Context, EXIT_RUNTIME, Error, Result};

/// The container directory: `--root DIR`, else `$data_path`, else the cwd.
///
/// It must exist and be a directory, and it is canonicalised (realpath: no
/// symlink, `.` or `..` left), so one container directory has exactly one name
/// wherever nsinit is started from. Failing here exits 125 like every runtime
/// failure: the same check applies to `$data_path` and the cwd, not only to
/// the option.
pub fn resolve_dir(root: Option<PathBuf>) -> Result<PathBuf> {
    let (dir, from) = match root {
        Some(r) => (r, "--root"),
        None => match std::env::var_os("data_path").filter(|v| !v.is_empty()) {
            Some(v) => (PathBuf::from(v), "$data_path"),
            None => (PathBuf::from("."), "the current directory"),
        },
    };
    let real = crate::rootfs::paths::canonical(&dir)
        .ctx(|| format!("container directory {} ({from})", dir.display()))?;
    if !real.is_dir() {
        return Err(Error::new(format!(
            "container directory {} ({from}): not a directory",
            dir.display()
        )));
    }
    Ok(real)
}

/// The exit status a shell would show: the code, or 128+N for signal N.
pub fn exit_code(status: rustix::process::WaitStatus) -> u8 {
    if let Some(code) = status.exit_status() {
        code as u8
    } else if let Some(sig) = status.terminating_signal() {
        (128 + sig) as u8
    } else {
        EXIT_RUNTIME
    }
}

/// Host PIDs in the same PID namespace as `init` (for `ps` without cgroups).
pub fn same_pid_namespace(init: i32) -> Vec<i32> {
    let Ok(target) = std::fs::read_link(format!("/proc/{init}/ns/pid")) else {
        return vec![];
    };
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/ns/pid")).is_ok_and(|l| l == target))
        .collect()
}
