//! `nsinit-oci ps`: the container's processes, as runc shows them.

use std::ffi::CString;

use rustix::io::Errno;
use rustix::pipe::{PipeFlags, pipe_with};
use rustix::process::{WaitOptions, waitpid};

use super::*;
use crate::oci::hooks::Stdio;
use crate::sys::CStringArray;

/// runc's `ps`: `--format json` is the PID list; the table is the host's
/// ps(1) with the arguments after the ID (default `-ef`): its header and
/// the lines whose PID column is one of the container's processes.
pub(super) fn ps(g: &Global, o: &Opts) -> Result<ExitCode> {
    let (_record, st) = find(g, o.id()?)?;
    let pids = st.pids();
    match o.value("format").unwrap_or("table") {
        "json" => {
            crate::cli::out(&format!("{}\n", serde_json::json!(pids)));
            return Ok(ExitCode::SUCCESS);
        }
        "table" => {}
        f => return Err(Error::new(format!("--format {f:?}: table or json")).with_code(2)),
    }
    let args = match &o.args[1..] {
        [] => &["-ef".to_string()][..],
        a => a,
    };
    let text = run_ps(args)?;
    let mut lines = text.lines();
    let head = lines.next().unwrap_or("");
    let col = head
        .split_whitespace()
        .position(|c| c == "PID")
        .ok_or_else(|| Error::new(format!("ps {}: no PID column", args.join(" "))))?;
    let mut shown = format!("{head}\n");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            shown.push_str(line);
            shown.push('\n');
        }
    }
    crate::cli::out(&shown);
    Ok(ExitCode::SUCCESS)
}

/// The output of the host's ps(1) (found in $PATH) run with `args` in the
/// caller's environment; an error if it fails. fork + execve with nsinit's
/// own helpers, as the hooks (std's `Command` costs 30 KiB).
fn run_ps(args: &[String]) -> Result<String> {
    let what = || format!("ps {}", args.join(" "));
    let cstr = |s: &str| CString::new(s).unwrap_or_default();
    let search = std::env::var("PATH").unwrap_or_default();
    let exe = crate::container::process::find_command("ps", &search)
        .map_err(|_| Error::new(format!("{}: ps not found in PATH", what())))?;
    let path = cstr(&exe);
    let argv = std::iter::once("ps").chain(args.iter().map(String::as_str));
    let argv = CStringArray::new(argv.map(cstr).collect());
    let env = std::env::vars().map(|(k, v)| cstr(&format!("{k}={v}")));
    let envp = CStringArray::new(env.collect());
    let (rd, wr) = pipe_with(PipeFlags::CLOEXEC).ctx(|| format!("{}: pipe", what()))?;
    let pid = crate::oci::hooks::spawn(&path, &argv, &envp, Stdio::Out(&wr))
        .ctx(|| format!("{}: fork", what()))?;
    drop(wr);
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match rustix::io::read(&rd, &mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(Errno::INTR) => {}
            Err(e) => return Err(e).ctx(|| format!("{}: read", what())),
        }
    }
    let status = loop {
        match waitpid(Some(pid), WaitOptions::empty()) {
            Err(Errno::INTR) => continue,
            r => break r.ctx(|| format!("{}: wait", what()))?,
        }
    };
    match status.and_then(|(_, s)| s.exit_status()) {
        Some(0) => Ok(String::from_utf8_lossy(&out).into_owned()),
        Some(c) => Err(Error::new(format!("{}: exit status {c}", what()))),
        None => Err(Error::new(format!("{}: killed", what()))),
    }
}
