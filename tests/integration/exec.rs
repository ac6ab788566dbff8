//! `nsinit exec`: a new container, checked from inside (issue 3).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::common::*;

/// The 12 default capabilities as a CapEff/CapBnd mask.
fn default_caps_mask() -> u64 {
    [0, 1, 3, 5, 6, 7, 8, 10, 13, 18, 27, 31]
        .iter()
        .fold(0, |m, b| m | (1u64 << b))
}

fn status_field(status: &str, key: &str) -> u64 {
    let line = status
        .lines()
        .find(|l| l.starts_with(key))
        .unwrap_or_else(|| panic!("{key} missing"));
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

#[test]
fn command_is_pid_1_with_hostname_and_root_identity() {
    if !can_run() {
        return;
    }
    let c = Container::new("pid1", &base_config());
    let o = c.exec(&["sh", "-c", "echo pid=$$; hostname; id"]);
    let s = ok(&o);
    assert_eq!(s, "pid=1\nkoye\nuid=0(root) gid=0(root)\n");
    assert!(!c.dir.join("state.json").exists());
}

#[test]
fn capabilities_are_exactly_the_configured_ones() {
    if !can_run() {
        return;
    }
    let c = Container::new("caps", &base_config());
    let s = ok(&c.exec(&["cat", "/proc/self/status"]));
    assert_eq!(status_field(&s, "CapEff:"), default_caps_mask(), "{s}");
    assert_eq!(status_field(&s, "CapBnd:"), default_caps_mask());
    assert_eq!(status_field(&s, "CapPrm:"), default_caps_mask());
}

#[test]
fn non_root_user_gets_groups_and_no_caps() {
    if !can_run() {
        return;
    }
    let mut cfg = base_config();
    cfg["user"] = json!("daemon");
    cfg["capabilities"] = json!(["NET_BIND_SERVICE"]);
    let c = Container::new("user", &cfg);
    let s = ok(&c.exec(&[
        "sh",
        "-c",
        "id; grep -E '^Cap(Eff|Amb)' /proc/self/status; echo $HOME",
    ]));
    assert!(
        s.starts_with("uid=1(daemon) gid=1(daemon) groups=29(audio)\n"),
        "{s}"
    );
    // No ambient capabilities unless configured (CVE-2022-29162; see caps.rs).
    assert!(s.contains("CapEff:\t0000000000000000"), "{s}");
    assert!(s.contains("CapAmb:\t0000000000000000"), "{s}");
    assert!(s.ends_with("/\n"), "HOME from config wins: {s}");
}

#[test]
fn mounts_devices_and_masks() {
    if !can_run() {
        return;
    }
    let c = Container::new("mounts", &base_config());
    let s = ok(&c.exec(&["cat", "/proc/mounts"]));
    for want in [
        "proc /proc proc rw,nosuid,nodev,noexec",
        "tmpfs /dev tmpfs rw,nosuid",
        "devpts /dev/pts devpts rw,nosuid,noexec",
        "shm /dev/shm tmpfs rw,nosuid,nodev,noexec",
        "mqueue /dev/mqueue mqueue rw,nosuid,nodev,noexec",
        "sysfs /sys sysfs ro,nosuid,nodev,noexec",
        "tmpfs /tmp tmpfs rw,nosuid,nodev,noexec",
        " /proc/sys proc ro,",
        " /proc/irq proc ro,",
        " /proc/bus proc ro,",
        "tmpfs /proc/acpi tmpfs ro,",
    ] {
        assert!(s.contains(want), "missing {want:?} in\n{s}");
    }
    // This kernel may lack /proc/kcore and /proc/sysrq-trigger; check them where they exist.
    if Path::new("/proc/sysrq-trigger").exists() {
        assert!(s.contains(" /proc/sysrq-trigger proc ro,"), "{s}");
    }
    if Path::new("/proc/kcore").exists() {
        assert!(s.contains(" /proc/kcore "), "{s}");
    }
    let s = ok(&c.exec(&[
        "sh",
        "-c",
        "stat -c '%F %t:%T %a' /dev/null /dev/zero /dev/urandom; \
        stat -c '%t:%T' /proc/keys; wc -c < /proc/keys; readlink /dev/ptmx; readlink /dev/fd; \
        echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo writable || echo readonly",
    ]));
    assert_eq!(
        s,
        "character special file 1:3 666\ncharacter special file 1:5 666\ncharacter special file 1:9 666\n\
         1:3\n0\npts/ptmx\n/proc/self/fd\nreadonly\n"
    );
}

#[test]
fn host_files_are_invisible_and_env_is_exactly_the_configured_one() {
    if !can_run() {
        return;
    }
    assert!(Path::new("/etc/debian_version").exists() || Path::new("/etc/os-release").exists());
    let c = Container::new("env", &base_config());
    let s = ok(&c.exec(&[
        "sh",
        "-c",
        "ls /etc; test -e /etc/os-release && echo HOST-VISIBLE; ls /",
    ]));
    assert!(
        !s.contains("HOST-VISIBLE") && !s.contains("os-release"),
        "{s}"
    );
    let o = Command::new(bin())
        .args(["--root"])
        .arg(&c.dir)
        .args(["exec", "env"])
        .env("LEAK_ME", "1")
        .output()
        .unwrap();
    let mut env: Vec<String> = ok(&o).lines().map(String::from).collect();
    env.sort();
    assert_eq!(
        env,
        [
            "HOME=/",
            "HOSTNAME=koye",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "TERM=xterm"
        ]
    );
}

#[test]
fn readonly_rootfs_with_writable_tmp() {
    if !can_run() {
        return;
    }
    let mut cfg = base_config();
    cfg["mount_config"]["readonly_fs"] = json!(true);
    let c = Container::new("rofs", &cfg);
    let s = ok(&c.exec(&[
        "sh",
        "-c",
        "touch /tmp/ok && echo tmp-ok; touch /nope 2>/dev/null && echo root-rw || echo root-ro",
    ]));
    assert_eq!(s, "tmp-ok\nroot-ro\n");
}

#[test]
fn exit_codes_are_propagated() {
    if !can_run() {
        return;
    }
    let c = Container::new("exit", &base_config());
    assert_eq!(c.exec(&["true"]).status.code(), Some(0));
    assert_eq!(c.exec(&["sh", "-c", "exit 3"]).status.code(), Some(3));
    let o = c.exec(&["/bin/nope"]);
    assert_eq!(o.status.code(), Some(127));
    assert_eq!(
        err(&o),
        "nsinit: exec: \"/bin/nope\": stat /bin/nope: no such file or directory\n"
    );
    let o = c.exec(&["nope-not-in-path"]);
    assert_eq!(o.status.code(), Some(127));
    let o = c.exec(&["/etc/passwd"]);
    assert_eq!(o.status.code(), Some(126), "{}", err(&o));
    assert_eq!(
        err(&o),
        "nsinit: exec: \"/etc/passwd\": permission denied\n"
    );
    assert!(!c.dir.join("state.json").exists());
    // Death by signal: 128+9.
    let child = c.spawn(&["sleep", "1000"]);
    ok(&c.cmd(&["kill", "KILL"]).output().unwrap());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(137));
}

