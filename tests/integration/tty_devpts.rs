//! The container's terminal is a pty of its own devpts, as with runc and
//! crun: `tty` names `/dev/pts/0`, `/dev/console` is the same device, and
//! the host's devpts holds no node for it. For `nsinit-oci` with a console
//! socket (the master arrives there) and for `nsinit exec --tty` under a
//! real terminal (tmux); a container without a devpts mount gets a clear
//! error; one without a mount namespace still gets a (host) terminal.

use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;
use crate::oci::{Bundle, config};
use crate::tty::{tmux, tmux_session, wait_pane};

/// What the container prints about its terminal, between markers.
const PROBE: &str = "echo T=$(tty); stat -c S=%t:%T:%d /dev/console $(tty); stty size; echo END";

/// Accept one connection on `path` and return the descriptor it carries.
fn receive_console(path: &Path) -> std::thread::JoinHandle<OwnedFd> {
    let listener = UnixListener::bind(path).unwrap();
    std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut cmsg = rustix::net::RecvAncillaryBuffer::new(&mut space);
        let mut buf = [0u8; 64];
        rustix::net::recvmsg(
            &conn,
            &mut [std::io::IoSliceMut::new(&mut buf)],
            &mut cmsg,
            rustix::net::RecvFlags::CMSG_CLOEXEC,
        )
        .unwrap();
        let mut fds = Vec::new();
        for m in cmsg.drain() {
            if let rustix::net::RecvAncillaryMessage::ScmRights(r) = m {
                fds.extend(r);
            }
        }
        assert_eq!(fds.len(), 1, "one descriptor: the pty master");
        fds.pop().unwrap()
    })
}

/// Read the master until `until` shows up (bounded).
fn read_master(master: &OwnedFd, until: &str) -> String {
    let start = Instant::now();
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&text).contains(until) {
        let left = Duration::from_secs(10).saturating_sub(start.elapsed());
        assert!(
            !left.is_zero(),
            "never saw {until:?}: {}",
            String::from_utf8_lossy(&text)
        );
        let mut fds = [rustix::event::PollFd::new(
            master,
            rustix::event::PollFlags::IN,
        )];
        let ts = rustix::time::Timespec::try_from(left).unwrap();
        if rustix::event::poll(&mut fds, Some(&ts)).unwrap_or(0) == 0 {
            continue;
        }
        match rustix::io::read(master, &mut buf) {
            Ok(n) if n > 0 => text.extend_from_slice(&buf[..n]),
            r => panic!("read the master: {r:?}: {}", String::from_utf8_lossy(&text)),
        }
    }
    String::from_utf8_lossy(&text).replace('\r', "")
}

/// Check the probe's output: `/dev/pts/0`, /dev/console the same device
/// (major 136 = 0x88), on a devpts other than the host's; returns the
/// device number (st_dev) of the container's devpts.
fn check_probe(text: &str) -> u64 {
    assert!(text.contains("T=/dev/pts/0\n"), "{text}");
    let stats: Vec<&str> = text.lines().filter(|l| l.starts_with("S=")).collect();
    assert_eq!(stats.len(), 2, "{text}");
    assert_eq!(stats[0], stats[1], "/dev/console is the tty: {text}");
    let fields: Vec<&str> = stats[0][2..].split(':').collect();
    assert_eq!(&fields[..2], ["88", "0"], "pts major 136, minor 0: {text}");
    let dev: u64 = fields[2].trim().parse().unwrap();
    let host = std::fs::metadata("/dev/pts").unwrap().dev();
    assert_ne!(dev, host, "the pty is a node of the host's devpts: {text}");
    dev
}

#[test]
fn oci_console_socket_gets_a_pty_of_the_containers_devpts() {
    if !can_run() {
        return;
    }
    let b = Bundle::new("devpts", &["true"]);
    let mut cfg = config(&["sh", "-c", &format!("{PROBE}; exec sleep 1000")]);
    cfg["process"]["terminal"] = json!(true);
    cfg["process"]["consoleSize"] = json!({"height": 33, "width": 77});
    b.write_config(&cfg);
    let sock = b.dir.join("console.sock");
    let receiver = receive_console(&sock);
    let bundle = b.dir.to_str().unwrap();
    let sock = sock.to_str().unwrap();
    b.ok(&[
        "run",
        "--detach",
        "--bundle",
        bundle,
        "--console-socket",
        sock,
        "devpts1",
    ]);
    let master = receiver.join().unwrap();
    let text = read_master(&master, "END");
    let dev = check_probe(&text);
    // The master we hold is the ptmx of that same devpts: nothing of the
    // host's devpts was used.
    assert_eq!(rustix::fs::fstat(&master).unwrap().st_dev, dev, "{text}");
    assert!(text.contains("33 77\n"), "consoleSize: {text}");
    b.ok(&["delete", "--force", "devpts1"]);
}

