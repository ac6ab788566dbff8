//! `CgroupManager` against fake cgroupfs trees in a temporary directory:
//! which file gets which value, placement, planning errors, undo.

use super::*;
use crate::config::{Device, DeviceKind};

/// A fake cgroupfs: plain directories and files under a temporary root.
struct Fake {
    root: PathBuf,
}

impl Fake {
    fn new(tag: &str) -> Fake {
        let root = std::env::temp_dir().join(format!("nsinit-cg-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        Fake { root }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Create `rel/file` holding `content` (and its directories).
    fn file(&self, rel: &str, file: &str, content: &str) {
        let dir = self.path(rel);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(file), content).unwrap();
    }

    /// A knob the "kernel" creates in leaf `rel` when nsinit makes it.
    fn knob(&self, rel: &str, file: &str, content: &str) {
        let dir = self.root.join(".knobs").join(rel);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(file), content).unwrap();
        let root = self.root.clone();
        leaf::POPULATE.with(|p| {
            *p.borrow_mut() = Some(Box::new(move |dir: &Path| {
                let Ok(rel) = dir.strip_prefix(&root) else {
                    return;
                };
                let Ok(knobs) = std::fs::read_dir(root.join(".knobs").join(rel)) else {
                    return;
                };
                for k in knobs.flatten().filter(|k| k.path().is_file()) {
                    std::fs::copy(k.path(), dir.join(k.file_name())).unwrap();
                }
            }))
        });
    }

    fn read(&self, rel: &str, file: &str) -> String {
        std::fs::read_to_string(self.path(rel).join(file)).unwrap()
    }

    /// A mountinfo line per `(dir, fstype, superblock options)`.
    fn layout(&self, mounts: &[(&str, &str, &str)], proc_cgroup: &str) -> Layout {
        let mut mi = String::from("22 1 8:1 / / rw - ext4 /dev/vda rw\n");
        for (i, (dir, fstype, opts)) in mounts.iter().enumerate() {
            std::fs::create_dir_all(self.path(dir)).unwrap();
            mi.push_str(&format!(
                "{} 31 0:{} / {} rw,relatime - {fstype} {fstype} rw,{opts}\n",
                40 + i,
                28 + i,
                self.path(dir).display()
            ));
        }
        Layout::parse(&mi, proc_cgroup).unwrap()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

const UNLIMITED: &str = "9223372036854771712\n";

/// This machine's shape: one v1 hierarchy per controller, name=systemd, and
/// a cgroup2 hierarchy offering only hugetlb.
fn hybrid(fake: &Fake) -> Layout {
    fake.layout(
        &[
            ("cpu", "cgroup", "cpu"),
            ("cpuacct", "cgroup", "cpuacct"),
            ("cpuset", "cgroup", "cpuset"),
            ("memory", "cgroup", "memory"),
            ("devices", "cgroup", "devices"),
            ("freezer", "cgroup", "freezer"),
            ("pids", "cgroup", "pids"),
            ("systemd", "cgroup", "name=systemd"),
            ("unified", "cgroup2", "nsdelegate"),
        ],
        "9:name=systemd:/\n8:pids:/\n6:freezer:/\n5:devices:/\n4:memory:/process_api/x\n\
         3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n",
    )
}

/// The leaf files a real cgroupfs would show for `hybrid`'s `nsinit/c1`.
fn hybrid_leaves(f: &Fake) {
    let mem = "memory/process_api/x/nsinit/c1";
    for file in [
        "memory.limit_in_bytes",
        "memory.memsw.limit_in_bytes",
        "memory.soft_limit_in_bytes",
    ] {
        f.knob(mem, file, UNLIMITED);
    }
    f.knob("cpu/nsinit/c1", "cpu.shares", "1024\n");
    f.knob("cpu/nsinit/c1", "cpu.cfs_period_us", "100000\n");
    f.knob("cpu/nsinit/c1", "cpu.cfs_quota_us", "-1\n");
    f.file("cpuset", "cpuset.cpus", "0-1\n");
    f.file("cpuset", "cpuset.mems", "0\n");
    f.file("cpuset/nsinit", "cpuset.cpus", "\n");
    f.file("cpuset/nsinit", "cpuset.mems", "\n");
    f.knob("cpuset/nsinit/c1", "cpuset.cpus", "\n");
    f.knob("cpuset/nsinit/c1", "cpuset.mems", "\n");
    f.knob("devices/nsinit/c1", "devices.deny", "");
    f.knob("devices/nsinit/c1", "devices.allow", "");
    f.knob("pids/nsinit/c1", "pids.max", "max\n");
    f.knob("freezer/nsinit/c1", "freezer.state", "THAWED\n");
    f.file("unified", "cgroup.controllers", "hugetlb\n");
    f.file("unified", "cgroup.subtree_control", "");
    f.file("unified/nsinit", "cgroup.subtree_control", "");
    f.knob("unified/nsinit/c1", "hugetlb.2MB.max", "max\n");
    for d in [
        mem, "cpu", "cpuacct", "cpuset", "devices", "freezer", "pids", "systemd", "unified",
    ] {
        let leaf = if d == mem {
            d.to_string()
        } else {
            format!("{d}/nsinit/c1")
        };
        f.knob(&leaf, "cgroup.procs", "");
    }
}

fn limits() -> Cgroups {
    Cgroups {
        name: "c1".into(),
        parent: "nsinit".into(),
        memory: Some(32 << 20),
        memory_swap: Some(64 << 20),
        memory_reservation: Some(16 << 20),
        cpu_shares: Some(512),
        cpu_quota: Some(50000),
        cpu_period: Some(100000),
        cpuset_cpus: Some("1".into()),
        pids_limit: Some(10),
        hugetlb_limit: vec![("2MB".into(), 4 << 20)],
        allowed_devices: vec![
            Device::rule(DeviceKind::Char, None, None, "m"),
            Device::rule(DeviceKind::Char, Some(1), Some(3), "rwm"),
        ],
        ..Default::default()
    }
}

#[test]
fn hybrid_limits_go_to_v1_and_hugetlb_to_v2() {
    let f = Fake::new("hybrid");
    let layout = hybrid(&f);
    hybrid_leaves(&f);
    let m = CgroupManager::create_at(&limits(), &layout).unwrap();

    let mem = "memory/process_api/x/nsinit/c1";
    assert_eq!(f.read(mem, "memory.limit_in_bytes"), "33554432");
    assert_eq!(f.read(mem, "memory.memsw.limit_in_bytes"), "67108864");
    assert_eq!(f.read(mem, "memory.soft_limit_in_bytes"), "16777216");
    assert_eq!(f.read("cpu/nsinit/c1", "cpu.shares"), "512");
    assert_eq!(f.read("cpu/nsinit/c1", "cpu.cfs_period_us"), "100000");
    assert_eq!(f.read("cpu/nsinit/c1", "cpu.cfs_quota_us"), "50000");
    assert_eq!(f.read("cpuset/nsinit", "cpuset.cpus"), "0-1", "copied down");
    assert_eq!(f.read("cpuset/nsinit", "cpuset.mems"), "0");
    assert_eq!(f.read("cpuset/nsinit/c1", "cpuset.cpus"), "1", "then set");
    assert_eq!(f.read("cpuset/nsinit/c1", "cpuset.mems"), "0");
    assert_eq!(f.read("pids/nsinit/c1", "pids.max"), "10");
    assert_eq!(f.read("devices/nsinit/c1", "devices.deny"), "a");
    // Both rules written on one open file (a plain file here keeps both).
    assert_eq!(
        f.read("devices/nsinit/c1", "devices.allow"),
        "c *:* mc 1:3 rwm"
    );
    assert_eq!(f.read("unified/nsinit/c1", "hugetlb.2MB.max"), "4194304");
    assert_eq!(f.read("unified", "cgroup.subtree_control"), "+hugetlb");
    assert_eq!(
        f.read("unified/nsinit", "cgroup.subtree_control"),
        "+hugetlb"
    );

    let paths = m.paths();
    let keys: Vec<&str> = paths.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "cpu",
            "cpuacct",
            "cpuset",
            "devices",
            "freezer",
            "memory",
            "name=systemd",
            "pids",
            "unified"
        ]
    );
    assert_eq!(paths["memory"], f.path(mem));
    assert_eq!(paths["name=systemd"], f.path("systemd/nsinit/c1"));
    assert_eq!(paths["unified"], f.path("unified/nsinit/c1"));

    m.add_process(4242).unwrap();
    for dir in paths.values() {
        assert_eq!(
            std::fs::read_to_string(dir.join("cgroup.procs")).unwrap(),
            "4242"
        );
    }
    assert_eq!(m.pids().unwrap(), [4242]);

    // A record of fake directories in /tmp is refused by the real check;
    // the tests rebuild it without the host checks.
    let rec = m.record();
    let err = CgroupManager::from_record(&rec).unwrap_err().to_string();
    assert!(
        err.contains("refused: not below a cgroup mount point"),
        "{err}"
    );
    let again = CgroupManager::from_record_checked(&rec, |_| Ok(())).unwrap();
    assert_eq!(again.paths(), paths);
    let json = serde_json::to_string(&rec).unwrap();
    let back: CgroupRecord = serde_json::from_str(&json).unwrap();
    assert_eq!(back, rec);
    assert_eq!(
        rec.leaf_id.as_ref().map(|(p, _)| p.clone()),
        Some(f.path("systemd/nsinit/c1")),
        "the first hierarchy's leaf (in /proc/self/cgroup order) is the lock"
    );

    assert!(!again.is_frozen());
    again.freeze().unwrap();
    assert_eq!(f.read("freezer/nsinit/c1", "freezer.state"), "FROZEN");
    assert!(again.is_frozen());
    again.thaw().unwrap();
    assert_eq!(f.read("freezer/nsinit/c1", "freezer.state"), "THAWED");
    assert!(!again.is_frozen());

    assert!(!again.oom_killed());
    f.file(
        mem,
        "memory.oom_control",
        "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
    );
    assert!(again.oom_killed());
    f.file(mem, "memory.usage_in_bytes", "8192\n");
    let stats = again.stats().unwrap();
    assert_eq!(stats["memory"]["limit"], 33554432);
    assert_eq!(stats["memory"]["usage"], 8192);
    assert_eq!(stats["pids"]["limit"], 10);
    assert!(
        stats["cpu"]["usage_total"].is_null(),
        "no cpuacct files in the fake"
    );
}

#[test]
fn pure_v2_limits_and_controller_enabling() {
    let f = Fake::new("v2");
    let layout = f.layout(
        &[("", "cgroup2", "nsdelegate")],
        "0::/user.slice/session-1.scope\n",
    );
    f.file(
        "",
        "cgroup.controllers",
        "cpuset cpu io memory hugetlb pids rdma\n",
    );
    f.file("", "cgroup.subtree_control", "");
    f.file("nsinit", "cgroup.subtree_control", "cpu\n");
    for (file, v) in [
        ("memory.max", "max"),
        ("memory.low", "0"),
        ("memory.swap.max", "max"),
        ("cpu.weight", "100"),
        ("cpu.max", "max 100000"),
        ("cpuset.cpus", ""),
        ("cpuset.mems", ""),
        ("pids.max", "max"),
        ("io.weight", "default 100"),
        ("hugetlb.2MB.max", "max"),
        ("cgroup.procs", ""),
    ] {
        f.knob("nsinit/c1", file, v);
    }
    let cfg = Cgroups {
        parent: "/nsinit".into(),
        allow_all_devices: true,
        allowed_devices: Vec::new(),
        cpu_shares: Some(1024),
        cpuset_mems: Some("0".into()),
        blkio_weight: Some(1000),
        ..limits()
    };
    let m = CgroupManager::create_at(&cfg, &layout).unwrap();
    let leaf = "nsinit/c1";
    assert_eq!(f.read(leaf, "memory.max"), "33554432");
    assert_eq!(
        f.read(leaf, "memory.swap.max"),
        "33554432",
        "swap = memory_swap - memory"
    );
    assert_eq!(f.read(leaf, "memory.low"), "16777216");
    assert_eq!(f.read(leaf, "cpu.weight"), "100");
    assert_eq!(f.read(leaf, "cpu.max"), "50000 100000");
    assert_eq!(f.read(leaf, "cpuset.cpus"), "1");
    assert_eq!(f.read(leaf, "cpuset.mems"), "0");
    assert_eq!(f.read(leaf, "pids.max"), "10");
    assert_eq!(f.read(leaf, "io.weight"), "default 10000");
    assert_eq!(f.read(leaf, "hugetlb.2MB.max"), "4194304");
    // Absolute parent: placed at the top, not under the caller's cgroup; the
    // controllers are enabled at each level above the leaf (cpu already was
    // in nsinit).
    assert_eq!(
        f.read("", "cgroup.subtree_control"),
        "+memory +cpu +cpuset +pids +io +hugetlb"
    );
    assert_eq!(
        f.read("nsinit", "cgroup.subtree_control"),
        "+memory +cpuset +pids +io +hugetlb"
    );
    assert_eq!(
        m.paths().into_iter().collect::<Vec<_>>(),
        [(UNIFIED.to_string(), f.path(leaf))]
    );

    f.file(leaf, "cgroup.freeze", "0\n");
    f.file(leaf, "cgroup.events", "populated 0\nfrozen 1\n");
    m.freeze().unwrap();
    assert_eq!(f.read(leaf, "cgroup.freeze"), "1");
    assert!(m.is_frozen());
    f.file(
        leaf,
        "memory.events",
        "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n",
    );
    assert!(m.oom_killed());
}

#[test]
fn missing_controller_names_the_limit_and_touches_nothing() {
    let f = Fake::new("missing");
    let layout = f.layout(
        &[
            ("pids", "cgroup", "pids"),
            ("unified", "cgroup2", "nsdelegate"),
        ],
        "8:pids:/\n0::/\n",
    );
    f.file("unified", "cgroup.controllers", "hugetlb\n");
    let cfg = Cgroups {
        name: "c1".into(),
        memory: Some(1 << 25),
        memory_swap: Some(-1),
        ..Default::default()
    };
    let err = CgroupManager::create_at(&cfg, &layout)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "cgroups: cannot apply memory, memory_swap: no memory controller (no cgroup v1 hierarchy \
         has it mounted, and cgroup v2 offers only \"hugetlb\")"
    );
    assert!(!f.path("pids/c1").exists());
    assert!(!f.path("unified/c1").exists());

