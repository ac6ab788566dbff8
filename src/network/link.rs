//! Links: `RTM_NEWLINK` to change an existing interface, `RTM_DELLINK`,
//! `RTM_GETLINK` with its counters, and the name → index lookup.
//! <https://man7.org/linux/man-pages/man7/rtnetlink.7.html>

use linux_raw_sys::netlink as nl;
use rustix::io::Errno;

use super::netlink::{self, Msg, Socket};
use crate::error::Result;

/// `IFF_UP` from `enum net_device_flags`.
pub const IFF_UP: u32 = linux_raw_sys::net::net_device_flags::IFF_UP as u32;
/// The longest interface name (`IFNAMSIZ` less the NUL).
pub const MAX_NAME: usize = linux_raw_sys::net::IFNAMSIZ as usize - 1;

pub(crate) const IFLA_ADDRESS: u16 = nl::IFLA_ADDRESS as u16;
pub(crate) const IFLA_IFNAME: u16 = nl::IFLA_IFNAME as u16;
pub(crate) const IFLA_MTU: u16 = nl::IFLA_MTU as u16;
pub(crate) const IFLA_MASTER: u16 = nl::IFLA_MASTER as u16;
pub(crate) const IFLA_TXQLEN: u16 = nl::IFLA_TXQLEN as u16;
pub(crate) const IFLA_LINKINFO: u16 = nl::IFLA_LINKINFO as u16;
pub(crate) const IFLA_NET_NS_PID: u16 = nl::IFLA_NET_NS_PID as u16;
pub(crate) const IFLA_STATS64: u16 = nl::IFLA_STATS64 as u16;
pub(crate) const IFLA_INFO_KIND: u16 = nl::IFLA_INFO_KIND as u16;
pub(crate) const IFLA_INFO_DATA: u16 = nl::IFLA_INFO_DATA as u16;
pub(crate) const RTM_NEWLINK: u16 = nl::RTM_NEWLINK as u16;
const RTM_DELLINK: u16 = nl::RTM_DELLINK as u16;
const RTM_GETLINK: u16 = nl::RTM_GETLINK as u16;

/// `struct ifinfomsg` (AF_UNSPEC): which link, and which flags to change.
pub fn ifinfomsg(index: u32, flags: u32, change: u32) -> [u8; 16] {
    let mut b = [0u8; 16];
    // ifi_family = AF_UNSPEC, __ifi_pad, ifi_type = 0
    b[4..8].copy_from_slice(&index.to_ne_bytes());
    b[8..12].copy_from_slice(&flags.to_ne_bytes());
    b[12..16].copy_from_slice(&change.to_ne_bytes());
    b
}

/// What one `RTM_NEWLINK` changes on an existing link. The kernel applies the
/// name first and the flags last (`do_setlink`), so a rename, MAC, MTU and "up"
/// fit in a single request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkChange<'a> {
    pub name: Option<&'a str>,
    pub mac: Option<[u8; 6]>,
    pub mtu: Option<u32>,
    pub txqlen: Option<u32>,
    pub master: Option<u32>,
    pub up: bool,
}

/// `RTM_NEWLINK` on link `index` (which must exist) with `change`.
pub fn set_link_msg(index: u32, change: &LinkChange<'_>) -> Msg {
    let up = if change.up { IFF_UP } else { 0 };
    let mut m = Msg::new(RTM_NEWLINK, 0).header(&ifinfomsg(index, up, up));
    if let Some(name) = change.name {
        m.attr_str(IFLA_IFNAME, name);
    }
    if let Some(mac) = change.mac {
        m.attr(IFLA_ADDRESS, &mac);
    }
    if let Some(mtu) = change.mtu {
        m.attr_u32(IFLA_MTU, mtu);
    }
    if let Some(q) = change.txqlen {
        m.attr_u32(IFLA_TXQLEN, q);
    }
    if let Some(master) = change.master {
        m.attr_u32(IFLA_MASTER, master);
    }
    m
}

/// `RTM_NEWLINK` bringing the link called `name` up (the kernel looks it up by name).
pub fn set_up_by_name_msg(name: &str) -> Msg {
    let mut m = Msg::new(RTM_NEWLINK, 0).header(&ifinfomsg(0, IFF_UP, IFF_UP));
    m.attr_str(IFLA_IFNAME, name);
    m
}

/// `RTM_DELLINK` for the link called `name` (a veth takes its peer with it).
pub fn del_link_msg(name: &str) -> Msg {
    let mut m = Msg::new(RTM_DELLINK, 0).header(&ifinfomsg(0, 0, 0));
    m.attr_str(IFLA_IFNAME, name);
    m
}

