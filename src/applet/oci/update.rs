//! `update ID`: change a container's cgroup limits, as runc's `update`:
//! `--resources FILE` (a `linux.resources` object; `-` reads stdin) and/or
//! one flag per limit. The changes are merged into the recorded config.json,
//! the whole result is lowered and checked as at create, applied to the
//! container's own cgroups, and stored, so `events --stats` and a later
//! `update` see them.

use std::process::ExitCode;

use serde_json::{Map, Value, json};

use super::{Global, Opts, find};
use crate::container::state::Status;
use crate::error::{Context, Error, Result};
use crate::{log, oci};

/// A per-limit flag: its name, where it goes in `linux.resources`, its kind.
const FLAGS: &[(&str, &str, &str, Kind)] = &[
    ("memory", "memory", "limit", Kind::Bytes),
    ("memory-reservation", "memory", "reservation", Kind::Bytes),
    ("memory-swap", "memory", "swap", Kind::Bytes),
    ("cpu-shares", "cpu", "shares", Kind::Int),
    ("cpu-share", "cpu", "shares", Kind::Int),
    ("cpu-quota", "cpu", "quota", Kind::Int),
    ("cpu-period", "cpu", "period", Kind::Int),
    ("cpu-burst", "cpu", "burst", Kind::Int),
    ("cpu-idle", "cpu", "idle", Kind::Int),
    ("cpu-rt-period", "cpu", "realtimePeriod", Kind::Int),
    ("cpu-rt-runtime", "cpu", "realtimeRuntime", Kind::Int),
    ("cpuset-cpus", "cpu", "cpus", Kind::Text),
    ("cpuset-mems", "cpu", "mems", Kind::Text),
    ("pids-limit", "pids", "limit", Kind::Int),
    ("blkio-weight", "blockIO", "weight", Kind::Int),
];

/// Flags accepted and ignored, as runc does on cgroup v2.
pub(super) const IGNORED: &[&str] = &["kernel-memory", "kernel-memory-tcp"];

/// Flags refused: Intel RDT is not implemented.
pub(super) const REFUSED: &[&str] = &["l3-cache-schema", "mem-bw-schema"];

#[derive(Clone, Copy)]
enum Kind {
    Bytes,
    Int,
    Text,
}

/// Every option name `update` takes a value for.
pub(super) fn valued() -> impl Iterator<Item = &'static str> {
    FLAGS
        .iter()
        .map(|f| f.0)
        .chain(IGNORED.iter().copied())
        .chain(REFUSED.iter().copied())
}

pub(super) fn update(g: &Global, o: &Opts) -> Result<ExitCode> {
    let id = o.id()?;
    for name in REFUSED {
        if o.value(name).is_some() {
            return Err(Error::new(format!(
                "update --{name}: Intel RDT (linux.intelRdt) is not supported by nsinit"
            ))
            .with_code(2));
        }
    }
    for name in IGNORED {
        if o.value(name).is_some() {
            log::warn(&format!(
                "update --{name}: ignored (kernel memory limits are deprecated)"
            ));
        }
    }
    let patch = changes(o)?;
    if patch.as_object().is_some_and(Map::is_empty) {
        if IGNORED.iter().any(|n| o.value(n).is_some()) {
            return Ok(ExitCode::SUCCESS);
        }
        return Err(Error::new(
            "update: nothing to change (give --resources FILE or a limit flag such as --memory)",
        )
        .with_code(2));
    }
    let (record, st) = find(g, id)?;
    let status = st.status();
    if status == Status::Stopped {
        return Err(Error::new(format!(
            "cannot update container {id}: it is stopped"
        )));
    }
    let text = record.config()?;
    let mut doc: Value = serde_json::from_str(&text)
        .map_err(|e| Error::new(format!("the recorded config.json of {id}: {e}")))?;
    if !doc.is_object() {
        return Err(Error::new(format!(
            "the recorded config.json of {id}: not an object"
        )));
    }
    merge(&mut doc["linux"]["resources"], patch);
    let new_text =
        serde_json::to_string(&doc).map_err(|e| Error::new(format!("encode config.json: {e}")))?;
    let lowered = oci::load_text(&new_text, &st.bundle).ctx(|| "update")?;
    let Some(limits) = lowered.config.cgroups else {
        return Err(Error::new(format!("container {id} has no cgroups")));
    };
    st.cgroup()?.update(&limits)?;
    record.save_config(&new_text)?;
    Ok(ExitCode::SUCCESS)
}

