//! The init shim (`nsinit init`, issue 7): exit codes, exec errors, signal
//! forwarding, zombie reaping as a subreaper and as PID 1 of a pid namespace.
//!
//! Processes are observed from the host through /proc: `children` lists of the
//! shim, the state letter in `stat` (Z for a zombie), `comm`.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// `nsinit init ARGS…` (the binary under test: `NSINIT_BIN`, else cargo's).
fn shim(args: &[&str]) -> Command {
    let mut c = Command::new(crate::common::bin());
    c.arg("init").args(args);
    c
}

/// A spawned process killed (SIGKILL) and waited for when the test ends early.
struct Proc(Child);

impl Proc {
    fn spawn(mut c: Command) -> Proc {
        Proc(c.spawn().expect("spawn"))
    }

    fn pid(&self) -> i32 {
        self.0.id() as i32
    }

    /// Wait for the exit, at most `limit`; panics on timeout.
    fn wait_timeout(&mut self, limit: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(st) = self.0.try_wait().expect("try_wait") {
                return st;
            }
            assert!(
                start.elapsed() < limit,
                "pid {} still running after {limit:?}",
                self.pid()
            );
            sleep(Duration::from_millis(20));
        }
    }

    fn running(&mut self) -> bool {
        self.0.try_wait().expect("try_wait").is_none()
    }
}

impl Drop for Proc {
    /// SIGKILL the whole tree (descendants first, so none escapes to init while
    /// its parent dies), then reap the direct child.
    fn drop(&mut self) {
        let mut tree = vec![self.pid()];
        let mut i = 0;
        while i < tree.len() {
            tree.extend(children(tree[i]));
            i += 1;
        }
        for &pid in tree.iter().skip(1).rev() {
            let _ = rustix::process::kill_process(
                rustix::process::Pid::from_raw(pid).expect("pid > 0"),
                rustix::process::Signal::KILL,
            );
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn exit_code(st: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0))
}

/// Direct children of `pid` (it must be single-threaded, as the shim is).
fn children(pid: i32) -> Vec<i32> {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// (comm, state letter, ppid) of `pid`, or None when it no longer exists.
fn stat(pid: i32) -> Option<(String, char, i32)> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    let mut rest = s[close + 2..].split(' ');
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some((s[open + 1..close].to_string(), state, ppid))
}

fn comm(pid: i32) -> Option<String> {
    stat(pid).map(|s| s.0)
}

/// Poll `cond` every 20 ms for at most `limit`.
fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        sleep(Duration::from_millis(20));
    }
    cond()
}

/// The single child of `pid` once it runs `name` (after its exec).
fn child_named(pid: i32, name: &str) -> i32 {
    let mut found = 0;
    let ok = wait_for(Duration::from_secs(5), || {
        found = children(pid)
            .into_iter()
            .find(|&c| comm(c).as_deref() == Some(name))
            .unwrap_or(0);
        found != 0
    });
    assert!(
        ok,
        "no child {name:?} of {pid}: children {:?}",
        children(pid)
    );
    found
}

fn kill(pid: i32, sig: &str) {
    let st = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success(), "kill -{sig} {pid}");
}

/// A scratch directory unique to this test.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nsinit-init-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn exit_status_is_propagated() {
    for (cmd, want) in [
        ("exit 0", 0),
        ("exit 7", 7),
        ("kill -KILL $$", 137),
        ("kill -TERM $$", 143),
    ] {
        let st = shim(&["-s", "--", "sh", "-c", cmd]).status().unwrap();
        assert_eq!(exit_code(st), want, "sh -c {cmd:?}");
    }
    // Found through PATH.
    assert_eq!(exit_code(shim(&["-s", "true"]).status().unwrap()), 0);
    assert_eq!(exit_code(shim(&["-s", "false"]).status().unwrap()), 1);
}