#[test]
fn oci_exec_process_with_a_terminal_gets_its_console_size() {
    if !can_run() {
        return;
    }
    let b = Bundle::new("devptsexec", &["sleep", "1000"]);
    b.write_config(&config(&["sleep", "1000"]));
    let bundle = b.dir.to_str().unwrap();
    b.ok(&["run", "--detach", "--bundle", bundle, "devpts2"]);
    // runc's `exec --process FILE`: a process.json with its own terminal size.
    let process = json!({"terminal": true, "consoleSize": {"height": 21, "width": 55},
        "args": ["sh", "-c", PROBE], "cwd": "/", "user": {"uid": 0, "gid": 0},
        "env": ["PATH=/bin:/sbin"]});
    let pfile = b.dir.join("process.json");
    std::fs::write(&pfile, process.to_string()).unwrap();
    let sock = b.dir.join("exec.sock");
    let receiver = receive_console(&sock);
    b.ok(&[
        "exec",
        "--detach",
        "--process",
        pfile.to_str().unwrap(),
        "--console-socket",
        sock.to_str().unwrap(),
        "devpts2",
    ]);
    let master = receiver.join().unwrap();
    let text = read_master(&master, "END");
    assert!(text.contains("21 55\n"), "consoleSize of exec: {text}");
    b.ok(&["delete", "--force", "devpts2"]);
}

#[test]
fn oci_terminal_without_devpts_fails_clearly() {
    if !can_run() {
        return;
    }
    let b = Bundle::new("nodevpts", &["true"]);
    let mut cfg = config(&["true"]);
    cfg["process"]["terminal"] = json!(true);
    let mounts = cfg["mounts"].as_array_mut().unwrap();
    mounts.retain(|m| m["type"] != "devpts");
    b.write_config(&cfg);
    let sock = b.dir.join("console.sock");
    let _listener = UnixListener::bind(&sock).unwrap();
    let o = b.run(&[
        "create",
        "--bundle",
        b.dir.to_str().unwrap(),
        "--console-socket",
        sock.to_str().unwrap(),
        "nodevpts1",
    ]);
    assert_eq!(o.status.code(), Some(125), "{}", err(&o));
    assert!(
        err(&o).contains("/dev/ptmx") && err(&o).contains("devpts"),
        "{}",
        err(&o)
    );
    assert!(!b.root.join("nodevpts1").exists(), "nothing left behind");
}

#[test]
fn nsinit_exec_tty_gets_a_pty_of_the_containers_devpts() {
    if !can_run() || !require("tmux") {
        return;
    }
    let c = Container::new("devpts", &base_config());
    let sock = format!("nsinit-devpts-{}", std::process::id());
    let cmd = format!(
        "{} --root {} exec --tty sh -c '{PROBE}'; echo exited=$?; sleep 30",
        bin().display(),
        c.dir.display()
    );
    tmux_session(&sock, 100, 30, &cmd);
    let pane = wait_pane(&sock, "t.0", "exited=");
    tmux(&sock, &["kill-server"]);
    assert!(pane.contains("exited=0"), "{pane}");
    check_probe(&pane);
    // The caller's terminal size reached it.
    assert!(pane.contains("30 100\n"), "{pane}");
    assert!(!c.dir.join("state.json").exists());
}

#[test]
fn a_container_without_a_mount_namespace_still_gets_a_terminal() {
    if !can_run() {
        return;
    }
    let mut cfg = base_config();
    cfg["namespaces"]["NEWNS"] = json!(false);
    let top = cfg.as_object_mut().unwrap();
    top.remove("mount_config");
    top.remove("restrict_sys");
    let c = Container::new("devpts-nomnt", &cfg);
    let o = c.exec(&["--tty", "sh", "-c", "test -t 0 && test -t 1 && echo tty-ok"]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).contains("tty-ok"), "{}", out(&o));
}
