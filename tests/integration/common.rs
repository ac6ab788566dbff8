//! Shared helpers for the root integration tests: a per-test container
//! directory on the busybox rootfs from `make rootfs`, and ways to run nsinit.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Under `NSINIT_TEST_STRICT=1` (set by `make test`, hence CI) a missing
/// prerequisite fails the test; elsewhere it is a loud skip.
pub fn strict() -> bool {
    std::env::var_os("NSINIT_TEST_STRICT").is_some_and(|v| v == "1")
}

/// The running test's name (libtest names each test's thread after it).
pub fn test_name() -> String {
    std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .unwrap_or("(this test)")
        .to_string()
}

/// The one gate for a prerequisite the test cannot do without: panics with
/// `reason` under [`strict`], otherwise prints `SKIP <test>: <reason>` to
/// stderr and returns false (so `if !… { return; }` skips the test).
pub fn missing(reason: impl std::fmt::Display) -> bool {
    let test = test_name();
    assert!(
        !strict(),
        "{test}: prerequisite missing (NSINIT_TEST_STRICT=1 makes this a failure): {reason}"
    );
    skip_note(&format!("SKIP {test}: {reason}"));
    false
}

/// Straight to fd 2: libtest captures `eprintln!` of passing tests, and a
/// skip must be seen.
fn skip_note(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Not a missing prerequisite but a host where the test has nothing to
/// check (it exercises the other branch of a kernel feature): always a loud
/// skip, also under [`strict`]. Returns false.
pub fn not_applicable(reason: impl std::fmt::Display) -> bool {
    skip_note(&format!(
        "SKIP {}: not applicable here: {reason}",
        test_name()
    ));
    false
}

/// Root, or [`missing`].
pub fn root() -> bool {
    rustix::process::geteuid().is_root() || missing("needs root")
}

/// The gate of every container test: root and the busybox rootfs.
pub fn can_run() -> bool {
    root()
        && (rootfs().join("bin/busybox").exists()
            || missing(format!(
                "no busybox rootfs at {} (run `make rootfs` or set NSINIT_ROOTFS)",
                rootfs().display()
            )))
}

/// `tool` is on PATH, or [`missing`].
pub fn require(tool: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()));
    found || missing(format!("`{tool}` not found in PATH"))
}

/// Every tool of `tools` is on PATH (see [`require`]).
pub fn require_all(tools: &[&str]) -> bool {
    tools.iter().all(|t| require(t))
}

/// Poll `cond` every 10 ms until it holds; panics naming `what` after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The text of the file at `path` once `done` holds for it (a missing
/// file reads as empty), polled as [`wait_until`] does for 10 s; panics
/// naming `what`. A file a shell writes in steps is whole when it ends in
/// a newline: `|t| t.ends_with('\n')`.
pub fn wait_for_file(path: &std::path::Path, what: &str, done: impl Fn(&str) -> bool) -> String {
    let mut text = String::new();
    wait_until(Duration::from_secs(10), what, || {
        text = std::fs::read_to_string(path).unwrap_or_default();
        done(&text)
    });
    text
}

/// One line from `r` (without its newline), or a panic after `limit`: a
/// process that never writes fails the test instead of hanging it. The
/// reader moves to a thread and comes back with the line.
pub fn line_within<R: std::io::BufRead + Send + 'static>(r: R, limit: Duration) -> (String, R) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut r = r;
        let mut s = String::new();
        let res = r.read_line(&mut s);
        let _ = tx.send((res.map(|_| s), r));
    });
    match rx.recv_timeout(limit) {
        Ok((Ok(s), r)) => (s.trim_end_matches('\n').to_string(), r),
        Ok((Err(e), _)) => panic!("reading a line: {e}"),
        Err(_) => panic!("no line within {limit:?}"),
    }
}

/// Wait for `child` to exit, at most `limit` (then SIGKILL it and panic).
pub fn wait_child(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("pid {} still running after {limit:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The scheduler state letter of `pid` (field 3 of /proc/PID/stat), None
/// once it is gone.
pub fn proc_state(pid: i32) -> Option<char> {
    // The name is the process's to choose, in any bytes: after the last ')'.
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    stat.get(close + 2).map(|&b| char::from(b))
}

/// `pid` has exited (gone, or a zombie nobody reaped yet).
pub fn is_dead(pid: i32) -> bool {
    matches!(proc_state(pid), None | Some('Z' | 'X'))
}

/// Live host processes whose command line (NULs as spaces, trimmed)
/// satisfies `pred`.
pub fn processes_where(pred: impl Fn(&str) -> bool) -> Vec<i32> {
    let me = std::process::id() as i32;
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| pred(String::from_utf8_lossy(&c).replace('\0', " ").trim()))
        })
        .filter(|&pid| !is_dead(pid))
        .collect()
}

