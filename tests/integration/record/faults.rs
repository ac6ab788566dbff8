//! Issue 12 regressions around the record: a corrupt record (12.6), a
//! paused container (12.7), a killed supervisor and a vanished directory
//! (12.8), joins racing the container's exit (12.10).

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use super::{Layout, fails_within, nsinit_in, ok_within, run_within, state_of, until};
use crate::common::{self, can_run, is_dead, proc_state};

/// Issue 12.6: a record that cannot be parsed is an error naming it for
/// every command, never "stale": nothing is deleted and the container keeps
/// running. `destroy` refuses; `destroy --force` removes the record; the
/// supervisor removes the rest when the container ends.
#[test]
fn issue_12_6_a_corrupt_record_is_an_error_and_deletes_nothing() {
    if !can_run() {
        return;
    }
    let l = Layout::new("corrupt", |_| {});
    let mut r = l.start(&["sh", "-c", "echo ready; exec sleep 1000", &l.tag]);
    let init = r.init();
    let state = l.record_file("state.json");
    let saved = std::fs::read(&state).unwrap();
    assert!(!saved.is_empty());
    std::fs::write(&state, &saved[..saved.len() / 2]).unwrap();
    let shown = state.display().to_string();
    for args in [
        &["state"][..],
        &["kill", "KILL"],
        &["ps"],
        &["pause"],
        &["stats"],
        &["exec", "true"],
        &["destroy"],
    ] {
        let e = fails_within(l.cmd(args), 125);
        assert!(e.contains(&shown) && e.contains("corrupt"), "{args:?}: {e}");
        assert!(!is_dead(init), "{args:?} killed the container");
    }
    let e = fails_within(l.join(&["true"]), 125);
    assert!(e.contains(&shown), "join: {e}");
    let list: Value =
        serde_json::from_str(&ok_within(nsinit_in(&l.dir, &["list", "--format", "json"]))).unwrap();
    let key = l
        .record()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == json!(key));
    assert_eq!(row.map(|r| &r["status"]), Some(&json!("unknown")), "{list}");
    assert_eq!(
        std::fs::read(&state).unwrap(),
        &saved[..saved.len() / 2],
        "the record changed"
    );
    assert_eq!(proc_state(init), Some('S'), "the container still runs");

    let o = run_within(l.cmd(&["destroy", "--force"]), Duration::from_secs(20));
    common::ok(&o);
    assert!(
        common::err(&o).contains("unreadable"),
        "{}",
        common::err(&o)
    );
    assert!(!l.record().exists(), "destroy --force removes the record");
    // The container ends (by the admin's hand): its supervisor removes what
    // it made from its own copy of the record.
    assert!(!is_dead(init));
    let _ = Command::new("kill")
        .args(["-9", &init.to_string()])
        .status();
    assert_eq!(r.wait(), Some(137));
    assert_eq!(l.leftovers(), Vec::<String>::new());
}

/// Issue 12.6, the supervisor's side: the container ends while its record
/// is corrupt; the supervisor cleans up from its own copy.
#[test]
fn issue_12_6_the_supervisor_cleans_up_behind_a_corrupt_record() {
    if !can_run() {
        return;
    }
    let l = Layout::new("corruptexit", |_| {});
    let mut r = l.start(&["sh", "-c", "echo ready; read x; exit 3", &l.tag]);
    std::fs::write(l.record_file("state.json"), "{\"status\": ").unwrap();
    drop(r.child.stdin.take());
    assert_eq!(r.wait(), Some(3));
    assert_eq!(l.leftovers(), Vec::<String>::new());
}

