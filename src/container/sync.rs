//! The parent/child sync channel: a SOCK_SEQPACKET pair carrying one typed
//! [`Msg`] per packet (a tag byte, then its payload). The numbers match the
//! steps in `create` and `join`.
//!
//! * SYNC 1, parent → child: [`Msg::Release`] with the host-side network
//!   state; the child is in its cgroups and its id maps are written.
//! * SYNC 1m, child → parent: before its mounts, per idmapped mount of
//!   the config, in mount order, a detached copy of the source
//!   ([`send_mount`]); parent → child: the same mount, idmapped.
//! * SYNC 1b, join's middle child → parent: [`Msg::Pid`] of the joined process.
//! * SYNC 1h, child → parent: [`Msg::Hooks`], the mounts are made and the
//!   root not yet switched; parent → child: [`Msg::HooksDone`] with the
//!   state document once prestart and createRuntime ran (only with hooks).
//! * SYNC 1c, container process → parent: with a terminal, the master of
//!   the pty it opened in the container's devpts ([`send_console`]); create's
//!   child sends it once its root is built (after 1h), join's joined process
//!   after entering (then parent → joined process: [`Msg::Start`], 1d, once
//!   the window size is set).
//! * SYNC 2a, child → parent: with a seccomp `listenerPath`, the filter's
//!   notification descriptor ([`send_seccomp`]) once it is installed (the
//!   parent hands it to the listener); 1e on the join path.
//! * SYNC 2, child → parent: [`Msg::Ready`], the process is set up and parked
//!   before execve (the parent records the container now, before user code).
//! * SYNC 3, parent → child: [`Msg::Start`].
//! * SYNC 4, child → parent: EOF when the child's end (close-on-exec) closes
//!   at a successful execve.
//!
//! At any point the child may send [`Msg::Error`] instead, and the exchange ends.

use std::os::fd::{AsFd, OwnedFd};

use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

use crate::error::{Context, Error, Result};
use crate::network::NetState;

/// One message on the sync channel.
#[derive(Debug)]
pub enum Msg {
    Release(NetState),
    Pid(i32),
    Ready,
    Start,
    Error(Error),
    Hooks,
    HooksDone(String),
}

impl Msg {
    fn encode(&self) -> Result<Vec<u8>> {
        Ok(match self {
            Msg::Release(net) => {
                let mut out = vec![1];
                serde_json::to_writer(&mut out, net)
                    .map_err(|e| Error::new(format!("encode network state: {e}")))?;
                out
            }
            Msg::Pid(pid) => [&[2u8][..], &pid.to_le_bytes()].concat(),
            Msg::Ready => vec![3],
            Msg::Start => vec![4],
            Msg::Error(e) => [&[5u8][..], &e.encode()].concat(),
            Msg::Hooks => vec![6],
            Msg::HooksDone(doc) => [&[7u8][..], doc.as_bytes()].concat(),
        })
    }

    fn decode(buf: &[u8]) -> Result<Msg> {
        let bad = || Error::new(format!("sync: malformed message ({} bytes)", buf.len()));
        let (tag, body) = buf.split_first().ok_or_else(bad)?;
        Ok(match tag {
            1 => Msg::Release(
                serde_json::from_slice(body)
                    .map_err(|e| Error::new(format!("sync: bad release message: {e}")))?,
            ),
            2 => Msg::Pid(i32::from_le_bytes(body.try_into().map_err(|_| bad())?)),
            3 if body.is_empty() => Msg::Ready,
            4 if body.is_empty() => Msg::Start,
            5 => Msg::Error(Error::decode(body)),
            6 if body.is_empty() => Msg::Hooks,
            7 => Msg::HooksDone(String::from_utf8(body.to_vec()).map_err(|_| bad())?),
            _ => return Err(bad()),
        })
    }
}

/// A connected pair: (parent end, child end), both close-on-exec.
pub fn sync_pair() -> Result<(OwnedFd, OwnedFd)> {
    rustix::net::socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )
    .ctx(|| "socketpair for the sync channel")
}

