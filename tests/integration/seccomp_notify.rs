//! seccomp NOTIFY with a `listenerPath` (issue 15): once the filter is in,
//! nsinit connects to the listener's socket and hands over the filter's
//! notification descriptor with the container process state, for the
//! container's first process and for joined ones. The listener
//! (tests/attack/seccomp_listener.c) answers `mkdir` with a fake success,
//! which proves the descriptor it got is the live one.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::*;

/// A running listener on `<dir>/l.sock`, writing what it got to `<dir>/got.N`.
struct Listener {
    dir: PathBuf,
    child: Child,
}

impl Listener {
    fn start(name: &str) -> Listener {
        let dir = std::env::temp_dir().join(format!("nsinit-it-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("seccomp_listener");
        attack_binary("seccomp_listener", &bin);
        let child = Command::new(&bin)
            .arg(dir.join("l.sock"))
            .arg(dir.join("got"))
            .spawn()
            .unwrap();
        let l = Listener { dir, child };
        wait_until(Duration::from_secs(10), "the listener's socket", || {
            l.sock().exists()
        });
        l
    }

    fn sock(&self) -> PathBuf {
        self.dir.join("l.sock")
    }

    /// The `n`-th message: whether a descriptor came with it, and its JSON.
    fn got(&self, n: usize) -> (bool, Value) {
        let path = self.dir.join(format!("got.{n}"));
        wait_until(Duration::from_secs(10), "the listener's message", || {
            path.exists()
        });
        let text = std::fs::read_to_string(&path).unwrap();
        let (fd, json) = text.split_once('\n').unwrap();
        let v = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json:?}"));
        (fd == "fd", v)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn profile(sock: &Path) -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": sock,
        "listenerMetadata": "meta-1",
        "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
                  "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
        "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"},
            {"names": ["unshare"], "action": "SCMP_ACT_ERRNO"}
        ]
    })
}

const SCRIPT: &str = "mkdir /tmp/n && echo made; test -d /tmp/n || echo absent; \
                      grep Seccomp: /proc/self/status";

/// The message's shape (runtime.md, "container process state").
fn check_message(got: &(bool, Value), pid: i64, status: &str) {
    let (fd, v) = got;
    assert!(fd, "no descriptor came with {v}");
    assert_eq!(v["ociVersion"], "1.2.0", "{v}");
    assert_eq!(v["fds"], json!(["seccompFd"]), "{v}");
    assert_eq!(v["metadata"], "meta-1", "{v}");
    assert_eq!(v["state"]["status"], status, "{v}");
    assert!(v["pid"].as_i64().unwrap() > 1, "{v}");
    assert_eq!(v["state"]["pid"], pid, "{v}");
    assert!(!v["state"]["id"].as_str().unwrap().is_empty(), "{v}");
}

#[test]
fn notify_hands_the_live_listener_to_listener_path() {
    if !can_run() {
        return;
    }
    let l = Listener::start("seccomp-notify");
    // no_new_privileges false: installed before the capability drop (the
    // descriptor is sent from there); true: after everything else.
    for (n, nnp) in [false, true].into_iter().enumerate() {
        let mut cfg = base_config();
        cfg["seccomp"] = profile(&l.sock());
        cfg["no_new_privileges"] = nnp.into();
        let c = Container::new("seccomp-notify", &cfg);
        let text = ok(&c.exec(&["sh", "-c", SCRIPT]));
        assert!(
            text.contains("made\nabsent\nSeccomp:\t2"),
            "nnp {nnp}: the listener answered mkdir: {text}"
        );
        let got = l.got(n);
        check_message(&got, got.1["pid"].as_i64().unwrap(), "creating");
    }
}

#[test]
fn notify_listener_gets_joined_processes_too() {
    if !can_run() {
        return;
    }
    let l = Listener::start("seccomp-notify-join");
    let mut cfg = base_config();
    cfg["seccomp"] = profile(&l.sock());
    let c = Container::new("seccomp-notify-join", &cfg);
    let mut first = c.spawn(&["sleep", "60"]);
    let init = i64::from(c.init_pid());
    check_message(&l.got(0), init, "creating");
    let text = ok(&c.exec(&["sh", "-c", SCRIPT]));
    assert!(text.contains("made\nabsent\nSeccomp:\t2"), "{text}");
    let got = l.got(1);
    check_message(&got, init, "running");
    assert_ne!(got.1["pid"], init, "the joined process's own pid");
    let _ = Command::new("kill")
        .args(["-9", &init.to_string()])
        .status();
    wait_child(&mut first, Duration::from_secs(10));
}

#[test]
fn notify_without_a_listener_fails_and_nothing_runs() {
    if !can_run() {
        return;
    }
    let mut cfg = base_config();
    cfg["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]});
    let c = Container::new("seccomp-notify-none", &cfg);
    let o = c.exec(&["echo", "ran"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(out(&o), "");
    assert!(
        err(&o).contains("seccomp.listenerPath: expected an absolute socket path"),
        "{}",
        err(&o)
    );
    // A listener path nobody listens on: the start fails, naming it.
    cfg["seccomp"] = profile(&c.dir.join("nobody.sock"));
    c.write_config(&cfg);
    let o = c.exec(&["echo", "ran"]);
    assert_eq!(o.status.code(), Some(125), "{}", err(&o));
    assert_eq!(out(&o), "");
    assert!(err(&o).contains("nobody.sock: connect"), "{}", err(&o));
    assert!(!c.dir.join("state.json").exists());
}

#[test]
fn notify_listener_gets_oci_create_and_exec() {
    if !can_run() {
        return;
    }
    let l = Listener::start("seccomp-notify-oci");
    let b = crate::oci::Bundle::new("seccomp-notify-oci", &["sleep", "1000"]);
    let dir = b.dir.clone();
    let cfg = json!({
        "ociVersion": "1.2.0",
        "root": {"path": "rootfs"},
        "process": {"user": {"uid": 0, "gid": 0}, "args": ["sleep", "1000"], "cwd": "/",
                    "env": ["PATH=/bin:/sbin"], "noNewPrivileges": true},
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
        "linux": {
            "namespaces": [{"type": "pid"}, {"type": "mount"}],
            "seccomp": profile(&l.sock())
        }
    });
    b.write_config(&cfg);
    let bundle = dir.to_str().unwrap();
    let o = b.run(&["create", "--bundle", bundle, "nfy1"]);
    assert!(o.status.success(), "create: {}", err(&o));
    let (fd, v) = l.got(0);
    assert!(fd, "{v}");
    assert_eq!(v["state"]["id"], "nfy1", "{v}");
    assert_eq!(v["state"]["status"], "creating", "{v}");
    assert_eq!(v["state"]["bundle"], bundle, "{v}");
    let o = b.run(&["start", "nfy1"]);
    assert!(o.status.success(), "start: {}", err(&o));
    let o = b.run(&["exec", "nfy1", "sh", "-c", SCRIPT]);
    let text = out(&o);
    assert!(
        text.contains("made\nabsent\nSeccomp:\t2"),
        "{text} {}",
        err(&o)
    );
    assert!(!dir.join("rootfs/tmp/n").exists());
    let (_, v) = l.got(1);
    assert_eq!(
        (&v["state"]["id"], &v["state"]["status"]),
        (&json!("nfy1"), &json!("running")),
        "{v}"
    );
    let o = b.run(&["delete", "--force", "nfy1"]);
    assert!(o.status.success(), "delete: {}", err(&o));
}
