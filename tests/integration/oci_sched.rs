//! `process.scheduler`, `process.ioPriority` and `process.execCPUAffinity`:
//! read back from the container's processes (their own /proc view and the
//! host's), for the init, an exec with the config's settings and an exec
//! with its own `--process` file.

use std::process::Stdio;
use std::time::Duration;

use rustix::thread::CpuSet;
use serde_json::{Value, json};

use crate::common::{can_run, err, missing, out, wait_until};
use crate::oci::{Bundle, config};

/// Field `n` (1-based, as in proc(5)) of /proc/PID/stat.
fn stat_field(stat: &str, n: usize) -> String {
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    rest.split(' ').nth(n - 3).unwrap().to_string()
}

/// `Cpus_allowed_list` of a /proc/PID/status text.
fn cpus_allowed(status: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim()
        .to_string()
}

/// Run `f` with the calling thread pinned to CPU `cpu`: what it spawns
/// starts pinned there too.
fn pinned<T>(cpu: usize, f: impl FnOnce() -> T) -> T {
    let before = rustix::thread::sched_getaffinity(None).unwrap();
    let mut one = CpuSet::new();
    one.set(cpu);
    rustix::thread::sched_setaffinity(None, &one).unwrap();
    let r = f();
    rustix::thread::sched_setaffinity(None, &before).unwrap();
    r
}

/// CPUs 0 and 1 are ours to pin to.
fn two_cpus() -> bool {
    let ours = rustix::thread::sched_getaffinity(None).unwrap();
    (ours.is_set(0) && ours.is_set(1))
        || missing("needs CPUs 0 and 1 in the test's affinity (two CPUs online)")
}

