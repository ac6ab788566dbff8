//! OCI hooks at runtime-spec 1.2's points: each hook records the mount and
//! pid namespace it ran in, whether its `/` is the container's, and the
//! state it read on stdin; the host checks where and when each ran, and
//! the failure rule of each kind.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{can_run, err, wait_until};
use crate::oci::{Bundle, config, exists};

/// A hook running `script` with /bin/sh (resolved where the kind says).
fn hook(script: &str) -> Value {
    json!({"path": "/bin/sh", "args": ["sh", "-c", script], "timeout": 10})
}

/// A hook appending `KIND mnt pid root` to LOG and saving its stdin to
/// DIR/KIND.state; `log_dir` is where the rootfs is, as the hook sees it.
fn recorder(kind: &str, log_dir: &str) -> Value {
    hook(&format!(
        "cat > {log_dir}/{kind}.state; \
         if [ -e /ROOTMARK ]; then r=container; else r=host; fi; \
         echo {kind} $(readlink /proc/self/ns/mnt) $(readlink /proc/self/ns/pid) $r >> {log_dir}/hooks.log"
    ))
}

fn ns(pid: i64, kind: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn log_lines(b: &Bundle) -> Vec<String> {
    std::fs::read_to_string(b.rootfs().join("hooks.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn state_of(b: &Bundle, kind: &str) -> Value {
    let p = b.rootfs().join(format!("{kind}.state"));
    serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap_or_else(|e| panic!("{kind}: {e}"))
}

#[test]
fn every_hook_kind_runs_where_and_when_the_spec_says() {
    if !can_run() {
        return;
    }
    let id = "hooks-where";
    let b = Bundle::new(id, &["true"]);
    std::fs::write(b.rootfs().join("ROOTMARK"), "").unwrap();
    let host_dir = b.rootfs().to_str().unwrap().to_string();
    let mut cfg = config(&["sh", "-c", "echo command >> /hooks.log; exec sleep 1000"]);
    cfg["hooks"] = json!({
        "prestart": [recorder("prestart", &host_dir)],
        "createRuntime": [recorder("createRuntime", &host_dir)],
        "createContainer": [recorder("createContainer", &host_dir)],
        "startContainer": [recorder("startContainer", "")],
        "poststart": [recorder("poststart", &host_dir)],
        "poststop": [recorder("poststop", &host_dir)],
    });
    b.write_config(&cfg);
    let bundle = b.dir.to_str().unwrap().to_string();
    b.ok(&["create", "--bundle", &bundle, id]);
    let pid = b.state(id)["pid"].as_i64().unwrap();
    let me = std::process::id() as i64;
    let (host_mnt, host_pid) = (ns(me, "mnt"), ns(me, "pid"));
    let (ctr_mnt, ctr_pid) = (ns(pid, "mnt"), ns(pid, "pid"));
    assert_ne!(host_mnt, ctr_mnt);
    let runtime = format!("{host_mnt} {host_pid} host");
    assert_eq!(
        log_lines(&b),
        [
            format!("prestart {runtime}"),
            format!("createRuntime {runtime}"),
            // The container's namespaces, before pivot_root (the host's /).
            format!("createContainer {ctr_mnt} {ctr_pid} host"),
        ],
        "after create"
    );
    for kind in ["prestart", "createRuntime", "createContainer"] {
        let st = state_of(&b, kind);
        // "created" as crun and runtime-tools' hooks_stdin have it.
        assert_eq!(st["status"], "created", "{kind}: {st}");
        assert_eq!(st["id"], id, "{kind}: {st}");
        assert_eq!(st["pid"], pid, "{kind}: {st}");
    }
    b.ok(&["start", id]);
    wait_until(Duration::from_secs(10), "the command to run", || {
        log_lines(&b).iter().any(|l| l == "command")
    });
    let lines = log_lines(&b);
    assert_eq!(
        lines[3..],
        [
            // Inside the container, right before the command.
            format!("startContainer {ctr_mnt} {ctr_pid} container"),
            "command".to_string(),
            format!("poststart {runtime}"),
        ],
        "after start"
    );
    assert_eq!(state_of(&b, "startContainer")["status"], "created");
    assert_eq!(state_of(&b, "poststart")["status"], "running");
    b.ok(&["kill", id, "KILL"]);
    wait_until(Duration::from_secs(10), "the container to stop", || {
        b.status(id) == "stopped"
    });
    b.ok(&["delete", id]);
    assert_eq!(
        log_lines(&b).last().unwrap(),
        &format!("poststop {runtime}")
    );
    assert_eq!(state_of(&b, "poststop")["status"], "stopped");
}

/// A fresh host directory for a hook's marks.
fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("nsinit-it-marks-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Create with `hooks`; the outcome.
fn create_with(name: &str, hooks: Value) -> (Bundle, std::process::Output) {
    let b = Bundle::new(name, &["sleep", "1000"]);
    let mut cfg = config(&["sleep", "1000"]);
    cfg["hooks"] = hooks;
    b.write_config(&cfg);
    let bundle = b.dir.to_str().unwrap().to_string();
    let o = b.run(&["create", "--bundle", &bundle, name]);
    (b, o)
}

#[test]
fn a_failing_create_time_hook_fails_create_and_leaves_nothing() {
    if !can_run() {
        return;
    }
    for kind in ["prestart", "createRuntime", "createContainer"] {
        let name = format!("hookfail-{}", kind.to_lowercase());
        let marks = tempfile_dir(&name);
        let poststop = hook(&format!("cat > {}/poststop", marks.display()));
        let (b, o) = create_with(
            &name,
            json!({kind: [hook("exit 3")], "poststop": [poststop]}),
        );
        assert!(!o.status.success(), "{kind}");
        // runtime.md: the lifecycle continues at delete, whose poststop runs.
        let st: Value = serde_json::from_slice(&std::fs::read(marks.join("poststop")).unwrap())
            .unwrap_or_else(|e| panic!("{kind}: poststop ran with a state: {e}"));
        assert_eq!(st["status"], "stopped", "{kind}");
        assert_eq!(st["id"], name.as_str(), "{kind}");
        let _ = std::fs::remove_dir_all(&marks);
        assert!(
            err(&o).contains(&format!("hooks.{kind}[0]: hook /bin/sh: exit status 3")),
            "{kind}: {}",
            err(&o)
        );
        assert!(!b.root.join(&name).exists(), "{kind}: the record is gone");
        assert!(
            crate::common::cgroup_dirs_named(&format!("nsinit-oci-{name}")).is_empty(),
            "{kind}: the cgroups (and so their processes) are gone"
        );
    }
}

#[test]
fn a_failing_start_container_hook_fails_start_and_stops_the_container() {
    if !can_run() {
        return;
    }
    let name = "hookfail-start";
    let (b, o) = create_with(
        name,
        json!({"startContainer": [hook("echo no >&2; exit 4")],
               "poststart": [hook("touch /poststart-ran")]}),
    );
    assert!(o.status.success(), "{}", err(&o));
    let pid = b.state(name)["pid"].as_i64().unwrap();
    let o = b.run(&["start", name]);
    assert!(!o.status.success());
    assert!(
        err(&o).contains("hooks.startContainer[0]: hook /bin/sh: exit status 4"),
        "{}",
        err(&o)
    );
    wait_until(Duration::from_secs(10), "the init to exit", || !exists(pid));
    assert_eq!(b.status(name), "stopped");
    assert!(!std::path::Path::new("/poststart-ran").exists());
    b.ok(&["delete", name]);
}

#[test]
fn failing_poststart_and_poststop_hooks_warn_and_the_rest_run() {
    if !can_run() {
        return;
    }
    let name = "hookwarn";
    let marks = std::env::temp_dir().join(format!("nsinit-hookwarn-{}", std::process::id()));
    std::fs::create_dir_all(&marks).unwrap();
    let m = marks.to_str().unwrap();
    let (b, o) = create_with(
        name,
        json!({
            "poststart": [hook("exit 5"), hook(&format!("touch {m}/poststart-2"))],
            "poststop": [hook("exit 6"), hook(&format!("touch {m}/poststop-2"))],
        }),
    );
    assert!(o.status.success(), "{}", err(&o));
    let o = b.run(&["start", name]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        err(&o).contains("warning") && err(&o).contains("hooks.poststart[0]"),
        "{}",
        err(&o)
    );
    assert!(marks.join("poststart-2").exists());
    assert_eq!(b.status(name), "running");
    let o = b.run(&["delete", "--force", name]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(err(&o).contains("hooks.poststop[0]"), "{}", err(&o));
    assert!(marks.join("poststop-2").exists());
    assert!(!b.root.join(name).exists());
    let _ = std::fs::remove_dir_all(&marks);
}
