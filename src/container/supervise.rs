//! The parent while the container runs: forward signals to its PID 1 (and get
//! around the kernel's PID-1 rule when a user wants it stopped), relay the
//! pty, propagate window size, and reap until PID 1 exits.

use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use linux_raw_sys::general as g;
use rustix::event::{PollFd, PollFlags};
use rustix::process::{Pid, WaitOptions};

use crate::console::{self, Event};
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
        let pty = console::open_pty(c"/dev/ptmx")?;
        // Why now: the container's first command may ask for its size.
        console::copy_winsize(rustix::stdio::stdin(), &pty.master);
        Some(pty)
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

/// The signals a user sends to stop a foreground container.
const TERMINATING: [u32; 4] = [g::SIGINT, g::SIGTERM, g::SIGHUP, g::SIGQUIT];

/// How long after a dropped terminating signal a second one kills PID 1.
const KILL_WINDOW: Duration = Duration::from_secs(5);

/// What is left on the pty after PID 1 exited is relayed up to this much.
const DRAIN_LIMIT: usize = 1 << 20;

/// Run until `pid` exits; returns its exit code (128+N for signal N).
///
/// Signals are forwarded to `pid`. The kernel drops a signal sent to the
/// PID 1 of a PID namespace unless PID 1 handles it, so a terminating signal
/// PID 1 does not handle gets a one-line hint, and a second one within
/// [`KILL_WINDOW`] becomes SIGKILL (see [`Escalation`]). With a pty, the
/// caller's stdio is relayed without ever blocking ([`console::Relay`]).
pub fn supervise(pid: Pid, sigfd: &OwnedFd, master: Option<&OwnedFd>) -> Result<u8> {
    let stdin = rustix::stdio::stdin();
    if let Some(m) = master {
        console::copy_winsize(stdin, m);
    }
    let mut relay = master.map(|m| console::Relay::new(m.as_fd()));
    // In raw mode the terminal needs a carriage return before the newline.
    let raw = relay.is_some() && rustix::termios::isatty(rustix::stdio::stderr());
    let mut esc = Escalation {
        pid,
        armed_until: None,
        raw,
    };
    let mut events = Vec::new();
    loop {
        let interest = relay.as_ref().map(|r| r.interest()).unwrap_or_default();
        let mut fds = Vec::with_capacity(1 + interest.len());
        fds.push(PollFd::new(sigfd, PollFlags::IN));
        fds.extend(
            interest
                .iter()
                .map(|&(_, fd, flags)| PollFd::from_borrowed_fd(fd, flags)),
        );
        match rustix::event::poll(&mut fds, esc.timeout().as_ref()) {
            Err(rustix::io::Errno::INTR) => continue,
            r => r.ctx(|| "poll")?,
        };
        let signalled = !fds[0].revents().is_empty();
        let ready: Vec<_> = interest
            .iter()
            .zip(&fds[1..])
            .map(|(&(slot, _, _), fd)| (slot, fd.revents()))
            .collect();
        drop(fds);
        if signalled {
            while let Some(info) = sys::read_signal(sigfd).ctx(|| "read signalfd")? {
                let sig = info.signo;
                if sig == g::SIGCHLD as i32 {
                    if let Some(code) = reap(pid)? {
                        if let Some(r) = &mut relay {
                            drain(r, sigfd)?;
                        }
                        return Ok(code);
                    }
                } else if sig == g::SIGWINCH as i32 && master.is_some() {
                    if let Some(m) = master {
                        console::copy_winsize(stdin, m);
                    }
                } else if sig == g::SIGHUP as i32 && info.pid == 0 {
                    // From the kernel, not from a process: the controlling
                    // terminal hung up (or its session leader exited).
                    esc.lost(g::SIGHUP);
                } else if forwarded(sig, master.is_some()) {
                    let _ = sys::kill_raw(pid.as_raw_nonzero().get(), sig);
                    if TERMINATING.contains(&(sig as u32)) {
                        esc.terminating(sig, None);
                    }
                }
            }
        }
        if let (Some(r), Some(m)) = (&mut relay, master) {
            r.service(&ready, &mut events);
            for event in events.drain(..) {
                match event {
                    Event::HangUp => esc.lost(g::SIGHUP),
                    Event::BrokenPipe => esc.lost(g::SIGPIPE),
                    // The pty's line discipline signals its foreground group;
                    // it matters only when that is PID 1's own.
                    Event::Key(sig, key) => {
                        if rustix::termios::tcgetpgrp(m).is_ok_and(|g| g == pid) {
                            esc.terminating(sig, Some(key));
                        }
                    }
                }
            }
        }
    }
}

