//! `linux.resources.cpu` burst, idle, realtimePeriod/realtimeRuntime and
//! `linux.resources.rdma`: each read back from the container's cgroup files
//! on the host (the v1 files where a v1 hierarchy has the controller, else
//! the v2 ones, so the same tests run on this hybrid host and in `make
//! test-vm`), changed by `update`, and refused with the field and the file
//! named where the host lacks what they need (realtime on cgroup v2 or
//! without CONFIG_RT_GROUP_SCHED, no rdma controller, no RDMA device).

use std::path::Path;

use nsinit::cgroup::Layout;
use serde_json::{Value, json};

use crate::cgroup_fields::{bundle, cgroup_dir, id, on_v1, run};
use crate::common::{can_run, err, out};
use crate::oci::{Bundle, config};

fn read(dir: &Path, file: &str) -> String {
    let p = dir.join(file);
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .trim()
        .to_string()
}

/// `update ID` with `args`, asserting success.
fn update(b: &Bundle, id: &str, args: &[&str]) {
    let mut all = vec!["update"];
    all.extend_from_slice(args);
    all.push(id);
    b.ok(&all);
}

/// `update --resources` with `r`.
fn update_resources(b: &Bundle, id: &str, r: Value) -> std::process::Output {
    let patch = b.dir.join("patch.json");
    std::fs::write(&patch, r.to_string()).unwrap();
    b.run(&["update", "--resources", patch.to_str().unwrap(), id])
}

#[test]
fn burst_and_idle_reach_the_cpu_files_and_update_changes_them() {
    if !can_run() {
        return;
    }
    let id = id("burst");
    let b = bundle(
        "burst",
        json!({"cpu": {"shares": 512, "quota": 50000, "period": 100000, "burst": 20000, "idle": 1}}),
    );
    let (o, pid) = run(&b, &id);
    let pid = pid.unwrap_or_else(|| panic!("run: {}", err(&o)));
    let dir = cgroup_dir(pid, "cpu");
    let (burst, quota) = match on_v1("cpu") {
        true => ("cpu.cfs_burst_us", "cpu.cfs_quota_us"),
        false => ("cpu.max.burst", "cpu.max"),
    };
    let check = |b: u64, q: u64, idle: u8| {
        assert_eq!(read(&dir, burst), b.to_string(), "{burst}");
        assert_eq!(read(&dir, "cpu.idle"), idle.to_string(), "cpu.idle");
        let want = match on_v1("cpu") {
            true => q.to_string(),
            false => format!("{q} 100000"),
        };
        assert_eq!(read(&dir, quota), want, "{quota}");
    };
    check(20000, 50000, 1);

    // The flags; the shares are applied again to a cgroup that is idle
    // (the kernel refuses a weight there): not an error.
    update(&b, &id, &["--cpu-burst", "10000"]);
    check(10000, 50000, 1);
    update(&b, &id, &["--cpu-idle", "0", "--cpu-share", "256"]);
    check(10000, 50000, 0);
    let weight = match on_v1("cpu") {
        true => ("cpu.shares", "256"),
        false => ("cpu.weight", "35"),
    };
    assert_eq!(read(&dir, weight.0), weight.1);

    // A burst above the quota in force is refused by the kernel until the
    // quota is raised: both in one update go in the order that works.
    let o = update_resources(&b, &id, json!({"cpu": {"quota": 200000, "burst": 150000}}));
    assert!(o.status.success(), "{}", err(&o));
    check(150000, 200000, 0);
    // And the other way: the quota comes down below the burst in force.
    let o = update_resources(&b, &id, json!({"cpu": {"quota": 30000, "burst": 5000}}));
    assert!(o.status.success(), "{}", err(&o));
    check(5000, 30000, 0);

    // Bad values name the field; nothing changes.
    let o = update_resources(&b, &id, json!({"cpu": {"idle": 2, "burst": 40000}}));
    assert!(!o.status.success());
    for e in [
        "config.json: linux.resources.cpu.idle: must be 0 or 1, got 2",
        "config.json: linux.resources.cpu.burst: must not exceed quota (30000), got 40000",
    ] {
        assert!(err(&o).contains(e), "{e} in {}", err(&o));
    }
    check(5000, 30000, 0);
}

