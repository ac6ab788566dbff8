//! The supervisor never hangs: the pty relay under a container that stops
//! reading, an output that goes away, a terminal that is killed; and a
//! foreground container is always stoppable despite the kernel's PID-1 rule.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::*;

/// Every wait in this module gives up (and fails) after this long.
const BOUND: Duration = Duration::from_secs(20);

/// `base_config()` with a cgroup name of its own, and a pty when `tty`.
fn config(name: &str, tty: bool) -> Value {
    let mut cfg = base_config();
    cfg["tty"] = json!(tty);
    cfg["cgroups"]["name"] = json!(cgroup_name(name));
    cfg
}

fn cgroup_name(name: &str) -> String {
    format!("nsinit-it-relay-{name}-{}", std::process::id())
}

fn tmux_available() -> bool {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("SKIP: tmux not installed");
        return false;
    }
    true
}

/// A tmux server of its own, killed on drop.
struct Tmux {
    sock: String,
}

impl Tmux {
    /// A detached 100x30 session `t` running `cmd` under bash.
    fn start(name: &str, cmd: &str) -> Tmux {
        let t = Tmux {
            sock: format!("nsinit-relay-{name}-{}", std::process::id()),
        };
        let st = Command::new("tmux")
            .args(["-L", &t.sock, "new-session", "-d", "-s", "t", "-x", "100"])
            .args(["-y", "30", "bash", "-c", cmd])
            .status()
            .unwrap();
        assert!(st.success());
        t
    }

