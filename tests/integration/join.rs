//! Joining a running container (issue 4).

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::*;

fn link(path: &str) -> String {
    std::fs::read_link(path)
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

#[test]
fn a_second_exec_joins_the_running_container() {
    if !can_run() {
        return;
    }
    let c = Container::new("join", &base_config());
    let mut child = c.spawn(&["sleep", "1000"]);
    let pid = c.init_pid();
    let s = ok(&c.exec(&["sh", "-c", "hostname; tr '\\0' ' ' < /proc/1/cmdline; echo; ls /sys/class/net; \
        readlink /proc/self/ns/mnt /proc/self/ns/net; cat /proc/self/cgroup; grep CapEff /proc/self/status; id"]));
    let mut lines = s.lines();
    assert_eq!(lines.next(), Some("koye"));
    assert_eq!(
        lines.next(),
        Some("sleep 1000 "),
        "PID 1 is the container's sleeper: {s}"
    );
    assert!(s.contains("\nlo\n"), "same network interfaces: {s}");
    // Same mount and network namespace as PID 1, seen from the host.
    for ns in ["mnt", "net", "pid", "uts", "ipc"] {
        let theirs = link(&format!("/proc/{pid}/ns/{ns}"));
        assert_ne!(
            theirs,
            link(&format!("/proc/self/ns/{ns}")),
            "{ns} is the host's"
        );
    }
    // Every hierarchy's line (v1 and the v2 `0::`), as PID 1 has it.
    let host_cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(
        host_cg.lines().all(|l| s.lines().any(|m| m == l)),
        "joined process is in the container's cgroups:\n{s}\nvs\n{host_cg}"
    );
    assert!(s.contains("CapEff:\t00000000880425eb"), "{s}");
    assert!(s.ends_with("uid=0(root) gid=0(root)\n"), "{s}");
    // The joined command's exit code comes back.
    assert_eq!(c.exec(&["sh", "-c", "exit 7"]).status.code(), Some(7));
    // nsinit-join by directory, with a user override.
    let o = Command::new(bin())
        .args(["join", "--root"])
        .arg(&c.dir)
        .args(["-u", "daemon", "id", "-u"])
        .output()
        .unwrap();
    assert_eq!(ok(&o), "1\n");
    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    let _ = child.wait();
}

#[test]
fn joined_processes_die_with_pid_1() {
    if !can_run() {
        return;
    }
    let c = Container::new("join-die", &base_config());
    let mut child = c.spawn(&["sleep", "1000"]);
    let pid = c.init_pid();
    let marker = format!("45{}", std::process::id());
    let joined = c
        .cmd(&["exec", "sleep", &marker])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the joined sleep really runs inside the container.
    let mut sleeper = Vec::new();
    wait_until(Duration::from_secs(10), "the joined sleep", || {
        sleeper = processes_running(&format!("sleep {marker}"));
        !sleeper.is_empty()
    });
    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    let o = joined.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(137),
        "joined sleep was SIGKILLed with its container"
    );
    assert!(sleeper.iter().all(|&p| is_dead(p)), "{sleeper:?} survived");
    wait_child(&mut child, Duration::from_secs(10));
    // The supervisor removes state.json before it exits.
    assert!(!c.dir.join("state.json").exists());
}

#[test]
fn joining_a_dead_container_fails_cleanly() {
    if !can_run() {
        return;
    }
    let c = Container::new("join-dead", &base_config());
    let o = Command::new(bin())
        .args(["join", "--root"])
        .arg(&c.dir)
        .args(["true"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        err(&o),
        format!(
            "nsinit-join: no running container in {}: no record\n",
            c.dir.display()
        )
    );
    std::fs::write(
        c.dir.join("state.json"),
        r#"{"init_pid": 999999, "init_start_time": "5"}"#,
    )
    .unwrap();
    let o = Command::new(bin())
        .args(["join", "--root"])
        .arg(&c.dir)
        .args(["true"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(125));
    // A state.json in the container directory (which the container itself
    // may write) decides nothing: nsinit reads only its own record.
    assert!(err(&o).ends_with(": no record\n"), "{}", err(&o));
    assert!(c.dir.join("state.json").exists(), "join changes nothing");
}

#[test]
fn nsenter_form_enters_a_container_started_by_unshare() {
    if !can_run() || !require("unshare") {
        return;
    }
    let mut sleeper = Command::new("unshare")
        .args([
            "-fmuipn",
            "--mount-proc",
            "sh",
            "-c",
            "hostname from-unshare; exec sleep 1000",
        ])
        .spawn()
        .unwrap();
    // The sleeper is unshare's child; find it once it has exec'd `sleep`.
    let mut target = 0;
    wait_until(Duration::from_secs(10), "unshare's sleep", || {
        let children = std::fs::read_to_string(format!(
            "/proc/{}/task/{}/children",
            sleeper.id(),
            sleeper.id()
        ))
        .unwrap_or_default();
        target = children
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        target > 0
            && std::fs::read_to_string(format!("/proc/{target}/comm"))
                .unwrap_or_default()
                .trim()
                == "sleep"
    });
    let o = Command::new(bin())
        .args([
            "join",
            "-t",
            &target.to_string(),
            "-a",
            "sh",
            "-c",
            "hostname; echo $$; ls /sys/class/net 2>/dev/null | wc -l",
        ])
        .output()
        .unwrap();
    let s = ok(&o);
    let mut l = s.lines();
    assert_eq!(l.next(), Some("from-unshare"));
    assert_ne!(l.next(), Some(std::process::id().to_string().as_str()));
    let o = Command::new(bin())
        .args([
            "join",
            "-t",
            &target.to_string(),
            "-p",
            "-m",
            "sh",
            "-c",
            "exit 4",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(4));
    let _ = sleeper.kill();
    let _ = Command::new("kill")
        .args(["-9", &target.to_string()])
        .status();
    let _ = sleeper.wait();
}

/// A joined process with a terminal sends its pty master on the sync socket
/// it shares with the middle child, which reports the joined PID there. The
/// joined process waits until that report is sent: with the middle child's
/// fork slowed down (strace delays the return of its clone), the console
/// reached nsinit first and the join failed with "sync: malformed message
/// (1 bytes)" (seen once in the cgroup-v2 VM).
#[test]
fn a_joined_terminal_waits_until_its_pid_is_reported() {
    if !can_run() || !require_all(&["strace", "script"]) {
        return;
    }
    let c = Container::new("jointty", &base_config());
    let mut child = c.spawn(&["sleep", "1000"]);
    let pid = c.init_pid();
    let cmd = format!(
        "strace -f -o /dev/null -e inject=clone,clone3:delay_exit=300000 {} --root {} exec -t echo joined-ok",
        bin().display(),
        c.dir.display()
    );
    let o = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).replace('\r', "");
    assert!(text.contains("joined-ok"), "{text}{}", err(&o));
    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    let _ = child.wait();
}
