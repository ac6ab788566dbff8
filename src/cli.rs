//! lexopt helpers shared by the applets: usage text and error conversion.

use std::ffi::OsString;

use crate::error::{EXIT_USAGE, Error};

/// Turn a lexopt parse error into an nsinit error (exit code 2, like other CLIs).
pub fn usage_error(e: lexopt::Error, help: &str) -> Error {
    usage(format!("{e}\n{help}"))
}

/// A command-line usage error: exit code [`EXIT_USAGE`] (2).
pub fn usage(msg: impl Into<String>) -> Error {
    Error::new(msg).with_code(EXIT_USAGE)
}

/// A value that must be UTF-8.
pub fn string(v: OsString, what: &str) -> Result<String, Error> {
    v.into_string()
        .map_err(|v| usage(format!("{what}: not valid UTF-8: {}", v.to_string_lossy())))
}

/// Write to stdout without panicking on a closed pipe (`nsinit config | head`).
/// Pretty JSON on stdout.
pub fn out_json(v: &serde_json::Value) {
    out(&format!(
        "{}\n",
        serde_json::to_string_pretty(v).unwrap_or_default()
    ));
}

/// The command line of `pid` (`/proc/PID/cmdline`), its arguments
/// [`escape`]d and joined by spaces; empty when it cannot be read.
pub fn cmdline(pid: i32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let args: Vec<String> = raw
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(escape)
        .collect();
    args.join(" ")
}

/// A name the container chose, safe to print on a terminal: control bytes
/// and invalid UTF-8 are shown escaped (`\x1b`), never sent raw.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() || c == '\\' {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

pub fn out(text: &str) {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(text.as_bytes()).and_then(|_| o.flush());
}