#[test]
fn signals_to_nsinit_reach_pid_1() {
    if !can_run() {
        return;
    }
    let c = Container::new("signal", &base_config());
    let mut child = c.spawn(&[
        "sh",
        "-c",
        "trap 'echo got-usr1; exit 5' USR1; echo ready; while :; do sleep 0.05; done",
    ]);
    // Signal only once the trap is set.
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    assert_eq!(first, "ready\n");
    Command::new("kill")
        .args(["-USR1", &child.id().to_string()])
        .status()
        .unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(rest, "got-usr1\n");
    assert_eq!(o.status.code(), Some(5));
    assert!(!c.dir.join("state.json").exists());
}

#[test]
fn background_processes_die_with_pid_1() {
    if !can_run() {
        return;
    }
    // With a PID namespace the kernel kills the rest; without one nsinit does
    // (through the cgroup). Either way, before `nsinit exec` returns.
    for (name, newpid) in [("orphans", true), ("orphans-nopid", false)] {
        let mut cfg = base_config();
        cfg["namespaces"]["NEWPID"] = json!(newpid);
        let c = Container::new(name, &cfg);
        let marker = format!("sleep 42{}{}", std::process::id(), u8::from(newpid));
        let mut child = c
            .cmd(&["exec", "sh", "-c", &format!("{marker} & read x; :")])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        // The orphan-to-be really runs (exec'd) before PID 1 is let go.
        let mut orphan = Vec::new();
        wait_until(Duration::from_secs(10), &marker, || {
            orphan = processes_running(&marker);
            !orphan.is_empty()
        });
        drop(child.stdin.take());
        let st = wait_child(&mut child, Duration::from_secs(10));
        assert!(st.success(), "{name}: {st:?}");
        for pid in orphan {
            assert!(is_dead(pid), "{name}: {marker} ({pid}) outlived PID 1");
        }
    }
}

