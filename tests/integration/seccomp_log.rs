//! SCMP_ACT_LOG (issue 15): the call is allowed and the kernel writes an
//! audit record (type 1326, SECCOMP) for it.
//!
//! The record is read from the audit read-log multicast group, which gets
//! every record whether or not an audit daemon runs. The kernel log is no
//! witness: without auditd the kernel copies records there only within
//! printk's rate limit (10 per 5 s, shared with other seccomp kills), and a
//! full ring buffer drops an old matching line as the new one arrives.

use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use rustix::net::{self, AddressFamily, RecvFlags, SocketType, netlink, sockopt};
use serde_json::json;

use crate::common::*;

/// `AUDIT_NLGRP_READLOG`, as a bind group mask (group 1).
const READLOG: u32 = 1;
/// `AUDIT_SECCOMP`.
const SECCOMP_RECORD: u16 = 1326;

/// A socket that receives every audit record from now on.
fn audit_records() -> OwnedFd {
    let fd = net::socket(
        AddressFamily::NETLINK,
        SocketType::RAW,
        Some(netlink::AUDIT),
    )
    .expect("socket(NETLINK_AUDIT)");
    net::bind(&fd, &netlink::SocketAddrNetlink::new(0, READLOG))
        .expect("bind NETLINK_AUDIT to the read-log group (needs CAP_AUDIT_READ)");
    sockopt::set_socket_timeout(
        &fd,
        sockopt::Timeout::Recv,
        Some(Duration::from_millis(100)),
    )
    .expect("SO_RCVTIMEO");
    // Room for the records of every other test meanwhile (root: past rmem_max).
    sockopt::set_socket_recv_buffer_size_force(&fd, 4 << 20).expect("SO_RCVBUFFORCE");
    fd
}

/// The text of the audit records `fd` receives until `limit`, each passed
/// to `found` until it says yes; panics naming `what` after `limit`.
fn wait_for_record(fd: &OwnedFd, limit: Duration, what: &str, found: impl Fn(&str) -> bool) {
    let start = Instant::now();
    let mut buf = vec![0u8; 16384];
    loop {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        let n = match net::recv(fd, &mut buf[..], RecvFlags::empty()) {
            Ok((n, _)) => n,
            // NOBUFS: records of other tests overflowed the queue and were
            // dropped; ours, if not yet sent, still comes.
            Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR | rustix::io::Errno::NOBUFS) => {
                continue;
            }
            Err(e) => panic!("recv from the audit socket: {e}"),
        };
        // One netlink message per datagram: a 16-byte header (length u32,
        // type u16, …) and the record's text.
        if n < 16 || u16::from_ne_bytes([buf[4], buf[5]]) != SECCOMP_RECORD {
            continue;
        }
        if found(&String::from_utf8_lossy(&buf[16..n])) {
            return;
        }
    }
}

#[test]
fn log_action_allows_the_call_and_audits_it() {
    if !can_run() {
        return;
    }
    let logged = std::fs::read_to_string("/proc/sys/kernel/seccomp/actions_logged");
    if !logged.is_ok_and(|l| l.split_whitespace().any(|a| a == "log")) {
        not_applicable("kernel.seccomp.actions_logged lacks log");
        return;
    }
    let mut cfg = base_config();
    cfg["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_LOG"}]});
    let c = Container::new("seccomp-log", &cfg);
    let records = audit_records();
    let text = ok(&c.exec(&["sh", "-c", "mkdir /tmp/l && test -d /tmp/l && echo made"]));
    assert_eq!(text, "made\n");
    // A logged (code 0x7ffc0000) mkdir or mkdirat by busybox's mkdir.
    wait_for_record(
        &records,
        Duration::from_secs(10),
        "an audit record of the mkdir",
        |r| {
            r.contains("comm=\"mkdir\"")
                && r.contains("code=0x7ffc0000")
                && (r.contains("syscall=83 ") || r.contains("syscall=258 "))
        },
    );
}