/// Live host processes whose command line contains `needle` (nsinit's own
/// included, when its arguments carry it).
pub fn processes_with(needle: &str) -> Vec<i32> {
    processes_where(|c| c.contains(needle))
}

/// Live host processes whose command line is exactly `cmdline`.
pub fn processes_running(cmdline: &str) -> Vec<i32> {
    processes_where(|c| c == cmdline)
}

/// A host `sh` appending to a file as fast as it can: a witness that CPU
/// time passed, so "a frozen process made no progress" is checked against
/// a process that demonstrably did, not against a sleep.
pub struct Witness {
    child: Child,
    file: PathBuf,
}

impl Witness {
    pub fn start() -> Witness {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let file = std::env::temp_dir().join(format!("nsinit-witness-{}-{n}", std::process::id()));
        let _ = std::fs::remove_file(&file);
        let child = Command::new("sh")
            .args(["-c", "while :; do echo x >> \"$0\"; done"])
            .arg(&file)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        Witness { child, file }
    }

    fn count(&self) -> u64 {
        std::fs::metadata(&self.file).map_or(0, |m| m.len() / 2)
    }

    /// Wait (bounded) until the witness appended `n` more lines.
    pub fn advance(&self, n: u64) {
        let from = self.count();
        wait_until(Duration::from_secs(20), "the witness counter", || {
            self.count() >= from + n
        });
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.file);
    }
}

/// The shared busybox rootfs (read-only use; tests needing writes copy it).
pub fn rootfs() -> PathBuf {
    std::env::var_os("NSINIT_ROOTFS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/rootfs"))
}

/// The nsinit binary under test (`NSINIT_BIN`, else cargo's build of it).
pub fn bin() -> PathBuf {
    std::env::var_os("NSINIT_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_nsinit")))
}

/// Put the static attack helper `tests/attack/NAME.c` at `dst`: copied from
/// `NSINIT_ATTACK_DIR/NAME` when that is set (prebuilt, where the test runs
/// without gcc: `make test-vm`), else compiled with `gcc -static -O1`.
pub fn attack_binary(name: &str, dst: &Path) {
    if let Some(dir) = std::env::var_os("NSINIT_ATTACK_DIR") {
        // Why cp, not std::fs::copy: a descriptor open for writing in this
        // (multi-threaded) process is inherited by every test's fork until
        // its exec, and executing the file meanwhile fails with ETXTBSY.
        let src = Path::new(&dir).join(name);
        let st = Command::new("cp")
            .arg(&src)
            .arg(dst)
            .status()
            .unwrap_or_else(|e| panic!("run cp: {e}"));
        assert!(st.success(), "cp {} {}", src.display(), dst.display());
        return;
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/attack/{name}.c"));
    let o = Command::new("gcc")
        .args(["-static", "-O1", "-o"])
        .arg(dst)
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("run gcc: {e}"));
    assert!(o.status.success(), "gcc {}: {}", src.display(), err(&o));
}

/// The default allow-list of device rules (libcontainer's DefaultAllowedDevices).
pub fn allowed_devices() -> Value {
    json!([
        {"type": 99, "major_number": -1, "minor_number": -1, "cgroup_permissions": "m"},
        {"type": 98, "major_number": -1, "minor_number": -1, "cgroup_permissions": "m"},
        {"type": 99, "path": "/dev/console", "major_number": 5, "minor_number": 1, "cgroup_permissions": "rwm"},
        {"type": 99, "major_number": 136, "minor_number": -1, "cgroup_permissions": "rwm"},
        {"type": 99, "major_number": 5, "minor_number": 2, "cgroup_permissions": "rwm"},
        {"type": 99, "path": "/dev/null", "major_number": 1, "minor_number": 3, "cgroup_permissions": "rwm", "file_mode": 438},
        {"type": 99, "path": "/dev/zero", "major_number": 1, "minor_number": 5, "cgroup_permissions": "rwm", "file_mode": 438},
        {"type": 99, "path": "/dev/full", "major_number": 1, "minor_number": 7, "cgroup_permissions": "rwm", "file_mode": 438},
        {"type": 99, "path": "/dev/tty", "major_number": 5, "minor_number": 0, "cgroup_permissions": "rwm", "file_mode": 438},
        {"type": 99, "path": "/dev/urandom", "major_number": 1, "minor_number": 9, "cgroup_permissions": "rwm", "file_mode": 438},
        {"type": 99, "path": "/dev/random", "major_number": 1, "minor_number": 8, "cgroup_permissions": "rwm", "file_mode": 438}
    ])
}

