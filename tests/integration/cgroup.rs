//! Root tests of `nsinit::cgroup` against the real kernel: whatever this
//! machine mounts (v1 hierarchies in a hybrid layout, or cgroup2 alone, as in
//! `make test-vm`), the v1 hierarchies alone for v1 files, and, for the v2
//! core and the eBPF device filter, the cgroup2 hierarchy alone (more of v2
//! in `cgroup_v2`).
//!
//! Every test uses its own cgroup parent `nsinit-it-<pid>-<test>` (placed, as
//! a container's would be, below the test's own cgroup) and checks that
//! nothing by that name is left anywhere under /sys/fs/cgroup afterwards.
//! Processes are `sh` scripts that wait on stdin until they are in the
//! cgroup, so every fork they make happens inside it.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use nsinit::cgroup::{CgroupManager, Layout, UNIFIED};
use nsinit::config::{Cgroups, Device, DeviceKind};

use crate::common::{self, Witness, wait_until};

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Root on a machine with cgroups, v1 or v2 (the gate of the tests that hold
/// on both: fatal under `NSINIT_TEST_STRICT=1`, a loud skip elsewhere).
pub(crate) fn can_run(_test: &str) -> bool {
    if !common::root() {
        return false;
    }
    match Layout::detect() {
        Ok(l) if !l.v1.is_empty() || l.unified.is_some() => true,
        _ => common::missing("no cgroup hierarchy mounted"),
    }
}

/// Root on a machine with cgroup v1 hierarchies; on a cgroup-v2-only host
/// a test of v1 files has nothing to check (a loud skip, also when strict).
fn can_run_v1(_test: &str) -> bool {
    if !common::root() {
        return false;
    }
    match Layout::detect() {
        Ok(l) if !l.v1.is_empty() => true,
        Ok(l) if l.unified.is_some() => common::not_applicable("cgroup v2 only, no v1 hierarchy"),
        _ => common::missing("no cgroup hierarchy mounted"),
    }
}

/// The layout with only the cgroup2 hierarchy, or `None` (see `can_run`).
pub(crate) fn v2_only(_test: &str) -> Option<Layout> {
    if !common::root() {
        return None;
    }
    match Layout::detect().ok().and_then(|l| l.unified) {
        Some(u) => Some(Layout {
            v1: Vec::new(),
            unified: Some(u),
        }),
        None => {
            common::missing("cgroup2 is not mounted");
            None
        }
    }
}

pub(crate) fn parent_name(test: &str) -> String {
    format!("nsinit-it-{}-{test}", std::process::id())
}

pub(crate) fn config(test: &str) -> Cgroups {
    Cgroups {
        name: "c".into(),
        parent: parent_name(test),
        allow_all_devices: true,
        ..Default::default()
    }
}

/// Every directory under /sys/fs/cgroup whose name starts with `prefix`.
pub(crate) fn leftovers(prefix: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let path = e.path();
            if e.file_name().to_string_lossy().starts_with(prefix) {
                out.push(path.clone());
            }
            walk(&path, prefix, out);
        }
    }
    let mut out = Vec::new();
    walk(Path::new(CGROUP_ROOT), prefix, &mut out);
    out
}

/// Destroys the cgroups on drop (also when an assertion fails), and the
/// test checks nothing was left.
pub(crate) struct Guard {
    pub(crate) m: CgroupManager,
    pub(crate) children: Vec<Child>,
}

impl Guard {
    pub(crate) fn new(cfg: &Cgroups) -> Guard {
        Guard {
            m: CgroupManager::create(cfg).expect("create"),
            children: Vec::new(),
        }
    }

    pub(crate) fn on(cfg: &Cgroups, layout: &Layout) -> Guard {
        Guard {
            m: CgroupManager::create_at(cfg, layout).expect("create"),
            children: Vec::new(),
        }
    }