/// The `linux.resources` changes: the `--resources` document, then the flags.
fn changes(o: &Opts) -> Result<Value> {
    let mut patch = match o.value("resources") {
        Some(path) => {
            let text = if path == "-" {
                read_stdin()?
            } else {
                std::fs::read_to_string(path).ctx(|| format!("read {path}"))?
            };
            let v: Value = serde_json::from_str(&text)
                .map_err(|e| Error::new(format!("--resources {path}: {e}")).with_code(2))?;
            if !v.is_object() {
                return Err(Error::new(format!(
                    "--resources {path}: expected a linux.resources object"
                ))
                .with_code(2));
            }
            v
        }
        None => json!({}),
    };
    for (flag, group, key, kind) in FLAGS {
        let Some(v) = o.value(flag) else {
            continue;
        };
        let bad = || Error::new(format!("--{flag} {v:?}: not a valid value")).with_code(2);
        let value = match kind {
            Kind::Bytes => json!(parse_bytes(v).ok_or_else(bad)?),
            Kind::Int => json!(v.parse::<i64>().map_err(|_| bad())?),
            Kind::Text => json!(v),
        };
        patch[*group][*key] = value;
    }
    Ok(patch)
}

/// All of stdin (at most 1 MiB), as text.
fn read_stdin() -> Result<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match rustix::io::read(rustix::stdio::stdin(), &mut chunk) {
            Ok(0) => break,
            Ok(n) if buf.len() + n <= 1 << 20 => buf.extend_from_slice(&chunk[..n]),
            Ok(_) => return Err(Error::new("--resources -: more than 1 MiB on stdin")),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e).ctx(|| "read --resources from stdin"),
        }
    }
    String::from_utf8(buf).map_err(|_| Error::new("--resources -: not UTF-8"))
}

/// Objects merge key by key; anything else replaces.
fn merge(into: &mut Value, patch: Value) {
    match (into, patch) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}

/// runc's `RAMInBytes`: `512`, `64k`, `512m`, `1.5g`, `2t` (binary units,
/// an optional trailing `b`), or `-1` (unlimited).
fn parse_bytes(s: &str) -> Option<i64> {
    if s == "-1" {
        return Some(-1);
    }
    let lower = s.trim().to_ascii_lowercase();
    let t = lower.strip_suffix('b').unwrap_or(&lower);
    let (num, shift) = match t.char_indices().last()? {
        (i, 'k') => (&t[..i], 10),
        (i, 'm') => (&t[..i], 20),
        (i, 'g') => (&t[..i], 30),
        (i, 't') => (&t[..i], 40),
        (i, 'p') => (&t[..i], 50),
        _ => (t, 0),
    };
    // Decimals in integer arithmetic (no float parser in the binary).
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let digits = |s: &str| s.is_empty() || s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac) {
        return None;
    }
    let whole = if int.is_empty() {
        0
    } else {
        int.parse::<i64>().ok()?
    };
    let mut bytes = whole.checked_mul(1 << shift)?;
    // Three decimals are enough for a size (999 << 50 still fits an i64).
    let frac = &frac[..frac.len().min(3)];
    if !frac.is_empty() {
        let scale = 10i64.pow(frac.len() as u32);
        bytes = bytes.checked_add(frac.parse::<i64>().ok()? * (1 << shift) / scale)?;
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_as_runc_does() {
        assert_eq!(parse_bytes("512"), Some(512));
        assert_eq!(parse_bytes("64k"), Some(64 << 10));
        assert_eq!(parse_bytes("512m"), Some(512 << 20));
        assert_eq!(parse_bytes("512MB"), Some(512 << 20));
        assert_eq!(parse_bytes("1.5g"), Some(3 << 29));
        assert_eq!(parse_bytes("-1"), Some(-1));
        assert_eq!(parse_bytes("-2"), None);
        assert_eq!(parse_bytes("lots"), None);
        assert_eq!(parse_bytes(".5k"), Some(512));
        assert_eq!(parse_bytes("1.x"), None);
        assert_eq!(parse_bytes("."), None);
        assert_eq!(parse_bytes(""), None);
    }

    #[test]
    fn objects_merge_and_values_replace() {
        let mut v = json!({"memory": {"limit": 1, "swap": 2}, "pids": {"limit": 3}});
        merge(
            &mut v,
            json!({"memory": {"limit": 10}, "cpu": {"shares": 5}}),
        );
        assert_eq!(
            v,
            json!({"memory": {"limit": 10, "swap": 2}, "pids": {"limit": 3}, "cpu": {"shares": 5}})
        );
        let mut null = Value::Null;
        merge(&mut null, json!({"pids": {"limit": 1}}));
        assert_eq!(null, json!({"pids": {"limit": 1}}));
    }
}