#[test]
fn exec_failures_report_and_exit_127_or_126() {
    let dir = scratch("exec");
    let not_exec = dir.join("script");
    fs::write(&not_exec, "#!/bin/sh\nexit 0\n").unwrap();
    let not_exec = not_exec.to_str().unwrap();
    for (cmd, code, msg) in [
        ("/nonexistent/cmd", 127, "No such file or directory"),
        ("nsinit-no-such-command", 127, "No such file or directory"),
        (not_exec, 126, "Permission denied"),
    ] {
        let out = shim(&["-s", cmd]).output().unwrap();
        assert_eq!(exit_code(out.status), code, "{cmd}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("nsinit-init: exec \"{cmd}\": {msg}\n")),
            "{cmd}: {err}"
        );
    }
    let out = shim(&[]).output().unwrap();
    assert_eq!(exit_code(out.status), 2, "no command is a usage error");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sets_process_name_and_own_process_group() {
    let mut p = Proc::spawn(shim(&["-s", "sleep", "100"]));
    let child = child_named(p.pid(), "sleep");
    assert_eq!(comm(p.pid()).as_deref(), Some("nsinit-init"));
    // Field 5 of stat is the process group: the child leads its own.
    let pgrp = |pid: i32| -> i32 {
        let s = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        s[s.rfind(')').unwrap() + 2..]
            .split(' ')
            .nth(2)
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(pgrp(child), child);
    assert_ne!(pgrp(p.pid()), child);
    let status = fs::read_to_string(format!("/proc/{}/status", p.pid())).unwrap();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS"))
        .unwrap_or("VmRSS: ?");
    eprintln!("nsinit-init RSS while running: {rss}");
    kill(p.pid(), "TERM");
    assert_eq!(exit_code(p.wait_timeout(Duration::from_secs(5))), 143);
}

#[test]
fn sigterm_is_forwarded_to_the_command() {
    let mut p = Proc::spawn(shim(&["sleep", "100"]));
    let child = child_named(p.pid(), "sleep");
    kill(p.pid(), "TERM");
    assert_eq!(exit_code(p.wait_timeout(Duration::from_secs(5))), 143);
    assert!(
        stat(child).is_none(),
        "sleep {child} not reaped: {:?}",
        stat(child)
    );
}

#[test]
fn other_signals_are_forwarded_too() {
    // USR1 and HUP kill a command that does not catch them, so the status shows
    // which signal reached it.
    for (sig, want) in [("USR1", 138), ("HUP", 129), ("INT", 130), ("QUIT", 131)] {
        let mut p = Proc::spawn(shim(&["sleep", "100"]));
        child_named(p.pid(), "sleep");
        kill(p.pid(), sig);
        assert_eq!(
            exit_code(p.wait_timeout(Duration::from_secs(5))),
            want,
            "SIG{sig}"
        );
    }
}

#[test]
fn trapped_term_keeps_the_command_running_until_kill() {
    let dir = scratch("trap");
    let out = dir.join("out");
    let mut c = shim(&[
        "-s",
        "sh",
        "-c",
        "trap 'echo got' TERM; while :; do sleep 0.1; done",
    ]);
    c.stdout(fs::File::create(&out).unwrap());
    let mut p = Proc::spawn(c);
    let sh = child_named(p.pid(), "sh");
    // Give sh time to install its trap before the signal.
    assert!(wait_for(Duration::from_secs(5), || !children(sh).is_empty()));
    kill(p.pid(), "TERM");
    let got = wait_for(Duration::from_secs(5), || {
        fs::read_to_string(&out).unwrap_or_default() == "got\n"
    });
    assert!(got, "trap did not run: {:?}", fs::read_to_string(&out));
    // A shim that quit after forwarding would not report sh's KILL below.
    assert!(
        p.running(),
        "the shim exited although the command trapped TERM"
    );
    assert!(stat(sh).is_some_and(|s| s.1 != 'Z'));
    kill(sh, "KILL");
    assert_eq!(exit_code(p.wait_timeout(Duration::from_secs(5))), 137);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn group_flag_signals_the_whole_process_group() {
    // sh traps TERM, which it handles only once its `sleep` is over: only -g
    // makes TERM reach the `sleep` too.
    let script = "trap 'echo trapped' TERM; sleep 100; echo after";
    let mut p = Proc::spawn({
        let mut c = shim(&["-g", "-s", "sh", "-c", script]);
        c.stdout(Stdio::piped());
        c
    });
    let sh = child_named(p.pid(), "sh");
    let sleeper = child_named(sh, "sleep");
    kill(p.pid(), "TERM");
    assert_eq!(exit_code(p.wait_timeout(Duration::from_secs(5))), 0);
    let out = std::io::read_to_string(p.0.stdout.take().unwrap()).unwrap();
    assert_eq!(out, "trapped\nafter\n");
    assert!(stat(sleeper).is_none());

    // Without -g the sleep does not get it: the shim still runs.
    let mut p = Proc::spawn({
        let mut c = shim(&["-s", "sh", "-c", script]);
        c.stdout(Stdio::null());
        c
    });
    let sh = child_named(p.pid(), "sh");
    let sleeper = child_named(sh, "sleep");
    kill(p.pid(), "TERM");
    wait_forwarded(p.pid(), 15);
    assert!(survives_pending_signals(sleeper), "TERM reached the sleep");
    assert!(p.running());
}

#[test]
fn leftover_processes_are_killed_when_the_command_exits() {
    // sh dies of TERM while its `sleep` runs on; the shim (subreaper) must kill
    // and reap it before exiting.
    let mut p = Proc::spawn(shim(&["-s", "sh", "-c", "sleep 100; :"]));
    let sh = child_named(p.pid(), "sh");
    let sleeper = child_named(sh, "sleep");
    kill(p.pid(), "TERM");
    assert_eq!(exit_code(p.wait_timeout(Duration::from_secs(5))), 143);
    assert!(
        stat(sleeper).is_none(),
        "sleep {sleeper} left behind: {:?}",
        stat(sleeper)
    );
}

/// Run `sh -c '(sleep 1 & echo $!); sleep 3'` under the shim and return the
/// shim and the orphan's pid once the orphan's subshell has exited.
fn spawn_with_orphan(subreaper: bool) -> (Proc, i32) {
    let args: &[&str] = &["sh", "-c", "(sleep 1 >/dev/null & echo $!); sleep 3; :"];
    let mut c = shim(if subreaper { &["-s", "--"] } else { &["--"] });
    c.args(args).stdout(Stdio::piped()).stderr(Stdio::null());
    let mut p = Proc::spawn(c);
    let mut line = String::new();
    BufReader::new(p.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let orphan: i32 = line.trim().parse().expect("orphan pid");
    let sh = child_named(p.pid(), "sh");
    // The subshell is gone once sh's only child is its `sleep 3`.
    let alone = wait_for(Duration::from_secs(5), || {
        let c = children(sh);
        c.len() == 1 && comm(c[0]).as_deref() == Some("sleep")
    });
    assert!(alone, "subshell of {sh} did not exit");
    (p, orphan)
}

#[test]
fn subreaper_adopts_and_reaps_orphans() {
    let (mut p, orphan) = spawn_with_orphan(true);
    let adopted = wait_for(Duration::from_secs(2), || {
        stat(orphan).is_some_and(|s| s.2 == p.pid())
    });
    assert!(
        adopted,
        "orphan {orphan} not reparented to the shim: {:?}",
        stat(orphan)
    );
    // It exits after 1 s: the shim reaps it (a zombie keeps its /proc entry).
    let reaped = wait_for(Duration::from_secs(3), || stat(orphan).is_none());
    assert!(reaped, "orphan {orphan} not reaped: {:?}", stat(orphan));
    assert!(p.running(), "the shim must outlive the orphan here");
    for c in children(p.pid()) {
        assert_ne!(stat(c).map(|s| s.1), Some('Z'), "zombie child {c}");
    }
    assert_eq!(exit_code(p.wait_timeout(Duration::from_secs(6))), 0);

    // Control: without -s the orphan goes elsewhere.
    let (mut p, orphan) = spawn_with_orphan(false);
    let ppid = stat(orphan).map(|s| s.2);
    assert!(ppid.is_some() && ppid != Some(p.pid()), "ppid {ppid:?}");
    assert_eq!(exit_code(p.wait_timeout(Duration::from_secs(6))), 0);
}

/// Shell prefix run as a namespace's command: start an orphan (its parent
/// subshell exits at once) that exits after 0.1 s, then wait — at most 10 s,
/// else exit 99 — until its /proc entry is gone, which only reaping does (a
/// zombie keeps it).
const REAPED_THEN: &str = "o=$( (sleep 0.1 >/dev/null & echo $!) ); i=0; \
    while [ -e /proc/$o ]; do i=$((i+1)); [ $i -gt 1000 ] && exit 99; sleep 0.01; done; ";

/// The host pid of the process `unshare -f` forked (PID 1 of the namespace).
fn ns_init(unshare: &Proc, name: &str) -> i32 {
    child_named(unshare.pid(), name)
}

/// Root and `unshare`, through the suite's one gate.
fn root_with_unshare() -> bool {
    crate::common::root() && crate::common::require("unshare")
}

/// The signal mask `key` (SigPnd/ShdPnd/…) of `pid`'s /proc status.
fn sigmask(pid: i32, key: &str) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0)
}

/// Wait until the shim has dequeued signal `signo` and is blocked again in
/// its signalfd read: it then has forwarded it (the `kill` is the only call
/// between the read and the next read, and a preempted task shows R, not S).
fn wait_forwarded(shim: i32, signo: u32) {
    let bit = 1u64 << (signo - 1);
    let ok = wait_for(Duration::from_secs(5), || {
        stat(shim).is_some_and(|s| s.1 == 'S')
            && (sigmask(shim, "SigPnd:") | sigmask(shim, "ShdPnd:")) & bit == 0
    });
    assert!(
        ok,
        "shim {shim} did not handle signal {signo}: {:?}",
        stat(shim)
    );
}

/// Did `pid` survive every signal sent to it so far? SIGSTOP is the probe:
/// a fatal signal marks the whole process as exiting when it is *sent*, after
/// which SIGSTOP is dropped and the process dies; a survivor stops (T). The
/// process is continued again before returning.
fn survives_pending_signals(pid: i32) -> bool {
    kill(pid, "STOP");
    let settled = wait_for(Duration::from_secs(5), || {
        stat(pid).is_none_or(|s| matches!(s.1, 'T' | 'Z' | 'X'))
    });
    assert!(settled, "{pid} neither stopped nor died: {:?}", stat(pid));
    let alive = stat(pid).is_some_and(|s| s.1 == 'T');
    if alive {
        kill(pid, "CONT");
    }
    alive
}

#[test]
fn bare_pid1_ignores_sigterm_but_the_shim_forwards_it() {
    if !root_with_unshare() {
        return;
    }
    // Without the shim: sleep is PID 1, the kernel drops TERM (default action).
    let mut u = Proc::spawn({
        let mut c = Command::new("unshare");
        c.args(["-fp", "sleep", "100"]);
        c
    });
    let pid1 = ns_init(&u, "sleep");
    kill(pid1, "TERM");
    assert!(
        survives_pending_signals(pid1),
        "sleep as PID 1 died of TERM"
    );
    assert!(u.running());
    kill(pid1, "KILL");
    // (unshare 2.38 reports a child killed by a signal as exit 1.)
    assert!(!u.wait_timeout(Duration::from_secs(5)).success());
    assert!(stat(pid1).is_none());

    // With the shim as PID 1: TERM reaches sleep and the status comes back.
    let mut u = Proc::spawn({
        let mut c = Command::new("unshare");
        c.args(["-fp", "--mount-proc"])
            .arg(crate::common::bin())
            .args(["init", "--", "sleep", "100"]);
        c
    });
    let pid1 = ns_init(&u, "nsinit-init");
    let sleeper = child_named(pid1, "sleep");
    kill(pid1, "TERM");
    assert_eq!(exit_code(u.wait_timeout(Duration::from_secs(5))), 143);
    assert!(stat(sleeper).is_none());
}

#[test]
fn pid1_in_a_pid_namespace_reaps_orphans() {
    if !root_with_unshare() {
        return;
    }
    // Inside: an orphan exits; once its /proc entry is gone (reaped), the
    // command lists every process of the namespace (pid, comm, state).
    let script = REAPED_THEN.to_string() + "cat /proc/[0-9]*/stat; :";
    let out = Command::new("unshare")
        .args(["-fp", "--mount-proc"])
        .arg(crate::common::bin())
        .args(["init", "--", "sh", "-c", &script])
        .output()
        .unwrap();
    assert_eq!(
        exit_code(out.status),
        0,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let procs: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let close = l.rfind(')').unwrap();
            let comm = l[l.find('(').unwrap() + 1..close].to_string();
            (comm, l[close + 2..close + 3].to_string())
        })
        .collect();
    // PID 1 is the shim, then sh (cat's own pid is not in the glob sh expanded);
    // the orphan was reaped: no Z, no sleep.
    assert_eq!(
        procs.first().map(|p| p.0.as_str()),
        Some("nsinit-init"),
        "{procs:?}"
    );
    assert!(procs.iter().all(|p| p.1 != "Z"), "zombies: {procs:?}");
    assert!(
        procs.iter().all(|p| p.0 != "sleep"),
        "orphan left: {procs:?}"
    );
    assert_eq!(procs.len(), 2, "{procs:?}");

    // Control: a PID 1 that does not reap leaves the orphan a zombie.
    let mut u = Proc::spawn({
        let mut c = Command::new("unshare");
        c.args([
            "-fp",
            "sh",
            "-c",
            "(sleep 0.2 >/dev/null &); exec sleep 100",
        ]);
        c
    });
    let pid1 = wait_for_exec(&u);
    let zombie = wait_for(Duration::from_secs(5), || {
        children(pid1)
            .iter()
            .any(|&c| stat(c).is_some_and(|s| s.1 == 'Z'))
    });
    assert!(zombie, "expected a zombie under a non-reaping PID 1");
    kill(pid1, "KILL");
    assert!(!u.wait_timeout(Duration::from_secs(5)).success());
}

