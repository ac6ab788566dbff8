//! Exec of the shim's command, with `execvp`'s `PATH` search.
//!
//! Everything that allocates (C strings, the candidate paths) is built before the
//! fork; the child only walks the candidates with `execve`.

use std::ffi::{CString, OsStr, OsString};
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use rustix::io::Errno;

use crate::error::{EXIT_CANNOT_EXEC, EXIT_NOT_FOUND, Error, Result, strerror};
use crate::sys::{self, CStringArray};

/// `PATH` when the environment has none (the usual container default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A command ready to exec: argv, envp and the paths to try, in order.
pub struct PreparedExec {
    name: String,
    candidates: Vec<CString>,
    argv: CStringArray,
    envp: CStringArray,
}

impl PreparedExec {
    /// Prepare `argv` (argv[0] is the command, looked up through the `PATH` of
    /// `env` unless it contains a slash) to run with the environment `env`.
    pub fn new(argv: &[OsString], env: &[(OsString, OsString)]) -> Result<Self> {
        let Some(cmd) = argv.first() else {
            return Err(Error::new("no command given").with_code(2));
        };
        let name = cmd.to_string_lossy().into_owned();
        let path = env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.as_os_str());
        let candidates = candidate_paths(cmd, path)
            .into_iter()
            .map(|p| c_string(p, "command"))
            .collect::<Result<Vec<_>>>()?;
        let argv = argv
            .iter()
            .map(|a| c_string(a.clone(), "argument"))
            .collect::<Result<_>>()?;
        let envp = env
            .iter()
            .map(|(k, v)| {
                let mut kv = k.clone();
                kv.push("=");
                kv.push(v);
                c_string(kv, "environment variable")
            })
            .collect::<Result<_>>()?;
        Ok(PreparedExec {
            name,
            candidates,
            argv: CStringArray::new(argv),
            envp: CStringArray::new(envp),
        })
    }

    /// The command as given, for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Try the candidates in order as `execvp` does: ENOENT, ENOTDIR and EACCES
    /// move on to the next one; any other error stops. Returns only on failure,
    /// with EACCES when some candidate was found but not executable.
    pub fn exec(&self) -> Errno {
        let mut denied = false;
        for path in &self.candidates {
            match sys::execve(path, &self.argv, &self.envp) {
                Errno::NOENT | Errno::NOTDIR => {}
                Errno::ACCESS => denied = true,
                e => return e,
            }
        }
        if denied { Errno::ACCESS } else { Errno::NOENT }
    }

    /// Exec, or print `PREFIX: exec "CMD": strerror` and exit 127 (not found)
    /// or 126 (found but not executable). For a forked child.
    pub fn exec_or_exit(&self, prefix: &str) -> ! {
        let e = self.exec();
        let msg = format!("{prefix}: exec \"{}\": {}\n", self.name, strerror(e));
        let _ = std::io::stderr().write_all(msg.as_bytes());
        sys::exit_now(exec_exit_code(e))
    }
}

/// The exit code for a failed exec: 127 when the command does not exist, 126
/// when it exists but cannot be run (permission, format, …).
pub fn exec_exit_code(e: Errno) -> u8 {
    match e {
        Errno::NOENT | Errno::NOTDIR => EXIT_NOT_FOUND,
        _ => EXIT_CANNOT_EXEC,
    }
}

/// The paths `execvp` would try for `cmd`: itself when it contains a slash,
/// else `DIR/cmd` for each `DIR` of `path` (an empty element is the current
/// directory). An empty command has no candidate.
pub fn candidate_paths(cmd: &OsStr, path: Option<&OsStr>) -> Vec<OsString> {
    let bytes = cmd.as_bytes();
    if bytes.is_empty() {
        return Vec::new();
    }
    if bytes.contains(&b'/') {
        return vec![cmd.to_os_string()];
    }
    let path = path.unwrap_or(OsStr::new(DEFAULT_PATH));
    path.as_bytes()
        .split(|&b| b == b':')
        .map(|dir| {
            let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
            let mut p = dir.to_vec();
            if !dir.ends_with(b"/") {
                p.push(b'/');
            }
            p.extend_from_slice(bytes);
            OsString::from_vec(p)
        })
        .collect()
}

fn c_string(s: OsString, what: &str) -> Result<CString> {
    CString::new(s.into_vec()).map_err(|e| {
        let shown = String::from_utf8_lossy(&e.into_vec()).into_owned();
        Error::new(format!("{what} contains a NUL byte: {shown:?}")).with_code(2)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(cmd: &str, path: Option<&str>) -> Vec<String> {
        candidate_paths(OsStr::new(cmd), path.map(OsStr::new))
            .into_iter()
            .map(|p| p.into_string().unwrap())
            .collect()
    }

    #[test]
    fn slash_means_no_search() {
        assert_eq!(paths("/bin/sh", Some("/usr/bin")), ["/bin/sh"]);
        assert_eq!(paths("./run", Some("/usr/bin")), ["./run"]);
    }

    #[test]
    fn searches_each_path_element_in_order() {
        assert_eq!(paths("sh", Some("/a:/b/:")), ["/a/sh", "/b/sh", "./sh"]);
        assert_eq!(paths("sh", Some("::/x")), ["./sh", "./sh", "/x/sh"]);
    }

    #[test]
    fn default_path_without_path_variable() {
        let p = paths("ls", None);
        assert_eq!(p.first().map(String::as_str), Some("/usr/local/sbin/ls"));
        assert_eq!(p.last().map(String::as_str), Some("/bin/ls"));
        assert_eq!(p.len(), 6);
    }

    #[test]
    fn empty_command_has_no_candidate() {
        assert!(paths("", Some("/bin")).is_empty());
    }

    #[test]
    fn exit_codes_for_exec_errors() {
        assert_eq!(exec_exit_code(Errno::NOENT), 127);
        assert_eq!(exec_exit_code(Errno::NOTDIR), 127);
        assert_eq!(exec_exit_code(Errno::ACCESS), 126);
        assert_eq!(exec_exit_code(Errno::NOEXEC), 126);
    }

    #[test]
    fn prepare_uses_path_from_env_and_rejects_nul() {
        let env = vec![(OsString::from("PATH"), OsString::from("/opt/x:/opt/y"))];
        let p = PreparedExec::new(&[OsString::from("tool"), OsString::from("-v")], &env).unwrap();
        let c: Vec<_> = p.candidates.iter().map(|c| c.to_str().unwrap()).collect();
        assert_eq!(c, ["/opt/x/tool", "/opt/y/tool"]);
        assert_eq!(p.argv.strings().len(), 2);
        assert_eq!(p.envp.strings()[0].to_str().unwrap(), "PATH=/opt/x:/opt/y");

        let bad = OsString::from_vec(b"a\0b".to_vec());
        let e = PreparedExec::new(&[OsString::from("tool"), bad], &env)
            .err()
            .unwrap();
        assert_eq!(e.to_string(), "argument contains a NUL byte: \"a\\0b\"");
        assert!(PreparedExec::new(&[], &env).is_err());
    }
}
