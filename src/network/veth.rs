//! Veth pairs: random names and the one `RTM_NEWLINK` that creates a pair with
//! the host end on its bridge and up, and the peer already in the container's
//! network namespace.

use std::io::Read;

use super::link::{
    IFF_UP, IFLA_IFNAME, IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_LINKINFO, IFLA_MASTER, IFLA_MTU,
    IFLA_NET_NS_PID, IFLA_TXQLEN, MAX_NAME, RTM_NEWLINK, ifinfomsg,
};
use super::netlink::Msg;
use crate::error::{Context, Result};
use linux_raw_sys::netlink as nl;

/// `VETH_INFO_PEER` from `<linux/veth.h>` (not in linux-raw-sys).
pub const VETH_INFO_PEER: u16 = 1;
/// Random hex characters after the prefix (libcontainer's choice).
pub const RANDOM_LEN: usize = 7;
/// Attempts at a free pair of names before giving up.
pub const NAME_ATTEMPTS: usize = 10;
/// The longest `veth_prefix` that leaves room for the random part.
pub const MAX_PREFIX: usize = MAX_NAME - RANDOM_LEN;

/// A pair to create.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VethSpec<'a> {
    pub host: &'a str,
    pub peer: &'a str,
    /// 0: the kernel's default, on both ends.
    pub mtu: u32,
    /// 0: the kernel's default (host end only, as libcontainer did).
    pub txqlen: u32,
    /// Bridge index the host end joins.
    pub master: Option<u32>,
    /// Move the peer into this process's network namespace as it is created.
    pub peer_netns_pid: Option<u32>,
}

/// `RTM_NEWLINK` (`NLM_F_CREATE | NLM_F_EXCL`) creating the pair in one request:
/// `ip link add HOST mtu M txqueuelen Q master BR up type veth peer name PEER mtu M netns PID`.
pub fn new_veth_msg(spec: &VethSpec<'_>) -> Msg {
    let mut m = Msg::new(RTM_NEWLINK, nl::NLM_F_CREATE | nl::NLM_F_EXCL)
        .header(&ifinfomsg(0, IFF_UP, IFF_UP));
    m.attr_str(IFLA_IFNAME, spec.host);
    if spec.mtu != 0 {
        m.attr_u32(IFLA_MTU, spec.mtu);
    }
    if spec.txqlen != 0 {
        m.attr_u32(IFLA_TXQLEN, spec.txqlen);
    }
    if let Some(master) = spec.master {
        m.attr_u32(IFLA_MASTER, master);
    }
    let linkinfo = m.begin_nest(IFLA_LINKINFO);
    m.attr_str(IFLA_INFO_KIND, "veth");
    let data = m.begin_nest(IFLA_INFO_DATA);
    let peer = m.begin_nest(VETH_INFO_PEER);
    m.raw(&ifinfomsg(0, 0, 0));
    m.attr_str(IFLA_IFNAME, spec.peer);
    if spec.mtu != 0 {
        m.attr_u32(IFLA_MTU, spec.mtu);
    }
    if let Some(pid) = spec.peer_netns_pid {
        m.attr_u32(IFLA_NET_NS_PID, pid);
    }
    m.end_nest(peer);
    m.end_nest(data);
    m.end_nest(linkinfo);
    m
}

/// `<prefix><7 hex digits>` from 4 random bytes (28 bits used).
pub fn veth_name(prefix: &str, random: [u8; 4]) -> String {
    let n = u32::from_ne_bytes(random) & 0x0fff_ffff;
    format!("{prefix}{n:07x}")
}

/// Random bytes for every name attempt, read once from `/dev/urandom`.
pub struct NameSource {
    bytes: [u8; 8 * NAME_ATTEMPTS],
    used: usize,
}