    /// Start `sh -c script`, put it in the cgroups, then let it go (it
    /// starts with `read go`). Returns its stdout.
    pub(crate) fn spawn(&mut self, script: &str) -> (i32, BufReader<ChildStdout>) {
        let mut child = Command::new("sh")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sh");
        let pid = child.id() as i32;
        self.m.add_process(pid).expect("add_process");
        child.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        self.children.push(child);
        (pid, out)
    }

    /// Stderr of the i-th child, after it exited.
    pub(crate) fn stderr(&mut self, i: usize) -> String {
        let mut s = String::new();
        self.children[i]
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        s
    }

    /// destroy, reap the children, and assert no cgroup directory is left.
    pub(crate) fn finish(mut self, test: &str) {
        self.m.destroy().expect("destroy");
        for c in &mut self.children {
            assert!(reap(c), "pid {} survived destroy", c.id());
        }
        for dir in self.m.paths().values() {
            assert!(!dir.exists(), "{} left behind", dir.display());
        }
        assert_eq!(leftovers(&parent_name(test)), Vec::<PathBuf>::new());
        self.children.clear();
        std::mem::forget(self);
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.m.thaw();
        let _ = self.m.destroy();
        for c in &mut self.children {
            let _ = c.kill();
            if !reap(c) {
                eprintln!("cgroup tests: pid {} did not die; leaving it", c.id());
            }
        }
    }
}

/// Wait (at most 10 s, never forever: a frozen child would hang the suite)
/// for `c` to exit; true when it did.
fn reap(c: &mut Child) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match c.try_wait() {
            Ok(Some(_)) => return true,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => return false,
        }
    }
}

pub(crate) fn line(out: &mut BufReader<ChildStdout>) -> String {
    let mut s = String::new();
    out.read_line(&mut s).unwrap();
    s.trim_end().to_string()
}

pub(crate) fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap()
        .trim()
        .to_string()
}

/// Field 3 of /proc/PID/stat: the scheduler state letter.
pub(crate) fn proc_state(pid: i32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    stat[stat.rfind(')').unwrap() + 2..].chars().next().unwrap()
}

/// The scheduler states of a frozen task: the v1 freezer leaves it in D
/// (T on newer kernels), the v2 freezer parks it in an interruptible sleep.
pub(crate) fn frozen_states(m: &CgroupManager) -> &'static str {
    if m.path("freezer").is_some() {
        "DT"
    } else {
        "S"
    }
}

/// The directory with `controller`'s files: its v1 hierarchy's, else the
/// cgroup2 one.
pub(crate) fn dir_of(m: &CgroupManager, controller: &str) -> PathBuf {
    m.path(controller)
        .or(m.path(UNIFIED))
        .expect("a cgroup directory")
        .to_path_buf()
}

