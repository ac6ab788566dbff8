//! `linux.resources`: the device rules and the cgroup limits (memory, cpu,
//! pids, blockIO, hugepageLimits, network, rdma), lowered into [`Cgroups`].
//! Limits cgroup v2 lacks are warned about and dropped (memory) or refused
//! (network) when the host has no v1 hierarchy for them.

use serde_json::{Map, Value};

use super::read::{array, get, known_keys, obj, opt_str, set};
use crate::config::cgroups::{cpu_list, valid_page_size};
use crate::config::json::{Diag, join};
use crate::config::{BlkioDevice, Cgroups, Device, DeviceKind, RdmaLimit, THROTTLES};

const RESOURCE_KEYS: &[&str] = &[
    "devices",
    "memory",
    "cpu",
    "pids",
    "blockIO",
    "hugepageLimits",
    "network",
    "rdma",
    "unified",
];

pub fn lower(v: &Value, path: &str, cg: &mut Cgroups, d: &mut Diag) {
    let Some(r) = obj(v, path, d) else {
        return;
    };
    known_keys(r, path, RESOURCE_KEYS, d);
    let at = |k: &str| join(path, k);
    device_rules(r.get("devices"), &at("devices"), cg, d);
    if let Some(m) = r.get("memory").filter(|v| !v.is_null()) {
        memory(m, &at("memory"), cg, d);
    }
    if let Some(c) = r.get("cpu").filter(|v| !v.is_null()) {
        cpu(c, &at("cpu"), cg, d);
    }
    if let Some(p) = r.get("pids").filter(|v| !v.is_null())
        && let Some(p) = obj(p, &at("pids"), d)
    {
        known_keys(p, &at("pids"), &["limit"], d);
        cg.pids_limit = match get::<i64>(p, &at("pids"), "limit", d) {
            None | Some(0) => None,
            Some(n) if n < -1 => {
                d.error(
                    &join(&at("pids"), "limit"),
                    format_args!("must be -1 (unlimited) or positive, got {n}"),
                );
                None
            }
            n => n,
        };
    }
    if let Some(b) = r.get("blockIO").filter(|v| !v.is_null())
        && let Some(b) = obj(b, &at("blockIO"), d)
    {
        let here = at("blockIO");
        let mut keys = vec!["weight", "leafWeight", "weightDevice"];
        keys.extend(THROTTLES.map(|t| t.0));
        known_keys(b, &here, &keys, d);
        cg.blkio_weight = match get::<u16>(b, &here, "weight", d) {
            None | Some(0) => None,
            Some(w) if (10..=1000).contains(&w) => Some(w),
            Some(w) => {
                d.error(
                    &join(&here, "weight"),
                    format_args!("must be between 10 and 1000, got {w}"),
                );
                None
            }
        };
        if set(b, "leafWeight") {
            d.warn(&join(&here, "leafWeight"), LEAF);
        }
        cg.blkio_weight_device = block_devices(b, &here, "weightDevice", d);
        for (i, (key, ..)) in THROTTLES.iter().enumerate() {
            cg.blkio_throttle[i] = block_devices(b, &here, key, d);
        }
    }
    if let Some(h) = r.get("hugepageLimits").filter(|v| !v.is_null())
        && let Some(items) = array(h, &at("hugepageLimits"), d)
    {
        for (i, h) in items.iter().enumerate() {
            let here = format!("{}[{i}]", at("hugepageLimits"));
            let Some(h) = obj(h, &here, d) else {
                continue;
            };
            known_keys(h, &here, &["pageSize", "limit"], d);
            let size = opt_str(h, &here, "pageSize", d).unwrap_or_default();
            let limit = get::<u64>(h, &here, "limit", d);
            if !valid_page_size(&size) {
                d.error(
                    &join(&here, "pageSize"),
                    format_args!("expected a size like \"2MB\" or \"1GB\", got {size:?}"),
                );
            } else if cg.hugetlb_limit.iter().any(|(s, _)| *s == size) {
                d.error(
                    &join(&here, "pageSize"),
                    format_args!("{size:?} is listed twice"),
                );
            } else if let Some(limit) = limit {
                cg.hugetlb_limit.push((size, limit));
            }
        }
    }
    if let Some(n) = r.get("network").filter(|v| !v.is_null())
        && let Some(n) = obj(n, &at("network"), d)
    {
        let here = at("network");
        known_keys(n, &here, &["classID", "priorities"], d);
        cg.net_cls_classid = get::<u32>(n, &here, "classID", d).filter(|c| *c != 0);
        cg.net_prio_ifpriomap = priorities(n, &join(&here, "priorities"), d);
        let asked = [
            ("classID", "net_cls", cg.net_cls_classid.is_some()),
            ("priorities", "net_prio", !cg.net_prio_ifpriomap.is_empty()),
        ];
        for (key, controller, _) in asked.into_iter().filter(|a| a.2) {
            if on_v1(controller, d) == Some(false) {
                d.error(
                    &join(&here, key),
                    format_args!(
                        "needs the cgroup v1 {controller} controller, which is not mounted \
                         on this host (cgroup v2 has none)"
                    ),
                );
            }
        }
    }
    cg.unified = unified(r.get("unified"), &at("unified"), d);
    if let Some(v) = r.get("rdma").filter(|v| !v.is_null()) {
        cg.rdma = rdma(v, &at("rdma"), d);
    }
}

