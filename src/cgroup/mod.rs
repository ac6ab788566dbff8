//! cgroups v1, v2 and hybrid: placement, limits, the device allow-list,
//! freezing, stats, and clean removal.
//!
//! [`CgroupManager::create`] finds every mounted hierarchy ([`Layout`], from
//! `/proc/self/mountinfo` and `/proc/self/cgroup`), makes the container's
//! directory in each (`parent/name` below the caller's own cgroup, or below
//! the hierarchy's top when `parent` is absolute) and applies every limit.
//! Each limit goes to the v1 hierarchy of its controller when one is
//! mounted, else to cgroup v2 when the v2 hierarchy offers the controller;
//! a limit with neither is an error naming it. The device allow-list is
//! `devices.allow` on v1 and an eBPF program ([`bpf`]) on v2.
//!
//! The manager is the directories, keyed by controller (`memory`,
//! `cpu`, `name=systemd`, …, and [`UNIFIED`] for v2). Its [`CgroupRecord`]
//! is what other nsinit processes rebuild it from
//! ([`CgroupManager::from_record`]), after checking every path ([`verify`]).
//!
//! At start, the container's process is in all its cgroups before it runs
//! anything of its own ([`enter`]); its leaves are its own, never shared
//! ([`leaf`]).

pub mod bpf;
mod enter;
mod freezer;
mod fs;
pub mod layout;
mod leaf;
mod stats;
mod update;
mod v1;
mod v2;
mod verify;

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::Cgroups;
use crate::error::{Context, Error, Result};
pub use enter::{Entered, Entry};
use freezer::Freezer;
pub use layout::{Hierarchy, Layout};
pub use leaf::PARENT_MARK;

/// The key of the cgroup v2 directory in [`CgroupManager::paths`].
pub const UNIFIED: &str = "unified";

/// How long removal retries a cgroup directory that is still busy.
const RMDIR_PATIENCE: Duration = Duration::from_secs(1);

/// v2 controllers enabled for accounting (stats) when cgroup v2 offers them
/// and no v1 hierarchy carries them; failing to enable them is not an error.
const ACCOUNTING: [&str; 4] = ["memory", "cpu", "io", "pids"];

/// A container's cgroup directories in every hierarchy.
#[derive(Clone, Debug, Default)]
pub struct CgroupManager {
    /// Controller (or `name=…`, or [`UNIFIED`]) → the container's directory.
    paths: BTreeMap<String, PathBuf>,
    /// The levels of `cgroups.parent` above the leaves, deepest first: shared
    /// with other containers, removed by whoever leaves one empty.
    parents: Vec<PathBuf>,
    /// Every directory `create` made (parents and leaves), shallowest first.
    created: Vec<PathBuf>,
    /// The first leaf and its inode when made: teardown from a record only
    /// touches the leaves if that directory is still the same cgroup.
    leaf_id: Option<(PathBuf, u64)>,
    /// The creator's lock on the first leaf (see [`leaf`]), held while the
    /// manager lives.
    lock: Option<Rc<OwnedFd>>,
}

/// What a container record keeps of its cgroups, to rebuild the manager in
/// another nsinit process ([`CgroupManager::from_record`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupRecord {
    /// Controller → directory.
    pub paths: BTreeMap<String, PathBuf>,
    /// The shared `cgroups.parent` levels, deepest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<PathBuf>,
    /// Every directory the creator made, shallowest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub created: Vec<PathBuf>,
    /// The first leaf and its inode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf_id: Option<(PathBuf, u64)>,
}

/// A group of limits handled by one controller.
struct Group {
    /// The v1 controller name.
    v1: &'static str,
    /// The v2 controller name; empty when the v2 core does the job (devices).
    v2: &'static str,
    /// The config fields of this group that are set.
    requested: fn(&Cgroups) -> Vec<&'static str>,
    apply_v1: fn(&Path, &Cgroups) -> Result<()>,
    apply_v2: fn(&Path, &Cgroups) -> Result<()>,
}

