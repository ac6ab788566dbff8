//! The container lifecycle: create (the parent and child step lists), join,
//! state.json, supervision of the running container, and teardown.

pub mod create;
pub mod delete;
pub mod join;
pub mod process;
pub mod record;
pub mod state;
pub mod supervise;
pub mod sync;

use std::path::{Path, PathBuf};

use crate::error::{Context, Result};

/// The container directory: `--root DIR`, else `$data_path`, else the cwd; absolute.
pub fn resolve_dir(root: Option<PathBuf>) -> Result<PathBuf> {
    let dir = root
        .or_else(|| {
            std::env::var_os("data_path")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from("."));
    std::path::absolute(&dir)
        .ctx(|| format!("resolve {}", dir.display()))
        .map(|d| normalize(&d))
}

/// Drop `.` components (the path is already absolute).
fn normalize(p: &Path) -> PathBuf {
    p.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// The exit status a shell would show: the code, or 128+N for signal N.
pub fn exit_code(status: rustix::process::WaitStatus) -> u8 {
    if let Some(code) = status.exit_status() {
        code as u8
    } else if let Some(sig) = status.terminating_signal() {
        (128 + sig) as u8
    } else {
        1
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
