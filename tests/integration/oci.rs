//! `nsinit-oci`: the runc command line over OCI bundles — the lifecycle
//! create → created → start → running → kill → stopped → delete, run, exec,
//! ps, pause/resume, pid file, console socket, options around the ID.

use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{self, bin, can_run, err, out, rootfs, wait_for_file, wait_until};

/// A bundle (its own copy of the busybox rootfs, writable) and a private
/// `--root`; everything is removed on drop, containers first.
pub(crate) struct Bundle {
    pub(crate) dir: PathBuf,
    pub(crate) root: PathBuf,
}

impl Bundle {
    pub(crate) fn new(name: &str, args: &[&str]) -> Bundle {
        let dir = std::env::temp_dir().join(format!("nsinit-it-oci-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let st = Command::new("cp")
            .arg("-a")
            .arg(rootfs())
            .arg(dir.join("rootfs"))
            .status()
            .unwrap();
        assert!(st.success());
        let b = Bundle {
            root: dir.join("state"),
            dir,
        };
        b.write_config(&config(args));
        b
    }

    pub(crate) fn write_config(&self, v: &Value) {
        std::fs::write(
            self.dir.join("config.json"),
            serde_json::to_vec_pretty(v).unwrap(),
        )
        .unwrap();
    }

    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.arg("oci")
            .arg("--root")
            .arg(&self.root)
            .args(args)
            .stdin(Stdio::null());
        c
    }

    /// Run to completion. Output goes through files, not pipes: a created
    /// container inherits nsinit-oci's stdio (as with runc) and would hold a
    /// pipe open long after nsinit-oci exits.
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        use std::os::unix::process::ExitStatusExt;
        let (o, e) = (self.dir.join(".out"), self.dir.join(".err"));
        let status = self
            .cmd(args)
            .stdout(std::fs::File::create(&o).unwrap())
            .stderr(std::fs::File::create(&e).unwrap())
            .status()
            .unwrap();
        Output {
            status: std::process::ExitStatus::from_raw(status.into_raw()),
            stdout: std::fs::read(&o).unwrap_or_default(),
            stderr: std::fs::read(&e).unwrap_or_default(),
        }
    }

    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(o.status.success(), "{args:?}: {}", err(&o));
        out(&o)
    }

    pub(crate) fn state(&self, id: &str) -> Value {
        serde_json::from_str(&self.ok(&["state", id])).unwrap()
    }

    pub(crate) fn status(&self, id: &str) -> String {
        self.state(id)["status"].as_str().unwrap_or("").to_string()
    }

    pub(crate) fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        if let Ok(rd) = std::fs::read_dir(&self.root) {
            for e in rd.flatten() {
                let id = e.file_name().to_string_lossy().into_owned();
                let _ = self.run(&["delete", "--force", &id]);
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A runc-like config.json running `args`.
pub(crate) fn config(args: &[&str]) -> Value {
    json!({
        "ociVersion": "1.2.0",
        "root": {"path": "rootfs"},
        "hostname": "ocitest",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"],
                "effective": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"],
                "permitted": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"]
            },
            "noNewPrivileges": true
        },
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]}
        ],
        "linux": {
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                           {"type": "uts"}, {"type": "mount"}],
            "maskedPaths": ["/proc/kcore", "/proc/keys"],
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"]
        }
    })
}

pub(crate) fn exists(pid: i64) -> bool {
    Path::new(&format!("/proc/{pid}")).exists() && !common::is_dead(pid as i32)
}

