//! `hooks`: programs the runtime runs at points of the lifecycle, each with
//! the container's state on its stdin.

use std::ffi::{CStr, CString};
use std::os::fd::OwnedFd;
use std::path::PathBuf;

use rustix::io::Errno;
use rustix::pipe::{PipeFlags, pipe_with};
use rustix::process::{Pid, PidfdFlags, WaitOptions, pidfd_open, waitpid};
use rustix::stdio::dup2_stdin;

use serde_json::Value;

use super::read::{array, get, known_keys, obj, opt_str, strings};
use crate::config::json::{Diag, join};
use crate::error::{Context, Error, Result};
use crate::sys::{self, CStringArray, SigSet};

/// One hook: `path` run with `args` (`args[0]` is argv[0]) and exactly `env`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hook {
    pub path: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<String>,
    /// Seconds before the hook is killed and counted as failed.
    pub timeout: Option<u32>,
}

/// The hooks of each kind, in the order they run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hooks {
    pub prestart: Vec<Hook>,
    pub create_runtime: Vec<Hook>,
    pub create_container: Vec<Hook>,
    pub start_container: Vec<Hook>,
    pub poststart: Vec<Hook>,
    pub poststop: Vec<Hook>,
}

const KINDS: [&str; 6] = [
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

pub fn lower(v: &Value, path: &str, d: &mut Diag) -> Hooks {
    let mut hooks = Hooks::default();
    let Some(m) = obj(v, path, d) else {
        return hooks;
    };
    known_keys(m, path, &KINDS, d);
    for kind in KINDS {
        let here = join(path, kind);
        let Some(items) = m
            .get(kind)
            .filter(|v| !v.is_null())
            .and_then(|v| array(v, &here, d))
        else {
            continue;
        };
        let list: Vec<Hook> = items
            .iter()
            .enumerate()
            .filter_map(|(i, h)| hook(h, &format!("{here}[{i}]"), d))
            .collect();
        match kind {
            "prestart" => hooks.prestart = list,
            "createRuntime" => hooks.create_runtime = list,
            "createContainer" => hooks.create_container = list,
            "startContainer" => hooks.start_container = list,
            "poststart" => hooks.poststart = list,
            _ => hooks.poststop = list,
        }
    }
    hooks
}

fn hook(v: &Value, here: &str, d: &mut Diag) -> Option<Hook> {
    let m = obj(v, here, d)?;
    known_keys(m, here, &["path", "args", "env", "timeout"], d);
    let path = match opt_str(m, here, "path", d) {
        Some(p) if p.starts_with('/') && !p.contains('\0') => Some(PathBuf::from(p)),
        Some(p) => {
            d.error(
                &join(here, "path"),
                format_args!("must be an absolute path, got {p:?}"),
            );
            None
        }
        None => {
            d.error(&join(here, "path"), "required");
            None
        }
    };
    let timeout = match get::<i64>(m, here, "timeout", d) {
        None => None,
        Some(t) if t > 0 && t <= i64::from(u32::MAX) => Some(t as u32),
        Some(t) => {
            d.error(
                &join(here, "timeout"),
                format_args!("must be a positive number of seconds, got {t}"),
            );
            None
        }
    };
    let args = strings(m, here, "args", d);
    let env = strings(m, here, "env", d);
    let nul = args.iter().chain(&env).any(|s| s.contains('\0'));
    if nul {
        d.error(here, "args and env must not contain a NUL byte");
    }
    Some(Hook {
        path: path?,
        args,
        env,
        timeout,
    })
}

/// Which standard descriptor of a [`spawn`]ed program a pipe end becomes.
pub enum Stdio<'a> {
    In(&'a OwnedFd),
    Out(&'a OwnedFd),
}

/// fork + execve `path` with nsinit's own helpers (std's `Command` costs
/// 30 KiB): `pipe` as its stdin or stdout, default signal dispositions, an
/// empty signal mask, and no descriptor but 0-2.
pub fn spawn(
    path: &CStr,
    argv: &CStringArray,
    envp: &CStringArray,
    pipe: Stdio<'_>,
) -> std::result::Result<Pid, rustix::io::Errno> {
    match sys::clone_process(0)? {
        None => {
            let dup = match pipe {
                Stdio::In(fd) => dup2_stdin(fd),
                Stdio::Out(fd) => rustix::stdio::dup2_stdout(fd),
            };
            if dup.is_err() {
                sys::exit_now(127);
            }
            let _ = sys::cloexec_from(3);
            sys::reset_signal_dispositions();
            let _ = sys::restore_signal_mask(SigSet::default());
            sys::execve(path, argv, envp);
            sys::exit_now(127)
        }
        Some(pid) => Ok(pid),
    }
}

/// Run `h` with `state_json` on its stdin and wait for it (at most its
/// timeout: then it is killed). Any exit but 0 is an error naming the hook's
/// path; the caller prepends its kind and index (`hooks.poststart[1]: …`).
///
/// fork + execve with nsinit's own helpers (std's `Command` costs 30 KiB):
/// the hook starts with default signal dispositions, an empty signal mask,
/// exactly its `env`, and no descriptor but 0-2.
pub fn run_hook(h: &Hook, state_json: &[u8]) -> Result<()> {
    let what = || format!("hook {}", h.path.display());
    let cstr = |s: &str| CString::new(s).unwrap_or_default();
    let path = cstr(&h.path.to_string_lossy());
    let argv = match h.args.is_empty() {
        true => vec![path.clone()],
        false => h.args.iter().map(|a| cstr(a)).collect(),
    };
    let argv = CStringArray::new(argv);
    let envp = CStringArray::new(h.env.iter().map(|e| cstr(e)).collect());
    let (rd, wr) = pipe_with(PipeFlags::CLOEXEC).ctx(|| format!("{}: pipe", what()))?;
    let pid = spawn(&path, &argv, &envp, Stdio::In(&rd)).ctx(|| format!("{}: fork", what()))?;
    drop(rd);
    let pidfd = pidfd_open(pid, PidfdFlags::empty());
    // A hook that does not read its stdin closes it: EPIPE is no error (and
    // SIGPIPE is ignored or blocked by the runtime's callers).
    let written = write_all(&wr, state_json);
    drop(wr);
    let timed_out = match (h.timeout, &pidfd) {
        (Some(secs), Ok(fd)) => !wait_readable(fd, secs)?,
        _ => false,
    };
    if timed_out && let Ok(fd) = &pidfd {
        let _ = sys::raw::pidfd_kill(fd, 9);
    }
    let status = loop {
        match waitpid(Some(pid), WaitOptions::empty()) {
            Err(Errno::INTR) => continue,
            r => break r.ctx(|| format!("{}: wait", what()))?,
        }
    };
    if timed_out {
        let secs = h.timeout.unwrap_or(0);
        return Err(Error::new(format!(
            "{}: timed out after {secs} s (killed)",
            what()
        )));
    }
    let how = match status.map(|(_, s)| s) {
        Some(s) if s.exit_status() == Some(0) => {
            return written.ctx(|| format!("{}: write state", what()));
        }
        Some(s) => match (s.exit_status(), s.terminating_signal()) {
            (Some(127), _) => "exit status 127 (not found or not executable?)".to_string(),
            (Some(c), _) => format!("exit status {c}"),
            (_, Some(sig)) => format!("killed by signal {sig}"),
            _ => "failed".to_string(),
        },
        None => "failed".to_string(),
    };
    Err(Error::new(format!("{}: {how}", what())))
}

/// Write all of `buf`, stopping quietly at EPIPE (the reader is gone).
fn write_all(fd: &OwnedFd, mut buf: &[u8]) -> std::result::Result<(), Errno> {
    while !buf.is_empty() {
        match rustix::io::write(fd, buf) {
            Ok(n) => buf = &buf[n..],
            Err(Errno::INTR) => {}
            Err(Errno::PIPE) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Poll a pidfd until the process exits (true) or `secs` pass (false).
fn wait_readable(pidfd: &OwnedFd, secs: u32) -> Result<bool> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(u64::from(secs));
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        let mut fds = [PollFd::new(pidfd, PollFlags::IN)];
        let ts = Timespec {
            tv_sec: left.as_secs() as i64,
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        match poll(&mut fds, Some(&ts)) {
            Ok(0) => return Ok(false),
            Ok(_) => return Ok(true),
            Err(Errno::INTR) => {}
            Err(e) => return Err(e).ctx(|| "poll hook pidfd"),
        }
    }
}