#[test]
fn v1_limits_read_back_and_the_process_is_in_every_hierarchy() {
    let test = "limits";
    if !can_run_v1(test) {
        return;
    }
    let cfg = Cgroups {
        memory: Some(32 << 20),
        memory_swap: Some(48 << 20),
        memory_reservation: Some(16 << 20),
        cpu_shares: Some(512),
        cpu_quota: Some(50000),
        cpu_period: Some(100000),
        cpuset_cpus: Some("0".into()),
        pids_limit: Some(10),
        blkio_weight: Some(500),
        ..config(test)
    };
    let mut g = Guard::new(&cfg);
    let paths = g.m.paths();
    let p = |c: &str| paths[c].clone();
    assert_eq!(read(&p("memory"), "memory.limit_in_bytes"), "33554432");
    assert_eq!(
        read(&p("memory"), "memory.memsw.limit_in_bytes"),
        "50331648"
    );
    assert_eq!(read(&p("memory"), "memory.soft_limit_in_bytes"), "16777216");
    assert_eq!(read(&p("cpu"), "cpu.shares"), "512");
    assert_eq!(read(&p("cpu"), "cpu.cfs_quota_us"), "50000");
    assert_eq!(read(&p("cpu"), "cpu.cfs_period_us"), "100000");
    assert_eq!(read(&p("cpuset"), "cpuset.cpus"), "0");
    assert!(
        !read(&p("cpuset"), "cpuset.mems").is_empty(),
        "mems copied down"
    );
    assert_eq!(read(&p("pids"), "pids.max"), "10");
    let weight =
        ["blkio.weight", "blkio.bfq.weight"].map(|f| std::fs::read_to_string(p("blkio").join(f)));
    assert!(
        weight
            .iter()
            .flatten()
            .any(|w| w.trim() == "500" || w.contains("default 500")),
        "{weight:?}"
    );
    // Placement: below the test's own cgroup in each hierarchy.
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let own_mem = own.lines().find_map(|l| {
        l.strip_prefix(|c: char| c.is_ascii_digit())
            .and_then(|l| l.strip_prefix(":memory:"))
    });
    let want = Path::new("/sys/fs/cgroup/memory")
        .join(own_mem.unwrap().trim_start_matches('/'))
        .join(parent_name(test))
        .join("c");
    assert_eq!(p("memory"), want);

    let (pid, mut out) = g.spawn("read go; echo in; exec sleep 100");
    assert_eq!(line(&mut out), "in");
    let theirs = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    for (controller, dir) in &paths {
        if controller == UNIFIED {
            continue;
        }
        let rel = dir.strip_prefix(CGROUP_ROOT).unwrap();
        let mut parts = rel.iter();
        let hier = parts.next().unwrap().to_string_lossy().into_owned();
        let cg: PathBuf = parts.collect();
        let want = format!(":/{}", cg.display());
        assert!(
            theirs
                .lines()
                .any(|l| l.contains(controller.as_str()) && l.ends_with(&want)),
            "{controller} ({hier}): {want} not in\n{theirs}"
        );
    }
    assert_eq!(g.m.pids().unwrap(), [pid]);
    g.finish(test);
}

#[test]
fn pids_limit_10_makes_the_11th_process_fail() {
    let test = "pids";
    if !can_run(test) {
        return;
    }
    let mut g = Guard::new(&Cgroups {
        pids_limit: Some(10),
        ..config(test)
    });
    let (_, mut out) =
        g.spawn("read go; n=0; while [ $n -lt 12 ]; do sleep 100 >/dev/null 2>&1 & n=$((n+1)); echo started $n; done; echo all");
    let mut lines = Vec::new();
    loop {
        let l = line(&mut out);
        if l.is_empty() {
            break;
        }
        lines.push(l);
    }
    // sh itself and nine sleeps are ten processes: the tenth sleep cannot fork.
    assert_eq!(
        lines.last().map(String::as_str),
        Some("started 9"),
        "{lines:?}"
    );
    let status = g.children[0].wait().unwrap();
    assert!(!status.success());
    let err = g.stderr(0);
    assert!(err.contains("fork"), "sh's complaint: {err}");
    let pids = dir_of(&g.m, "pids");
    assert_eq!(read(&pids, "pids.current"), "9", "the nine sleeps remain");
    assert!(
        read(&pids, "pids.events").contains("max 1"),
        "{}",
        read(&pids, "pids.events")
    );
    assert_eq!(g.m.pids().unwrap().len(), 9);
    g.finish(test);
}

/// The counter a spinning `sh` keeps: the size of the file it appends to
/// (a size never reads half-written, unlike a rewritten number).
fn counter(file: &Path) -> u64 {
    std::fs::metadata(file).map_or(0, |m| m.len())
}

