//! cgroup v2 on a v2-only host (`make test-vm` boots one): every limit
//! written and enforced, freeze and thaw, `cgroup.kill` for a container
//! without a pid namespace, the eBPF device filter from inside a container,
//! the cgroup namespace's view and a join into the container's cgroup.
//!
//! On a host with v1 hierarchies (hybrid) these have nothing to check: a
//! loud skip as not applicable, also under `NSINIT_TEST_STRICT=1` (the
//! hybrid paths are `cgroup`'s). The tests that hold on both layouts
//! (`cgroup`, `cgroup::containers`) run on v2 too.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use nsinit::cgroup::{Layout, UNIFIED};
use nsinit::config::Cgroups;
use serde_json::json;

use crate::cgroup::{Guard, config, freeze_round_trip, line, read, remove_counter};
use crate::common::{self, Container, base_config, cgroup_dirs_named, err, ok, out, wait_until};

/// Root on a cgroup-v2-only host, or a loud skip (see the module doc).
fn v2_host() -> bool {
    if !common::root() {
        return false;
    }
    match Layout::detect() {
        Ok(l) if l.v1.is_empty() && l.unified.is_some() => true,
        Ok(_) => common::not_applicable("not a cgroup-v2-only host (`make test-vm` boots one)"),
        Err(e) => common::missing(format!("no cgroup layout: {e}")),
    }
}

/// [`v2_host`] and the busybox rootfs, for container tests.
fn v2_containers() -> bool {
    v2_host() && common::can_run()
}

/// The cgroup (the path below the cgroup2 mount) of `pid`, from its `0::` line.
fn cgroup_of(pid: i32) -> String {
    let s = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap_or_else(|| panic!("no 0:: line in {s}"))
        .to_string()
}

fn mount_point() -> PathBuf {
    Layout::detect().unwrap().unified.unwrap().mount_point
}