/// PID 1 of `unshare -f sh -c '…; exec sleep'` once it has exec'd `sleep`.
fn wait_for_exec(unshare: &Proc) -> i32 {
    let mut pid1 = 0;
    let ok = wait_for(Duration::from_secs(5), || {
        pid1 = children(unshare.pid()).first().copied().unwrap_or(0);
        pid1 != 0 && comm(pid1).as_deref() == Some("sleep")
    });
    assert!(ok, "PID 1 did not exec sleep");
    pid1
}

/// `run_shim` as the create path uses it: the handed-off fd is closed in the
/// shim, so the reader sees EOF once the command has exec'd (or the message
/// `spawn` wrote on failure), and the process exits with the command's status.
///
/// The fork happens in a re-run of this test binary limited to this one test
/// (`--test-threads=1`), so no other test thread can hold a lock across it.
#[test]
fn run_shim_hands_off_and_exits_with_status() {
    if std::env::var_os("NSINIT_RUN_SHIM_HELPER").is_some() {
        run_shim_helper();
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "init::run_shim_hands_off_and_exits_with_status"])
        .args(["--test-threads=1", "--nocapture"])
        .env("NSINIT_RUN_SHIM_HELPER", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("run_shim helper: ok"), "{stdout}");
}

fn run_shim_helper() {
    use nsinit::init::{self, ShimOptions, exec::PreparedExec};
    use rustix::process::{WaitOptions, waitpid};

    // Returns (bytes read before EOF, whether the shim still ran at EOF,
    // exit code of the shim). The command's stdin is a pipe held here: it
    // runs until this side closes it, so "EOF before the command ends" is
    // an observation, not a race against a sleep.
    let run = |argv: &[&str]| -> (Vec<u8>, bool, i32) {
        let argv: Vec<std::ffi::OsString> = argv.iter().map(Into::into).collect();
        let env: Vec<_> = std::env::vars_os().collect();
        let cmd = PreparedExec::new(&argv, &env).unwrap();
        let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
        let (gate_r, gate_w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
        let Some(pid) = nsinit::sys::clone_process(0).unwrap() else {
            drop((r, gate_w));
            rustix::stdio::dup2_stdin(&gate_r).unwrap();
            let opts = ShimOptions {
                subreaper: true,
                ..ShimOptions::default()
            };
            let (_err, _w) = init::run_shim(opts, w, |w| {
                let errno = cmd.exec();
                let _ = rustix::io::write(&w, &[errno.raw_os_error() as u8]);
                nsinit::sys::exit_now(127)
            });
            nsinit::sys::exit_now(99)
        };
        drop((w, gate_r));
        let mut got = Vec::new();
        let mut buf = [0u8; 16];
        loop {
            match rustix::io::read(&r, &mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => panic!("read: {e}"),
            }
        }
        // A shim already gone is reaped here: its status is kept.
        let at_eof = waitpid(Some(pid), WaitOptions::NOHANG).unwrap();
        let running_at_eof = at_eof.is_none();
        drop(gate_w);
        let (_, status) =
            at_eof.unwrap_or_else(|| waitpid(Some(pid), WaitOptions::empty()).unwrap().unwrap());
        (got, running_at_eof, status.exit_status().unwrap_or(-1))
    };

    // Exec succeeds: EOF while the command still runs, then its status.
    let (got, running_at_eof, code) = run(&["sh", "-c", "read x; exit 5"]);
    assert!(got.is_empty(), "{got:?}");
    assert!(running_at_eof, "EOF came only after the command ended");
    assert_eq!(code, 5);

    // Exec fails: spawn's message comes through the handed-off fd.
    let (got, _, code) = run(&["/nonexistent/cmd"]);
    assert_eq!(got, [rustix::io::Errno::NOENT.raw_os_error() as u8]);
    assert_eq!(code, 127);
    println!("run_shim helper: ok");
}

// Container level: `nsinit exec --init` and `"init": true` run the shim as the
// container's PID 1 straight from nsinit's own image (the busybox rootfs has
// no nsinit in it).

use crate::common::{Container, base_config, can_run, err, line_within, ok};

#[test]
fn container_init_forwards_nsinit_kill_term() {
    if !can_run() {
        return;
    }
    let c = Container::new("init-term", &base_config());
    let child = c.spawn(&["--init", "sleep", "1000"]);
    let pid1 = c.init_pid();
    // The record is written before the start message: the shim names
    // itself a moment later.
    let named = wait_for(Duration::from_secs(10), || {
        comm(pid1).as_deref() == Some("nsinit-init")
    });
    assert!(named, "PID 1 is {:?}", comm(pid1));
    let sleeper = child_named(pid1, "sleep");
    ok(&c.cmd(&["kill", "TERM"]).output().unwrap());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(143), "{}", err(&o));
    assert!(stat(sleeper).is_none());
    assert!(!c.dir.join("state.json").exists());
    // (What TERM does to a handler-less PID 1 without the shim is the
    // kernel's rule, checked with unshare in
    // bare_pid1_ignores_sigterm_but_the_shim_forwards_it.)
}