/// `rdma`: device → `{hcaHandles, hcaObjects}`, each optional (the kernel
/// keeps a limit not written). A device without either asks nothing.
fn rdma(v: &Value, path: &str, d: &mut Diag) -> Vec<RdmaLimit> {
    let Some(m) = obj(v, path, d) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (device, limits) in m {
        let here = join(path, device);
        if device.is_empty() || device.len() > 63 || device.bytes().any(|b| b <= b' ') {
            d.error(
                &here,
                "expected an RDMA device name (1 to 63 characters, no spaces)",
            );
            continue;
        }
        let Some(l) = obj(limits, &here, d) else {
            continue;
        };
        known_keys(l, &here, &["hcaHandles", "hcaObjects"], d);
        let hca_handles = get::<u32>(l, &here, "hcaHandles", d);
        let hca_objects = get::<u32>(l, &here, "hcaObjects", d);
        if hca_handles.is_some() || hca_objects.is_some() {
            out.push(RdmaLimit {
                device: device.clone(),
                hca_handles,
                hca_objects,
            });
        }
    }
    out
}

/// `unified`: file name → value, for the container's cgroup v2 directory. A
/// name must be a plain file of a controller (`memory.high`), never one
/// that moves processes or makes subgroups.
fn unified(v: Option<&Value>, path: &str, d: &mut Diag) -> Vec<(String, String)> {
    let Some(m) = v.filter(|v| !v.is_null()).and_then(|v| obj(v, path, d)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, v) in m {
        let here = join(path, k);
        let moves = [
            "cgroup.procs",
            "cgroup.threads",
            "cgroup.subtree_control",
            "cgroup.kill",
        ];
        if k.is_empty() || k.contains('/') || k.starts_with('.') || !k.contains('.') {
            d.error(
                &here,
                "expected a cgroup v2 file name (controller.file, no '/')",
            );
        } else if moves.contains(&k.as_str()) {
            d.error(&here, "a file that moves processes or enables controllers");
        } else if let Some(s) = v.as_str() {
            out.push((k.clone(), s.to_string()));
        } else {
            d.error(&here, "expected a string");
        }
    }
    out
}

