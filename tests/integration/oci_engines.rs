//! What the engines rely on that the OCI issue did not spell out, found by
//! driving nsinit-oci from podman, containerd and Docker (tests/engines/) and
//! pinned here from nsinit-oci's own command line, as runc 1.1 behaves.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{self, bin, can_run, err, rootfs, wait_until};

/// A bundle on the shared rootfs (read-only) and a private `--root`;
/// on drop: `delete --force`, and `extra` pids killed.
struct Bundle {
    dir: PathBuf,
    id: String,
    extra: Vec<i32>,
}

impl Bundle {
    fn new(name: &str, cfg: &Value) -> Bundle {
        let pid = std::process::id();
        let dir = std::env::temp_dir().join(format!("nsinit-it-engines-{name}-{pid}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.json"), serde_json::to_vec(cfg).unwrap()).unwrap();
        Bundle {
            dir,
            id: format!("{name}-{pid}"),
            extra: Vec::new(),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        // Output through files: a created container inherits stdio.
        let (o, e) = (self.dir.join(".out"), self.dir.join(".err"));
        let status = Command::new(bin())
            .arg("oci")
            .arg("--root")
            .arg(self.dir.join("state"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&o).unwrap())
            .stderr(std::fs::File::create(&e).unwrap())
            .status()
            .unwrap();
        Output {
            status,
            stdout: std::fs::read(&o).unwrap_or_default(),
            stderr: std::fs::read(&e).unwrap_or_default(),
        }
    }

    fn ok(&self, args: &[&str]) {
        let o = self.run(args);
        assert!(o.status.success(), "{args:?}: {}", err(&o));
    }

    fn status(&self) -> String {
        let o = self.run(&["state", &self.id]);
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        v["status"].as_str().unwrap_or("").to_string()
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        for &pid in &self.extra {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        }
        let _ = self.run(&["delete", "--force", &self.id]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// No pid namespace (as with podman's `--pid host`): the container's other
/// processes outlive its init, in its cgroup.
fn config(name: &str, args: &[&str]) -> Value {
    json!({
        "ociVersion": "1.2.0",
        "root": {"path": rootfs(), "readonly": true},
        "process": {
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/"
        },
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "mode=755", "size=64k"]}
        ],
        "linux": {
            "cgroupsPath": format!("/nsinit-it-engines-{name}-{}", std::process::id()),
            "namespaces": [{"type": "mount"}, {"type": "ipc"}, {"type": "uts"}]
        }
    })
}

/// containerd's CRI deletes an exited task "with process kill": it runs
/// `kill --all ID 9` on the stopped container first, and the runc shim takes
/// only runc's words ("container not running") as "already finished". With
/// any other answer StopContainer/StopPodSandbox retry the kill for ever
/// (seen through the CRI, tests/engines/cri.sh). runc: `kill --all` of a
/// stopped container signals what is left in its cgroup and succeeds; a
/// plain `kill` fails with "container not running".
#[test]
fn kill_of_a_stopped_container_answers_as_runc() {
    if !can_run() {
        return;
    }
    let name = "killstopped";
    let mut b = Bundle::new(name, &config(name, &["sh", "-c", "sleep 7098 & exit 0"]));
    let bundle = b.dir.to_str().unwrap().to_string();
    let id = b.id.clone();
    b.ok(&["create", "--bundle", &bundle, &id]);
    b.ok(&["start", &id]);
    wait_until(Duration::from_secs(10), "the init to exit", || {
        b.status() == "stopped"
    });
    // The leftover runs in the container's cgroup (this test's own sleep).
    let cg = format!("nsinit-it-engines-{name}-{}", std::process::id());
    let mut left = Vec::new();
    wait_until(Duration::from_secs(10), "the leftover sleep", || {
        left = common::processes_running("sleep 7098")
            .into_iter()
            .filter(|p| {
                std::fs::read_to_string(format!("/proc/{p}/cgroup")).is_ok_and(|c| c.contains(&cg))
            })
            .collect();
        !left.is_empty()
    });
    b.extra = left.clone();

    let o = b.run(&["kill", &id, "KILL"]);
    assert!(
        !o.status.success(),
        "plain kill of a stopped container must fail"
    );
    assert!(
        err(&o).contains("container not running"),
        "runc's words, which containerd's shim maps to 'already finished': {}",
        err(&o)
    );
    assert!(
        left.iter().all(|&p| !common::is_dead(p)),
        "a plain kill reached the cgroup"
    );

    b.ok(&["kill", "--all", &id, "KILL"]);
    wait_until(Duration::from_secs(10), "the leftover to be killed", || {
        left.iter().all(|&p| common::is_dead(p))
    });
    b.ok(&["delete", &id]);
}