#[test]
fn every_limit_is_written_to_its_v2_file_and_the_process_is_in_the_leaf() {
    let test = "v2limits";
    if !v2_host() {
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
    assert_eq!(paths.keys().collect::<Vec<_>>(), [UNIFIED], "{paths:?}");
    let dir = paths[UNIFIED].clone();
    assert_eq!(read(&dir, "memory.max"), "33554432");
    assert_eq!(read(&dir, "memory.swap.max"), "16777216", "swap alone");
    assert_eq!(read(&dir, "memory.low"), "16777216");
    // runc's and crun's shares→weight formula: 512 → 59 (1024 → 100).
    assert_eq!(read(&dir, "cpu.weight"), "59");
    assert_eq!(read(&dir, "cpu.max"), "50000 100000");
    assert_eq!(read(&dir, "cpuset.cpus"), "0");
    assert_eq!(read(&dir, "pids.max"), "10");
    match std::fs::read_to_string(dir.join("io.bfq.weight")) {
        Ok(w) => assert!(w.contains("default 500"), "io.bfq.weight: {w}"),
        // blkio 10..1000 onto io 1..10000: 500 → 4950.
        Err(_) => assert_eq!(read(&dir, "io.weight"), "default 4950"),
    }
    // Every level above enables what the leaf uses.
    let subtree = read(dir.parent().unwrap(), "cgroup.subtree_control");
    for c in ["cpuset", "cpu", "io", "memory", "pids"] {
        assert!(
            subtree.split_whitespace().any(|e| e == c),
            "{c} not in {subtree}"
        );
    }

    let (pid, mut out) = g.spawn("read go; echo in; exec sleep 100");
    assert_eq!(line(&mut out), "in");
    let rel = dir.strip_prefix(mount_point()).unwrap();
    assert_eq!(cgroup_of(pid), format!("/{}", rel.display()));
    assert_eq!(read(&dir, "cgroup.procs"), pid.to_string());
    assert_eq!(g.m.pids().unwrap(), [pid]);
    g.finish(test);
}

#[test]
fn cpu_max_throttles_a_spinning_process() {
    let test = "v2cpumax";
    if !v2_host() {
        return;
    }
    let mut g = Guard::new(&Cgroups {
        cpu_quota: Some(10000),
        cpu_period: Some(100000),
        ..config(test)
    });
    let dir = g.m.path(UNIFIED).unwrap().to_path_buf();
    assert_eq!(read(&dir, "cpu.max"), "10000 100000");
    let (_, mut out) = g.spawn("read go; echo in; while :; do :; done");
    assert_eq!(line(&mut out), "in");
    // 10 ms of CPU per 100 ms: a spinner runs out of quota in every period.
    let stat = |key: &str| -> u64 {
        let s = read(&dir, "cpu.stat");
        s.lines()
            .find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {key} in cpu.stat:\n{s}"))
    };
    wait_until(Duration::from_secs(30), "3 throttled periods", || {
        stat("nr_throttled ") >= 3
    });
    assert!(stat("throttled_usec ") > 0);
    let (periods, throttled) = (stat("nr_periods "), stat("nr_throttled "));
    assert!(throttled <= periods, "{throttled} of {periods}");
    g.finish(test);
}

#[test]
fn cpuset_pins_the_process_to_its_cpus() {
    let test = "v2cpuset";
    if !v2_host() {
        return;
    }
    // The last CPU: with two or more, a set the process would not have had.
    let last = std::thread::available_parallelism().unwrap().get() - 1;
    let mut g = Guard::new(&Cgroups {
        cpuset_cpus: Some(last.to_string()),
        ..config(test)
    });
    let dir = g.m.path(UNIFIED).unwrap().to_path_buf();
    assert_eq!(read(&dir, "cpuset.cpus.effective"), last.to_string());
    let (pid, mut out) = g.spawn("read go; echo in; exec sleep 100");
    assert_eq!(line(&mut out), "in");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let allowed = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim();
    assert_eq!(allowed, last.to_string());
    g.finish(test);
}

#[test]
fn pids_max_refuses_the_fork_beyond_it_and_counts_it() {
    let test = "v2pids";
    if !v2_host() {
        return;
    }
    let mut g = Guard::new(&Cgroups {
        pids_limit: Some(3),
        ..config(test)
    });
    let dir = g.m.path(UNIFIED).unwrap().to_path_buf();
    let (_, out) = g.spawn(
        "read go; for i in 1 2 3; do sleep 100 >/dev/null 2>&1 & echo started $i; done; echo end",
    );
    let mut lines = Vec::new();
    for l in out.lines() {
        lines.push(l.unwrap());
    }
    // sh and two sleeps are three: the third sleep cannot fork.
    assert_eq!(lines, ["started 1", "started 2"]);
    // sh gave up; reaped, it is no longer counted.
    assert!(!g.children[0].wait().unwrap().success());
    let e = g.stderr(0);
    assert!(e.contains("fork"), "sh's complaint: {e}");
    assert_eq!(read(&dir, "pids.current"), "2");
    assert!(read(&dir, "pids.events").contains("max 1"));
    g.finish(test);
}

#[test]
fn memory_max_oom_kills_and_memory_events_count_it() {
    let test = "v2oom";
    if !v2_host() {
        return;
    }
    let mut g = Guard::new(&Cgroups {
        memory: Some(32 << 20),
        ..config(test)
    });
    let dir = g.m.path(UNIFIED).unwrap().to_path_buf();
    let (_, mut out) =
        g.spawn("read go; x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived");
    assert_eq!(line(&mut out), "", "sh must not survive");
    let events = read(&dir, "memory.events");
    let count = |key: &str| {
        events
            .lines()
            .find_map(|l| l.strip_prefix(key)?.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    assert!(count("oom_kill ") >= 1, "{events}");
    assert!(count("max ") >= 1, "{events}");
    assert!(g.m.oom_killed());
    let peak: u64 = read(&dir, "memory.peak").parse().unwrap();
    assert!(peak <= 32 << 20, "memory.peak {peak}");
    g.finish(test);
}

#[test]
fn freeze_parks_a_counter_in_s_and_thaw_resumes_it() {
    let test = "v2freeze";
    if !v2_host() {
        return;
    }
    let mut g = Guard::new(&config(test));
    let dir = g.m.path(UNIFIED).unwrap().to_path_buf();
    freeze_round_trip(&mut g, test, "S");
    assert_eq!(read(&dir, "cgroup.freeze"), "0");
    assert!(read(&dir, "cgroup.events").contains("frozen 0"));
    g.finish(test);
    remove_counter(test);
}

#[test]
fn cgroup_kill_ends_what_pid_1_leaves_behind_without_a_pid_namespace() {
    if !v2_containers() || !common::require("strace") {
        return;
    }
    let mut cfg = base_config();
    cfg["namespaces"]["NEWPID"] = json!(false);
    let c = Container::new("v2kill", &cfg);
    let log = c.dir.with_extension("strace");
    // PID 1 leaves a sleeper (its pid is a host pid: no pid namespace).
    let o = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=openat,openat2", "-o"])
        .arg(&log)
        .arg(common::bin())
        .arg("--root")
        .arg(&c.dir)
        .args(["exec", "sh", "-c", "sleep 1000 >/dev/null 2>&1 & echo $!"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    let sleeper: i32 = ok(&o).trim().parse().unwrap();
    assert!(
        common::is_dead(sleeper),
        "the sleeper {sleeper} outlived PID 1's container"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("cgroup.kill\"") && !l.contains("= -")),
        "nsinit never opened cgroup.kill:\n{text}"
    );
    let needle = c.dir.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(cgroup_dirs_named(&needle), Vec::<PathBuf>::new());
}

#[test]
fn the_device_filter_allows_listed_access_and_denies_the_rest_inside_a_container() {
    if !v2_containers() {
        return;
    }
    let node = |path: &str, minor: i64| json!({"type": 99, "path": path, "major_number": 1, "minor_number": minor, "file_mode": 438});
    let rule = |kind: i64, major: i64, minor: i64, perms: &str| json!({"type": kind, "major_number": major, "minor_number": minor, "cgroup_permissions": perms});
    let mut cfg = base_config();
    cfg["mount_config"]["device_nodes"] = json!([
        node("/dev/null", 3),
        node("/dev/zero", 5),
        node("/dev/full", 7),
    ]);
    // Any char node may be made; /dev/null is rw, /dev/zero read-only,
    // /dev/full (no rule) and every block device nothing at all.
    cfg["cgroups"]["allowed_devices"] = json!([
        rule(99, -1, -1, "m"),
        rule(99, 1, 3, "rwm"),
        rule(99, 1, 5, "r"),
    ]);
    let c = Container::new("v2devices", &cfg);
    let o = c.exec(&[
        "sh",
        "-c",
        "echo x > /dev/null && echo null-w; head -c 1 /dev/null; echo null-r $?; \
         head -c 1 /dev/zero > /dev/null && echo zero-r; echo x > /dev/zero && echo zero-w; \
         head -c 1 /dev/full > /dev/null && echo full-r; \
         mknod /dev/null2 c 1 3 && echo x > /dev/null2 && echo null2-w; \
         mknod /dev/loop0 b 7 0 && echo block-made; echo end",
    ]);
    assert_eq!(
        out(&o),
        "null-w\nnull-r 0\nzero-r\nnull2-w\nend\n",
        "stderr: {}",
        err(&o)
    );
    let e = err(&o);
    for denied in ["/dev/zero", "/dev/full", "/dev/loop0"] {
        assert!(e.contains(denied), "{denied} not refused: {e}");
    }
    assert_eq!(e.matches("Operation not permitted").count(), 3, "{e}");
}

#[test]
fn a_cgroup_namespace_shows_the_container_its_cgroup_as_the_root() {
    if !v2_containers() {
        return;
    }
    let mut cfg = base_config();
    cfg["namespaces"]["NEWCGROUP"] = json!(true);
    let c = Container::new("v2cgns", &cfg);
    let mut child = c.spawn(&["sh", "-c", "cat /proc/self/cgroup; exec sleep 1000"]);
    let pid = c.init_pid();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first, "0::/\n", "PID 1's own view");
    // The host sees the real place: the container's leaf.
    let needle = c.dir.file_name().unwrap().to_string_lossy().into_owned();
    let host_view = cgroup_of(pid);
    assert!(host_view.contains(&needle), "{host_view}");
    assert_ne!(
        std::fs::read_link(format!("/proc/{pid}/ns/cgroup")).unwrap(),
        std::fs::read_link("/proc/self/ns/cgroup").unwrap()
    );
    // A joined process shares the namespace, hence the view.
    assert_eq!(ok(&c.exec(&["cat", "/proc/self/cgroup"])), "0::/\n");
    ok(&c.cmd(&["kill", "KILL"]).output().unwrap());
    common::wait_child(&mut child, Duration::from_secs(20));
    assert_eq!(cgroup_dirs_named(&needle), Vec::<PathBuf>::new());
}

#[test]
fn a_joined_process_is_in_the_containers_leaf_cgroup() {
    if !v2_containers() {
        return;
    }
    let mut cfg = base_config();
    cfg["cgroups"]["pids_limit"] = json!(20);
    let c = Container::new("v2join", &cfg);
    let mut child = c.spawn(&["sleep", "1000"]);
    let pid = c.init_pid();
    let leaf = cgroup_of(pid);
    let needle = c.dir.file_name().unwrap().to_string_lossy().into_owned();
    assert!(leaf.contains(&needle), "{leaf}");
    // Seen from inside (no cgroup namespace: the host's path).
    let s = ok(&c.exec(&["cat", "/proc/self/cgroup"]));
    assert_eq!(s, format!("0::{leaf}\n"));
    // Seen from the host: a joined process (a sleep with an argument of its
    // own) is listed in the leaf's cgroup.procs.
    let arg = format!("{}.{}", 4000 + std::process::id() % 1000, 7);
    let mut joiner = c
        .cmd(&["exec", "sleep", &arg])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let cmdline = format!("sleep {arg}");
    wait_until(Duration::from_secs(20), "the joined sleep", || {
        !common::processes_running(&cmdline).is_empty()
    });
    let joined = common::processes_running(&cmdline)[0];
    assert_eq!(cgroup_of(joined), leaf);
    let dir = mount_point().join(leaf.trim_start_matches('/'));
    let procs = read(&dir, "cgroup.procs");
    assert!(
        procs.lines().any(|l| l == joined.to_string()),
        "{joined} not in {procs}"
    );
    let _ = joiner.kill();
    let _ = joiner.wait();
    ok(&c.cmd(&["kill", "KILL"]).output().unwrap());
    common::wait_child(&mut child, Duration::from_secs(20));
    assert_eq!(cgroup_dirs_named(&needle), Vec::<PathBuf>::new());
}