/// Issue 12.7: joining a paused container is refused at once, with a clear
/// message; `kill KILL` ends a paused container and nothing is left.
#[test]
fn issue_12_7_paused_containers_refuse_joins_and_die_of_kill() {
    if !can_run() {
        return;
    }
    let l = Layout::new("paused", |_| {});
    let mut r = l.start(&["sh", "-c", "echo ready; exec sleep 1000", &l.tag]);
    let init = r.init();
    ok_within(l.cmd(&["pause"]));
    // `pause` returns once the freezer says frozen (v1 FROZEN, v2 frozen 1).
    let _ = init;
    until("the container paused", || {
        state_of(&l.dir)["status"] == json!("paused")
    });
    assert_eq!(state_of(&l.dir)["status"], json!("paused"));
    for cmd in [l.cmd(&["exec", "true"]), l.join(&["true"])] {
        let o = run_within(cmd, Duration::from_secs(10));
        assert_eq!(o.status.code(), Some(125), "{}", common::err(&o));
        assert!(common::err(&o).contains("paused"), "{}", common::err(&o));
    }
    let e = fails_within(l.cmd(&["pause"]), 125);
    assert!(e.contains("paused"), "{e}");
    ok_within(l.cmd(&["kill", "KILL"]));
    assert_eq!(r.wait(), Some(137), "a paused container dies of KILL");
    assert_eq!(l.leftovers(), Vec::<String>::new());
}

/// Issue 12.8: nsinit is SIGKILLed while its container runs. `state` says
/// the supervisor is gone and the container stopped (PID 1 died of its
/// parent-death signal); `list` shows the record, and once the directory is
/// removed, shows it missing; `destroy --id` removes cgroups and record;
/// `--root` of a directory that is gone fails.
#[test]
fn issue_12_8_a_killed_supervisor_leaves_a_record_destroy_id_removes() {
    if !can_run() {
        return;
    }
    let l = Layout::new("sigkill", |_| {});
    let mut r = l.start(&["sh", "-c", "echo ready; exec sleep 1000", &l.tag]);
    let init = r.init();
    let key = l
        .record()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    r.child.kill().unwrap();
    r.child.wait().unwrap();
    until("PID 1 dead of PDEATHSIG", || is_dead(init));
    let st = state_of(&l.dir);
    assert_eq!(st["supervisor"], json!("gone"), "{st}");
    assert_eq!(st["status"], json!("stopped"), "{st}");
    assert_eq!(st["id"], json!(key), "{st}");
    assert!(
        !common::cgroup_dirs_named(&l.tag).is_empty(),
        "cgroups remain until destroy"
    );
    let e = fails_within(l.cmd(&["kill"]), 125);
    assert!(e.contains("no running container"), "{e}");

    let row = |list: &str| {
        list.lines()
            .find(|r| r.starts_with(&key))
            .map(str::to_string)
    };
    let list = ok_within(nsinit_in(&l.dir, &["list"]));
    let line = row(&list).unwrap_or_else(|| panic!("{key} not listed: {list}"));
    assert!(
        line.contains("stopped") && !line.contains("(missing)"),
        "{line}"
    );

    // The directory goes; the record (outside it) stays findable.
    let moved = l.dir.with_extension("gone");
    std::fs::rename(&l.dir, &moved).unwrap();
    let _back = MoveBack(moved.clone(), l.dir.clone());
    let list = ok_within(nsinit_in(&moved, &["list"]));
    let line = row(&list).unwrap_or_else(|| panic!("{key} not listed: {list}"));
    assert!(line.contains("(missing)"), "{line}");
    let list: Value =
        serde_json::from_str(&ok_within(nsinit_in(&moved, &["list", "--format", "json"]))).unwrap();
    let j = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == json!(key))
        .unwrap();
    assert_eq!(j["dir_exists"], json!(false), "{j}");
    let o = run_within(
        plain(&["--root", l.dir.to_str().unwrap(), "state"]),
        Duration::from_secs(10),
    );
    assert_eq!(o.status.code(), Some(125), "state of a gone directory");
    let e = fails_within(plain(&["destroy", "--id", "not/hex"]), 2);
    assert!(e.contains("not/hex"), "{e}");
    ok_within(nsinit_in(&moved, &["destroy", "--id", &key]));
    assert_eq!(
        common::cgroup_dirs_named(&l.tag),
        Vec::<std::path::PathBuf>::new()
    );
    assert!(!l.record().exists());
    let e = fails_within(plain(&["destroy", "--id", &key]), 125);
    assert!(e.contains(&key), "{e}");
    drop(_back);
    // The marker the killed supervisor left is the only trace, and the
    // directory takes a new container.
    assert_eq!(ok_within(l.cmd(&["exec", "hostname"])), "rec\n");
    assert_eq!(l.leftovers(), Vec::<String>::new());
}

