//! Reading a `serde_json::Value` into the input structs while knowing where we
//! are: every type error names its field path (`cgroups.allowed_devices[3].type`),
//! unknown keys become warnings with the nearest known key, and reading goes on
//! after an error so that all of them are reported at once.
//!
//! serde's derive cannot do this (`from_value` errors carry no path), so the
//! input structs are declared with [`json_object!`], which generates the struct
//! and a [`FromJson`] impl from one field list.

use std::fmt::Display;

use serde_json::{Map, Value};

use super::suggest;

/// The file name every message starts with.
pub const FILE: &str = "container.json";

/// Errors and warnings collected while reading and validating.
#[derive(Debug, Default)]
pub struct Diag {
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

impl Diag {
    /// `container.json: PATH: MSG` (just `container.json: MSG` at the top level).
    pub fn error(&mut self, path: &str, msg: impl Display) {
        self.errors.push(line(path, msg));
    }

    pub fn warn(&mut self, path: &str, msg: impl Display) {
        self.warnings.push(line(path, msg));
    }

    /// An object key nobody reads: a warning naming the nearest known key.
    pub fn unknown_key(&mut self, parent: &str, key: &str, known: &[&str]) {
        let full = join(parent, key);
        let hint = match suggest::nearest(key, known.iter().copied()) {
            Some(k) => format!(" (did you mean \"{}\"?)", join(parent, k)),
            None => " (ignored)".to_string(),
        };
        self.warn("", format_args!("unknown key \"{full}\"{hint}"));
    }
}

fn line(path: &str, msg: impl Display) -> String {
    if path.is_empty() {
        format!("{FILE}: {msg}")
    } else {
        format!("{FILE}: {path}: {msg}")
    }
}

/// `parent.key`, or `key` at the top level.
pub fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// `path[i]`.
pub fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// A short rendering of a JSON value for "got …": scalars as JSON, containers
/// by kind (their contents would drown the message).
pub fn shown(v: &Value) -> String {
    match v {
        Value::Object(_) => "an object".to_string(),
        Value::Array(_) => "an array".to_string(),
        Value::String(s) if s.chars().count() > 60 => {
            let cut: String = s.chars().take(57).collect();
            format!("\"{cut}...\"")
        }
        other => other.to_string(),
    }
}

/// Record `PATH: expected WHAT, got VALUE` and yield nothing.
pub fn mismatch<T>(v: &Value, path: &str, what: &str, d: &mut Diag) -> Option<T> {
    d.error(path, format_args!("expected {what}, got {}", shown(v)));
    None
}

/// A value readable from JSON at a known path. `None` means an error was
/// recorded (JSON `null` never reaches here: it means "absent", as in Go).
pub trait FromJson: Sized {
    fn from_json(v: &Value, path: &str, d: &mut Diag) -> Option<Self>;
}

/// Read an optional field: `null` is the same as absent.
pub fn field<T: FromJson>(v: &Value, path: &str, d: &mut Diag) -> Option<T> {
    if v.is_null() {
        None
    } else {
        T::from_json(v, path, d)
    }
}

pub fn expect_object<'v>(v: &'v Value, path: &str, d: &mut Diag) -> Option<&'v Map<String, Value>> {
    match v {
        Value::Object(m) => Some(m),
        _ => mismatch(v, path, "an object", d),
    }
}

/// The known key `key` stands for: exact match first, then (like Go's
/// encoding/json) a case-insensitive one.
pub fn canonical_key(key: &str, known: &[&'static str]) -> Option<&'static str> {
    known
        .iter()
        .find(|k| **k == key)
        .or_else(|| known.iter().find(|k| k.eq_ignore_ascii_case(key)))
        .copied()
}

impl FromJson for bool {
    fn from_json(v: &Value, path: &str, d: &mut Diag) -> Option<Self> {
        match v {
            Value::Bool(b) => Some(*b),
            _ => mismatch(v, path, "true or false", d),
        }
    }
}

impl FromJson for String {
    fn from_json(v: &Value, path: &str, d: &mut Diag) -> Option<Self> {
        match v {
            Value::String(s) => Some(s.clone()),
            _ => mismatch(v, path, "a string", d),
        }
    }
}

/// An integer of any JSON size; ranges are checked by the typed impls below.
pub fn integer(v: &Value) -> Option<i128> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        _ => None,
    }
}

macro_rules! int_from_json {
    ($($t:ty),*) => {$(
        impl FromJson for $t {
            fn from_json(v: &Value, path: &str, d: &mut Diag) -> Option<Self> {
                match integer(v).and_then(|n| <$t>::try_from(n).ok()) {
                    Some(n) => Some(n),
                    None if <$t>::MIN == 0 && integer(v).is_some_and(|n| n >= 0) => mismatch(
                        v, path, &format!("an integer no larger than {}", <$t>::MAX), d),
                    None if <$t>::MIN == 0 => mismatch(v, path, "a non-negative integer", d),
                    None => mismatch(v, path, "an integer", d),
                }
            }
        }
    )*};
}
int_from_json!(u16, u32, u64, i64);

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(v: &Value, path: &str, d: &mut Diag) -> Option<Self> {
        match v {
            Value::Array(items) => Some(
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, item)| T::from_json(item, &index(path, i), d))
                    .collect(),
            ),
            _ => mismatch(v, path, "an array", d),
        }
    }
}

