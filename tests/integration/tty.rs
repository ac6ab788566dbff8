//! `tty: true` under a real terminal (tmux): a prompt, raw relay, window
//! size at start and after a resize, for a new and a joined container.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;

pub(crate) fn tmux(sock: &str, args: &[&str]) -> String {
    let o = Command::new("tmux")
        .args(["-L", sock])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A detached session `t`, `cols`×`rows`, running `cmd` on tmux server `sock`.
pub(crate) fn tmux_session(sock: &str, cols: u16, rows: u16, cmd: &str) {
    let (x, y) = (cols.to_string(), rows.to_string());
    tmux(
        sock,
        &["new-session", "-d", "-s", "t", "-x", &x, "-y", &y, cmd],
    );
}

/// True once the pane shows `want`, false after `limit`.
fn poll_pane(sock: &str, pane_id: &str, want: &str, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if tmux(sock, &["capture-pane", "-p", "-t", pane_id]).contains(want) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

pub(crate) fn wait_pane(sock: &str, pane_id: &str, want: &str) -> String {
    let start = Instant::now();
    loop {
        let pane = tmux(sock, &["capture-pane", "-p", "-t", pane_id]);
        if pane.contains(want) {
            return pane;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "never saw {want:?} in:\n{pane}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn tty_container_shows_a_prompt_and_follows_resizes() {
    if !can_run() || !require("tmux") {
        return;
    }
    let mut cfg = base_config();
    cfg["tty"] = json!(true);
    cfg["environment"] = json!([
        "PATH=/bin:/sbin:/usr/bin",
        "PS1=nsinit-prompt# ",
        "TERM=xterm"
    ]);
    let c = Container::new("tty", &cfg);
    let sock = format!("nsinit-tty-{}", std::process::id());
    let cmd = format!(
        "{} --root {} exec sh; echo exited=$?; sleep 30",
        bin().display(),
        c.dir.display()
    );
    tmux_session(&sock, 120, 40, &cmd);
    wait_pane(&sock, "t.0", "nsinit-prompt#");
    tmux(&sock, &["send-keys", "-t", "t", "tty; stty size", "Enter"]);
    wait_pane(&sock, "t.0", "40 120");
    tmux(
        &sock,
        &["resize-window", "-t", "t", "-x", "100", "-y", "30"],
    );
    // The new size reaches the pty asynchronously (SIGWINCH relay): ask
    // again until the shell reports it, within a bound.
    let start = Instant::now();
    loop {
        tmux(&sock, &["send-keys", "-t", "t", "stty size", "Enter"]);
        if poll_pane(&sock, "t.0", "30 100", Duration::from_millis(500)) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the resize never reached the container:\n{}",
            tmux(&sock, &["capture-pane", "-p", "-t", "t.0"])
        );
    }
    // A joined process gets its own pty.
    let join = format!(
        "{} --root {} exec sh -c 'tty; stty size; echo joined-ok'",
        bin().display(),
        c.dir.display()
    );
    tmux(
        &sock,
        &["split-window", "-t", "t", &format!("{join}; sleep 30")],
    );
    let joined = wait_pane(&sock, "t.1", "joined-ok");
    tmux(&sock, &["send-keys", "-t", "t.0", "exit 3", "Enter"]);
    let pane = wait_pane(&sock, "t.0", "exited=3");
    tmux(&sock, &["kill-server"]);
    assert!(
        pane.contains("/dev/console") || pane.contains("/dev/pts"),
        "{pane}"
    );
    // The joined shell's stdout is a terminal with the pane's size.
    assert!(
        !joined.contains("0 0\n") && joined.contains(" 100\n"),
        "{joined}"
    );
    assert!(!c.dir.join("state.json").exists());
}