    // Devices with neither v1 devices nor cgroup v2 at all.
    let layout = f.layout(&[("pids", "cgroup", "pids")], "8:pids:/\n");
    let cfg = Cgroups {
        name: "c1".into(),
        ..Default::default()
    };
    let err = CgroupManager::create_at(&cfg, &layout)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("cgroups: cannot apply allowed_devices: no devices controller"),
        "{err}"
    );
    assert!(err.ends_with("and cgroup v2 is not mounted)"), "{err}");
}

#[test]
fn failure_after_mkdir_removes_what_was_created() {
    let f = Fake::new("undo");
    let layout = f.layout(
        &[
            ("pids", "cgroup", "pids"),
            ("systemd", "cgroup", "name=systemd"),
        ],
        "2:name=systemd:/\n1:pids:/\n",
    );
    f.file("systemd/keep", "cgroup.procs", "");
    // pids.max does not exist in the new (plain) directory: the write fails.
    let cfg = Cgroups {
        name: "c1".into(),
        parent: "a/b".into(),
        allow_all_devices: true,
        pids_limit: Some(5),
        ..Default::default()
    };
    let err = CgroupManager::create_at(&cfg, &layout)
        .unwrap_err()
        .to_string();
    let want = format!(
        "cgroups: write 5 to {}: No such file or directory",
        f.path("pids/a/b/c1/pids.max").display()
    );
    assert_eq!(err, want);
    assert!(!f.path("pids/a").exists(), "created parents removed too");
    assert!(!f.path("systemd/a").exists());
    assert!(
        f.path("systemd/keep").exists(),
        "pre-existing cgroups untouched"
    );
    assert!(f.path("pids").exists(), "the hierarchy itself stays");
}

