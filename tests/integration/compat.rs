//! Where nsinit-oci behaved differently from runc under real engines
//! (docker, podman, ctr driving both side by side), pinned here with bundles
//! written as the engines write them: each test fails on the old behaviour.

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::common::{can_run, err, out, wait_until};
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
/// (runc chowns it), so the user can open /dev/tty or its pts by name
/// (password prompts, pagers). Before, it stayed root's (mode 620).
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
        "{ ls -ln $(tty); echo hi > /dev/tty && echo opened; } > /report 2>&1; exec sleep 7302",
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
    let mut got = String::new();
    wait_until(Duration::from_secs(10), "the report", || {
        got = std::fs::read_to_string(&report).unwrap_or_default();
        got.ends_with("opened\n") || got.contains("denied")
    });
    let owner = got.split_whitespace().nth(2).unwrap_or("");
    assert_eq!(owner, "1000", "{got}");
    assert!(got.ends_with("opened\n"), "{got}");
    b.ok(&["delete", "--force", "tt1"]);
}
