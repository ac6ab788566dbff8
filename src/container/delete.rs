//! Teardown from the record: what a stopped, failed or abandoned container
//! leaves (processes in its cgroups, cgroup directories, host veths, the
//! state.json marker, the record itself) is removed from what the record
//! names, under the record's lock. One function for every path: a failed
//! start, the supervisor after PID 1 exits, a stale record found by the next
//! `exec`, and `nsinit destroy`.
//!
//! The marker: while the container runs, a `state.json` in the container
//! directory tells people and scripts it does (libcontainer's contract). It
//! is written without following links and never read back by nsinit.

use std::path::Path;

use rustix::fs::{Mode, OFlags};

use super::record::{self, Record};
use super::state::State;
use crate::cgroup::CgroupManager;
use crate::error::{Context, Result};
use crate::network;

/// The marker's name in the container directory.
pub const MARKER: &str = "state.json";

/// Remove what `st` names; `kill` first kills every process left in its
/// cgroups (needed without a PID namespace, where PID 1's death does not
/// take the others along). Every step runs; the first error is returned.
pub fn teardown(record: &Record, st: &State, kill: bool) -> Result<()> {
    teardown_with(record, st, kill, None)
}

/// [`teardown`], with the creator's own cgroup manager when it is still
/// alive: where the record names exactly its cgroups, it removes them
/// without re-verifying what it made itself (no mountinfo read, no
/// openat2 and statfs per directory).
fn teardown_with(
    record: &Record,
    st: &State,
    kill: bool,
    live: Option<&CgroupManager>,
) -> Result<()> {
    let mut first_err = None;
    let mut note = |r: Result<()>| {
        if let Err(e) = r {
            first_err.get_or_insert(e);
        }
    };
    if st.cgroup.paths.is_empty() && !st.cgroup_planned.is_empty() {
        note(CgroupManager::remove_planned(&st.cgroup_planned));
    }
    if !st.cgroup.paths.is_empty() {
        let live = live.filter(|cg| cg.record() == st.cgroup);
        let rebuilt;
        let cg = match live {
            Some(cg) => Ok(cg),
            None => {
                rebuilt = CgroupManager::from_record(&st.cgroup);
                rebuilt.as_ref().map_err(Clone::clone)
            }
        };
        match cg {
            Ok(cg) => {
                if kill {
                    note(cg.kill_all());
                }
                note(cg.destroy());
            }
            Err(e) => note(Err(e)),
        }
    }
    note(network::teardown_host(&st.network_state));
    note(crate::rootfs::unmount_host_mounts(
        &st.rootfs,
        &st.host_mounts,
        &st.host_mount_ids,
    ));
    // A marker the container replaced by something unremovable must not
    // keep the record (and so the next start) hostage: warn only.
    if !st.dir.as_os_str().is_empty()
        && let Err(e) = remove_marker(&st.dir)
    {
        crate::log::warn(&e);
    }
    match first_err {
        None => record.remove(),
        Some(e) => Err(e),
    }
}

/// The supervisor's teardown once PID 1 has exited, under the record's
/// lock. The record decides while it is this supervisor's; when it was
/// destroyed meanwhile (`destroy --force`) or cannot be read, `own` — the
/// supervisor's own copy of what it made — does, so nothing is left behind;
/// a record of another container started in the directory since is left
/// alone.
/// `live` is the supervisor's own cgroup manager (see [`teardown_with`]).
pub fn teardown_own(
    store: &Path,
    key: &str,
    own: &State,
    kill: bool,
    live: Option<&CgroupManager>,
) -> Result<()> {
    let record = Record::open_in(store, key, true)?;
    match record.state() {
        Ok(Some(cur))
            if (cur.nsinit_pid, &cur.nsinit_start_time)
                == (own.nsinit_pid, &own.nsinit_start_time) =>
        {
            teardown_with(&record, &cur, kill, live)
        }
        Ok(Some(_)) => Ok(()),
        Ok(None) => teardown_with(&record, own, kill, live),
        Err(e) => {
            crate::log::warn(&format_args!("{e}: removing what this container made"));
            teardown_with(&record, own, kill, live)
        }
    }
}

fn open_dir(dir: &Path) -> Result<Option<std::os::fd::OwnedFd>> {
    match rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => Ok(Some(fd)),
        Err(rustix::io::Errno::NOENT) => Ok(None),
        Err(e) => Err(e).ctx(|| format!("open {}", dir.display())),
    }
}

/// SIGKILL the recorded init if it lives (thawing it when paused, or it
/// could not die) and wait, bounded, for it to be gone.
pub fn kill_init(st: &State) -> Result<()> {
    let super::state::Init::Alive(pidfd) = st.init() else {
        return Ok(());
    };
    crate::sys::raw::pidfd_kill(&pidfd, 9).ctx(|| format!("kill {} with signal 9", st.init_pid))?;
    if let Ok(cg) = st.cgroup() {
        cg.thaw_for_kill()?;
    }
    wait_exit(&pidfd);
    Ok(())
}

/// Wait (bounded) for the process of `pidfd` to exit: a pidfd polls
/// readable once it has.
pub fn wait_exit(pidfd: &std::os::fd::OwnedFd) {
    let mut fds = [rustix::event::PollFd::new(
        pidfd,
        rustix::event::PollFlags::IN,
    )];
    let limit = rustix::time::Timespec {
        tv_sec: 10,
        tv_nsec: 0,
    };
    let _ = rustix::event::poll(&mut fds, Some(&limit));
}

/// Write the marker `DIR/state.json` (atomically, without following links).
pub fn write_marker(dir: &Path, st: &State) -> Result<()> {
    let fd = open_dir(dir)?.ok_or_else(|| {
        crate::error::Error::new(format!("container directory {} is gone", dir.display()))
    })?;
    let mut text = serde_json::to_vec_pretty(&st.view())
        .map_err(|e| crate::error::Error::new(format!("encode state: {e}")))?;
    text.push(b'\n');
    record::write_file_at(&fd, MARKER, &text)
        .ctx(|| format!("container directory {}", dir.display()))
}

/// Remove the marker (whatever the container put at that name: it is in
/// the container's own directory, and nothing is followed).
pub fn remove_marker(dir: &Path) -> Result<()> {
    match open_dir(dir)? {
        Some(fd) => record::unlink_at(&fd, MARKER)
            .and_then(|()| record::unlink_at(&fd, &format!(".{MARKER}.tmp")))
            .ctx(|| format!("container directory {}", dir.display())),
        None => Ok(()),
    }
}
