//! Root tests of `nsinit::network` against the real kernel.
//!
//! Nothing touches the machine's own interfaces: each test makes a "host"
//! network namespace (a `sleep` under `unshare -n`) holding its bridge, and a
//! "container" namespace (another `sleep`, unshared from the host one). The
//! library runs on a scoped thread that has `setns`'d into one of them (network
//! namespaces are per thread); results are checked with `ip -j` and
//! `busybox ping` through `nsenter`. The namespaces die with their `sleep`s.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use nsinit::config::{Cidr, Network, Route, Veth};
use nsinit::network::{self, NetState};
use serde_json::Value;

/// Root with the tools the checks use (the suite's one gate: fatal under
/// `NSINIT_TEST_STRICT=1`, a loud skip elsewhere).
fn can_run(_test: &str) -> bool {
    crate::common::root() && crate::common::require_all(&["ip", "nsenter", "unshare", "busybox"])
}

/// A process sitting in a network namespace of its own; killed on drop.
pub(crate) struct NetNs {
    child: Child,
}

impl NetNs {
    /// A new namespace, unshared from `parent`'s (or from the test's).
    pub(crate) fn new(parent: Option<&NetNs>) -> NetNs {
        let mut cmd = match parent {
            Some(p) => {
                let mut c = Command::new("nsenter");
                c.arg(format!("--net={}", p.path().display()))
                    .args(["unshare", "-n"]);
                c
            }
            None => {
                let mut c = Command::new("unshare");
                c.arg("-n");
                c
            }
        };
        // nsenter and unshare exec without forking: the pid stays the same.
        cmd.args(["sh", "-c", "echo ready; exec sleep 300"])
            .stdout(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn unshare -n");
        let mut line = String::new();
        let out = child.stdout.take().expect("piped stdout");
        BufReader::new(out)
            .read_line(&mut line)
            .expect("read ready line");
        assert_eq!(line.trim(), "ready");
        NetNs { child }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub(crate) fn path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/ns/net", self.pid()))
    }

    /// Run `sh -c script` in this namespace.
    pub(crate) fn sh(&self, script: &str) -> Output {
        Command::new("nsenter")
            .arg(format!("--net={}", self.path().display()))
            .args(["sh", "-c", script])
            .output()
            .expect("run nsenter")
    }

    /// Run `sh -c script` here and insist on success.
    fn ok(&self, script: &str) {
        let out = self.sh(script);
        assert!(
            out.status.success(),
            "`{script}` failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `ip -j ARGS` here, parsed.
    fn ip(&self, args: &str) -> Value {
        let out = self.sh(&format!("ip -j {args}"));
        assert!(
            out.status.success(),
            "ip {args}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("ip -j output is JSON")
    }

    /// Interface names in this namespace, sorted.
    pub(crate) fn links(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .ip("link show")
            .as_array()
            .expect("array")
            .iter()
            .map(|l| l["ifname"].as_str().unwrap_or_default().to_string())
            .collect();
        names.sort();
        names
    }

    /// Run `f` on a thread inside this namespace.
    fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = self.path();
        std::thread::scope(|s| {
            s.spawn(move || {
                network::join_netns(&path).expect("join test netns");
                f()
            })
            .join()
            .expect("thread in netns panicked")
        })
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A host namespace with bridge `br` holding 10.213.0.1/24 and fd13::1/64, up.
pub(crate) fn host_with_bridge(br: &str) -> NetNs {
    let host = NetNs::new(None);
    host.ok(&format!(
        "ip link set lo up && ip link add {br} type bridge && \
         ip addr add 10.213.0.1/24 dev {br} && ip addr add fd13::1/64 dev {br} nodad && \
         ip link set {br} up"
    ));
    host
}

fn cidr(s: &str) -> Cidr {
    let (a, p) = s.split_once('/').expect("cidr");
    Cidr {
        addr: a.parse().expect("address"),
        prefix: p.parse().expect("prefix"),
    }
}

fn veth(bridge: &str, addr: &str) -> Veth {
    Veth {
        bridge: bridge.into(),
        veth_prefix: "nst".into(),
        address: Some(cidr(addr)),
        gateway: Some("10.213.0.1".parse().unwrap()),
        ..Veth::default()
    }
}

fn link<'a>(links: &'a Value, name: &str) -> &'a Value {
    links
        .as_array()
        .and_then(|a| a.iter().find(|l| l["ifname"] == name))
        .unwrap_or_else(|| panic!("no link {name} in {links}"))
}

fn has_flag(link: &Value, flag: &str) -> bool {
    link["flags"]
        .as_array()
        .is_some_and(|f| f.iter().any(|x| x == flag))
}

fn has_addr(link: &Value, addr: &str, prefix: u64) -> bool {
    link["addr_info"].as_array().is_some_and(|a| {
        a.iter()
            .any(|i| i["local"] == addr && i["prefixlen"] == prefix)
    })
}

#[test]
fn veth_on_bridge_end_to_end() {
    if !can_run("veth_on_bridge_end_to_end") {
        return;
    }
    let host = host_with_bridge("nsbr0");
    let ct = NetNs::new(Some(&host));
    let v = Veth {
        mac_address: Some([0x02, 0x42, 0x0a, 0xd5, 0x00, 0x02]),
        ipv6_address: Some(cidr("fd13::2/64")),
        ipv6_gateway: Some("fd13::1".parse().unwrap()),
        mtu: 1400,
        txqueuelen: 321,
        ..veth("nsbr0", "10.213.0.2/24")
    };
    let nets = [Network::Loopback, Network::Veth(v)];
    let routes = [
        Route {
            destination: Some(cidr("10.99.0.0/16")),
            gateway: Some("10.213.0.1".parse().unwrap()),
            ..Route::default()
        },
        Route {
            destination: Some(cidr("10.98.0.0/24")),
            source: Some("10.213.0.2".parse().unwrap()),
            interface_name: Some("eth0".into()),
            ..Route::default()
        },
    ];

    host.run(|| network::check_host(&nets)).expect("check_host");
    let state = host
        .run(|| network::setup_host(&nets, ct.pid()))
        .expect("setup_host");
    assert!(
        state.veth_host.starts_with("nst") && state.veth_host.len() == 10,
        "{state:?}"
    );
    assert_eq!(state.interfaces.len(), 1);
    assert_eq!(state.interfaces[0].container_name, "eth0");
    assert_eq!(state.veth_child, state.interfaces[0].child);

    // Host end: on the bridge, MTU, txqueuelen, up.
    let hl = host.ip(&format!("-d link show {}", state.veth_host));
    let hl = link(&hl, &state.veth_host);
    assert_eq!(hl["master"], "nsbr0");
    assert_eq!(hl["mtu"], 1400);
    assert_eq!(hl["txqlen"], 321);
    assert!(has_flag(hl, "UP"), "{hl}");
    // Peer: already in the container's namespace, same MTU, still down.
    let pl = ct.ip(&format!("link show {}", state.veth_child));
    let pl = link(&pl, &state.veth_child);
    assert_eq!(pl["mtu"], 1400);
    assert!(!has_flag(pl, "UP"));

    ct.run(|| network::setup_container(&nets, &routes, &state))
        .expect("setup_container");

    assert_eq!(ct.links(), ["eth0", "lo"]);
    let addrs = ct.ip("addr show");
    assert!(has_flag(link(&addrs, "lo"), "UP"));
    let eth0 = link(&addrs, "eth0");
    assert!(has_flag(eth0, "UP"), "{eth0}");
    assert_eq!(eth0["mtu"], 1400);
    assert_eq!(eth0["address"], "02:42:0a:d5:00:02");
    assert!(has_addr(eth0, "10.213.0.2", 24), "{eth0}");
    assert!(has_addr(eth0, "fd13::2", 64), "{eth0}");

    let r4 = ct.ip("route show");
    let r4 = r4.as_array().unwrap();
    let find = |dst: &str| {
        r4.iter()
            .find(|r| r["dst"] == dst)
            .unwrap_or_else(|| panic!("{dst}"))
    };
    assert_eq!(find("default")["gateway"], "10.213.0.1");
    assert_eq!(find("default")["dev"], "eth0");
    assert_eq!(find("10.99.0.0/16")["gateway"], "10.213.0.1");
    assert_eq!(find("10.98.0.0/24")["dev"], "eth0");
    assert_eq!(find("10.98.0.0/24")["prefsrc"], "10.213.0.2");
    assert_eq!(find("10.98.0.0/24")["scope"], "link");
    let r6 = ct.ip("-6 route show default");
    assert_eq!(r6[0]["gateway"], "fd13::1");

    ct.ok("busybox ping -c 1 -W 3 10.213.0.1");
    ct.ok("busybox ping -6 -c 1 -W 3 fd13::1");

    // Counters from the container's side: it sent the echo requests.
    let stats = host.run(|| network::stats(&state)).expect("stats");
    let eth0 = &stats["eth0"];
    assert!(eth0["tx_packets"].as_u64().unwrap() >= 2, "{stats}");
    assert!(eth0["rx_packets"].as_u64().unwrap() >= 2, "{stats}");
    assert!(eth0["tx_bytes"].as_u64().unwrap() >= 2 * 84, "{stats}");
    let ct_view = ct.ip("-s link show eth0");
    let ct_tx = ct_view[0]["stats64"]["tx"]["packets"].as_u64().unwrap();
    // Read later, the container's own count may have grown (IPv6 router
    // solicitations, neighbour discovery): the host end's earlier view never
    // exceeds it.
    let host_tx = eth0["tx_packets"].as_u64().unwrap();
    assert!(host_tx <= ct_tx, "{stats} vs {ct_view}");

    host.run(|| network::teardown_host(&state))
        .expect("teardown_host");
    assert_eq!(host.links(), ["lo", "nsbr0"]);
    assert_eq!(ct.links(), ["lo"]);
    // Twice is fine: the link is already gone.
    host.run(|| network::teardown_host(&state))
        .expect("second teardown_host");
}

#[test]
fn missing_bridge_fails_before_and_during_setup_leaving_nothing() {
    if !can_run("missing_bridge_fails_before_and_during_setup_leaving_nothing") {
        return;
    }
    let host = host_with_bridge("nsbr0");
    let ct = NetNs::new(Some(&host));
    let nets = [Network::Veth(veth("nope0", "10.213.0.2/24"))];
    let err = host.run(|| network::check_host(&nets)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "network veth: bridge \"nope0\" does not exist"
    );
    let err = host
        .run(|| network::setup_host(&nets, ct.pid()))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "network veth: bridge \"nope0\" does not exist"
    );
    assert_eq!(host.links(), ["lo", "nsbr0"]);
    assert_eq!(ct.links(), ["lo"]);

    // A link that is not a bridge is refused by name.
    host.ok("ip link add notbr0 type veth peer name notbr1");
    let nets = [Network::Veth(veth("notbr0", "10.213.0.2/24"))];
    let err = host.run(|| network::check_host(&nets)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "network veth: \"notbr0\" is not a bridge (it is a veth link)"
    );
}

#[test]
fn kernel_errors_carry_the_extended_ack_and_undo_everything() {
    if !can_run("kernel_errors_carry_the_extended_ack_and_undo_everything") {
        return;
    }
    let host = host_with_bridge("nsbr0");
    let ct = NetNs::new(Some(&host));

    // A first pair (on a bridge this call creates) succeeds, the second fails in
    // the kernel: both the pair and the new bridge are removed again.
    let made = Veth {
        create_bridge: true,
        ..veth("nsbrnew", "10.214.0.2/24")
    };
    let bad = Veth {
        mtu: 70000,
        ..veth("nsbr0", "10.213.0.3/24")
    };
    let nets = [Network::Veth(made), Network::Veth(bad)];
    host.run(|| network::check_host(&nets))
        .expect("check_host passes");
    let err = host
        .run(|| network::setup_host(&nets, ct.pid()))
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("network veth: create nst"), "{msg}");
    assert!(msg.contains("on bridge nsbr0"), "{msg}");
    // (The veth driver gives no extended ack for a bad MTU.)
    let tail = format!(" in the netns of pid {}): Invalid argument", ct.pid());
    assert!(msg.ends_with(&tail), "{msg}");
    assert_eq!(host.links(), ["lo", "nsbr0"]);
    assert_eq!(ct.links(), ["lo"]);

    // A route the kernel refuses, inside the container: its own words come
    // from NLMSGERR_ATTR_MSG.
    let err = ct
        .run(|| {
            let routes = [Route {
                destination: Some(cidr("10.9.0.0/16")),
                gateway: Some("10.50.0.1".parse().unwrap()),
                ..Route::default()
            }];
            network::setup_container(&[Network::Loopback], &routes, &NetState::default())
        })
        .unwrap_err();
    // (The errno's words are libc's: glibc and musl word ENETUNREACH differently.)
    assert_eq!(
        err.to_string(),
        format!(
            "network route: add 10.9.0.0/16 via 10.50.0.1: Nexthop has invalid gateway: {}",
            nsinit::error::strerror(rustix::io::Errno::NETUNREACH)
        )
    );
    // The batch ran in order: lo came up before the route failed.
    assert!(has_flag(link(&ct.ip("link show lo"), "lo"), "UP"));
}

#[test]
fn create_bridge_makes_an_addressed_bridge_the_container_can_reach() {
    if !can_run("create_bridge_makes_an_addressed_bridge_the_container_can_reach") {
        return;
    }
    let host = NetNs::new(None);
    let ct = NetNs::new(Some(&host));
    let v = Veth {
        create_bridge: true,
        ..veth("nsbrnew", "10.213.0.9/24")
    };
    let nets = [Network::Veth(v)];
    host.run(|| network::check_host(&nets)).expect("check_host");
    let state = host
        .run(|| network::setup_host(&nets, ct.pid()))
        .expect("setup_host");
    let br = host.ip("addr show nsbrnew");
    let br = link(&br, "nsbrnew");
    assert!(has_flag(br, "UP"), "{br}");
    assert!(has_addr(br, "10.213.0.1", 24), "{br}");
    ct.run(|| network::setup_container(&nets, &[], &state))
        .expect("setup_container");
    ct.ok("busybox ping -c 1 -W 3 10.213.0.1");
    host.run(|| network::teardown_host(&state))
        .expect("teardown");
    // The bridge stays: other containers may use it.
    assert_eq!(host.links(), ["lo", "nsbrnew"]);
}

#[test]
fn two_containers_on_one_bridge_reach_each_other() {
    if !can_run("two_containers_on_one_bridge_reach_each_other") {
        return;
    }
    let host = host_with_bridge("nsbr0");
    let (a, b) = (NetNs::new(Some(&host)), NetNs::new(Some(&host)));
    let net_a = [
        Network::Loopback,
        Network::Veth(veth("nsbr0", "10.213.0.11/24")),
    ];
    let net_b = [
        Network::Loopback,
        Network::Veth(veth("nsbr0", "10.213.0.12/24")),
    ];
    let sa = host
        .run(|| network::setup_host(&net_a, a.pid()))
        .expect("setup_host a");
    let sb = host
        .run(|| network::setup_host(&net_b, b.pid()))
        .expect("setup_host b");
    assert_ne!(sa.veth_host, sb.veth_host);
    a.run(|| network::setup_container(&net_a, &[], &sa))
        .expect("setup_container a");
    b.run(|| network::setup_container(&net_b, &[], &sb))
        .expect("setup_container b");
    b.ok("busybox ping -c 1 -W 3 10.213.0.11");
    a.ok("busybox ping -c 1 -W 3 10.213.0.12");
    // When a container's namespace dies, the kernel removes its pair.
    drop(a);
    let gone = (0..200).any(|_| {
        let links = host.links();
        if !links.contains(&sa.veth_host) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        false
    });
    assert!(
        gone,
        "{} still on the host after its namespace died",
        sa.veth_host
    );
    host.run(|| network::teardown_host(&sa))
        .expect("teardown of a vanished pair");
    assert!(host.links().contains(&sb.veth_host));
}

#[test]
fn loopback_only_container_sees_only_lo_up() {
    if !can_run("loopback_only_container_sees_only_lo_up") {
        return;
    }
    let ct = NetNs::new(None);
    assert!(!has_flag(link(&ct.ip("link show lo"), "lo"), "UP"));
    let state = ct
        .run(|| network::setup_host(&[Network::Loopback], 1))
        .expect("setup_host");
    assert_eq!(state, NetState::default());
    ct.run(|| network::setup_container(&[Network::Loopback], &[], &state))
        .expect("lo up");
    assert_eq!(ct.links(), ["lo"]);
    assert!(has_flag(link(&ct.ip("link show lo"), "lo"), "UP"));
    ct.ok("busybox ping -c 1 -W 3 127.0.0.1");
}

#[test]
fn netns_strategy_records_and_joins_the_namespace() {
    if !can_run("netns_strategy_records_and_joins_the_namespace") {
        return;
    }
    let prepared = NetNs::new(None);
    prepared.ok("ip link add marker0 type bridge");
    let path = prepared.path();
    let nets = [Network::Netns {
        ns_path: path.clone(),
    }];
    network::check_host(&nets).expect("check_host");
    let state = network::setup_host(&nets, prepared.pid()).expect("setup_host");
    assert_eq!(Path::new(&state.ns_path), path);
    let ns_id = |p: &Path| std::fs::read_link(p).expect("readlink ns");
    let want = ns_id(&path);
    let seen = std::thread::scope(|s| {
        s.spawn(|| {
            network::join_netns(Path::new(&state.ns_path)).expect("join_netns");
            network::setup_container(&nets, &[], &state).expect("nothing to do");
            let mut sock = network::netlink::Socket::open().expect("netlink socket");
            let marker = network::link::get_link(&mut sock, "marker0", "look up marker0")
                .expect("RTM_GETLINK marker0");
            (
                ns_id(Path::new("/proc/thread-self/ns/net")),
                marker.map(|l| l.name),
            )
        })
        .join()
        .expect("thread")
    });
    assert_eq!(seen.0, want);
    assert_eq!(seen.1.as_deref(), Some("marker0"));
    let err = network::join_netns(Path::new("/nonexistent/ns")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "network netns: open /nonexistent/ns: No such file or directory"
    );
}

mod containers;