pub(crate) fn freeze_round_trip(g: &mut Guard, test: &str, frozen_states: &str) {
    let file = std::env::temp_dir().join(format!("{}.count", parent_name(test)));
    let _ = std::fs::remove_file(&file);
    let script = format!(
        "read go; echo in; while :; do echo x >> {}; done",
        file.display()
    );
    let (pid, mut out) = g.spawn(&script);
    assert_eq!(line(&mut out), "in");
    let start = counter(&file);
    wait_until(Duration::from_secs(10), "the counter to run", || {
        counter(&file) > start
    });

    g.m.freeze().unwrap();
    assert!(g.m.is_frozen());
    let state = proc_state(pid);
    assert!(
        frozen_states.contains(state),
        "frozen process state {state}"
    );
    let frozen_at = counter(&file);
    // While a host process demonstrably gets CPU time, the frozen one makes
    // no progress.
    Witness::start().advance(1000);
    assert_eq!(counter(&file), frozen_at, "no progress while frozen");

    g.m.thaw().unwrap();
    wait_until(Duration::from_secs(10), "progress after thaw", || {
        counter(&file) > frozen_at
    });
    assert!(proc_state(pid) != 'D' && proc_state(pid) != 'T');
}

/// The counter file of `freeze_round_trip`, removed once the writer is dead.
pub(crate) fn remove_counter(test: &str) {
    let _ = std::fs::remove_file(std::env::temp_dir().join(format!("{}.count", parent_name(test))));
}

#[test]
fn v1_freeze_stops_a_counter_and_thaw_resumes_it() {
    let test = "freeze";
    if !can_run_v1(test) {
        return;
    }
    let mut g = Guard::new(&config(test));
    freeze_round_trip(&mut g, test, "DT");
    assert_eq!(
        read(g.m.path("freezer").unwrap(), "freezer.state"),
        "THAWED"
    );
    g.finish(test);
    remove_counter(test);
}

#[test]
fn destroy_kills_a_paused_container() {
    let test = "pausedkill";
    if !can_run(test) {
        return;
    }
    let mut g = Guard::new(&config(test));
    let (pid, mut out) = g.spawn("read go; sleep 100 >/dev/null & echo in; while :; do :; done");
    assert_eq!(line(&mut out), "in");
    g.m.freeze().unwrap();
    assert!(g.m.is_frozen());
    let state = proc_state(pid);
    assert!(
        frozen_states(&g.m).contains(state),
        "frozen process state {state}"
    );
    // destroy must thaw for the SIGKILLs to land, and remove everything.
    g.finish(test);
}

#[test]
fn stats_are_plausible() {
    let test = "stats";
    if !can_run(test) {
        return;
    }
    let mut g = Guard::new(&Cgroups {
        memory: Some(64 << 20),
        pids_limit: Some(20),
        ..config(test)
    });
    let (_, mut out) = g.spawn(
        "read go; x=$(head -c 4000000 /dev/zero | tr '\\0' a); i=0; \
         while [ $i -lt 200000 ]; do i=$((i+1)); done; echo ok; read wait",
    );
    assert_eq!(line(&mut out), "ok");
    let s = g.m.stats().unwrap();
    eprintln!("stats: {s}");
    assert!(s["memory"]["usage"].as_u64().unwrap() > 0);
    assert!(
        s["memory"]["max_usage"].as_u64().unwrap() >= 4_000_000,
        "the 4 MB string was charged"
    );
    assert_eq!(s["memory"]["limit"], 64 << 20);
    assert_eq!(s["memory"]["failcnt"], 0);
    let total = s["cpu"]["usage_total"].as_u64().unwrap();
    assert!(
        total > 10_000_000,
        "200000 shell loop iterations take more than 10 ms: {total} ns"
    );
    let per_cpu = s["cpu"]["usage_per_cpu"].as_array().unwrap();
    if g.m.path("cpuacct").is_some() {
        assert_eq!(
            per_cpu.len(),
            std::thread::available_parallelism().unwrap().get()
        );
        let sum: u64 = per_cpu.iter().map(|v| v.as_u64().unwrap()).sum();
        // Two files read one after the other while the process may still run.
        assert!(
            sum.abs_diff(total) <= total / 10,
            "per-cpu sum {sum} vs total {total}"
        );
    } else {
        assert!(per_cpu.is_empty(), "cgroup v2 has no per-cpu usage: {s}");
    }
    assert!(s["cpu"]["usage_user"].as_u64().unwrap() > 0);
    assert!(s["cpu"]["usage_system"].is_u64());
    assert_eq!(s["pids"]["current"], 1);
    assert_eq!(s["pids"]["limit"], 20);
    for k in ["read_bytes", "write_bytes", "read_ops", "write_ops"] {
        assert!(s["blkio"][k].is_u64(), "blkio.{k}");
    }
    g.finish(test);
}

