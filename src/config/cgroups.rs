//! The `cgroups` object: placement (name, parent), the device whitelist and
//! the limits. 0 means "unset" throughout, as with libcontainer's omitempty.

use std::path::Path;

use serde_json::Value;

use super::input::{CgroupsIn, HugetlbIn};
use super::json::{Diag, Indexed, Raw, index, join};
use super::mounts::resolve_device;
use super::{Cgroups, Device, DeviceKind};

/// Memory values above this are typos, not limits.
const MAX_BYTES: i128 = 1 << 50;

/// Resolve `cgroups`. Absent, it still yields a cgroup (nsinit always places
/// the container in one, for tracking), with no limits and no device rules
/// (`allow_all_devices`): "no cgroups section" restricts nothing.
pub(crate) fn resolve_cgroups(
    c: Option<CgroupsIn>,
    path: &str,
    dir: &Path,
    d: &mut Diag,
) -> Cgroups {
    let Some(c) = c else {
        return Cgroups {
            name: default_name(dir),
            allow_all_devices: true,
            ..Cgroups::default()
        };
    };
    let at = |key: &str| join(path, key);

    let name = match c.name.filter(|n| !n.is_empty()) {
        None => default_name(dir),
        Some(n) => {
            if n.contains('/') || n == "." || n == ".." || n.contains('\0') || n.len() > 255 {
                d.error(
                    &at("name"),
                    format_args!("expected a single path component, got {n:?}"),
                );
            }
            n
        }
    };
    let parent = c.parent.unwrap_or_default();
    if parent.split('/').any(|p| p == "..") || parent.contains('\0') {
        d.error(
            &at("parent"),
            format_args!("must not contain \"..\", got {parent:?}"),
        );
    }

    let allowed_devices = c
        .allowed_devices
        .unwrap_or_default()
        .0
        .into_iter()
        .filter_map(|(i, dev)| resolve_device(dev, &index(&at("allowed_devices"), i), false, d))
        .collect();

    let memory = bytes(c.memory.as_ref(), &at("memory"), false, d);
    let memory_reservation = bytes(
        c.memory_reservation.as_ref(),
        &at("memory_reservation"),
        false,
        d,
    );
    let memory_swap = bytes(c.memory_swap.as_ref(), &at("memory_swap"), true, d);
    if let Some(swap) = memory_swap.filter(|s| *s > 0) {
        match memory {
            None => d.error(
                &at("memory_swap"),
                format_args!(
                    "{swap} requires cgroups.memory (memory+swap must be at least the memory limit)"
                ),
            ),
            Some(mem) if swap < mem => d.error(
                &at("memory_swap"),
                format_args!("must be at least cgroups.memory ({mem}), got {swap}"),
            ),
            Some(_) => {}
        }
    }

    let cpu_shares = ranged(c.cpu_shares, &at("cpu_shares"), 2, 262_144, d).map(|n| n as u64);
    let cpu_quota = match c.cpu_quota.unwrap_or(0) {
        0 => None,
        n if n == -1 || n >= 1000 => Some(n),
        n => {
            d.error(
                &at("cpu_quota"),
                format_args!("must be -1 (unlimited) or at least 1000 (microseconds), got {n}"),
            );
            None
        }
    };
    let cpu_period = ranged(c.cpu_period, &at("cpu_period"), 1000, 1_000_000, d).map(|n| n as u64);
    let cpuset_cpus = cpu_list(c.cpuset_cpus, &at("cpuset_cpus"), d);
    let cpuset_mems = cpu_list(c.cpuset_mems, &at("cpuset_mems"), d);
    let pids_limit = match c.pids_limit.unwrap_or(0) {
        0 => None,
        n if n == -1 || n > 0 => Some(n),
        n => {
            d.error(
                &at("pids_limit"),
                format_args!("must be -1 (unlimited) or positive, got {n}"),
            );
            None
        }
    };
    let blkio_weight = ranged(c.blkio_weight, &at("blkio_weight"), 10, 1000, d).map(|n| n as u16);
    let hugetlb_limit = hugetlb(c.hugetlb_limit.unwrap_or_default(), &at("hugetlb_limit"), d);
    let freezer = match c.freezer.filter(|f| !f.is_empty()) {
        None => None,
        Some(f) if f.eq_ignore_ascii_case("FROZEN") || f.eq_ignore_ascii_case("THAWED") => {
            Some(f.to_ascii_uppercase())
        }
        Some(f) => {
            d.error(
                &at("freezer"),
                format_args!("expected \"FROZEN\" or \"THAWED\", got {f:?}"),
            );
            None
        }
    };
    if c.slice.is_some_and(|s| !s.is_empty()) {
        d.warn(
            &at("slice"),
            "ignored (nsinit has no systemd cgroup driver)",
        );
    }

    Cgroups {
        name,
        parent,
        allow_all_devices: c.allow_all_devices.unwrap_or(false),
        allowed_devices,
        memory,
        memory_reservation,
        memory_swap,
        cpu_shares,
        cpu_quota,
        cpu_period,
        cpuset_cpus,
        cpuset_mems,
        pids_limit,
        blkio_weight,
        hugetlb_limit,
        freezer,
        ..Cgroups::default()
    }
}

