//! The container record (issues 11.1 and 12.3/6/7/8/10), written as the
//! attacker: in the 2014 layout the container directory is the rootfs, the
//! container's own `/`, and whatever the container writes there must not
//! decide what the host-side nsinit does. Every test asserts from the host,
//! with real probes (a victim process's start time, a victim link, a victim
//! cgroup with its process, a victim file's bytes), that nothing happened.
//!
//! `attack` holds the forging and planting (11.1 a, b, c); `faults` the
//! reliability regressions (12.6, 12.7, 12.8, 12.10). The read-only
//! directory and full disk of 12.3 are covered by `soak`
//! (`soak_read_only_directory_fails_the_start_cleanly_or_runs`,
//! `soak_full_disk_fails_the_start_cleanly_or_runs`): not repeated here.

mod attack;
mod faults;

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{self, base_config, bin, cgroup_dirs_named, line_within};
use nsinit::container::record::{STORE, key_of};

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A unique tag for one test's names (directory, cgroup, links).
pub fn tag(test: &str) -> String {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    format!("nsrec{n}-{test}-{}", std::process::id())
}

/// A container in the 2014 layout: the directory is a private copy of the
/// busybox rootfs holding container.json (`root_fs` "."), so the container's
/// `/` is the directory where nsinit writes its state.json marker.
pub struct Layout {
    pub dir: PathBuf,
    pub tag: String,
}

impl Layout {
    pub fn new(test: &str, edit: impl FnOnce(&mut Value)) -> Layout {
        let tag = tag(test);
        let dir = std::env::temp_dir().join(&tag);
        let _ = std::fs::remove_dir_all(&dir);
        let st = Command::new("cp")
            .arg("-a")
            .arg(common::rootfs())
            .arg(&dir)
            .status()
            .unwrap();
        assert!(st.success(), "copy the rootfs to {}", dir.display());
        let mut cfg = base_config();
        cfg["root_fs"] = json!(".");
        cfg["hostname"] = json!("rec");
        cfg["cgroups"]["name"] = json!(tag);
        edit(&mut cfg);
        let l = Layout { dir, tag };
        l.write_config(&cfg);
        l
    }

    pub fn write_config(&self, cfg: &Value) {
        std::fs::write(self.config(), serde_json::to_vec_pretty(cfg).unwrap()).unwrap();
    }

    pub fn config(&self) -> PathBuf {
        self.dir.join("container.json")
    }

    /// `nsinit --root DIR ARGS…`, stdin closed.
    pub fn cmd(&self, args: &[&str]) -> Command {
        nsinit_in(&self.dir, args)
    }

    /// `nsinit join --root DIR ARGS…` (joins, never creates).
    pub fn join(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.arg("join")
            .arg("--root")
            .arg(&self.dir)
            .args(args)
            .stdin(Stdio::null());
        c
    }

    /// Start `exec ARGS…`; returns once the container printed `ready`.
    pub fn start(&self, args: &[&str]) -> Running {
        Running::start(self.cmd(&[&["exec"], args].concat()))
    }

    /// The record's lock file (/run/nsinit/<key>).
    pub fn record(&self) -> PathBuf {
        record_of(&self.dir)
    }

    /// The record's file `name` (/run/nsinit/<key>:<name>).
    pub fn record_file(&self, name: &str) -> PathBuf {
        record_file(&record_of(&self.dir), name)
    }

