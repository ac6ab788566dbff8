//! What `nsinit-oci` hands to its caller: the pid file and the console.

use super::*;

/// Write `pid` to `path` atomically (temp file, then rename).
pub(super) fn write_pid_file(path: &str, pid: i32) -> Result<()> {
    let path = std::path::absolute(path).ctx(|| format!("pid file {path}"))?;
    let dir = path.parent().unwrap_or(Path::new("/"));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::new(format!("pid file {}: no file name", path.display())))?;
    let dfd = rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| format!("open {}", dir.display()))?;
    record::write_file_at(&dfd, &name, pid.to_string().as_bytes())
        .ctx(|| format!("pid file {}", path.display()))
}

/// Send the pty master to the `--console-socket` (SCM_RIGHTS), as runc does.
pub(super) fn send_console(socket: &str, master: &OwnedFd) -> Result<()> {
    use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags, SocketAddrUnix};
    let addr = SocketAddrUnix::new(socket).ctx(|| format!("console socket {socket}"))?;
    let sock = rustix::net::socket_with(
        rustix::net::AddressFamily::UNIX,
        rustix::net::SocketType::STREAM,
        rustix::net::SocketFlags::CLOEXEC,
        None,
    )
    .ctx(|| "socket for the console")?;
    rustix::net::connect(&sock, &addr).ctx(|| format!("connect to console socket {socket}"))?;
    let fds = [master.as_fd()];
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut cmsg = SendAncillaryBuffer::new(&mut space);
    cmsg.push(SendAncillaryMessage::ScmRights(&fds));
    let name = b"/dev/ptmx";
    rustix::net::sendmsg(
        &sock,
        &[std::io::IoSlice::new(name)],
        &mut cmsg,
        SendFlags::NOSIGNAL,
    )
    .ctx(|| format!("send the console to {socket}"))?;
    Ok(())
}
