//! Where nsinit-oci behaved differently from runc under real engines
//! (docker, podman, ctr driving both side by side), pinned here with bundles
//! written as the engines write them: each test fails on the old behaviour.

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::common::{can_run, err, out, wait_for_file, wait_until};
use crate::oci::{Bundle, config};

/// Run `id` in the foreground with stdout and stderr on pipes (as the
/// engines' shims and conmon give them), stdin on /dev/null.
fn run_piped(b: &Bundle, id: &str) -> Output {
    let bundle = b.dir.to_str().unwrap().to_string();
    b.cmd(&["run", "--bundle", &bundle, id])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

/// A non-root command can reopen its stdout and stderr (`echo >
/// /dev/stdout`, what images that log to /dev/stdout do): the pipes it got
/// from the engine are given to its user, as runc does. Before, they stayed
/// root's and the open failed with "Permission denied".
#[test]
fn a_non_root_command_can_reopen_its_stdio_pipes() {
    if !can_run() {
        return;
    }
    let b = Bundle::new("stdiopipe", &["true"]);
    let mut cfg = config(&[
        "sh",
        "-c",
        "echo out > /dev/stdout && echo err > /proc/self/fd/2 && id -u",
    ]);
    cfg["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    b.write_config(&cfg);
    let o = run_piped(&b, "sp1");
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o), "out\n1000\n");
    assert_eq!(err(&o), "err\n");

    // The same for a process joined with exec --user.
    cfg["process"]["args"] = json!(["sleep", "7301"]);
    b.write_config(&cfg);
    let bundle = b.dir.to_str().unwrap().to_string();
    b.ok(&["run", "--detach", "--bundle", &bundle, "sp2"]);
    let o = b
        .cmd(&[
            "exec",
            "--user",
            "1001:1001",
            "sp2",
            "sh",
            "-c",
            "echo exec-out > /dev/stdout",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o), "exec-out\n");
    b.ok(&["delete", "--force", "sp2"]);
}

/// A host file passed as stdio keeps its owner: only pipes, sockets and the
/// container's own terminal change hands.
#[test]
fn a_host_file_given_as_stdout_keeps_its_owner() {
    if !can_run() {
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let b = Bundle::new("stdiofile", &["true"]);
    let mut cfg = config(&["sh", "-c", "echo to-file"]);
    cfg["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    b.write_config(&cfg);
    let path = b.dir.join("host-out");
    let file = std::fs::File::create(&path).unwrap();
    let bundle = b.dir.to_str().unwrap().to_string();
    let st = b
        .cmd(&["run", "--bundle", &bundle, "sf1"])
        .stdout(file)
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "to-file\n");
    assert_eq!(std::fs::metadata(&path).unwrap().uid(), 0);
}

/// Stdin on the host's /dev/null (what docker and podman give a container
/// without -i) becomes the container's /dev/null opened read-write, as runc
/// does: writing to fd 0 works instead of failing with EBADF.
#[test]
fn stdin_on_dev_null_is_reopened_read_write() {
    if !can_run() {
        return;
    }
    let b = Bundle::new("devnull", &["true"]);
    b.write_config(&config(&[
        "sh",
        "-c",
        "echo x >&0 && echo wrote; ls -lL /proc/self/fd/0",
    ]));
    let o = run_piped(&b, "dn1");
    assert!(o.status.success(), "{}", err(&o));
    let o = out(&o);
    assert!(o.starts_with("wrote\n"), "{o}");
    // The container's own /dev/null (its /dev tmpfs), not the host's.
    assert!(o.contains("1,   3") && o.contains("/proc/self/fd/0"), "{o}");
}

/// Receive the pty master a `create --console-socket` sends.
fn console_receiver(sock: &Path) -> std::thread::JoinHandle<Vec<OwnedFd>> {
    let listener = UnixListener::bind(sock).unwrap();
    std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut cmsg = rustix::net::RecvAncillaryBuffer::new(&mut space);
        let mut buf = [0u8; 64];
        rustix::net::recvmsg(
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
        fds
    })
}