/// `RTM_GETLINK` for the link called `name`; the reply is one `RTM_NEWLINK`.
pub fn get_link_msg(name: &str) -> Msg {
    let mut m = Msg::new(RTM_GETLINK, 0)
        .without_ack()
        .header(&ifinfomsg(0, 0, 0));
    m.attr_str(IFLA_IFNAME, name);
    m
}

/// Interface counters (`struct rtnl_link_stats64`, first eight fields).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_errors: u64,
    pub tx_errors: u64,
    pub rx_dropped: u64,
    pub tx_dropped: u64,
}

impl Counters {
    /// The same traffic seen from the other end of a point-to-point link.
    pub fn swapped(self) -> Counters {
        Counters {
            rx_packets: self.tx_packets,
            tx_packets: self.rx_packets,
            rx_bytes: self.tx_bytes,
            tx_bytes: self.rx_bytes,
            rx_errors: self.tx_errors,
            tx_errors: self.rx_errors,
            rx_dropped: self.tx_dropped,
            tx_dropped: self.rx_dropped,
        }
    }
}

/// What nsinit reads back from an `RTM_NEWLINK` reply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: u32,
    pub flags: u32,
    pub name: String,
    /// `IFLA_INFO_KIND`: `bridge`, `veth`, … (`None` for lo and physical devices).
    pub kind: Option<String>,
    pub master: Option<u32>,
    pub counters: Option<Counters>,
}

/// Decode the payload of an `RTM_NEWLINK` message.
pub fn parse_link(payload: &[u8]) -> Option<LinkInfo> {
    let index = netlink::read_u32(payload, 4)?;
    let flags = netlink::read_u32(payload, 8)?;
    let mut info = LinkInfo {
        index,
        flags,
        ..LinkInfo::default()
    };
    for (ty, data) in netlink::attrs(payload.get(16..)?) {
        match ty {
            IFLA_IFNAME => info.name = netlink::attr_string(data),
            IFLA_MASTER => info.master = netlink::read_u32(data, 0),
            IFLA_LINKINFO => {
                info.kind = netlink::find_attr(data, IFLA_INFO_KIND).map(netlink::attr_string)
            }
            IFLA_STATS64 => info.counters = parse_counters(data),
            _ => {}
        }
    }
    Some(info)
}

/// The first eight `u64` of `struct rtnl_link_stats64`.
fn parse_counters(data: &[u8]) -> Option<Counters> {
    let f = |i: usize| netlink::read_u64(data, i * 8);
    Some(Counters {
        rx_packets: f(0)?,
        tx_packets: f(1)?,
        rx_bytes: f(2)?,
        tx_bytes: f(3)?,
        rx_errors: f(4)?,
        tx_errors: f(5)?,
        rx_dropped: f(6)?,
        tx_dropped: f(7)?,
    })
}

