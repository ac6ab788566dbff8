//! Addresses: `RTM_NEWADDR` for IPv4 and IPv6.

use std::net::IpAddr;

use linux_raw_sys::netlink as nl;

use super::netlink::Msg;
use crate::config::Cidr;

const RTM_NEWADDR: u16 = nl::RTM_NEWADDR as u16;
pub(crate) const IFA_ADDRESS: u16 = nl::IFA_ADDRESS as u16;
pub(crate) const IFA_LOCAL: u16 = nl::IFA_LOCAL as u16;
pub(crate) const IFA_BROADCAST: u16 = nl::IFA_BROADCAST as u16;

/// The `AF_*` family of an address.
pub fn family(addr: &IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => linux_raw_sys::net::AF_INET as u8,
        IpAddr::V6(_) => linux_raw_sys::net::AF_INET6 as u8,
    }
}

/// The address in network byte order, 4 or 16 bytes.
pub fn octets(addr: &IpAddr) -> Vec<u8> {
    match addr {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// `RTM_NEWADDR` (`NLM_F_CREATE | NLM_F_EXCL`): `ip addr add CIDR dev INDEX`,
/// with `brd +` for IPv4 and `nodad` for IPv6 (a container's address is
/// usable at once instead of staying tentative for a second or more).
pub fn new_addr_msg(index: u32, cidr: &Cidr) -> Msg {
    let nodad = match cidr.addr {
        IpAddr::V6(_) => nl::IFA_F_NODAD as u8,
        IpAddr::V4(_) => 0,
    };
    let mut hdr = [0u8; 8];
    hdr[0] = family(&cidr.addr);
    hdr[1] = cidr.prefix;
    hdr[2] = nodad;
    hdr[3] = 0; // RT_SCOPE_UNIVERSE
    hdr[4..8].copy_from_slice(&index.to_ne_bytes());
    let mut m = Msg::new(RTM_NEWADDR, nl::NLM_F_CREATE | nl::NLM_F_EXCL).header(&hdr);
    let bytes = octets(&cidr.addr);
    m.attr(IFA_LOCAL, &bytes);
    m.attr(IFA_ADDRESS, &bytes);
    if let IpAddr::V4(a) = cidr.addr
        && cidr.prefix < 31
    {
        let host_bits = u32::MAX.checked_shr(u32::from(cidr.prefix)).unwrap_or(0);
        m.attr(IFA_BROADCAST, &(u32::from(a) | host_bits).to_be_bytes());
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::netlink::{HDR_LEN, attrs};

    #[test]
    fn ipv4_address_bytes() {
        let cidr = Cidr {
            addr: "10.200.0.2".parse().unwrap(),
            prefix: 24,
        };
        let b = new_addr_msg(5, &cidr).bytes(4);
        let flags = nl::NLM_F_REQUEST | nl::NLM_F_ACK | nl::NLM_F_CREATE | nl::NLM_F_EXCL;
        #[rustfmt::skip]
        let want: Vec<u8> = [
            &48u32.to_ne_bytes()[..], &20u16.to_ne_bytes(), &(flags as u16).to_ne_bytes(),
            &4u32.to_ne_bytes(), &0u32.to_ne_bytes(),
            // ifaddrmsg: AF_INET, /24, flags 0, scope universe, index 5
            &[2, 24, 0, 0], &5u32.to_ne_bytes(),
            &8u16.to_ne_bytes(), &2u16.to_ne_bytes(), &[10, 200, 0, 2],
            &8u16.to_ne_bytes(), &1u16.to_ne_bytes(), &[10, 200, 0, 2],
            &8u16.to_ne_bytes(), &4u16.to_ne_bytes(), &[10, 200, 0, 255],
        ]
        .concat();
        assert_eq!(b, want);
    }

    #[test]
    fn ipv4_point_to_point_prefixes_have_no_broadcast() {
        for prefix in [31, 32] {
            let cidr = Cidr {
                addr: "10.0.0.1".parse().unwrap(),
                prefix,
            };
            let b = new_addr_msg(1, &cidr).bytes(1);
            assert!(attrs(&b[HDR_LEN + 8..]).all(|(t, _)| t != IFA_BROADCAST));
        }
        let cidr = Cidr {
            addr: "10.1.2.3".parse().unwrap(),
            prefix: 0,
        };
        let b = new_addr_msg(1, &cidr).bytes(1);
        let brd = attrs(&b[HDR_LEN + 8..])
            .find(|(t, _)| *t == IFA_BROADCAST)
            .unwrap();
        assert_eq!(brd.1, [255, 255, 255, 255]);
    }

    #[test]
    fn ipv6_address_bytes() {
        let cidr = Cidr {
            addr: "fd00::2".parse().unwrap(),
            prefix: 64,
        };
        let b = new_addr_msg(9, &cidr).bytes(1);
        assert_eq!(b.len(), HDR_LEN + 8 + 20 + 20);
        assert_eq!(
            &b[HDR_LEN..HDR_LEN + 4],
            &[10, 64, nl::IFA_F_NODAD as u8, 0]
        );
        assert_eq!(&b[HDR_LEN + 4..HDR_LEN + 8], &9u32.to_ne_bytes());
        let mut want = [0u8; 16];
        want[0] = 0xfd;
        want[15] = 2;
        let got: Vec<_> = attrs(&b[HDR_LEN + 8..]).collect();
        assert_eq!(got, [(IFA_LOCAL, &want[..]), (IFA_ADDRESS, &want[..])]);
    }
}
