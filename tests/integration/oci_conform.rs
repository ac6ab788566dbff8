//! `nsinit-oci` as a runc user or engine (and the runtime-tools validation
//! suite) sees it: unknown capability names refused, `kill` signal
//! spellings, `ps` with ps(1) arguments, `events --stats` in runc's shape,
//! answers about unknown, created and paused containers.

use std::time::Duration;

use serde_json::Value;

use crate::common::{can_run, err, out, require, wait_until};
use crate::oci::{Bundle, config, exists};

/// A looping PID 1 that appends a line to /got for every SIGUSR1.
const USR1_COUNTER: &str = "trap 'echo x >> /got' USR1; : > /ready; while :; do sleep 0.05; done";

fn lines(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |s| s.lines().count())
}

#[test]
fn an_unknown_capability_name_is_a_warning_and_not_granted() {
    if !can_run() {
        return;
    }
    // runtime-spec 1.1+: a value that maps to no kernel capability "MUST be
    // logged as a warning"; runtimes "SHOULD NOT fail" (a config written for
    // a newer kernel), as runc and crun.
    let b = Bundle::new("capname", &["sh", "-c", "grep CapBnd /proc/self/status"]);
    let mut c = config(&["sh", "-c", "grep CapBnd /proc/self/status"]);
    c["process"]["capabilities"]["bounding"]
        .as_array_mut()
        .unwrap()
        .push("CAP_TEST".into());
    b.write_config(&c);
    let o = b.run(&["run", "--bundle", b.dir.to_str().unwrap(), "capname1"]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        err(&o).contains("process.capabilities.bounding[3]: unknown capability \"CAP_TEST\""),
        "the warning names the field and the value: {}",
        err(&o)
    );
    // KILL (5), NET_BIND_SERVICE (10), AUDIT_WRITE (29): nothing more.
    assert_eq!(out(&o).trim(), "CapBnd:\t0000000020000420", "{}", out(&o));
}

#[test]
fn kill_takes_signal_names_in_any_case_with_or_without_sig_and_signal_0() {
    if !can_run() {
        return;
    }
    let b = Bundle::new("killsig", &["sh", "-c", USR1_COUNTER]);
    b.ok(&[
        "run",
        "--detach",
        "--bundle",
        b.dir.to_str().unwrap(),
        "ks1",
    ]);
    let (ready, got) = (b.rootfs().join("ready"), b.rootfs().join("got"));
    wait_until(Duration::from_secs(10), "the trap is set", || {
        ready.exists()
    });
    // Signal 0 probes (kill(2)): success, and nothing is delivered.
    b.ok(&["kill", "ks1", "0"]);
    for (n, sig) in ["sigusr1", "Usr1", "SIGUSR1", "10"].iter().enumerate() {
        b.ok(&["kill", "ks1", sig]);
        wait_until(
            Duration::from_secs(10),
            &format!("SIGUSR1 as {sig}"),
            || lines(&got) == n + 1,
        );
    }
    let o = b.run(&["kill", "ks1", "sigbogus"]);
    assert!(
        !o.status.success() && err(&o).contains("sigbogus"),
        "{}",
        err(&o)
    );
    b.ok(&["kill", "ks1", "kill"]);
    wait_until(Duration::from_secs(10), "stopped", || {
        b.status("ks1") == "stopped"
    });
    // Probing a stopped container answers as runc: not running.
    let o = b.run(&["kill", "ks1", "0"]);
    assert!(
        !o.status.success() && err(&o).contains("not running"),
        "{}",
        err(&o)
    );
}

