//! The init shim: a tiny PID 1 that spawns one command, forwards signals to it,
//! reaps every zombie and exits with the command's status.
//!
//! Both entry points share one core, [`start`] (set-up and fork) plus
//! [`Supervisor::run`] (the signal/reap loop):
//! - the `nsinit-init` applet (`src/applet/init.rs`), which execs a command found
//!   through `PATH` ([`exec::PreparedExec`]);
//! - [`run_shim`], for the create path (`nsinit exec --init`, `"init": true`): the
//!   container's cloned child becomes the shim in place, so the rootfs needs no
//!   copy of nsinit and nothing is re-executed.
//!
//! How it works, as in tini and catatonit: every catchable signal is blocked
//! *before* the fork and read from a signalfd, so none is lost between fork and
//! loop and no asynchronous handler ever runs. The loop only reads 128-byte records
//! into a stack buffer, calls `kill` and `wait4`: it never allocates. A blocked
//! signal is never "ignored" by the kernel, so even a pid namespace's PID 1, for
//! which the kernel drops default-action signals, receives SIGTERM this way.

pub mod exec;

use std::convert::Infallible;
use std::os::fd::{AsFd, OwnedFd};

use linux_raw_sys::general as g;
use rustix::io::Errno;
use rustix::process::{Pid, WaitOptions, WaitStatus};

use crate::error::{Context, Error, Result};
use crate::log;
use crate::sys::{self, SigSet};

/// The name `ps` shows for the shim (`PR_SET_NAME`).
pub const PROCESS_NAME: &std::ffi::CStr = c"nsinit-init";

/// What the shim does besides the defaults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShimOptions {
    /// `-g`: forward signals to the child's whole process group, not just the child.
    pub group: bool,
    /// `-s`: register as a child subreaper when not PID 1, so orphans of the
    /// command are reparented to the shim and reaped by it.
    pub subreaper: bool,
    /// The signal mask the command starts with. `None`: the mask the shim
    /// found when it started. The create path, whose child runs with every
    /// signal blocked, passes the mask nsinit had before blocking them.
    pub child_mask: Option<SigSet>,
}

/// Become the init shim in the current process (the create path's entry).
///
/// Forks. The child puts itself in its own process group (the terminal's
/// foreground group when stdin is a tty), restores the default signal
/// dispositions and the signal mask (`opts.child_mask`), then calls
/// `spawn(handoff)`, which must exec the command; on failure it reports the
/// error its own way and exits (`Infallible` stands for `!`, which is not
/// stable in this position).
///
/// In the shim, `handoff` and `spawn` (with everything it captured by move)
/// are dropped right after the fork. Hand over the sync socket this way: the
/// shim closes its copy, so the parent sees EOF once the command has exec'd
/// (the socket must be CLOEXEC) or a message if `spawn` reports a failure.
///
/// Never returns once the child exists: the process exits with the child's
/// status (128+N for signal N) after killing and reaping what is left.
/// Returns only when set-up failed before the fork (subreaper, signalfd,
/// fork), handing `handoff` back so the caller can report the error through it.
///
/// The shim runs the host's nsinit image for the container's whole life and
/// never execs, so it seals itself ([`Supervisor::seal`]): non-dumpable, and
/// only 0-2 and its signalfd open.
///
/// Without a pid namespace the shim is not PID 1: set `subreaper`.
/// The caller must be single-threaded (nsinit always is).
pub fn run_shim<T, F>(opts: ShimOptions, handoff: T, spawn: F) -> (Error, T)
where
    F: FnOnce(T) -> Infallible,
{
    match start(opts) {
        Err(e) => (e, handoff),
        Ok(Forked::Child) => exec_child(spawn, handoff),
        Ok(Forked::Shim(supervisor)) => {
            drop(spawn);
            drop(handoff);
            if let Err(e) = supervisor.seal() {
                // Fail closed: the command dies, run() reaps it and reports 137.
                log::error(&e.context("init shim"));
                supervisor.forward(g::SIGKILL as i32);
            }
            sys::exit_now(supervisor.run())
        }
    }
}

/// In the child: `spawn` execs or exits, so this never returns.
fn exec_child<T, F: FnOnce(T) -> Infallible>(spawn: F, handoff: T) -> ! {
    match spawn(handoff) {}
}