/// Ordered allow/deny rules folded into an allow-list: "deny all" resets it,
/// "allow all" lifts every restriction; denying one device after allowing
/// all (a deny-list) is refused.
fn device_rules(v: Option<&Value>, path: &str, cg: &mut Cgroups, d: &mut Diag) {
    cg.allow_all_devices = true;
    let Some(items) = v.filter(|v| !v.is_null()).and_then(|v| array(v, path, d)) else {
        return;
    };
    for (i, rule) in items.iter().enumerate() {
        let here = format!("{path}[{i}]");
        let Some(m) = obj(rule, &here, d) else {
            continue;
        };
        known_keys(m, &here, &["allow", "type", "major", "minor", "access"], d);
        let allow = get::<bool>(m, &here, "allow", d).unwrap_or(false);
        let kind = match opt_str(m, &here, "type", d).as_deref() {
            None | Some("a") => DeviceKind::All,
            Some("c") => DeviceKind::Char,
            Some("b") => DeviceKind::Block,
            Some(t) => {
                d.error(
                    &join(&here, "type"),
                    format_args!("expected \"a\", \"c\" or \"b\", got {t:?}"),
                );
                continue;
            }
        };
        let major = get::<i64>(m, &here, "major", d).filter(|n| *n >= 0);
        let minor = get::<i64>(m, &here, "minor", d).filter(|n| *n >= 0);
        let access = opt_str(m, &here, "access", d).unwrap_or_else(|| "rwm".into());
        if access.is_empty() || !access.chars().all(|c| "rwm".contains(c)) {
            d.error(
                &join(&here, "access"),
                format_args!("expected letters from \"rwm\", got {access:?}"),
            );
            continue;
        }
        let everything = kind == DeviceKind::All && major.is_none() && minor.is_none();
        let full = ['r', 'w', 'm'].iter().all(|c| access.contains(*c));
        match (allow, everything) {
            (false, true) if full => {
                cg.allow_all_devices = false;
                cg.allowed_devices.clear();
            }
            (true, true) if full => {
                cg.allow_all_devices = true;
                cg.allowed_devices.clear();
            }
            (true, _) if !cg.allow_all_devices => {
                let n = |x: Option<i64>| x.map(|x| x as u32);
                cg.allowed_devices
                    .push(Device::rule(kind, n(major), n(minor), &access));
            }
            (true, _) => {}
            (false, _) if !cg.allow_all_devices => {
                let same = |r: &Device| {
                    r.kind == kind
                        && r.major == major.map(|x| x as u32)
                        && r.minor == minor.map(|x| x as u32)
                };
                cg.allowed_devices.retain(|r| !same(r));
            }
            (false, _) => d.error(
                &here,
                "denying some devices while allowing all others is not supported by this build \
                 (start with {\"allow\": false, \"access\": \"rwm\"})",
            ),
        }
    }
}

const MEMORY_KEYS: &[&str] = &[
    "limit",
    "reservation",
    "swap",
    "kernel",
    "kernelTCP",
    "swappiness",
    "disableOOMKiller",
    "useHierarchy",
    "checkBeforeUpdate",
];

fn memory(v: &Value, path: &str, cg: &mut Cgroups, d: &mut Diag) {
    let Some(m) = obj(v, path, d) else {
        return;
    };
    known_keys(m, path, MEMORY_KEYS, d);
    let mut bytes = |key: &str, minus_one: bool| -> Option<i64> {
        match get::<i64>(m, path, key, d) {
            None | Some(0) => None,
            Some(-1) if minus_one => Some(-1),
            Some(-1) => None,
            Some(n) if n < 0 => {
                d.error(
                    &join(path, key),
                    format_args!("must be -1 (unlimited) or a size in bytes, got {n}"),
                );
                None
            }
            n => n,
        }
    };
    cg.memory = bytes("limit", false);
    cg.memory_reservation = bytes("reservation", false);
    cg.memory_swap = bytes("swap", true);
    cg.kernel_memory_tcp = bytes("kernelTCP", true);
    if let (Some(swap), Some(mem)) = (cg.memory_swap.filter(|s| *s > 0), cg.memory)
        && swap < mem
    {
        d.error(
            &join(path, "swap"),
            format_args!("must be at least memory.limit ({mem}): it is memory+swap, got {swap}"),
        );
    }
    if m.get("kernel").is_some_and(|v| !v.is_null()) {
        d.warn(
            &join(path, "kernel"),
            "ignored (kernel memory limits are deprecated)",
        );
    }
    if m.get("useHierarchy").is_some_and(|v| !v.is_null()) {
        d.warn(&join(path, "useHierarchy"), "ignored (always hierarchical)");
    }
    cg.memory_swappiness = match get::<u64>(m, path, "swappiness", d) {
        Some(n) if n > 100 => {
            d.error(
                &join(path, "swappiness"),
                format_args!("must be between 0 and 100, got {n}"),
            );
            None
        }
        n => n,
    };
    cg.oom_kill_disable = get::<bool>(m, path, "disableOOMKiller", d).unwrap_or(false);
    let v1_only = [
        ("swappiness", cg.memory_swappiness.is_some()),
        ("disableOOMKiller", cg.oom_kill_disable),
        ("kernelTCP", cg.kernel_memory_tcp.is_some()),
    ];
    if v1_only.iter().any(|f| f.1) && on_v1("memory", d) == Some(false) {
        for (key, _) in v1_only.iter().filter(|f| f.1) {
            d.warn(
                &join(path, key),
                "ignored: cgroup v2 has no such setting (runc ignores it too)",
            );
        }
        cg.memory_swappiness = None;
        cg.oom_kill_disable = false;
        cg.kernel_memory_tcp = None;
    }
}

