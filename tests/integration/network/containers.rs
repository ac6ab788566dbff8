//! Whole containers: `nsinit exec` run inside a test host namespace from
//! the parent module, on the busybox rootfs from `make rootfs`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{NetNs, host_with_bridge};
use crate::common::{self, Container, bin};

fn can_run(test: &str) -> bool {
    super::can_run(test) && common::can_run()
}

/// `nsinit --root DIR exec ARGS…` inside `host`'s network namespace.
fn nsinit(host: &NetNs, c: &Container, args: &[&str]) -> Command {
    let mut cmd = Command::new("nsenter");
    cmd.arg(format!("--net={}", host.path().display()))
        .arg(bin())
        .arg("--root")
        .arg(&c.dir)
        .args(args)
        .stdin(Stdio::null());
    cmd
}

fn veth_config(addr: &str, extra: Value) -> Value {
    let mut cfg = common::base_config();
    let mut veth = json!({
        "type": "veth", "bridge": "nsbr0", "veth_prefix": "nsv",
        "address": addr, "gateway": "10.213.0.1", "mtu": 1400
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        veth[k] = v.clone();
    }
    cfg["networks"] = json!([{"type": "loopback"}, veth]);
    cfg
}

/// A container running `script` then blocking on stdin; returns once the
/// script printed READY, with everything it printed before.
fn start(host: &NetNs, c: &Container, script: &str) -> (Child, String) {
    let full = format!("{script}; echo READY; read x");
    let mut child = nsinit(host, c, &["exec", "sh", "-c", &full])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn nsinit");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut text = String::new();
    loop {
        let mut line = String::new();
        if out.read_line(&mut line).expect("read container output") == 0 {
            panic!("container ended before READY: {text}");
        }
        if line.trim() == "READY" {
            break;
        }
        text.push_str(&line);
    }
    // nsinit writes state.json once the exec is confirmed, which can be
    // after the container's first output.
    c.wait_for_state();
    (child, text)
}

/// Let the container's `read` return and wait for nsinit.
fn finish(mut child: Child) {
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"\n");
    }
    let status = child.wait().expect("wait nsinit");
    assert!(status.success(), "nsinit exited with {status}");
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "timed out waiting: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn bridged_container_is_configured_and_reaches_the_gateway() {
    if !can_run("bridged_container_is_configured_and_reaches_the_gateway") {
        return;
    }
    let host = host_with_bridge("nsbr0");
    let cfg = veth_config("10.213.0.2/24", json!({"mac_address": "02:42:0a:d5:00:02"}));
    let c = Container::new("net-bridged", &cfg);
    let (child, seen) = start(
        &host,
        &c,
        "ls /sys/class/net; cat /sys/class/net/eth0/mtu /sys/class/net/eth0/address \
         /sys/class/net/lo/flags; ip -4 addr show eth0; ip route; \
         ping -c 1 -W 3 10.213.0.1 >/dev/null && echo PING-OK",
    );
    for want in [
        "eth0\nlo\n",
        "1400\n02:42:0a:d5:00:02\n0x9\n",
        "inet 10.213.0.2/24",
        "default via 10.213.0.1 dev eth0",
        "PING-OK",
    ] {
        assert!(seen.contains(want), "{want:?} not in:\n{seen}");
    }
    // While it runs: the host end is on the bridge and recorded in state.json.
    let st = c.state();
    let host_end = st["network_state"]["veth_host"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(host_end.starts_with("nsv"), "{st}");
    let l = host.ip(&format!("link show {host_end}"));
    assert_eq!(l[0]["master"], "nsbr0");
    // `nsinit stats` sees the ping from the container's side.
    let o = nsinit(&host, &c, &["stats"]).output().unwrap();
    let stats: Value = serde_json::from_slice(&common::ok(&o).into_bytes()).unwrap();
    assert!(
        stats["network"]["eth0"]["tx_packets"].as_u64().unwrap() >= 1,
        "{stats}"
    );
    finish(child);
    assert!(!host.links().contains(&host_end), "{host_end} left behind");
    assert_eq!(host.links(), ["lo", "nsbr0"]);
}

#[test]
fn second_container_on_the_bridge_pings_the_first() {
    if !can_run("second_container_on_the_bridge_pings_the_first") {
        return;
    }
    let host = host_with_bridge("nsbr0");
    let a = Container::new("net-a", &veth_config("10.213.0.11/24", json!({})));
    let b = Container::new("net-b", &veth_config("10.213.0.12/24", json!({})));
    let (child_a, _) = start(&host, &a, "true");
    let o = nsinit(
        &host,
        &b,
        &["exec", "ping", "-c", "1", "-W", "3", "10.213.0.11"],
    )
    .output()
    .unwrap();
    common::ok(&o);
    finish(child_a);
    assert_eq!(host.links(), ["lo", "nsbr0"]);
}

