//! `linux`: namespaces, id maps, devices, cgroups and resources, sysctl,
//! masked and read-only paths, propagation, personality, time offsets.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::read::{array, get, known_keys, obj, opt_str, string_map, strings, unsupported};
use crate::config::cgroups::{cpu_list, default_name, valid_page_size};
use crate::config::json::{Diag, join};
use crate::config::mount_options::{self, Opt};
use crate::config::mounts::{container_path, container_paths, host_path};
use crate::config::{Cgroups, Config, Device, DeviceKind, IdMap, Ns};

const KEYS: &[&str] = &[
    "namespaces",
    "uidMappings",
    "gidMappings",
    "timeOffsets",
    "devices",
    "netDevices",
    "cgroupsPath",
    "rootfsPropagation",
    "resources",
    "intelRdt",
    "sysctl",
    "seccomp",
    "maskedPaths",
    "readonlyPaths",
    "mountLabel",
    "personality",
    "memoryPolicy",
];

/// The runtime-spec name of a namespace kind.
pub fn ns_type(ns: Ns) -> &'static str {
    match ns {
        Ns::User => "user",
        Ns::Ipc => "ipc",
        Ns::Uts => "uts",
        Ns::Net => "network",
        Ns::Pid => "pid",
        Ns::Mnt => "mount",
        Ns::Cgroup => "cgroup",
        Ns::Time => "time",
    }
}

pub fn lower(v: &Value, dir: &Path, cfg: &mut Config, d: &mut Diag) {
    const P: &str = "linux";
    let Some(l) = obj(v, P, d) else {
        return;
    };
    known_keys(l, P, KEYS, d);
    let at = |k: &str| join(P, k);
    if let Some(n) = l.get("namespaces").filter(|n| !n.is_null()) {
        namespaces(n, &at("namespaces"), cfg, d);
    }
    cfg.uid_mappings = id_maps(l, "uidMappings", d);
    cfg.gid_mappings = id_maps(l, "gidMappings", d);
    if let Some(t) = l.get("timeOffsets").filter(|t| !t.is_null()) {
        time_offsets(t, &at("timeOffsets"), cfg, d);
    }
    let mut nodes = default_devices();
    if let Some(list) = l.get("devices").filter(|v| !v.is_null())
        && let Some(items) = array(list, &at("devices"), d)
    {
        for (i, dev) in items.iter().enumerate() {
            let Some(dev) = device(dev, &format!("linux.devices[{i}]"), d) else {
                continue;
            };
            nodes.retain(|n| n.path != dev.path);
            nodes.push(dev);
        }
    }
    let mut cg = cgroups_path(l, dir, d);
    match l.get("resources").filter(|v| !v.is_null()) {
        Some(r) => resources(r, &at("resources"), &mut cg, d),
        None => cg.allow_all_devices = true,
    }
    // runc's defaults come after the configured rules: the standard nodes,
    // ptys, and mknod (not open) of anything.
    if !cg.allow_all_devices {
        let rules = [
            (DeviceKind::Char, None, None, "m"),
            (DeviceKind::Block, None, None, "m"),
            (DeviceKind::Char, Some(136), None, "rwm"),
            (DeviceKind::Char, Some(5), Some(2), "rwm"),
        ];
        for (kind, major, minor, perm) in rules {
            cg.allowed_devices
                .push(Device::rule(kind, major, minor, perm));
        }
        for n in nodes.iter().filter(|n| n.kind != DeviceKind::Fifo) {
            cg.allowed_devices
                .push(Device::rule(n.kind, n.major, n.minor, "rwm"));
        }
    }
    cfg.mount.device_nodes = nodes;
    cfg.cgroups = Some(cg);
    if let Some(s) = l.get("sysctl").filter(|v| !v.is_null()) {
        for (k, v) in string_map(s, &at("sysctl"), d) {
            let bad = k.is_empty()
                || k.contains('/')
                || k.split('.').any(|p| p.is_empty() || p == "..")
                || k.contains('\0')
                || v.contains('\0');
            if bad {
                d.error(
                    &at("sysctl"),
                    format_args!("{k:?}: expected a dotted key like \"net.ipv4.ip_forward\""),
                );
            } else {
                cfg.sysctl.push((k, v));
            }
        }
    }
    cfg.mask_paths = container_paths(strings(l, P, "maskedPaths", d), &at("maskedPaths"), d);
    cfg.readonly_paths =
        container_paths(strings(l, P, "readonlyPaths", d), &at("readonlyPaths"), d);
    if let Some(p) = opt_str(l, P, "rootfsPropagation", d).filter(|p| !p.is_empty()) {
        match mount_options::lookup(&p) {
            Some(Opt::Propagation(f)) => cfg.mount.rootfs_propagation = f,
            _ => d.error(
                &at("rootfsPropagation"),
                format_args!("expected shared, slave, private, unbindable (or r…), got {p:?}"),
            ),
        }
    }
    if let Some(label) = opt_str(l, P, "mountLabel", d).filter(|s| !s.is_empty()) {
        // Without SELinux on the host a label changes nothing (crun ignores
        // it too); with SELinux, ignoring it would weaken isolation.
        if std::path::Path::new("/sys/fs/selinux/enforce").exists() || !d.check_host {
            d.error(
                &at("mountLabel"),
                format_args!("{label:?}: SELinux labels are not supported by this build"),
            );
        } else {
            d.warn(
                &at("mountLabel"),
                format_args!("{label:?} ignored: SELinux is not enabled on this host"),
            );
        }
    }
    if let Some(p) = l.get("personality").filter(|v| !v.is_null()) {
        personality(p, &at("personality"), cfg, d);
    }
    if let Some(v) = l.get("seccomp").filter(|v| !v.is_null()) {
        match crate::seccomp::load(v, &at("seccomp")) {
            Ok(prog) => cfg.seccomp = Some(prog),
            Err(errs) => errs.iter().for_each(|e| d.error("", e)),
        }
    }
    unsupported(l, P, &["intelRdt", "netDevices", "memoryPolicy"], d);
}

