//! The container's state: its status, its init's identity and what teardown
//! needs, persisted in the container record (see [`super::record`]).
//!
//! A PID from the record is acted on only through a pidfd opened first and
//! then checked against the recorded start time (field 22 of /proc/PID/stat)
//! and namespace inodes: a reused PID, or a zombie, reads as gone.

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

use rustix::io::Errno;
use rustix::process::{Pid, PidfdFlags};
use serde::{Deserialize, Serialize};

use crate::cgroup::CgroupRecord;
use crate::config::{Config, Network, Ns};
use crate::network::NetState;

/// Where a container is in its lifecycle (as recorded; `paused` and
/// `stopped` are read off the kernel, see [`State::observe`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// nsinit is building it: cgroups, network, root, process.
    #[default]
    Creating,
    /// Its process is set up and waits to be started.
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
    /// Another process may be put into it.
    pub fn can_join(self) -> bool {
        self == Status::Running
    }
    /// Signals reach it (a paused container's are queued until it thaws).
    pub fn can_kill(self) -> bool {
        matches!(self, Status::Created | Status::Running | Status::Paused)
    }
    /// Its leftovers may be removed without `--force`.
    pub fn can_delete(self) -> bool {
        self == Status::Stopped
    }
    pub fn can_pause(self) -> bool {
        self == Status::Running
    }
    pub fn can_resume(self) -> bool {
        self == Status::Paused
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    /// The container directory (canonical) this record belongs to.
    pub dir: PathBuf,
    pub status: Status,
    /// Host PID of the container's init (PID 1 inside a new PID namespace); 0 before it exists.
    pub init_pid: i32,
    /// Field 22 of /proc/PID/stat: clock ticks after boot.
    pub init_start_time: String,
    /// Namespace kind (`NEWNET`…) → inode of the init's namespace.
    #[serde(default)]
    pub namespaces: BTreeMap<String, u64>,
    /// The nsinit process supervising the container, and its start time.
    pub nsinit_pid: i32,
    pub nsinit_start_time: String,
    /// The cgroups: controller → directory, the parents and dirs nsinit made.
    #[serde(default)]
    pub cgroup: CgroupRecord,
    /// The leaves `create` was about to make (before `cgroup` is known): a
    /// killed create's leftovers are found from these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cgroup_planned: Vec<PathBuf>,
    #[serde(default)]
    pub network_state: NetState,
    #[serde(default)]
    pub rootfs: PathBuf,
    /// Without a mount namespace: the mounts made in the host's tree under
    /// `rootfs` (their destinations), unmounted at teardown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host_mounts: Vec<String>,
    /// The ids (as in mountinfo) of the mounts made there, read once the
    /// container was set up and before any code of the user's ran: teardown
    /// finds by id a mount the container moved away from its destination.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host_mount_ids: Vec<u64>,
    /// Seconds since the epoch.
    #[serde(default)]
    pub created: u64,
    #[serde(default)]
    pub tty: bool,
    /// The OCI front end's container id, bundle and annotations.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(default, skip_serializing_if = "is_empty_path")]
    pub bundle: PathBuf,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

fn is_empty_path(p: &std::path::Path) -> bool {
    p.as_os_str().is_empty()
}

/// The fields of `/proc/PID/stat` after the command name, from the state
/// on; `None` if the process is gone.
fn stat_fields(pid: i32) -> Option<String> {
    if pid <= 0 {
        return None;
    }
    // Why not read_to_string: on a file of size 0 it probes with 32-byte
    // reads, six read calls for a stat line; this is one.
    let bytes =
        super::record::read_file_at(rustix::fs::CWD, &format!("/proc/{pid}/stat")).ok()??;
    // comm may contain spaces, parentheses and bytes that are not UTF-8 (the
    // process sets it): fields resume after the last ')', and are ASCII.
    let close = bytes.iter().rposition(|&b| b == b')')?;
    String::from_utf8(bytes.get(close + 2..)?.to_vec()).ok()
}

/// The parent of `pid` (field 4 of /proc/PID/stat), `None` when it is gone.
pub fn parent_pid(pid: i32) -> Option<i32> {
    stat_fields(pid)?.split(' ').nth(1)?.parse().ok()
}

/// Read field 22 (starttime) of /proc/PID/stat; `None` if the process is
/// gone or a zombie (its namespaces are gone then).
pub fn start_time(pid: i32) -> Option<String> {
    let rest = stat_fields(pid)?;
    let mut fields = rest.split(' ');
    if matches!(fields.next(), Some("Z" | "X" | "x")) {
        return None;
    }
    fields.nth(18).map(str::to_string)
}

/// The inode of `/proc/PID/ns/NAME`.
pub fn ns_inode(pid: i32, name: &str) -> Result<u64, Errno> {
    rustix::fs::stat(format!("/proc/{pid}/ns/{name}").as_str()).map(|st| st.st_ino)
}

/// The namespaces the container owns (and a joined netns or ipc ns).
pub fn container_namespaces(cfg: &Config) -> Vec<Ns> {
    let mut set = cfg.namespaces;
    if cfg
        .networks
        .iter()
        .any(|n| matches!(n, Network::Netns { .. }))
    {
        set.insert(Ns::Net);
    }
    for (ns, _) in &cfg.ns_paths {
        set.insert(*ns);
    }
    set.iter().collect()
}

/// Namespace key → inode of `pid`'s namespaces of those kinds.
pub fn namespace_inodes(kinds: &[Ns], pid: i32) -> BTreeMap<String, u64> {
    kinds
        .iter()
        .filter_map(|ns| Some((ns.key().to_string(), ns_inode(pid, ns.proc_name()).ok()?)))
        .collect()
}

/// The init, as far as the kernel can tell.
pub enum Init {
    /// It lives and is the recorded process: a pidfd on it.
    Alive(OwnedFd),
    /// It is gone (or never ran): why.
    Gone(String),
}

impl State {
    /// Check the recorded init against the kernel: pidfd first, then start
    /// time and namespace inodes (after the pidfd is open, the PID cannot be
    /// reused under us).
    pub fn init(&self) -> Init {
        let Some(pid) = Pid::from_raw(self.init_pid).filter(|_| self.init_pid > 0) else {
            return Init::Gone("its init never started".into());
        };
        let fd = match rustix::process::pidfd_open(pid, PidfdFlags::empty()) {
            Ok(fd) => fd,
            Err(_) => return Init::Gone(format!("init {} is gone", self.init_pid)),
        };
        match start_time(self.init_pid) {
            None => return Init::Gone(format!("init {} has exited", self.init_pid)),
            Some(t) if t != self.init_start_time => {
                return Init::Gone(format!(
                    "init {} is gone (its PID now belongs to another process)",
                    self.init_pid
                ));
            }
            Some(_) => {}
        }
        for (key, ino) in &self.namespaces {
            let Some(ns) = Ns::from_key(key) else {
                return Init::Gone(format!("unknown namespace {key:?} in the record"));
            };
            match ns_inode(self.init_pid, ns.proc_name()) {
                Ok(found) if found == *ino => {}
                // Closed to us, not another process: a rootless caller and
                // an init that never exec'd (nsinit's shim stays
                // non-dumpable). The pidfd and the start time identify it.
                Err(Errno::ACCESS | Errno::PERM) => {}
                _ => {
                    return Init::Gone(format!(
                        "init {} is not in the recorded {} namespace",
                        self.init_pid,
                        ns.proc_name()
                    ));
                }
            }
        }
        Init::Alive(fd)
    }

    /// What people and scripts see (`nsinit state`, the state.json marker):
    /// the record plus libcontainer's keys `cgroup_paths` and
    /// `namespace_paths` (kind → `/proc/PID/ns/…`).
    pub fn view(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        v["cgroup_paths"] = serde_json::to_value(&self.cgroup.paths).unwrap_or_default();
        v["namespace_paths"] = self
            .namespaces
            .keys()
            .filter_map(|k| {
                let ns = Ns::from_key(k)?;
                Some((
                    k.clone(),
                    format!("/proc/{}/ns/{}", self.init_pid, ns.proc_name()).into(),
                ))
            })
            .collect::<serde_json::Map<_, _>>()
            .into();
        v
    }

    /// The manager of the recorded (verified) cgroups.
    pub fn cgroup(&self) -> crate::error::Result<crate::cgroup::CgroupManager> {
        crate::cgroup::CgroupManager::from_record(&self.cgroup)
    }

    /// The container's processes, sorted: those of its cgroups, or (without
    /// cgroups) those of the init's pid namespace while it is not stopped.
    pub fn pids(&self) -> Vec<i32> {
        let mut pids = self.cgroup().and_then(|c| c.pids()).unwrap_or_default();
        if pids.is_empty() && self.status() != Status::Stopped {
            pids = super::same_pid_namespace(self.init_pid);
        }
        pids.sort_unstable();
        pids
    }

    /// [`State::observe`] with the freezer read from the recorded cgroups.
    pub fn status(&self) -> Status {
        self.observe(|| self.cgroup().is_ok_and(|c| c.is_frozen()))
    }

    /// Whether the nsinit process that created the container still runs.
    pub fn supervisor_alive(&self) -> bool {
        start_time(self.nsinit_pid).is_some_and(|t| t == self.nsinit_start_time)
    }

    /// The status the kernel confirms: a recorded running container whose
    /// init is gone is stopped; an interrupted create is stopped too.
    pub fn observe(&self, frozen: impl FnOnce() -> bool) -> Status {
        match self.status {
            Status::Creating if !self.supervisor_alive() => Status::Stopped,
            Status::Creating => Status::Creating,
            _ => match self.init() {
                Init::Gone(_) => Status::Stopped,
                Init::Alive(_) if self.status == Status::Created => Status::Created,
                Init::Alive(_) if frozen() => Status::Paused,
                Init::Alive(_) => Status::Running,
            },
        }
    }
}

/// This process's PID and start time, to record as the supervisor.
pub fn me() -> (i32, String) {
    let pid = rustix::process::getpid().as_raw_nonzero().get();
    (pid, start_time(pid).unwrap_or_default())
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
        assert_eq!(start_time(0), None);
    }

    #[test]
    fn init_identity_is_checked() {
        let (pid, t) = me();
        let mut s = State {
            init_pid: pid,
            init_start_time: t,
            status: Status::Running,
            namespaces: namespace_inodes(&[Ns::Net, Ns::Mnt], pid),
            ..State::default()
        };
        assert!(matches!(s.init(), Init::Alive(_)));
        s.namespaces.insert("NEWNET".into(), 1);
        match s.init() {
            Init::Gone(why) => assert!(why.contains("net namespace"), "{why}"),
            Init::Alive(_) => panic!("a wrong namespace inode was trusted"),
        }
        s.namespaces.clear();
        s.init_start_time = "1".into();
        match s.init() {
            Init::Gone(why) => assert!(why.contains("another process"), "{why}"),
            Init::Alive(_) => panic!("a reused PID was trusted"),
        }
        s.init_pid = 0;
        assert!(matches!(s.init(), Init::Gone(_)));
    }

    #[test]
    fn status_predicates() {
        assert!(Status::Running.can_join() && !Status::Paused.can_join());
        assert!(Status::Paused.can_kill() && !Status::Stopped.can_kill());
        assert!(Status::Stopped.can_delete() && !Status::Running.can_delete());
        assert!(Status::Running.can_pause() && Status::Paused.can_resume());
        // An interrupted create (no supervisor) reads as stopped.
        let s = State {
            status: Status::Creating,
            nsinit_pid: i32::MAX,
            ..State::default()
        };
        assert_eq!(s.observe(|| false), Status::Stopped);
    }
}