    pub fn marker(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// What this container may leave: cgroup directories, its record, the
    /// marker and processes naming the tag. Empty when clean.
    pub fn leftovers(&self) -> Vec<String> {
        leftovers(&self.dir, &self.tag)
    }
}

impl Drop for Layout {
    fn drop(&mut self) {
        let _ = self
            .cmd(&["destroy", "--force"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `nsinit --root DIR ARGS…`, stdin closed.
pub fn nsinit_in(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.arg("--root").arg(dir).args(args).stdin(Stdio::null());
    c
}

/// The record file `name` beside the lock file `rec`.
pub fn record_file(rec: &Path, name: &str) -> PathBuf {
    let mut p = rec.as_os_str().to_owned();
    p.push(format!(":{name}"));
    PathBuf::from(p)
}

/// The record lock file of the container directory `dir`.
pub fn record_of(dir: &Path) -> PathBuf {
    let real = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    Path::new(STORE).join(key_of(&real))
}

/// Cgroup directories and processes whose names contain `tag`, the record
/// of `dir` and its marker.
pub fn leftovers(dir: &Path, tag: &str) -> Vec<String> {
    let mut left: Vec<String> = cgroup_dirs_named(tag)
        .iter()
        .map(|d| format!("cgroup {}", d.display()))
        .collect();
    let rec = record_of(dir);
    for p in [
        rec.clone(),
        record_file(&rec, "state.json"),
        record_file(&rec, "container.json"),
    ] {
        if p.symlink_metadata().is_ok() {
            left.push(format!("record {}", p.display()));
        }
    }
    if dir.join("state.json").symlink_metadata().is_ok() {
        left.push(format!("marker {}/state.json", dir.display()));
    }
    for pid in common::processes_with(tag) {
        left.push(format!("process {pid}"));
    }
    left
}

/// Run `cmd` with stdout and stderr captured; panics (after killing it) if
/// it has not finished within `limit`.
pub fn run_within(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = drain(&mut child);
    let status = common::wait_child(&mut child, limit);
    let (stdout, stderr) = out.join().unwrap();
    Output {
        status,
        stdout,
        stderr,
    }
}

/// Read a child's stdout and stderr to the end on threads (so a full pipe
/// never blocks it).
fn drain(child: &mut Child) -> std::thread::JoinHandle<(Vec<u8>, Vec<u8>)> {
    let mut o = child.stdout.take().unwrap();
    let mut e = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        let t = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = std::io::Read::read_to_end(&mut e, &mut v);
            v
        });
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut o, &mut v);
        (v, t.join().unwrap())
    })
}

/// Must succeed within 20 s; returns stdout.
pub fn ok_within(cmd: Command) -> String {
    let o = run_within(cmd, Duration::from_secs(20));
    common::ok(&o)
}

/// Must fail within 20 s with exit code `code`; returns stderr.
pub fn fails_within(cmd: Command, code: i32) -> String {
    let o = run_within(cmd, Duration::from_secs(20));
    assert_eq!(
        o.status.code(),
        Some(code),
        "expected exit {code}\nstdout: {}\nstderr: {}",
        common::out(&o),
        common::err(&o)
    );
    common::err(&o)
}

/// A running `nsinit exec` (the supervisor) whose container printed a line.
pub struct Running {
    pub child: Child,
    pub out: Option<BufReader<ChildStdout>>,
}

impl Running {
    fn start(mut cmd: Command) -> Running {
        // stdin is a pipe the test holds: closing it is an event the
        // container can wait for (`read x`).
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        let mut r = Running {
            child,
            out: Some(out),
        };
        let line = r.line();
        assert_eq!(line, "ready", "the container's first line");
        r
    }

    /// The next line the container prints (bounded wait).
    pub fn line(&mut self) -> String {
        let (line, out) = line_within(self.out.take().unwrap(), Duration::from_secs(20));
        self.out = Some(out);
        line
    }

    /// The supervisor's PID.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The container's init: the supervisor's child, from the kernel (not
    /// from anything nsinit or the container wrote).
    pub fn init(&self) -> i32 {
        let pid = self.pid();
        let kids = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap();
        let kids: Vec<i32> = kids
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect();
        assert_eq!(kids.len(), 1, "the supervisor's children: {kids:?}");
        kids[0]
    }

    /// Wait (bounded) for the supervisor's exit code.
    pub fn wait(&mut self) -> Option<i32> {
        common::wait_child(&mut self.child, Duration::from_secs(20)).code()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `nsinit state` as JSON.
pub fn state_of(dir: &Path) -> Value {
    serde_json::from_str(&ok_within(nsinit_in(dir, &["state"]))).unwrap()
}

/// Wait (bounded) for `cond`, polling.
pub fn until(what: &str, cond: impl FnMut() -> bool) {
    common::wait_until(Duration::from_secs(20), what, cond);
}
