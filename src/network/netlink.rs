//! A minimal NETLINK_ROUTE client: message encoding and decoding, the socket, and
//! request/acknowledgement with the kernel's extended ACK messages.
//!
//! Every request carries `NLM_F_ACK`; several requests can go to the kernel in one
//! `send` ([`Socket::batch`]) and the acks are read back in order, so a container's
//! whole interface setup costs one send and one receive per request.
//! <https://man7.org/linux/man-pages/man7/netlink.7.html>,
//! <https://man7.org/linux/man-pages/man7/rtnetlink.7.html>

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use linux_raw_sys::netlink as nl;
use rustix::io::Errno;
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

use crate::error::{Error, Result};

/// Size of `struct nlmsghdr`.
pub const HDR_LEN: usize = 16;
/// Size of `struct nlattr`.
const ATTR_HDR_LEN: usize = 4;
/// Receive buffer: acks are small; one `RTM_GETLINK` reply for a veth is ~1.5 KiB.
const RECV_BUF: usize = 16 * 1024;

/// Round up to the 4-byte netlink alignment (`NLMSG_ALIGN`, `NLA_ALIGN`).
pub const fn align(len: usize) -> usize {
    (len + 3) & !3
}

/// A request being built: header, family header, then attributes.
#[derive(Clone, Debug)]
pub struct Msg {
    buf: Vec<u8>,
}

impl Msg {
    /// A request of type `ty` (`RTM_NEWLINK`, …). `NLM_F_REQUEST | NLM_F_ACK` are
    /// always set; `flags` adds `NLM_F_CREATE`, `NLM_F_EXCL`, …
    pub fn new(ty: u16, flags: u32) -> Msg {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_len, set by bytes()
        buf.extend_from_slice(&ty.to_ne_bytes());
        let flags = (flags | nl::NLM_F_REQUEST | nl::NLM_F_ACK) as u16;
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_seq, set by the socket
        buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid: 0, the kernel fills it
        Msg { buf }
    }

    /// Clear `NLM_F_ACK`: for a `GET` whose reply is the answer.
    pub fn without_ack(mut self) -> Msg {
        let flags = u16::from_ne_bytes([self.buf[6], self.buf[7]]) & !(nl::NLM_F_ACK as u16);
        self.buf[6..8].copy_from_slice(&flags.to_ne_bytes());
        self
    }

    /// Append a fixed family header (`ifinfomsg`, `ifaddrmsg`, `rtmsg`), padded.
    pub fn header(mut self, bytes: &[u8]) -> Msg {
        self.raw(bytes);
        self
    }

    /// Append raw bytes, padded: a family header inside a nested attribute
    /// (`VETH_INFO_PEER` holds an `ifinfomsg`).
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Msg {
        self.buf.extend_from_slice(bytes);
        self.pad();
        self
    }

    fn pad(&mut self) {
        self.buf.resize(align(self.buf.len()), 0);
    }

    /// Append attribute `ty` with raw `data`, padded to 4 bytes.
    pub fn attr(&mut self, ty: u16, data: &[u8]) -> &mut Msg {
        let len = (ATTR_HDR_LEN + data.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
        self
    }

    pub fn attr_u32(&mut self, ty: u16, v: u32) -> &mut Msg {
        self.attr(ty, &v.to_ne_bytes())
    }

    /// A NUL-terminated string attribute (interface names, link kinds).
    pub fn attr_str(&mut self, ty: u16, s: &str) -> &mut Msg {
        let len = (ATTR_HDR_LEN + s.len() + 1) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        self.pad();
        self
    }

    /// Open a nested attribute; close it with [`Msg::end_nest`].
    pub fn begin_nest(&mut self, ty: u16) -> Nest {
        let at = self.buf.len();
        self.attr(ty, &[]);
        Nest(at)
    }

    /// Close a nested attribute: its length now covers everything appended since.
    pub fn end_nest(&mut self, nest: Nest) -> &mut Msg {
        let len = (self.buf.len() - nest.0) as u16;
        self.buf[nest.0..nest.0 + 2].copy_from_slice(&len.to_ne_bytes());
        self
    }

    /// The encoded message with `seq`, its length field filled in.
    pub fn bytes(&self, seq: u32) -> Vec<u8> {
        let mut out = self.buf.clone();
        write_header(&mut out, seq);
        out
    }

    fn append_to(&self, out: &mut Vec<u8>, seq: u32) {
        let start = out.len();
        out.extend_from_slice(&self.buf);
        write_header(&mut out[start..], seq);
    }
}

fn write_header(msg: &mut [u8], seq: u32) {
    let len = msg.len() as u32;
    msg[0..4].copy_from_slice(&len.to_ne_bytes());
    msg[8..12].copy_from_slice(&seq.to_ne_bytes());
}

/// Where an open nested attribute starts (see [`Msg::begin_nest`]).
#[must_use]
pub struct Nest(usize);

/// One message received from the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply<'a> {
    pub ty: u16,
    pub flags: u16,
    pub seq: u32,
    /// Everything after the `nlmsghdr`.
    pub payload: &'a [u8],
}

