//! Container networking over an in-tree `NETLINK_ROUTE` client: loopback, a
//! veth pair on a host bridge with addresses and routes, or joining a prepared
//! network namespace. No `ip` binary, no external crate.
//!
//! The create path calls, in order:
//! 1. [`check_host`] before clone: bridges exist, `ns_path` files exist.
//! 2. [`setup_host`] in the parent once the child exists: one `RTM_NEWLINK` per
//!    veth creates the pair with the host end on its bridge, MTU, txqueuelen and
//!    up, and the peer (same MTU) already inside the child's namespace.
//! 3. [`join_netns`] in the child for the netns strategy, then
//!    [`setup_container`]: every request (lo up; rename, MAC, MTU and up in one
//!    `RTM_NEWLINK`; addresses; default routes; extra routes) goes to the kernel
//!    in one `send`, and the acks are read in order.
//! 4. [`teardown_host`] after the container exits; [`stats`] while it runs.
//!
//! Errors name the strategy, the operation and the kernel's reason, with its
//! extended ACK message when it gives one:
//! `network veth: create veth1a2b3c4 on bridge br0 (…): No such device`.

pub mod addr;
pub mod bridge;
pub mod link;
pub mod netlink;
pub mod route;
pub mod veth;

use std::net::IpAddr;
use std::os::fd::AsFd;
use std::path::Path;

use rustix::io::Errno;
use serde::{Deserialize, Serialize};

use crate::config::{Cidr, Network, Route, Veth};
use crate::error::{Context, Error, Result};
use link::LinkChange;
use netlink::{Msg, Socket};
use route::RouteSpec;
use veth::{NameSource, VethSpec};

/// The host-side view of a container's network, kept in state.json as
/// `network_state` (libcontainer's keys plus every pair).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct NetState {
    /// The first veth's host end, "" if none.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub veth_host: String,
    /// Its peer's name before the rename inside the container.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub veth_child: String,
    /// From a netns strategy.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ns_path: String,
    /// Every veth, in config order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<VethPair>,
}

/// One veth pair: the host end, the peer's name at creation, and its name in
/// the container (`eth0`, `eth1`, … in config order).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct VethPair {
    pub host: String,
    pub child: String,
    pub container_name: String,
}

/// Checks on the host before anything is created: names fit, each bridge exists
/// and is a bridge (unless `create_bridge`), each `ns_path` exists.
pub fn check_host(networks: &[Network]) -> Result<()> {
    let mut sock = None;
    for net in networks {
        match net {
            Network::Loopback => {}
            Network::Netns { ns_path } => {
                rustix::fs::stat(ns_path)
                    .ctx(|| format!("network netns: ns_path {}", ns_path.display()))?;
            }
            Network::Veth(v) => {
                check_names(v)?;
                let sock = open(&mut sock)?;
                if bridge::find_bridge(sock, &v.bridge)?.is_none() && !v.create_bridge {
                    return Err(missing_bridge(&v.bridge));
                }
            }
        }
    }
    Ok(())
}

fn check_names(v: &Veth) -> Result<()> {
    let valid = |s: &str| !s.contains(|c: char| c == '/' || c == ':' || c.is_whitespace());
    if v.bridge.is_empty() || v.bridge.len() > link::MAX_NAME || !valid(&v.bridge) {
        return Err(Error::new(format!(
            "network veth: bad bridge name {:?} (1 to {} bytes, no '/', ':' or spaces)",
            v.bridge,
            link::MAX_NAME
        )));
    }
    if v.veth_prefix.len() > veth::MAX_PREFIX || !valid(&v.veth_prefix) {
        return Err(Error::new(format!(
            "network veth: bad veth_prefix {:?} (at most {} bytes, no '/', ':' or spaces)",
            v.veth_prefix,
            veth::MAX_PREFIX
        )));
    }
    Ok(())
}

fn missing_bridge(name: &str) -> Error {
    Error::new(format!("network veth: bridge {name:?} does not exist"))
}