#[test]
fn scheduler_and_io_priority_reach_the_init_and_execs() {
    if !can_run() {
        return;
    }
    let b = Bundle::new("sched", &["sleep", "1000"]);
    let mut c = config(&["sleep", "1000"]);
    c["process"]["scheduler"] = json!({"policy": "SCHED_BATCH", "nice": 19});
    c["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 6});
    b.write_config(&c);
    let bundle = b.dir.to_str().unwrap().to_string();
    b.ok(&["run", "-d", "--bundle", &bundle, "s1"]);
    let pid = b.state("s1")["pid"].as_i64().unwrap();
    // From the host: policy (field 41) 3 = SCHED_BATCH, nice (field 19).
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    assert_eq!(stat_field(&stat, 41), "3", "{stat}");
    assert_eq!(stat_field(&stat, 19), "19", "{stat}");
    // From inside: the init's I/O priority, and an exec's own settings
    // derived from config.json.
    let o = b.run(&["exec", "s1", "ionice", "-p", "1"]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).contains("best-effort: prio 6"), "{}", out(&o));
    let o = b.run(&["exec", "s1", "sh", "-c", "cat /proc/self/stat; ionice"]);
    let text = out(&o);
    assert_eq!(stat_field(&text, 41), "3", "{text}");
    assert_eq!(stat_field(&text, 19), "19", "{text}");
    assert!(text.contains("best-effort: prio 6"), "{text}");
    // An exec with its own process file gets its own policy.
    let proc = b.dir.join("idle.json");
    std::fs::write(
        &proc,
        json!({"args": ["cat", "/proc/self/stat"], "cwd": "/", "env": ["PATH=/bin"],
               "scheduler": {"policy": "SCHED_IDLE"},
               "ioPriority": {"class": "IOPRIO_CLASS_IDLE", "priority": 0}})
        .to_string(),
    )
    .unwrap();
    let o = b.run(&["exec", "--process", proc.to_str().unwrap(), "s1"]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(stat_field(&out(&o), 41), "5", "{}", out(&o));
}

#[test]
fn exec_cpu_affinity_initial_final_and_the_reset() {
    if !can_run() || !two_cpus() {
        return;
    }
    let b = Bundle::new("affinity", &["sleep", "1000"]);
    let mut c = config(&["sleep", "1000"]);
    c["process"]["execCPUAffinity"] = json!({"final": "1"});
    b.write_config(&c);
    let bundle = b.dir.to_str().unwrap().to_string();
    // Started pinned to CPU 0, the init runs on every CPU of its cgroup
    // (execCPUAffinity is not for the init).
    pinned(0, || b.ok(&["run", "-d", "--bundle", &bundle, "a1"]));
    let pid = b.state("a1")["pid"].as_i64().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let all = cpus_allowed(&std::fs::read_to_string("/proc/self/status").unwrap());
    assert_eq!(cpus_allowed(&status), all, "init");
    // An exec takes config.json's `final`, from inside its own /proc.
    let o = pinned(0, || b.run(&["exec", "a1", "cat", "/proc/self/status"]));
    assert_eq!(cpus_allowed(&out(&o)), "1", "{}", err(&o));
    // A process file's `initial` pins the runtime while it joins; its
    // `final` the process. The supervising nsinit-oci is watched from the
    // host while the process runs.
    let proc = b.dir.join("aff.json");
    std::fs::write(
        &proc,
        json!({"args": ["sh", "-c", "cat /proc/self/status > /tmp/aff; exec sleep 100"],
               "cwd": "/", "env": ["PATH=/bin"],
               "execCPUAffinity": {"initial": "1", "final": "0"}})
        .to_string(),
    )
    .unwrap();
    let _ = std::fs::remove_file(b.rootfs().join("tmp/aff"));
    let mut runtime = b
        .cmd(&["exec", "--process", proc.to_str().unwrap(), "a1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let aff = b.rootfs().join("tmp/aff");
    wait_until(Duration::from_secs(10), "the exec's status", || {
        std::fs::read_to_string(&aff).is_ok_and(|s| s.contains("Cpus_allowed_list"))
    });
    let outside = std::fs::read_to_string(format!("/proc/{}/status", runtime.id())).unwrap();
    assert_eq!(cpus_allowed(&outside), "1", "the runtime while joining");
    let inside = std::fs::read_to_string(&aff).unwrap();
    assert_eq!(cpus_allowed(&inside), "0", "the process");
    b.ok(&["kill", "a1", "KILL"]);
    let _ = runtime.wait();
}

fn refused(process: Value, linux: Option<Value>) -> String {
    let b = Bundle::new("schedbad", &["true"]);
    let mut c = config(&["true"]);
    for (k, v) in process.as_object().unwrap() {
        c["process"][k] = v.clone();
    }
    if let Some(l) = linux {
        for (k, v) in l.as_object().unwrap() {
            c["linux"][k] = v.clone();
        }
    }
    b.write_config(&c);
    let bundle = b.dir.to_str().unwrap().to_string();
    let o = b.run(&["run", "--bundle", &bundle, "bad"]);
    assert_ne!(o.status.code(), Some(0));
    err(&o)
}

#[test]
fn bad_scheduling_settings_are_refused_by_field() {
    if !can_run() {
        return;
    }
    let cases = [
        (
            json!({"scheduler": {"policy": "SCHED_OTHER", "priority": 5}}),
            None,
            "process.scheduler.priority: can only be set for SCHED_FIFO or SCHED_RR",
        ),
        (
            json!({"scheduler": {"policy": "SCHED_RR"}}),
            None,
            "process.scheduler.priority: must be between 1 and 99 for SCHED_RR, got 0",
        ),
        (
            json!({"scheduler": {"policy": "SCHED_BATCH", "nice": 20}}),
            None,
            "process.scheduler.nice: must be between -20 and 19, got 20",
        ),
        (
            json!({"scheduler": {"policy": "SCHED_FAST"}}),
            None,
            "process.scheduler.policy: unknown policy \"SCHED_FAST\"",
        ),
        (
            json!({"scheduler": {"policy": "SCHED_OTHER", "runtime": 1000}}),
            None,
            "process.scheduler: runtime, deadline and period can only be set for SCHED_DEADLINE",
        ),
        (
            json!({"scheduler": {"policy": "SCHED_DEADLINE", "runtime": 42000,
                                 "deadline": 1000000, "period": 1000000}}),
            Some(json!({"resources": {"cpu": {"cpus": "0"}}})),
            "SCHED_DEADLINE cannot be used together with linux.resources.cpu.cpus",
        ),
        (
            json!({"ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 8}}),
            None,
            "process.ioPriority.priority: must be between 0 (highest) and 7 (lowest), got 8",
        ),
        (
            json!({"ioPriority": {"class": "BE", "priority": 1}}),
            None,
            "process.ioPriority.class: unknown class \"BE\"",
        ),
        (
            json!({"execCPUAffinity": {"initial": "3-1"}}),
            None,
            "process.execCPUAffinity.initial: expected a CPU list like \"0-3,7\", got \"3-1\"",
        ),
    ];
    for (process, linux, want) in cases {
        let e = refused(process.clone(), linux);
        assert!(
            e.contains(&format!("config.json: {want}")) || e.contains(want),
            "{process}: {e}"
        );
    }
}

/// A real-time policy: with cgroup v1's real-time group scheduling the
/// container's cpu cgroup needs a budget (`realtimeRuntime`), which is then
/// there; elsewhere the policy alone.
#[test]
fn a_real_time_policy_with_its_budget() {
    if !can_run() {
        return;
    }
    let b = Bundle::new("fifo", &["sleep", "1000"]);
    let mut c = config(&["sleep", "1000"]);
    c["process"]["scheduler"] = json!({"policy": "SCHED_FIFO", "priority": 10});
    let rt_groups = std::path::Path::new("/sys/fs/cgroup/cpu/cpu.rt_runtime_us").exists();
    if rt_groups {
        c["linux"]["resources"] =
            json!({"cpu": {"realtimePeriod": 1000000, "realtimeRuntime": 10000}});
    }
    b.write_config(&c);
    let bundle = b.dir.to_str().unwrap().to_string();
    b.ok(&["run", "-d", "--bundle", &bundle, "f1"]);
    let pid = b.state("f1")["pid"].as_i64().unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    assert_eq!(stat_field(&stat, 41), "1", "SCHED_FIFO: {stat}");
    assert_eq!(stat_field(&stat, 40), "10", "rt_priority: {stat}");
    b.ok(&["delete", "-f", "f1"]);
    if rt_groups {
        // Without the budget the kernel refuses, and the message says why.
        c["linux"]["resources"] = Value::Null;
        b.write_config(&c);
        let o = b.run(&["run", "-d", "--bundle", &bundle, "f2"]);
        assert_ne!(o.status.code(), Some(0));
        assert!(
            err(&o).contains("sched_setattr SCHED_FIFO: Operation not permitted")
                && err(&o).contains("realtimeRuntime"),
            "{}",
            err(&o)
        );
    }
}

/// `linux.memoryPolicy`: the init's and an exec's NUMA policy, as their
/// own /proc/self/numa_maps shows it, and the refusals by field.
#[test]
fn memory_policy_reaches_the_init_and_execs() {
    if !can_run() {
        return;
    }
    if !std::path::Path::new("/proc/self/numa_maps").exists() {
        crate::common::not_applicable("no NUMA in this kernel (/proc/self/numa_maps)");
        return;
    }
    let b = Bundle::new("mpol", &["sleep", "1000"]);
    let mut c = config(&["sleep", "1000"]);
    c["linux"]["memoryPolicy"] = json!({"mode": "MPOL_BIND", "nodes": "0",
                                        "flags": ["MPOL_F_STATIC_NODES"]});
    b.write_config(&c);
    let bundle = b.dir.to_str().unwrap().to_string();
    b.ok(&["run", "-d", "--bundle", &bundle, "m1"]);
    let pid = b.state("m1")["pid"].as_i64().unwrap();
    let maps = std::fs::read_to_string(format!("/proc/{pid}/numa_maps")).unwrap();
    let first = maps.lines().next().unwrap_or_default();
    assert!(first.contains(" bind=static:0 "), "init: {first}");
    let o = b.run(&["exec", "m1", "head", "-1", "/proc/self/numa_maps"]);
    assert!(
        out(&o).contains(" bind=static:0 "),
        "exec: {} {}",
        out(&o),
        err(&o)
    );
    b.ok(&["delete", "-f", "m1"]);
    for (policy, want) in [
        (
            json!({"mode": "MPOL_BIND"}),
            "linux.memoryPolicy.nodes: required for this mode",
        ),
        (
            json!({"mode": "MPOL_LOCAL", "nodes": "0"}),
            "linux.memoryPolicy.nodes: must be empty for MPOL_DEFAULT and MPOL_LOCAL",
        ),
        (
            json!({"mode": "MPOL_FAST"}),
            "linux.memoryPolicy.mode: unknown mode \"MPOL_FAST\"",
        ),
        (
            json!({"mode": "MPOL_INTERLEAVE", "nodes": "1-0"}),
            "linux.memoryPolicy.nodes: expected a node list like \"0-3,7\", got \"1-0\"",
        ),
    ] {
        c["linux"]["memoryPolicy"] = policy;
        b.write_config(&c);
        let o = b.run(&["run", "--bundle", &bundle, "m2"]);
        assert_eq!(o.status.code(), Some(125), "{}", err(&o));
        assert!(err(&o).contains(want), "want {want}: {}", err(&o));
    }
}