#[test]
fn memory_limit_oom_kills_and_is_reported() {
    let test = "oom";
    if !can_run(test) {
        return;
    }
    // Without memory_swap: with memsw == memory, memsw is the counter that
    // fails (memory.memsw.failcnt), and the test checks memory.failcnt.
    let cfg = Cgroups {
        memory: Some(32 << 20),
        ..config(test)
    };
    let mut g = Guard::new(&cfg);
    assert!(!g.m.oom_killed());
    let (_, mut out) =
        g.spawn("read go; x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived");
    assert_eq!(line(&mut out), "", "sh must not survive");
    let status = g.children[0].wait().unwrap();
    assert_eq!(status.signal(), Some(9), "{status:?}");
    assert!(g.m.oom_killed());
    assert!(g.m.stats().unwrap()["memory"]["failcnt"].as_u64().unwrap() > 0);
    g.finish(test);
}

/// `echo > /dev/null` works, reading /dev/zero is refused.
pub(crate) fn check_device_rules(g: &mut Guard) {
    let (_, mut out) = g.spawn(
        "read go; echo hi > /dev/null && echo null-ok; head -c 1 /dev/zero > /dev/null && echo zero-ok; echo end",
    );
    assert_eq!(line(&mut out), "null-ok");
    assert_eq!(line(&mut out), "end");
    g.children[0].wait().unwrap();
    let err = g.stderr(0);
    assert!(
        err.contains("/dev/zero") && err.contains("Operation not permitted"),
        "{err}"
    );
}

#[test]
fn v1_device_rules_deny_what_is_not_listed() {
    let test = "devices";
    if !can_run_v1(test) {
        return;
    }
    let cfg = Cgroups {
        allow_all_devices: false,
        allowed_devices: vec![Device::rule(DeviceKind::Char, Some(1), Some(3), "rwm")],
        ..config(test)
    };
    let mut g = Guard::new(&cfg);
    assert_eq!(
        read(g.m.path("devices").unwrap(), "devices.list"),
        "c 1:3 rwm"
    );
    check_device_rules(&mut g);
    g.finish(test);
}

#[test]
fn twenty_create_destroy_cycles_leave_nothing() {
    let test = "cycles";
    if !can_run(test) {
        return;
    }
    for i in 0..20 {
        let cfg = Cgroups {
            memory: Some(64 << 20),
            pids_limit: Some(50),
            ..config(test)
        };
        let mut g = Guard::new(&cfg);
        let (_, mut out) = g.spawn("read go; sleep 100 & echo started; wait");
        assert_eq!(line(&mut out), "started", "cycle {i}");
        assert_eq!(g.m.pids().unwrap().len(), 2, "cycle {i}");
        g.finish(test);
    }
}