fn open(sock: &mut Option<Socket>) -> Result<&mut Socket> {
    let s = match sock.take() {
        Some(s) => s,
        None => Socket::open()?,
    };
    Ok(sock.insert(s))
}

/// What [`setup_host`] created, to undo on failure.
#[derive(Default)]
struct Created {
    veths: Vec<String>,
    bridges: Vec<String>,
}

/// Host side, in the parent after clone (the child waits): create bridges
/// asked for (with the gateway addresses, up), then each veth pair
/// `<prefix><7 hex>` (retrying on a name clash) with the host end on its
/// bridge, MTU on both ends, txqueuelen, the host end up and the peer moved
/// into `child_pid`'s network namespace. On error everything created so far is
/// deleted.
pub fn setup_host(networks: &[Network], child_pid: i32) -> Result<NetState> {
    let mut state = NetState::default();
    let mut created = Created::default();
    let mut sock = None;
    let result = setup_host_steps(networks, child_pid, &mut sock, &mut state, &mut created);
    if let Err(e) = result {
        if let Some(sock) = sock.as_mut() {
            undo_host(sock, &created);
        }
        return Err(e);
    }
    if let Some(first) = state.interfaces.first() {
        state.veth_host = first.host.clone();
        state.veth_child = first.child.clone();
    }
    Ok(state)
}

fn setup_host_steps(
    networks: &[Network],
    child_pid: i32,
    sock: &mut Option<Socket>,
    state: &mut NetState,
    created: &mut Created,
) -> Result<()> {
    let pid = u32::try_from(child_pid)
        .map_err(|_| Error::new(format!("network: bad child pid {child_pid}")))?;
    for net in networks {
        match net {
            Network::Loopback => {}
            Network::Netns { ns_path } => state.ns_path = ns_path.display().to_string(),
            Network::Veth(v) => {
                let sock = open(sock)?;
                let master = bridge_index(sock, v, created)?;
                let container_name = format!("eth{}", state.interfaces.len());
                let (host, child) = create_veth(sock, v, master, pid)?;
                created.veths.push(host.clone());
                state.interfaces.push(VethPair {
                    host,
                    child,
                    container_name,
                });
            }
        }
    }
    Ok(())
}

/// The bridge's index, creating the bridge when it is missing and the config
/// asks for it.
fn bridge_index(sock: &mut Socket, v: &Veth, created: &mut Created) -> Result<u32> {
    match link::index_of(sock, &v.bridge) {
        Ok(index) => Ok(index),
        Err(Errno::NODEV) if v.create_bridge => {
            let (index, new) = bridge::create_bridge(sock, &v.bridge, &bridge_addresses(v))?;
            if new {
                created.bridges.push(v.bridge.clone());
            }
            Ok(index)
        }
        Err(Errno::NODEV) => Err(missing_bridge(&v.bridge)),
        Err(e) => Err(Error::sys(
            format!("network veth: look up bridge {:?}", v.bridge),
            e,
        )),
    }
}

/// The gateways, with the prefix of the container's address of the same
/// family (a host route when there is none).
fn bridge_addresses(v: &Veth) -> Vec<Cidr> {
    let with_prefix = |gw: IpAddr, addr: Option<Cidr>| {
        let full = if gw.is_ipv4() { 32 } else { 128 };
        let prefix = addr
            .filter(|a| a.addr.is_ipv4() == gw.is_ipv4())
            .map_or(full, |a| a.prefix);
        Cidr { addr: gw, prefix }
    };
    let v4 = v.gateway.map(|g| with_prefix(g, v.address));
    let v6 = v.ipv6_gateway.map(|g| with_prefix(g, v.ipv6_address));
    v4.into_iter().chain(v6).collect()
}

