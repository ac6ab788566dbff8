//! Routes: `RTM_NEWROUTE` in the main table.

use std::net::IpAddr;

use linux_raw_sys::netlink as nl;

use super::addr::{family, octets};
use super::netlink::Msg;
use crate::config::Cidr;
use crate::error::{Error, Result};

const RTM_NEWROUTE: u16 = nl::RTM_NEWROUTE as u16;
pub(crate) const RTA_DST: u16 = nl::rtattr_type_t::RTA_DST as u16;
pub(crate) const RTA_OIF: u16 = nl::rtattr_type_t::RTA_OIF as u16;
pub(crate) const RTA_GATEWAY: u16 = nl::rtattr_type_t::RTA_GATEWAY as u16;
pub(crate) const RTA_PREFSRC: u16 = nl::rtattr_type_t::RTA_PREFSRC as u16;

/// A route to add, with the interface already resolved to an index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteSpec {
    /// `None`: the default route.
    pub destination: Option<Cidr>,
    pub gateway: Option<IpAddr>,
    /// Preferred source address (`ip route add … src ADDR`).
    pub source: Option<IpAddr>,
    pub oif: Option<u32>,
}

impl RouteSpec {
    /// The family shared by every address in the route; an error when they mix.
    pub fn family(&self) -> Result<u8> {
        let addrs = [self.destination.map(|c| c.addr), self.gateway, self.source];
        let mut fams = addrs.iter().flatten().map(family);
        let Some(first) = fams.next() else {
            return Err(Error::new("needs a destination, a gateway or a source"));
        };
        if fams.any(|f| f != first) {
            return Err(Error::new("mixes IPv4 and IPv6 addresses"));
        }
        Ok(first)
    }
}

impl std::fmt::Display for RouteSpec {
    /// `ip route` syntax: `default via 10.0.0.1`, `10.1.0.0/16 dev #3 src 10.0.0.2`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.destination {
            Some(d) => write!(f, "{d}")?,
            None => f.write_str("default")?,
        }
        if let Some(g) = &self.gateway {
            write!(f, " via {g}")?;
        }
        if let Some(s) = &self.source {
            write!(f, " src {s}")?;
        }
        Ok(())
    }
}

/// `RTM_NEWROUTE` (`NLM_F_CREATE | NLM_F_EXCL`) in the main table, protocol
/// boot, unicast; scope link when there is no gateway (a directly connected
/// route), universe otherwise, as `ip route add` does.
pub fn new_route_msg(route: &RouteSpec) -> Result<Msg> {
    let fam = route.family()?;
    let dst_len = route.destination.map_or(0, |d| d.prefix);
    let scope = if route.gateway.is_some() {
        nl::rt_scope_t::RT_SCOPE_UNIVERSE as u8
    } else {
        nl::rt_scope_t::RT_SCOPE_LINK as u8
    };
    let hdr = [
        fam,
        dst_len,
        0, // rtm_src_len
        0, // rtm_tos
        nl::rt_class_t::RT_TABLE_MAIN as u8,
        nl::RTPROT_BOOT as u8,
        scope,
        nl::RTN_UNICAST as u8,
        0,
        0,
        0,
        0, // rtm_flags
    ];
    let mut m = Msg::new(RTM_NEWROUTE, nl::NLM_F_CREATE | nl::NLM_F_EXCL).header(&hdr);
    if let Some(d) = &route.destination {
        m.attr(RTA_DST, &octets(&d.addr));
    }
    if let Some(g) = &route.gateway {
        m.attr(RTA_GATEWAY, &octets(g));
    }
    if let Some(s) = &route.source {
        m.attr(RTA_PREFSRC, &octets(s));
    }
    if let Some(oif) = route.oif {
        m.attr_u32(RTA_OIF, oif);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::netlink::{HDR_LEN, attrs};

    #[test]
    fn ipv4_default_route_bytes() {
        let r = RouteSpec {
            gateway: Some("10.200.0.1".parse().unwrap()),
            oif: Some(5),
            ..RouteSpec::default()
        };
        let b = new_route_msg(&r).unwrap().bytes(6);
        let flags = nl::NLM_F_REQUEST | nl::NLM_F_ACK | nl::NLM_F_CREATE | nl::NLM_F_EXCL;
        #[rustfmt::skip]
        let want: Vec<u8> = [
            &44u32.to_ne_bytes()[..], &24u16.to_ne_bytes(), &(flags as u16).to_ne_bytes(),
            &6u32.to_ne_bytes(), &0u32.to_ne_bytes(),
            // rtmsg: AF_INET, dst_len 0, src_len 0, tos 0, table main, boot, universe, unicast
            &[2, 0, 0, 0, 254, 3, 0, 1], &0u32.to_ne_bytes(),
            &8u16.to_ne_bytes(), &5u16.to_ne_bytes(), &[10, 200, 0, 1],
            &8u16.to_ne_bytes(), &4u16.to_ne_bytes(), &5u32.to_ne_bytes(),
        ]
        .concat();
        assert_eq!(b, want);
        assert_eq!(r.to_string(), "default via 10.200.0.1");
    }

    #[test]
    fn ipv6_link_route_with_source() {
        let r = RouteSpec {
            destination: Some(Cidr {
                addr: "fd01::".parse().unwrap(),
                prefix: 48,
            }),
            source: Some("fd00::2".parse().unwrap()),
            oif: Some(2),
            ..RouteSpec::default()
        };
        let b = new_route_msg(&r).unwrap().bytes(1);
        assert_eq!(&b[HDR_LEN..HDR_LEN + 8], &[10, 48, 0, 0, 254, 3, 253, 1]);
        let got: Vec<_> = attrs(&b[HDR_LEN + 12..])
            .map(|(t, d)| (t, d.len()))
            .collect();
        assert_eq!(got, [(RTA_DST, 16), (RTA_PREFSRC, 16), (RTA_OIF, 4)]);
        assert_eq!(r.to_string(), "fd01::/48 src fd00::2");
    }

    #[test]
    fn family_must_agree_and_exist() {
        let mixed = RouteSpec {
            destination: Some(Cidr {
                addr: "10.0.0.0".parse().unwrap(),
                prefix: 8,
            }),
            gateway: Some("fd00::1".parse().unwrap()),
            ..RouteSpec::default()
        };
        assert_eq!(
            new_route_msg(&mixed).unwrap_err().to_string(),
            "mixes IPv4 and IPv6 addresses"
        );
        let empty = RouteSpec {
            oif: Some(1),
            ..RouteSpec::default()
        };
        assert!(new_route_msg(&empty).is_err());
    }
}