pub fn send(fd: impl AsFd, msg: &Msg) -> Result<()> {
    rustix::net::send(fd, &msg.encode()?, SendFlags::NOSIGNAL)
        .ctx(|| "send on the sync channel")
        .map(|_| ())
}

/// The next message, or `None` at EOF (the peer closed or exec'd).
pub fn recv(fd: impl AsFd) -> Result<Option<Msg>> {
    recv_with(fd, RecvFlags::empty())
}

/// Why peeked into a page on the stack: every message but a very long
/// error fits, and a 64 KiB heap buffer per message was an mmap, page
/// faults and a munmap each; a longer packet is read whole into a buffer
/// of its size.
fn recv_with(fd: impl AsFd, flags: RecvFlags) -> Result<Option<Msg>> {
    use rustix::io::Errno;
    let mut page = [0u8; 4096];
    let mut reset = false;
    let len = loop {
        match rustix::net::recv(
            &fd,
            &mut page[..],
            flags | RecvFlags::PEEK | RecvFlags::TRUNC,
        ) {
            Ok((_, 0)) => return Ok(None),
            Ok((_, len)) => break len,
            Err(Errno::INTR) => continue,
            // A peer that exits with our messages unread leaves ECONNRESET,
            // which the kernel reports (once) before what the peer sent
            // first: a child's last words, its error.
            Err(Errno::CONNRESET) if !reset => reset = true,
            Err(e) => return Err(e).ctx(|| "receive on the sync channel"),
        }
    };
    let mut big = Vec::new();
    let buf = if len <= page.len() {
        &mut page[..len]
    } else {
        big.resize(len, 0);
        &mut big[..]
    };
    loop {
        match rustix::net::recv(&fd, &mut buf[..], flags) {
            Ok((n, _)) if n == len => return Msg::decode(buf).map(Some),
            Ok((n, _)) => {
                return Err(Error::new(format!(
                    "sync: a {len}-byte message shrank to {n} bytes"
                )));
            }
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e).ctx(|| "receive on the sync channel"),
        }
    }
}

/// Receive what must come next: `want` picks it out, an error message is
/// returned as the error, EOF is `eof`.
fn expect<T>(fd: impl AsFd, eof: &str, want: impl FnOnce(Msg) -> Option<T>) -> Result<T> {
    match recv(fd)? {
        None => Err(Error::new(eof.to_string())),
        Some(Msg::Error(e)) => Err(e),
        Some(m) => {
            let shown = format!("{m:?}");
            want(m).ok_or_else(|| Error::new(format!("sync: unexpected message {shown}")))
        }
    }
}

/// SYNC 1 (parent): release the child.
pub fn release_child(fd: impl AsFd, net: &NetState) -> Result<()> {
    send(fd, &Msg::Release(net.clone()))
}

/// SYNC 1 (child): wait to be released; EOF means the parent died.
pub fn wait_release(fd: impl AsFd) -> Result<NetState> {
    expect(
        fd,
        "sync: nsinit exited before releasing the container",
        |m| match m {
            Msg::Release(net) => Some(net),
            _ => None,
        },
    )
}

/// SYNC 1b (join's middle child): the host PID of the process it forked into
/// the container's PID namespace.
pub fn send_pid(fd: impl AsFd, pid: i32) -> Result<()> {
    send(fd, &Msg::Pid(pid))
}

/// SYNC 1b (parent): the joined process's PID, or the middle child's error.
pub fn wait_pid(fd: impl AsFd) -> Result<i32> {
    expect(fd, "sync: the joining process exited early", |m| match m {
        Msg::Pid(p) => Some(p),
        _ => None,
    })
}

/// SYNC 1h (child): the mounts are made; run the runtime's hooks.
pub fn request_hooks(fd: impl AsFd) -> Result<()> {
    send(fd, &Msg::Hooks)
}

/// SYNC 1h (parent): wait for the child's request for hooks.
pub fn wait_hooks_request(fd: impl AsFd) -> Result<()> {
    expect(
        fd,
        "the container process exited before its hooks ran",
        |m| matches!(m, Msg::Hooks).then_some(()),
    )
}