#[test]
fn realtime_period_and_runtime_reach_v1_files_or_are_refused() {
    if !can_run() {
        return;
    }
    let id = id("rt");
    let rt = json!({"cpu": {"realtimePeriod": 100000, "realtimeRuntime": 10000}});
    let b = bundle("rt", rt.clone());
    let (o, pid) = run(&b, &id);
    let v1 = Layout::detect().unwrap().v1_for("cpu").cloned();
    let Some(h) = v1 else {
        // cgroup v2 has no realtime group scheduling: refused naming both
        // fields, at create and at update.
        assert!(pid.is_none(), "runs with realtime limits on cgroup v2");
        for key in ["realtimePeriod", "realtimeRuntime"] {
            let e = format!(
                "config.json: linux.resources.cpu.{key}: cgroup v2 has no realtime group scheduling"
            );
            assert!(err(&o).contains(&e), "{e} in {}", err(&o));
        }
        let b = bundle("rt-upd", json!({}));
        let (o, pid) = run(&b, &id);
        pid.unwrap_or_else(|| panic!("run: {}", err(&o)));
        let o = b.run(&["update", "--cpu-rt-runtime", "1000", &id]);
        assert!(
            !o.status.success()
                && err(&o).contains("linux.resources.cpu.realtimeRuntime: cgroup v2 has no"),
            "{}",
            err(&o)
        );
        return;
    };
    if !h.mount_point.join("cpu.rt_runtime_us").exists() {
        // A kernel without CONFIG_RT_GROUP_SCHED: the field and the file.
        assert!(pid.is_none(), "runs without realtime group scheduling");
        assert!(
            err(&o).contains("cpu_rt_runtime: ")
                && err(&o).contains("cpu.rt_period_us does not exist (no CONFIG_RT_GROUP_SCHED"),
            "{}",
            err(&o)
        );
        return;
    }
    let pid = pid.unwrap_or_else(|| panic!("run: {}", err(&o)));
    let dir = cgroup_dir(pid, "cpu");
    let check = |p: u64, r: u64| {
        assert_eq!(read(&dir, "cpu.rt_period_us"), p.to_string());
        assert_eq!(read(&dir, "cpu.rt_runtime_us"), r.to_string());
    };
    check(100000, 10000);
    update(&b, &id, &["--cpu-rt-runtime", "20000"]);
    check(100000, 20000);
    // A period below the runtime in force: the runtime comes down first.
    let o = update_resources(
        &b,
        &id,
        json!({"cpu": {"realtimePeriod": 15000, "realtimeRuntime": 1500}}),
    );
    assert!(o.status.success(), "{}", err(&o));
    check(15000, 1500);
    update(&b, &id, &["--cpu-rt-period", "100000"]);
    check(100000, 1500);

    // A runtime above what the parent grants: a parent nsinit makes has
    // none (0), so the kernel refuses any; the error names the field, the
    // parent's file and the file written, and nothing is left.
    let parent = format!("cgf-rtparent-{}", std::process::id());
    let mut cfg = config(&["sleep", "1000"]);
    cfg["linux"]["resources"] = rt;
    cfg["linux"]["cgroupsPath"] = json!(format!("/{parent}/ctr"));
    let b = bundle("rt-parent", json!({}));
    b.write_config(&cfg);
    let (o, pid) = run(&b, &self::id("rt-parent"));
    assert!(
        pid.is_none(),
        "runs with a runtime its parent does not grant"
    );
    let e = err(&o);
    let parent_file = h.mount_point.join(&parent).join("cpu.rt_runtime_us");
    for want in [
        "cpu_rt_runtime: a runtime must fit in the period and in what the parent grants"
            .to_string(),
        format!("({})", parent_file.display()),
        format!(
            "write 10000 to {}: Invalid argument",
            h.mount_point
                .join(&parent)
                .join("ctr/cpu.rt_runtime_us")
                .display()
        ),
    ] {
        assert!(e.contains(&want), "{want} in {e}");
    }
    let left = crate::common::cgroup_dirs_named(&parent);
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Does the host have an rdma controller, on v1 or v2?
fn rdma_controller() -> bool {
    let layout = Layout::detect().unwrap();
    layout.v1_for("rdma").is_some()
        || layout.unified.is_some_and(|u| {
            std::fs::read_to_string(u.mount_point.join("cgroup.controllers"))
                .is_ok_and(|c| c.split_whitespace().any(|c| c == "rdma"))
        })
}

#[test]
fn rdma_limits_go_to_rdma_max_or_are_refused_naming_the_field() {
    if !can_run() {
        return;
    }
    let b = bundle("features", json!({}));
    let f: Value = serde_json::from_str(&out(&b.run(&["features"]))).unwrap();
    assert_eq!(f["linux"]["cgroup"]["rdma"], true);

    // A real RDMA device when there is one; else a name no device has.
    let device = std::fs::read_dir("/sys/class/infiniband")
        .ok()
        .and_then(|mut d| d.next())
        .and_then(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned());
    let name = device.clone().unwrap_or_else(|| "nsinit_none0".into());
    let id = id("rdma");
    let b = bundle(
        "rdma",
        json!({"rdma": {name.clone(): {"hcaHandles": 2, "hcaObjects": 100}}}),
    );
    let (o, pid) = run(&b, &id);
    let line = format!("{name} hca_handle=2 hca_object=100");
    if !rdma_controller() {
        assert!(pid.is_none(), "runs without an rdma controller");
        assert!(
            err(&o).contains("cannot apply rdma: no rdma controller"),
            "{}",
            err(&o)
        );
        return;
    }
    if device.is_none() {
        // The controller is there, the device is not: the kernel refuses
        // the line, which the error shows with the file.
        assert!(pid.is_none(), "runs with limits for a missing RDMA device");
        assert!(
            err(&o).contains(&format!("write {line} to "))
                && err(&o).contains("rdma.max: No such device"),
            "{}",
            err(&o)
        );
        return;
    }
    let pid = pid.unwrap_or_else(|| panic!("run: {}", err(&o)));
    let dir = cgroup_dir(pid, "rdma");
    assert!(read(&dir, "rdma.max").lines().any(|l| l == line));
    let o = update_resources(&b, &id, json!({"rdma": {name.clone(): {"hcaHandles": 5}}}));
    assert!(o.status.success(), "{}", err(&o));
    let line = format!("{name} hca_handle=5 hca_object=100");
    assert!(read(&dir, "rdma.max").lines().any(|l| l == line));
}
