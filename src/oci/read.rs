//! Small path-aware readers over `serde_json::Value` for config.json:
//! `null` is absent, type errors name the field, unknown keys warn.

use serde_json::{Map, Value};

use crate::config::json::{Diag, FromJson, field, join, mismatch};

/// `v` as an object, or an error at `path`.
pub fn obj<'v>(v: &'v Value, path: &str, d: &mut Diag) -> Option<&'v Map<String, Value>> {
    match v {
        Value::Object(m) => Some(m),
        _ => mismatch(v, path, "an object", d),
    }
}

/// `v` as an array, or an error at `path`.
pub fn array<'v>(v: &'v Value, path: &str, d: &mut Diag) -> Option<&'v Vec<Value>> {
    match v {
        Value::Array(a) => Some(a),
        _ => mismatch(v, path, "an array", d),
    }
}

/// Warn about every key of `m` not in `known` (with the nearest known one).
pub fn known_keys(m: &Map<String, Value>, path: &str, known: &[&str], d: &mut Diag) {
    for key in m.keys() {
        if !known.contains(&key.as_str()) {
            d.unknown_key(path, key, known);
        }
    }
}

/// The field `key` of `m` read as `T` (`None` when absent, null or wrong).
pub fn get<T: FromJson>(m: &Map<String, Value>, path: &str, key: &str, d: &mut Diag) -> Option<T> {
    m.get(key).and_then(|v| field(v, &join(path, key), d))
}

pub fn opt_str(m: &Map<String, Value>, path: &str, key: &str, d: &mut Diag) -> Option<String> {
    get(m, path, key, d)
}

/// A list of strings (absent = empty).
pub fn strings(m: &Map<String, Value>, path: &str, key: &str, d: &mut Diag) -> Vec<String> {
    get(m, path, key, d).unwrap_or_default()
}

/// An object of strings (`annotations`, `sysctl`), in key order.
pub fn string_map(v: &Value, path: &str, d: &mut Diag) -> Vec<(String, String)> {
    let Some(m) = obj(v, path, d) else {
        return Vec::new();
    };
    m.iter()
        .filter_map(|(k, v)| Some((k.clone(), String::from_json(v, &join(path, k), d)?)))
        .collect()
}

/// True when `key` holds something other than null, false, 0, "" or an
/// empty array/object: a setting that asks for something.
pub fn set(m: &Map<String, Value>, key: &str) -> bool {
    match m.get(key) {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(_) => true,
    }
}

/// Refuse each of `keys` that is set: this build does not implement it.
pub fn unsupported(m: &Map<String, Value>, path: &str, keys: &[&str], d: &mut Diag) {
    for key in keys {
        if set(m, key) {
            d.error(&join(path, key), "not supported by this build");
        }
    }
}

/// `name` looked up in a `(name, value)` table, or an error at `path`:
/// "unknown `what` …" with the names expected.
pub fn named<T: Copy>(
    table: &[(&'static str, T)],
    name: &str,
    what: &str,
    path: &str,
    d: &mut Diag,
) -> Option<T> {
    let found = table.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    if found.is_none() {
        let all = crate::sched::names(table).join(", ");
        d.error(
            path,
            format_args!("unknown {what} {name:?} (expected one of {all})"),
        );
    }
    found
}

/// The list of flag names at `key` of `m`, each looked up in `table`
/// ([`named`]) and OR'ed together; none is the empty set.
pub fn flag_set<T>(
    m: &Map<String, Value>,
    path: &str,
    key: &str,
    table: &[(&'static str, T)],
    d: &mut Diag,
) -> T
where
    T: Copy + Default + std::ops::BitOr<Output = T>,
{
    let at = join(path, key);
    strings(m, path, key, d)
        .iter()
        .enumerate()
        .filter_map(|(i, f)| named(table, f, "flag", &format!("{at}[{i}]"), d))
        .fold(T::default(), |a, b| a | b)
}
