//! Process attributes: user namespace id mappings and rlimits.

use serde_json::Value;

use super::input::{IdMapIn, RlimitIn};
use super::json::{Diag, Indexed, Raw, index, join};
use super::{IdMap, Rlimit, suggest};

pub(crate) fn resolve_id_maps(maps: Indexed<IdMapIn>, path: &str, d: &mut Diag) -> Vec<IdMap> {
    let mut out: Vec<(usize, IdMap)> = Vec::new();
    for (i, m) in maps.0 {
        let here = index(path, i);
        let map = IdMap {
            container_id: m.container_id.unwrap_or(0),
            host_id: m.host_id.unwrap_or(0),
            size: m.size.unwrap_or(0),
        };
        if map.size == 0 {
            d.error(&join(&here, "size"), "must be at least 1");
            continue;
        }
        let mut fits = true;
        for (what, first) in [("container_id", map.container_id), ("host_id", map.host_id)] {
            if u64::from(first) + u64::from(map.size) > 1 << 32 {
                d.error(
                    &here,
                    format_args!(
                        "{what} {first} + size {} is past the last id 4294967295",
                        map.size
                    ),
                );
                fits = false;
            }
        }
        if !fits {
            continue;
        }
        for (j, prev) in &out {
            let clash = |x: u32, y: u32| {
                u64::from(x) < u64::from(y) + u64::from(prev.size)
                    && u64::from(y) < u64::from(x) + u64::from(map.size)
            };
            if clash(map.container_id, prev.container_id) || clash(map.host_id, prev.host_id) {
                d.error(&here, format_args!("overlaps {}", index(path, *j)));
            }
        }
        out.push((i, map));
    }
    out.into_iter().map(|(_, m)| m).collect()
}

/// `RLIMIT_*` names, indexed by resource number.
pub(crate) const RLIMIT_NAMES: [&str; 16] = [
    "CPU",
    "FSIZE",
    "DATA",
    "STACK",
    "CORE",
    "RSS",
    "NPROC",
    "NOFILE",
    "MEMLOCK",
    "AS",
    "LOCKS",
    "SIGPENDING",
    "MSGQUEUE",
    "NICE",
    "RTPRIO",
    "RTTIME",
];

pub(crate) fn resolve_rlimits(list: Indexed<RlimitIn>, d: &mut Diag) -> Vec<Rlimit> {
    let mut out: Vec<(usize, Rlimit)> = Vec::new();
    for (i, r) in list.0 {
        let here = index("rlimits", i);
        let resource = match &r.kind {
            None => {
                d.error(&join(&here, "type"), "required (e.g. \"RLIMIT_NOFILE\")");
                None
            }
            Some(Raw(v)) => rlimit_resource(v, &join(&here, "type"), d),
        };
        let soft = rlimit_value(r.soft.as_ref(), &join(&here, "soft"), d);
        let hard = rlimit_value(r.hard.as_ref(), &join(&here, "hard"), d);
        let (Some(resource), Some(soft), Some(hard)) = (resource, soft, hard) else {
            continue;
        };
        if soft > hard {
            d.error(
                &here,
                format_args!("soft limit {soft} is above the hard limit {hard}"),
            );
            continue;
        }
        if let Some((j, _)) = out.iter().find(|(_, o)| o.resource == resource) {
            d.error(
                &join(&here, "type"),
                format_args!(
                    "RLIMIT_{} is already set by {}",
                    RLIMIT_NAMES[resource as usize],
                    index("rlimits", *j)
                ),
            );
            continue;
        }
        out.push((
            i,
            Rlimit {
                resource,
                soft,
                hard,
            },
        ));
    }
    out.into_iter().map(|(_, r)| r).collect()
}

fn rlimit_resource(v: &Value, path: &str, d: &mut Diag) -> Option<u32> {
    let found = match v {
        Value::String(s) => {
            let bare = s
                .strip_prefix("RLIMIT_")
                .or_else(|| s.strip_prefix("rlimit_"))
                .unwrap_or(s);
            RLIMIT_NAMES
                .iter()
                .position(|n| n.eq_ignore_ascii_case(bare))
                .map(|n| n as u32)
        }
        _ => super::json::integer(v)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| (*n as usize) < RLIMIT_NAMES.len()),
    };
    if found.is_none() {
        let hint = match v {
            Value::String(s) => {
                let bare = s.strip_prefix("RLIMIT_").unwrap_or(s);
                suggest::nearest(bare, RLIMIT_NAMES).map_or(String::new(), |n| {
                    format!(" (did you mean \"RLIMIT_{n}\"?)")
                })
            }
            _ => String::new(),
        };
        let got = d.show(v, path);
        d.error(path, format_args!("unknown resource {got}{hint}"));
    }
    found
}

/// A limit: a number, or `-1` / `"unlimited"` for RLIM_INFINITY.
fn rlimit_value(v: Option<&Raw>, path: &str, d: &mut Diag) -> Option<u64> {
    let Some(Raw(v)) = v else {
        d.error(path, "required (a number, or \"unlimited\")");
        return None;
    };
    let n = match v {
        Value::String(s) if s == "unlimited" || s == "infinity" => Some(u64::MAX),
        _ => match super::json::integer(v) {
            Some(-1) => Some(u64::MAX),
            Some(n) => u64::try_from(n).ok(),
            None => None,
        },
    };
    if n.is_none() {
        let got = d.show(v, path);
        d.error(
            path,
            format_args!("expected a number, -1 or \"unlimited\", got {got}"),
        );
    }
    n
}