#[test]
fn state_json_lives_with_the_container_and_stale_state_is_replaced() {
    if !can_run() {
        return;
    }
    let c = Container::new("state", &base_config());
    let child = c.spawn(&["sleep", "1000"]);
    let st = c.state();
    let pid = st["init_pid"].as_i64().unwrap();
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    assert_eq!(
        st["namespace_paths"]["NEWPID"],
        json!(format!("/proc/{pid}/ns/pid"))
    );
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&c.cmd(&["state"]).output().unwrap())).unwrap();
    assert_eq!(shown["running"], json!(true));
    assert_eq!(shown["pid"], json!(pid));
    ok(&c.cmd(&["kill", "KILL"]).output().unwrap());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(137));
    assert!(!c.dir.join("state.json").exists());

    // A forged state.json naming a dead (or any) process.
    std::fs::write(
        c.dir.join("state.json"),
        r#"{"init_pid": 999999, "init_start_time": "1"}"#,
    )
    .unwrap();
    let o = c.exec(&["true"]);
    assert!(o.status.success(), "{}", err(&o));
    // A state.json in the container directory is a marker for people: nsinit
    // never reads it back, so a forged one changes nothing and is replaced.
    assert_eq!(err(&o), "", "a forged marker was read");
    assert!(!c.dir.join("state.json").exists());
}

#[test]
fn a_failing_start_leaves_nothing_behind() {
    if !can_run() {
        return;
    }
    let mut cfg = base_config();
    cfg["cgroups"]["name"] = json!(format!("nsinit-it-failmount-{}", std::process::id()));
    cfg["mount_config"]["mounts"] =
        json!([{"type": "tmpfs", "destination": "/mnt", "data": "size=bogus"}]);
    let c = Container::new("failmount", &cfg);
    let marker = format!("44{}", std::process::id());
    let o = c.exec(&["sleep", &marker]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(err(&o), "nsinit: mount tmpfs on /mnt: Invalid argument\n");
    assert!(!c.dir.join("state.json").exists());
    assert_eq!(
        processes_with(&format!("sleep {marker}")),
        Vec::<i32>::new()
    );
    let name = format!("nsinit-it-failmount-{}", std::process::id());
    assert_eq!(cgroup_dirs_named(&name), Vec::<std::path::PathBuf>::new());
}

/// A private, writable copy of the rootfs with escape symlinks.
fn escape_rootfs(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("rootfs");
    let st = Command::new("cp")
        .arg("-a")
        .arg(rootfs())
        .arg(&root)
        .status()
        .unwrap();
    assert!(st.success());
    std::os::unix::fs::symlink("/etc", root.join("evil")).unwrap();
    std::os::unix::fs::symlink("../../../../../../../../..", root.join("up")).unwrap();
    root
}

#[test]
fn symlinks_in_the_rootfs_cannot_redirect_mounts_or_mknod_to_the_host() {
    if !can_run() {
        return;
    }
    let marker = format!("nsinit-escape-{}", std::process::id());
    let c = Container::new("escape", &base_config());
    let root = escape_rootfs(&c.dir);
    let mut cfg = base_config();
    cfg["root_fs"] = json!(root);
    cfg["mount_config"]["mounts"] = json!([
        {"type": "tmpfs", "destination": format!("/evil/{marker}")},
        {"type": "tmpfs", "destination": format!("/up/tmp/{marker}")}
    ]);
    let mut nodes = device_nodes();
    nodes.as_array_mut().unwrap().push(
        json!({"type": 99, "path": format!("/up/dev/{marker}"), "major_number": 1, "minor_number": 3, "file_mode": 438}),
    );
    cfg["mount_config"]["device_nodes"] = nodes;
    c.write_config(&cfg);
    let s = ok(&c.exec(&[
        "sh",
        "-c",
        &format!("grep -c {marker} /proc/mounts; ls /dev | grep -c {marker}"),
    ]));
    assert_eq!(s, "2\n1\n");
    // Inside the rootfs, not on the host.
    assert!(root.join("etc").join(&marker).is_dir());
    assert!(!Path::new("/etc").join(&marker).exists());
    assert!(!Path::new("/tmp").join(&marker).exists());
    assert!(!Path::new("/dev").join(&marker).exists());
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    assert!(!mounts.contains(&marker));
}