#[test]
fn full_lifecycle_create_start_kill_delete() {
    if !can_run() {
        return;
    }
    let b = Bundle::new(
        "life",
        &["sh", "-c", "echo started > /started; exec sleep 1000"],
    );
    let bundle = b.dir.to_str().unwrap().to_string();
    b.ok(&["create", "--bundle", &bundle, "life1"]);
    let st = b.state("life1");
    assert_eq!(st["status"], "created", "{st}");
    assert_eq!(st["id"], "life1");
    assert_eq!(st["ociVersion"], "1.2.0");
    assert_eq!(st["bundle"], json!(b.dir.canonicalize().unwrap()));
    let pid = st["pid"].as_i64().unwrap();
    assert!(exists(pid), "PID 1 waits after create");
    // Created: parked before the user's command ran.
    assert!(!b.rootfs().join("started").exists());
    b.ok(&["start", "life1"]);
    wait_until(Duration::from_secs(10), "the command to run", || {
        std::fs::read_to_string(b.rootfs().join("started")).is_ok_and(|s| s == "started\n")
    });
    assert_eq!(b.status("life1"), "running");
    let ps: Value = serde_json::from_str(&b.ok(&["ps", "--format", "json", "life1"])).unwrap();
    assert!(ps.as_array().unwrap().contains(&json!(pid)), "{ps}");
    // A second start is refused.
    let o = b.run(&["start", "life1"]);
    assert!(!o.status.success());
    // delete refuses a running container.
    let o = b.run(&["delete", "life1"]);
    assert!(!o.status.success());
    assert!(err(&o).contains("not stopped"), "{}", err(&o));
    b.ok(&["kill", "life1", "KILL"]);
    wait_until(Duration::from_secs(10), "the container to stop", || {
        b.status("life1") == "stopped"
    });
    assert_eq!(b.state("life1")["pid"], 0);
    b.ok(&["delete", "life1"]);
    let o = b.run(&["state", "life1"]);
    assert!(!o.status.success());
    assert!(err(&o).contains("does not exist"), "{}", err(&o));
    assert!(!b.root.join("life1").exists(), "the record is gone");
    assert!(!exists(pid));
}

#[test]
fn options_may_follow_the_id_and_list_shows_containers() {
    if !can_run() {
        return;
    }
    let b = Bundle::new("order", &["sleep", "1000"]);
    let bundle = b.dir.to_str().unwrap().to_string();
    let pidfile = b.dir.join("pid");
    b.ok(&[
        "create",
        "order1",
        "--bundle",
        &bundle,
        "--pid-file",
        pidfile.to_str().unwrap(),
    ]);
    b.ok(&["create", "--bundle", &bundle, "order2"]);
    let pid: i64 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(b.state("order1")["pid"], json!(pid));
    let list: Value = serde_json::from_str(&b.ok(&["list", "--format", "json"])).unwrap();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["order1", "order2"]);
    assert_eq!(b.ok(&["list", "-q"]), "order1\norder2\n");
    // The table: columns line up under their heads (runc's tabwriter).
    let table = b.ok(&["list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    for head in ["PID", "STATUS", "BUNDLE"] {
        let col = lines[0].find(head).unwrap();
        for l in &lines[1..] {
            assert!(
                col == 0 || l.as_bytes()[col - 1] == b' ' && l.as_bytes()[col] != b' ',
                "{head} column:\n{table}"
            );
        }
    }
    assert!(lines[1].contains(&format!(" {pid} ")), "{table}");
    // The same id twice is refused.
    let o = b.run(&["create", "--bundle", &bundle, "order1"]);
    assert!(err(&o).contains("already exists"), "{}", err(&o));
    // delete --force of a created and of a running container.
    b.ok(&["start", "order2"]);
    b.ok(&["delete", "--force", "order1"]);
    b.ok(&["delete", "--force", "order2"]);
    assert_eq!(b.ok(&["list", "-q"]), "");
    assert!(!exists(pid));
}

#[test]
fn run_in_the_foreground_returns_the_exit_code_and_cleans_up() {
    if !can_run() {
        return;
    }
    let b = Bundle::new("run", &["sh", "-c", "echo out-$(hostname); exit 3"]);
    let bundle = b.dir.to_str().unwrap().to_string();
    let o = b.run(&["run", "--bundle", &bundle, "run1"]);
    assert_eq!(o.status.code(), Some(3), "{}", err(&o));
    assert_eq!(out(&o), "out-ocitest\n");
    assert!(!b.root.join("run1").exists());
    // --keep leaves the stopped container for `delete`.
    let o = b.run(&["run", "--keep", "--bundle", &bundle, "run2"]);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(b.status("run2"), "stopped");
    b.ok(&["delete", "run2"]);
}

