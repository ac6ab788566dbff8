//! The console: a pty, the caller's terminal in raw mode (restored on every
//! exit path), window size propagation, and the I/O relay between the
//! caller's stdio and the pty master.
//!
//! The pty of a container comes from the container's own devpts (as runc
//! and crun do): its process opens `/dev/ptmx` (→ `pts/ptmx`) once the
//! container's devpts is mounted, makes the slave its terminal (ttyname:
//! `/dev/pts/N`) and sends the master to nsinit over the sync channel. Only a
//! container without a mount namespace gets one of the host's.
//!
//! The relay never blocks: the master and the caller's stdin and stdout are
//! non-blocking while it runs (the caller's flags are put back when it ends:
//! they are shared with the caller's shell), each direction has a bounded
//! buffer, and a side is polled only when there is room to read into or data
//! to write. The supervisor polls the relay's descriptors next to its
//! signalfd, so signals are serviced whatever the container or the caller do.
//!
//! When the caller's side goes away the relay keeps reading and discarding
//! the master, so the container never blocks on its terminal, and reports it
//! once: [`Event::HangUp`] for a terminal that hung up, [`Event::BrokenPipe`]
//! when the container writes to an output whose reader is gone. At EOF on a
//! stdin that is not a terminal (`nsinit exec -t cmd < file`), it ends the
//! container's input the way `script(1)` does: with the terminal's VEOF
//! character when the container's terminal is in canonical mode (one VEOF
//! ends a partial line, a second one is the EOF). A terminal stdin in raw mode
//! never reads EOF (^D is a byte for the container): only a hang-up ends it.

use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use linux_raw_sys::general as g;
use rustix::event::PollFlags;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::pty::OpenptFlags;
use rustix::termios::{LocalModes, OptionalActions, SpecialCodeIndex, Termios};

use crate::error::{Context, Result};

/// A freshly allocated pty pair.
pub struct Pty {
    pub master: OwnedFd,
    /// The parent drops its copy once the container process has it, so that
    /// the master reads EIO when the container's side is closed.
    pub slave: Option<OwnedFd>,
}

/// Open a pty from the multiplexer at `ptmx` (`/dev/ptmx`, or a descriptor's
/// `/proc/self/fd/N`) and unlock it. The slave is the master's peer
/// (TIOCGPTPEER), not a path looked up by number: it is the one of that
/// devpts whatever the container's /dev/pts holds. Both close-on-exec (the
/// process dup2s the slave onto 0, 1 and 2).
pub fn open_pty(ptmx: &CStr) -> Result<Pty> {
    let what = || format!("open {}", ptmx.to_string_lossy());
    let flags = OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC;
    let master = rustix::fs::open(ptmx, flags, Mode::empty()).ctx(what)?;
    rustix::pty::unlockpt(&master).ctx(|| "unlockpt")?;
    let peer = OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC;
    let slave = rustix::pty::ioctl_tiocgptpeer(&master, peer).ctx(|| "ioctl TIOCGPTPEER")?;
    Ok(Pty {
        master,
        slave: Some(slave),
    })
}

