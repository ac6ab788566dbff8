//! Unit tests of the plan-building parts of the network module (no root, no
//! kernel state touched).

use super::*;
use crate::network::netlink::{HDR_LEN, attrs, find_attr};

fn veth() -> Veth {
    Veth {
        bridge: "nsbr0".into(),
        veth_prefix: "veth".into(),
        mac_address: Some([0x02, 0, 0, 0, 0, 0x42]),
        address: Some(Cidr {
            addr: "10.200.0.2".parse().unwrap(),
            prefix: 24,
        }),
        ipv6_address: Some(Cidr {
            addr: "fd00::2".parse().unwrap(),
            prefix: 64,
        }),
        gateway: Some("10.200.0.1".parse().unwrap()),
        ipv6_gateway: Some("fd00::1".parse().unwrap()),
        mtu: 1400,
        txqueuelen: 0,
        create_bridge: false,
    }
}

fn msg_type(b: &[u8]) -> u16 {
    u16::from_ne_bytes([b[4], b[5]])
}

#[test]
fn net_state_json_keeps_libcontainer_keys_and_omits_empty_ones() {
    assert_eq!(serde_json::to_string(&NetState::default()).unwrap(), "{}");
    let state = NetState {
        veth_host: "veth1234567".into(),
        veth_child: "veth89abcde".into(),
        ns_path: String::new(),
        interfaces: vec![VethPair {
            host: "veth1234567".into(),
            child: "veth89abcde".into(),
            container_name: "eth0".into(),
        }],
    };
    let json = serde_json::to_value(&state).unwrap();
    assert_eq!(json["veth_host"], "veth1234567");
    assert_eq!(json["interfaces"][0]["container_name"], "eth0");
    assert!(json.get("ns_path").is_none());
    let back: NetState = serde_json::from_value(json).unwrap();
    assert_eq!(back, state);
    // A 2014 state file has only the three strings.
    let old: NetState = serde_json::from_str(r#"{"veth_host":"a","veth_child":"b"}"#).unwrap();
    assert_eq!(host_ends(&old), ["a"]);
}

#[test]
fn host_ends_lists_every_pair_once() {
    let pair = |h: &str| VethPair {
        host: h.into(),
        ..VethPair::default()
    };
    let state = NetState {
        veth_host: "h0".into(),
        interfaces: vec![pair("h0"), pair("h1")],
        ..NetState::default()
    };
    assert_eq!(host_ends(&state), ["h0", "h1"]);
    assert!(host_ends(&NetState::default()).is_empty());
}

#[test]
fn names_are_checked_before_anything_happens() {
    let mut v = veth();
    v.veth_prefix = "toolongpx".into();
    assert_eq!(
        check_names(&v).unwrap_err().to_string(),
        "network veth: bad veth_prefix \"toolongpx\" (at most 8 bytes, no '/', ':' or spaces)"
    );
    v.veth_prefix = "longpfx8".into();
    assert!(check_names(&v).is_ok());
    v.bridge = "a-bridge-name-16".into();
    assert!(
        check_names(&v)
            .unwrap_err()
            .to_string()
            .contains("bad bridge name")
    );
    v.bridge = String::new();
    assert!(check_names(&v).is_err());
    v.bridge = "br/0".into();
    assert!(check_names(&v).is_err());
    // check_host reports the same error without opening a socket.
    assert!(
        check_host(&[Network::Veth(v)])
            .unwrap_err()
            .to_string()
            .contains("bad bridge")
    );
}

#[test]
fn check_host_reports_a_missing_ns_path() {
    let net = Network::Netns {
        ns_path: "/nonexistent/nsinit-netns".into(),
    };
    assert_eq!(
        check_host(&[Network::Loopback, net])
            .unwrap_err()
            .to_string(),
        "network netns: ns_path /nonexistent/nsinit-netns: No such file or directory"
    );
    assert!(check_host(&[Network::Loopback]).is_ok());
}

#[test]
fn bridge_gets_the_gateways_with_the_container_prefixes() {
    let v = veth();
    let got: Vec<String> = bridge_addresses(&v).iter().map(|c| c.to_string()).collect();
    assert_eq!(got, ["10.200.0.1/24", "fd00::1/64"]);
    let v = Veth {
        address: None,
        ipv6_gateway: None,
        ..veth()
    };
    let got: Vec<String> = bridge_addresses(&v).iter().map(|c| c.to_string()).collect();
    assert_eq!(got, ["10.200.0.1/32"]);
}

#[test]
fn veth_requests_rename_and_configure_in_order() {
    let pair = VethPair {
        host: "veth1111111".into(),
        child: "veth2222222".into(),
        container_name: "eth0".into(),
    };
    let mut reqs = Vec::new();
    veth_requests(&mut reqs, &veth(), &pair, 7).unwrap();
    let whats: Vec<&str> = reqs.iter().map(|(_, w)| w.as_str()).collect();
    assert_eq!(
        whats,
        [
            "network veth: rename veth2222222 to eth0, set mac/mtu and up",
            "network veth: add address 10.200.0.2/24 to eth0",
            "network veth: add address fd00::2/64 to eth0",
            "network veth: add default route via 10.200.0.1 dev eth0",
            "network veth: add default route via fd00::1 dev eth0",
        ]
    );
    let bytes: Vec<Vec<u8>> = reqs.iter().map(|(m, _)| m.bytes(1)).collect();
    let types: Vec<u16> = bytes.iter().map(|b| msg_type(b)).collect();
    assert_eq!(types, [16, 20, 20, 24, 24]); // NEWLINK, NEWADDR ×2, NEWROUTE ×2
    let setlink = &bytes[0][HDR_LEN + 16..];
    assert_eq!(find_attr(setlink, link::IFLA_IFNAME), Some(&b"eth0\0"[..]));
    assert_eq!(
        find_attr(setlink, link::IFLA_ADDRESS),
        Some(&[2, 0, 0, 0, 0, 0x42][..])
    );
    assert_eq!(
        find_attr(setlink, link::IFLA_MTU),
        Some(&1400u32.to_ne_bytes()[..])
    );
    assert_eq!(
        &bytes[0][HDR_LEN + 4..HDR_LEN + 16],
        &link::ifinfomsg(7, 1, 1)[4..]
    );
    let route6 = &bytes[4][HDR_LEN + 12..];
    assert_eq!(
        find_attr(route6, route::RTA_OIF),
        Some(&7u32.to_ne_bytes()[..])
    );
    assert_eq!(attrs(route6).count(), 2);
}

#[test]
fn veth_requests_skip_what_is_not_configured() {
    let v = Veth {
        mac_address: None,
        ipv6_address: None,
        gateway: None,
        ipv6_gateway: None,
        mtu: 0,
        ..veth()
    };
    let pair = VethPair {
        child: "c".into(),
        container_name: "eth1".into(),
        ..VethPair::default()
    };
    let mut reqs = Vec::new();
    veth_requests(&mut reqs, &v, &pair, 3).unwrap();
    assert_eq!(reqs.len(), 2);
    let setlink = reqs[0].0.bytes(1);
    let names: Vec<u16> = attrs(&setlink[HDR_LEN + 16..]).map(|(t, _)| t).collect();
    assert_eq!(names, [link::IFLA_IFNAME]);
}

#[test]
fn setup_container_needs_a_pair_per_veth() {
    let err = setup_container(&[Network::Veth(veth())], &[], &NetState::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "network veth: no host-side pair in the network state"
    );
}

#[test]
fn setup_container_with_nothing_to_do_touches_nothing() {
    let net = Network::Netns {
        ns_path: "/nonexistent".into(),
    };
    assert!(setup_container(&[net], &[], &NetState::default()).is_ok());
    assert!(setup_container(&[], &[], &NetState::default()).is_ok());
}

#[test]
fn a_route_without_addresses_is_rejected_with_its_name() {
    let r = Route {
        interface_name: None,
        ..Route::default()
    };
    let err = setup_container(&[], &[r], &NetState::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "network route: add default: needs a destination, a gateway or a source"
    );
}

#[test]
fn teardown_and_stats_with_no_veth_do_nothing() {
    assert!(teardown_host(&NetState::default()).is_ok());
    assert_eq!(stats(&NetState::default()).unwrap(), serde_json::json!({}));
}
