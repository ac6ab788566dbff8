//! `linux`: namespaces, id maps, devices, cgroups and resources, sysctl,
//! masked and read-only paths, propagation, personality, time offsets.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::read::{
    array, flag_set, get, known_keys, named, obj, opt_str, string_map, strings, unsupported,
};
use crate::config::cgroups::default_name;
use crate::config::json::{Diag, join};
use crate::config::mount_options::{self, Opt};
use crate::config::mounts::{container_path, container_paths, host_path};
use crate::config::{Cgroups, Config, Device, DeviceKind, IdMap, Ns};
use crate::sched::{self, MemoryPolicy};

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
    cfg.uid_mappings = id_maps(l, P, "uidMappings", d);
    cfg.gid_mappings = id_maps(l, P, "gidMappings", d);
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
        Some(r) => super::resources::lower(r, &at("resources"), &mut cg, d),
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
    if let Some(m) = l.get("memoryPolicy").filter(|v| !v.is_null()) {
        cfg.memory_policy = memory_policy(m, &at("memoryPolicy"), d);
    }
    unsupported(l, P, &["intelRdt", "netDevices"], d);
}

/// `linux.memoryPolicy`: a mode, its flags and nodes, checked as the kernel
/// would (nodes required by bind and the interleaves, refused by default
/// and local).
fn memory_policy(v: &Value, path: &str, d: &mut Diag) -> Option<MemoryPolicy> {
    let m = obj(v, path, d)?;
    known_keys(m, path, &["mode", "nodes", "flags"], d);
    let at = |k: &str| format!("{path}.{k}");
    let mode = match opt_str(m, path, "mode", d) {
        None => {
            d.error(&at("mode"), "required (e.g. \"MPOL_BIND\")");
            None
        }
        Some(s) => named(sched::MPOL_MODES, &s, "mode", &at("mode"), d),
    };
    let flags = flag_set(m, path, "flags", sched::MPOL_FLAGS, d);
    let list = opt_str(m, path, "nodes", d).filter(|s| !s.is_empty());
    let nodes = match list.as_deref().map(|l| (l, MemoryPolicy::parse_nodes(l))) {
        Some((l, None)) => {
            d.error(
                &at("nodes"),
                format_args!("expected a node list like \"0-3,7\", got {l:?}"),
            );
            return None;
        }
        Some((_, Some(n))) => n,
        None => Vec::new(),
    };
    let mode = mode?;
    // MPOL_DEFAULT and MPOL_LOCAL take no nodes; MPOL_PREFERRED takes one
    // or none (local); the others need some.
    match (mode, nodes.is_empty()) {
        (0 | 4, false) => d.error(
            &at("nodes"),
            "must be empty for MPOL_DEFAULT and MPOL_LOCAL",
        ),
        (2 | 3 | 5 | 6, true) => d.error(&at("nodes"), "required for this mode"),
        _ => {}
    }
    Some(MemoryPolicy { mode, flags, nodes })
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

/// `uidMappings`/`gidMappings` of `l` (at `parent`: `linux`, `mounts[3]`).
pub(super) fn id_maps(l: &Map<String, Value>, parent: &str, key: &str, d: &mut Diag) -> Vec<IdMap> {
    let path = join(parent, key);
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
