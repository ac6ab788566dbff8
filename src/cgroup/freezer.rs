//! Freezing and thawing (v1 `freezer.state`, v2 `cgroup.freeze`), and
//! killing every process of a cgroup (v2 `cgroup.kill`, v1 freeze + SIGKILL).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::fs;
use crate::error::{Error, Result};

/// How long a freeze, thaw or kill may take before nsinit gives up.
pub const PATIENCE: Duration = Duration::from_secs(10);

const POLL: Duration = Duration::from_millis(1);

/// Write `FROZEN` or `THAWED` to a v1 `freezer.state` and wait until the
/// state reads back (it passes through `FREEZING` while tasks are caught).
/// The write is repeated now and then, as a task forking at the wrong
/// moment can leave the cgroup stuck in `FREEZING`. A freeze that times out
/// is undone.
pub fn set_state_v1(dir: &Path, state: &str) -> Result<()> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        fs::write(dir, "freezer.state", state)?;
        for _ in 0..100 {
            let now = fs::read(dir, "freezer.state")?;
            if now == state {
                return Ok(());
            }
            if Instant::now() >= deadline {
                if state == "FROZEN" {
                    let _ = fs::write(dir, "freezer.state", "THAWED");
                }
                return Err(Error::new(format!(
                    "write {state} to {}: timed out after {}s, the state is still {now}",
                    dir.join("freezer.state").display(),
                    PATIENCE.as_secs()
                )));
            }
            std::thread::sleep(POLL);
        }
    }
}

/// Write `1`/`0` to a v2 `cgroup.freeze` and wait for `frozen 1`/`frozen 0`
/// in `cgroup.events`. A freeze that times out is undone.
pub fn set_frozen_v2(dir: &Path, frozen: bool) -> Result<()> {
    let want = u64::from(frozen);
    fs::write(dir, "cgroup.freeze", want)?;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let events = fs::read(dir, "cgroup.events")?;
        if fs::keyed(&events, "frozen") == Some(want) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            if frozen {
                let _ = fs::write(dir, "cgroup.freeze", 0);
            }
            return Err(Error::new(format!(
                "write {want} to {}: timed out after {}s waiting for \"frozen {want}\" in cgroup.events",
                dir.join("cgroup.freeze").display(),
                PATIENCE.as_secs()
            )));
        }
        std::thread::sleep(POLL);
    }
}

/// Wait until `list()` (the cgroup's processes) is empty.
pub fn wait_empty(what: &Path, mut list: impl FnMut() -> Result<Vec<i32>>) -> Result<()> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = list()?;
        if left.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::new(format!(
                "kill the processes of {}: {} still there after {}s (pids {left:?})",
                what.display(),
                left.len(),
                PATIENCE.as_secs()
            )));
        }
        std::thread::sleep(POLL);
    }
}

/// v2: `cgroup.kill` SIGKILLs the whole subtree at once, including processes
/// forking as it runs. Tasks frozen by a v1 freezer (a paused container on a
/// hybrid machine) only die once thawed, so `freezer` is thawed after the kill.
pub fn kill_v2(dir: &Path, freezer: Option<&Freezer>) -> Result<()> {
    fs::write(dir, "cgroup.kill", 1)?;
    if let Some(f @ Freezer::V1(_)) = freezer {
        f.set(false)?;
    }
    wait_empty(dir, || fs::procs(dir))
}

/// The freezer of a container's cgroups: v1 `freezer.state` or v2 `cgroup.freeze`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Freezer {
    V1(PathBuf),
    V2(PathBuf),
}

impl Freezer {
    /// Freeze (`true`) or thaw, waiting until the state is reached.
    pub fn set(&self, frozen: bool) -> Result<()> {
        match self {
            Freezer::V1(dir) => set_state_v1(dir, if frozen { "FROZEN" } else { "THAWED" }),
            Freezer::V2(dir) => set_frozen_v2(dir, frozen),
        }
    }
}

/// Without `cgroup.kill`: SIGKILL every listed process, with the cgroup
/// frozen (when there is a freezer) so none can fork a new one meanwhile,
/// then thaw so the signals are delivered; repeat until the cgroup is empty.
pub fn kill_each(
    freezer: Option<&Freezer>,
    list: &mut dyn FnMut() -> Result<Vec<i32>>,
    what: &Path,
) -> Result<()> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let pids = list()?;
        if pids.is_empty() {
            return Ok(());
        }
        if let Some(f) = freezer {
            f.set(true)?;
        }
        let mut killed = Ok(());
        for pid in list()? {
            match crate::sys::kill_raw(pid, linux_raw_sys::general::SIGKILL as i32) {
                Ok(()) | Err(rustix::io::Errno::SRCH) => {}
                Err(e) => killed = Err(Error::sys(format!("kill -KILL {pid}"), e)),
            }
        }
        if let Some(f) = freezer {
            f.set(false)?;
        }
        killed?;
        if Instant::now() >= deadline {
            return Err(Error::new(format!(
                "kill the processes of {}: {} still there after {}s",
                what.display(),
                pids.len(),
                PATIENCE.as_secs()
            )));
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_state_already_reached() {
        let dir = std::env::temp_dir().join(format!("nsinit-freezer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("freezer.state"), "THAWED\n").unwrap();
        // A plain file reads back what was written, like a freezer that froze at once.
        set_state_v1(&dir, "FROZEN").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("freezer.state")).unwrap(),
            "FROZEN"
        );
        std::fs::write(dir.join("cgroup.freeze"), "0\n").unwrap();
        std::fs::write(dir.join("cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
        set_frozen_v2(&dir, true).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("cgroup.freeze")).unwrap(),
            "1"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn empty_cgroup_needs_no_kill() {
        let mut calls = 0;
        let mut list = || {
            calls += 1;
            Ok(Vec::new())
        };
        kill_each(None, &mut list, Path::new("/x")).unwrap();
        assert_eq!(calls, 1);
    }
}