/// SYNC 1h (parent): the runtime's hooks ran; the state for the child's.
pub fn hooks_done(fd: impl AsFd, state: &str) -> Result<()> {
    send(fd, &Msg::HooksDone(state.to_string()))
}

/// SYNC 1h (child): wait for the runtime's hooks; the state document.
pub fn wait_hooks_done(fd: impl AsFd) -> Result<String> {
    expect(
        fd,
        "sync: nsinit exited before running the hooks",
        |m| match m {
            Msg::HooksDone(doc) => Some(doc),
            _ => None,
        },
    )
}

/// SYNC 2 (child): set up, parked before execve.
pub fn report_ready(fd: impl AsFd) -> Result<()> {
    send(fd, &Msg::Ready)
}

/// SYNC 2 (parent): wait until the child is ready, or its error.
pub fn wait_ready(fd: impl AsFd) -> Result<()> {
    expect(
        fd,
        "the container process exited before it was ready",
        |m| matches!(m, Msg::Ready).then_some(()),
    )
}

/// SYNC 3 (parent): let the child exec.
pub fn send_start(fd: impl AsFd) -> Result<()> {
    send(fd, &Msg::Start)
}

/// SYNC 3 (child): wait for the go; EOF means nsinit gave up.
pub fn wait_start(fd: impl AsFd) -> Result<()> {
    expect(
        fd,
        "sync: nsinit exited before starting the container",
        |m| matches!(m, Msg::Start).then_some(()),
    )
}

/// SYNC 1c (create's child or a joined process): the master of the pty it
/// opened inside the container, by SCM_RIGHTS.
pub fn send_console(fd: impl AsFd, master: &OwnedFd) -> Result<()> {
    send_fd(fd, CONSOLE, master).ctx(|| "send the console on the sync channel")
}

/// SYNC 1c (parent): the pty master, or the container process's error.
pub fn recv_console(fd: impl AsFd) -> Result<OwnedFd> {
    recv_fd(
        fd,
        CONSOLE,
        "sync: the container process exited before its terminal was open",
    )
}

/// SYNC 2a (create's child) or 1e (joined process): the seccomp filter's
/// notification descriptor, right after the install (a filter with a
/// `listenerPath`; see `seccomp::send_listener`).
pub fn send_seccomp(fd: impl AsFd, listener: &OwnedFd) -> Result<()> {
    send_fd(fd, SECCOMP, listener).ctx(|| "send the seccomp listener on the sync channel")
}

/// SYNC 2a/1e (parent): the seccomp notification descriptor, or the child's error.
pub fn recv_seccomp(fd: impl AsFd) -> Result<OwnedFd> {
    recv_fd(
        fd,
        SECCOMP,
        "sync: the container process exited before its seccomp filter was in",
    )
}

/// SYNC 1m: a detached mount, to idmap (child) or idmapped (parent).
pub fn send_mount(fd: impl AsFd, tree: &OwnedFd) -> Result<()> {
    send_fd(fd, MOUNT, tree).ctx(|| "send a mount on the sync channel")
}

/// SYNC 1m: the mount the peer sent, or its error.
pub fn recv_mount(fd: impl AsFd) -> Result<OwnedFd> {
    recv_fd(
        fd,
        MOUNT,
        "sync: the peer exited before the idmapped mounts",
    )
}

/// Tags of the messages that carry a descriptor.
const CONSOLE: u8 = 8;
const SECCOMP: u8 = 9;
const MOUNT: u8 = 10;

fn send_fd(fd: impl AsFd, tag: u8, passed: &OwnedFd) -> rustix::io::Result<()> {
    use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage};
    let fds = [passed.as_fd()];
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut cmsg = SendAncillaryBuffer::new(&mut space);
    cmsg.push(SendAncillaryMessage::ScmRights(&fds));
    rustix::net::sendmsg(
        fd,
        &[std::io::IoSlice::new(&[tag])],
        &mut cmsg,
        SendFlags::NOSIGNAL,
    )
    .map(|_| ())
}