/// Look up a link by name: `Ok(None)` when there is none.
pub fn get_link(sock: &mut Socket, name: &str, what: &str) -> Result<Option<LinkInfo>> {
    match sock.get(&get_link_msg(name), what) {
        Ok(payload) => Ok(parse_link(&payload)),
        Err(e) if e.errno() == Some(Errno::NODEV) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `SIOCGIFINDEX`: the index of the link called `name`, one ioctl on the
/// netlink socket (cheaper than an `RTM_GETLINK` round trip).
pub fn index_of(sock: &Socket, name: &str) -> std::result::Result<u32, Errno> {
    rustix::net::netdevice::name_to_index(sock.fd(), name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::netlink::HDR_LEN;

    fn flags(b: &[u8]) -> u16 {
        u16::from_ne_bytes([b[6], b[7]])
    }

    #[test]
    fn setlink_rename_mac_mtu_up_bytes() {
        let change = LinkChange {
            name: Some("eth0"),
            mac: Some([0x02, 0x42, 0xac, 0x11, 0x00, 0x02]),
            mtu: Some(1400),
            up: true,
            ..LinkChange::default()
        };
        let b = set_link_msg(7, &change).bytes(3);
        #[rustfmt::skip]
        let want: Vec<u8> = [
            &64u32.to_ne_bytes()[..], &16u16.to_ne_bytes(), &5u16.to_ne_bytes(),
            &3u32.to_ne_bytes(), &0u32.to_ne_bytes(),
            // ifinfomsg: AF_UNSPEC, pad, type 0, index 7, flags UP, change UP
            &[0, 0, 0, 0], &7u32.to_ne_bytes(), &1u32.to_ne_bytes(), &1u32.to_ne_bytes(),
            &9u16.to_ne_bytes(), &3u16.to_ne_bytes(), b"eth0\0", &[0, 0, 0],
            &10u16.to_ne_bytes(), &1u16.to_ne_bytes(), &[0x02, 0x42, 0xac, 0x11, 0, 2], &[0, 0],
            &8u16.to_ne_bytes(), &4u16.to_ne_bytes(), &1400u32.to_ne_bytes(),
        ]
        .concat();
        assert_eq!(b, want);
    }

    #[test]
    fn setlink_master_txqlen_without_up_leaves_flags_alone() {
        let change = LinkChange {
            master: Some(4),
            txqlen: Some(500),
            ..LinkChange::default()
        };
        let b = set_link_msg(9, &change).bytes(1);
        assert_eq!(&b[HDR_LEN..HDR_LEN + 16], &ifinfomsg(9, 0, 0));
        let attrs: Vec<_> = netlink::attrs(&b[HDR_LEN + 16..]).collect();
        assert_eq!(
            attrs,
            [
                (IFLA_TXQLEN, &500u32.to_ne_bytes()[..]),
                (IFLA_MASTER, &4u32.to_ne_bytes()[..])
            ]
        );
    }

    #[test]
    fn up_by_name_and_delete_and_get() {
        let b = set_up_by_name_msg("lo").bytes(1);
        assert_eq!(b.len(), HDR_LEN + 16 + 8);
        assert_eq!(&b[HDR_LEN..HDR_LEN + 16], &ifinfomsg(0, IFF_UP, IFF_UP));
        assert_eq!(
            netlink::find_attr(&b[HDR_LEN + 16..], IFLA_IFNAME),
            Some(&b"lo\0"[..])
        );

        let b = del_link_msg("veth1234567").bytes(2);
        assert_eq!(u16::from_ne_bytes([b[4], b[5]]), nl::RTM_DELLINK as u16);
        assert_eq!(flags(&b), (nl::NLM_F_REQUEST | nl::NLM_F_ACK) as u16);

        let b = get_link_msg("br0").bytes(3);
        assert_eq!(u16::from_ne_bytes([b[4], b[5]]), nl::RTM_GETLINK as u16);
        assert_eq!(flags(&b), nl::NLM_F_REQUEST as u16);
    }

    #[test]
    fn parse_link_reply_with_kind_master_and_counters() {
        let mut m = Msg::new(RTM_NEWLINK, 0).header(&ifinfomsg(12, IFF_UP | 0x1000, 0));
        m.attr_str(IFLA_IFNAME, "vethab12cd3");
        m.attr_u32(IFLA_MASTER, 4);
        let li = m.begin_nest(IFLA_LINKINFO);
        m.attr_str(IFLA_INFO_KIND, "veth");
        m.end_nest(li);
        let stats: Vec<u8> = (1..=24u64).flat_map(|v| v.to_ne_bytes()).collect();
        m.attr(IFLA_STATS64, &stats);
        let b = m.bytes(1);
        let info = parse_link(&b[HDR_LEN..]).unwrap();
        assert_eq!(info.index, 12);
        assert_eq!(info.flags & IFF_UP, IFF_UP);
        assert_eq!(info.name, "vethab12cd3");
        assert_eq!(info.kind.as_deref(), Some("veth"));
        assert_eq!(info.master, Some(4));
        let c = info.counters.unwrap();
        assert_eq!(
            (c.rx_packets, c.tx_packets, c.rx_bytes, c.tx_bytes),
            (1, 2, 3, 4)
        );
        assert_eq!(
            (c.rx_errors, c.tx_errors, c.rx_dropped, c.tx_dropped),
            (5, 6, 7, 8)
        );
        let s = c.swapped();
        assert_eq!(
            (s.rx_packets, s.tx_packets, s.rx_bytes, s.tx_bytes),
            (2, 1, 4, 3)
        );
        assert_eq!(
            (s.rx_errors, s.tx_errors, s.rx_dropped, s.tx_dropped),
            (6, 5, 8, 7)
        );
    }

    #[test]
    fn parse_link_rejects_a_short_payload() {
        assert_eq!(parse_link(&[0; 8]), None);
        // Truncated stats are dropped, not misread.
        let mut m = Msg::new(RTM_NEWLINK, 0).header(&ifinfomsg(1, 0, 0));
        m.attr(IFLA_STATS64, &[0; 20]);
        let info = parse_link(&m.bytes(1)[HDR_LEN..]).unwrap();
        assert_eq!((info.index, info.counters), (1, None));
    }
}