/// Create one pair; returns the host and peer names.
fn create_veth(sock: &mut Socket, v: &Veth, master: u32, pid: u32) -> Result<(String, String)> {
    let mut names = NameSource::open()?;
    while let Some((host, peer)) = names.next_pair(&v.veth_prefix) {
        let spec = VethSpec {
            host: &host,
            peer: &peer,
            mtu: v.mtu,
            txqlen: v.txqueuelen,
            master: Some(master),
            peer_netns_pid: Some(pid),
        };
        let what = format!(
            "network veth: create {host} on bridge {} (peer {peer} in the netns of pid {pid})",
            v.bridge
        );
        match sock.request(&veth::new_veth_msg(&spec), &what) {
            Ok(()) => return Ok((host, peer)),
            Err(e) if e.errno() == Some(Errno::EXIST) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::new(format!(
        "network veth: no free name with prefix {:?} after {} attempts",
        v.veth_prefix,
        veth::NAME_ATTEMPTS
    )))
}

fn undo_host(sock: &mut Socket, created: &Created) {
    let names = created
        .veths
        .iter()
        .map(|n| (n, "veth"))
        .chain(created.bridges.iter().map(|n| (n, "bridge")));
    for (name, kind) in names {
        let what = format!("network: undo: delete {kind} {name}");
        match sock.request(&link::del_link_msg(name), &what) {
            Ok(()) => {}
            Err(e) if e.errno() == Some(Errno::NODEV) => {}
            Err(e) => crate::log::warn(&e),
        }
    }
}

/// Container side, in the child inside the container's network namespace
/// (before pivot_root, with CAP_NET_ADMIN): `lo` up; each veth peer renamed to
/// its container name with MAC, MTU and up, then its addresses and default
/// routes; then `routes`. One socket, one send, one ack per request.
pub fn setup_container(networks: &[Network], routes: &[Route], state: &NetState) -> Result<()> {
    let mut sock = None;
    let mut reqs: Vec<(Msg, String)> = Vec::new();
    // Container interface names already planned, with their indexes.
    let mut planned: Vec<(&str, u32)> = Vec::new();
    let mut pairs = state.interfaces.iter();
    for net in networks {
        match net {
            Network::Loopback => reqs.push((
                link::set_up_by_name_msg("lo"),
                "network loopback: set lo up".into(),
            )),
            Network::Netns { .. } => {}
            Network::Veth(v) => {
                let pair = pairs.next().ok_or_else(|| {
                    Error::new("network veth: no host-side pair in the network state")
                })?;
                let index = link::index_of(open(&mut sock)?, &pair.child).map_err(|e| {
                    Error::sys(
                        format!("network veth: find {} in the container", pair.child),
                        e,
                    )
                })?;
                veth_requests(&mut reqs, v, pair, index)?;
                planned.push((&pair.container_name, index));
            }
        }
    }
    for r in routes {
        let oif = match &r.interface_name {
            None => None,
            Some(name) => Some(match planned.iter().find(|(n, _)| n == name) {
                Some((_, index)) => *index,
                None => link::index_of(open(&mut sock)?, name)
                    .map_err(|e| Error::sys(format!("network route: find interface {name}"), e))?,
            }),
        };
        let spec = RouteSpec {
            destination: r.destination,
            gateway: r.gateway,
            source: r.source,
            oif,
        };
        let dev = r
            .interface_name
            .as_ref()
            .map_or(String::new(), |n| format!(" dev {n}"));
        let what = format!("network route: add {spec}{dev}");
        let msg = route::new_route_msg(&spec).map_err(|e| e.context(&what))?;
        reqs.push((msg, what));
    }
    if reqs.is_empty() {
        return Ok(());
    }
    open(&mut sock)?.batch(&reqs)
}

/// The requests configuring one veth peer (link `index`) inside the container.
fn veth_requests(
    reqs: &mut Vec<(Msg, String)>,
    v: &Veth,
    pair: &VethPair,
    index: u32,
) -> Result<()> {
    let name = pair.container_name.as_str();
    let change = LinkChange {
        name: Some(name),
        mac: v.mac_address,
        mtu: (v.mtu != 0).then_some(v.mtu),
        up: true,
        ..LinkChange::default()
    };
    let what = format!(
        "network veth: rename {} to {name}, set mac/mtu and up",
        pair.child
    );
    reqs.push((link::set_link_msg(index, &change), what));
    for a in [v.address, v.ipv6_address].into_iter().flatten() {
        reqs.push((
            addr::new_addr_msg(index, &a),
            format!("network veth: add address {a} to {name}"),
        ));
    }
    for gw in [v.gateway, v.ipv6_gateway].into_iter().flatten() {
        let spec = RouteSpec {
            gateway: Some(gw),
            oif: Some(index),
            ..RouteSpec::default()
        };
        let what = format!("network veth: add default route via {gw} dev {name}");
        let msg = route::new_route_msg(&spec).map_err(|e| e.context(&what))?;
        reqs.push((msg, what));
    }
    Ok(())
}

/// `setns(open(path), CLONE_NEWNET)`: join the network namespace at `path`.
pub fn join_netns(path: &Path) -> Result<()> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
        .ctx(|| format!("network netns: open {}", path.display()))?;
    rustix::thread::move_into_link_name_space(
        fd.as_fd(),
        Some(rustix::thread::LinkNameSpaceType::Network),
    )
    .ctx(|| format!("network netns: join {}", path.display()))
}

