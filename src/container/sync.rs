//! The parent/child sync channel: a SOCK_SEQPACKET pair, one message per
//! sync point. The numbers match the steps in `create` and `join`.
//!
//! * SYNC 1, parent → child: "released" with the host-side network state; the
//!   child is in its cgroups and its id maps are written.
//! * SYNC 2, child → parent: an encoded [`Error`], or EOF when the child's
//!   end (close-on-exec) closes at a successful execve.

use std::os::fd::{AsFd, OwnedFd};

use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

use crate::error::{Context, Error, Result};
use crate::network::NetState;

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

fn send(fd: impl AsFd, msg: &[u8]) -> Result<()> {
    rustix::net::send(fd, msg, SendFlags::NOSIGNAL)
        .ctx(|| "send on the sync channel")
        .map(|_| ())
}

fn recv(fd: impl AsFd) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match rustix::net::recv(&fd, &mut buf[..], RecvFlags::empty()) {
            Ok((n, _)) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e).ctx(|| "receive on the sync channel"),
        }
    }
}

/// SYNC 1 (parent): release the child.
pub fn release_child(fd: impl AsFd, net: &NetState) -> Result<()> {
    let msg =
        serde_json::to_vec(net).map_err(|e| Error::new(format!("encode network state: {e}")))?;
    send(fd, &msg)
}

/// SYNC 1 (child): wait to be released; EOF means the parent died.
pub fn wait_release(fd: impl AsFd) -> Result<NetState> {
    let msg = recv(fd)?;
    if msg.is_empty() {
        return Err(Error::new(
            "sync: nsinit exited before releasing the container",
        ));
    }
    serde_json::from_slice(&msg).map_err(|e| Error::new(format!("sync: bad release message: {e}")))
}

/// SYNC 1b (join's middle child): the host PID of the process it forked into
/// the container's PID namespace.
pub fn send_pid(fd: impl AsFd, pid: i32) -> Result<()> {
    send(fd, format!("PID {pid}").as_bytes())
}

/// SYNC 1b (parent): the joined process's PID, or the middle child's error.
pub fn wait_pid(fd: impl AsFd) -> Result<i32> {
    let msg = recv(fd)?;
    match msg.strip_prefix(b"PID ") {
        Some(n) => std::str::from_utf8(n)
            .ok()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| Error::new("sync: bad pid message")),
        None if msg.is_empty() => Err(Error::new("sync: the joining process exited early")),
        None => Err(Error::decode(&msg)),
    }
}

/// SYNC 2 (child): report a failure.
pub fn report_error(fd: impl AsFd, err: &Error) {
    let _ = send(fd, &err.encode());
}

/// An error message the child left unread on the channel, if any.
pub fn pending_error(fd: impl AsFd) -> Option<Error> {
    let mut buf = vec![0u8; 64 * 1024];
    match rustix::net::recv(&fd, &mut buf[..], RecvFlags::DONTWAIT) {
        Ok((n, _)) if n > 0 => Some(Error::decode(&buf[..n])),
        _ => None,
    }
}

/// SYNC 2 (parent): Ok at EOF (the command was executed), or the child's error.
pub fn wait_exec(fd: impl AsFd) -> Result<()> {
    let msg = recv(fd)?;
    if msg.is_empty() {
        Ok(())
    } else {
        Err(Error::decode(&msg))
    }
}