/// The six simple device nodes.
pub fn device_nodes() -> Value {
    let all = allowed_devices();
    Value::Array(
        all.as_array()
            .unwrap()
            .iter()
            .filter(|d| d.get("file_mode").is_some())
            .cloned()
            .collect(),
    )
}

/// A config like sample_configs/minimal.json, rooted at the shared rootfs.
pub fn base_config() -> Value {
    json!({
        "root_fs": rootfs(),
        "hostname": "koye",
        "namespaces": {"NEWNS": true, "NEWUTS": true, "NEWIPC": true, "NEWPID": true, "NEWNET": true},
        "capabilities": ["CHOWN", "DAC_OVERRIDE", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
                         "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL"],
        "networks": [{"type": "loopback", "address": "127.0.0.1/0", "gateway": "localhost", "mtu": 1500}],
        "environment": ["HOME=/", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                        "HOSTNAME=koye", "TERM=xterm"],
        "restrict_sys": true,
        "mount_config": {
            "device_nodes": device_nodes(),
            "mounts": [{"type": "tmpfs", "destination": "/tmp"}]
        },
        "cgroups": {"allowed_devices": allowed_devices()}
    })
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A container directory holding container.json; removed (with anything it
/// left running) on drop.
pub struct Container {
    pub dir: PathBuf,
}

impl Container {
    pub fn new(name: &str, config: &Value) -> Container {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("nsinit-it-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let c = Container { dir };
        c.write_config(config);
        c
    }

    pub fn write_config(&self, config: &Value) {
        std::fs::write(
            self.dir.join("container.json"),
            serde_json::to_vec_pretty(config).unwrap(),
        )
        .unwrap();
    }

    /// `nsinit --root DIR ARGS…` with stdin closed.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.arg("--root")
            .arg(&self.dir)
            .args(args)
            .stdin(Stdio::null());
        c
    }

    /// Run `nsinit exec ARGS…` to completion.
    pub fn exec(&self, args: &[&str]) -> Output {
        let mut full = vec!["exec"];
        full.extend_from_slice(args);
        self.cmd(&full).output().unwrap()
    }

    /// Start `nsinit exec ARGS…` in the background and wait until state.json exists.
    pub fn spawn(&self, args: &[&str]) -> Child {
        let mut full = vec!["exec"];
        full.extend_from_slice(args);
        let child = self
            .cmd(&full)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        self.wait_for_state();
        child
    }

    pub fn wait_for_state(&self) {
        wait_until(
            Duration::from_secs(10),
            &format!("state.json in {}", self.dir.display()),
            || self.dir.join("state.json").exists(),
        );
    }

    pub fn state(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.dir.join("state.json")).unwrap()).unwrap()
    }

    /// Stop the container from the host: SIGKILL its PID 1 (not nsinit, which
    /// then tears it down) and wait for `nsinit` (the `spawn`ed supervisor).
    pub fn stop(&self, nsinit: &mut Child) {
        let _ = Command::new("kill")
            .args(["-9", &self.init_pid().to_string()])
            .status();
        let _ = nsinit.wait();
    }

    pub fn init_pid(&self) -> i32 {
        self.state()["init_pid"].as_i64().unwrap() as i32
    }
}

impl Drop for Container {
    /// Kill what is left (bounded wait for it to die, never a panic here).
    fn drop(&mut self) {
        if let Ok(text) = std::fs::read(self.dir.join("state.json"))
            && let Ok(v) = serde_json::from_slice::<Value>(&text)
            && let Some(pid) = v["init_pid"].as_i64()
        {
            let pid = pid as i32;
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            let start = Instant::now();
            while !is_dead(pid) && start.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        // A test that killed nsinit itself leaves its record and cgroups
        // for `destroy` (or the next exec here, which never comes).
        let _ = Command::new(bin())
            .arg("--root")
            .arg(&self.dir)
            .args(["destroy", "--force"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// stdout as a string.
pub fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as a string.
pub fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Assert success and return stdout.
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status,
        out(o),
        err(o)
    );
    out(o)
}

/// Cgroup directories (any hierarchy) whose name contains `needle`.
pub fn cgroup_dirs_named(needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![PathBuf::from("/sys/fs/cgroup")];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                let p = e.path();
                if p.file_name()
                    .is_some_and(|n| n.to_string_lossy().contains(needle))
                {
                    found.push(p.clone());
                }
                stack.push(p);
            }
        }
    }
    found
}