#[test]
fn v2_core_files_procs_freeze_events_kill() {
    let test = "v2core";
    let Some(layout) = v2_only(test) else { return };
    let mut g = Guard::on(&config(test), &layout);
    let dir = g.m.path(UNIFIED).unwrap().to_path_buf();
    assert_eq!(g.m.paths().len(), 1);
    let (pid, mut out) = g.spawn("read go; sleep 100 >/dev/null & echo in; while :; do :; done");
    assert_eq!(line(&mut out), "in");
    let procs = read(&dir, "cgroup.procs");
    assert!(procs.lines().any(|l| l == pid.to_string()), "{procs}");
    assert!(read(&dir, "cgroup.events").contains("populated 1"));

    g.m.freeze().unwrap();
    assert_eq!(read(&dir, "cgroup.freeze"), "1");
    assert!(read(&dir, "cgroup.events").contains("frozen 1"));
    let utime = |pid: i32| -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let f: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
    };
    let t0 = utime(pid);
    let w = Witness::start();
    w.advance(1000);
    assert_eq!(utime(pid), t0, "a frozen spinner uses no CPU");
    drop(w);
    g.m.thaw().unwrap();
    assert!(read(&dir, "cgroup.events").contains("frozen 0"));

    assert_eq!(g.m.pids().unwrap().len(), 2);
    g.m.kill_all().unwrap();
    assert!(g.m.pids().unwrap().is_empty());
    assert_eq!(g.children[0].wait().unwrap().signal(), Some(9));
    assert!(read(&dir, "cgroup.events").contains("populated 0"));
    g.finish(test);
}

#[test]
fn v2_device_filter_denies_what_is_not_listed() {
    let test = "v2devices";
    let Some(layout) = v2_only(test) else { return };
    let cfg = Cgroups {
        allow_all_devices: false,
        allowed_devices: vec![
            Device::rule(DeviceKind::Char, None, None, "m"),
            Device::rule(DeviceKind::Char, Some(1), Some(3), "rwm"),
        ],
        ..config(test)
    };
    let mut g = Guard::on(&cfg, &layout);
    check_device_rules(&mut g);
    g.finish(test);
}

#[test]
fn v2_hugetlb_limit_enables_the_controller() {
    let test = "hugetlb";
    if !can_run(test) {
        return;
    }
    let layout = Layout::detect().unwrap();
    if layout.v1_for("hugetlb").is_some() {
        common::not_applicable("hugetlb is a v1 controller here");
        return;
    }
    let Some(u) = layout.unified.clone().filter(|u| {
        read(&u.mount_point, "cgroup.controllers")
            .split_whitespace()
            .any(|c| c == "hugetlb")
            && Path::new("/sys/kernel/mm/hugepages/hugepages-2048kB").exists()
    }) else {
        common::missing("hugetlb (2 MB pages) is not a cgroup v2 controller here");
        return;
    };
    // The caller's own v2 cgroup must be the top for this to be restorable.
    if u.own != "/" {
        common::missing("not in the v2 root cgroup");
        return;
    }
    let before = read(&u.mount_point, "cgroup.subtree_control");
    let cfg = Cgroups {
        hugetlb_limit: vec![("2MB".into(), 4 << 20)],
        ..config(test)
    };
    let g = Guard::new(&cfg);
    let dir = g.m.path(UNIFIED).unwrap().to_path_buf();
    assert_eq!(read(&dir, "hugetlb.2MB.max"), "4194304");
    assert!(read(dir.parent().unwrap(), "cgroup.subtree_control").contains("hugetlb"));
    g.finish(test);
    if !before.split_whitespace().any(|c| c == "hugetlb") {
        std::fs::write(u.mount_point.join("cgroup.subtree_control"), "-hugetlb").unwrap();
    }
}

#[test]
fn a_limit_without_its_controller_fails_and_leaves_nothing() {
    let test = "nocontroller";
    let Some(layout) = v2_only(test) else { return };
    let offered = read(
        &layout.unified.as_ref().unwrap().mount_point,
        "cgroup.controllers",
    );
    if offered.split_whitespace().any(|c| c == "memory") {
        common::not_applicable("cgroup v2 has the memory controller here");
        return;
    }
    let err = CgroupManager::create_at(
        &Cgroups {
            memory: Some(32 << 20),
            ..config(test)
        },
        &layout,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("cgroups: cannot apply memory: no memory controller"),
        "{err}"
    );
    assert_eq!(leftovers(&parent_name(test)), Vec::<PathBuf>::new());
}

// Containers (`nsinit exec` on the busybox rootfs from `make rootfs`).
mod containers;