#[test]
fn created_parents_are_recorded_for_destroy() {
    let f = Fake::new("parents");
    let layout = f.layout(
        &[("systemd", "cgroup", "name=systemd")],
        "1:name=systemd:/base\n",
    );
    f.file("systemd/base", "cgroup.procs", "1\n");
    let cfg = Cgroups {
        name: "c1".into(),
        parent: "p/q".into(),
        allow_all_devices: true,
        ..Default::default()
    };
    let m = CgroupManager::create_at(&cfg, &layout).unwrap();
    assert_eq!(
        m.path("name=systemd").unwrap(),
        f.path("systemd/base/p/q/c1")
    );
    assert_eq!(
        m.parents,
        [f.path("systemd/base/p/q"), f.path("systemd/base/p")]
    );
    assert_eq!(
        m.created_dirs(),
        [
            f.path("systemd/base/p"),
            f.path("systemd/base/p/q"),
            f.path("systemd/base/p/q/c1")
        ]
    );
    m.destroy().unwrap();
    assert!(!f.path("systemd/base/p").exists());
    assert!(f.path("systemd/base").exists());
}

#[test]
fn a_cgroup_in_use_is_not_taken_over() {
    let f = Fake::new("inuse");
    let layout = f.layout(
        &[("systemd", "cgroup", "name=systemd")],
        "1:name=systemd:/\n",
    );
    f.file("systemd/c1", "cgroup.procs", "77\n");
    let cfg = Cgroups {
        name: "c1".into(),
        allow_all_devices: true,
        ..Default::default()
    };
    let err = CgroupManager::create_at(&cfg, &layout)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("c1 is already in use by another container (processes [77])"),
        "{err}"
    );
    assert!(
        f.path("systemd/c1/cgroup.procs").exists(),
        "the other container's cgroup is left alone"
    );
}