fn namespaces(v: &Value, path: &str, cfg: &mut Config, d: &mut Diag) {
    let Some(items) = array(v, path, d) else {
        return;
    };
    let mut seen: Vec<Ns> = Vec::new();
    for (i, n) in items.iter().enumerate() {
        let here = format!("{path}[{i}]");
        let Some(m) = obj(n, &here, d) else {
            continue;
        };
        known_keys(m, &here, &["type", "path"], d);
        let t = opt_str(m, &here, "type", d).unwrap_or_default();
        let Some(ns) = Ns::ALL.into_iter().find(|ns| ns_type(*ns) == t) else {
            d.error(
                &join(&here, "type"),
                format_args!(
                    "unknown namespace {t:?} (expected pid, network, mount, ipc, uts, user, cgroup or time)"
                ),
            );
            continue;
        };
        if seen.contains(&ns) {
            d.error(&join(&here, "type"), format_args!("{t:?} is listed twice"));
            continue;
        }
        seen.push(ns);
        match opt_str(m, &here, "path", d).filter(|p| !p.is_empty()) {
            None => cfg.namespaces.insert(ns),
            Some(p) => {
                // The user namespace is joined first.
                let at = if ns == Ns::User {
                    0
                } else {
                    cfg.ns_paths.len()
                };
                let at_path = join(&here, "path");
                let Some(p) = host_path(&p, &at_path, d) else {
                    continue;
                };
                if d.check_host
                    && let Err(e) =
                        crate::container::nspath::check_kind(&p, ns).and_then(|()| match ns {
                            Ns::Mnt => crate::container::nspath::check_not_own_mount_ns(&p),
                            _ => Ok(()),
                        })
                {
                    d.error(&at_path, e);
                    continue;
                }
                cfg.ns_paths.insert(at, (ns, p));
            }
        }
    }
}

