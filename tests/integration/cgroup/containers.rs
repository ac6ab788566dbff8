//! Cgroups of whole containers: `nsinit exec` on the busybox rootfs from
//! `make rootfs`.

use std::time::Duration;

use serde_json::{Value, json};

use super::proc_state;
use crate::common::{
    Container, Witness, base_config, can_run, cgroup_dirs_named, err, ok, out, wait_until,
};

/// The container directory's name, which its default cgroup name contains.
fn needle(c: &Container) -> String {
    c.dir.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn memory_32m_container_allocating_64m_is_oom_killed_and_reported() {
    if !can_run() {
        return;
    }
    let mut cfg = base_config();
    cfg["cgroups"]["memory"] = json!(32 << 20);
    let c = Container::new("cg-oom", &cfg);
    let o = c.exec(&[
        "sh",
        "-c",
        "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived",
    ]);
    assert_eq!(
        o.status.code(),
        Some(137),
        "stdout: {}\nstderr: {}",
        out(&o),
        err(&o)
    );
    assert!(!out(&o).contains("survived"));
    assert!(
        err(&o).contains("OOM"),
        "nsinit names the OOM kill: {}",
        err(&o)
    );
    assert_eq!(
        cgroup_dirs_named(&needle(&c)),
        Vec::<std::path::PathBuf>::new()
    );
    // Only PID 1's death is the container's: a child of it killed by the OOM
    // killer, and PID 1 exiting on its own, is no OOM kill of the container.
    // The child asks to be the victim (raising the score needs no right):
    // the kernel picks it, not PID 1.
    let o = c.exec(&[
        "sh",
        "-c",
        "(echo 1000 > /proc/self/oom_score_adj; x=$(head -c 67108864 /dev/zero | tr '\\0' a)); \
         echo alive",
    ]);
    assert_eq!(ok(&o), "alive\n");
    assert!(!err(&o).contains("OOM"), "{}", err(&o));
}

#[test]
fn device_rules_deny_an_unlisted_device_inside_the_container() {
    if !can_run() {
        return;
    }
    let c = Container::new("cg-dev", &base_config());
    // The default rules allow mknod of anything, and rw of /dev/null (1:3),
    // not of 10:229 (fuse). A second node for 1:3 works like /dev/null.
    let o = c.exec(&[
        "sh",
        "-c",
        "echo x > /dev/null && echo null-ok; mknod /dev/null2 c 1 3 && echo x > /dev/null2 && echo null2-ok; \
         mknod /dev/fuse2 c 10 229 && echo mknod-ok; head -c 1 /dev/fuse2; echo end",
    ]);
    assert_eq!(
        out(&o),
        "null-ok\nnull2-ok\nmknod-ok\nend\n",
        "stderr: {}",
        err(&o)
    );
    assert!(
        err(&o).contains("/dev/fuse2") && err(&o).contains("Operation not permitted"),
        "{}",
        err(&o)
    );
}

#[test]
fn pids_limit_10_makes_the_11th_fork_in_the_container_fail() {
    if !can_run() {
        return;
    }
    let mut cfg = base_config();
    cfg["cgroups"]["pids_limit"] = json!(10);
    let c = Container::new("cg-pids", &cfg);
    let o = c.exec(&[
        "sh",
        "-c",
        "i=0; while [ $i -lt 12 ]; do sleep 5 >/dev/null 2>&1 & i=$((i+1)); echo started $i; done",
    ]);
    let s = out(&o);
    assert!(
        s.ends_with("started 9\n"),
        "sh (PID 1) and 9 sleeps are 10: {s}\nstderr: {}",
        err(&o)
    );
    assert!(err(&o).contains("fork"), "{}", err(&o));
    assert_eq!(
        cgroup_dirs_named(&needle(&c)),
        Vec::<std::path::PathBuf>::new()
    );
}

/// Unpause on drop, so a failed assertion never leaves a frozen container.
struct Unpause<'a>(&'a Container);
impl Drop for Unpause<'_> {
    fn drop(&mut self) {
        let _ = self.0.cmd(&["unpause"]).output();
    }
}

fn size(path: &str) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

#[test]
fn pause_unpause_round_trip_and_stats() {
    if !can_run() {
        return;
    }
    let mut cfg = base_config();
    cfg["cgroups"]["memory"] = json!(64 << 20);
    cfg["cgroups"]["pids_limit"] = json!(32);
    let c = Container::new("cg-pause", &cfg);
    let mut child = c.spawn(&["sh", "-c", "while :; do echo x >> /tmp/count; done"]);
    let pid = c.init_pid();
    let counter = format!("/proc/{pid}/root/tmp/count");
    wait_until(Duration::from_secs(10), "the counter to start", || {
        size(&counter) > 0
    });
    let guard = Unpause(&c);

    ok(&c.cmd(&["pause"]).output().unwrap());
    // The v1 freezer (when mounted, nsinit uses it) leaves a task in D or T,
    // the v2 one in S.
    let v1_freezer = nsinit::cgroup::Layout::detect()
        .unwrap()
        .v1_for("freezer")
        .is_some();
    let states = if v1_freezer { "DT" } else { "S" };
    let state = proc_state(pid);
    assert!(states.contains(state), "paused PID 1 is in state {state}");
    let frozen = size(&counter);
    // A host process demonstrably gets CPU time meanwhile.
    Witness::start().advance(1000);
    assert_eq!(size(&counter), frozen, "no progress while paused");

    ok(&c.cmd(&["unpause"]).output().unwrap());
    wait_until(Duration::from_secs(10), "progress after unpause", || {
        size(&counter) > frozen
    });
    drop(guard);

    let stats: Value = serde_json::from_str(&ok(&c.cmd(&["stats"]).output().unwrap())).unwrap();
    let cg = &stats["cgroups"];
    assert!(cg["memory"]["usage"].as_u64().unwrap() > 0, "{stats}");
    assert_eq!(cg["memory"]["limit"], 64 << 20, "{stats}");
    assert!(cg["cpu"]["usage_total"].as_u64().unwrap() > 0, "{stats}");
    assert_eq!(cg["pids"]["current"], 1, "{stats}");
    assert_eq!(cg["pids"]["limit"], 32, "{stats}");
    for k in ["read_bytes", "write_bytes", "read_ops", "write_ops"] {
        assert!(cg["blkio"][k].is_u64(), "{stats}");
    }

    ok(&c.cmd(&["kill", "KILL"]).output().unwrap());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(137));
    assert_eq!(
        cgroup_dirs_named(&needle(&c)),
        Vec::<std::path::PathBuf>::new()
    );
}

#[test]
fn twenty_containers_in_a_row_leave_no_cgroup() {
    if !can_run() {
        return;
    }
    let mut cfg = base_config();
    cfg["cgroups"]["memory"] = json!(64 << 20);
    cfg["cgroups"]["cpu_quota"] = json!(50000);
    cfg["cgroups"]["pids_limit"] = json!(64);
    let mut needles = Vec::new();
    for i in 0..20 {
        let c = Container::new("cg-many", &cfg);
        let s = ok(&c.exec(&["sh", "-c", "sleep 100 >/dev/null & echo done"]));
        assert!(s.ends_with("done\n"), "container {i}: {s}");
        needles.push(needle(&c));
    }
    for n in needles {
        assert_eq!(
            cgroup_dirs_named(&n),
            Vec::<std::path::PathBuf>::new(),
            "{n}"
        );
    }
}