impl NameSource {
    pub fn open() -> Result<NameSource> {
        let mut bytes = [0u8; 8 * NAME_ATTEMPTS];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut bytes))
            .ctx(|| "network veth: read /dev/urandom")?;
        Ok(NameSource { bytes, used: 0 })
    }

    /// The next pair of names, `None` when the attempts are used up.
    pub fn next_pair(&mut self, prefix: &str) -> Option<(String, String)> {
        let b = self.bytes.get(self.used..self.used + 8)?;
        self.used += 8;
        Some((
            veth_name(prefix, [b[0], b[1], b[2], b[3]]),
            veth_name(prefix, [b[4], b[5], b[6], b[7]]),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::link::IFLA_ADDRESS;
    use crate::network::netlink::{HDR_LEN, attrs, find_attr};

    #[test]
    fn veth_create_bytes() {
        let spec = VethSpec {
            host: "veth1a2b3c4",
            peer: "veth5d6e7f8",
            mtu: 1500,
            txqlen: 0,
            master: Some(3),
            peer_netns_pid: Some(4242),
        };
        let b = new_veth_msg(&spec).bytes(2);
        let flags = nl::NLM_F_REQUEST | nl::NLM_F_ACK | nl::NLM_F_CREATE | nl::NLM_F_EXCL;
        #[rustfmt::skip]
        let want: Vec<u8> = [
            &136u32.to_ne_bytes()[..], &16u16.to_ne_bytes(), &(flags as u16).to_ne_bytes(),
            &2u32.to_ne_bytes(), &0u32.to_ne_bytes(),
            &[0, 0, 0, 0], &0u32.to_ne_bytes(), &1u32.to_ne_bytes(), &1u32.to_ne_bytes(),
            &16u16.to_ne_bytes(), &3u16.to_ne_bytes(), b"veth1a2b3c4\0",
            &8u16.to_ne_bytes(), &4u16.to_ne_bytes(), &1500u32.to_ne_bytes(),
            &8u16.to_ne_bytes(), &10u16.to_ne_bytes(), &3u32.to_ne_bytes(),
            // IFLA_LINKINFO (18) { IFLA_INFO_KIND "veth", IFLA_INFO_DATA { VETH_INFO_PEER {
            //   ifinfomsg, IFLA_IFNAME, IFLA_MTU, IFLA_NET_NS_PID (19) } } }
            &72u16.to_ne_bytes(), &18u16.to_ne_bytes(),
            &9u16.to_ne_bytes(), &1u16.to_ne_bytes(), b"veth\0", &[0, 0, 0],
            &56u16.to_ne_bytes(), &2u16.to_ne_bytes(),
            &52u16.to_ne_bytes(), &1u16.to_ne_bytes(),
            &[0; 16],
            &16u16.to_ne_bytes(), &3u16.to_ne_bytes(), b"veth5d6e7f8\0",
            &8u16.to_ne_bytes(), &4u16.to_ne_bytes(), &1500u32.to_ne_bytes(),
            &8u16.to_ne_bytes(), &19u16.to_ne_bytes(), &4242u32.to_ne_bytes(),
        ]
        .concat();
        assert_eq!(b, want);
    }

    #[test]
    fn veth_create_defaults_omit_mtu_txqlen_master_netns() {
        let spec = VethSpec {
            host: "a",
            peer: "b",
            txqlen: 0,
            ..VethSpec::default()
        };
        let b = new_veth_msg(&spec).bytes(1);
        let top: Vec<u16> = attrs(&b[HDR_LEN + 16..]).map(|(t, _)| t).collect();
        assert_eq!(top, [IFLA_IFNAME, IFLA_LINKINFO]);
        let info = find_attr(&b[HDR_LEN + 16..], IFLA_LINKINFO).unwrap();
        let data = find_attr(info, IFLA_INFO_DATA).unwrap();
        let peer = find_attr(data, VETH_INFO_PEER).unwrap();
        let peer_attrs: Vec<_> = attrs(&peer[16..]).collect();
        assert_eq!(peer_attrs, [(IFLA_IFNAME, &b"b\0"[..])]);
        assert!(find_attr(&b[HDR_LEN + 16..], IFLA_ADDRESS).is_none());
    }

    #[test]
    fn veth_create_txqlen_on_host_end() {
        let spec = VethSpec {
            host: "a",
            peer: "b",
            txqlen: 1000,
            ..VethSpec::default()
        };
        let b = new_veth_msg(&spec).bytes(1);
        assert_eq!(
            find_attr(&b[HDR_LEN + 16..], IFLA_TXQLEN),
            Some(&1000u32.to_ne_bytes()[..])
        );
    }

    #[test]
    fn names_fit_ifnamsiz() {
        assert_eq!(veth_name("veth", [0xff; 4]), "vethfffffff");
        assert_eq!(veth_name("veth", [0; 4]), "veth0000000");
        let longest = "p".repeat(MAX_PREFIX);
        let name = veth_name(&longest, [0x12, 0x34, 0x56, 0x78]);
        assert_eq!(name.len(), 15);
        assert!(name.len() <= MAX_NAME);
    }

    #[test]
    fn name_source_gives_distinct_pairs_then_runs_out() {
        let mut src = NameSource::open().unwrap();
        let mut seen = std::collections::HashSet::new();
        let mut pairs = 0;
        while let Some((a, b)) = src.next_pair("nsi") {
            assert_eq!(a.len(), 10);
            assert!(a.starts_with("nsi") && a[3..].bytes().all(|c| c.is_ascii_hexdigit()));
            seen.insert(a);
            seen.insert(b);
            pairs += 1;
        }
        assert_eq!(pairs, NAME_ATTEMPTS);
        // 20 names of 28 random bits: a collision would mean the source is broken.
        assert_eq!(seen.len(), 2 * NAME_ATTEMPTS);
    }
}