/// Is `controller` on a cgroup v1 hierarchy of this host? `None` when the
/// host is not looked at (unit tests) or its layout cannot be read.
fn on_v1(controller: &str, d: &Diag) -> Option<bool> {
    if !d.check_host {
        return None;
    }
    let layout = crate::cgroup::Layout::detect().ok()?;
    Some(layout.v1_for(controller).is_some())
}

const LEAF: &str = "ignored (leaf weights were CFQ's, which Linux 5.0 removed)";

/// `[{major, minor, rate}]` (a throttle) or `[{major, minor, weight,
/// leafWeight}]` (`weightDevice`: an entry without a weight sets none).
fn block_devices(b: &Map<String, Value>, path: &str, key: &str, d: &mut Diag) -> Vec<BlkioDevice> {
    let here = join(path, key);
    let Some(items) = b
        .get(key)
        .filter(|v| !v.is_null())
        .and_then(|v| array(v, &here, d))
    else {
        return Vec::new();
    };
    let weights = key == "weightDevice";
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{here}[{i}]");
        let Some(m) = obj(item, &at, d) else {
            continue;
        };
        let keys = [
            "major",
            "minor",
            if weights { "weight" } else { "rate" },
            "leafWeight",
        ];
        known_keys(m, &at, &keys[..if weights { 4 } else { 3 }], d);
        let mut num = |k: &str, max: u64| match get::<u64>(m, &at, k, d) {
            None if !d.has_error_at(&join(&at, k)) => {
                d.error(&join(&at, k), "required");
                None
            }
            Some(n) if n > max => {
                d.error(
                    &join(&at, k),
                    format_args!("must be at most {max}, got {n}"),
                );
                None
            }
            n => n,
        };
        let (major, minor) = (num("major", 4095), num("minor", 0xf_ffff));
        let value = if weights {
            if set(m, "leafWeight") {
                d.warn(&join(&at, "leafWeight"), LEAF);
            }
            match get::<u64>(m, &at, "weight", d) {
                None | Some(0) => continue,
                Some(w) if (10..=1000).contains(&w) => Some(w),
                Some(w) => {
                    let msg = format_args!("must be between 10 and 1000, got {w}");
                    d.error(&join(&at, "weight"), msg);
                    None
                }
            }
        } else {
            num("rate", u64::MAX)
        };
        if let (Some(major), Some(minor), Some(value)) = (major, minor, value) {
            let (major, minor) = (major as u32, minor as u32);
            out.push(BlkioDevice {
                major,
                minor,
                value,
            });
        }
    }
    out
}

/// `network.priorities`: `[{name, priority}]`, interface names as the
/// kernel takes them.
fn priorities(n: &Map<String, Value>, path: &str, d: &mut Diag) -> Vec<(String, u32)> {
    let Some(items) = n
        .get("priorities")
        .filter(|v| !v.is_null())
        .and_then(|v| array(v, path, d))
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, p) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let Some(m) = obj(p, &at, d) else {
            continue;
        };
        known_keys(m, &at, &["name", "priority"], d);
        let name = opt_str(m, &at, "name", d).unwrap_or_default();
        let priority = get::<u32>(m, &at, "priority", d).unwrap_or(0);
        let bad = |c: char| c.is_whitespace() || matches!(c, '/' | ':' | '\0');
        if name.is_empty() || name.len() > 15 || name.contains(bad) {
            d.error(
                &join(&at, "name"),
                format_args!("expected an interface name (1 to 15 characters, no spaces, '/' or ':'), got {name:?}"),
            );
            continue;
        }
        out.push((name, priority));
    }
    out
}

