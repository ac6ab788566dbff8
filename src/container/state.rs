//! state.json: the record of a running container, written atomically next to
//! container.json once PID 1 runs and removed when it exits.
//!
//! A state.json is trusted only while its init is alive *and* has the recorded
//! start time (field 22 of /proc/PID/stat): a reused PID is detected.

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, Mode, OFlags};
use serde::{Deserialize, Serialize};

use crate::error::{Context, Error, Result};
use crate::network::NetState;

pub const STATE_FILE: &str = "state.json";

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    /// Host PID of the container's init (PID 1 inside a new PID namespace).
    pub init_pid: i32,
    /// Field 22 of /proc/PID/stat: clock ticks after boot.
    pub init_start_time: String,
    /// Host PID of the nsinit process supervising the container.
    #[serde(default)]
    pub nsinit_pid: i32,
    /// Namespace kind (`NEWNET`…) → `/proc/PID/ns/…` path, for the namespaces the container owns.
    #[serde(default)]
    pub namespace_paths: BTreeMap<String, String>,
    /// Controller → cgroup directory.
    #[serde(default)]
    pub cgroup_paths: BTreeMap<String, PathBuf>,
    #[serde(default)]
    pub network_state: NetState,
    /// FNV-1a of the container.json the container was started from.
    #[serde(default)]
    pub config_hash: String,
    #[serde(default)]
    pub rootfs: PathBuf,
    /// Seconds since the epoch.
    #[serde(default)]
    pub created: u64,
    #[serde(default)]
    pub tty: bool,
}

/// What a state.json on disk turned out to be.
#[derive(Debug)]
pub enum Found {
    None,
    Live(Box<State>),
    /// Its init is gone or its PID was reused: `why` says which.
    Stale {
        why: String,
    },
}

/// Read field 22 (starttime) of /proc/PID/stat.
pub fn start_time(pid: i32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm may contain spaces and parentheses: fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    // A zombie (or dead) init has exited: its namespaces are gone.
    if matches!(fields.next(), Some("Z" | "X" | "x")) {
        return None;
    }
    fields.nth(18).map(str::to_string)
}

/// Load and check `<dir>/state.json`.
pub fn find(dir: &Path) -> Result<Found> {
    let path = dir.join(STATE_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::None),
        Err(e) => return Err(e).ctx(|| format!("read {}", path.display())),
    };
    let state: State = match serde_json::from_str(&text) {
        Ok(s) => s,
        Err(e) => {
            return Ok(Found::Stale {
                why: format!("{} is not valid: {e}", path.display()),
            });
        }
    };
    Ok(match start_time(state.init_pid) {
        None => Found::Stale {
            why: format!("init {} is gone", state.init_pid),
        },
        Some(t) if t != state.init_start_time => Found::Stale {
            why: format!(
                "init {} is gone (its PID now belongs to another process)",
                state.init_pid
            ),
        },
        Some(_) => Found::Live(Box::new(state)),
    })
}

/// Write `<dir>/state.json` atomically (temp file + rename).
pub fn write(dir: &Path, state: &State) -> Result<()> {
    let path = dir.join(STATE_FILE);
    let tmp = dir.join(".state.json.tmp");
    let mut text =
        serde_json::to_vec_pretty(state).map_err(|e| Error::new(format!("encode state: {e}")))?;
    text.push(b'\n');
    std::fs::write(&tmp, &text).ctx(|| format!("write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).ctx(|| format!("rename {} to {}", tmp.display(), path.display()))
}

/// Remove `<dir>/state.json` (missing is fine).
pub fn remove(dir: &Path) -> Result<()> {
    match std::fs::remove_file(dir.join(STATE_FILE)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).ctx(|| format!("remove {}", dir.join(STATE_FILE).display()))
        }
        _ => Ok(()),
    }
}

/// An exclusive lock on the container directory (flock on the directory
/// itself, so no lock file is left behind). Released on drop.
pub struct DirLock(#[allow(dead_code)] OwnedFd);

pub fn lock(dir: &Path) -> Result<DirLock> {
    let fd = rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| format!("open {}", dir.display()))?;
    rustix::fs::flock(&fd, FlockOperation::LockExclusive)
        .ctx(|| format!("lock {}", dir.display()))?;
    Ok(DirLock(fd))
}

/// Load the live state or explain why there is none.
pub fn require_live(dir: &Path) -> Result<State> {
    match find(dir)? {
        Found::Live(s) => Ok(*s),
        Found::None => Err(Error::new(format!(
            "no running container in {} (state.json absent)",
            dir.display()
        ))),
        Found::Stale { why } => Err(Error::new(format!(
            "no running container in {}: {why}",
            dir.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_of_self_is_stable() {
        let me = std::process::id() as i32;
        let t = start_time(me).unwrap();
        assert!(t.parse::<u64>().is_ok(), "{t}");
        assert_eq!(start_time(me), Some(t));
        assert_eq!(start_time(i32::MAX), None);
    }

    #[test]
    fn stale_state_is_detected_and_live_state_trusted() {
        let dir = std::env::temp_dir().join(format!("nsinit-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(matches!(find(&dir).unwrap(), Found::None));
        let me = std::process::id() as i32;
        let mut s = State {
            init_pid: me,
            init_start_time: start_time(me).unwrap(),
            ..State::default()
        };
        write(&dir, &s).unwrap();
        assert!(matches!(find(&dir).unwrap(), Found::Live(_)));
        s.init_start_time = "1".into();
        write(&dir, &s).unwrap();
        match find(&dir).unwrap() {
            Found::Stale { why } => assert!(why.contains("another process"), "{why}"),
            other => panic!("{other:?}"),
        }
        s.init_pid = i32::MAX;
        write(&dir, &s).unwrap();
        assert!(matches!(find(&dir).unwrap(), Found::Stale { .. }));
        remove(&dir).unwrap();
        assert!(matches!(find(&dir).unwrap(), Found::None));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