/// The descriptor of a `tag` message, or the peer's error (`eof` at EOF).
fn recv_fd(fd: impl AsFd, tag: u8, eof: &str) -> Result<OwnedFd> {
    use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage};
    let mut buf = vec![0u8; 64 * 1024];
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut cmsg = RecvAncillaryBuffer::new(&mut space);
    let n = loop {
        match rustix::net::recvmsg(
            &fd,
            &mut [std::io::IoSliceMut::new(&mut buf)],
            &mut cmsg,
            RecvFlags::CMSG_CLOEXEC,
        ) {
            Ok(r) => break r.bytes,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e).ctx(|| "receive on the sync channel"),
        }
    };
    let mut passed = None;
    for m in cmsg.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = m {
            passed = fds.into_iter().next().or(passed);
        }
    }
    match (buf.get(..n), passed) {
        (Some([t]), Some(m)) if *t == tag => Ok(m),
        (Some([]), _) => Err(Error::new(eof.to_string())),
        (Some(msg), _) => match Msg::decode(msg)? {
            Msg::Error(e) => Err(e),
            m => Err(Error::new(format!("sync: unexpected message {m:?}"))),
        },
        (None, _) => Err(Error::new("sync: bad descriptor message")),
    }
}

/// The child's failure report (any step).
pub fn report_error(fd: impl AsFd, err: &Error) {
    let _ = send(fd, &Msg::Error(err.clone()));
}

/// An error message the child left unread on the channel, if any.
pub fn pending_error(fd: impl AsFd) -> Option<Error> {
    match recv_with(fd, RecvFlags::DONTWAIT) {
        Ok(Some(Msg::Error(e))) => Some(e),
        _ => None,
    }
}

/// SYNC 4 (parent): Ok at EOF (the command was executed), or the child's error.
pub fn wait_exec(fd: impl AsFd) -> Result<()> {
    match recv(fd)? {
        None => Ok(()),
        Some(Msg::Error(e)) => Err(e),
        Some(m) => Err(Error::new(format!("sync: unexpected message {m:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A child that fails before reading the parent's release closes with
    /// it unread: the parent's next receive reports ECONNRESET once, then
    /// the child's error, which must not be lost.
    #[test]
    fn an_error_sent_before_a_reset_is_still_read() {
        let (parent, child) = sync_pair().unwrap();
        release_child(&parent, &NetState::default()).unwrap();
        report_error(
            &child,
            &Error::new("mount /dev/ptmx: no devpts").with_code(125),
        );
        drop(child);
        let e = pending_error(&parent).expect("the child's error");
        assert_eq!(e.to_string(), "mount /dev/ptmx: no devpts");
        assert!(matches!(recv(&parent), Ok(None)), "then EOF");
    }

    #[test]
    fn messages_round_trip() {
        let (a, b) = sync_pair().unwrap();
        send(&a, &Msg::Pid(4242)).unwrap();
        assert_eq!(wait_pid(&b).unwrap(), 4242);
        report_ready(&b).unwrap();
        wait_ready(&a).unwrap();
        report_error(&b, &Error::new("mount x").with_code(126));
        let e = wait_exec(&a).unwrap_err();
        assert_eq!((e.to_string().as_str(), e.code()), ("mount x", 126));
        send_start(&a).unwrap();
        assert!(
            wait_release(&b)
                .unwrap_err()
                .to_string()
                .contains("unexpected")
        );
        drop(b);
        assert!(wait_exec(&a).is_ok());
    }

    #[test]
    fn a_message_longer_than_a_page_arrives_whole() {
        let (a, b) = sync_pair().unwrap();
        let long = format!("mount {}", "x".repeat(20_000));
        report_error(&b, &Error::new(long.clone()));
        report_ready(&b).unwrap();
        assert_eq!(pending_error(&a).unwrap().to_string(), long);
        wait_ready(&a).unwrap();
        assert!(pending_error(&a).is_none());
    }
}