/// Make the pty slave the controlling terminal and stdin/stdout/stderr.
pub fn attach(slave: &OwnedFd) -> Result<()> {
    rustix::process::ioctl_tiocsctty(slave).ctx(|| "ioctl TIOCSCTTY")?;
    rustix::stdio::dup2_stdin(slave).ctx(|| "dup2 console to stdin")?;
    rustix::stdio::dup2_stdout(slave).ctx(|| "dup2 console to stdout")?;
    rustix::stdio::dup2_stderr(slave).ctx(|| "dup2 console to stderr")
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

/// The size a new container's terminal starts with: `size` (OCI
/// `process.consoleSize`, as height and width), then the caller's terminal's
/// when stdin is one (runc's order: a foreground caller's terminal wins).
pub fn size_console(master: impl AsFd, size: Option<(u16, u16)>) {
    if let Some((rows, cols)) = size.filter(|&(h, w)| h > 0 && w > 0) {
        let ws = rustix::termios::Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let _ = rustix::termios::tcsetwinsize(&master, ws);
    }
    copy_winsize(rustix::stdio::stdin(), master);
}

/// Bytes in flight in each direction; reading a side stops while its buffer is full.
const BUF_SIZE: usize = 64 * 1024;

/// A bounded byte queue: read into its free space, write from its pending bytes.
struct Buffer {
    data: Vec<u8>,
    start: usize,
    end: usize,
}

impl Buffer {
    fn new() -> Buffer {
        Buffer {
            data: vec![0; BUF_SIZE],
            start: 0,
            end: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.start == self.end
    }

    fn has_room(&self) -> bool {
        self.end - self.start < self.data.len()
    }

    fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// Read once from `fd` into the free space (compacting first if needed).
    fn fill(&mut self, fd: BorrowedFd<'_>) -> Result<usize, Errno> {
        if self.end == self.data.len() && self.start > 0 {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let n = rustix::io::read(fd, &mut self.data[self.end..])?;
        self.end += n;
        Ok(n)
    }

    /// The bytes the last `fill` added.
    fn last(&self, n: usize) -> &[u8] {
        &self.data[self.end - n..self.end]
    }

    fn push(&mut self, byte: u8) {
        if self.end == self.data.len() && self.start > 0 {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end < self.data.len() {
            self.data[self.end] = byte;
            self.end += 1;
        }
    }

    /// Write pending bytes to `fd` until it would block (`Ok`) or fails.
    fn flush(&mut self, fd: BorrowedFd<'_>) -> Result<(), Errno> {
        while !self.is_empty() {
            match rustix::io::write(fd, &self.data[self.start..self.end]) {
                Ok(n) => {
                    self.start += n;
                    if self.is_empty() {
                        self.clear();
                    }
                }
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// O_NONBLOCK on some of the caller's descriptors. Their file status flags
/// belong to open file descriptions shared with the caller's shell, so the
/// bit is cleared again on drop on those where it was set here.
struct NonBlocking {
    set: Vec<BorrowedFd<'static>>,
}

impl NonBlocking {
    fn set(fds: &[BorrowedFd<'static>]) -> NonBlocking {
        let mut set = Vec::new();
        for &fd in fds {
            // Once is enough when stdin and stdout share one description: the
            // second sees the bit already set and leaves it to the first.
            if let Ok(flags) = rustix::fs::fcntl_getfl(fd)
                && !flags.contains(OFlags::NONBLOCK)
                && rustix::fs::fcntl_setfl(fd, flags | OFlags::NONBLOCK).is_ok()
            {
                set.push(fd);
            }
        }
        NonBlocking { set }
    }
}

impl Drop for NonBlocking {
    fn drop(&mut self) {
        for &fd in &self.set {
            if let Ok(flags) = rustix::fs::fcntl_getfl(fd) {
                let _ = rustix::fs::fcntl_setfl(fd, flags - OFlags::NONBLOCK);
            }
        }
    }
}

/// One of the caller's descriptors.
#[derive(Clone, Copy)]
struct Caller {
    fd: BorrowedFd<'static>,
    tty: bool,
}

impl Caller {
    fn open(fd: BorrowedFd<'static>) -> Option<Caller> {
        rustix::fs::fcntl_getfl(fd).ok()?;
        Some(Caller {
            fd,
            tty: rustix::termios::isatty(fd),
        })
    }
}

/// Which descriptor a poll entry of the relay is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Master,
    Stdin,
    Stdout,
}

/// What the relay saw that the supervisor must act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The caller's terminal hung up.
    HangUp,
    /// The caller's output is a pipe (or socket) whose reader is gone, and the
    /// container wrote to it.
    BrokenPipe,
    /// A key the container's terminal turns into a signal (its VINTR or
    /// VQUIT character, with ISIG on) was typed on the caller's terminal:
    /// the signal and the key.
    Key(i32, u8),
}

/// The caller's stdin and stdout relayed to and from a pty master.
pub struct Relay<'a> {
    master: BorrowedFd<'a>,
    /// Reading the master still yields data (EIO: every slave is closed).
    master_open: bool,
    /// Writing the master still works.
    master_writable: bool,
    stdin: Option<Caller>,
    stdout: Option<Caller>,
    to_master: Buffer,
    to_caller: Buffer,
    /// VEOF characters still to send (stdin reached EOF).
    eof_due: u8,
    /// The last byte read from stdin, to know whether a line is open.
    last_in: Option<u8>,
    hung_up: bool,
    /// The output pipe broke while nothing was pending: report it at the
    /// container's next write, as the kernel raises SIGPIPE on a write.
    pipe_due: bool,
    /// PID 1 has exited: only what is left on the master goes out.
    draining: bool,
    _nonblocking: NonBlocking,
}

impl<'a> Relay<'a> {
    /// Start relaying between the caller's stdin/stdout and `master`.
    pub fn new(master: BorrowedFd<'a>) -> Relay<'a> {
        let stdin = Caller::open(rustix::stdio::stdin());
        let stdout = Caller::open(rustix::stdio::stdout());
        let _ = rustix::io::ioctl_fionbio(master, true);
        let callers: Vec<_> = stdin.iter().chain(stdout.iter()).map(|c| c.fd).collect();
        Relay {
            master,
            master_open: true,
            master_writable: true,
            stdin,
            stdout,
            to_master: Buffer::new(),
            to_caller: Buffer::new(),
            eof_due: 0,
            last_in: None,
            hung_up: false,
            pipe_due: false,
            draining: false,
            _nonblocking: NonBlocking::set(&callers),
        }
    }

    /// What to poll now: a side only when it has room to read into or data
    /// to write; a terminal or an output also with no event, so that a
    /// hang-up or a broken pipe is seen (those are reported once, so they
    /// cannot spin the loop).
    pub fn interest(&self) -> Vec<(Slot, BorrowedFd<'a>, PollFlags)> {
        let mut out = Vec::with_capacity(3);
        if let Some(c) = self.stdout {
            let want = if self.to_caller.is_empty() {
                PollFlags::empty()
            } else {
                PollFlags::OUT
            };
            out.push((Slot::Stdout, c.fd, want));
        }
        if self.draining {
            return out;
        }
        let mut master = PollFlags::empty();
        if self.master_open && (self.stdout.is_none() || self.to_caller.has_room()) {
            master |= PollFlags::IN;
        }
        if self.master_writable && (!self.to_master.is_empty() || self.eof_due > 0) {
            master |= PollFlags::OUT;
        }
        if !master.is_empty() {
            out.push((Slot::Master, self.master, master));
        }
        if let Some(c) = self.stdin {
            if self.to_master.has_room() {
                out.push((Slot::Stdin, c.fd, PollFlags::IN));
            } else if c.tty {
                out.push((Slot::Stdin, c.fd, PollFlags::empty()));
            }
        }
        out
    }

    /// Act on what poll returned for the entries of [`Relay::interest`].
    pub fn service(&mut self, ready: &[(Slot, PollFlags)], events: &mut Vec<Event>) {
        let gone = PollFlags::HUP | PollFlags::ERR | PollFlags::NVAL;
        for &(slot, revents) in ready {
            match slot {
                Slot::Stdout if revents.intersects(gone) && self.to_caller.is_empty() => {
                    match self.stdout {
                        Some(c) if c.tty => self.hang_up(events),
                        Some(_) => {
                            self.output_lost();
                            self.pipe_due = true;
                        }
                        None => {}
                    }
                }
                Slot::Stdin if !revents.is_empty() => self.read_stdin(revents, events),
                Slot::Master if revents.intersects(PollFlags::IN | gone) => {
                    self.read_master(events)
                }
                _ => {}
            }
        }
        self.flush(events);
    }

    fn read_stdin(&mut self, revents: PollFlags, events: &mut Vec<Event>) {
        let Some(c) = self.stdin else { return };
        if c.tty && revents.intersects(PollFlags::HUP | PollFlags::ERR | PollFlags::NVAL) {
            return self.hang_up(events);
        }
        if !self.to_master.has_room() {
            return;
        }
        match self.to_master.fill(c.fd) {
            Ok(0) => {
                self.stdin = None;
                if !c.tty {
                    self.eof_due = if matches!(self.last_in, None | Some(b'\n')) {
                        1
                    } else {
                        2
                    };
                }
            }
            Ok(n) => {
                self.last_in = self.to_master.last(n).last().copied();
                if c.tty {
                    self.typed_signals(n, events);
                }
            }
            Err(Errno::AGAIN | Errno::INTR) => {}
            // EIO: a background process reading its terminal; other errors:
            // stdin is unusable. Either way, stop reading it.
            Err(_) => self.stdin = None,
        }
    }

    /// Report the interrupt and quit keys among the `n` bytes just read.
    fn typed_signals(&self, n: usize, events: &mut Vec<Event>) {
        let Ok(t) = rustix::termios::tcgetattr(self.master) else {
            return;
        };
        if !t.local_modes.contains(LocalModes::ISIG) {
            return;
        }
        let keys = [
            (SpecialCodeIndex::VINTR, g::SIGINT),
            (SpecialCodeIndex::VQUIT, g::SIGQUIT),
        ];
        for (index, sig) in keys {
            let key = t.special_codes[index];
            if key == 0 {
                continue; // _POSIX_VDISABLE
            }
            // Two presses are all the supervisor counts.
            let presses = self.to_master.last(n).iter().filter(|&&b| b == key);
            for _ in 0..presses.count().min(2) {
                events.push(Event::Key(sig as i32, key));
            }
        }
    }

    fn read_master(&mut self, events: &mut Vec<Event>) {
        if self.stdout.is_some() && !self.to_caller.has_room() {
            return;
        }
        match self.to_caller.fill(self.master) {
            Ok(0) => self.master_open = false,
            Ok(_) if self.stdout.is_none() => {
                self.to_caller.clear();
                if std::mem::take(&mut self.pipe_due) {
                    events.push(Event::BrokenPipe);
                }
            }
            Ok(_) | Err(Errno::AGAIN | Errno::INTR) => {}
            // EIO: every slave descriptor is closed.
            Err(_) => self.master_open = false,
        }
    }

    /// Write what can be written without blocking, both ways.
    fn flush(&mut self, events: &mut Vec<Event>) {
        if let Some(c) = self.stdout {
            match self.to_caller.flush(c.fd) {
                Ok(()) => {}
                Err(Errno::IO) if c.tty => self.hang_up(events),
                Err(e) => {
                    self.output_lost();
                    if e == Errno::PIPE {
                        events.push(Event::BrokenPipe);
                    }
                }
            }
        }
        if !self.master_writable || self.draining {
            return;
        }
        if self.to_master.is_empty() && self.eof_due > 0 {
            match rustix::termios::tcgetattr(self.master) {
                Ok(t) if t.local_modes.contains(LocalModes::ICANON) => {
                    for _ in 0..self.eof_due {
                        self.to_master.push(t.special_codes[SpecialCodeIndex::VEOF]);
                    }
                }
                _ => {}
            }
            self.eof_due = 0;
        }
        if self.to_master.flush(self.master).is_err() {
            // EIO: the container's side is closed; its input goes nowhere.
            self.master_writable = false;
            self.to_master.clear();
            self.stdin = None;
        }
    }

    /// The caller's terminal is gone: stop using it, report it once.
    fn hang_up(&mut self, events: &mut Vec<Event>) {
        if self.stdin.is_some_and(|c| c.tty) {
            self.stdin = None;
        }
        if self.stdout.is_some_and(|c| c.tty) {
            self.output_lost();
        }
        if !std::mem::replace(&mut self.hung_up, true) {
            events.push(Event::HangUp);
        }
    }

    /// Stop writing to stdout; from now on the master's output is discarded.
    fn output_lost(&mut self) {
        self.stdout = None;
        self.to_caller.clear();
    }

    /// After PID 1 exited: read what is left on the master (never waiting for
    /// more, and at most `*budget` bytes) and write it out. `true` when done;
    /// `false` when stdout is full: poll [`Relay::interest`] and call again.
    pub fn drain(&mut self, budget: &mut usize) -> bool {
        self.draining = true;
        let mut ignored = Vec::new();
        loop {
            self.flush(&mut ignored);
            if self.stdout.is_some() && !self.to_caller.is_empty() {
                return false;
            }
            if !self.master_open || *budget == 0 {
                return true;
            }
            match self.to_caller.fill(self.master) {
                Ok(n) if n > 0 => {
                    *budget = budget.saturating_sub(n);
                    if self.stdout.is_none() {
                        self.to_caller.clear();
                    }
                }
                Err(Errno::INTR) => {}
                // Nothing more now (AGAIN: a straggler still holds the
                // slave), or every slave is closed (EIO).
                _ => self.master_open = false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buffer_is_bounded_and_keeps_order_across_compaction() {
        let (r, w) = rustix::pipe::pipe().unwrap();
        let mut b = Buffer::new();
        let chunk = vec![7u8; 1024]; // BUF_SIZE is a multiple: nothing stays in the pipe
        while b.has_room() {
            rustix::io::write(&w, &chunk).unwrap();
            b.fill(r.as_fd()).unwrap();
        }
        assert_eq!(b.end - b.start, BUF_SIZE);
        // Half goes out, then new bytes fill the space the compaction frees.
        b.start += BUF_SIZE / 2;
        rustix::io::write(&w, b"tail").unwrap();
        assert_eq!(b.fill(r.as_fd()).unwrap(), 4);
        assert_eq!(b.start, 0);
        assert_eq!(&b.data[b.end - 4..b.end], b"tail");
        assert_eq!(b.end, BUF_SIZE / 2 + 4);
    }
}