/// After PID 1 exited: relay what is left on the master. Waits only for the
/// caller's output to take it, and gives up on a terminating signal.
fn drain(relay: &mut console::Relay<'_>, sigfd: &OwnedFd) -> Result<()> {
    let mut budget = DRAIN_LIMIT;
    while !relay.drain(&mut budget) {
        let interest = relay.interest();
        let mut fds = Vec::with_capacity(1 + interest.len());
        fds.push(PollFd::new(sigfd, PollFlags::IN));
        fds.extend(
            interest
                .iter()
                .map(|&(_, fd, flags)| PollFd::from_borrowed_fd(fd, flags)),
        );
        match rustix::event::poll(&mut fds, None) {
            Err(rustix::io::Errno::INTR) => continue,
            r => r.ctx(|| "poll")?,
        };
        if fds[0].revents().is_empty() {
            continue;
        }
        drop(fds);
        while let Some(info) = sys::read_signal(sigfd).ctx(|| "read signalfd")? {
            if TERMINATING.contains(&(info.signo as u32)) {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// The kernel's PID-1 rule, and the way out of it for a user at a terminal.
///
/// A PID namespace's init gets only the signals it handles: the kernel drops
/// the others, SIGKILL from an ancestor namespace excepted. So SIGINT, SIGTERM,
/// SIGHUP or SIGQUIT forwarded to a PID 1 that neither catches, ignores nor
/// blocks it (read from /proc/PID/status, which the kernel writes) does
/// nothing: nsinit says so once, and a second one within [`KILL_WINDOW`]
/// SIGKILLs PID 1. A PID 1 outside a new PID namespace (a joined process, or
/// no NEWPID) gets signals as any process does and is left alone.
struct Escalation {
    pid: Pid,
    /// A dropped terminating signal was seen; a second one until then kills.
    armed_until: Option<Instant>,
    raw: bool,
}

impl Escalation {
    /// A terminating signal reached PID 1: forwarded by nsinit, or made by
    /// the container's terminal from a `typed` key (interrupt or quit).
    fn terminating(&mut self, sig: i32, typed: Option<u8>) {
        let Some(view) = SignalView::read(self.pid) else {
            return;
        };
        if !view.drops(sig) {
            return;
        }
        if self.armed_until.is_some_and(|t| Instant::now() < t) {
            self.armed_until = None;
            let _ = sys::kill_raw(self.pid.as_raw_nonzero().get(), g::SIGKILL as i32);
            return;
        }
        let again = match typed {
            Some(key) if key < 0x20 => format!("press ^{} again", char::from(key + 0x40)),
            Some(_) => "press the key again".to_string(),
            None => "send it again".to_string(),
        };
        let eol = if self.raw { "\r" } else { "" };
        crate::log::error(&format_args!(
            "PID 1 ({}) does not handle {}; {again} within {} s to kill the container{eol}",
            view.name,
            signal_name(sig),
            KILL_WINDOW.as_secs()
        ));
        self.armed_until = Some(Instant::now() + KILL_WINDOW);
    }

    /// The caller's terminal or output went away: `sig` (SIGHUP, SIGPIPE) is
    /// what the kernel would send a process using it directly, and nobody is
    /// left to send a second signal: if PID 1 would drop it, SIGKILL it.
    fn lost(&mut self, sig: u32) {
        let raw_pid = self.pid.as_raw_nonzero().get();
        let _ = sys::kill_raw(raw_pid, sig as i32);
        if SignalView::read(self.pid).is_some_and(|v| v.drops(sig as i32)) {
            let _ = sys::kill_raw(raw_pid, g::SIGKILL as i32);
        }
    }

    /// The poll timeout: until the window closes, if one is open.
    fn timeout(&mut self) -> Option<rustix::time::Timespec> {
        let left = self.armed_until?.checked_duration_since(Instant::now());
        match left {
            Some(d) if !d.is_zero() => Some(rustix::time::Timespec {
                tv_sec: d.as_secs() as i64,
                tv_nsec: i64::from(d.subsec_nanos()),
            }),
            _ => {
                self.armed_until = None;
                None
            }
        }
    }
}

/// What /proc/PID/status says about how a process takes signals.
struct SignalView {
    /// The init of a PID namespace below ours (the kernel's PID-1 rule applies).
    ns_init: bool,
    /// Caught, ignored or blocked (a blocked signal is queued, never dropped).
    handled: u64,
    /// The command name, with anything but printable ASCII replaced.
    name: String,
}

impl SignalView {
    fn read(pid: Pid) -> Option<SignalView> {
        // `pid` is our unreaped child: the file is that process's.
        // Lossy: the name is the process's to choose, in any bytes.
        let bytes = std::fs::read(format!("/proc/{}/status", pid.as_raw_nonzero())).ok()?;
        Some(SignalView::parse(&String::from_utf8_lossy(&bytes)))
    }

    fn parse(text: &str) -> SignalView {
        let mut view = SignalView {
            ns_init: false,
            handled: 0,
            name: String::new(),
        };
        for line in text.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match key {
                "Name" => {
                    view.name = value
                        .chars()
                        .map(|c| {
                            if c.is_ascii_graphic() || c == ' ' {
                                c
                            } else {
                                '?'
                            }
                        })
                        .collect();
                }
                "NSpid" => {
                    let ids: Vec<&str> = value.split_whitespace().collect();
                    view.ns_init = ids.len() > 1 && ids.last() == Some(&"1");
                }
                "SigBlk" | "SigIgn" | "SigCgt" => {
                    view.handled |= u64::from_str_radix(value, 16).unwrap_or(0);
                }
                _ => {}
            }
        }
        view
    }

    /// The kernel drops `sig` sent to this process.
    fn drops(&self, sig: i32) -> bool {
        self.ns_init && !SigSet(self.handled).contains(sig)
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig as u32 {
        g::SIGINT => "SIGINT",
        g::SIGTERM => "SIGTERM",
        g::SIGHUP => "SIGHUP",
        g::SIGQUIT => "SIGQUIT",
        _ => "the signal",
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

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\tsl\x1beep\nUmask:\t0022\nState:\tS (sleeping)\n\
        NSpid:\t4871\t1\nSigQ:\t1/96364\nSigPnd:\t0000000000000000\n\
        SigBlk:\t0000000000010000\nSigIgn:\t0000000000000004\nSigCgt:\t0000000000000002\n";

    #[test]
    fn a_namespace_init_drops_what_it_neither_catches_ignores_nor_blocks() {
        let v = SignalView::parse(STATUS);
        assert!(v.ns_init);
        assert_eq!(v.name, "sl?eep");
        assert!(!v.drops(g::SIGINT as i32)); // caught
        assert!(!v.drops(g::SIGQUIT as i32)); // ignored
        assert!(!v.drops(g::SIGCHLD as i32)); // blocked
        assert!(v.drops(g::SIGTERM as i32));
        assert!(v.drops(g::SIGHUP as i32));
    }

    #[test]
    fn a_process_that_is_not_a_namespace_init_drops_nothing() {
        for nspid in ["NSpid:\t4871", "NSpid:\t4871\t7"] {
            let v = SignalView::parse(&STATUS.replace("NSpid:\t4871\t1", nspid));
            assert!(!v.ns_init, "{nspid}");
            assert!(!v.drops(g::SIGTERM as i32));
        }
    }
}
