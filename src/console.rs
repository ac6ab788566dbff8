//! The console: a pty from the host's /dev/ptmx, the caller's terminal in raw
//! mode (restored on every exit path), window size propagation, and the I/O
//! relay between the caller's stdio and the pty master.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::pty::OpenptFlags;
use rustix::termios::{OptionalActions, Termios};

use crate::error::{Context, Result};

/// A freshly allocated pty pair.
pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
    /// Host path of the slave (`/dev/pts/N`), bound on the container's /dev/console.
    pub slave_path: String,
}

/// Open /dev/ptmx, unlock the slave and open it (both close-on-exec; the child
/// dup2s the slave onto 0, 1 and 2).
pub fn open_pty() -> Result<Pty> {
    let master =
        rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
            .ctx(|| "open /dev/ptmx")?;
    rustix::pty::grantpt(&master).ctx(|| "grantpt")?;
    rustix::pty::unlockpt(&master).ctx(|| "unlockpt")?;
    let name = rustix::pty::ptsname(&master, Vec::new()).ctx(|| "ptsname")?;
    let slave_path = name.to_string_lossy().into_owned();
    let slave = rustix::fs::open(
        name.as_c_str(),
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| format!("open {slave_path}"))?;
    Ok(Pty {
        master,
        slave,
        slave_path,
    })
}

/// Puts a terminal in raw mode and restores the saved settings when dropped.
pub struct RawMode {
    fd: BorrowedFd<'static>,
    saved: Termios,
}

impl RawMode {
    /// Raw mode on stdin when it is a terminal; `None` otherwise.
    pub fn enter() -> Result<Option<RawMode>> {
        let fd = rustix::stdio::stdin();
        if !rustix::termios::isatty(fd) {
            return Ok(None);
        }
        let saved = rustix::termios::tcgetattr(fd).ctx(|| "tcgetattr stdin")?;
        let mut raw = saved.clone();
        raw.make_raw();
        rustix::termios::tcsetattr(fd, OptionalActions::Now, &raw).ctx(|| "tcsetattr stdin raw")?;
        Ok(Some(RawMode { fd, saved }))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = rustix::termios::tcsetattr(self.fd, OptionalActions::Now, &self.saved);
    }
}

/// Copy the window size of `from` (the caller's terminal) to `to` (the master).
pub fn copy_winsize(from: impl AsFd, to: impl AsFd) {
    if let Ok(ws) = rustix::termios::tcgetwinsize(from) {
        let _ = rustix::termios::tcsetwinsize(to, ws);
    }
}

/// Copy what is readable from `from` to `to`. Returns false at EOF or when
/// the other side is gone (EIO on a master whose slave is closed).
pub fn pump(from: impl AsFd, to: impl AsFd) -> bool {
    let mut buf = [0u8; 8192];
    match rustix::io::read(&from, &mut buf) {
        Ok(0) => false,
        Ok(n) => write_all(&to, &buf[..n]),
        Err(Errno::AGAIN | Errno::INTR) => true,
        Err(_) => false,
    }
}

fn write_all(fd: impl AsFd, mut buf: &[u8]) -> bool {
    while !buf.is_empty() {
        match rustix::io::write(&fd, buf) {
            Ok(n) => buf = &buf[n..],
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) => {
                let mut pfd = [rustix::event::PollFd::new(
                    &fd,
                    rustix::event::PollFlags::OUT,
                )];
                let _ = rustix::event::poll(&mut pfd, None);
            }
            Err(_) => return false,
        }
    }
    true
}

/// Drain whatever output is left on the master after the container exited.
pub fn drain(master: impl AsFd, to: impl AsFd) {
    let _ = rustix::io::ioctl_fionbio(&master, true);
    while pump(&master, &to) {
        let mut pfd = [rustix::event::PollFd::new(
            &master,
            rustix::event::PollFlags::IN,
        )];
        let zero = rustix::time::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        if rustix::event::poll(&mut pfd, Some(&zero)).unwrap_or(0) == 0 {
            break;
        }
    }
}