/// `nsinit-<dir basename, sanitised, ≤32 chars>-<FNV-1a 32 of the absolute
/// dir, 8 hex>`: readable, and two container directories never collide.
pub fn default_name(dir: &Path) -> String {
    let base: String = dir
        .file_name()
        .map(|b| b.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(32)
        .collect();
    let base = if base.is_empty() {
        "root".to_string()
    } else {
        base
    };
    let hash = dir
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0x811c_9dc5_u32, |h, b| {
            (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
        });
    format!("nsinit-{base}-{hash:08x}")
}

/// An optional integer in `min..=max`, 0 meaning unset.
fn ranged(n: Option<i64>, path: &str, min: i64, max: i64, d: &mut Diag) -> Option<i64> {
    match n.unwrap_or(0) {
        0 => None,
        n if (min..=max).contains(&n) => Some(n),
        n => {
            d.error(
                path,
                format_args!("must be between {min} and {max} (0 for the default), got {n}"),
            );
            None
        }
    }
}

/// A byte count: a JSON integer or a string with an optional binary suffix
/// (`"512m"`, `"1g"`, `"64MiB"`, `"2GB"`; k, m, g, t, p are powers of 1024).
pub(crate) fn parse_bytes(v: &Value) -> Option<i128> {
    match v {
        Value::Number(_) => super::json::integer(v),
        Value::String(s) => {
            let s = s.trim();
            let (neg, s) = match s.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, s),
            };
            let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
            let (digits, suffix) = s.split_at(split);
            if digits.is_empty() || digits.len() > 20 {
                return None;
            }
            let n: i128 = digits.parse().ok()?;
            let lower = suffix.trim_start().to_ascii_lowercase();
            let unit = lower
                .strip_suffix("ib")
                .or_else(|| lower.strip_suffix('b'))
                .unwrap_or(&lower);
            let shift = match unit {
                "" => 0,
                "k" => 10,
                "m" => 20,
                "g" => 30,
                "t" => 40,
                "p" => 50,
                _ => return None,
            };
            // "64ib" is not a unit: "ib" needs a letter before it.
            if unit.is_empty() && lower.starts_with('i') {
                return None;
            }
            let n = n << shift;
            Some(if neg { -n } else { n })
        }
        _ => None,
    }
}

/// A memory value: 0 is unset; negative is refused except `-1` where
/// `minus_one` (memory_swap: unlimited).
fn bytes(v: Option<&Raw>, path: &str, minus_one: bool, d: &mut Diag) -> Option<i64> {
    let Raw(v) = v?;
    let got = d.show(v, path);
    match parse_bytes(v) {
        None if d.huge_integer(path) && !got.starts_with('-') => {
            d.error(path, format_args!("too large (more than 1 PiB), got {got}"))
        }
        None => d.error(path, format_args!("expected bytes, got {got}")),
        Some(0) => {}
        Some(-1) if minus_one => return Some(-1),
        Some(n) if n < 0 && minus_one => d.error(
            path,
            format_args!("must be -1 (unlimited) or a size in bytes, got {got}"),
        ),
        Some(n) if n < 0 => d.error(path, format_args!("must not be negative, got {got}")),
        Some(n) if n > MAX_BYTES => {
            d.error(path, format_args!("too large (more than 1 PiB), got {got}"))
        }
        Some(n) => return Some(n as i64),
    }
    None
}