#[test]
fn run_detached_then_exec_pause_resume() {
    if !can_run() {
        return;
    }
    let b = Bundle::new("exec", &["sleep", "1000"]);
    let bundle = b.dir.to_str().unwrap().to_string();
    b.ok(&["run", "-d", "--bundle", &bundle, "ex1"]);
    assert_eq!(b.status("ex1"), "running");
    // exec with args, and its exit code.
    let o = b.run(&["exec", "ex1", "sh", "-c", "hostname; exit 4"]);
    assert_eq!(o.status.code(), Some(4), "{}", err(&o));
    assert_eq!(out(&o), "ocitest\n");
    // exec --process FILE.
    let proc = b.dir.join("process.json");
    std::fs::write(
        &proc,
        json!({"args": ["sh", "-c", "echo $FOO"], "env": ["FOO=bar", "PATH=/bin"], "cwd": "/",
               "user": {"uid": 0, "gid": 0}})
        .to_string(),
    )
    .unwrap();
    let o = b.run(&["exec", "--process", proc.to_str().unwrap(), "ex1"]);
    assert_eq!(out(&o), "bar\n", "{}", err(&o));
    // exec --detach with a pid file: the process outlives nsinit-oci.
    let pidfile = b.dir.join("exec.pid");
    b.ok(&[
        "exec",
        "-d",
        "--pid-file",
        pidfile.to_str().unwrap(),
        "ex1",
        "sleep",
        "999",
    ]);
    let pid: i64 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(exists(pid));
    b.ok(&["pause", "ex1"]);
    assert_eq!(b.status("ex1"), "paused");
    let o = b.run(&["exec", "ex1", "true"]);
    assert!(
        !o.status.success(),
        "exec into a paused container is refused"
    );
    b.ok(&["resume", "ex1"]);
    assert_eq!(b.status("ex1"), "running");
    b.ok(&["kill", "--all", "ex1", "KILL"]);
    wait_until(Duration::from_secs(10), "the container to stop", || {
        b.status("ex1") == "stopped"
    });
    b.ok(&["delete", "ex1"]);
}

#[test]
fn console_socket_receives_the_pty_master() {
    if !can_run() {
        return;
    }
    let b = Bundle::new("tty", &["sh", "-c", "tty; sleep 1000"]);
    let mut cfg = config(&["sh", "-c", "tty > /tty-name; exec sleep 1000"]);
    cfg["process"]["terminal"] = json!(true);
    b.write_config(&cfg);
    let bundle = b.dir.to_str().unwrap().to_string();
    let sock_path = b.dir.join("console.sock");
    let listener = UnixListener::bind(&sock_path).unwrap();
    let receiver = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut cmsg = rustix::net::RecvAncillaryBuffer::new(&mut space);
        let mut buf = [0u8; 64];
        let r = rustix::net::recvmsg(
            &conn,
            &mut [std::io::IoSliceMut::new(&mut buf)],
            &mut cmsg,
            rustix::net::RecvFlags::empty(),
        )
        .unwrap();
        let mut fds = Vec::new();
        for m in cmsg.drain() {
            if let rustix::net::RecvAncillaryMessage::ScmRights(r) = m {
                fds.extend(r);
            }
        }
        (r.bytes, fds)
    });
    // Without a console socket, a terminal cannot be created detached.
    let o = b.run(&["create", "--bundle", &bundle, "tty0"]);
    assert!(err(&o).contains("console-socket"), "{}", err(&o));
    b.ok(&[
        "create",
        "--bundle",
        &bundle,
        "--console-socket",
        sock_path.to_str().unwrap(),
        "tty1",
    ]);
    let (n, fds) = receiver.join().unwrap();
    assert!(n > 0);
    assert_eq!(fds.len(), 1, "one descriptor: the pty master");
    // It is a pty master: TIOCGPTN answers.
    assert!(rustix::pty::ptsname(&fds[0], Vec::new()).is_ok());
    b.ok(&["start", "tty1"]);
    // The shell creates the file, then writes it: wait for the whole line.
    let name = wait_for_file(&b.rootfs().join("tty-name"), "the command to run", |t| {
        t.ends_with('\n')
    });
    assert!(name.starts_with("/dev/"), "{name}");
    b.ok(&["delete", "--force", "tty1"]);
}

