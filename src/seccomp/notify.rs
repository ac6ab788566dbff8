//! Handing a filter's user-notification descriptor to the listener named by
//! `listenerPath`, as runtime-spec's config-linux.md ("seccomp") and
//! runtime.md ("container process state") describe: nsinit connects to the
//! unix socket and sends one message, the container process state as JSON,
//! with the descriptor attached (SCM_RIGHTS). As in runc, the runtime's host
//! side does it: the container process passes the descriptor over the sync
//! channel right after installing the filter.

use std::os::fd::{AsFd, OwnedFd};

use rustix::net::{AddressFamily, SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
use serde_json::{Value, json};

use super::Listener;
use crate::container::state::State;
use crate::error::{Context, Result};

/// The OCI state of the container `st` with `status`, its init being `init_pid`.
pub fn process_state(st: &State, status: &str, init_pid: i32) -> Value {
    // A container.json container has no OCI id: its directory stands for it.
    let id = match st.id.as_str() {
        "" => st.dir.to_string_lossy(),
        id => id.into(),
    };
    json!({
        "ociVersion": "1.2.0",
        "id": id,
        "status": status,
        "pid": init_pid,
        "bundle": st.bundle,
        "annotations": st.annotations,
    })
}

/// Connect to `l.path` and send `fd` with the container process state of
/// `pid` (the process whose filter it is) in `state`.
pub fn send_listener(l: &Listener, fd: &OwnedFd, pid: i32, state: Value) -> Result<()> {
    let what = || format!("seccomp listenerPath {}", l.path);
    let msg = json!({
        "ociVersion": "1.2.0",
        "fds": ["seccompFd"],
        "pid": pid,
        "metadata": l.metadata,
        "state": state,
    });
    let text = serde_json::to_vec(&msg).unwrap_or_default();
    let sock = rustix::net::socket_with(
        AddressFamily::UNIX,
        rustix::net::SocketType::STREAM,
        rustix::net::SocketFlags::CLOEXEC,
        None,
    )
    .ctx(|| format!("{}: socket", what()))?;
    let addr = rustix::net::SocketAddrUnix::new(l.path.as_str()).ctx(what)?;
    rustix::net::connect(&sock, &addr).ctx(|| format!("{}: connect", what()))?;
    let fds = [fd.as_fd()];
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut cmsg = SendAncillaryBuffer::new(&mut space);
    cmsg.push(SendAncillaryMessage::ScmRights(&fds));
    let n = rustix::net::sendmsg(
        &sock,
        &[std::io::IoSlice::new(&text)],
        &mut cmsg,
        SendFlags::NOSIGNAL,
    )
    .ctx(|| format!("{}: send the notification descriptor", what()))?;
    // The rest of a long state (a stream may take it in parts), without the
    // descriptor.
    let mut rest = &text[n..];
    while !rest.is_empty() {
        let n = rustix::net::send(&sock, rest, SendFlags::NOSIGNAL)
            .ctx(|| format!("{}: send the container state", what()))?;
        rest = &rest[n..];
    }
    Ok(())
}