#[test]
fn ps_passes_its_arguments_to_ps_and_keeps_only_the_containers_lines() {
    if !can_run() || !require("ps") {
        return;
    }
    let b = Bundle::new("ps", &["sleep", "1000"]);
    b.ok(&[
        "run",
        "--detach",
        "--bundle",
        b.dir.to_str().unwrap(),
        "ps1",
    ]);
    let pid = b.state("ps1")["pid"].as_i64().unwrap();
    // Default: ps -ef (runc's), its header, then the container's lines only.
    let table = b.ok(&["ps", "ps1"]);
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 2, "header + sleep: {table}");
    // (procps: UID PID PPID … CMD; busybox, as in make test-vm: PID USER COMMAND)
    assert!(rows[0].split_whitespace().any(|c| c == "PID"), "{table}");
    assert!(
        rows[1].contains("sleep 1000") && rows[1].contains(&pid.to_string()),
        "{table}"
    );
    // ps(1)'s own options after the ID, with or without `--`.
    for args in [
        &["ps", "ps1", "-o", "pid,args"][..],
        &["ps", "ps1", "--", "-o", "pid,args"],
    ] {
        let t = b.ok(args);
        let rows: Vec<&str> = t.lines().collect();
        assert_eq!(rows.len(), 2, "{args:?}: {t}");
        assert_eq!(
            rows[0].split_whitespace().collect::<Vec<_>>(),
            ["PID", "COMMAND"]
        );
        assert_eq!(
            rows[1].split_whitespace().collect::<Vec<_>>(),
            [pid.to_string().as_str(), "sleep", "1000"],
            "{t}"
        );
    }
    let o = b.run(&["ps", "ps1", "-o", "comm"]);
    assert!(
        !o.status.success() && err(&o).contains("no PID column"),
        "{}",
        err(&o)
    );
    let json: Value = serde_json::from_str(&b.ok(&["ps", "--format", "json", "ps1"])).unwrap();
    assert_eq!(json, serde_json::json!([pid]));
    let o = b.run(&["ps", "--format", "yaml", "ps1"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
}

#[test]
fn events_stats_has_runcs_shape_and_a_stopped_container_is_an_error() {
    if !can_run() {
        return;
    }
    let b = Bundle::new("events", &["sleep", "1000"]);
    b.ok(&[
        "run",
        "--detach",
        "--bundle",
        b.dir.to_str().unwrap(),
        "ev1",
    ]);
    let text = b.ok(&["events", "--stats", "ev1"]);
    assert_eq!(text.lines().count(), 1, "one JSON line: {text}");
    let e: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (e["type"].as_str(), e["id"].as_str()),
        (Some("stats"), Some("ev1"))
    );
    // runc's types.Stats (what readers of `runc events` decode).
    let d = &e["data"];
    assert!(d["cpu"]["usage"]["total"].is_u64(), "{d}");
    assert!(d["cpu"]["usage"]["kernel"].is_u64(), "{d}");
    assert!(d["memory"]["usage"]["usage"].as_u64() > Some(0), "{d}");
    assert!(d["memory"]["usage"]["limit"].is_u64(), "{d}");
    assert_eq!(d["pids"]["current"], 1, "{d}");
    for key in ["ioServiceBytesRecursive", "ioServicedRecursive"] {
        let ops: Vec<&str> = d["blkio"][key]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["op"].as_str().unwrap())
            .collect();
        assert_eq!(ops, ["Read", "Write"], "{d}");
    }
    b.ok(&["kill", "ev1", "KILL"]);
    wait_until(Duration::from_secs(10), "stopped", || {
        b.status("ev1") == "stopped"
    });
    let o = b.run(&["events", "--stats", "ev1"]);
    assert!(
        !o.status.success() && err(&o).contains("is not running"),
        "runc: container with id ev1 is not running: {} / {}",
        out(&o),
        err(&o)
    );
}