#[test]
fn bad_bundles_fail_clearly() {
    if !can_run() {
        return;
    }
    let b = Bundle::new("bad", &["true"]);
    let bundle = b.dir.to_str().unwrap().to_string();
    std::fs::remove_file(b.dir.join("config.json")).unwrap();
    let o = b.run(&["create", "--bundle", &bundle, "bad1"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(err(&o).contains("config.json"), "{}", err(&o));
    assert!(!b.root.join("bad1").exists(), "nothing left behind");
    let o = b.run(&["create", "--bundle", &bundle, "../x"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    let o = b.run(&["--systemd-cgroup", "list"]);
    assert!(err(&o).contains("systemd"), "{}", err(&o));
    let o = b.run(&["checkpoint", "x"]);
    assert!(err(&o).contains("not supported"), "{}", err(&o));
}

#[test]
fn linux_seccomp_is_enforced_for_run_and_exec() {
    if !can_run() {
        return;
    }
    let b = Bundle::new("seccomp", &["true"]);
    let mut cfg = config(&["sh", "-c", "mkdir /x; echo rc=$?"]);
    cfg["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
    });
    b.write_config(&cfg);
    let bundle = b.dir.to_str().unwrap().to_string();
    let o = b.run(&["run", "--bundle", &bundle, "sc1"]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o), "rc=1\n", "{}", err(&o));
    assert!(
        err(&o).is_empty() || !err(&o).contains("nsinit"),
        "{}",
        err(&o)
    );
    assert!(!b.rootfs().join("x").exists(), "mkdir was denied");
    // An exec'd process runs under the same filter.
    let mut cfg = config(&["sleep", "1000"]);
    cfg["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
    });
    b.write_config(&cfg);
    b.ok(&["run", "-d", "--bundle", &bundle, "sc2"]);
    let o = b.run(&["exec", "sc2", "mkdir", "/y"]);
    assert!(!o.status.success());
    assert!(
        out(&o).contains("Function not implemented")
            || err(&o).contains("Function not implemented"),
        "{} {}",
        out(&o),
        err(&o)
    );
    assert!(!b.rootfs().join("y").exists());
    b.ok(&["delete", "--force", "sc2"]);
}

/// podman `--user 1000`: PID 1 switches to process.user before it opens the
/// exec fifo, so the fifo must be writable by that user (runc: 0622).
#[test]
fn created_container_with_a_non_root_user_starts() {
    if !can_run() {
        return;
    }
    let b = Bundle::new("user", &["sh", "-c", "id -u > /tmp/uid"]);
    let mut cfg = config(&["sh", "-c", "id -u > /tmp/uid"]);
    cfg["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    b.write_config(&cfg);
    let bundle = b.dir.to_str().unwrap().to_string();
    b.ok(&["create", "--bundle", &bundle, "user1"]);
    assert_eq!(b.status("user1"), "created");
    b.ok(&["start", "user1"]);
    wait_until(
        Duration::from_secs(10),
        "the command to run as 1000",
        || std::fs::read_to_string(b.rootfs().join("tmp/uid")).is_ok_and(|s| s == "1000\n"),
    );
    wait_until(Duration::from_secs(10), "the container to stop", || {
        b.status("user1") == "stopped"
    });
    // runc's `delete -f` is --force (elsewhere -f is --format).
    b.ok(&["delete", "-f", "user1"]);
    assert!(!b.root.join("user1").exists());
}

/// podman's `--read-only`: tmpfs on /tmp and /run with `tmpcopyup`, over a
/// read-only root. The tmpfs starts with a copy of what it covers (types,
/// modes, owners, a link kept a link), is writable, and the image is left
/// as it was.
#[test]
fn tmpcopyup_copies_what_the_tmpfs_covers() {
    if !can_run() {
        return;
    }
    let script = "cd /run && stat -c '%n %a %u:%g %F' a lock f d/e/g; readlink l; readlink esc; \
                  cat a d/e/g; touch /tmp/x /run/x && echo ok; \
                  grep ' /run ' /proc/mounts | cut -d' ' -f3";
    let b = Bundle::new("copyup", &["sh", "-c", script]);
    let mut cfg = config(&["sh", "-c", script]);
    cfg["root"]["readonly"] = json!(true);
    let tmpfs = |dst: &str| {
        json!({"destination": dst, "type": "tmpfs", "source": "tmpfs",
               "options": ["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"]})
    };
    let mounts = cfg["mounts"].as_array_mut().unwrap();
    mounts.push(tmpfs("/tmp"));
    mounts.push(tmpfs("/run"));
    b.write_config(&cfg);
    // What the image has under /run; /tmp stays empty.
    use std::os::unix::fs::{PermissionsExt, symlink};
    let run = b.rootfs().join("run");
    let _ = std::fs::remove_dir_all(&run);
    std::fs::create_dir_all(run.join("d/e")).unwrap();
    std::fs::create_dir(run.join("lock")).unwrap();
    std::fs::write(run.join("a"), "alpha\n").unwrap();
    std::fs::write(run.join("d/e/g"), "deep\n").unwrap();
    std::fs::set_permissions(run.join("a"), std::fs::Permissions::from_mode(0o604)).unwrap();
    std::fs::set_permissions(run.join("lock"), std::fs::Permissions::from_mode(0o1777)).unwrap();
    std::os::unix::fs::chown(run.join("a"), Some(123), Some(456)).unwrap();
    symlink("a", run.join("l")).unwrap();
    symlink("/", run.join("esc")).unwrap();
    let fifo = std::process::Command::new("mkfifo")
        .arg(run.join("f"))
        .status()
        .unwrap();
    assert!(fifo.success());
    let bundle = b.dir.to_str().unwrap().to_string();
    let o = b.run(&["run", "--bundle", &bundle, "cu1"]);
    assert_eq!(
        out(&o),
        "a 604 123:456 regular file\nlock 1777 0:0 directory\nf 644 0:0 fifo\n\
         d/e/g 644 0:0 regular file\na\n/\nalpha\ndeep\nok\ntmpfs\n",
        "{}",
        err(&o)
    );
    // The image is untouched; nothing was written through the links.
    assert!(!b.rootfs().join("tmp/x").exists(), "/tmp was a tmpfs");
    assert!(!run.join("x").exists(), "/run was a tmpfs");
    assert!(
        std::fs::symlink_metadata(run.join("esc"))
            .unwrap()
            .is_symlink()
    );
    // Only for tmpfs.
    let mut bad = cfg.clone();
    bad["mounts"].as_array_mut().unwrap().push(
        json!({"destination": "/mnt", "type": "proc", "source": "proc",
                     "options": ["tmpcopyup"]}),
    );
    b.write_config(&bad);
    let o = b.run(&["run", "--bundle", &bundle, "cu2"]);
    assert!(!o.status.success());
    assert!(
        err(&o)
            .contains("config.json: mounts[7].options: \"tmpcopyup\" applies to tmpfs mounts only"),
        "{}",
        err(&o)
    );
}

/// containerd's shim: `--root /run/containerd/runc/NS` whose parents may not
/// exist (runc makes them), and `--log FILE --log-format json` whose "time"
/// it parses as an RFC 3339 string (a number fails the whole create).
#[test]
fn containerd_root_parents_and_json_log_time() {
    if !can_run() {
        return;
    }
    let b = Bundle::new("ctd", &["true"]);
    let bundle = b.dir.to_str().unwrap().to_string();
    let root = b.dir.join("runc/default");
    let log = b.dir.join("log.json");
    let mut c = Command::new(bin());
    c.arg("oci")
        .arg("--root")
        .arg(&root)
        .arg("--log")
        .arg(&log)
        .args(["--log-format", "json", "run", "--bundle", &bundle, "ctd1"])
        .stdin(Stdio::null());
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", err(&o));
    assert!(root.is_dir());
    // An error goes to the log as {"level","msg","time"}.
    let o = Command::new(bin())
        .arg("oci")
        .arg("--root")
        .arg(&root)
        .arg("--log")
        .arg(&log)
        .args(["--log-format", "json", "start", "nosuch"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    let line: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(line["level"], "error", "{line}");
    assert!(line["msg"].as_str().unwrap().contains("nosuch"), "{line}");
    let time = line["time"]
        .as_str()
        .unwrap_or_else(|| panic!("time: {line}"));
    let b = time.as_bytes();
    assert!(
        time.len() == 20 && b[4] == b'-' && b[10] == b'T' && b[19] == b'Z',
        "{time}"
    );
}

/// Without a cgroup namespace, a `cgroup` mount must not show the host's
/// tree (other containers' cgroups): only the container's own directories,
/// read-only (runc's view).
#[test]
fn cgroup_mount_without_cgroupns_shows_only_the_containers_own_cgroups() {
    if !can_run() {
        return;
    }
    let script = "find /sys/fs/cgroup -mindepth 1 -type d; \
                  cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null; \
                  touch /sys/fs/cgroup/x 2>/dev/null || echo read-only";
    let b = Bundle::new("cgview", &["true"]);
    let mut cfg = config(&["sh", "-c", script]);
    cfg["mounts"].as_array_mut().unwrap().push(
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                     "options": ["nosuid", "noexec", "nodev", "ro"]}),
    );
    cfg["linux"]["resources"] = json!({"memory": {"limit": 100_003_840}});
    b.write_config(&cfg);
    // A sibling container whose cgroup must stay invisible.
    let other = Bundle::new("cgview-other", &["sleep", "1000"]);
    let other_dir = other.dir.to_str().unwrap().to_string();
    other.ok(&["run", "-d", "--bundle", &other_dir, "cgview-other1"]);
    let bundle = b.dir.to_str().unwrap().to_string();
    let o = b.run(&["run", "--bundle", &bundle, "cgview1"]);
    assert!(o.status.success(), "{}", err(&o));
    let text = out(&o);
    assert!(
        !text.contains("cgview-other1"),
        "another container's cgroup is visible:\n{text}"
    );
    for dir in text.lines().filter(|l| l.starts_with("/sys/fs/cgroup/")) {
        let depth = dir.trim_start_matches("/sys/fs/cgroup/").split('/').count();
        assert_eq!(depth, 1, "more than the container's own cgroups:\n{text}");
    }
    assert!(
        text.contains("100003840"),
        "its own limit is what it sees:\n{text}"
    );
    assert!(text.contains("read-only"), "{text}");
    other.ok(&["delete", "--force", "cgview-other1"]);
}

/// A config asking for a capability nsinit itself does not hold (its
/// caller's bounding set lacks it, as in a container or a restricted
/// service) fails naming the capability, and leaves no record.
#[test]
fn a_capability_nsinit_lacks_is_named() {
    if !can_run() || !common::require("setpriv") {
        return;
    }
    let b = Bundle::new("lackcap", &["true"]);
    let mut c = config(&["true"]);
    for set in ["bounding", "effective", "permitted"] {
        c["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap()
            .push(json!("CAP_SYS_RESOURCE"));
    }
    b.write_config(&c);
    let o = Command::new("setpriv")
        .args(["--bounding-set", "-sys_resource", "--"])
        .arg(bin())
        .arg("oci")
        .arg("--root")
        .arg(&b.root)
        .args(["run", "--bundle"])
        .arg(&b.dir)
        .arg("lack1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(125), "{}", err(&o));
    assert!(
        err(&o).contains("capset (nsinit itself does not hold CAP_SYS_RESOURCE)"),
        "{}",
        err(&o)
    );
    assert!(!b.root.join("lack1").exists(), "no record left");
}