/// `docker run -it -u 1000`: the container's terminal belongs to its user
/// (runc chowns it), so the user can open its pts by name (`$(tty)`,
/// /proc/self/fd/0). Before, it stayed root's (mode 620) and that failed.
#[test]
fn the_terminal_of_a_non_root_command_is_its_own() {
    if !can_run() {
        return;
    }
    let b = Bundle::new("ttyowner", &["true"]);
    let report = b.rootfs().join("report");
    std::fs::write(&report, "").unwrap();
    std::fs::set_permissions(&report, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
    let mut cfg = config(&[
        "sh",
        "-c",
        "{ ls -ln $(tty); echo hi > $(tty) && echo opened; } > /report 2>&1; exec sleep 7302",
    ]);
    cfg["process"]["terminal"] = json!(true);
    cfg["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    b.write_config(&cfg);
    let sock = b.dir.join("console.sock");
    let receiver = console_receiver(&sock);
    let bundle = b.dir.to_str().unwrap().to_string();
    b.ok(&[
        "create",
        "--bundle",
        &bundle,
        "--console-socket",
        sock.to_str().unwrap(),
        "tt1",
    ]);
    let _master = receiver.join().unwrap();
    b.ok(&["start", "tt1"]);
    let got = wait_for_file(&report, "the report", |t| {
        t.ends_with("opened\n") || t.contains("denied")
    });
    let owner = got.split_whitespace().nth(2).unwrap_or("");
    assert_eq!(owner, "1000", "{got}");
    assert!(got.ends_with("opened\n"), "{got}");
    b.ok(&["delete", "--force", "tt1"]);
}

/// The host's v1 hierarchies under /sys/fs/cgroup, in mount order (the
/// names a container's view shows); empty on a v2-only host.
fn host_v1_hierarchies() -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| {
            l.split(" - ")
                .nth(1)
                .is_some_and(|p| p.starts_with("cgroup "))
        })
        .filter_map(|l| l.split(' ').nth(4))
        .filter_map(|p| p.strip_prefix("/sys/fs/cgroup/"))
        .map(str::to_string)
        .collect()
}

