//! The `linux.resources` fields engines pass for `--memory-swappiness`,
//! `--oom-kill-disable`, `--kernel-memory-tcp`, `--device-read-bps` and
//! friends, `--blkio-weight-device`, and the net_cls / net_prio limits:
//! each read back from the container's cgroup files on the host (the v1
//! files where a v1 hierarchy has the controller, else the v2 ones, so the
//! same tests run on this hybrid host and in `make test-vm`), and bad values
//! refused with the field named.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use nsinit::cgroup::Layout;
use serde_json::{Value, json};

use crate::common::{can_run, err, not_applicable};
use crate::oci::{Bundle, config};

/// A container id (and so cgroup name) of this test run alone.
pub(crate) fn id(name: &str) -> String {
    format!("cgf-{name}-{}", std::process::id())
}

/// A bundle running `sleep 1000` with `linux.resources` = `r`.
pub(crate) fn bundle(name: &str, r: Value) -> Bundle {
    let b = Bundle::new(&format!("cgf-{name}"), &["sleep", "1000"]);
    let mut cfg = config(&["sleep", "1000"]);
    cfg["linux"]["resources"] = r;
    b.write_config(&cfg);
    b
}

/// `run --detach`: the output, and the pid when it started.
pub(crate) fn run(b: &Bundle, id: &str) -> (std::process::Output, Option<i64>) {
    let bundle = b.dir.to_str().unwrap().to_string();
    let o = b.run(&["run", "--detach", "--bundle", &bundle, id]);
    let pid = o
        .status
        .success()
        .then(|| b.state(id)["pid"].as_i64().unwrap());
    (o, pid)
}

/// The host directory of `pid`'s cgroup for `controller`: its v1
/// hierarchy's when one has it, else the v2 directory.
pub(crate) fn cgroup_dir(pid: i64, controller: &str) -> PathBuf {
    let layout = Layout::detect().unwrap();
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctl, path) = (f.next(), f.next().unwrap_or(""), f.next().unwrap_or(""));
        if ctl.split(',').any(|c| c == controller) {
            return layout.v1_for(controller).unwrap().dir_of(path).unwrap();
        }
    }
    let path = text.lines().find_map(|l| l.strip_prefix("0::")).unwrap();
    layout.unified.unwrap().dir_of(path).unwrap()
}

pub(crate) fn on_v1(controller: &str) -> bool {
    Layout::detect().unwrap().v1_for(controller).is_some()
}

fn read(dir: &std::path::Path, file: &str) -> String {
    let p = dir.join(file);
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .trim()
        .to_string()
}

