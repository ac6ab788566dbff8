//! lexopt helpers shared by the applets: usage text and error conversion.

use std::ffi::OsString;

use crate::error::Error;

/// Turn a lexopt parse error into an nsinit error (exit code 2, like other CLIs).
pub fn usage_error(e: lexopt::Error, usage: &str) -> Error {
    Error::new(format!("{e}\n{usage}")).with_code(2)
}

/// A value that must be UTF-8.
pub fn string(v: OsString, what: &str) -> Result<String, Error> {
    v.into_string().map_err(|v| {
        Error::new(format!("{what}: not valid UTF-8: {}", v.to_string_lossy())).with_code(2)
    })
}

/// Print usage to stdout (for `--help`).
pub fn print_usage(usage: &str) {
    print!("{usage}");
}