/// Which side of the fork [`start`] returned on.
#[derive(Debug)]
pub enum Forked {
    /// In the command's process, ready for exec: the caller must exec or exit,
    /// never return into code that would continue as a second shim.
    Child,
    /// In the shim: run the loop with [`Supervisor::run`].
    Shim(Supervisor),
}

/// The shim's side after the fork: the command's pid and the signalfd.
#[derive(Debug)]
pub struct Supervisor {
    child: Pid,
    signals: OwnedFd,
    group: bool,
    pid1: bool,
}

/// Set up the shim and fork the command, like fork(2): returns
/// [`Forked::Child`] in the child (already in its own process group, with
/// default dispositions and `opts.child_mask`) and [`Forked::Shim`] in the shim.
pub fn start(opts: ShimOptions) -> Result<Forked> {
    // Only cosmetic (what `ps` shows): a failure does not stop the shim.
    let _ = rustix::thread::set_name(PROCESS_NAME);
    let pid1 = rustix::process::getpid().is_init();
    if !pid1 {
        if opts.subreaper {
            rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
                .ctx(|| "set child subreaper")?;
        } else if !matches!(rustix::process::child_subreaper(), Ok(Some(_))) {
            log::warn(&"not PID 1 and not a subreaper (use -s): orphans will not be reaped here");
        }
    }

    // Block before the fork so that no signal sent from now on is lost: it waits
    // in the signalfd until the loop reads it.
    let caller_mask = sys::block_signals(SigSet::catchable()).ctx(|| "block signals")?;
    let child_mask = opts.child_mask.unwrap_or(caller_mask);
    let signals = match sys::signalfd(SigSet::catchable(), false) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = sys::restore_signal_mask(caller_mask);
            return Err(Error::sys("signalfd", e));
        }
    };
    let child = match sys::clone_process(0) {
        Ok(Some(child)) => child,
        Ok(None) => {
            prepare_child(child_mask);
            return Ok(Forked::Child);
        }
        Err(e) => {
            let _ = sys::restore_signal_mask(caller_mask);
            return Err(Error::sys("fork", e));
        }
    };
    // The child does the same; doing it here too closes the race with a `-g`
    // signal forwarded before the child got to run. EACCES once it has exec'd.
    let _ = rustix::process::setpgid(Some(child), Some(child));
    Ok(Forked::Shim(Supervisor {
        child,
        signals,
        group: opts.group,
        pid1,
    }))
}

/// In the forked child, before the exec: own process group, foreground of the
/// terminal, default dispositions, the command's signal mask. Best effort: a
/// command without a terminal or a group still runs.
fn prepare_child(mask: SigSet) {
    let _ = rustix::process::setpgid(None, None);
    let stdin = rustix::stdio::stdin();
    if rustix::termios::isatty(stdin) {
        // SIGTTOU is still blocked here, so a background group may take the
        // terminal (as tini does with SIGTTOU ignored). ENOTTY when stdin is a
        // terminal but not our session's controlling one.
        let _ = rustix::termios::tcsetpgrp(stdin, rustix::process::getpid());
    }
    sys::reset_signal_dispositions();
    let _ = sys::restore_signal_mask(mask);
}

impl Supervisor {
    /// The command's pid (in the shim's pid namespace).
    pub fn child(&self) -> Pid {
        self.child
    }

    /// Forward signals and reap zombies until the command exits; then kill and
    /// reap every remaining process and return the command's exit code.
    ///
    /// No allocation happens in the loop: it reads into a stack buffer and only
    /// calls `kill` and `wait4`.
    pub fn run(self) -> u8 {
        let code = loop {
            match sys::read_signal(self.signals.as_fd()) {
                Ok(Some(info)) if info.signo == g::SIGCHLD as i32 => {
                    if let Some(code) = self.reap_zombies() {
                        break code;
                    }
                }
                Ok(Some(info)) => self.forward(info.signo),
                Ok(None) | Err(Errno::INTR) => {}
                Err(e) => {
                    log::error(&Error::sys("read signalfd", e));
                    break self.wait_child();
                }
            }
        };
        self.kill_remaining();
        code
    }

