//! Cgroup races at start (issues 18, 12.4, 12.11, 11): the container's
//! process is in its cgroups before it does anything, two containers never
//! share a cgroup, shared parents go away with their last user, and paths
//! from a record are verified.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{self, Container};

/// A config whose `cgroups` is `cgroups` (a unique `name` added).
fn config(name: &str, cgroups: Value) -> Value {
    let mut c = common::base_config();
    let mut cg = cgroups;
    cg["name"] = json!(name);
    c["cgroups"] = cg;
    c
}

fn unique(tag: &str) -> String {
    format!("cgrace-{tag}-{}", std::process::id())
}

/// `nsinit exec sh -c SCRIPT` with piped stdin/stdout/stderr, not waited for.
fn start(c: &Container, script: &str) -> Child {
    c.cmd(&["exec", "sh", "-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The first line of `out`, or `None` at EOF.
fn line(out: &mut BufReader<ChildStdout>) -> Option<String> {
    let mut s = String::new();
    match out.read_line(&mut s) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(s.trim_end().to_string()),
    }
}

fn wait_bounded(c: &mut Child, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(st) = c.try_wait().unwrap() {
            return st;
        }
        assert!(Instant::now() < deadline, "{what} did not exit");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn stderr_of(c: &mut Child) -> String {
    let mut s = String::new();
    if let Some(mut e) = c.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut s);
    }
    s
}

/// Issue 18: no device rules but device nodes to create. Every run has the
/// same outcome, back to back and after idle: the nodes are made (their `m`
/// rule), opening them is denied (no `r`/`w`), the command runs.
#[test]
fn issue_18_device_nodes_under_deny_all_rules_same_outcome_every_run() {
    if !common::can_run() {
        return;
    }
    let name = unique("i18");
    let c = Container::new("i18", &config(&name, json!({})));
    let script =
        "test -c /dev/null && echo made; cat /dev/null 2>/dev/null && echo opened; echo done";
    for round in 0..100 {
        if round >= 50 {
            // Idle between runs (the RCU grace period case); not an assertion.
            std::thread::sleep(Duration::from_millis(100));
        }
        let o = c.exec(&["sh", "-c", script]);
        assert!(
            o.status.success(),
            "run {round}: {:?}\n{}",
            o.status,
            common::err(&o)
        );
        assert_eq!(common::out(&o), "made\ndone\n", "run {round}");
    }
    assert_eq!(common::cgroup_dirs_named(&name), Vec::<PathBuf>::new());
}

/// Issue 18: the first command of the container is in every cgroup (each
/// v1 hierarchy and the v2 one), and the container cannot create a node its
/// rules deny.
#[test]
fn issue_18_the_first_command_is_in_every_cgroup() {
    if !common::can_run() {
        return;
    }
    let name = unique("first");
    let c = Container::new("first", &config(&name, json!({})));
    let o = c.exec(&[
        "sh",
        "-c",
        "cat /proc/self/cgroup; mknod /tmp/zero c 1 5 2>/dev/null && echo made-denied; exit 0",
    ]);
    let out = common::ok(&o);
    assert!(!out.contains("made-denied"), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    let mine = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    assert_eq!(lines.len(), mine.lines().count(), "{out}");
    for l in &lines {
        assert!(
            l.ends_with(&format!("/{name}")),
            "not in its cgroup: {l}\n{out}"
        );
    }
    assert!(lines.iter().any(|l| l.starts_with("0::")), "{out}");
}

/// Issue 18 at the first instruction: under strace, the container process's
/// first system calls move it into every v1 hierarchy (a `0` written to each
/// `tasks`), and it is cloned into the v2 cgroup — before any mount or mknod.
#[test]
fn issue_18_the_child_moves_itself_before_any_setup() {
    if !common::can_run() || !common::require("strace") {
        return;
    }
    let name = unique("strace");
    let c = Container::new("strace", &config(&name, json!({})));
    let log = c.dir.with_extension("strace");
    let o = std::process::Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=clone,clone3,write,mount,mknodat",
            "-o",
        ])
        .arg(&log)
        .arg(common::bin())
        .arg("--root")
        .arg(&c.dir)
        .args(["exec", "/bin/true"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    common::ok(&o);
    let text = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    // The container process: the pid the first clone with new namespaces
    // returned (not a thread's or a helper's; strace may split the call into
    // "<unfinished ...>" and "<... clone3 resumed>" on a later line).
    let lines: Vec<&str> = text.lines().collect();
    let result = |l: &str| {
        l.rsplit("= ")
            .next()
            .map(str::trim)
            .filter(|r| r.parse::<u32>().is_ok())
            .map(str::to_string)
    };
    let at = lines
        .iter()
        .position(|l| (l.contains("clone3(") || l.contains("clone(")) && l.contains("CLONE_NEW"))
        .unwrap_or_else(|| panic!("no clone with namespaces:\n{text}"));
    let caller = lines[at].split_whitespace().next().unwrap_or_default();
    let child = result(lines[at])
        .or_else(|| {
            lines[at + 1..]
                .iter()
                .find(|l| l.starts_with(caller) && l.contains(" resumed>"))
                .and_then(|l| result(l))
        })
        .unwrap_or_else(|| panic!("no pid from the clone at line {at}:\n{text}"));
    // Wherever cgroup2 is mounted (hybrid or v2 only).
    if nsinit::cgroup::Layout::detect().is_ok_and(|l| l.unified.is_some()) {
        let call = text
            .lines()
            .find(|l| l.contains("clone3("))
            .unwrap_or_default();
        assert!(call.contains("CLONE_INTO_CGROUP"), "{call}");
    }
    let calls: Vec<&str> = text
        .lines()
        .filter(|l| l.split_whitespace().next() == Some(child.as_str()))
        .collect();
    let first_setup = calls
        .iter()
        .position(|l| l.contains(" mount(") || l.contains(" mknodat("))
        .unwrap_or_else(|| panic!("no setup in the child:\n{}", calls.join("\n")));
    let moves = calls[..first_setup]
        .iter()
        .filter(|l| l.contains(", \"0\", 1)") && l.ends_with("= 1"))
        .count();
    let v1 = std::fs::read_to_string("/proc/self/cgroup")
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("0::"))
        .count();
    assert!(
        moves >= v1,
        "{moves} moves before the first mount/mknod, {v1} v1 hierarchies:\n{}",
        calls.join("\n")
    );
}

struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    out: BufReader<ChildStdout>,
}