fn set_fields(fields: &[(&'static str, bool)]) -> Vec<&'static str> {
    fields.iter().filter(|f| f.1).map(|f| f.0).collect()
}

const GROUPS: [Group; 10] = [
    Group {
        v1: "memory",
        v2: "memory",
        requested: |c| {
            set_fields(&[
                ("memory", c.memory.is_some()),
                ("memory_reservation", c.memory_reservation.is_some()),
                ("memory_swap", c.memory_swap.is_some()),
                ("memory_swappiness", c.memory_swappiness.is_some()),
                ("oom_kill_disable", c.oom_kill_disable),
                ("kernel_memory_tcp", c.kernel_memory_tcp.is_some()),
            ])
        },
        apply_v1: v1::set_memory,
        apply_v2: v2::set_memory,
    },
    Group {
        v1: "cpu",
        v2: "cpu",
        requested: |c| {
            set_fields(&[
                ("cpu_shares", c.cpu_shares.is_some()),
                ("cpu_quota", c.cpu_quota.is_some()),
                ("cpu_period", c.cpu_period.is_some()),
                ("cpu_burst", c.cpu_burst.is_some()),
                ("cpu_rt_period", c.cpu_rt_period.is_some()),
                ("cpu_rt_runtime", c.cpu_rt_runtime.is_some()),
                ("cpu_idle", c.cpu_idle.is_some()),
            ])
        },
        apply_v1: v1::set_cpu,
        apply_v2: v2::set_cpu,
    },
    Group {
        v1: "cpuset",
        v2: "cpuset",
        requested: |c| {
            set_fields(&[
                ("cpuset_cpus", c.cpuset_cpus.is_some()),
                ("cpuset_mems", c.cpuset_mems.is_some()),
            ])
        },
        apply_v1: v1::set_cpuset,
        apply_v2: v2::set_cpuset,
    },
    Group {
        v1: "pids",
        v2: "pids",
        requested: |c| set_fields(&[("pids_limit", c.pids_limit.is_some())]),
        apply_v1: v1::set_pids,
        apply_v2: v2::set_pids,
    },
    Group {
        v1: "blkio",
        v2: "io",
        requested: |c| {
            set_fields(&[
                ("blkio_weight", c.blkio_weight.is_some()),
                ("blkio_weight_device", !c.blkio_weight_device.is_empty()),
                (
                    "blkio_throttle",
                    c.blkio_throttle.iter().any(|t| !t.is_empty()),
                ),
            ])
        },
        apply_v1: v1::set_blkio,
        apply_v2: v2::set_io,
    },
    Group {
        v1: "hugetlb",
        v2: "hugetlb",
        requested: |c| set_fields(&[("hugetlb_limit", !c.hugetlb_limit.is_empty())]),
        apply_v1: v1::set_hugetlb,
        apply_v2: v2::set_hugetlb,
    },
    Group {
        v1: "rdma",
        v2: "rdma",
        requested: |c| set_fields(&[("rdma", !c.rdma.is_empty())]),
        apply_v1: v2::set_rdma,
        apply_v2: v2::set_rdma,
    },
    // v1 only: cgroup v2 never offers these, so asking for them there is
    // an error naming them.
    Group {
        v1: "net_cls",
        v2: "net_cls",
        requested: |c| set_fields(&[("net_cls_classid", c.net_cls_classid.is_some())]),
        apply_v1: v1::set_net_cls,
        apply_v2: v1::set_net_cls,
    },
    Group {
        v1: "net_prio",
        v2: "net_prio",
        requested: |c| set_fields(&[("net_prio_ifpriomap", !c.net_prio_ifpriomap.is_empty())]),
        apply_v1: v1::set_net_prio,
        apply_v2: v1::set_net_prio,
    },
    Group {
        v1: "devices",
        v2: "",
        requested: |c| set_fields(&[("allowed_devices", !c.allow_all_devices)]),
        apply_v1: v1::set_devices,
        apply_v2: v2::set_devices,
    },
];

/// Where one group of limits is applied.
enum Target {
    V1(PathBuf),
    V2(PathBuf),
}

impl CgroupManager {
    /// Create the container's cgroups in every hierarchy this process sees
    /// and apply every limit of `cfg`. Nothing joins them yet
    /// ([`CgroupManager::prepare_entry`], [`CgroupManager::add_process`]).
    /// The leaves are exclusive: a cgroup another container uses is an error
    /// naming it, a stale one is replaced ([`leaf`]). On error nothing
    /// created is left.
    pub fn create(cfg: &Cgroups) -> Result<CgroupManager> {
        let layout = Layout::detect().ctx(|| "cgroups")?;
        CgroupManager::create_at(cfg, &layout)
    }

    /// [`CgroupManager::create`] on an explicit layout (tests point one at a
    /// fake cgroupfs in a temporary directory; see [`Layout::parse`] and
    /// [`Layout::rebased`]).
    pub fn create_at(cfg: &Cgroups, layout: &Layout) -> Result<CgroupManager> {
        create_at(cfg, layout).ctx(|| "cgroups")
    }

    /// The leaf directories [`CgroupManager::create_at`] would make, in the
    /// order it makes them (nothing is made): recorded before the first mkdir
    /// so that what a killed nsinit left can be found.
    pub fn plan_at(cfg: &Cgroups, layout: &Layout) -> Result<Vec<PathBuf>> {
        let mut leaves = Vec::new();
        for h in layout.v1.iter().chain(&layout.unified) {
            leaves.push(h.dir_of(&layout::cgroup_path(&h.own, &cfg.parent, &cfg.name)?)?);
        }
        Ok(leaves)
    }

    /// Remove planned leaves that a killed nsinit may have made, by the rule
    /// `create` applies to a leftover: only while nobody holds the first
    /// leaf's lock, and only leaves without processes.
    pub fn remove_planned(leaves: &[PathBuf]) -> Result<()> {
        let mounts = verify::host_mounts()?;
        for p in leaves {
            verify::check_location(p, &mounts).ctx(|| "cgroups")?;
        }
        leaf::remove_unowned(leaves).ctx(|| "cgroups")
    }

    /// The manager of cgroups recorded earlier as bare paths (state.json),
    /// each verified as in [`CgroupManager::from_record`].
    pub fn from_paths(paths: &BTreeMap<String, PathBuf>) -> Result<CgroupManager> {
        CgroupManager::from_record(&CgroupRecord {
            paths: paths.clone(),
            ..CgroupRecord::default()
        })
    }

    /// The manager of a container record. Every path must be a plain
    /// absolute path strictly below a cgroup mount point of this host and,
    /// where it exists, a directory on cgroupfs reached without symbolic
    /// links; otherwise the error names the path.
    pub fn from_record(rec: &CgroupRecord) -> Result<CgroupManager> {
        let mounts = verify::host_mounts()?;
        CgroupManager::from_record_checked(rec, |p| {
            verify::check_location(p, &mounts)?;
            verify::check_cgroupfs(p)
        })
    }

    fn from_record_checked(
        rec: &CgroupRecord,
        check: impl Fn(&Path) -> Result<()>,
    ) -> Result<CgroupManager> {
        // Each once: the leaves are in `paths` and `created` alike.
        let mut seen: Vec<&PathBuf> = Vec::new();
        let all = rec
            .paths
            .values()
            .chain(&rec.parents)
            .chain(&rec.created)
            .chain(rec.leaf_id.iter().map(|(p, _)| p));
        for p in all {
            if seen.contains(&p) {
                continue;
            }
            seen.push(p);
            check(p).ctx(|| "cgroups")?;
        }
        Ok(CgroupManager {
            paths: rec.paths.clone(),
            parents: rec.parents.clone(),
            created: rec.created.clone(),
            leaf_id: rec.leaf_id.clone(),
            lock: None,
        })
    }

    /// What a container record keeps (see [`CgroupManager::from_record`]).
    pub fn record(&self) -> CgroupRecord {
        CgroupRecord {
            paths: self.paths.clone(),
            parents: self.parents.clone(),
            created: self.created.clone(),
            leaf_id: self.leaf_id.clone(),
        }
    }

    /// Every cgroup directory `create` made (created parents and the
    /// leaves), shallowest first: what teardown must remove.
    pub fn created_dirs(&self) -> &[PathBuf] {
        &self.created
    }

    /// Controller → directory, for state.json.
    pub fn paths(&self) -> BTreeMap<String, PathBuf> {
        self.paths.clone()
    }

    /// The directory of one controller (or [`UNIFIED`]).
    pub fn path(&self, controller: &str) -> Option<&Path> {
        self.paths.get(controller).map(PathBuf::as_path)
    }

    /// Every distinct directory (co-mounted controllers share one).
    fn dirs(&self) -> Vec<&Path> {
        let set: BTreeSet<&Path> = self.paths.values().map(PathBuf::as_path).collect();
        set.into_iter().collect()
    }

    /// Move `pid` into the container's cgroup in every hierarchy (write it
    /// to each `cgroup.procs`). Its future children start there too. (The
    /// start path does not use this: see [`CgroupManager::prepare_entry`].)
    pub fn add_process(&self, pid: i32) -> Result<()> {
        for dir in self.dirs() {
            fs::write(dir, "cgroup.procs", pid).ctx(|| format!("cgroups: add process {pid}"))?;
        }
        Ok(())
    }

    /// The processes in the container's cgroups, sorted.
    pub fn pids(&self) -> Result<Vec<i32>> {
        let mut all = BTreeSet::new();
        for dir in self.dirs() {
            all.extend(fs::procs(dir).ctx(|| "cgroups")?);
        }
        Ok(all.into_iter().collect())
    }

    fn freezer(&self) -> Option<Freezer> {
        if let Some(dir) = self.path("freezer") {
            return Some(Freezer::V1(dir.to_path_buf()));
        }
        self.path(UNIFIED)
            .filter(|d| fs::exists(d, "cgroup.freeze"))
            .map(|d| Freezer::V2(d.to_path_buf()))
    }

    /// SIGKILL every process of the container and wait until none is left:
    /// v2 `cgroup.kill` when the kernel has it, else freeze, kill each, thaw.
    /// A paused (frozen) container is thawed so the kills take effect.
    pub fn kill_all(&self) -> Result<()> {
        if !self.ours() {
            return Ok(());
        }
        let what = self
            .dirs()
            .first()
            .map(|d| d.to_path_buf())
            .unwrap_or_default();
        let freezer = self.freezer();
        let result = match self.path(UNIFIED).filter(|d| fs::exists(d, "cgroup.kill")) {
            Some(dir) => freezer::kill_v2(dir, freezer.as_ref()),
            None => freezer::kill_each(freezer.as_ref(), &mut || self.pids(), &what),
        };
        result.ctx(|| "cgroups")
    }

    /// Kill every process, then remove the container's directories (and any
    /// cgroups made inside them) in every hierarchy, retrying busy ones
    /// briefly; then the ancestors `create` made, when nothing else uses them.
    /// Already removed directories are fine. The first error is returned
    /// after everything has been tried.
    ///
    /// An empty cgroup without sub-cgroups is removed by one `rmdir`, so
    /// every directory gets a plain `rmdir` first; only those still there
    /// (busy: processes or sub-cgroups) go through the kill and tree removal.
    pub fn destroy(&self) -> Result<()> {
        if !self.ours() {
            // Made again by another container since: not ours to touch.
            leaf::remove_parents(&self.parents, &[]);
            return Ok(());
        }
        let mut dirs = self.dirs();
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        let left: BTreeSet<&Path> = dirs
            .iter()
            .copied()
            .filter(|d| {
                !matches!(
                    rustix::fs::rmdir(*d),
                    Ok(()) | Err(rustix::io::Errno::NOENT)
                )
            })
            .collect();
        let rest = CgroupManager {
            paths: self
                .paths
                .iter()
                .filter(|(_, d)| left.contains(d.as_path()))
                .map(|(c, d)| (c.clone(), d.clone()))
                .collect(),
            ..CgroupManager::default()
        };
        let mut first = match rest.paths.is_empty() {
            true => None,
            false => rest.kill_all().err(),
        };
        for dir in dirs.into_iter().filter(|d| left.contains(d)) {
            if let Err(e) = fs::remove_tree(dir, RMDIR_PATIENCE) {
                first.get_or_insert(e.context("cgroups"));
            }
        }
        leaf::remove_parents(&self.parents, &self.created);
        first.map_or(Ok(()), Err)
    }

    /// Are the leaves still the cgroups this manager was made for? Always
    /// for the creator (it holds the lock, nobody can replace them) and for
    /// records without an id; otherwise the first leaf's inode decides.
    fn ours(&self) -> bool {
        match (&self.lock, &self.leaf_id) {
            (None, Some((dir, ino))) => leaf::same_cgroup(dir, *ino) != Some(false),
            _ => true,
        }
    }

    /// After sending SIGKILL to a paused container, thaw it so the kill takes
    /// effect (runc does the same; thawing before the kill would let the
    /// container run in between). Nothing to do when it is not frozen.
    pub fn thaw_for_kill(&self) -> Result<()> {
        if self.is_frozen() {
            self.thaw()?;
        }
        Ok(())
    }

    /// Freeze every process of the container and wait until they are frozen.
    pub fn freeze(&self) -> Result<()> {
        self.require_freezer()?.set(true).ctx(|| "cgroups: freeze")
    }

    /// Thaw the container's processes and wait until they run again.
    pub fn thaw(&self) -> Result<()> {
        self.require_freezer()?.set(false).ctx(|| "cgroups: thaw")
    }

    /// Is the container frozen (v1 `freezer.state` FROZEN, v2 `frozen 1`)?
    /// `false` when there is no freezer or it cannot be read.
    pub fn is_frozen(&self) -> bool {
        match self.freezer() {
            Some(Freezer::V1(dir)) => fs::read(&dir, "freezer.state").is_ok_and(|s| s == "FROZEN"),
            Some(Freezer::V2(dir)) => {
                fs::read(&dir, "cgroup.events").is_ok_and(|s| fs::keyed(&s, "frozen") == Some(1))
            }
            None => false,
        }
    }

    fn require_freezer(&self) -> Result<Freezer> {
        self.freezer().ok_or_else(|| {
            Error::new(
                "cgroups: no freezer: neither a v1 freezer hierarchy nor cgroup v2's cgroup.freeze",
            )
        })
    }

    /// Resource usage as JSON, with the same fields on v1 and v2 (see the
    /// `stats` module): `memory`, `cpu`, `pids`, `blkio`.
    pub fn stats(&self) -> Result<serde_json::Value> {
        let unified = |file: &str| self.path(UNIFIED).filter(|d| fs::exists(d, file));
        let memory = match (self.path("memory"), unified("memory.current")) {
            (Some(d), _) => stats::memory_v1(d)?,
            (None, Some(d)) => stats::memory_v2(d)?,
            _ => stats::absent("memory"),
        };
        let cpu = match (self.path("cpuacct"), unified("cpu.stat")) {
            (Some(d), _) => stats::cpu_v1(d)?,
            (None, Some(d)) => stats::cpu_v2(d)?,
            _ => stats::absent("cpu"),
        };
        let pids = match self.path("pids").or(unified("pids.current")) {
            Some(d) => stats::pids(d)?,
            None => stats::absent("pids"),
        };
        let blkio = match (self.path("blkio"), unified("io.stat")) {
            (Some(d), _) => stats::blkio_v1(d)?,
            (None, Some(d)) => stats::io_v2(d)?,
            _ => stats::absent("blkio"),
        };
        Ok(serde_json::json!({"memory": memory, "cpu": cpu, "pids": pids, "blkio": blkio}))
    }

    /// Did the kernel's OOM killer kill a process of the container? (v1
    /// `memory.oom_control` / v2 `memory.events`: `oom_kill N`, N > 0).
    pub fn oom_killed(&self) -> bool {
        let count = |dir: Option<&Path>, file: &str| {
            dir.and_then(|d| fs::read_opt(d, file).ok().flatten())
                .and_then(|s| fs::keyed(&s, "oom_kill"))
        };
        let n = match self.path("memory") {
            Some(d) => count(Some(d), "memory.oom_control"),
            None => count(self.path(UNIFIED), "memory.events"),
        };
        n.unwrap_or(0) > 0
    }
}

/// The controllers the v2 hierarchy offers at its top.
fn v2_offered(unified: &Hierarchy) -> Result<Vec<String>> {
    let s = fs::read(&unified.mount_point, "cgroup.controllers")?;
    Ok(s.split_whitespace().map(str::to_string).collect())
}

fn create_at(cfg: &Cgroups, layout: &Layout) -> Result<CgroupManager> {
    // Placement: every hierarchy's directory.
    let mut paths = BTreeMap::new();
    let mut tops = Vec::new();
    for h in &layout.v1 {
        let dir = h.dir_of(&layout::cgroup_path(&h.own, &cfg.parent, &cfg.name)?)?;
        for c in &h.controllers {
            paths.insert(c.clone(), dir.clone());
        }
        tops.push((h, dir));
    }
    let mut v2_dir = None;
    let mut offered = Vec::new();
    if let Some(u) = &layout.unified {
        let dir = u.dir_of(&layout::cgroup_path(&u.own, &cfg.parent, &cfg.name)?)?;
        paths.insert(UNIFIED.to_string(), dir.clone());
        offered = v2_offered(u)?;
        v2_dir = Some((u, dir));
    }
    if paths.is_empty() {
        return Err(Error::new(
            "no cgroup hierarchy is mounted (see /proc/self/mountinfo)",
        ));
    }

    // Plan: where each requested limit goes, or which one cannot be applied,
    // before the first side effect.
    let mut plan = Vec::new();
    let mut v2_needed = Vec::new();
    for g in &GROUPS {
        let fields = (g.requested)(cfg);
        if fields.is_empty() {
            continue;
        }
        if let Some(dir) = paths.get(g.v1) {
            plan.push((g, Target::V1(dir.clone())));
        } else if let Some((_, dir)) = v2_dir
            .as_ref()
            .filter(|_| g.v2.is_empty() || offered.iter().any(|c| c == g.v2))
        {
            plan.push((g, Target::V2(dir.clone())));
            if !g.v2.is_empty() {
                v2_needed.push(g.v2);
            }
        } else {
            return Err(Error::new(format!(
                "cannot apply {}: no {} controller (no cgroup v1 hierarchy has it mounted{})",
                fields.join(", "),
                g.v1,
                match &layout.unified {
                    Some(_) => format!(", and cgroup v2 offers only {:?}", offered.join(" ")),
                    None => ", and cgroup v2 is not mounted".to_string(),
                }
            )));
        }
    }

    // `unified`: files of the v2 leaf, each of a controller it offers.
    for (file, _) in &cfg.unified {
        let ctl = file.split('.').next().unwrap_or_default();
        if v2_dir.is_none() {
            return Err(Error::new(format!(
                "cannot apply unified {file:?}: cgroup v2 is not mounted"
            )));
        }
        if ctl != "cgroup" {
            if !offered.iter().any(|c| c == ctl) {
                return Err(Error::new(format!(
                    "cannot apply unified {file:?}: cgroup v2 offers no {ctl} controller \
                     (it offers {:?})",
                    offered.join(" ")
                )));
            }
            if !v2_needed.contains(&ctl) {
                v2_needed.push(ctl);
            }
        }
    }

    // The levels of `parent` start below the caller's own cgroup (or the
    // hierarchy's top, for an absolute parent).
    let base_of = |h: &Hierarchy| {
        let base = if cfg.parent.starts_with('/') {
            "/"
        } else {
            h.own.as_str()
        };
        h.dir_of(base).unwrap_or_else(|_| h.mount_point.clone())
    };
    let placed: Vec<(&Path, PathBuf)> = tops
        .iter()
        .map(|(h, d)| (d.as_path(), base_of(h)))
        .chain(v2_dir.iter().map(|(u, d)| (d.as_path(), base_of(u))))
        .collect();
    let mut parents: Vec<PathBuf> = Vec::new();
    for (leaf, base) in &placed {
        let mut up = leaf.parent();
        while let Some(d) = up.filter(|d| d.starts_with(base) && d != base) {
            parents.push(d.to_path_buf());
            up = d.parent();
        }
    }
    parents.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    parents.dedup();

    let mut created = Vec::new();
    let result = apply(
        cfg,
        &placed,
        &tops,
        v2_dir.as_ref(),
        &v2_needed,
        &offered,
        &plan,
        layout,
        &mut created,
    );
    let owner = match result {
        Ok(owner) => owner,
        Err(e) => {
            created.sort_by_key(|d: &PathBuf| d.components().count());
            fs::remove_dirs(&created);
            return Err(e);
        }
    };
    Ok(CgroupManager {
        paths,
        parents,
        created,
        leaf_id: Some(owner.id),
        lock: Some(Rc::new(owner.lock)),
    })
}

/// The side effects of create: mkdir, cpuset copy-down, v2 controller
/// enabling, the limits. `created` collects every directory made.
#[allow(clippy::too_many_arguments)]
fn apply(
    cfg: &Cgroups,
    placed: &[(&Path, PathBuf)],
    tops: &[(&Hierarchy, PathBuf)],
    v2_dir: Option<&(&Hierarchy, PathBuf)>,
    v2_needed: &[&str],
    offered: &[String],
    plan: &[(&Group, Target)],
    layout: &Layout,
    created: &mut Vec<PathBuf>,
) -> Result<leaf::Owner> {
    let leaves: Vec<&Path> = placed.iter().map(|(l, _)| *l).collect();
    let bases: Vec<&Path> = placed.iter().map(|(_, b)| b.as_path()).collect();
    let owner = leaf::make_leaves(&leaves, &bases, created)?;
    for (h, dir) in tops {
        if h.has("cpuset") {
            v1::copy_cpuset_down(&h.mount_point, dir)?;
        }
    }
    if let Some((u, dir)) = v2_dir {
        v2::enable_controllers(&u.mount_point, dir, v2_needed)?;
        let accounting: Vec<&str> = ACCOUNTING
            .into_iter()
            .filter(|c| {
                !v2_needed.contains(c)
                    && layout.v1_for(c).is_none()
                    && offered.iter().any(|o| o == c)
            })
            .collect();
        let _ = v2::enable_controllers(&u.mount_point, dir, &accounting);
    }
    for (g, target) in plan {
        match target {
            Target::V1(dir) => (g.apply_v1)(dir, cfg)?,
            Target::V2(dir) => (g.apply_v2)(dir, cfg)?,
        }
    }
    if let Some((_, dir)) = v2_dir {
        for (file, value) in &cfg.unified {
            fs::write(dir, file, value).ctx(|| format!("unified {file:?}"))?;
        }
    }
    Ok(owner)
}

#[cfg(test)]
mod tests;