/// `podman run --cgroupns=private` (and docker's) on a host with v1
/// hierarchies: the container sees each of them, rooted at its own cgroup,
/// as with runc, so its memory limit is where tools read it
/// (`memory/memory.limit_in_bytes`). Before, it got one cgroup2 mount and
/// no v1 controller at all. Without a cgroup namespace the view (binds of
/// its own directories) lists them in the host's mount order too, as runc.
#[test]
fn a_cgroup_namespace_shows_every_v1_hierarchy_in_host_order() {
    if !can_run() {
        return;
    }
    let host = host_v1_hierarchies();
    let script = "grep ' /sys/fs/cgroup/' /proc/self/mountinfo; \
                  cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null; true";
    for cgroupns in [true, false] {
        let b = Bundle::new("cgns", &["true"]);
        let mut cfg = config(&["sh", "-c", script]);
        cfg["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
            "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}));
        if cgroupns {
            cfg["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "cgroup"}));
        }
        cfg["linux"]["resources"] = json!({"memory": {"limit": 100_003_840}});
        b.write_config(&cfg);
        let o = run_piped(&b, "cgns1");
        assert!(o.status.success(), "cgroupns {cgroupns}: {}", err(&o));
        let text = out(&o);
        assert!(text.contains("100003840"), "cgroupns {cgroupns}:\n{text}");
        // The v1 hierarchies (root, mount point), in the host's order.
        let v1: Vec<(&str, &str)> = text
            .lines()
            .filter(|l| {
                l.split(" - ")
                    .nth(1)
                    .is_some_and(|p| p.starts_with("cgroup "))
            })
            .filter_map(|l| Some((l.split(' ').nth(3)?, l.split(' ').nth(4)?)))
            .collect();
        let seen: Vec<&str> = v1
            .iter()
            .filter_map(|(_, p)| p.strip_prefix("/sys/fs/cgroup/"))
            .collect();
        assert_eq!(seen, host, "cgroupns {cgroupns}:\n{text}");
        if cgroupns {
            // Each one shows the namespace's root: the container's cgroup.
            assert!(v1.iter().all(|(root, _)| *root == "/"), "{text}");
        }
    }
}

/// A host directory made a shared mount (as on systemd hosts, where every
/// mount is shared), unmounted with everything below it on drop.
struct SharedDir(std::path::PathBuf);

impl SharedDir {
    fn new(dir: &Path) -> SharedDir {
        std::fs::create_dir_all(dir).unwrap();
        let d = dir.to_str().unwrap();
        let guard = SharedDir(dir.to_path_buf());
        for args in [&["--bind", d, d][..], &["--make-shared", d]] {
            let st = Command::new("mount").args(args).status().unwrap();
            assert!(st.success(), "mount {args:?}");
        }
        guard
    }
}

impl Drop for SharedDir {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-R")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Where the host's mountinfo has a mount, by mount point.
fn host_mount_source(point: &Path) -> Option<String> {
    let point = point.to_str().unwrap();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .find(|l| l.split(' ').nth(4) == Some(point))
        .and_then(|l| l.split(" - ").nth(1))
        .and_then(|p| p.split(' ').nth(1))
        .map(str::to_string)
}

/// A docker-like config with a bind of `vol` at /vol and CAP_SYS_ADMIN.
fn volume_config(script: &str, vol: &Path, options: &[&str]) -> serde_json::Value {
    let mut cfg = config(&["sh", "-c", script]);
    for set in ["bounding", "effective", "permitted"] {
        cfg["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap()
            .push(json!("CAP_SYS_ADMIN"));
    }
    let mut opts = vec!["rbind"];
    opts.extend(options);
    cfg["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/vol", "type": "bind", "source": vol, "options": opts}));
    cfg
}

/// Without `rootfsPropagation` the container's mounts stay slaves of the
/// host's (runc's default: `/` rslave): a mount the host makes below a
/// volume's source after the start reaches the container (docker's default
/// volumes show `master:N`, as with runc). Before, nsinit made everything
/// private and the container never saw it.
#[test]
fn by_default_the_host_mounts_below_a_volume_reach_the_container() {
    if !can_run() {
        return;
    }
    let b = Bundle::new("propdefault", &["true"]);
    let vol = b.dir.join("vol");
    let _shared = SharedDir::new(&vol);
    std::fs::create_dir(vol.join("late")).unwrap();
    let script = "touch /ready; i=0; until [ -e /vol/late/flag ] || [ $i -ge 250 ]; do \
                  sleep 0.02; i=$((i+1)); done; \
                  if [ -e /vol/late/flag ]; then echo seen; else echo unseen; fi > /result";
    b.write_config(&volume_config(script, &vol, &[]));
    let bundle = b.dir.to_str().unwrap().to_string();
    b.ok(&["run", "--detach", "--bundle", &bundle, "pd1"]);
    let rootfs = b.rootfs();
    wait_until(Duration::from_secs(10), "the container to run", || {
        rootfs.join("ready").exists()
    });
    let late = vol.join("late");
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "hostlate", late.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::write(late.join("flag"), "").unwrap();
    let result = wait_for_file(&rootfs.join("result"), "the container's answer", |t| {
        t.ends_with('\n')
    });
    assert_eq!(result, "seen\n");
    b.ok(&["delete", "--force", "pd1"]);
}

/// `docker run -v DIR:/vol:rshared` (Kubernetes' Bidirectional): docker
/// asks for `rootfsPropagation: shared` and a bind with `rshared`; a mount
/// the container makes below /vol shows up on the host, as with runc.
/// Before, nsinit made the root a slave first, so the bind was only a
/// slave of the host's and nothing went back.
#[test]
fn a_shared_volume_propagates_the_containers_mounts_to_the_host() {
    if !can_run() {
        return;
    }
    let b = Bundle::new("propshared", &["true"]);
    let vol = b.dir.join("vol");
    let _shared = SharedDir::new(&vol);
    std::fs::create_dir(vol.join("inner")).unwrap();
    let script = "mount -t tmpfs fromctr /vol/inner && touch /mounted; exec sleep 7303";
    let mut cfg = volume_config(script, &vol, &["rshared"]);
    cfg["linux"]["rootfsPropagation"] = json!("shared");
    b.write_config(&cfg);
    let bundle = b.dir.to_str().unwrap().to_string();
    b.ok(&["run", "--detach", "--bundle", &bundle, "ps1"]);
    let rootfs = b.rootfs();
    wait_until(Duration::from_secs(10), "the container's mount", || {
        rootfs.join("mounted").exists()
    });
    assert_eq!(
        host_mount_source(&vol.join("inner")).as_deref(),
        Some("fromctr")
    );
    // The container's own mounts (/proc, /dev…) did not reach the host.
    let prefix = format!("{}/", rootfs.display());
    let leaked: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| p.starts_with(&prefix))
        .map(str::to_string)
        .collect();
    assert_eq!(leaked, Vec::<String>::new());
    b.ok(&["delete", "--force", "ps1"]);
    // Detaching the container's old root and its teardown unmounted
    // nothing of the host's: the volume's own mount is still there.
    assert!(host_mount_source(&vol).is_some());
}

/// `docker run --network host --sysctl net.…=…`: Docker joins the host's
/// network namespace by path; the sysctl would be written into the host's
/// (nsinit did, and exited 0). runc refuses it ("not allowed in host network
/// namespace"); so does nsinit now, and the host's value stays.
#[test]
fn a_net_sysctl_in_the_hosts_network_namespace_is_refused() {
    if !can_run() {
        return;
    }
    let knob = "/proc/sys/net/ipv4/tcp_keepalive_time";
    let before = std::fs::read_to_string(knob).unwrap();
    let value = if before.trim() == "7311" {
        "7312"
    } else {
        "7311"
    };
    // Should the host's value change all the same, it is put back.
    struct Restore<'a>(&'a str, String);
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            let _ = std::fs::write(self.0, &self.1);
        }
    }
    let _restore = Restore(knob, before.clone());
    let b = Bundle::new("hostnetsysctl", &["true"]);
    let mut cfg = config(&["true"]);
    let host_net = format!("/proc/{}/ns/net", std::process::id());
    cfg["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "ipc"}, {"type": "uts"},
        {"type": "mount"}, {"type": "network", "path": host_net}]);
    cfg["linux"]["sysctl"] = json!({"net.ipv4.tcp_keepalive_time": value});
    b.write_config(&cfg);
    let o = run_piped(&b, "hs1");
    assert_eq!(std::fs::read_to_string(knob).unwrap(), before);
    assert!(!o.status.success(), "accepted: {}", out(&o));
    assert!(
        err(&o).contains(&format!(
            "linux.sysctl: \"net.ipv4.tcp_keepalive_time\": {host_net} is the host's net namespace"
        )),
        "{}",
        err(&o)
    );
}