/// Split a received datagram into messages. A truncated or malformed message
/// ends the iteration with an error.
pub fn messages(mut buf: &[u8]) -> impl Iterator<Item = Result<Reply<'_>>> {
    std::iter::from_fn(move || {
        if buf.is_empty() {
            return None;
        }
        if buf.len() < HDR_LEN {
            buf = &[];
            return Some(Err(Error::new("netlink: truncated message header")));
        }
        let len = u32_at(buf, 0) as usize;
        if len < HDR_LEN || len > buf.len() {
            buf = &[];
            return Some(Err(Error::new(format!(
                "netlink: bad message length {len}"
            ))));
        }
        let reply = Reply {
            ty: u16_at(buf, 4),
            flags: u16_at(buf, 6),
            seq: u32_at(buf, 8),
            payload: &buf[HDR_LEN..len],
        };
        buf = &buf[align(len).min(buf.len())..];
        Some(Ok(reply))
    })
}

/// Iterate over the attributes in `buf` as `(type, data)`, the type without the
/// `NLA_F_NESTED` / `NLA_F_NET_BYTEORDER` bits. Stops at the first malformed one.
pub fn attrs(mut buf: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if buf.len() < ATTR_HDR_LEN {
            return None;
        }
        let len = u16_at(buf, 0) as usize;
        if len < ATTR_HDR_LEN || len > buf.len() {
            return None;
        }
        let ty = u16_at(buf, 2) & nl::NLA_TYPE_MASK as u16;
        let data = &buf[ATTR_HDR_LEN..len];
        buf = &buf[align(len).min(buf.len())..];
        Some((ty, data))
    })
}

/// The first attribute of type `ty` in `buf`.
pub fn find_attr(buf: &[u8], ty: u16) -> Option<&[u8]> {
    attrs(buf).find(|(t, _)| *t == ty).map(|(_, d)| d)
}

/// A string attribute without its trailing NUL.
pub fn attr_string(data: &[u8]) -> String {
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    String::from_utf8_lossy(&data[..end]).into_owned()
}

/// The content of an `NLMSG_ERROR` message: `errno` 0 is an acknowledgement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ack {
    /// The positive errno, or 0 for success.
    pub errno: i32,
    /// `NLMSGERR_ATTR_MSG`: the kernel's own words, when it gave some.
    pub message: Option<String>,
}

impl Ack {
    /// Parse the payload of an `NLMSG_ERROR` message (`struct nlmsgerr` followed,
    /// with `NLM_F_ACK_TLVS`, by attributes after the echoed request, which is
    /// only its header when `NLM_F_CAPPED` is set).
    pub fn parse(reply: &Reply<'_>) -> Result<Ack> {
        let p = reply.payload;
        if p.len() < 4 + HDR_LEN {
            return Err(Error::new("netlink: truncated error message"));
        }
        let errno = -(u32_at(p, 0) as i32);
        let mut message = None;
        if u32::from(reply.flags) & nl::NLM_F_ACK_TLVS != 0 {
            let echoed = if u32::from(reply.flags) & nl::NLM_F_CAPPED != 0 {
                HDR_LEN
            } else {
                u32_at(p, 4) as usize
            };
            let tlvs = 4 + align(echoed);
            if tlvs <= p.len() {
                message = find_attr(&p[tlvs..], nl::nlmsgerr_attrs::NLMSGERR_ATTR_MSG as u16)
                    .map(attr_string)
                    .filter(|m| !m.is_empty());
            }
        }
        Ok(Ack { errno, message })
    }