#[test]
fn unknown_containers_fail_and_force_delete_removes_created_and_paused_ones() {
    if !can_run() {
        return;
    }
    let b = Bundle::new("forcedel", &["sleep", "1000"]);
    for verb in [
        &["state", "nope"][..],
        &["kill", "nope", "KILL"],
        &["delete", "nope"],
    ] {
        let o = b.run(verb);
        assert!(
            !o.status.success() && err(&o).contains("does not exist"),
            "{verb:?}: {}",
            err(&o)
        );
    }
    b.ok(&["delete", "--force", "nope"]);
    let bundle = b.dir.to_str().unwrap();
    b.ok(&["create", "--bundle", bundle, "fd-created"]);
    b.ok(&["run", "--detach", "--bundle", bundle, "fd-paused"]);
    b.ok(&["pause", "fd-paused"]);
    assert_eq!(b.status("fd-paused"), "paused");
    for id in ["fd-created", "fd-paused"] {
        let pid = b.state(id)["pid"].as_i64().unwrap();
        let o = b.run(&["delete", id]);
        assert!(
            !o.status.success() && err(&o).contains("not stopped"),
            "{}",
            err(&o)
        );
        b.ok(&["delete", "--force", id]);
        assert!(!exists(pid), "{id}: its PID 1 is gone");
        let o = b.run(&["state", id]);
        assert!(
            !o.status.success() && err(&o).contains("does not exist"),
            "{}",
            err(&o)
        );
    }
}

#[test]
fn exec_user_additional_gids_and_env_as_runc() {
    if !can_run() {
        return;
    }
    let b = Bundle::new("execuser", &["sleep", "1000"]);
    b.ok(&[
        "run",
        "--detach",
        "--bundle",
        b.dir.to_str().unwrap(),
        "eu1",
    ]);
    // config.json's process.user is uid 0 gid 0: --user replaces it.
    let id = |args: &[&str]| -> String {
        let mut v = vec!["exec"];
        v.extend_from_slice(args);
        v.extend(["eu1", "sh", "-c", "echo $(id -u) $(id -g) $(id -G)"]);
        b.ok(&v).trim().to_string()
    };
    assert_eq!(id(&["--user", "1:1"]), "1 1 1");
    // UID only: the process's GID stays; -g adds groups (runc's spelling).
    assert_eq!(
        id(&["-u", "2", "-g", "5", "--additional-gids", "6"]),
        "2 0 0 5 6"
    );
    let o = b.run(&["exec", "--user", "1:x", "eu1", "true"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    // --env replaces a variable of config.json (kept from regressing).
    // (cat's own environment: what nsinit-oci passed, no shell between.)
    let env = b.ok(&[
        "exec",
        "--env",
        "PATH=/usr/bin:/bin:/nowhere",
        "eu1",
        "cat",
        "/proc/self/environ",
    ]);
    let paths: Vec<&str> = env.split('\0').filter(|v| v.starts_with("PATH=")).collect();
    assert_eq!(paths, ["PATH=/usr/bin:/bin:/nowhere"]);
}

/// A command that cannot run fails `create` itself, with 127 (missing) or
/// 126 (not executable), said once, and leaves no container behind: as runc,
/// not a successful create and start of a container that then exits 127.
#[test]
fn a_command_that_cannot_run_fails_create_once() {
    if !can_run() {
        return;
    }
    // runc's words, which docker and podman turn into 127 and 126.
    for (args, code, why) in [
        (
            ["/nonexistent"],
            127,
            "stat /nonexistent: no such file or directory",
        ),
        (["/etc/passwd"], 126, "permission denied"),
        (
            ["no-such-command"],
            127,
            "executable file not found in $PATH",
        ),
    ] {
        let b = Bundle::new("badcmd", &args);
        let bundle = b.dir.to_str().unwrap();
        let o = b.run(&["create", "--bundle", bundle, "badcmd"]);
        let e = err(&o);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {e}");
        let said = format!("exec: {:?}: {why}", args[0]);
        assert_eq!(e.matches(&said).count(), 1, "{args:?}: said once: {e}");
        let o = b.run(&["state", "badcmd"]);
        assert!(!o.status.success(), "{args:?}: a container is left");
    }
}