    /// For a shim inside a container: become non-dumpable, so no container
    /// process can ptrace it or open its `/proc/PID/{exe,fd,…}` (the host
    /// binary, host descriptors), and close every descriptor but 0-2 and the
    /// signalfd. Descriptors owned elsewhere in this process are closed under
    /// their owners: only for a process that ends in `exit_now`.
    pub fn seal(&self) -> Result<()> {
        sys::set_non_dumpable().ctx(|| "prctl PR_SET_DUMPABLE 0")?;
        sys::close_fds_except(&[sys::raw::fd_number(&self.signals)])
            .ctx(|| "close inherited descriptors")
    }

    /// Send `signo` to the command (or its process group with `-g`). ESRCH is
    /// expected once it is gone, so errors are ignored.
    fn forward(&self, signo: i32) {
        let pid = self.child.as_raw_nonzero().get();
        let _ = sys::kill_raw(if self.group { -pid } else { pid }, signo);
    }

    /// Reap every zombie child (`waitpid(-1, WNOHANG)` until none is left).
    /// Returns the command's exit code when it was among them.
    fn reap_zombies(&self) -> Option<u8> {
        let mut code = None;
        loop {
            match rustix::process::wait(WaitOptions::NOHANG) {
                Ok(Some((pid, status))) => {
                    if pid == self.child {
                        code = Some(exit_code(status));
                    }
                }
                Err(Errno::INTR) => {}
                Ok(None) | Err(_) => return code,
            }
        }
    }

    /// Fallback when the signalfd fails: block in wait until the command exits.
    fn wait_child(&self) -> u8 {
        loop {
            match rustix::process::wait(WaitOptions::empty()) {
                Ok(Some((pid, status))) if pid == self.child => return exit_code(status),
                Ok(_) | Err(Errno::INTR) => {}
                Err(_) => return crate::error::EXIT_RUNTIME,
            }
        }
    }

    /// After the command exited: SIGKILL everything that is left and reap it.
    ///
    /// As PID 1, `kill(-1)` reaches every other process of the pid namespace.
    /// Otherwise the command's process group and the shim's children (orphans
    /// reparented to the subreaper among them) are killed.
    fn kill_remaining(&self) {
        loop {
            let all_known = self.kill_all_once();
            let opts = if all_known {
                WaitOptions::empty()
            } else {
                WaitOptions::NOHANG
            };
            match rustix::process::wait(opts) {
                Ok(Some(_)) | Err(Errno::INTR) => {}
                Ok(None) | Err(_) => return,
            }
        }
    }

    /// One round of SIGKILL. Returns false when the shim cannot see all its
    /// children (no /proc), so the caller must not block waiting for them.
    fn kill_all_once(&self) -> bool {
        let sigkill = g::SIGKILL as i32;
        if self.pid1 {
            let _ = sys::kill_raw(-1, sigkill);
            return true;
        }
        let _ = sys::kill_raw(-self.child.as_raw_nonzero().get(), sigkill);
        match std::fs::read_to_string("/proc/thread-self/children") {
            Ok(list) => {
                for pid in list
                    .split_ascii_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok())
                {
                    if pid > 0 {
                        let _ = sys::kill_raw(pid, sigkill);
                    }
                }
                true
            }
            Err(_) => false,
        }
    }
}

/// The shell's convention: the exit status, or 128+N for death by signal N.
pub fn exit_code(status: WaitStatus) -> u8 {
    exit_code_raw(status.as_raw())
}

/// [`exit_code`] of a raw `wait4` status word: exit code in bits 8..15 when the
/// low 7 bits are 0, else the terminating signal in the low 7 bits (0x80 is the
/// core-dump flag; 0x7f would mean stopped, which the shim never asks for).
fn exit_code_raw(status: i32) -> u8 {
    match status & 0x7f {
        0 => ((status >> 8) & 0xff) as u8,
        0x7f => crate::error::EXIT_RUNTIME,
        sig => (128 + sig) as u8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_code_of_exit_and_signal() {
        // Raw wait statuses: exit code in bits 8..15, signal in bits 0..6.
        assert_eq!(exit_code_raw(0), 0);
        assert_eq!(exit_code_raw(7 << 8), 7);
        assert_eq!(exit_code_raw(255 << 8), 255);
        assert_eq!(exit_code_raw(9), 137);
        assert_eq!(exit_code_raw(15), 143);
        // Killed by SIGSEGV with a core dump (0x80).
        assert_eq!(exit_code_raw(11 | 0x80), 139);
    }
}
