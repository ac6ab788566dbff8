//! Attacks on the processes nsinit puts into a container, written as the
//! attacker (issue 11 items 2 and 3 and "Also", issue 12 item 1): ptrace and
//! /proc access to joining processes, host descriptors reaching the container
//! through the init shim or a join, joins into a container without a mount
//! namespace, and a rootfs or mount that tries to dodge the /proc restrictions.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::*;

/// Poll `cond` every 10 ms for at most `limit`.
fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cond()
}

/// Wait at most `limit` for `child`; kill it and return None on timeout.
fn wait_bounded(mut child: Child, limit: Duration) -> Option<Output> {
    if wait_for(limit, || matches!(child.try_wait(), Ok(Some(_)))) {
        return child.wait_with_output().ok();
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// `nsinit exec ARGS…` in `c` (a join, or a start), its output, bounded by
/// 10 s (`None`: it hung and was killed).
fn exec_bounded(c: &Container, args: &[&str]) -> Option<Output> {
    let full: Vec<&str> = std::iter::once("exec")
        .chain(args.iter().copied())
        .collect();
    let child = c
        .cmd(&full)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_bounded(child, Duration::from_secs(10))
}

/// A writable copy of the busybox rootfs inside the container directory (so
/// the container's drop removes it).
fn rootfs_copy(c: &Container) -> PathBuf {
    let dst = c.dir.join("rootfs");
    let st = Command::new("cp")
        .arg("-a")
        .arg(rootfs())
        .arg(&dst)
        .status()
        .unwrap();
    assert!(st.success(), "cp -a rootfs");
    dst
}

/// `nsinit --root DIR ARGS…` started through `sh` holding fd 5 open on the
/// host's `/`, without CLOEXEC, as a careless caller (a shell script) would.
fn with_host_fd(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("exec 5</ && exec \"$0\" \"$@\"")
        .arg(bin())
        .arg("--root")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// `/proc/PID/fd` as (number, link target), sorted by number.
fn fds_of(pid: i32) -> Vec<(i32, String)> {
    let mut fds: Vec<(i32, String)> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_str()?.parse().ok()?;
            let l = std::fs::read_link(e.path()).ok()?;
            Some((n, l.display().to_string()))
        })
        .collect();
    fds.sort();
    fds
}

/// A join into a user-namespaced container whose root has CAP_SYS_PTRACE
/// there: the attacker passes every ptrace check but the joining process's
/// dumpability, which is then all that protects the host. Nothing the
/// container owns can hold a join (its /etc/passwd was that handle; see
/// below), so the attacker races every join from its fork into the container
/// to its exec, and attacks each process the moment it appears. Joins go on
/// until it has caught ten before their exec (or 300 joins); a final join
/// runs `sleep` — dumpable after its exec — as the control that the attacker
/// can succeed at all.
#[test]
fn joining_processes_cannot_be_ptraced_or_read_from_inside() {
    if !can_run() {
        return;
    }
    let mut cfg = base_config();
    let c = Container::new("joinsec-ptrace", &cfg);
    let root = rootfs_copy(&c);
    attack_binary("ptrace_join", &root.join("attack"));
    cfg["root_fs"] = json!(root);
    cfg["namespaces"]["NEWUSER"] = json!(true);
    let identity = json!([{"container_id": 0, "host_id": 0, "size": 65536}]);
    cfg["uid_mappings"] = identity.clone();
    cfg["gid_mappings"] = identity;
    cfg["capabilities"]
        .as_array_mut()
        .unwrap()
        .push(json!("SYS_PTRACE"));
    c.write_config(&cfg);
    let host_bin = std::fs::metadata(bin()).unwrap();
    let (dev, ino) = (host_bin.dev().to_string(), host_bin.ino().to_string());
    let mut init = c.spawn(&["/attack", "/results", &dev, &ino]);
    assert!(
        wait_for(Duration::from_secs(10), || root.join("ready").exists()),
        "the attacker never got ready"
    );
    let results = || std::fs::read_to_string(root.join("results")).unwrap_or_default();
    let caught = |r: &str| r.lines().filter(|l| l.contains(" comm=nsinit ")).count();
    let mut joins = 0;
    while joins < 300 && caught(&results()) < 10 {
        let o = wait_bounded(
            with_host_fd(&c.dir, &["exec", "true"]).spawn().unwrap(),
            Duration::from_secs(20),
        )
        .unwrap_or_else(|| panic!("join {joins} hung; the attacker saw:\n{}", results()));
        ok(&o);
        joins += 1;
    }
    let o = wait_bounded(
        with_host_fd(&c.dir, &["exec", "sleep", "1"])
            .spawn()
            .unwrap(),
        Duration::from_secs(20),
    )
    .expect("control join hung");
    ok(&o);
    c.stop(&mut init);

    let results = results();
    let lines: Vec<&str> = results.lines().collect();
    let before_exec: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains(" comm=nsinit "))
        .collect();
    assert!(
        !before_exec.is_empty(),
        "in {joins} joins the attacker never caught one before its exec:\n{results}"
    );
    for l in &before_exec {
        assert!(
            l.contains(" exe=EACCES ") && l.contains(" fd=EACCES ") && l.ends_with(" seize=EPERM"),
            "a joining process was reachable from inside the container: {l}\n{results}"
        );
    }
    let control: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains(" comm=sleep "))
        .collect();
    assert!(
        control.len() == 1
            && control[0].contains(" exe=OK-OTHER ")
            && control[0].ends_with(" seize=OK"),
        "control: the attacker can ptrace a dumpable process of the container:\n{results}"
    );
    // What the joined command holds: 0-2 only, not the caller's fd 5 on the
    // host's "/" nor any descriptor of nsinit's.
    let fds = control[0]
        .split(" fd=OK:")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .unwrap_or("");
    let numbers: Vec<&str> = fds.split(',').filter_map(|f| f.split('=').next()).collect();
    assert_eq!(
        numbers,
        ["0", "1", "2"],
        "the joined command's descriptors: {fds}"
    );
}