#[test]
fn v2_device_filter_failure_is_undone() {
    // The fake directory is no cgroup: loading (without privilege) or
    // attaching (with it) the program fails, and the directories go away.
    let f = Fake::new("bpf");
    let layout = f.layout(&[("", "cgroup2", "nsdelegate")], "0::/\n");
    f.file("", "cgroup.controllers", "\n");
    let cfg = Cgroups {
        name: "c1".into(),
        parent: "p".into(),
        ..Default::default()
    };
    let err = CgroupManager::create_at(&cfg, &layout)
        .unwrap_err()
        .to_string();
    assert!(err.contains("device filter"), "{err}");
    assert!(!f.path("p").exists());
}

#[test]
fn no_hierarchy_at_all() {
    let err = CgroupManager::create_at(
        &Cgroups {
            name: "c".into(),
            ..Default::default()
        },
        &Layout::default(),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "cgroups: no cgroup hierarchy is mounted (see /proc/self/mountinfo)"
    );
}

/// A one-hierarchy fake (name=systemd, no limits) and a config named `name`.
fn single(f: &Fake, name: &str) -> (Layout, Cgroups) {
    let layout = f.layout(
        &[("systemd", "cgroup", "name=systemd")],
        "1:name=systemd:/\n",
    );
    let cfg = Cgroups {
        name: name.into(),
        parent: "shared".into(),
        allow_all_devices: true,
        ..Default::default()
    };
    (layout, cfg)
}

