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
#[derive(Debug)]
pub struct Diag {
    /// The file name every message starts with (`container.json`, `config.json`).
    pub file: &'static str,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    /// Number literals serde_json could only keep as a float (`18446744073709551616`,
    /// `1e3`), by field path, exactly as written: messages quote these.
    pub literals: Vec<(String, String)>,
    /// Whether validation may look at the host: root_fs and bind sources must
    /// exist, LSM keys are explained by what the host runs. Off in unit tests.
    pub check_host: bool,
}

impl Default for Diag {
    fn default() -> Self {
        Diag {
            file: FILE,
            errors: Vec::new(),
            warnings: Vec::new(),
            literals: Vec::new(),
            check_host: false,
        }
    }
}

impl Diag {
    /// A value for "got …": as [`shown`], but a number exactly as written.
    pub fn show(&self, v: &Value, path: &str) -> String {
        match (v, self.literal(path)) {
            (Value::Number(_), Some(lit)) => lit.to_string(),
            _ => shown(v),
        }
    }

    /// The number literal at `path` as written, if serde_json changed it.
    pub fn literal(&self, path: &str) -> Option<&str> {
        self.literals
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, lit)| lit.as_str())
    }

    /// True when `path` holds an integer literal too large for any JSON
    /// integer type serde_json keeps (beyond i64/u64).
    pub fn huge_integer(&self, path: &str) -> bool {
        self.literal(path).is_some_and(|lit| {
            let digits = lit.strip_prefix('-').unwrap_or(lit);
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
        })
    }

    /// True when an error was already recorded for `path` or inside it.
    pub fn has_error_at(&self, path: &str) -> bool {
        let prefix = line(self.file, path, "");
        let prefix = prefix.trim_end_matches(": ");
        self.errors.iter().any(|e| {
            e.strip_prefix(prefix).is_some_and(|rest| {
                rest.starts_with(':') || rest.starts_with('.') || rest.starts_with('[')
            })
        })
    }

    /// `container.json: PATH: MSG` (just `container.json: MSG` at the top level).
    pub fn error(&mut self, path: &str, msg: impl Display) {
        self.errors.push(line(self.file, path, msg));
    }

    pub fn warn(&mut self, path: &str, msg: impl Display) {
        self.warnings.push(line(self.file, path, msg));
    }

    /// An object key nobody reads: a warning naming the nearest known key.
    pub fn unknown_key(&mut self, parent: &str, key: &str, known: &[&str]) {
        let full = join(parent, key);
        let moved = MOVED_IN_2015
            .iter()
            .find(|(new, _)| self.file == FILE && parent.is_empty() && *new == key);
        let hint = match (moved, suggest::nearest(key, known.iter().copied())) {
            (Some((_, old)), _) => format!(" (did you mean \"{old}\"?)"),
            (None, Some(k)) => format!(" (did you mean \"{}\"?)", join(parent, k)),
            (None, None) => " (ignored)".to_string(),
        };
        self.warn("", format_args!("unknown key \"{full}\"{hint}"));
    }
}

/// Top-level keys of the 2015 schema and where the 2014 schema keeps them.
const MOVED_IN_2015: [(&str, &str); 6] = [
    ("rootfs", "root_fs"),
    ("mounts", "mount_config.mounts"),
    ("devices", "mount_config.device_nodes"),
    ("readonlyfs", "mount_config.readonly_fs"),
    ("no_pivot_root", "mount_config.no_pivot_root"),
    ("mount_label", "mount_config.mount_label"),
];

fn line(file: &str, path: &str, msg: impl Display) -> String {
    if path.is_empty() {
        format!("{file}: {msg}")
    } else {
        format!("{file}: {path}: {msg}")
    }
}

/// `parent.key`, or `key` at the top level.
pub fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        return key.to_string();
    }
    // Why not format!: paths are built for every field of a config, and
    // the formatting machinery cost more than the copying.
    let mut out = String::with_capacity(parent.len() + 1 + key.len());
    out.push_str(parent);
    out.push('.');
    out.push_str(key);
    out
}