fn id_maps(l: &Map<String, Value>, key: &str, d: &mut Diag) -> Vec<IdMap> {
    let path = join("linux", key);
    let Some(items) = l.get(key).filter(|v| !v.is_null()) else {
        return Vec::new();
    };
    let Some(items) = array(items, &path, d) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, m) in items.iter().enumerate() {
        let here = format!("{path}[{i}]");
        let Some(m) = obj(m, &here, d) else {
            continue;
        };
        known_keys(m, &here, &["containerID", "hostID", "size"], d);
        let mut num = |k: &str| {
            let n = get::<u32>(m, &here, k, d);
            if n.is_none() && !d.has_error_at(&join(&here, k)) {
                d.error(&join(&here, k), "required");
            }
            n
        };
        let (Some(container_id), Some(host_id), Some(size)) =
            (num("containerID"), num("hostID"), num("size"))
        else {
            continue;
        };
        if size == 0 {
            d.error(&join(&here, "size"), "must be at least 1");
        } else if u64::from(container_id.max(host_id)) + u64::from(size) > 1 << 32 {
            d.error(&here, "runs past the last id 4294967295");
        } else {
            out.push(IdMap {
                container_id,
                host_id,
                size,
            });
        }
    }
    out
}

fn time_offsets(v: &Value, path: &str, cfg: &mut Config, d: &mut Diag) {
    let Some(m) = obj(v, path, d) else {
        return;
    };
    known_keys(m, path, &["monotonic", "boottime"], d);
    for (clock, o) in m {
        if clock != "monotonic" && clock != "boottime" {
            continue;
        }
        let here = join(path, clock);
        let Some(o) = obj(o, &here, d) else {
            continue;
        };
        known_keys(o, &here, &["secs", "nanosecs"], d);
        let secs = get::<i64>(o, &here, "secs", d).unwrap_or(0);
        let nanos = get::<u32>(o, &here, "nanosecs", d).unwrap_or(0);
        if nanos >= 1_000_000_000 {
            d.error(&join(&here, "nanosecs"), "must be below 1000000000");
        }
        cfg.time_offsets.push((clock.clone(), secs, nanos));
    }
}

/// The devices every OCI container gets (runtime-spec "Default Devices").
fn default_devices() -> Vec<Device> {
    [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ]
    .into_iter()
    .map(|(path, major, minor)| Device {
        path: Some(path.into()),
        file_mode: 0o666,
        ..Device::rule(DeviceKind::Char, Some(major), Some(minor), "rwm")
    })
    .collect()
}

const DEVICE_KEYS: &[&str] = &["type", "path", "major", "minor", "fileMode", "uid", "gid"];

fn device(v: &Value, here: &str, d: &mut Diag) -> Option<Device> {
    let m = obj(v, here, d)?;
    known_keys(m, here, DEVICE_KEYS, d);
    let t = opt_str(m, here, "type", d).unwrap_or_default();
    let kind = match t.as_str() {
        "c" | "u" => Some(DeviceKind::Char),
        "b" => Some(DeviceKind::Block),
        "p" => Some(DeviceKind::Fifo),
        _ => {
            d.error(
                &join(here, "type"),
                format_args!("expected \"c\", \"u\", \"b\" or \"p\", got {t:?}"),
            );
            None
        }
    };
    let path = match opt_str(m, here, "path", d) {
        Some(p) => container_path(&p, &join(here, "path"), d),
        None => {
            d.error(&join(here, "path"), "required");
            None
        }
    };
    // A FIFO has no numbers; a bad type has its own error.
    let fifo = kind.is_none_or(|k| k == DeviceKind::Fifo);
    let mut num = |k: &str, max: u32| -> Option<u32> {
        let n = get::<u32>(m, here, k, d);
        match n {
            None if fifo => Some(0),
            None => {
                if !d.has_error_at(&join(here, k)) {
                    d.error(&join(here, k), "required for a device node");
                }
                None
            }
            Some(n) if n > max => {
                d.error(
                    &join(here, k),
                    format_args!("must be at most {max}, got {n}"),
                );
                None
            }
            n => n,
        }
    };
    let (major, minor) = (num("major", 4095), num("minor", 0xf_ffff));
    let raw_mode = get::<u32>(m, here, "fileMode", d).unwrap_or(0o666);
    // podman passes the host's st_mode, file type bits included (0o20666):
    // accepted, as runc does, when they name the same kind of node.
    let file_mode = raw_mode & !0o170_000;
    let type_bits = match kind {
        Some(DeviceKind::Char) => 0o020_000,
        Some(DeviceKind::Block) => 0o060_000,
        _ => 0o010_000,
    };
    if raw_mode & 0o170_000 != 0 && raw_mode & 0o170_000 != type_bits || file_mode > 0o7777 {
        d.error(
            &join(here, "fileMode"),
            format_args!(
                "expected permission bits up to 0o7777 (and, optionally, the file type \
                 bits of \"type\"), got {raw_mode:#o}"
            ),
        );
    }
    Some(Device {
        kind: kind?,
        path: Some(path?),
        major: Some(major?),
        minor: Some(minor?),
        permissions: "rwm".into(),
        file_mode,
        uid: get::<u32>(m, here, "uid", d).unwrap_or(0),
        gid: get::<u32>(m, here, "gid", d).unwrap_or(0),
    })
}