#[test]
fn host_veth_is_gone_after_nsinit_is_killed() {
    if !can_run("host_veth_is_gone_after_nsinit_is_killed") {
        return;
    }
    let host = host_with_bridge("nsbr0");
    let c = Container::new("net-kill", &veth_config("10.213.0.21/24", json!({})));
    let (mut child, _) = start(&host, &c, "true");
    let host_end = c.state()["network_state"]["veth_host"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(host.links().contains(&host_end));
    child.kill().expect("kill nsinit");
    let _ = child.wait();
    wait_until("the host veth to vanish", || {
        !host.links().contains(&host_end)
    });
    // A SIGKILLed nsinit cannot clean up its cgroups; the next exec finds the
    // stale record and removes them.
    let needle = c.dir.file_name().unwrap().to_string_lossy().into_owned();
    assert!(!common::cgroup_dirs_named(&needle).is_empty());
    let o = nsinit(&host, &c, &["exec", "true"]).output().unwrap();
    assert!(o.status.success(), "{}", common::err(&o));
    assert!(
        common::err(&o).contains("removing what a stopped container left"),
        "{}",
        common::err(&o)
    );
    assert_eq!(
        common::cgroup_dirs_named(&needle),
        Vec::<std::path::PathBuf>::new()
    );
}

#[test]
fn missing_bridge_fails_before_start_and_leaves_nothing() {
    if !can_run("missing_bridge_fails_before_start_and_leaves_nothing") {
        return;
    }
    let host = host_with_bridge("nsbr0");
    let mut cfg = veth_config("10.213.0.31/24", json!({}));
    cfg["networks"][1]["bridge"] = json!("nope0");
    let c = Container::new("net-nobr", &cfg);
    let o = nsinit(&host, &c, &["exec", "true"]).output().unwrap();
    assert!(!o.status.success());
    let err = common::err(&o);
    assert!(
        err.contains("network veth: bridge \"nope0\" does not exist"),
        "{err}"
    );
    assert_eq!(host.links(), ["lo", "nsbr0"]);
    assert!(!c.dir.join("state.json").exists());
}

#[test]
fn loopback_only_container_sees_only_lo() {
    if !can_run("loopback_only_container_sees_only_lo") {
        return;
    }
    let host = NetNs::new(None);
    let c = Container::new("net-lo", &common::base_config());
    let o = nsinit(&host, &c, &["exec", "sh", "-c", "ls /sys/class/net; cat /sys/class/net/lo/flags; ping -c 1 -W 3 127.0.0.1 >/dev/null && echo PING-OK"])
        .output()
        .unwrap();
    assert_eq!(common::ok(&o), "lo\n0x9\nPING-OK\n");
    assert_eq!(host.links(), ["lo"]);
}

#[test]
fn netns_strategy_joins_a_prepared_namespace() {
    if !can_run("netns_strategy_joins_a_prepared_namespace") {
        return;
    }
    let prepared = NetNs::new(None);
    prepared.ok("ip link add marker0 type bridge && ip addr add 10.77.0.1/24 dev marker0 && ip link set marker0 up");
    let mut cfg = common::base_config();
    cfg["namespaces"] = json!({"NEWNS": true, "NEWUTS": true, "NEWIPC": true, "NEWPID": true});
    cfg["networks"] = json!([{"type": "netns", "ns_path": prepared.path()}]);
    let c = Container::new("net-netns", &cfg);
    let o = c.exec(&["sh", "-c", "ls /sys/class/net; ip -4 addr show marker0"]);
    let s = common::ok(&o);
    assert!(s.starts_with("lo\nmarker0\n"), "{s}");
    assert!(s.contains("inet 10.77.0.1/24"), "{s}");
}

#[test]
fn user_namespace_container_configures_its_veth() {
    if !can_run("user_namespace_container_configures_its_veth") {
        return;
    }
    let host = host_with_bridge("nsbr0");
    let mut cfg = veth_config("10.213.0.41/24", json!({}));
    cfg["namespaces"]["NEWUSER"] = json!(true);
    // Identity-mapped so the root-owned shared rootfs stays usable.
    let map = json!([{"container_id": 0, "host_id": 0, "size": 65536}]);
    cfg["uid_mappings"] = map.clone();
    cfg["gid_mappings"] = map;
    let c = Container::new("net-userns", &cfg);
    let o = nsinit(
        &host,
        &c,
        &[
            "exec",
            "sh",
            "-c",
            "cat /sys/class/net/eth0/mtu; ping -c 1 -W 3 10.213.0.1 >/dev/null && echo PING-OK",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(common::ok(&o), "1400\nPING-OK\n");
    assert_eq!(host.links(), ["lo", "nsbr0"]);
}