/// `path[i]`.
pub fn index(path: &str, i: usize) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(path.len() + 8);
    out.push_str(path);
    let _ = write!(out, "[{i}]");
    out
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
    let got = d.show(v, path);
    d.error(path, format_args!("expected {what}, got {got}"));
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

/// The field an object key fills, or `None` when it fills none: an unknown key
/// (warned, with the nearest known one) or a second key for a field already
/// filled, differing only in case (`"Hostname"` and `"hostname"`): an error,
/// since one of them would silently win.
pub fn claim_key<'m>(
    path: &str,
    key: &'m str,
    known: &[&'static str],
    seen: &mut Vec<(&'static str, &'m str)>,
    d: &mut Diag,
) -> Option<&'static str> {
    let Some(k) = canonical_key(key, known) else {
        d.unknown_key(path, key, known);
        return None;
    };
    if let Some((_, first)) = seen.iter().find(|(f, _)| *f == k) {
        let first = join(path, first);
        d.error(
            &join(path, key),
            format_args!(
                "duplicate key: \"{first}\" sets the same field (keys are case-insensitive)"
            ),
        );
        return None;
    }
    seen.push((k, key));
    Some(k)
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

/// Any JSON, for a field another module reads (`seccomp`).
impl FromJson for Value {
    fn from_json(v: &Value, _: &str, _: &mut Diag) -> Option<Self> {
        Some(v.clone())
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
                let huge = d.huge_integer(path);
                let positive = integer(v).is_some_and(|n| n >= 0)
                    || (huge && !d.literal(path).is_some_and(|l| l.starts_with('-')));
                match integer(v).and_then(|n| <$t>::try_from(n).ok()) {
                    Some(n) => Some(n),
                    None if <$t>::MIN == 0 && positive => mismatch(
                        v, path, &format!("an integer no larger than {}", <$t>::MAX), d),
                    None if <$t>::MIN == 0 => mismatch(v, path, "a non-negative integer", d),
                    None if huge => mismatch(
                        v, path, &format!("an integer from {} to {}", <$t>::MIN, <$t>::MAX), d),
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
                use $crate::config::json::{claim_key, expect_object, field, join};
                let map = expect_object(v, path, d)?;
                let mut out = Self::default();
                let mut seen = Vec::new();
                for (key, value) in map {
                    match claim_key(path, key, Self::KEYS, &mut seen, d) {
                        $( Some(json_object!(@key $field $($key)?)) => {
                            out.$field = field(value, &join(path, key), d);
                        } )*
                        _ => {}
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

/// A second look at the text serde_json accepted, for what its `Value` loses:
/// keys written twice (the map keeps the last, silently) become errors naming
/// the key path and line, and number literals it can only hold as floats are
/// recorded in [`Diag::literals`] as written. `text` must be valid JSON.
pub fn scan(text: &str, d: &mut Diag) {
    let mut s = Scanner { text, pos: 0, d };
    s.value(&At::Top);
}

/// Where the scanner is: a key path (`mounts[3].type`, as [`join`] and
/// [`index`] write it) built only for a message that needs it, not for
/// each of the hundreds of values of a config.
enum At<'p> {
    Top,
    Key(&'p At<'p>, &'p str),
    Index(&'p At<'p>, usize),
}

impl At<'_> {
    fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        use std::fmt::Write;
        match self {
            At::Top => {}
            At::Key(parent, key) => {
                parent.write(out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            At::Index(parent, i) => {
                parent.write(out);
                let _ = write!(out, "[{i}]");
            }
        }
    }
}

struct Scanner<'t, 'd> {
    text: &'t str,
    pos: usize,
    d: &'d mut Diag,
}

impl<'t> Scanner<'t, '_> {
    fn peek(&self) -> u8 {
        self.text.as_bytes().get(self.pos).copied().unwrap_or(0)
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    /// Step over a string literal and return it as written (with quotes).
    fn string(&mut self) -> &'t str {
        let start = self.pos;
        self.pos += 1;
        let bytes = self.text.as_bytes();
        while self.pos < bytes.len() {
            match bytes[self.pos] {
                b'\\' => self.pos += 2,
                b'"' => {
                    self.pos += 1;
                    break;
                }
                _ => self.pos += 1,
            }
        }
        &self.text[start..self.pos.min(bytes.len())]
    }

    fn value(&mut self, at: &At<'_>) {
        self.skip_ws();
        match self.peek() {
            b'{' => self.object(at),
            b'[' => {
                self.pos += 1;
                let mut i = 0;
                loop {
                    self.skip_ws();
                    match self.peek() {
                        b']' | 0 => break,
                        b',' => self.pos += 1,
                        _ => {
                            self.value(&At::Index(at, i));
                            i += 1;
                        }
                    }
                }
                self.pos += 1;
            }
            b'"' => {
                self.string();
            }
            _ => {
                let start = self.pos;
                while !matches!(
                    self.peek(),
                    b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r' | 0
                ) {
                    self.pos += 1;
                }
                let lit = &self.text[start..self.pos];
                let is_number = lit.starts_with(|c: char| c == '-' || c.is_ascii_digit());
                if is_number && lit.parse::<i64>().is_err() && lit.parse::<u64>().is_err() {
                    self.d.literals.push((at.render(), lit.to_string()));
                }
            }
        }
    }

    fn object(&mut self, at: &At<'_>) {
        self.pos += 1;
        // Objects in a config have a handful of keys: a list beats a hash set.
        let mut keys: Vec<std::borrow::Cow<'t, str>> = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                b'}' | 0 => break,
                b',' => self.pos += 1,
                _ => {
                    let start = self.pos;
                    let raw = self.string();
                    // The parser the file went through decodes escapes
                    // (`\u0061`); a key without one is its text.
                    let key = match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
                        Some(plain) if !plain.contains('\\') => std::borrow::Cow::Borrowed(plain),
                        _ => match serde_json::from_str::<Value>(raw) {
                            Ok(Value::String(k)) => std::borrow::Cow::Owned(k),
                            _ => std::borrow::Cow::Borrowed(raw),
                        },
                    };
                    self.skip_ws();
                    self.pos += 1; // ':'
                    let sub = At::Key(at, &key);
                    self.value(&sub);
                    if keys.contains(&key) {
                        let line = self.text[..start].matches('\n').count() + 1;
                        self.d.error(
                            &sub.render(),
                            format_args!("duplicate key at line {line} (each key may appear once)"),
                        );
                    } else {
                        keys.push(key);
                    }
                }
            }
        }
        self.pos += 1;
    }
}

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

    /// Key paths are those `join` and `index` write, built only for a
    /// message; an escaped key is the key it decodes to.
    #[test]
    fn scan_names_duplicates_and_literals_by_their_path() {
        let text = "{\"a\": [{\"b\": 1,\n \"b\": 2}], \"\\u0063\": 1, \"c\": 2,\n\
                    \"n\": [1, 18446744073709551616, {\"x\": 1e3}], \"\": {\"\": [0.5]}}";
        let mut d = Diag::default();
        scan(text, &mut d);
        assert_eq!(
            d.errors,
            [
                "container.json: a[0].b: duplicate key at line 2 (each key may appear once)",
                "container.json: c: duplicate key at line 2 (each key may appear once)",
            ]
        );
        let lits: Vec<(&str, &str)> = d.literals.iter().map(|(p, l)| (&p[..], &l[..])).collect();
        assert_eq!(
            lits,
            [
                ("n[1]", "18446744073709551616"),
                ("n[2].x", "1e3"),
                ("[0]", "0.5")
            ]
        );
        assert_eq!(join(&join(&join("", "a"), "b"), "c"), "a.b.c");
        assert_eq!(index(&join(&join("", ""), ""), 0), "[0]");
        assert_eq!(index("mounts", 10), "mounts[10]");
        assert_eq!(index("a.b", 907), "a.b[907]");
        assert_eq!(index("", usize::MAX), format!("[{}]", usize::MAX));
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
        let (p, d) = read(json!({"name": null, "Type": 3}));
        assert_eq!(p.unwrap().kind, Some(3));
        assert!(d.errors.is_empty() && d.warnings.is_empty());
    }

    #[test]
    fn keys_differing_only_in_case_are_duplicates() {
        let (p, d) = read(json!({"NAME": "a", "name": "b", "Type": 3, "type": 4}));
        assert_eq!(
            d.errors,
            [
                // Map order: "NAME" < "Type" < "name" < "type".
                "container.json: probe.name: duplicate key: \"probe.NAME\" sets the same field (keys are case-insensitive)",
                "container.json: probe.type: duplicate key: \"probe.Type\" sets the same field (keys are case-insensitive)",
            ]
        );
        assert_eq!(p.unwrap().name.as_deref(), Some("a"));
    }

    fn scanned(text: &str) -> Diag {
        let mut d = Diag::default();
        scan(text, &mut d);
        d
    }

    #[test]
    fn scan_finds_keys_written_twice_with_path_and_line() {
        let d = scanned(
            "{\"a\": 1,\n \"b\": {\"c\": [1, {\"d\": 1, \"d\": 2}], \"c\": 3},\n \"a\": \"x\\\"y\", \"\\u0061\": 5}",
        );
        assert_eq!(
            d.errors,
            [
                "container.json: b.c[1].d: duplicate key at line 2 (each key may appear once)",
                "container.json: b.c: duplicate key at line 2 (each key may appear once)",
                "container.json: a: duplicate key at line 3 (each key may appear once)",
                // "\u0061" is "a" too.
                "container.json: a: duplicate key at line 3 (each key may appear once)",
            ]
        );
        assert!(
            scanned("{\"a\": {\"a\": {\"a\": []}}, \"b\": [{\"a\": 1}, {\"a\": 2}]}")
                .errors
                .is_empty()
        );
    }

    #[test]
    fn scan_keeps_number_literals_a_float_would_change() {
        let d = scanned(
            r#"{"big": 18446744073709551616, "neg": -9223372036854775809, "f": [1e3, 1.50],
                "ok": 18446744073709551615, "min": -9223372036854775808, "s": "18446744073709551616"}"#,
        );
        let mut lits: Vec<_> = d.literals.iter().map(|(k, v)| format!("{k}={v}")).collect();
        lits.sort();
        assert_eq!(
            lits,
            [
                "big=18446744073709551616",
                "f[0]=1e3",
                "f[1]=1.50",
                "neg=-9223372036854775809"
            ]
        );
        assert!(d.huge_integer("big") && d.huge_integer("neg"));
        assert!(!d.huge_integer("f[0]") && !d.huge_integer("ok"));
    }

    #[test]
    fn out_of_range_numbers_are_shown_as_written() {
        let text = r#"{"type": 18446744073709551616, "list": [1e3, -5e30, 2.50]}"#;
        let mut d = Diag::default();
        scan(text, &mut d);
        let v: Value = serde_json::from_str(text).unwrap();
        Probe::from_json(&v, "", &mut d);
        assert_eq!(
            d.errors,
            [
                "container.json: list[0]: expected a non-negative integer, got 1e3",
                "container.json: list[1]: expected a non-negative integer, got -5e30",
                "container.json: list[2]: expected a non-negative integer, got 2.50",
                "container.json: type: expected an integer no larger than 4294967295, got 18446744073709551616",
            ]
        );
    }

    #[test]
    fn errors_at_a_path_are_found_by_prefix() {
        let mut d = Diag::default();
        d.error("uid_mappings[0].size", "x");
        assert!(d.has_error_at("uid_mappings"));
        assert!(d.has_error_at("uid_mappings[0]"));
        assert!(!d.has_error_at("uid_map"));
        assert!(!d.has_error_at("gid_mappings"));
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