/// The host ends recorded in `state` (every pair, plus a lone `veth_host`
/// from an older state file).
fn host_ends(state: &NetState) -> Vec<&str> {
    let mut names: Vec<&str> = state.interfaces.iter().map(|p| p.host.as_str()).collect();
    if !state.veth_host.is_empty() && !names.contains(&state.veth_host.as_str()) {
        names.push(&state.veth_host);
    }
    names
}

/// Delete the host ends of the container's veths (which takes the peers with
/// them). A missing link is fine: the kernel deletes the pair when the
/// container's namespace dies. Returns the first other error after trying all.
pub fn teardown_host(state: &NetState) -> Result<()> {
    let names = host_ends(state);
    if names.is_empty() {
        return Ok(());
    }
    let mut sock = Socket::open()?;
    let mut first_err = None;
    for name in names {
        match sock.request(
            &link::del_link_msg(name),
            &format!("network veth: delete {name}"),
        ) {
            Ok(()) => {}
            Err(e) if e.errno() == Some(Errno::NODEV) => {}
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    first_err.map_or(Ok(()), Err)
}

/// Counters per container interface, from the container's point of view (the
/// host end's counters swapped: what the host end received, the container
/// sent), as `{"eth0": {"rx_bytes": …, "rx_packets": …, …}}`.
pub fn stats(state: &NetState) -> Result<serde_json::Value> {
    let mut out = serde_json::Map::new();
    if state.interfaces.is_empty() && state.veth_host.is_empty() {
        return Ok(serde_json::Value::Object(out));
    }
    let mut sock = Socket::open()?;
    let pairs: Vec<(&str, &str)> = if state.interfaces.is_empty() {
        vec![("eth0", state.veth_host.as_str())]
    } else {
        state
            .interfaces
            .iter()
            .map(|p| (p.container_name.as_str(), p.host.as_str()))
            .collect()
    };
    for (name, host) in pairs {
        let what = format!("network stats: read counters of {host}");
        let link = link::get_link(&mut sock, host, &what)?
            .ok_or_else(|| Error::sys(what.clone(), Errno::NODEV))?;
        let c = link
            .counters
            .ok_or_else(|| Error::new(format!("{what}: no IFLA_STATS64")))?;
        out.insert(name.to_string(), counters_json(c.swapped()));
    }
    Ok(serde_json::Value::Object(out))
}

fn counters_json(c: link::Counters) -> serde_json::Value {
    serde_json::json!({
        "rx_bytes": c.rx_bytes,
        "rx_packets": c.rx_packets,
        "rx_errors": c.rx_errors,
        "rx_dropped": c.rx_dropped,
        "tx_bytes": c.tx_bytes,
        "tx_packets": c.tx_packets,
        "tx_errors": c.tx_errors,
        "tx_dropped": c.tx_dropped,
    })
}

#[cfg(test)]
mod tests;
