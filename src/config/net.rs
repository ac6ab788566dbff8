//! `networks` and `routes`: strategy types, interface names, CIDR addresses,
//! gateways, MTU and MAC addresses.

use std::net::IpAddr;

use super::input::{NetworkIn, RouteIn};
use super::json::{Diag, Indexed, index, join};
use super::validate::host_path;
use super::{Cidr, Network, Ns, NsSet, Route, Veth};

/// Bridge used by `create_bridge` when `bridge` is empty.
pub const DEFAULT_BRIDGE: &str = "nsinit0";
/// Host-side name prefix when `veth_prefix` is empty (libcontainer required it;
/// its samples all used this).
pub const DEFAULT_VETH_PREFIX: &str = "veth";
/// Random hex characters appended to the prefix.
pub const VETH_SUFFIX_LEN: usize = 7;
/// IFNAMSIZ minus the NUL.
const IFNAME_MAX: usize = 15;

pub(super) fn resolve_networks(
    list: Indexed<NetworkIn>,
    path: &str,
    ns: NsSet,
    d: &mut Diag,
) -> Vec<Network> {
    let mut out = Vec::new();
    let (mut veth_at, mut netns_at) = (None::<String>, None::<String>);
    for (i, n) in list.0 {
        let here = index(path, i);
        let kind = n.kind.clone().unwrap_or_default();
        let net = match kind.as_str() {
            "loopback" => {
                // address, gateway and mtu are ignored, as in libcontainer
                // (its samples set them to 127.0.0.1/0, localhost and 1500).
                require_newnet(ns, &here, "a loopback", d);
                Some(Network::Loopback)
            }
            "netns" => {
                if let Some(first) = netns_at.as_ref().or(veth_at.as_ref()) {
                    d.error(
                        &here,
                        format_args!("a netns network cannot be combined with {first}"),
                    );
                }
                netns_at.get_or_insert(here.clone());
                match n.ns_path.as_deref().filter(|p| !p.is_empty()) {
                    None => {
                        d.error(&join(&here, "ns_path"), "required for a netns network");
                        None
                    }
                    Some(p) => host_path(p, &join(&here, "ns_path"), d)
                        .map(|ns_path| Network::Netns { ns_path }),
                }
            }
            "veth" => {
                require_newnet(ns, &here, "a veth", d);
                if let Some(first) = veth_at.as_ref() {
                    d.error(
                        &here,
                        format_args!(
                            "only one veth network is supported (each becomes eth0), {first} is one"
                        ),
                    );
                } else if let Some(first) = netns_at.as_ref() {
                    d.error(
                        &here,
                        format_args!(
                            "a veth network cannot be combined with the netns network {first}"
                        ),
                    );
                }
                veth_at.get_or_insert(here.clone());
                resolve_veth(n, &here, d).map(Network::Veth)
            }
            "" => {
                d.error(&join(&here, "type"), "required (loopback, veth or netns)");
                None
            }
            other => {
                d.error(
                    &join(&here, "type"),
                    format_args!(
                        "unknown network type {other:?} (expected loopback, veth or netns)"
                    ),
                );
                None
            }
        };
        out.extend(net);
    }
    out
}

fn require_newnet(ns: NsSet, path: &str, what: &str, d: &mut Diag) {
    if !ns.contains(Ns::Net) {
        d.error(
            path,
            format_args!("{what} network requires namespaces.NEWNET"),
        );
    }
}