/// Entries of a JSON array, each still tagged with its index: validation
/// reports `networks[3]` even when an earlier entry failed to read.
#[derive(Debug, Clone)]
pub struct Indexed<T>(pub Vec<(usize, T)>);

impl<T> Default for Indexed<T> {
    fn default() -> Self {
        Indexed(Vec::new())
    }
}

impl<T: FromJson> FromJson for Indexed<T> {
    fn from_json(v: &Value, path: &str, d: &mut Diag) -> Option<Self> {
        match v {
            Value::Array(items) => Some(Indexed(
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, item)| {
                        // `null` entries are skipped, like Go's nil pointers.
                        if item.is_null() {
                            return None;
                        }
                        T::from_json(item, &index(path, i), d).map(|t| (i, t))
                    })
                    .collect(),
            )),
            _ => mismatch(v, path, "an array", d),
        }
    }
}

/// A JSON scalar kept verbatim, for fields that accept several spellings
/// (`"512m"` or `536870912`); the validator interprets it in context.
#[derive(Debug, Clone)]
pub struct Raw(pub Value);

impl FromJson for Raw {
    fn from_json(v: &Value, path: &str, d: &mut Diag) -> Option<Self> {
        match v {
            Value::Object(_) | Value::Array(_) => mismatch(v, path, "a number or a string", d),
            _ => Some(Raw(v.clone())),
        }
    }
}

/// Declare an input struct: every field becomes `pub name: Option<Type>`,
/// read from the key of the same name (or the given `"key"`). Unknown keys
/// warn with a suggestion.
macro_rules! json_object {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident $(= $key:literal)? : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Default, Clone)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: Option<$ty>, )*
        }

        impl $name {
            /// The JSON keys this object knows.
            pub const KEYS: &'static [&'static str] = &[$( json_object!(@key $field $($key)?) ),*];
        }

        impl $crate::config::json::FromJson for $name {
            fn from_json(
                v: &serde_json::Value,
                path: &str,
                d: &mut $crate::config::json::Diag,
            ) -> Option<Self> {
                use $crate::config::json::{canonical_key, expect_object, field, join};
                let map = expect_object(v, path, d)?;
                let mut out = Self::default();
                for (key, value) in map {
                    let sub = join(path, key);
                    match canonical_key(key, Self::KEYS) {
                        $( Some(json_object!(@key $field $($key)?)) => {
                            out.$field = field(value, &sub, d);
                        } )*
                        _ => d.unknown_key(path, key, Self::KEYS),
                    }
                }
                Some(out)
            }
        }
    };
    (@key $field:ident) => { stringify!($field) };
    (@key $field:ident $key:literal) => { $key };
}
pub(crate) use json_object;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    json_object! {
        pub struct Probe {
            name: String,
            kind = "type": u32,
            list: Vec<u16>,
        }
    }

    fn read(v: Value) -> (Option<Probe>, Diag) {
        let mut d = Diag::default();
        let p = Probe::from_json(&v, "probe", &mut d);
        (p, d)
    }

    #[test]
    fn reads_fields_and_renamed_keys() {
        let (p, d) = read(json!({"name": "x", "type": 7, "list": [1, 2]}));
        let p = p.unwrap();
        assert_eq!(p.name.as_deref(), Some("x"));
        assert_eq!(p.kind, Some(7));
        assert_eq!(p.list, Some(vec![1, 2]));
        assert!(d.errors.is_empty() && d.warnings.is_empty());
    }

    #[test]
    fn type_errors_name_the_path_and_keep_going() {
        let (p, d) = read(json!({"name": 5, "type": -1, "list": [1, "two", 70000]}));
        assert_eq!(
            d.errors,
            [
                // serde_json's map is sorted, so errors come in key order.
                "container.json: probe.list[1]: expected a non-negative integer, got \"two\"",
                "container.json: probe.list[2]: expected an integer no larger than 65535, got 70000",
                "container.json: probe.name: expected a string, got 5",
                "container.json: probe.type: expected a non-negative integer, got -1",
            ]
        );
        assert_eq!(p.unwrap().list, Some(vec![1]));
    }

    #[test]
    fn null_is_absent_and_case_is_forgiven() {
        let (p, d) = read(json!({"name": null, "NAME": null, "Type": 3}));
        assert_eq!(p.unwrap().kind, Some(3));
        assert!(d.errors.is_empty() && d.warnings.is_empty());
    }

    #[test]
    fn unknown_keys_warn_with_the_nearest_key() {
        let (_, d) = read(json!({"nmae": "x", "zzzzzz": 1}));
        assert_eq!(
            d.warnings,
            [
                "container.json: unknown key \"probe.nmae\" (did you mean \"probe.name\"?)",
                "container.json: unknown key \"probe.zzzzzz\" (ignored)",
            ]
        );
        assert!(d.errors.is_empty());
    }

    #[test]
    fn containers_are_named_by_kind() {
        let (_, d) = read(json!({"name": {"a": 1}, "list": {}}));
        assert_eq!(
            d.errors,
            [
                "container.json: probe.list: expected an array, got an object",
                "container.json: probe.name: expected a string, got an object",
            ]
        );
    }
}