/// `hostname` with the host's UTS namespace joined by path (what `--uts
/// host` names): setting it would rename the host. Refused, as runc refuses
/// it; the host's name stays.
#[test]
fn a_hostname_in_the_hosts_uts_namespace_is_refused() {
    if !can_run() {
        return;
    }
    let before = rustix::system::uname().nodename().to_owned();
    // Should the host be renamed all the same, its name is put back.
    struct Restore(std::ffi::CString);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = rustix::system::sethostname(self.0.as_bytes());
        }
    }
    let _restore = Restore(before.clone());
    let b = Bundle::new("hostuts", &["true"]);
    let mut cfg = config(&["true"]);
    let host_uts = format!("/proc/{}/ns/uts", std::process::id());
    cfg["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "ipc"}, {"type": "network"},
        {"type": "mount"}, {"type": "uts", "path": host_uts}]);
    cfg["hostname"] = json!("renamed-by-a-container");
    b.write_config(&cfg);
    let o = run_piped(&b, "hu1");
    assert_eq!(rustix::system::uname().nodename(), before.as_c_str());
    assert!(!o.status.success(), "accepted: {}", out(&o));
    assert_eq!(o.status.code(), Some(125), "{}", err(&o));
    assert!(
        err(&o).contains(&format!(
            "config.json: hostname: {host_uts} is the host's uts namespace (it would rename the host)"
        )),
        "{}",
        err(&o)
    );
}