fn resolve_veth(n: NetworkIn, path: &str, d: &mut Diag) -> Option<Veth> {
    let at = |key: &str| join(path, key);
    let errors_before = d.errors.len();
    let create_bridge = n.create_bridge.unwrap_or(false);
    let bridge = match n.bridge.filter(|b| !b.is_empty()) {
        Some(b) => {
            check_ifname(&b, &at("bridge"), IFNAME_MAX, d);
            b
        }
        None if create_bridge => DEFAULT_BRIDGE.to_string(),
        None => {
            d.error(
                &at("bridge"),
                "required for a veth network (or set create_bridge)",
            );
            String::new()
        }
    };
    let veth_prefix = n
        .veth_prefix
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| DEFAULT_VETH_PREFIX.to_string());
    check_ifname(
        &veth_prefix,
        &at("veth_prefix"),
        IFNAME_MAX - VETH_SUFFIX_LEN,
        d,
    );

    let mac_address = n.mac_address.filter(|m| !m.is_empty()).and_then(|m| {
        let mac = parse_mac(&m);
        match mac {
            None => d.error(
                &at("mac_address"),
                format_args!("expected a MAC address like 02:42:0a:58:00:02, got {m:?}"),
            ),
            Some(b) if b[0] & 1 == 1 => d.error(
                &at("mac_address"),
                format_args!("{m:?} is a multicast address"),
            ),
            Some(b) if b == [0; 6] => d.error(
                &at("mac_address"),
                format_args!("{m:?} is the zero address"),
            ),
            Some(_) => return mac,
        }
        None
    });
    let address = opt_cidr(n.address, &at("address"), Family::V4, d);
    let ipv6_address = opt_cidr(n.ipv6_address, &at("ipv6_address"), Family::V6, d);
    let gateway = opt_ip(n.gateway, &at("gateway"), Family::V4, d);
    let ipv6_gateway = opt_ip(n.ipv6_gateway, &at("ipv6_gateway"), Family::V6, d);
    for (gw, addr, gw_key, addr_key) in [
        (gateway, address, "gateway", "address"),
        (ipv6_gateway, ipv6_address, "ipv6_gateway", "ipv6_address"),
    ] {
        if let (Some(gw), Some(addr)) = (gw, addr) {
            if !contains(addr, gw) {
                d.error(
                    &at(gw_key),
                    format_args!("{gw} is outside {} {addr}", at(addr_key)),
                );
            } else if gw == addr.addr {
                d.error(
                    &at(gw_key),
                    format_args!("{gw} is the container's own {addr_key}"),
                );
            }
        }
    }
    let mtu = match n.mtu.unwrap_or(0) {
        0 => 0,
        m if (68..=65535).contains(&m) => m as u32,
        m => {
            d.error(
                &at("mtu"),
                format_args!("must be between 68 and 65535 (0 for the default), got {m}"),
            );
            0
        }
    };
    let txqueuelen = match n.txqueuelen.unwrap_or(0) {
        q if (0..=i64::from(u32::MAX)).contains(&q) => q as u32,
        q => {
            d.error(
                &at("txqueuelen"),
                format_args!("must be between 0 and 4294967295, got {q}"),
            );
            0
        }
    };
    (d.errors.len() == errors_before).then_some(Veth {
        bridge,
        veth_prefix,
        mac_address,
        address,
        ipv6_address,
        gateway,
        ipv6_gateway,
        mtu,
        txqueuelen,
        create_bridge,
    })
}

/// The kernel's `dev_valid_name`, with `max` bytes.
fn check_ifname(name: &str, path: &str, max: usize, d: &mut Diag) {
    if name.len() > max {
        let why = if max < IFNAME_MAX {
            format!("at most {max} bytes, as {VETH_SUFFIX_LEN} random hex characters are appended")
        } else {
            format!("at most {max} bytes")
        };
        d.error(path, format_args!("{name:?} is too long ({why})"));
    } else if name == "."
        || name == ".."
        || name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c == '\0')
    {
        d.error(path, format_args!("invalid interface name {name:?}"));
    }
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let sep = if s.contains('-') { '-' } else { ':' };
    let mut out = [0u8; 6];
    let mut parts = s.split(sep);
    for byte in &mut out {
        let p = parts.next()?;
        if p.len() != 2 {
            return None;
        }
        *byte = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    V4,
    V6,
    Any,
}

impl Family {
    fn of(ip: IpAddr) -> Family {
        if ip.is_ipv4() { Family::V4 } else { Family::V6 }
    }
    fn accepts(self, ip: IpAddr) -> bool {
        self == Family::Any || self == Family::of(ip)
    }
    fn name(self) -> &'static str {
        match self {
            Family::V4 => "an IPv4 address",
            Family::V6 => "an IPv6 address",
            Family::Any => "an IP address",
        }
    }
}

/// `ADDR/PREFIX`.
pub fn parse_cidr(s: &str) -> Option<Cidr> {
    let (addr, prefix) = s.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    if prefix.is_empty() || prefix.len() > 3 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let prefix: u8 = prefix.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (prefix <= max).then_some(Cidr { addr, prefix })
}

