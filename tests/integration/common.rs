//! Shared helpers for the root integration tests: a per-test container
//! directory on the busybox rootfs from `make rootfs`, and ways to run nsinit.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Value, json};

/// True when the root tests can run; otherwise prints why they are skipped.
pub fn can_run() -> bool {
    if !rustix::process::geteuid().is_root() {
        eprintln!("SKIP: root integration tests need root");
        return false;
    }
    if !rootfs().join("bin/busybox").exists() {
        eprintln!(
            "SKIP: no busybox rootfs at {} (run `make rootfs`)",
            rootfs().display()
        );
        return false;
    }
    true
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
        for _ in 0..500 {
            if self.dir.join("state.json").exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("state.json never appeared in {}", self.dir.display());
    }

    pub fn state(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.dir.join("state.json")).unwrap()).unwrap()
    }

    pub fn init_pid(&self) -> i32 {
        self.state()["init_pid"].as_i64().unwrap() as i32
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if let Ok(text) = std::fs::read(self.dir.join("state.json")) {
            if let Ok(v) = serde_json::from_slice::<Value>(&text)
                && let Some(pid) = v["init_pid"].as_i64()
            {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
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