/// `0-3,6`: the kernel's list syntax for cpuset.cpus and cpuset.mems.
pub(crate) fn cpu_list(s: Option<String>, path: &str, d: &mut Diag) -> Option<String> {
    let s = s.filter(|s| !s.is_empty())?;
    let number = |p: &str| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit());
    let ok = s.split(',').all(|part| match part.split_once('-') {
        Some((a, b)) => number(a) && number(b) && a.parse::<u32>().ok() <= b.parse::<u32>().ok(),
        None => number(part),
    });
    if ok {
        Some(s)
    } else {
        d.error(
            path,
            format_args!("expected a list like \"0-3,6\", got {s:?}"),
        );
        None
    }
}

fn hugetlb(list: Indexed<HugetlbIn>, path: &str, d: &mut Diag) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = Vec::new();
    for (i, h) in list.0 {
        let here = index(path, i);
        let size = match h.page_size {
            Some(p) if valid_page_size(&p) => Some(p),
            Some(p) => {
                d.error(
                    &join(&here, "page_size"),
                    format_args!("expected a size like \"2MB\" or \"1GB\", got {p:?}"),
                );
                None
            }
            None => {
                d.error(&join(&here, "page_size"), "required (e.g. \"2MB\")");
                None
            }
        };
        let limit = match &h.limit {
            None => {
                d.error(&join(&here, "limit"), "required (bytes)");
                None
            }
            Some(raw) => bytes(Some(raw), &join(&here, "limit"), false, d).or_else(|| {
                // An explicit 0 is a real limit here: no huge pages at all.
                matches!(parse_bytes(&raw.0), Some(0)).then_some(0)
            }),
        };
        let (Some(size), Some(limit)) = (size, limit) else {
            continue;
        };
        if out.iter().any(|(s, _)| *s == size) {
            d.error(
                &join(&here, "page_size"),
                format_args!("{size:?} is listed twice"),
            );
            continue;
        }
        out.push((size, limit as u64));
    }
    out
}

pub(crate) fn valid_page_size(p: &str) -> bool {
    let digits = p.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &p[digits.len()..];
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && ["KB", "MB", "GB"].contains(&unit)
}