fn opt_cidr(s: Option<String>, path: &str, family: Family, d: &mut Diag) -> Option<Cidr> {
    let s = s.filter(|s| !s.is_empty())?;
    let example = match family {
        Family::V6 => "fd00::2/64",
        _ => "10.88.0.2/24",
    };
    match parse_cidr(&s) {
        Some(c) if family.accepts(c.addr) => Some(c),
        _ => {
            d.error(
                path,
                format_args!(
                    "expected {} with a prefix length like {example}, got {s:?}",
                    family.name()
                ),
            );
            None
        }
    }
}

fn opt_ip(s: Option<String>, path: &str, family: Family, d: &mut Diag) -> Option<IpAddr> {
    let s = s.filter(|s| !s.is_empty())?;
    match s.parse::<IpAddr>() {
        Ok(ip) if family.accepts(ip) => Some(ip),
        _ => {
            d.error(path, format_args!("expected {}, got {s:?}", family.name()));
            None
        }
    }
}

/// The network part of `c`, as bits.
fn network_bits(c: Cidr) -> (u128, u128) {
    let (bits, width) = match c.addr {
        IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
        IpAddr::V6(a) => (u128::from(a), 128),
    };
    let host_bits = width - u32::from(c.prefix);
    let mask = if host_bits >= 128 {
        0
    } else {
        !0u128 << host_bits
    };
    let mask = if width == 32 {
        mask & u128::from(u32::MAX)
    } else {
        mask
    };
    (bits & mask, bits)
}

fn contains(net: Cidr, ip: IpAddr) -> bool {
    if Family::of(net.addr) != Family::of(ip) {
        return false;
    }
    let probe = Cidr {
        addr: ip,
        prefix: net.prefix,
    };
    network_bits(net).0 == network_bits(probe).0
}

pub(super) fn resolve_routes(
    list: Indexed<RouteIn>,
    path: &str,
    ns: NsSet,
    nets: &[Network],
    d: &mut Diag,
) -> Vec<Route> {
    let has_netns = nets.iter().any(|n| matches!(n, Network::Netns { .. }));
    if !list.0.is_empty() && !ns.contains(Ns::Net) && !has_netns {
        d.error(path, "requires namespaces.NEWNET (or a netns network)");
    }
    let mut out = Vec::new();
    for (i, r) in list.0 {
        let here = index(path, i);
        let at = |key: &str| join(&here, key);
        let before = d.errors.len();
        let destination = opt_cidr(r.destination, &at("destination"), Family::Any, d);
        if let Some(dst) = destination {
            let (net, bits) = network_bits(dst);
            if net != bits {
                let fixed = Cidr {
                    addr: from_bits(dst.addr, net),
                    prefix: dst.prefix,
                };
                d.error(
                    &at("destination"),
                    format_args!("{dst} has host bits set (did you mean {fixed}?)"),
                );
            }
        }
        // The 2014 schema calls `source` a CIDR; a bare address is accepted too.
        let source = r.source.filter(|s| !s.is_empty()).and_then(|s| {
            let ip = parse_cidr(&s).map(|c| c.addr).or_else(|| s.parse().ok());
            if ip.is_none() {
                d.error(
                    &at("source"),
                    format_args!("expected an IP address, got {s:?}"),
                );
            }
            ip
        });
        let gateway = opt_ip(r.gateway, &at("gateway"), Family::Any, d);
        let interface_name = r.interface_name.filter(|n| !n.is_empty());
        if let Some(name) = &interface_name {
            check_ifname(name, &at("interface_name"), IFNAME_MAX, d);
        }
        if destination.is_none() && gateway.is_none() && d.errors.len() == before {
            d.error(&here, "needs a destination or a gateway");
        }
        let family = destination.map(|c| c.addr).or(gateway).map(Family::of);
        for (key, ip) in [("gateway", gateway), ("source", source)] {
            if let (Some(ip), Some(f)) = (ip, family)
                && Family::of(ip) != f
            {
                d.error(
                    &at(key),
                    format_args!("{ip} is not {} like the rest of the route", f.name()),
                );
            }
        }
        if d.errors.len() == before {
            out.push(Route {
                destination,
                source,
                gateway,
                interface_name,
            });
        }
    }
    out
}

fn from_bits(like: IpAddr, bits: u128) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4((bits as u32).into()),
        IpAddr::V6(_) => IpAddr::V6(bits.into()),
    }
}