/// `nsinit ARGS…` without `--root`.
fn plain(args: &[&str]) -> Command {
    let mut c = Command::new(common::bin());
    c.args(args).stdin(Stdio::null());
    c
}

struct MoveBack(std::path::PathBuf, std::path::PathBuf);
impl Drop for MoveBack {
    fn drop(&mut self) {
        let _ = std::fs::rename(&self.0, &self.1);
    }
}

/// Issue 12.10: fifty joins racing the container's exit. Each succeeds
/// (its command ran, or was killed by the container's end), or says the
/// container exited / is not running; none reports a confusing kernel
/// error; nothing is left afterwards.
#[test]
fn issue_12_10_joins_racing_the_exit_fail_clearly_and_leak_nothing() {
    if !can_run() {
        return;
    }
    let l = Layout::new("race", |_| {});
    let mut r = l.start(&["sh", "-c", "echo ready; read x", &l.tag]);
    let join = || {
        let mut c = l.join(&["sh", "-c", "echo in"]);
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        c.spawn().unwrap()
    };
    let mut joins: Vec<_> = (0..25).map(|_| join()).collect();
    // The first join is in and out: the others are in flight when the
    // container exits (its stdin, a pipe, closes).
    let first = joins.remove(0).wait_with_output().unwrap();
    assert_eq!(common::ok(&first), "in\n");
    drop(r.child.stdin.take());
    joins.extend((0..25).map(|_| join()));
    let (mut ok, mut killed, mut exited, mut none) = (1, 0, 0, 0);
    let mut bad = Vec::new();
    for child in joins {
        let o = child.wait_with_output().unwrap();
        let e = common::err(&o);
        for worse in ["Out of memory", "exited early", "No such device"] {
            assert!(!e.contains(worse), "a join said: {e}");
        }
        match o.status.code() {
            Some(0) => ok += 1,
            // Its command was SIGKILLed with the container's PID namespace.
            Some(137) if e.is_empty() => killed += 1,
            _ if e.contains("exited while joining") => exited += 1,
            _ if e.contains("no running container") => none += 1,
            _ => bad.push((o.status, e)),
        }
    }
    eprintln!(
        "12.10: {ok} joined, {killed} killed by the exit, {exited} exited while joining, \
         {none} after the exit"
    );
    assert!(bad.is_empty(), "unclear failures: {bad:#?}");
    assert_eq!(r.wait(), Some(1), "`read` at EOF");
    assert_eq!(l.leftovers(), Vec::<String>::new());
}

/// Issue 12.8 without a PID namespace: when nsinit is SIGKILLed, PID 1 dies
/// of its parent-death signal but its children keep running. `state` says
/// so (stopped, supervisor gone, processes left) and `destroy` kills them.
#[test]
fn issue_12_8_without_newpid_state_counts_the_orphans_destroy_kills_them() {
    if !can_run() {
        return;
    }
    let l = Layout::new("orphans", |c| c["namespaces"]["NEWPID"] = json!(false));
    let script = "sleep 1000 </dev/null >/dev/null 2>&1 & echo ready; wait";
    let mut r = l.start(&["sh", "-c", script, &l.tag]);
    let init = r.init();
    let child_of_init = || {
        common::processes_running("sleep 1000")
            .into_iter()
            .find(|p| {
                std::fs::read_to_string(format!("/proc/{p}/stat"))
                    .is_ok_and(|s| s.split(' ').nth(3) == Some(init.to_string().as_str()))
            })
    };
    until("the container's sleep", || child_of_init().is_some());
    let orphan = child_of_init().unwrap();
    r.child.kill().unwrap();
    r.child.wait().unwrap();
    until("PID 1 dead of PDEATHSIG", || is_dead(init));
    assert!(!is_dead(orphan), "the orphan runs on (no PID namespace)");
    let st = state_of(&l.dir);
    assert_eq!(st["status"], json!("stopped"), "{st}");
    assert_eq!(st["supervisor"], json!("gone"), "{st}");
    assert_eq!(st["processes_left"], json!(1), "{st}");
    assert!(
        st["hint"].as_str().unwrap().contains("1 processes remain"),
        "{st}"
    );
    ok_within(l.cmd(&["destroy"]));
    until("the orphan killed by destroy", || is_dead(orphan));
    assert_eq!(l.leftovers(), Vec::<String>::new());
}