/// The whole disk (`MAJ:MIN`) holding `/`, or the first disk in
/// /sys/block when `/` is not on one (throttle rules take whole disks).
fn disk() -> Option<(u32, u32)> {
    let dev = std::fs::metadata("/").ok()?.dev();
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let sys = match std::fs::canonicalize(format!("/sys/dev/block/{major}:{minor}")) {
        Ok(p) if p.join("partition").exists() => p.parent()?.to_path_buf(),
        Ok(p) => p,
        Err(_) => {
            let mut disks: Vec<PathBuf> = std::fs::read_dir("/sys/block")
                .ok()?
                .flatten()
                .map(|e| e.path())
                .collect();
            disks.sort_by_key(|p| p.to_string_lossy().contains("loop"));
            disks.into_iter().next()?
        }
    };
    let text = std::fs::read_to_string(sys.join("dev")).ok()?;
    let (a, b) = text.trim().split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

#[test]
fn memory_swappiness_oom_killer_and_kernel_tcp_reach_v1_files_or_warn_on_v2() {
    if !can_run() {
        return;
    }
    let id = id("mem");
    let b = bundle(
        "mem",
        json!({"memory": {"limit": 64 << 20, "swappiness": 10, "disableOOMKiller": true,
                          "kernelTCP": 16 << 20}}),
    );
    let (o, pid) = run(&b, &id);
    let pid = pid.unwrap_or_else(|| panic!("run: {}", err(&o)));
    let dir = cgroup_dir(pid, "memory");
    if on_v1("memory") {
        assert!(!err(&o).contains("ignored"), "{}", err(&o));
        assert_eq!(read(&dir, "memory.swappiness"), "10");
        assert!(
            read(&dir, "memory.oom_control").contains("oom_kill_disable 1"),
            "{}",
            read(&dir, "memory.oom_control")
        );
        if dir.join("memory.kmem.tcp.limit_in_bytes").exists() {
            assert_eq!(
                read(&dir, "memory.kmem.tcp.limit_in_bytes"),
                (16u64 << 20).to_string()
            );
        } else {
            assert!(err(&o).contains("kernel_memory_tcp ignored"), "{}", err(&o));
        }
    } else {
        // cgroup v2 has none of the three: warned about by name, as runc
        // ignores them; the memory limit still applies.
        for key in ["swappiness", "disableOOMKiller", "kernelTCP"] {
            let w = format!("config.json: linux.resources.memory.{key}: ignored");
            assert!(err(&o).contains(&w), "{w} in {}", err(&o));
        }
        assert_eq!(read(&dir, "memory.max"), (64u64 << 20).to_string());
    }
}

#[test]
fn block_io_throttles_reach_v1_throttle_files_or_v2_io_max_and_update_changes_them() {
    if !can_run() {
        return;
    }
    let Some((major, minor)) = disk() else {
        not_applicable("no block device in /sys/block");
        return;
    };
    let dev = |rate: u64| json!([{"major": major, "minor": minor, "rate": rate}]);
    let id = id("thr");
    let b = bundle(
        "thr",
        json!({"blockIO": {"throttleReadBpsDevice": dev(1 << 20), "throttleWriteBpsDevice": dev(2 << 20),
                           "throttleReadIOPSDevice": dev(100), "throttleWriteIOPSDevice": dev(200)}}),
    );
    let (o, pid) = run(&b, &id);
    let pid = pid.unwrap_or_else(|| panic!("run: {}", err(&o)));
    let dir = cgroup_dir(pid, "blkio");
    let check = |rbps: u64, wbps: u64, riops: u64, wiops: u64| {
        if on_v1("blkio") {
            for (file, v) in [
                ("read_bps_device", rbps),
                ("write_bps_device", wbps),
                ("read_iops_device", riops),
                ("write_iops_device", wiops),
            ] {
                let file = format!("blkio.throttle.{file}");
                assert_eq!(read(&dir, &file), format!("{major}:{minor} {v}"), "{file}");
            }
        } else {
            let line =
                format!("{major}:{minor} rbps={rbps} wbps={wbps} riops={riops} wiops={wiops}");
            let max = read(&dir, "io.max");
            assert!(max.lines().any(|l| l == line), "{line:?} in io.max {max:?}");
        }
    };
    check(1 << 20, 2 << 20, 100, 200);

    // `update --resources` replaces the lists it names.
    let patch = b.dir.join("patch.json");
    std::fs::write(
        &patch,
        json!({"blockIO": {"throttleReadBpsDevice": dev(3 << 20)}}).to_string(),
    )
    .unwrap();
    b.ok(&["update", "--resources", patch.to_str().unwrap(), &id]);
    check(3 << 20, 2 << 20, 100, 200);
}

#[test]
fn device_weights_reach_the_weight_file_the_scheduler_offers() {
    if !can_run() {
        return;
    }
    let Some((major, minor)) = disk() else {
        not_applicable("no block device in /sys/block");
        return;
    };
    let id = id("wdev");
    let b = bundle(
        "wdev",
        json!({"blockIO": {"weightDevice": [{"major": major, "minor": minor, "weight": 500}]}}),
    );
    // BFQ keeps per-device weights only for disks it schedules.
    let sched = std::fs::read_to_string(format!("/sys/dev/block/{major}:{minor}/queue/scheduler"));
    let bfq = sched.is_ok_and(|s| s.contains("[bfq]"));
    let (o, pid) = run(&b, &id);
    let Some(pid) = pid else {
        // No weight file (no CFQ or BFQ on v1, no io.weight or io.bfq.weight
        // on v2), or the kernel refuses the rule for this disk (BFQ does not
        // schedule it): refused, naming the field or the file.
        let e = err(&o);
        assert!(!(bfq && on_v1("blkio")), "BFQ schedules the disk: {e}");
        assert!(
            e.contains("blkio_weight_device: neither")
                || e.contains(&format!("write {major}:{minor} ")) && e.contains("weight"),
            "{e}"
        );
        assert!(!b.run(&["state", &id]).status.success());
        return;
    };
    let dir = cgroup_dir(pid, "blkio");
    let (file, want) = if on_v1("blkio") {
        match dir.join("blkio.weight_device").exists() {
            true => ("blkio.weight_device", 500),
            false => ("blkio.bfq.weight_device", 500),
        }
    } else if dir.join("io.bfq.weight").exists() {
        ("io.bfq.weight", 500)
    } else {
        ("io.weight", 1 + 490 * 9999 / 990)
    };
    let text = read(&dir, file);
    let line = format!("{major}:{minor} {want}");
    assert!(
        text.lines().any(|l| l == line),
        "{line:?} in {file}: {text:?}"
    );
}

#[test]
fn network_class_and_priorities_need_the_v1_controllers() {
    if !can_run() {
        return;
    }
    let id = id("net");
    let b = bundle(
        "net",
        json!({"network": {"classID": 0x100001, "priorities": [{"name": "lo", "priority": 5}]}}),
    );
    let (o, pid) = run(&b, &id);
    let (cls, prio) = (on_v1("net_cls"), on_v1("net_prio"));
    if cls && prio {
        let pid = pid.unwrap_or_else(|| panic!("run: {}", err(&o)));
        let dir = cgroup_dir(pid, "net_cls");
        assert_eq!(read(&dir, "net_cls.classid"), "1048577");
        let map = read(&cgroup_dir(pid, "net_prio"), "net_prio.ifpriomap");
        assert!(map.lines().any(|l| l == "lo 5"), "{map}");
        return;
    }
    assert!(pid.is_none(), "runs without net_cls/net_prio");
    for (key, controller, mounted) in [
        ("classID", "net_cls", cls),
        ("priorities", "net_prio", prio),
    ] {
        let e = format!(
            "config.json: linux.resources.network.{key}: needs the cgroup v1 {controller} controller, \
             which is not mounted on this host"
        );
        assert_eq!(err(&o).contains(&e), !mounted, "{e} in {}", err(&o));
    }
}

#[test]
fn bad_values_are_refused_naming_the_field_and_leave_nothing() {
    if !can_run() {
        return;
    }
    let id = id("bad");
    let b = bundle(
        "bad",
        json!({"memory": {"swappiness": 200},
               "blockIO": {"weightDevice": [{"major": 8, "minor": 0, "weight": 5}],
                           "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": -1}]}}),
    );
    let (o, pid) = run(&b, &id);
    assert!(pid.is_none());
    assert_eq!(o.status.code(), Some(125), "{}", err(&o));
    for e in [
        "config.json: linux.resources.memory.swappiness: must be between 0 and 100, got 200",
        "config.json: linux.resources.blockIO.weightDevice[0].weight: must be between 10 and 1000, got 5",
        "config.json: linux.resources.blockIO.throttleReadBpsDevice[0].rate: expected a non-negative integer, got -1",
    ] {
        assert!(err(&o).contains(e), "{e} in {}", err(&o));
    }

    // A rule the kernel refuses (no such disk) fails create naming the
    // file, and the cgroups made for it are gone.
    let b = bundle(
        "nodev",
        json!({"blockIO": {"throttleWriteBpsDevice": [{"major": 4095, "minor": 1048575, "rate": 1}]}}),
    );
    let id = self::id("nodev");
    let (o, pid) = run(&b, &id);
    assert!(pid.is_none());
    let file = match on_v1("blkio") {
        true => "blkio.throttle.write_bps_device",
        false => "io.max",
    };
    assert!(
        err(&o).contains("write 4095:1048575 ") && err(&o).contains(file),
        "{}",
        err(&o)
    );
    let left = crate::common::cgroup_dirs_named(&id);
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// `unified`: cgroup v2 files of the container's leaf, written last. A core
/// file (`cgroup.max.depth`) works wherever a cgroup2 hierarchy is mounted
/// (here the hybrid one, in make test-vm the only one); `memory.high` needs
/// the v2 memory controller (in the VM), and says so where v2 lacks it
/// (here). Names that are no plain v2 file, or that move processes, are
/// refused naming the field.
#[test]
fn unified_writes_v2_files_of_the_leaf_and_refuses_the_rest() {
    if !can_run() {
        return;
    }
    let Some(unified) = Layout::detect().unwrap().unified else {
        not_applicable("no cgroup2 hierarchy is mounted");
        return;
    };
    let b = bundle("unified", json!({"unified": {"cgroup.max.depth": "3"}}));
    let (o, pid) = run(&b, &id("unified"));
    let pid = pid.unwrap_or_else(|| panic!("{}", err(&o)));
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let path = text.lines().find_map(|l| l.strip_prefix("0::")).unwrap();
    let leaf = unified.dir_of(path).unwrap();
    assert_eq!(read(&leaf, "cgroup.max.depth"), "3");

    let memory_on_v2 = std::fs::read_to_string(unified.mount_point.join("cgroup.controllers"))
        .unwrap()
        .split_whitespace()
        .any(|c| c == "memory");
    let b = bundle(
        "unified-mem",
        json!({"unified": {"memory.high": "67108864"}}),
    );
    let (o, pid) = run(&b, &id("unified-mem"));
    if memory_on_v2 {
        let pid = pid.unwrap_or_else(|| panic!("{}", err(&o)));
        assert_eq!(read(&cgroup_dir(pid, "memory"), "memory.high"), "67108864");
    } else {
        assert!(
            !o.status.success()
                && err(&o).contains("unified \"memory.high\"")
                && err(&o).contains("no memory controller"),
            "{}",
            err(&o)
        );
    }

    for (key, why) in [
        ("../escape.max", "expected a cgroup v2 file name"),
        ("nodot", "expected a cgroup v2 file name"),
        ("cgroup.procs", "moves processes"),
        ("cgroup.subtree_control", "moves processes"),
    ] {
        let b = bundle("unified-bad", json!({"unified": {key: "1"}}));
        let (o, _) = run(&b, &id("unified-bad"));
        let e = err(&o);
        assert!(
            !o.status.success()
                && e.contains(&format!("linux.resources.unified.{key}"))
                && e.contains(why),
            "{key}: {e}"
        );
    }
}