const CPU_KEYS: &[&str] = &[
    "shares",
    "quota",
    "burst",
    "period",
    "realtimeRuntime",
    "realtimePeriod",
    "cpus",
    "mems",
    "idle",
];

fn cpu(v: &Value, path: &str, cg: &mut Cgroups, d: &mut Diag) {
    let Some(c) = obj(v, path, d) else {
        return;
    };
    known_keys(c, path, CPU_KEYS, d);
    let mut ranged = |key: &str, min: u64, max: u64| match get::<u64>(c, path, key, d) {
        None | Some(0) => None,
        Some(n) if (min..=max).contains(&n) => Some(n),
        Some(n) => {
            d.error(
                &join(path, key),
                format_args!("must be between {min} and {max}, got {n}"),
            );
            None
        }
    };
    cg.cpu_shares = ranged("shares", 2, 262_144);
    cg.cpu_period = ranged("period", 1000, 1_000_000);
    cg.cpu_quota = match get::<i64>(c, path, "quota", d) {
        None | Some(0) => None,
        Some(n) if n == -1 || n >= 1000 => Some(n),
        Some(n) => {
            d.error(
                &join(path, "quota"),
                format_args!("must be -1 (unlimited) or at least 1000 (microseconds), got {n}"),
            );
            None
        }
    };
    cg.cpuset_cpus = cpu_list(opt_str(c, path, "cpus", d), &join(path, "cpus"), d);
    cg.cpuset_mems = cpu_list(opt_str(c, path, "mems", d), &join(path, "mems"), d);
    // burst and idle: present means written, 0 included (as runc).
    cg.cpu_burst = get::<u64>(c, path, "burst", d);
    let over = |key: &str, n: i64, of: &str, max: i64, d: &mut Diag| {
        if max > 0 && n > max {
            d.error(
                &join(path, key),
                format_args!("must not exceed {of} ({max}), got {n}"),
            );
        }
    };
    if let Some(b) = cg.cpu_burst {
        over("burst", b as i64, "quota", cg.cpu_quota.unwrap_or(0), d);
    }
    cg.cpu_idle = match get::<i64>(c, path, "idle", d) {
        Some(n @ (0 | 1)) => Some(n as u64),
        None => None,
        Some(n) => {
            d.error(&join(path, "idle"), format_args!("must be 0 or 1, got {n}"));
            None
        }
    };
    cg.cpu_rt_period = get::<u64>(c, path, "realtimePeriod", d).filter(|p| *p != 0);
    cg.cpu_rt_runtime = match get::<i64>(c, path, "realtimeRuntime", d) {
        None | Some(0) => None,
        Some(n) if n < -1 => {
            let msg = format_args!("must be -1 (unlimited) or positive, got {n}");
            d.error(&join(path, "realtimeRuntime"), msg);
            None
        }
        n => n,
    };
    if let (Some(r), Some(p)) = (cg.cpu_rt_runtime, cg.cpu_rt_period) {
        over("realtimeRuntime", r, "realtimePeriod", p as i64, d);
    }
    // Realtime group scheduling is cgroup v1's (crun refuses it on v2;
    // runc ignores it there).
    if (cg.cpu_rt_period.is_some() || cg.cpu_rt_runtime.is_some()) && on_v1("cpu", d) == Some(false)
    {
        for key in ["realtimePeriod", "realtimeRuntime"]
            .into_iter()
            .filter(|k| set(c, k))
        {
            d.error(
                &join(path, key),
                "cgroup v2 has no realtime group scheduling (cpu.rt_runtime_us is cgroup v1's)",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::{Value, json};

    use super::*;
    use crate::oci::{default_spec, lower_str};

    /// The default spec with `linux.resources` = `r`: its cgroups and
    /// warnings, or its errors.
    fn lower(r: Value) -> Result<(Cgroups, Vec<String>), Vec<String>> {
        let mut v = default_spec(false);
        v["linux"]["resources"] = r;
        let b = lower_str(&v.to_string(), Path::new("/tmp/nsinit-res"), false)?;
        Ok((b.config.cgroups.unwrap(), b.warnings))
    }

    const D: BlkioDevice = BlkioDevice {
        major: 8,
        minor: 0,
        value: 0,
    };

    #[test]
    fn v1_memory_knobs_block_devices_and_network_lower() {
        let (cg, warnings) = lower(json!({
            "memory": {"swappiness": 0, "disableOOMKiller": true, "kernelTCP": 1048576},
            "blockIO": {"leafWeight": 10,
                "weightDevice": [{"major": 8, "minor": 0, "weight": 300, "leafWeight": 10},
                                 {"major": 8, "minor": 16, "leafWeight": 5}],
                "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                "throttleWriteIOPSDevice": [{"major": 253, "minor": 1, "rate": 0}]},
            "network": {"classID": 1048577, "priorities": [{"name": "lo", "priority": 5}]}
        }))
        .unwrap();
        assert_eq!(
            (
                cg.memory_swappiness,
                cg.oom_kill_disable,
                cg.kernel_memory_tcp
            ),
            (Some(0), true, Some(1 << 20))
        );
        assert_eq!(cg.blkio_weight_device, [BlkioDevice { value: 300, ..D }]);
        assert_eq!(
            cg.blkio_throttle,
            [
                vec![BlkioDevice {
                    value: 1 << 20,
                    ..D
                }],
                vec![],
                vec![],
                vec![BlkioDevice {
                    major: 253,
                    minor: 1,
                    value: 0
                }],
            ]
        );
        assert_eq!(cg.blkio_weight_device[0].to_string(), "8:0 300");
        assert_eq!(cg.net_cls_classid, Some(0x100001));
        assert_eq!(cg.net_prio_ifpriomap, [("lo".to_string(), 5)]);
        let leaf: Vec<&String> = warnings
            .iter()
            .filter(|w| w.contains("leafWeight"))
            .collect();
        assert_eq!(leaf.len(), 3, "{warnings:?}");
        assert!(leaf[1].starts_with(
            "config.json: linux.resources.blockIO.weightDevice[0].leafWeight: ignored"
        ));
        // Zero and absent are unset.
        let (cg, _) =
            lower(json!({"memory": {"kernelTCP": 0}, "network": {"classID": 0}})).unwrap();
        assert_eq!(
            (
                cg.kernel_memory_tcp,
                cg.net_cls_classid,
                cg.memory_swappiness
            ),
            (None, None, None)
        );
        let (cg, _) = lower(json!({"memory": {"kernelTCP": -1}})).unwrap();
        assert_eq!(cg.kernel_memory_tcp, Some(-1));
    }

    #[test]
    fn bad_values_name_their_field() {
        let errors = lower(json!({
            "memory": {"swappiness": 101, "kernelTCP": -2, "disableOOMKiller": 1},
            "blockIO": {
                "weightDevice": [{"major": 8, "minor": 0, "weight": 5}, {"major": 8, "weight": 2000}],
                "throttleReadBpsDevice": [{"major": 5000, "minor": 0, "rate": -1}],
                "throttleWriteBpsDevice": [{"major": 8, "minor": 1048576}],
                "throttleReadIOPSDevice": {"major": 8}},
            "network": {"priorities": [{"name": "", "priority": 1}, {"name": "a b"}, {"name": "eth0", "priority": -1}]}
        }))
        .unwrap_err();
        let p = "config.json: linux.resources.";
        let want: Vec<String> = [
            "blockIO.weightDevice[0].weight: must be between 10 and 1000, got 5",
            "blockIO.weightDevice[1].minor: required",
            "blockIO.weightDevice[1].weight: must be between 10 and 1000, got 2000",
            "blockIO.throttleReadBpsDevice[0].major: must be at most 4095, got 5000",
            "blockIO.throttleReadBpsDevice[0].rate: expected a non-negative integer, got -1",
            "blockIO.throttleWriteBpsDevice[0].minor: must be at most 1048575, got 1048576",
            "blockIO.throttleWriteBpsDevice[0].rate: required",
            "blockIO.throttleReadIOPSDevice: expected an array, got an object",
            "network.priorities[0].name: expected an interface name (1 to 15 characters, no spaces, '/' or ':'), got \"\"",
            "network.priorities[1].name: expected an interface name (1 to 15 characters, no spaces, '/' or ':'), got \"a b\"",
            "network.priorities[2].priority: expected a non-negative integer, got -1",
            "memory.kernelTCP: must be -1 (unlimited) or a size in bytes, got -2",
            "memory.swappiness: must be between 0 and 100, got 101",
            "memory.disableOOMKiller: expected true or false, got 1",
        ]
        .iter()
        .map(|e| format!("{p}{e}"))
        .collect();
        let mut got: Vec<String> = errors.into_iter().filter(|e| e.starts_with(p)).collect();
        got.sort();
        let mut want = want;
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn cpu_burst_idle_realtime_and_rdma_lower() {
        let (cg, _) = lower(json!({
            "cpu": {"quota": 50000, "burst": 20000, "idle": 1,
                    "realtimePeriod": 1000000, "realtimeRuntime": 10000},
            "rdma": {"mlx5_0": {"hcaHandles": 3, "hcaObjects": 1000},
                     "mlx4_0": {"hcaObjects": 7}, "empty": {}}
        }))
        .unwrap();
        assert_eq!(
            (
                cg.cpu_burst,
                cg.cpu_idle,
                cg.cpu_rt_period,
                cg.cpu_rt_runtime
            ),
            (Some(20000), Some(1), Some(1_000_000), Some(10000))
        );
        let lines: Vec<String> = cg.rdma.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            ["mlx4_0 hca_object=7", "mlx5_0 hca_handle=3 hca_object=1000"]
        );
        // burst and idle 0 are written (present means asked); realtime 0 is unset.
        let (cg, _) = lower(json!({"cpu": {"burst": 0, "idle": 0, "realtimePeriod": 0,
                                           "realtimeRuntime": 0}}))
        .unwrap();
        assert_eq!(
            (
                cg.cpu_burst,
                cg.cpu_idle,
                cg.cpu_rt_period,
                cg.cpu_rt_runtime
            ),
            (Some(0), Some(0), None, None)
        );
        let (cg, _) = lower(json!({"cpu": {"realtimeRuntime": -1}})).unwrap();
        assert_eq!(cg.cpu_rt_runtime, Some(-1));
        assert!(lower(json!({"cpu": {}})).unwrap().0.rdma.is_empty());
    }

    #[test]
    fn bad_cpu_and_rdma_values_name_their_field() {
        let errors = lower(json!({
            "cpu": {"quota": 10000, "burst": 20000, "idle": 2, "realtimeRuntime": -2},
            "rdma": {"": {"hcaHandles": 1}, "a b": {"hcaHandles": 1}, "mlx5_0": {"hcaHandles": -1},
                     "mlx5_1": [], "mlx5_2": {"hcaHandle": 1}}
        }))
        .unwrap_err();
        let p = "config.json: linux.resources.";
        let mut got: Vec<&str> = errors.iter().filter_map(|e| e.strip_prefix(p)).collect();
        got.sort();
        assert_eq!(
            got,
            [
                "cpu.burst: must not exceed quota (10000), got 20000",
                "cpu.idle: must be 0 or 1, got 2",
                "cpu.realtimeRuntime: must be -1 (unlimited) or positive, got -2",
                "rdma.: expected an RDMA device name (1 to 63 characters, no spaces)",
                "rdma.a b: expected an RDMA device name (1 to 63 characters, no spaces)",
                "rdma.mlx5_0.hcaHandles: expected a non-negative integer, got -1",
                "rdma.mlx5_1: expected an object, got an array",
            ]
        );
    }
}