/// The --init shim is the container's PID 1 for its whole life and never
/// execs: it must not keep the caller's host fd, the directory lock or any
/// other descriptor, and must not be readable through /proc/1. A join while
/// it runs must not block on a leaked lock (issue 12.1).
#[test]
fn init_shim_keeps_no_host_descriptor_and_is_sealed() {
    if !can_run() {
        return;
    }
    let c = Container::new("joinsec-shim", &base_config());
    let mut shim = with_host_fd(&c.dir, &["exec", "--init", "sleep", "1000"])
        .spawn()
        .unwrap();
    c.wait_for_state();
    let pid = c.init_pid();
    // What the shim keeps, seen from the host: 0-2 and its signalfd. The
    // record is written before the start message, so the shim may still be
    // closing its sync socket: wait (bounded) for it to settle.
    let settled = |fds: &[(i32, String)]| {
        let extra: Vec<_> = fds.iter().filter(|(n, _)| *n > 2).collect();
        extra.len() == 1 && extra[0].1 == "anon_inode:[signalfd]"
    };
    let start = Instant::now();
    let mut fds = fds_of(pid);
    while !settled(&fds) && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
        fds = fds_of(pid);
    }
    assert!(settled(&fds), "shim descriptors: {fds:?}");
    let probe = "ls /proc/1/fd | tr '\\n' ' '; echo; \
        for n in 3 4 5 6 7 8 9; do cat /proc/1/fd/$n/../../../etc/hostname /proc/1/fd/$n/etc/hostname \
        2>/dev/null && echo ESCAPED; done; \
        readlink /proc/1/exe && echo EXE-LINK; cat /proc/1/exe > /dev/null && echo EXE-OPEN; \
        ls /proc/self/fd | tr '\\n' ' '; echo; echo done";
    let join = with_host_fd(&c.dir, &["exec", "sh", "-c", probe])
        .spawn()
        .unwrap();
    let o = wait_bounded(join, Duration::from_secs(10))
        .expect("a join into an --init container returns promptly (issue 12.1)");
    let s = ok(&o);
    let mut lines = s.lines();
    assert_eq!(lines.next(), Some("0 1 2 3 "), "{s}");
    assert!(!s.contains("ESCAPED") && !s.contains("EXE-"), "{s}");
    // A process of the join: 0-2 and ls's own directory fd, no fd 5.
    assert_eq!(lines.next(), Some("0 1 2 3 "), "{s}\n{}", err(&o));
    assert_eq!(lines.next(), Some("done"), "{s}");
    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    let _ = shim.wait();
}

