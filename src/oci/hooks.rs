//! `hooks`: programs the runtime runs at points of the lifecycle, each with
//! the container's state on its stdin.

use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::read::{array, get, known_keys, obj, opt_str, strings};
use crate::config::json::{Diag, join};
use crate::error::{Context, Error, Result};

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

/// Run `h` with `state_json` on its stdin and wait for it (at most its
/// timeout: then it is killed). Any exit but 0 is an error naming the hook's
/// path; the caller prepends its kind and index (`hooks.poststart[1]: …`).
pub fn run_hook(h: &Hook, state_json: &[u8]) -> Result<()> {
    let what = || format!("hook {}", h.path.display());
    let mut cmd = Command::new(&h.path);
    if let Some((arg0, rest)) = h.args.split_first() {
        cmd.arg0(arg0).args(rest);
    }
    cmd.env_clear();
    for e in &h.env {
        match e.split_once('=') {
            Some((k, v)) if !k.is_empty() => cmd.env(k, v),
            _ => cmd.env(e, ""),
        };
    }
    cmd.stdin(Stdio::piped());
    let mut child = cmd.spawn().ctx(what)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin closes it: EPIPE is no error.
        match stdin.write_all(state_json) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            r => r.ctx(what)?,
        }
    }
    if let Some(secs) = h.timeout {
        let pid = rustix::process::Pid::from_raw(child.id() as i32)
            .ok_or_else(|| Error::new(format!("{}: no pid", what())))?;
        let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())
            .ctx(|| format!("{}: pidfd_open", what()))?;
        if !wait_readable(&pidfd, secs)? {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::new(format!(
                "{}: timed out after {secs} s (killed)",
                what()
            )));
        }
    }
    let status = child.wait().ctx(what)?;
    if status.success() {
        return Ok(());
    }
    let how = match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (_, Some(s)) => format!("killed by signal {s}"),
        _ => "failed".to_string(),
    };
    Err(Error::new(format!("{}: {how}", what())))
}

/// Poll a pidfd until the process exits (true) or `secs` pass (false).
fn wait_readable(pidfd: &std::os::fd::OwnedFd, secs: u32) -> Result<bool> {
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
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e).ctx(|| "poll hook pidfd"),
        }
    }
}