#[test]
fn issue_12_4_a_leaf_another_nsinit_holds_is_refused() {
    let f = Fake::new("held");
    let (layout, cfg) = single(&f, "c1");
    let first = CgroupManager::create_at(&cfg, &layout).unwrap();
    let err = CgroupManager::create_at(&cfg, &layout)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "cgroups: cgroup {} is already in use by another nsinit (it is starting or stopping \
             that container); give each container its own cgroups.name",
            f.path("systemd/shared/c1").display()
        )
    );
    assert!(f.path("systemd/shared/c1").is_dir(), "left to its owner");
    drop(first);
}

#[test]
fn issue_12_4_a_stale_leaf_is_replaced_not_reused() {
    let f = Fake::new("stale");
    let (layout, cfg) = single(&f, "c1");
    // What a crashed nsinit left: an empty leaf with an empty sub-cgroup.
    std::fs::create_dir_all(f.path("systemd/shared/c1/sub")).unwrap();
    let m = CgroupManager::create_at(&cfg, &layout).unwrap();
    assert!(f.path("systemd/shared/c1").is_dir());
    assert!(!f.path("systemd/shared/c1/sub").exists(), "a new cgroup");
    assert_eq!(m.created_dirs(), [f.path("systemd/shared/c1")]);
}

#[test]
fn teardown_from_a_record_leaves_a_cgroup_made_again_alone() {
    let f = Fake::new("reborn");
    let (layout, cfg) = single(&f, "c1");
    let m = CgroupManager::create_at(&cfg, &layout).unwrap();
    let mut rec = m.record();
    drop(m);
    // Another container's cgroup under the same path now (another inode).
    let id = rec.leaf_id.as_mut().unwrap();
    id.1 ^= 1;
    let stale = CgroupManager::from_record_checked(&rec, |_| Ok(())).unwrap();
    stale.destroy().unwrap();
    stale.kill_all().unwrap();
    assert!(f.path("systemd/shared/c1").is_dir(), "not ours: untouched");
    rec.leaf_id.as_mut().unwrap().1 ^= 1;
    let ours = CgroupManager::from_record_checked(&rec, |_| Ok(())).unwrap();
    ours.destroy().unwrap();
    assert!(!f.path("systemd/shared/c1").exists());
}