#[test]
fn container_init_status_traps_and_zombies() {
    if !can_run() {
        return;
    }
    let mut cfg = base_config();
    cfg["init"] = serde_json::json!(true);
    let c = Container::new("init-status", &cfg);
    assert_eq!(c.exec(&["true"]).status.code(), Some(0));
    assert_eq!(c.exec(&["sh", "-c", "exit 7"]).status.code(), Some(7));
    assert_eq!(
        c.exec(&["sh", "-c", "kill -KILL $$"]).status.code(),
        Some(137)
    );
    let o = c.exec(&["/bin/nope"]);
    assert_eq!(o.status.code(), Some(127));
    assert!(
        err(&o).contains("exec: \"/bin/nope\": stat /bin/nope: no such file or directory"),
        "{}",
        err(&o)
    );

    // Orphans are reaped by the shim: `ps` inside shows no Z and no orphan.
    let s = ok(&c.exec(&[
        "sh",
        "-c",
        &(REAPED_THEN.to_string() + "ps -o pid,stat,comm"),
    ]));
    let rows: Vec<&str> = s.lines().skip(1).collect();
    assert!(
        rows.iter()
            .all(|r| !r.split_whitespace().nth(1).unwrap_or("").starts_with('Z')),
        "{s}"
    );
    assert!(rows.iter().all(|r| !r.ends_with("sleep")), "{s}");
    let first = rows
        .first()
        .map(|r| r.split_whitespace().collect::<Vec<_>>());
    assert_eq!(first, Some(vec!["1", "S", "nsinit-init"]), "{s}");

    // A trapped TERM keeps the command running; KILL ends it (137).
    let child = c.spawn(&[
        "sh",
        "-c",
        "trap 'echo got' TERM; while :; do sleep 0.1; done",
    ]);
    let mut child = Proc(child);
    let pid1 = c.init_pid();
    let sh = child_named(pid1, "sh");
    assert!(wait_for(Duration::from_secs(5), || !children(sh).is_empty()));
    ok(&c.cmd(&["kill", "TERM"]).output().unwrap());
    let stdout = BufReader::new(child.0.stdout.take().unwrap());
    let (got, stdout) = line_within(stdout, Duration::from_secs(10));
    assert_eq!(got, "got");
    // The trap ran and sh goes on: KILL, not TERM, decides the status.
    assert!(
        child.running(),
        "the command trapped TERM and must still run"
    );
    kill(sh, "KILL");
    assert_eq!(exit_code(child.wait_timeout(Duration::from_secs(5))), 137);
    assert_eq!(std::io::read_to_string(stdout).unwrap(), "");
}