/// Without NEWNS the init only chroots into the rootfs; a join must land in
/// the same root, not on the host's `/`.
#[test]
fn join_without_mount_namespace_sees_the_container_root() {
    if !can_run() {
        return;
    }
    let c = Container::new("joinsec-nomnt", &json!({}));
    let root = rootfs_copy(&c);
    let token = format!("joinsec-{}", std::process::id());
    std::fs::write(root.join("joinsec-marker"), &token).unwrap();
    c.write_config(&json!({
        "root_fs": root,
        "namespaces": {"NEWUTS": true, "NEWIPC": true, "NEWPID": true, "NEWNET": true},
        "capabilities": ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID", "KILL"],
        "environment": ["PATH=/bin:/usr/bin:/sbin"],
    }));
    let mut init = c.spawn(&["sleep", "1000"]);
    let o = wait_bounded(
        c.cmd(&[
            "exec",
            "sh",
            "-c",
            "cat /joinsec-marker; echo; ls /work /run 2>&1 | head -1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap(),
        Duration::from_secs(10),
    )
    .expect("join finishes");
    let s = ok(&o);
    assert!(
        s.starts_with(&format!("{token}\n")),
        "joined into the host's /: {s}"
    );
    assert!(
        s.contains("No such file"),
        "the host's /work is not there: {s}"
    );
    c.stop(&mut init);
}

/// Rewrite /proc/sys/kernel/core_pattern with its own value from inside (a
/// no-op if it worked); prints WRITABLE when the write succeeded.
const CORE_PATTERN_PROBE: &str = "v=$(cat /proc/sys/kernel/core_pattern) && \
    (echo \"$v\" > /proc/sys/kernel/core_pattern) 2>/dev/null && echo WRITABLE; \
    grep -E ' /proc/sys | /tmp/sys ' /proc/mounts; echo done";

/// A rootfs planting /proc/sys as a symlink to /tmp (hidden under procfs), or
/// /proc itself as a symlink to /tmp: the read-only /proc/sys lands on the real
/// procfs (wherever the link put it). When the configured tmpfs on /tmp then
/// hides procfs, nothing can be restricted: the start fails and says so,
/// instead of running with the restrictions skipped.
#[test]
fn planted_proc_links_do_not_redirect_the_restrictions() {
    if !can_run() {
        return;
    }
    for (name, plant, tmpfs) in [
        ("joinsec-procsys", "proc/sys", true),
        ("joinsec-proclink-notmp", "proc", false),
        ("joinsec-proclink", "proc", true),
    ] {
        let mut cfg = base_config();
        let c = Container::new(name, &cfg);
        let root = rootfs_copy(&c);
        let at = root.join(plant);
        let _ = std::fs::remove_dir_all(&at);
        std::os::unix::fs::symlink("/tmp", &at).unwrap();
        cfg["root_fs"] = json!(root);
        if !tmpfs {
            cfg["mount_config"]["mounts"] = json!([]);
        }
        c.write_config(&cfg);
        let o = c.exec(&["sh", "-c", CORE_PATTERN_PROBE]);
        if plant == "proc" && tmpfs {
            assert!(
                !o.status.success() && err(&o).contains("/proc is not on procfs"),
                "{name}: {:?} {} {}",
                o.status,
                out(&o),
                err(&o)
            );
            continue;
        }
        let s = ok(&o);
        assert!(
            !s.contains("WRITABLE"),
            "{name}: /proc/sys is writable: {s}"
        );
        assert!(
            s.contains("/sys proc "),
            "{name}: no read-only /proc/sys: {s}"
        );
        assert!(s.ends_with("done\n"), "{name}: {s}");
        for l in s.lines().filter(|l| l.contains("/sys ")) {
            assert!(
                l.starts_with("proc ") && l.contains(" ro,"),
                "{name}: a read-only mount that is not procfs: {l}"
            );
        }
    }
}

/// The /dev/null bound over masked files must be the null device: a config
/// whose /dev/null is something else (here a bind of a regular file) makes
/// the start fail instead of exposing that file over /proc/keys.
#[test]
fn mask_refuses_a_dev_null_that_is_not_the_null_device() {
    if !can_run() {
        return;
    }
    let mut cfg = base_config();
    let c = Container::new("joinsec-null", &cfg);
    let fake = c.dir.join("fake-null");
    std::fs::write(&fake, "not the null device\n").unwrap();
    let nodes: Vec<Value> = device_nodes()
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["path"] != "/dev/null")
        .cloned()
        .collect();
    cfg["mount_config"]["device_nodes"] = json!(nodes);
    cfg["mount_config"]["mounts"] = json!([
        {"type": "bind", "source": fake, "destination": "/dev/null", "writable": true}
    ]);
    c.write_config(&cfg);
    let o = c.exec(&["cat", "/proc/keys"]);
    assert!(
        !o.status.success() && err(&o).contains("/dev/null") && err(&o).contains("null device"),
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status,
        out(&o),
        err(&o)
    );
    assert!(!out(&o).contains("not the null device"));
}

/// The container turns its /etc/passwd into a FIFO (opening it for reading
/// would block until someone writes) and its /etc/group into a link to
/// /dev/zero (endless): a join, which looks the user up in them, and the next
/// start from that rootfs must neither hang nor fill memory. They finish,
/// warn, and run as root. (The command itself is the container's business:
/// `echo`, which reads neither file.)
#[test]
fn a_fifo_or_endless_etc_passwd_does_not_stall_joins_or_starts() {
    if !can_run() {
        return;
    }
    let c = Container::new("joinsec-passwd", &json!({}));
    let root = rootfs_copy(&c);
    let mut cfg = base_config();
    cfg["root_fs"] = json!(root);
    c.write_config(&cfg);
    let mut init = c.spawn(&[
        "sh",
        "-c",
        "rm /etc/passwd /etc/group && mkfifo /etc/passwd && ln -s /dev/zero /etc/group \
         && touch /armed && exec sleep 1000",
    ]);
    wait_until(Duration::from_secs(10), "the trap is set", || {
        root.join("armed").exists()
    });
    let joined = exec_bounded(&c, &["echo", "in"])
        .expect("the join finishes: it does not block on the container's FIFO");
    assert_eq!(ok(&joined).trim(), "in");
    let e = err(&joined);
    assert!(
        e.contains("the container's /etc/passwd is not a regular file: ignored")
            && e.contains("the container's /etc/group is not a regular file: ignored"),
        "{e}"
    );
    c.stop(&mut init);
    let again = exec_bounded(&c, &["echo", "in"]).expect("a start from that rootfs finishes");
    assert_eq!(ok(&again).trim(), "in");
}

/// PID 1 renames itself with bytes that are not UTF-8 and a fake end of the
/// name (`\377) Z 1`) in /proc/self/comm: nsinit must still recognise it as
/// the running init (not a stopped container whose leftovers the next exec
/// removes), so the second exec joins it.
#[test]
fn an_init_named_in_any_bytes_is_still_joined() {
    if !can_run() {
        return;
    }
    let c = Container::new("joinsec-comm", &base_config());
    let mut init = c.spawn(&[
        "sh",
        "-c",
        "echo original > /tmp/marker; printf '\\377) Z 1' > /proc/self/comm; \
         touch /tmp/renamed; while :; do sleep 1; done",
    ]);
    let pid = c.init_pid();
    wait_until(Duration::from_secs(10), "PID 1 renamed itself", || {
        std::fs::read(format!("/proc/{pid}/comm")).is_ok_and(|n| n.starts_with(b"\xff) Z 1"))
    });
    let joined = exec_bounded(&c, &["cat", "/tmp/marker"]).expect("the join finishes");
    assert_eq!(
        ok(&joined).trim(),
        "original",
        "joined the running container"
    );
    assert!(!is_dead(pid), "PID 1 still runs after the join");
    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    let _ = init.wait();
}