    /// `Ok` for an ack, else the error for operation `what`, with the kernel's
    /// message between the operation and strerror.
    pub fn into_result(self, what: &str) -> Result<()> {
        if self.errno == 0 {
            return Ok(());
        }
        let errno = Errno::from_raw_os_error(self.errno);
        Err(match self.message {
            Some(m) => Error::sys(format!("{what}: {m}"), errno),
            None => Error::sys(what, errno),
        })
    }
}

/// A `NETLINK_ROUTE` socket with its sequence counter and receive buffer.
pub struct Socket {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

impl Socket {
    /// `socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)` with
    /// `NETLINK_EXT_ACK` on, so errors carry the kernel's explanation.
    pub fn open() -> Result<Socket> {
        let fd = rustix::net::socket_with(
            AddressFamily::NETLINK,
            SocketType::RAW,
            SocketFlags::CLOEXEC,
            None,
        )
        .map_err(|e| Error::sys("netlink: open NETLINK_ROUTE socket", e))?;
        // Without extended acks the errors still come, only less precise.
        let _ = crate::sys::raw::set_netlink_ext_ack(fd.as_fd());
        Ok(Socket {
            fd,
            seq: 0,
            buf: Vec::new(),
        })
    }

    /// The descriptor, for `SIOCGIFINDEX` (any socket serves).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Send one request and wait for its ack.
    pub fn request(&mut self, msg: &Msg, what: &str) -> Result<()> {
        let seq = self.next_seq();
        self.send(&msg.bytes(seq), what)?;
        self.recv_ack(seq, what)
    }

    /// Send every request in one datagram, then read the acks in order. Stops at
    /// the first failure: the kernel still runs the later requests, and their
    /// acks are skipped by sequence number if the socket is used again.
    pub fn batch(&mut self, reqs: &[(Msg, String)]) -> Result<()> {
        let Some(first) = reqs.first() else {
            return Ok(());
        };
        let mut out = Vec::with_capacity(reqs.iter().map(|(m, _)| m.buf.len()).sum());
        let base = self.seq.wrapping_add(1);
        for (msg, _) in reqs {
            let seq = self.next_seq();
            msg.append_to(&mut out, seq);
        }
        self.send(&out, &first.1)?;
        for (i, (_, what)) in reqs.iter().enumerate() {
            self.recv_ack(base.wrapping_add(i as u32), what)?;
        }
        Ok(())
    }

    /// Send a `GET` request (built with [`Msg::without_ack`]) and return the
    /// payload of its one reply.
    pub fn get(&mut self, msg: &Msg, what: &str) -> Result<Vec<u8>> {
        let seq = self.next_seq();
        self.send(&msg.bytes(seq), what)?;
        loop {
            let n = self.recv(what)?;
            for reply in messages(&self.buf[..n]) {
                let reply = reply.map_err(|e| e.context(what))?;
                if reply.seq != seq {
                    continue;
                }
                if u32::from(reply.ty) == nl::NLMSG_ERROR {
                    Ack::parse(&reply)
                        .map_err(|e| e.context(what))?
                        .into_result(what)?;
                    return Err(Error::new(format!("{what}: netlink: ack without a reply")));
                }
                return Ok(reply.payload.to_vec());
            }
        }
    }

    fn send(&self, bytes: &[u8], what: &str) -> Result<()> {
        loop {
            match rustix::net::send(&self.fd, bytes, SendFlags::empty()) {
                Ok(_) => return Ok(()),
                Err(Errno::INTR) => continue,
                Err(e) => return Err(Error::sys(format!("{what}: netlink send"), e)),
            }
        }
    }

