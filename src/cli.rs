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

/// Write to stdout without panicking on a closed pipe (`nsinit config | head`).
pub fn out(text: &str) {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(text.as_bytes()).and_then(|_| o.flush());
}