/// Device nodes the config asks nsinit to create must be creatable under the
/// container's own device rules, since the container's process is in its
/// cgroups before it creates them (as runc, add a rule for every node it
/// creates): each node gets an `m` (mknod) rule unless a rule allows that
/// already. A node no rule lets anyone read or write is a configuration
/// mistake worth a warning (not an error: libcontainer allowed it).
pub(crate) fn allow_device_nodes(nodes: &[Device], cg: &mut Cgroups, d: &mut Diag) {
    if cg.allow_all_devices {
        return;
    }
    let allows = |cg: &Cgroups, node: &Device, perm: &[char]| {
        cg.allowed_devices.iter().any(|rule| {
            (rule.kind == DeviceKind::All || rule.kind == node.kind)
                && rule.major.is_none_or(|m| Some(m) == node.major)
                && rule.minor.is_none_or(|m| Some(m) == node.minor)
                && perm.iter().any(|p| rule.permissions.contains(*p))
        })
    };
    for node in nodes {
        let openable = allows(cg, node, &['r', 'w']);
        let creatable = allows(cg, node, &['m']);
        if !creatable {
            cg.allowed_devices
                .push(Device::rule(node.kind, node.major, node.minor, "m"));
        }
        if !openable {
            let added = if creatable {
                String::new()
            } else {
                format!(
                    " (nsinit adds \"{}\" so it can create it)",
                    Device::rule(node.kind, node.major, node.minor, "m").cgroup_rule()
                )
            };
            d.warn(
                "mount_config.device_nodes",
                format_args!(
                    "{} ({}) is not in cgroups.allowed_devices, so opening it will fail{added}",
                    node.path.as_deref().unwrap_or("?"),
                    node.cgroup_rule()
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::{errors, load_ok};
    use super::*;

    fn cgroups(v: serde_json::Value) -> Cgroups {
        load_ok(json!({ "cgroups": v })).config.cgroups.unwrap()
    }

    #[test]
    fn bytes_accept_numbers_and_suffixes() {
        for (text, want) in [
            (json!(536870912), Some(512 << 20)),
            (json!("512m"), Some(512 << 20)),
            (json!("1g"), Some(1 << 30)),
            (json!("64MiB"), Some(64 << 20)),
            (json!("2GB"), Some(2 << 30)),
            (json!("100k"), Some(100 << 10)),
            (json!("4096"), Some(4096)),
            (json!("10b"), Some(10)),
            (json!("-1"), Some(-1)),
            (json!("512x"), None),
            (json!("1.5g"), None),
            (json!("ib"), None),
            (json!("64ib"), None),
            (json!(1.5), None),
            (json!(true), None),
        ] {
            assert_eq!(parse_bytes(&text), want, "{text}");
        }
    }

    #[test]
    fn limits_resolve_and_zero_means_unset() {
        let cg = cgroups(json!({
            "name": "web", "parent": "nsinit", "memory": "512m", "memory_reservation": 0, "memory_swap": -1,
            "cpu_shares": 0, "cpu_quota": -1, "cpuset_cpus": "0-1,3", "cpuset_mems": "0", "pids_limit": -1,
            "blkio_weight": 500, "freezer": "thawed",
            "hugetlb_limit": [{"page_size": "2MB", "limit": "1g"}, {"page_size": "1GB", "limit": 0}]
        }));
        assert_eq!(cg.relative_path(), Path::new("nsinit/web"));
        assert_eq!(
            (cg.memory, cg.memory_reservation, cg.memory_swap),
            (Some(512 << 20), None, Some(-1))
        );
        assert_eq!(
            (cg.cpu_shares, cg.cpu_quota, cg.cpu_period),
            (None, Some(-1), None)
        );
        assert_eq!(
            (cg.cpuset_cpus.as_deref(), cg.cpuset_mems.as_deref()),
            (Some("0-1,3"), Some("0"))
        );
        assert_eq!(
            (cg.pids_limit, cg.blkio_weight, cg.freezer.as_deref()),
            (Some(-1), Some(500), Some("THAWED"))
        );
        assert_eq!(
            cg.hugetlb_limit,
            [("2MB".to_string(), 1 << 30), ("1GB".to_string(), 0)]
        );
        assert!(!cg.allow_all_devices && cg.allowed_devices.is_empty());
    }

    #[test]
    fn memory_values_must_be_sane() {
        assert_eq!(
            errors(
                json!({"cgroups": {"memory": "512x", "memory_reservation": -5,
                                      "memory_swap": -2, "hugetlb_limit": [{"page_size": "2MB", "limit": 2000000000000000000u64}]}})
            ),
            [
                "container.json: cgroups.memory: expected bytes, got \"512x\"",
                "container.json: cgroups.memory_reservation: must not be negative, got -5",
                "container.json: cgroups.memory_swap: must be -1 (unlimited) or a size in bytes, got -2",
                "container.json: cgroups.hugetlb_limit[0].limit: too large (more than 1 PiB), got 2000000000000000000",
            ]
        );
        assert_eq!(
            errors(json!({"cgroups": {"memory": "1g", "memory_swap": "512m"}})),
            [
                "container.json: cgroups.memory_swap: must be at least cgroups.memory (1073741824), got 536870912"
            ]
        );
        assert_eq!(
            errors(json!({"cgroups": {"memory_swap": "2p"}})),
            ["container.json: cgroups.memory_swap: too large (more than 1 PiB), got \"2p\"",]
        );
        assert_eq!(
            errors(json!({"cgroups": {"memory_swap": 1024}})),
            [
                "container.json: cgroups.memory_swap: 1024 requires cgroups.memory (memory+swap must be at least the memory limit)"
            ]
        );
    }

    #[test]
    fn cpu_pids_blkio_and_freezer_ranges() {
        assert_eq!(
            errors(
                json!({"cgroups": {"cpu_shares": 1, "cpu_quota": 500, "cpu_period": 50, "cpuset_cpus": "0-",
                                      "cpuset_mems": "3-1", "pids_limit": -2, "blkio_weight": 5, "freezer": "PAUSED",
                                      "hugetlb_limit": [{"page_size": "2M", "limit": 1}, {"limit": 1}, {"page_size": "1GB"}]}})
            ),
            [
                "container.json: cgroups.cpu_shares: must be between 2 and 262144 (0 for the default), got 1",
                "container.json: cgroups.cpu_quota: must be -1 (unlimited) or at least 1000 (microseconds), got 500",
                "container.json: cgroups.cpu_period: must be between 1000 and 1000000 (0 for the default), got 50",
                "container.json: cgroups.cpuset_cpus: expected a list like \"0-3,6\", got \"0-\"",
                "container.json: cgroups.cpuset_mems: expected a list like \"0-3,6\", got \"3-1\"",
                "container.json: cgroups.pids_limit: must be -1 (unlimited) or positive, got -2",
                "container.json: cgroups.blkio_weight: must be between 10 and 1000 (0 for the default), got 5",
                "container.json: cgroups.hugetlb_limit[0].page_size: expected a size like \"2MB\" or \"1GB\", got \"2M\"",
                "container.json: cgroups.hugetlb_limit[1].page_size: required (e.g. \"2MB\")",
                "container.json: cgroups.hugetlb_limit[2].limit: required (bytes)",
                "container.json: cgroups.freezer: expected \"FROZEN\" or \"THAWED\", got \"PAUSED\"",
            ]
        );
    }

    #[test]
    fn placement_and_device_rules() {
        assert_eq!(
            errors(
                json!({"cgroups": {"name": "a/b", "parent": "x/../..", "allowed_devices": [
                    {"type": 97, "cgroup_permissions": "rwm"},
                    {"type": 99, "major_number": 1, "minor_number": 3, "cgroup_permissions": "rwm"},
                    {"type": 99, "major_number": 1, "minor_number": 3},
                    {"type": 100, "major_number": -1},
                    {"type": 99, "major_number": -2},
                ]}})
            ),
            [
                "container.json: cgroups.name: expected a single path component, got \"a/b\"",
                "container.json: cgroups.parent: must not contain \"..\", got \"x/../..\"",
                "container.json: cgroups.allowed_devices[3].type: expected 99 ('c'), 98 ('b') or 97 ('a'), got 100",
                "container.json: cgroups.allowed_devices[4].major_number: expected a number from 0 to 4095 or -1 (any), got -2",
            ]
        );
        let cg = cgroups(
            json!({"allowed_devices": [{"type": "a", "major_number": -1, "minor_number": -1, "cgroup_permissions": "rwm"}],
                                "slice": "system.slice"}),
        );
        assert_eq!(cg.allowed_devices[0].cgroup_rule(), "a *:* rwm");
        assert_eq!(cg.allowed_devices[0].path, None);
        let l = load_ok(json!({"cgroups": {"slice": "system.slice"}}));
        assert_eq!(
            l.warnings,
            ["container.json: cgroups.slice: ignored (nsinit has no systemd cgroup driver)"]
        );
    }

    #[test]
    fn default_name_is_readable_and_unique_per_directory() {
        let a = default_name(Path::new("/var/lib/nsinit/web one!"));
        assert!(a.starts_with("nsinit-web_one_-"), "{a}");
        assert_eq!(a.len(), "nsinit-web_one_-".len() + 8);
        assert_ne!(a, default_name(Path::new("/srv/web one!")));
        assert_eq!(a, default_name(Path::new("/var/lib/nsinit/web one!")));
        let long = default_name(Path::new(&format!("/x/{}", "a".repeat(100))));
        assert_eq!(long.len(), "nsinit-".len() + 32 + 1 + 8);
        assert!(default_name(Path::new("/")).starts_with("nsinit-root-"));
        // The hash is FNV-1a 32 of the path bytes: one round for "/".
        let h = (0x811c_9dc5_u32 ^ u32::from(b'/')).wrapping_mul(0x0100_0193);
        assert_eq!(default_name(Path::new("/")), format!("nsinit-root-{h:08x}"));
    }
}