    fn run(&self, args: &[&str]) -> String {
        let o = Command::new("tmux")
            .args(["-L", &self.sock])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// The pane's text, once it contains `want`.
    fn wait_for(&self, want: &str) -> String {
        let start = Instant::now();
        loop {
            let pane = self.run(&["capture-pane", "-p", "-t", "t"]);
            if pane.contains(want) {
                return pane;
            }
            assert!(start.elapsed() < BOUND, "never saw {want:?} in:\n{pane}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait until nsinit has put the pane's terminal in raw mode (so keys
    /// and input reach the relay as bytes).
    fn wait_raw(&self) {
        let tty = self.run(&["display", "-p", "-t", "t", "#{pane_tty}"]);
        let start = Instant::now();
        loop {
            let o = Command::new("stty").args(["-F", tty.trim(), "-a"]).output();
            if String::from_utf8_lossy(&o.unwrap().stdout).contains("-icanon") {
                return;
            }
            assert!(start.elapsed() < BOUND, "{} never went raw", tty.trim());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill_server(&self) {
        self.run(&["kill-server"]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.kill_server();
    }
}

/// `nsinit --root DIR exec ARGS` as shell words.
fn exec_line(c: &Container, args: &str) -> String {
    format!("{} --root {} exec {args}", bin().display(), c.dir.display())
}

/// A process that exists and is not a zombie.
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}

fn wait_gone(pid: i32, what: &str) {
    let start = Instant::now();
    while alive(pid) {
        assert!(start.elapsed() < BOUND, "{what} (pid {pid}) is still alive");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The nsinit supervisor of a container: the process whose parent is
/// nsinit's and which is PID 1's parent.
fn supervisor_of(init: i32) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{init}/stat")).unwrap();
    let (_, rest) = stat.rsplit_once(") ").unwrap();
    rest.split(' ').nth(1).unwrap().parse().unwrap()
}

/// Nothing of the container is left: no process, no state.json, no cgroup.
fn assert_nothing_left(c: &Container, name: &str, pids: &[i32]) {
    for &pid in pids {
        wait_gone(pid, "a process of the container or its supervisor");
    }
    let start = Instant::now();
    while c.dir.join("state.json").exists() || !cgroup_dirs_named(&cgroup_name(name)).is_empty() {
        assert!(
            start.elapsed() < BOUND,
            "state.json or cgroups left: {:?}",
            cgroup_dirs_named(&cgroup_name(name))
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The O_NONBLOCK bit in a `flags:` line of /proc/PID/fdinfo (octal).
fn nonblock_in(pane: &str) -> bool {
    let flags = pane
        .lines()
        .find_map(|l| l.trim().strip_prefix("flags:"))
        .expect("no flags line");
    u32::from_str_radix(flags.trim(), 8).unwrap() & 0o4000 != 0
}

/// Fill the terminal's input with far more than any buffer holds, and wait
/// until the container's terminal has taken some (its echo shows up). Whole
/// lines: a canonical-mode terminal keeps taking (and dropping) the
/// characters of one overlong line, but stops taking complete lines once
/// its buffer is full.
fn flood_input(t: &Tmux, dir: &Path) {
    t.wait_raw();
    let big = dir.join("flood.txt");
    std::fs::write(
        &big,
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n".repeat(1 << 15),
    )
    .unwrap();
    t.run(&["load-buffer", big.to_str().unwrap()]);
    t.run(&["paste-buffer", "-t", "t"]);
    t.wait_for("xxxxxxxxxxxxxxxxxxxx\n");
}

/// Issue #11.6: with a container that never reads its terminal and input
/// piling up, signals to nsinit are still serviced, and the caller's
/// terminal gets its file status flags back.
#[test]
fn a_container_that_never_reads_its_input_cannot_hang_the_supervisor() {
    if !can_run() || !tmux_available() {
        return;
    }
    let c = Container::new("relay-noread", &config("noread", true));
    let cmd = format!(
        "{}; echo exited=$?; grep flags /proc/self/fdinfo/0; sleep 60",
        exec_line(&c, "sleep 1000")
    );
    let t = Tmux::start("noread", &cmd);
    c.wait_for_state();
    let init = c.init_pid();
    let nsinit = supervisor_of(init);
    flood_input(&t, &c.dir);
    let kill = |sig: &str| {
        let st = Command::new("kill")
            .args([sig, &nsinit.to_string()])
            .status();
        assert!(st.unwrap().success());
    };
    kill("-TERM");
    t.wait_for("does not handle SIGTERM; send it again within 5 s");
    assert!(alive(init), "one SIGTERM killed a handler-less PID 1");
    kill("-TERM");
    let pane = t.wait_for("flags:");
    assert!(pane.contains("exited=137"), "{pane}");
    assert!(
        !nonblock_in(&pane),
        "O_NONBLOCK left on the terminal:\n{pane}"
    );
    assert_nothing_left(&c, "noread", &[init, nsinit]);
}

/// The same, ended by PID 1 exiting on its own while the input is stuck.
#[test]
fn pid_1_exiting_under_stuck_input_ends_the_supervisor() {
    if !can_run() || !tmux_available() {
        return;
    }
    let c = Container::new("relay-noread-exit", &config("noread-exit", true));
    let script = "'until [ -e /tmp/go ]; do sleep 0.05; done; exit 7'";
    let cmd = format!(
        "{}; echo exited=$?; sleep 60",
        exec_line(&c, &format!("sh -c {script}"))
    );
    let t = Tmux::start("noread-exit", &cmd);
    c.wait_for_state();
    let init = c.init_pid();
    let nsinit = supervisor_of(init);
    flood_input(&t, &c.dir);
    ok(&c.exec(&["touch", "/tmp/go"]));
    let pane = t.wait_for("exited=");
    assert!(pane.contains("exited=7"), "{pane}");
    assert_nothing_left(&c, "noread-exit", &[init, nsinit]);
}

/// Issue #12.2: `nsinit exec -t yes | head -1` under a terminal ends. `yes`
/// gets the SIGPIPE a broken pipe means; as PID 1 without a handler the
/// kernel drops it, so nsinit kills it: 137 (141 with --init).
#[test]
fn a_tty_container_whose_output_pipe_breaks_ends() {
    if !can_run() || !tmux_available() {
        return;
    }
    for (name, init) in [("pipe", false), ("pipe-init", true)] {
        let mut cfg = config(name, true);
        cfg["init"] = json!(init);
        let c = Container::new(&format!("relay-{name}"), &cfg);
        let cmd = format!(
            "{} | head -1; echo exited=${{PIPESTATUS[0]}}; sleep 60",
            exec_line(&c, "yes")
        );
        let t = Tmux::start(name, &cmd);
        let pane = t.wait_for("exited=");
        let want = if init { "exited=141" } else { "exited=137" };
        assert!(pane.contains(want), "{name}: {pane}");
        assert_nothing_left(&c, name, &[]);
    }
}

/// Issue #12.2: the terminal itself goes away (the tmux server is killed)
/// under a tty session, and under a foreground container without a tty.
#[test]
fn killing_the_terminal_ends_the_container() {
    if !can_run() || !tmux_available() {
        return;
    }
    // An interactive shell as PID 1: it does not handle SIGHUP either.
    for (name, tty, args) in [("hup-tty", true, "sh"), ("hup", false, "sleep 1000")] {
        let c = Container::new(&format!("relay-{name}"), &config(name, tty));
        let t = Tmux::start(name, &format!("exec {}", exec_line(&c, args)));
        c.wait_for_state();
        let init = c.init_pid();
        let nsinit = supervisor_of(init);
        if tty {
            t.wait_for("built-in shell");
        }
        t.kill_server();
        assert_nothing_left(&c, name, &[init, nsinit]);
    }
}

/// Read stderr lines of a child in a thread, so a test can wait with a bound.
fn lines_of(r: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            if tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    rx
}

/// Host PIDs whose command line is `cmdline` (arguments joined by spaces).
fn processes_running(cmdline: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).replace('\0', " ").trim() == cmdline)
        })
        .collect()
}

fn wait_exit(child: &mut std::process::Child) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st.code();
        }
        assert!(start.elapsed() < BOUND, "nsinit did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Issue #12.5: a foreground container without --init whose PID 1 has no
/// handler: the first SIGTERM prints a hint and the container lives on, a
/// second one kills it. A joined process (not a PID 1) just gets SIGTERM.
#[test]
fn a_second_terminating_signal_kills_a_pid_1_that_drops_it() {
    if !can_run() {
        return;
    }
    let c = Container::new("relay-term", &config("term", false));
    let mut child = c.spawn(&["sleep", "1000"]);
    let init = c.init_pid();
    let stderr = lines_of(child.stderr.take().unwrap());

    // A joined sleep is not a PID 1: SIGTERM kills it, no hint.
    let mut joined = c
        .cmd(&["exec", "sleep", "2718"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while processes_running("sleep 2718").is_empty() {
        assert!(start.elapsed() < BOUND, "the joined sleep never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let kill = |pid: u32| {
        let st = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        assert!(st.unwrap().success());
    };
    kill(joined.id());
    assert_eq!(wait_exit(&mut joined), Some(143));
    let mut joined_err = String::new();
    joined
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut joined_err)
        .unwrap();
    assert_eq!(joined_err, "");

    kill(child.id());
    let line = stderr.recv_timeout(BOUND).expect("no hint on stderr");
    assert_eq!(
        line,
        "nsinit: PID 1 (sleep) does not handle SIGTERM; send it again within 5 s to kill the container"
    );
    // The hint is out: the container must still be there.
    assert!(alive(init), "one SIGTERM killed a handler-less PID 1");
    kill(child.id());
    assert_eq!(wait_exit(&mut child), Some(137));
    assert_nothing_left(&c, "term", &[init]);
}

/// The relay still carries data both ways (stdin EOF ends the container's
/// input with VEOF), and 10 MB of output arrive complete.
#[test]
fn the_relay_carries_input_and_large_output_intact() {
    if !can_run() {
        return;
    }
    let c = Container::new("relay-data", &config("data", true));
    let mut child = c
        .cmd(&["exec", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"hello\nworld")
        .unwrap();
    let out = lines_of(child.stdout.take().unwrap());
    assert_eq!(wait_exit(&mut child), Some(0));
    let text = out.iter().collect::<Vec<_>>().join("\n");
    // The terminal echoes the input and cat writes it back (in an order that
    // depends on scheduling); without the VEOFs cat would never exit.
    assert_eq!(text.matches("hello").count(), 2, "{text:?}");
    assert_eq!(text.matches("world").count(), 2, "{text:?}");

    // 2 MiB: 32 times the relay's 64 KiB buffer and 512 times a pty's, so
    // every buffer fills and drains many times over (10 MiB took 72 s of
    // the cgroup-v2 VM's five minutes under TCG).
    let o = c.exec(&["sh", "-c", "yes abcdefghi | head -c 2097150"]);
    let stdout = &o.stdout;
    assert!(o.status.success(), "{}", err(&o));
    // The terminal turns each of the 209,715 newlines into CR LF.
    assert_eq!(stdout.len(), 2_097_150 + 209_715);
    assert!(
        stdout.chunks(11).all(|l| l == b"abcdefghi\r\n"),
        "output corrupted"
    );
    assert_nothing_left(&c, "data", &[]);
}

/// A PID 1 that traps SIGTERM gets it (no hint) and exits with its own code.
#[test]
fn a_pid_1_that_traps_the_signal_gets_it_without_a_hint() {
    if !can_run() {
        return;
    }
    let c = Container::new("relay-trap", &config("trap", false));
    let mut child = c.spawn(&[
        "sh",
        "-c",
        "trap 'exit 5' TERM; echo ready; while :; do sleep 0.05; done",
    ]);
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready, "ready\n");
    let st = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(st.unwrap().success());
    assert_eq!(wait_exit(&mut child), Some(5));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(stderr, "");
    assert_nothing_left(&c, "trap", &[]);
}

/// With a tty, Ctrl-C is a byte the container's terminal turns into SIGINT
/// for PID 1, which drops it: the relay says so, and a second ^C kills.
#[test]
fn ctrl_c_twice_stops_a_tty_container_whose_pid_1_drops_sigint() {
    if !can_run() || !tmux_available() {
        return;
    }
    let c = Container::new("relay-ctrlc", &config("ctrlc", true));
    let cmd = format!("{}; echo exited=$?; sleep 60", exec_line(&c, "sleep 1000"));
    let t = Tmux::start("ctrlc", &cmd);
    c.wait_for_state();
    let init = c.init_pid();
    t.wait_raw();
    t.run(&["send-keys", "-t", "t", "C-c"]);
    t.wait_for("does not handle SIGINT; press ^C again within 5 s");
    assert!(alive(init), "one ^C killed a handler-less PID 1");
    t.run(&["send-keys", "-t", "t", "C-c"]);
    let pane = t.wait_for("exited=");
    assert!(pane.contains("exited=137"), "{pane}");
    assert_nothing_left(&c, "ctrlc", &[init]);
}
