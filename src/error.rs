//! One error type for the whole runtime.
//!
//! Messages follow crun's shape: outer context first, then the operation and its
//! subject, then the kernel's words: `mount proc on /proc: Operation not permitted`.
//! `main` prefixes the applet name. Each error carries the exit code it maps to:
//! [`EXIT_RUNTIME`] unless the failure is a usage error or a command that could
//! not be run (see [`EXIT_CODES_HELP`]), so that nsinit's own failures never look
//! like the container's command exiting 1.

use std::fmt;

use rustix::io::Errno;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Exit code when nsinit itself failed (bad config, state, join, any runtime
/// error): 125, as podman and docker use for "the runtime failed".
pub const EXIT_RUNTIME: u8 = 125;
/// Exit code of a command-line usage error (unknown option, missing value).
pub const EXIT_USAGE: u8 = 2;
/// Exit code when the command was found but could not be executed.
pub const EXIT_CANNOT_EXEC: u8 = 126;
/// Exit code when the command (or applet) was not found.
pub const EXIT_NOT_FOUND: u8 = 127;

/// The exit codes every applet shares, for the end of each `--help`.
pub const EXIT_CODES_HELP: &str = "\
exit codes:
  0-255     the container command's own exit status
  128+N     the command was killed by signal N
  2         usage error (bad option or argument)
  125       nsinit itself failed (config, state, namespaces, cgroups...)
  126       the command was found but could not be executed
  127       the command (or applet) was not found
";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    msg: String,
    errno: Option<Errno>,
    code: u8,
}

impl Error {
    /// A failure described by a message alone.
    pub fn new(msg: impl Into<String>) -> Self {
        Error {
            msg: msg.into(),
            errno: None,
            code: EXIT_RUNTIME,
        }
    }

    /// A failed system call: `op` names the call and its subject.
    pub fn sys(op: impl Into<String>, errno: Errno) -> Self {
        Error {
            msg: op.into(),
            errno: Some(errno),
            code: EXIT_RUNTIME,
        }
    }

    /// The same error with a different exit code.
    pub fn with_code(mut self, code: u8) -> Self {
        self.code = code;
        self
    }

    /// The exit code this error maps to.
    pub fn code(&self) -> u8 {
        self.code
    }

    /// The errno of the failed call, when there was one.
    pub fn errno(&self) -> Option<Errno> {
        self.errno
    }

    /// Prepend an outer layer of context.
    pub fn context(mut self, outer: impl fmt::Display) -> Self {
        self.msg = format!("{outer}: {}", self.msg);
        self
    }

    /// Serialise for the child→parent sync channel: code byte, errno, message.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.msg.len() + 5);
        out.push(self.code);
        out.extend_from_slice(&self.errno.map_or(0, |e| e.raw_os_error()).to_le_bytes());
        out.extend_from_slice(self.msg.as_bytes());
        out
    }

    /// Inverse of [`Error::encode`].
    pub fn decode(buf: &[u8]) -> Self {
        if buf.len() < 5 {
            return Error::new("container init: malformed error message");
        }
        let raw = i32::from_le_bytes([buf[1], buf[2], buf[3], buf[4]]);
        Error {
            msg: String::from_utf8_lossy(&buf[5..]).into_owned(),
            errno: (raw != 0).then(|| Errno::from_raw_os_error(raw)),
            code: buf[0],
        }
    }
}

/// The kernel's words for an errno, without Rust's " (os error N)" suffix.
pub fn strerror(errno: Errno) -> String {
    let s = std::io::Error::from_raw_os_error(errno.raw_os_error()).to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errno {
            Some(e) => write!(f, "{}: {}", self.msg, strerror(e)),
            None => f.write_str(&self.msg),
        }
    }
}

impl std::error::Error for Error {}

/// Adds context to fallible results: `.ctx(|| format!("mount proc on {dst}"))`.
pub trait Context<T> {
    fn ctx<S: fmt::Display>(self, f: impl FnOnce() -> S) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, Errno> {
    fn ctx<S: fmt::Display>(self, f: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| Error::sys(f().to_string(), e))
    }
}

impl<T> Context<T> for std::result::Result<T, std::io::Error> {
    fn ctx<S: fmt::Display>(self, f: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| match e.raw_os_error() {
            Some(n) => Error::sys(f().to_string(), Errno::from_raw_os_error(n)),
            None => Error::new(format!("{}: {e}", f())),
        })
    }
}

impl<T> Context<T> for Result<T> {
    fn ctx<S: fmt::Display>(self, f: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| e.context(f()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_operation_then_strerror() {
        let e = Error::sys("mount proc on /proc", Errno::PERM);
        assert_eq!(
            e.to_string(),
            "mount proc on /proc: Operation not permitted"
        );
        let e = e.context("create");
        assert_eq!(
            e.to_string(),
            "create: mount proc on /proc: Operation not permitted"
        );
    }

    #[test]
    fn encode_round_trips() {
        let e = Error::sys("exec \"/bin/nope\"", Errno::NOENT).with_code(EXIT_NOT_FOUND);
        assert_eq!(Error::decode(&e.encode()), e);
        let e = Error::new("plain");
        assert_eq!(Error::decode(&e.encode()), e);
    }

    #[test]
    fn runtime_failures_default_to_125() {
        assert_eq!(Error::new("x").code(), 125);
        assert_eq!(Error::sys("x", Errno::PERM).code(), 125);
        assert_eq!(Error::new("x").context("outer").code(), 125);
        let e: Result<()> = Err(Errno::NOENT).ctx(|| "open x");
        assert_eq!(e.unwrap_err().code(), EXIT_RUNTIME);
        assert_eq!(Error::decode(&[1, 2]).code(), EXIT_RUNTIME);
    }

    #[test]
    fn exit_codes_help_lists_every_code() {
        for code in ["128+N", "2 ", "125", "126", "127"] {
            assert!(EXIT_CODES_HELP.contains(code), "{code}");
        }
    }
}
