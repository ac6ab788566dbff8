//! Leak probes of the soak tests: everything a test's containers could
//! leave on the host, found by the test's tag, and a scrub that removes it
//! by force so a failed test does not spoil the next one.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::VETH_PREFIX;
use crate::common::{self, cgroup_dirs_named};
use crate::network::NetNs;

/// What a test left behind.
#[derive(Debug, Default)]
pub(super) struct Leaks {
    pub cgroups: Vec<PathBuf>,
    pub veths: Vec<String>,
    pub mounts: Vec<String>,
    pub processes: Vec<String>,
    pub state_files: Vec<PathBuf>,
    pub records: Vec<PathBuf>,
}

impl Leaks {
    pub fn is_empty(&self) -> bool {
        self.cgroups.is_empty()
            && self.veths.is_empty()
            && self.mounts.is_empty()
            && self.processes.is_empty()
            && self.state_files.is_empty()
            && self.records.is_empty()
    }

    pub fn summary(&self) -> String {
        format!(
            "{} cgroup dirs, {} host veths, {} mounts, {} processes, {} state.json, {} records",
            self.cgroups.len(),
            self.veths.len(),
            self.mounts.len(),
            self.processes.len(),
            self.state_files.len(),
            self.records.len()
        )
    }
}

/// Everything carrying `tag`: cgroup directories in every hierarchy, host
/// veths in `host`, mounts of the host, live processes (nsinit's own and
/// the containers'), state.json in `dirs`, and records under /run/nsinit
/// that name one of the directories.
pub(super) fn scan(tag: &str, host: Option<&NetNs>, dirs: &[&Path]) -> Leaks {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    Leaks {
        cgroups: cgroup_dirs_named(tag),
        veths: host.map_or(Vec::new(), |h| {
            h.links()
                .into_iter()
                .filter(|l| l.starts_with(VETH_PREFIX))
                .collect()
        }),
        mounts: mountinfo
            .lines()
            .filter(|l| l.contains(tag))
            .map(String::from)
            .collect(),
        processes: common::processes_with(tag)
            .into_iter()
            .map(|pid| {
                let c = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                format!("{pid}: {}", String::from_utf8_lossy(&c).replace('\0', " "))
            })
            .collect(),
        state_files: dirs
            .iter()
            .map(|d| d.join("state.json"))
            .filter(|p| p.exists())
            .collect(),
        records: records_naming(tag),
    }
}

/// Files under /run/nsinit (where the container records move, issue 12.8)
/// whose name or content carries `tag`.
fn records_naming(tag: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![PathBuf::from("/run/nsinit")];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().contains(tag)
                || (t.is_file()
                    && e.metadata().is_ok_and(|m| m.len() < 1 << 20)
                    && std::fs::read(&p).is_ok_and(|c| String::from_utf8_lossy(&c).contains(tag)))
            {
                found.push(p);
            }
        }
    }
    found
}

/// Removes by force whatever carries the tag (processes, mounts, cgroups),
/// also when an assertion failed: the machine stays usable for the next test.
pub(super) struct Scrub(pub String);

impl Drop for Scrub {
    fn drop(&mut self) {
        scrub(&self.0);
    }
}

/// SIGKILL every process carrying `tag` or in a cgroup named with it, then
/// remove those cgroups, the mounts and the records (bounded retries).
pub(super) fn scrub(tag: &str) {
    let kill = |pid: i32| {
        if let Some(pid) = rustix::process::Pid::from_raw(pid) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    };
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    for l in mountinfo.lines().filter(|l| l.contains(tag)) {
        if let Some(point) = l.split(' ').nth(4) {
            let _ = Command::new("umount").args(["-l", point]).status();
        }
    }
    let start = Instant::now();
    loop {
        common::processes_with(tag).into_iter().for_each(kill);
        // Deepest first; a frozen v1 cgroup is thawed so its tasks can die.
        let mut dirs = cgroup_dirs_named(tag);
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for d in &dirs {
            let _ = std::fs::write(d.join("freezer.state"), "THAWED");
            let procs = std::fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default();
            procs.lines().filter_map(|p| p.parse().ok()).for_each(kill);
            let _ = std::fs::remove_dir(d);
        }
        if (common::processes_with(tag).is_empty() && cgroup_dirs_named(tag).is_empty())
            || start.elapsed() > Duration::from_secs(10)
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    for r in records_naming(tag) {
        let _ = std::fs::remove_file(r);
    }
}
