//! Bridges: look one up (it must be a bridge) and create one when the config
//! asks for it.

use linux_raw_sys::netlink as nl;
use rustix::io::Errno;

use super::addr::new_addr_msg;
use super::link::{
    self, IFF_UP, IFLA_IFNAME, IFLA_INFO_KIND, IFLA_LINKINFO, RTM_NEWLINK, ifinfomsg,
};
use super::netlink::{Msg, Socket};
use crate::config::Cidr;
use crate::error::{Error, Result};

/// `RTM_NEWLINK` (`NLM_F_CREATE | NLM_F_EXCL`): `ip link add NAME up type bridge`.
pub fn new_bridge_msg(name: &str) -> Msg {
    let mut m = Msg::new(RTM_NEWLINK, nl::NLM_F_CREATE | nl::NLM_F_EXCL)
        .header(&ifinfomsg(0, IFF_UP, IFF_UP));
    m.attr_str(IFLA_IFNAME, name);
    let info = m.begin_nest(IFLA_LINKINFO);
    m.attr_str(IFLA_INFO_KIND, "bridge");
    m.end_nest(info);
    m
}

/// The index of bridge `name`; `None` when no such link exists, an error when
/// the link is not a bridge.
pub fn find_bridge(sock: &mut Socket, name: &str) -> Result<Option<u32>> {
    let what = format!("network veth: look up bridge {name:?}");
    let Some(link) = link::get_link(sock, name, &what)? else {
        return Ok(None);
    };
    match link.kind.as_deref() {
        Some("bridge") => Ok(Some(link.index)),
        other => Err(Error::new(format!(
            "network veth: {name:?} is not a bridge (it is a {} link)",
            other.unwrap_or("plain")
        ))),
    }
}

/// Create bridge `name`, up, with `addresses` (the gateways). Returns its index,
/// and whether this call created it (`false` when another process won the race
/// to create it; its addresses are then left alone).
pub fn create_bridge(sock: &mut Socket, name: &str, addresses: &[Cidr]) -> Result<(u32, bool)> {
    let what = format!("network veth: create bridge {name}");
    match sock.request(&new_bridge_msg(name), &what) {
        Ok(()) => {}
        Err(e) if e.errno() == Some(Errno::EXIST) => {
            return find_bridge(sock, name)?
                .map(|i| (i, false))
                .ok_or_else(|| Error::new(format!("{what}: it exists and vanished")));
        }
        Err(e) => return Err(e),
    }
    let index = link::index_of(sock, name).map_err(|e| Error::sys(what.clone(), e));
    let result = index.and_then(|index| {
        for addr in addresses {
            sock.request(
                &new_addr_msg(index, addr),
                &format!("{what}: add address {addr}"),
            )?;
        }
        Ok(index)
    });
    match result {
        Ok(index) => Ok((index, true)),
        Err(e) => {
            let _ = sock.request(&link::del_link_msg(name), "");
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::netlink::{HDR_LEN, attrs, find_attr};

    #[test]
    fn bridge_create_bytes() {
        let b = new_bridge_msg("nsbr0").bytes(1);
        let flags = nl::NLM_F_REQUEST | nl::NLM_F_ACK | nl::NLM_F_CREATE | nl::NLM_F_EXCL;
        assert_eq!(u16::from_ne_bytes([b[6], b[7]]), flags as u16);
        assert_eq!(&b[HDR_LEN..HDR_LEN + 16], &ifinfomsg(0, IFF_UP, IFF_UP));
        let top: Vec<_> = attrs(&b[HDR_LEN + 16..]).collect();
        assert_eq!(top.len(), 2);
        assert_eq!(top[0], (IFLA_IFNAME, &b"nsbr0\0"[..]));
        assert_eq!(top[1].0, IFLA_LINKINFO);
        assert_eq!(find_attr(top[1].1, IFLA_INFO_KIND), Some(&b"bridge\0"[..]));
        assert_eq!(b.len(), HDR_LEN + 16 + 12 + 4 + 12);
    }
}