#[test]
fn issue_11_a_symlink_planted_at_cgroup_procs_is_not_followed() {
    let f = Fake::new("symlink");
    let (layout, cfg) = single(&f, "c1");
    let m = CgroupManager::create_at(&cfg, &layout).unwrap();
    let victim = f.path("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    std::os::unix::fs::symlink(&victim, f.path("systemd/shared/c1/cgroup.procs")).unwrap();
    let err = m.add_process(4242).unwrap_err().to_string();
    assert!(err.contains("cgroup.procs"), "{err}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    // A linked directory on the way is refused too (openat2 RESOLVE_NO_SYMLINKS).
    std::os::unix::fs::symlink(f.path("systemd/shared/c1"), f.path("link")).unwrap();
    std::fs::remove_file(f.path("systemd/shared/c1/cgroup.procs")).unwrap();
    std::fs::write(f.path("systemd/shared/c1/cgroup.procs"), "").unwrap();
    assert!(fs::write(&f.path("link"), "cgroup.procs", 1).is_err());
    assert_eq!(f.read("systemd/shared/c1", "cgroup.procs"), "");
}

#[test]
fn issue_11_from_paths_refuses_a_path_outside_the_cgroup_mounts() {
    let paths = BTreeMap::from([("pids".to_string(), PathBuf::from("/tmp/forged"))]);
    let err = CgroupManager::from_paths(&paths).unwrap_err().to_string();
    assert!(
        err.starts_with("cgroups: cgroup path /tmp/forged refused: not below a cgroup mount point"),
        "{err}"
    );
}