    fn recv(&mut self, what: &str) -> Result<usize> {
        if self.buf.len() < RECV_BUF {
            self.buf.resize(RECV_BUF, 0);
        }
        loop {
            match rustix::net::recv(&self.fd, &mut self.buf[..], RecvFlags::empty()) {
                Ok((_, n)) if n > RECV_BUF => {
                    return Err(Error::new(format!(
                        "{what}: netlink reply of {n} bytes truncated"
                    )));
                }
                Ok((_, n)) => return Ok(n),
                Err(Errno::INTR) => continue,
                Err(e) => return Err(Error::sys(format!("{what}: netlink receive"), e)),
            }
        }
    }

    /// Read until the ack for `seq` arrives; other messages are stale and skipped.
    fn recv_ack(&mut self, seq: u32, what: &str) -> Result<()> {
        loop {
            let n = self.recv(what)?;
            for reply in messages(&self.buf[..n]) {
                let reply = reply.map_err(|e| e.context(what))?;
                if reply.seq == seq && u32::from(reply.ty) == nl::NLMSG_ERROR {
                    return Ack::parse(&reply)
                        .map_err(|e| e.context(what))?
                        .into_result(what);
                }
            }
        }
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Read a native-endian u32 at `at`, or `None` past the end.
pub fn read_u32(b: &[u8], at: usize) -> Option<u32> {
    (b.len() >= at + 4).then(|| u32_at(b, at))
}

/// Read a native-endian u64 at `at`, or `None` past the end.
pub fn read_u64(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at + 8)?;
    Some(u64::from_ne_bytes([
        s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7],
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Build an `NLMSG_ERROR` datagram the way the kernel does.
    pub(crate) fn error_reply(seq: u32, errno: i32, request: &[u8], tlvs: &[u8]) -> Vec<u8> {
        let capped = !tlvs.is_empty();
        let mut flags = 0u16;
        let echoed: &[u8] = if errno != 0 && !capped {
            request
        } else {
            &request[..HDR_LEN]
        };
        if capped {
            flags |= (nl::NLM_F_ACK_TLVS | nl::NLM_F_CAPPED) as u16;
        }
        let mut out = Vec::new();
        let len = HDR_LEN + 4 + echoed.len() + tlvs.len();
        out.extend_from_slice(&(len as u32).to_ne_bytes());
        out.extend_from_slice(&(nl::NLMSG_ERROR as u16).to_ne_bytes());
        out.extend_from_slice(&flags.to_ne_bytes());
        out.extend_from_slice(&seq.to_ne_bytes());
        out.extend_from_slice(&1234u32.to_ne_bytes());
        out.extend_from_slice(&(-errno).to_ne_bytes());
        out.extend_from_slice(echoed);
        out.extend_from_slice(tlvs);
        out
    }

    #[test]
    fn header_and_string_attribute_are_padded() {
        let mut m = Msg::new(16, nl::NLM_F_CREATE);
        m.attr_str(3, "eth0");
        let b = m.bytes(7);
        #[rustfmt::skip]
        let want: Vec<u8> = [
            &28u32.to_ne_bytes()[..], &16u16.to_ne_bytes(),
            &((nl::NLM_F_REQUEST | nl::NLM_F_ACK | nl::NLM_F_CREATE) as u16).to_ne_bytes(),
            &7u32.to_ne_bytes(), &0u32.to_ne_bytes(),
            // nla_len 9 ("eth0\0" + 4), type 3, then 3 bytes of padding
            &9u16.to_ne_bytes(), &3u16.to_ne_bytes(), b"eth0\0", &[0, 0, 0],
        ]
        .concat();
        assert_eq!(b, want);
    }

    #[test]
    fn nested_attribute_length_covers_children() {
        let mut m = Msg::new(16, 0);
        let outer = m.begin_nest(18);
        m.attr_str(1, "veth");
        let inner = m.begin_nest(2);
        m.attr_u32(4, 1500);
        m.end_nest(inner);
        m.end_nest(outer);
        let b = m.bytes(1);
        // outer: 4 + (4+5+3) + (4 + 8) = 28; inner: 12
        assert_eq!(u16_at(&b, HDR_LEN), 28);
        assert_eq!(u16_at(&b, HDR_LEN + 2), 18);
        assert_eq!(u16_at(&b, HDR_LEN + 16), 12);
        let outer: Vec<_> = attrs(&b[HDR_LEN..]).collect();
        assert_eq!(outer.len(), 1);
        let inner: Vec<_> = attrs(outer[0].1).collect();
        assert_eq!(inner[0], (1, &b"veth\0"[..]));
        assert_eq!(inner[1].0, 2);
        assert_eq!(find_attr(inner[1].1, 4), Some(&1500u32.to_ne_bytes()[..]));
    }

    #[test]
    fn without_ack_clears_only_the_ack_flag() {
        let b = Msg::new(18, 0).without_ack().bytes(1);
        assert_eq!(u16_at(&b, 6), nl::NLM_F_REQUEST as u16);
    }

    #[test]
    fn ack_parses_as_success() {
        let req = Msg::new(16, 0).bytes(5);
        let datagram = error_reply(5, 0, &req, &[]);
        let replies: Vec<_> = messages(&datagram).collect::<Result<_>>().unwrap();
        assert_eq!(replies.len(), 1);
        assert_eq!(replies[0].seq, 5);
        let ack = Ack::parse(&replies[0]).unwrap();
        assert_eq!(
            ack,
            Ack {
                errno: 0,
                message: None
            }
        );
        assert!(ack.into_result("x").is_ok());
    }

    #[test]
    fn error_with_extended_ack_message() {
        let mut req = Msg::new(16, 0);
        req.attr_u32(4, 100_000);
        let req = req.bytes(9);
        let mut tlv = Msg::new(0, 0);
        tlv.attr_str(
            nl::nlmsgerr_attrs::NLMSGERR_ATTR_MSG as u16,
            "MTU too large",
        );
        tlv.attr_u32(nl::nlmsgerr_attrs::NLMSGERR_ATTR_OFFS as u16, 36);
        let datagram = error_reply(9, 22, &req, &tlv.buf[HDR_LEN..]);
        let reply = messages(&datagram).next().unwrap().unwrap();
        let ack = Ack::parse(&reply).unwrap();
        assert_eq!(
            ack,
            Ack {
                errno: 22,
                message: Some("MTU too large".into())
            }
        );
        let err = ack
            .into_result("network veth: set mtu of eth0")
            .unwrap_err();
        assert_eq!(err.errno(), Some(Errno::INVAL));
        assert_eq!(
            err.to_string(),
            "network veth: set mtu of eth0: MTU too large: Invalid argument"
        );
    }

    #[test]
    fn error_without_tlvs_echoes_the_request() {
        let mut req = Msg::new(16, 0);
        req.attr_str(3, "br0");
        let req = req.bytes(3);
        let datagram = error_reply(3, 19, &req, &[]);
        let reply = messages(&datagram).next().unwrap().unwrap();
        assert_eq!(reply.payload.len(), 4 + req.len());
        let err = Ack::parse(&reply)
            .unwrap()
            .into_result("attach veth0 to bridge br0");
        assert_eq!(
            err.unwrap_err().to_string(),
            "attach veth0 to bridge br0: No such device"
        );
    }

    #[test]
    fn several_messages_in_one_datagram() {
        let req = Msg::new(16, 0).bytes(1);
        let mut datagram = error_reply(1, 0, &req, &[]);
        datagram.extend(error_reply(2, 17, &req, &[]));
        let seqs: Vec<_> = messages(&datagram).map(|r| r.unwrap().seq).collect();
        assert_eq!(seqs, [1, 2]);
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        assert!(messages(&[1, 2, 3]).next().unwrap().is_err());
        let mut bad = Msg::new(16, 0).bytes(1);
        bad[0..4].copy_from_slice(&999u32.to_ne_bytes());
        assert!(messages(&bad).next().unwrap().is_err());
        let short = Reply {
            ty: 2,
            flags: 0,
            seq: 1,
            payload: &[0; 8],
        };
        assert!(Ack::parse(&short).is_err());
        // An attribute claiming more bytes than there are ends the iteration.
        assert_eq!(attrs(&[200, 0, 1, 0, 9, 9]).count(), 0);
    }

    #[test]
    fn alignment() {
        assert_eq!([0, 1, 3, 4, 5, 8].map(align), [0, 4, 4, 4, 8, 8]);
    }
}