/// Start `sh` that says `ready`, then echoes each line it reads.
fn start_echo(c: &Container) -> Child {
    start(c, "echo ready; while read x; do echo got $x; done")
}

/// Issue 12.4: two directories with the same `cgroups.name` started at once.
/// They never share a cgroup: one runs, the other fails with an error naming
/// the cgroup; the loser's exit kills nothing, and the winner still answers.
#[test]
fn issue_12_4_same_cgroup_name_started_together_never_share() {
    if !common::can_run() {
        return;
    }
    for round in 0..10 {
        let name = unique(&format!("same{round}"));
        let cfg = config(&name, json!({}));
        let (a, b) = (Container::new("sameA", &cfg), Container::new("sameB", &cfg));
        let started = [start_echo(&a), start_echo(&b)];
        let mut winners = Vec::new();
        for mut child in started {
            let mut out = BufReader::new(child.stdout.take().unwrap());
            match line(&mut out) {
                Some(l) if l == "ready" => {
                    let stdin = child.stdin.take();
                    winners.push(Running { child, stdin, out });
                }
                other => {
                    let st = wait_bounded(&mut child, "the loser");
                    let err = stderr_of(&mut child);
                    assert!(!st.success(), "{other:?} {err}");
                    assert!(
                        err.contains("is already in use by another") && err.contains(&name),
                        "round {round}: unclear error: {err}"
                    );
                }
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one runs (same name, never shared)"
        );
        for r in winners {
            probe_and_end(r, &name, round);
        }
        assert_eq!(common::cgroup_dirs_named(&name), Vec::<PathBuf>::new());
    }
}

/// The winner is still alive after the loser ended, answers, and is in its
/// cgroup; then it ends cleanly.
fn probe_and_end(mut r: Running, name: &str, round: usize) {
    assert!(
        r.child.try_wait().unwrap().is_none(),
        "round {round}: winner died"
    );
    let stdin = r.stdin.as_mut().unwrap();
    writeln!(stdin, "ping").unwrap();
    assert_eq!(
        line(&mut r.out).as_deref(),
        Some("got ping"),
        "round {round}"
    );
    assert!(!common::cgroup_dirs_named(name).is_empty());
    drop(r.stdin.take());
    let st = wait_bounded(&mut r.child, "the winner");
    assert!(
        st.success(),
        "round {round}: {st:?} {}",
        stderr_of(&mut r.child)
    );
}

/// Issue 12.4, in sequence: the second start with a taken name fails and the
/// first container lives on.
#[test]
fn issue_12_4_a_second_start_with_a_taken_name_fails_and_kills_nothing() {
    if !common::can_run() {
        return;
    }
    let name = unique("taken");
    let cfg = config(&name, json!({}));
    let (a, b) = (
        Container::new("takenA", &cfg),
        Container::new("takenB", &cfg),
    );
    let mut first = start_echo(&a);
    let mut out = BufReader::new(first.stdout.take().unwrap());
    assert_eq!(line(&mut out).as_deref(), Some("ready"));
    let o = b.exec(&["/bin/true"]);
    assert!(!o.status.success());
    let err = common::err(&o);
    assert!(
        err.contains("is already in use by another container") && err.contains(&name),
        "{err}"
    );
    let stdin = first.stdin.take();
    probe_and_end(
        Running {
            child: first,
            stdin,
            out,
        },
        &name,
        0,
    );
    assert_eq!(common::cgroup_dirs_named(&name), Vec::<PathBuf>::new());
}

/// Issue 12.11: two overlapping containers under one `cgroups.parent`; the
/// one that made the parent exits first, the other last: the parent is gone
/// from every hierarchy afterwards.
#[test]
fn issue_12_11_shared_parent_removed_by_the_last_user() {
    if !common::can_run() {
        return;
    }
    let parent = unique("parent");
    let cg = json!({"parent": parent});
    let a = Container::new("parA", &config(&unique("parA"), cg.clone()));
    let b = Container::new("parB", &config(&unique("parB"), cg));
    let mut first = start_echo(&a);
    let mut out_a = BufReader::new(first.stdout.take().unwrap());
    assert_eq!(line(&mut out_a).as_deref(), Some("ready"));
    let mut second = start_echo(&b);
    let mut out_b = BufReader::new(second.stdout.take().unwrap());
    assert_eq!(line(&mut out_b).as_deref(), Some("ready"));
    drop(first.stdin.take());
    assert!(wait_bounded(&mut first, "the first").success());
    assert!(
        !common::cgroup_dirs_named(&parent).is_empty(),
        "still used by the second"
    );
    drop(second.stdin.take());
    assert!(wait_bounded(&mut second, "the second").success());
    assert_eq!(common::cgroup_dirs_named(&parent), Vec::<PathBuf>::new());
}

/// Issue 11: cgroup paths from a record are checked: outside the cgroup
/// mounts, with `..`, or not on cgroupfs is refused, naming the path.
#[test]
fn issue_11_record_paths_outside_cgroupfs_are_refused() {
    if !common::can_run() {
        return;
    }
    use nsinit::cgroup::{CgroupManager, Layout};
    use std::collections::BTreeMap;
    // The hierarchy holding pids: its v1 mount, or the cgroup2 one.
    let layout = Layout::detect().unwrap();
    let mount = layout
        .v1_for("pids")
        .or(layout.unified.as_ref())
        .expect("a cgroup hierarchy")
        .mount_point
        .display()
        .to_string();
    let one = |p: &str| BTreeMap::from([("pids".to_string(), PathBuf::from(p))]);
    for forged in [
        "/tmp/forged".to_string(),
        format!("{mount}/../../../../tmp"),
        mount.clone(),
        "/etc".to_string(),
    ] {
        let err = CgroupManager::from_paths(&one(&forged))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("cgroup path {forged} refused")),
            "{err}"
        );
    }
    // A directory under a cgroup mount point that is not cgroupfs (a tmpfs
    // mounted over it) is refused too.
    let base = Path::new(&mount).join(unique("tmpfs"));
    std::fs::create_dir(&base).unwrap();
    let st = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "none"])
        .arg(&base)
        .status()
        .unwrap();
    assert!(st.success());
    let inner = base.join("leaf");
    std::fs::create_dir(&inner).unwrap();
    let err = CgroupManager::from_paths(&one(inner.to_str().unwrap()))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    let _ = std::process::Command::new("umount").arg(&base).status();
    let _ = std::fs::remove_dir(&base);
    assert!(err.contains("not on cgroupfs"), "{err}");
    // A real cgroup is accepted.
    CgroupManager::from_paths(&one(&format!("{mount}/x-not-there"))).unwrap();
}