/// `cgroupsPath`: `/parent/name` (from the cgroup root), `parent/name`
/// (under nsinit's own cgroup), or absent (a name from the bundle).
fn cgroups_path(l: &Map<String, Value>, dir: &Path, d: &mut Diag) -> Cgroups {
    let here = "linux.cgroupsPath";
    let mut cg = Cgroups {
        name: default_name(dir),
        ..Cgroups::default()
    };
    let Some(p) = opt_str(l, "linux", "cgroupsPath", d).filter(|p| !p.is_empty()) else {
        return cg;
    };
    if p.contains(':') {
        d.error(
            here,
            format_args!(
                "{p:?} is a systemd slice:prefix:name path: the systemd cgroup driver is not supported"
            ),
        );
        return cg;
    }
    let trimmed = p.trim_end_matches('/');
    let bad =
        trimmed.is_empty() || trimmed.split('/').any(|c| c == ".." || c == ".") || p.contains('\0');
    if bad {
        d.error(
            here,
            format_args!("expected a path like \"/machine/ct1\" without \"..\", got {p:?}"),
        );
        return cg;
    }
    let path = PathBuf::from(trimmed);
    cg.name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    cg.parent = path
        .parent()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    cg
}

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

fn resources(v: &Value, path: &str, cg: &mut Cgroups, d: &mut Diag) {
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
        let rest = [
            "leafWeight",
            "weightDevice",
            "throttleReadBpsDevice",
            "throttleWriteBpsDevice",
            "throttleReadIOPSDevice",
            "throttleWriteIOPSDevice",
        ];
        let mut keys = vec!["weight"];
        keys.extend(rest);
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
        unsupported(b, &here, &rest, d);
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
        known_keys(n, &at("network"), &["classID", "priorities"], d);
        unsupported(n, &at("network"), &["classID", "priorities"], d);
    }
    unsupported(r, path, &["rdma", "unified"], d);
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
    unsupported(m, path, &["kernelTCP", "swappiness", "disableOOMKiller"], d);
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
    unsupported(
        c,
        path,
        &["burst", "realtimeRuntime", "realtimePeriod", "idle"],
        d,
    );
}

fn personality(v: &Value, path: &str, cfg: &mut Config, d: &mut Diag) {
    let Some(p) = obj(v, path, d) else {
        return;
    };
    known_keys(p, path, &["domain", "flags"], d);
    cfg.personality = match opt_str(p, path, "domain", d).as_deref() {
        Some("LINUX") => Some(0),
        Some("LINUX32") => Some(0x0008),
        other => {
            d.error(
                &join(path, "domain"),
                format_args!("expected \"LINUX\" or \"LINUX32\", got {other:?}"),
            );
            None
        }
    };
    unsupported(p, path, &["flags"], d);
}
