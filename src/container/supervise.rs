//! The parent while the container runs: forward signals to its PID 1, relay
//! the pty, propagate window size, and reap until PID 1 exits.

use std::os::fd::OwnedFd;

use linux_raw_sys::general as g;
use rustix::event::{PollFd, PollFlags};
use rustix::process::{Pid, WaitOptions};

use crate::console;
use crate::error::{Context, Result};
use crate::sys::{self, SigSet};

/// The signals nsinit blocks and reads from a signalfd while a container runs.
pub fn supervised_signals() -> SigSet {
    SigSet::catchable()
}

/// What the parent sets up before it forks a container process: an optional
/// pty, the sync pair, and the signals it will read from a signalfd (blocked
/// before the fork, so signals arriving meanwhile queue for PID 1).
pub struct Channels {
    pub pty: Option<console::Pty>,
    pub parent_sock: OwnedFd,
    pub child_sock: OwnedFd,
    /// The signal mask before blocking: what the container's command gets.
    pub mask: SigSet,
    pub sigfd: OwnedFd,
}

/// Open the pty (when `tty`), the sync pair, and block the supervised signals.
pub fn open_channels(tty: bool) -> Result<Channels> {
    let pty = if tty {
        Some(console::open_pty()?)
    } else {
        None
    };
    let (parent_sock, child_sock) = super::sync::sync_pair()?;
    let mask = sys::block_signals(supervised_signals()).ctx(|| "block signals")?;
    let sigfd = sys::signalfd(supervised_signals(), true).ctx(|| "signalfd")?;
    Ok(Channels {
        pty,
        parent_sock,
        child_sock,
        mask,
        sigfd,
    })
}

/// Signals nsinit handles itself instead of forwarding.
fn forwarded(sig: i32, tty: bool) -> bool {
    let own = [g::SIGCHLD, g::SIGPIPE, g::SIGURG];
    !(own.contains(&(sig as u32)) || (tty && sig == g::SIGWINCH as i32))
}

/// Run until `pid` exits; returns its exit code (128+N for signal N).
pub fn supervise(pid: Pid, sigfd: &OwnedFd, master: Option<&OwnedFd>) -> Result<u8> {
    let stdin = rustix::stdio::stdin();
    let stdout = rustix::stdio::stdout();
    if let Some(m) = master {
        console::copy_winsize(stdin, m);
    }
    let mut stdin_open = master.is_some();
    let mut master_open = master.is_some();
    loop {
        let mut fds = Vec::with_capacity(3);
        fds.push(PollFd::new(sigfd, PollFlags::IN));
        if let Some(m) = master {
            if master_open {
                fds.push(PollFd::new(m, PollFlags::IN));
            }
            if stdin_open {
                fds.push(PollFd::new(&stdin, PollFlags::IN));
            }
        }
        match rustix::event::poll(&mut fds, None) {
            Err(rustix::io::Errno::INTR) => continue,
            r => r.ctx(|| "poll")?,
        };
        let ready: Vec<bool> = fds.iter().map(|f| !f.revents().is_empty()).collect();
        drop(fds);
        if ready[0] {
            while let Some(info) = sys::read_signal(sigfd).ctx(|| "read signalfd")? {
                if info.signo == g::SIGCHLD as i32 {
                    if let Some(code) = reap(pid)? {
                        if let Some(m) = master {
                            console::drain(m, stdout);
                        }
                        return Ok(code);
                    }
                } else if info.signo == g::SIGWINCH as i32 && master.is_some() {
                    console::copy_winsize(stdin, master.unwrap());
                } else if forwarded(info.signo, master.is_some()) {
                    let _ = sys::kill_raw(pid.as_raw_nonzero().get(), info.signo);
                }
            }
        }
        if let Some(m) = master {
            let mut i = 1;
            if master_open {
                if ready[i] {
                    master_open = console::pump(m, stdout);
                }
                i += 1;
            }
            if stdin_open && ready[i] {
                stdin_open = console::pump(stdin, m);
            }
        }
    }
}

/// Reap every exited child; `Some(code)` once `pid` is among them.
fn reap(pid: Pid) -> Result<Option<u8>> {
    loop {
        match rustix::process::wait(WaitOptions::NOHANG) {
            Ok(Some((p, status))) if p == pid => return Ok(Some(super::exit_code(status))),
            Ok(Some(_)) => continue,
            Ok(None) | Err(rustix::io::Errno::CHILD) => return Ok(None),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e).ctx(|| "wait"),
        }
    }
}

/// Kill `pid` and wait for it (failure paths).
pub fn kill_and_wait(pid: Pid) {
    let _ = sys::kill_raw(pid.as_raw_nonzero().get(), g::SIGKILL as i32);
    let _ = rustix::process::waitpid(Some(pid), WaitOptions::empty());
}
