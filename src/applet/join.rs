//! `nsinit-join`: enter a running container.
//!
//! * `nsinit-join [--root DIR] [-u USER] [-w DIR] [-e K=V]… [--tty] CMD…` joins
//!   the container whose state.json is in DIR (the cwd by default), applying its
//!   container.json like `nsinit exec` does.
//! * `nsinit-join -t PID [-m] [-u] [-i] [-n] [-p] [-U] [-C] [-T] [-a] [-r] [-w]
//!   [CMD…]` enters the namespaces of any process, like util-linux nsenter, with
//!   no config at all. The default command is /bin/sh.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use lexopt::prelude::*;

use crate::applet::nsinit::{ProcessOptions, join_dir};
use crate::cli::{string, usage, usage_error};
use crate::config::Ns;
use crate::container::join::{self, Finish, JoinPlan};
use crate::container::{self, state};
use crate::error::{Context, EXIT_CODES_HELP, Error, Result};

const USAGE: &str = "\
usage: nsinit-join [--root DIR] [-u USER] [-w DIR] [-e K=V]... [--tty] [--] CMD [ARGS...]
       nsinit-join -t PID [-a] [-m] [-u] [-i] [-n] [-p] [-U] [-C] [-T] [-r] [-w] [--] [CMD [ARGS...]]

Enter a running container.

By directory (container.json + state.json in DIR, default the current directory):
  --root DIR        the container directory
  -u, --user USER   run as USER instead of container.json's user
  -w, --cwd DIR     working directory inside the container
  -e, --env K=V     add or override an environment variable (repeatable)
  -t is not given in this form; --tty allocates a pty

By PID, like nsenter (no config needed; works for any runtime's containers):
  -t, --target PID  the process whose namespaces to enter
  -a, --all         every namespace of PID that differs from ours
  -m, --mount  -u, --uts  -i, --ipc  -n, --net  -p, --pid  -U, --user
  -C, --cgroup  -T, --time
  -r, --root        chroot to PID's root directory
  -w, --wd          chdir to PID's working directory
  CMD defaults to /bin/sh
";

/// USAGE followed by the exit-code table, for `--help`.
fn help() -> String {
    format!("{USAGE}\n{EXIT_CODES_HELP}")
}

pub fn main(args: Vec<OsString>) -> Result<ExitCode> {
    if by_pid(&args) {
        return nsenter(args);
    }
    let mut root: Option<PathBuf> = None;
    // --root comes before the process options.
    let mut rest = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        if a == "--root" {
            root = Some(
                it.next()
                    .ok_or_else(|| {
                        usage_error(
                            lexopt::Error::MissingValue {
                                option: Some("--root".into()),
                            },
                            USAGE,
                        )
                    })?
                    .into(),
            );
        } else if let Some(v) = a.to_str().and_then(|s| s.strip_prefix("--root=")) {
            root = Some(v.into());
        } else {
            rest.push(a);
            rest.extend(it.by_ref());
        }
    }
    if rest.first().is_some_and(|a| a == "-h" || a == "--help") {
        crate::cli::out(&help());
        return Ok(ExitCode::SUCCESS);
    }
    let mut p = lexopt::Parser::from_args(rest);
    let opts = ProcessOptions::parse(&mut p, USAGE)?;
    let dir = container::resolve_dir(root)?;
    join_dir(&dir, opts)
}

/// True when the nsenter form (`-t PID`) is used: -t appears before the command.
fn by_pid(args: &[OsString]) -> bool {
    for a in args {
        let Some(s) = a.to_str() else { return false };
        if s == "--" || !s.starts_with('-') {
            return false;
        }
        if s == "--target"
            || s.starts_with("--target=")
            || (s.starts_with("-t") && !s.starts_with("--"))
        {
            return true;
        }
        // Short option clusters like -mt1: -t before any option that takes a value.
        if !s.starts_with("--") {
            for c in s.chars().skip(1) {
                if c == 't' {
                    return true;
                }
                if !"amuinpUCTrw".contains(c) {
                    break;
                }
            }
        }
    }
    false
}

fn nsenter(args: Vec<OsString>) -> Result<ExitCode> {
    let mut p = lexopt::Parser::from_args(args);
    let mut target: Option<i32> = None;
    let mut all = false;
    let mut set = crate::config::NsSet::default();
    let (mut chroot, mut chdir) = (false, false);
    let mut cmd: Vec<String> = Vec::new();
    let err = |e| usage_error(e, USAGE);
    while let Some(a) = p.next().map_err(err)? {
        match a {
            Short('t') | Long("target") => {
                let v = string(p.value().map_err(err)?, "--target")?;
                target = Some(parse_pid(&v)?);
            }
            Short('a') | Long("all") => all = true,
            Short('m') | Long("mount") => set.insert(Ns::Mnt),
            Short('u') | Long("uts") => set.insert(Ns::Uts),
            Short('i') | Long("ipc") => set.insert(Ns::Ipc),
            Short('n') | Long("net") => set.insert(Ns::Net),
            Short('p') | Long("pid") => set.insert(Ns::Pid),
            Short('U') | Long("user") => set.insert(Ns::User),
            Short('C') | Long("cgroup") => set.insert(Ns::Cgroup),
            Short('T') | Long("time") => set.insert(Ns::Time),
            Short('r') | Long("root") => chroot = true,
            Short('w') | Long("wd") => chdir = true,
            Short('h') | Long("help") => {
                crate::cli::out(&help());
                return Ok(ExitCode::SUCCESS);
            }
            Value(v) => {
                cmd.push(string(v, "command")?);
                for a in p.raw_args().map_err(err)? {
                    cmd.push(string(a, "argument")?);
                }
            }
            a => return Err(usage_error(a.unexpected(), USAGE)),
        }
    }
    let pid = target.ok_or_else(|| usage(format!("missing --target PID\n{USAGE}")))?;
    if all {
        Ns::ALL.into_iter().for_each(|n| set.insert(n));
    }
    if cmd.is_empty() {
        cmd.push("/bin/sh".into());
    }
    let open_dir = |what: &str| {
        let path = format!("/proc/{pid}/{what}");
        rustix::fs::open(
            path.as_str(),
            rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .ctx(|| format!("open {path}"))
    };
    let root = if chroot {
        Some(open_dir("root")?)
    } else {
        None
    };
    let cwd = if chdir { Some(open_dir("cwd")?) } else { None };
    let start =
        state::start_time(pid).ok_or_else(|| Error::new(format!("process {pid} is gone")))?;
    let namespaces = join::open_namespaces(pid, set.iter())?;
    if state::start_time(pid).as_deref() != Some(start.as_str()) {
        return Err(Error::new(format!("process {pid} is gone")));
    }
    let env: Vec<String> = std::env::vars_os()
        .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
        .collect();
    let plan = JoinPlan {
        target: pid,
        namespaces,
        cgroup: None,
        tty: false,
        console_size: None,
        finish: Finish::Plain {
            args: &cmd,
            env,
            root,
            cwd,
        },
        detach: false,
    };
    match join::join(plan)? {
        join::Joined::Exited(code) => Ok(ExitCode::from(code)),
        join::Joined::Detached { .. } => Ok(ExitCode::SUCCESS),
    }
}

/// A `--target` value: a positive PID (0 and negatives name process groups or
/// "everyone" to the kernel, never one process).
fn parse_pid(v: &str) -> Result<i32> {
    match v.parse::<i32>() {
        Ok(pid) if pid > 0 => Ok(pid),
        _ => Err(usage(format!(
            "--target: expected a process ID (a positive integer), got {v:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn nsenter_form_is_chosen_by_target() {
        assert!(by_pid(&v(&["-t", "1", "-a"])));
        assert!(by_pid(&v(&["-a", "--target=1"])));
        assert!(by_pid(&v(&["-mt1"])));
        assert!(by_pid(&v(&["-t1", "sh"])));
        assert!(!by_pid(&v(&["-u", "daemon", "sh"])));
        assert!(!by_pid(&v(&["--root", "/x", "sh", "-t"])));
        assert!(!by_pid(&v(&["--", "-t"])));
    }

    #[test]
    fn target_must_be_a_positive_pid() {
        assert_eq!(parse_pid("1").ok(), Some(1));
        assert_eq!(parse_pid("4194304").ok(), Some(4194304));
        for bad in ["0", "-5", "-1", "", "1x", "+", "99999999999"] {
            let e = parse_pid(bad).unwrap_err();
            assert_eq!(e.code(), 2, "{bad:?}");
            assert_eq!(
                e.to_string(),
                format!("--target: expected a process ID (a positive integer), got {bad:?}")
            );
        }
        let e = nsenter(v(&["-t", "0", "true"])).unwrap_err();
        assert_eq!(e.code(), 2);
        let e = nsenter(v(&["-t", "-5", "true"])).unwrap_err();
        assert!(e.to_string().ends_with("got \"-5\""), "{e}");
    }

    #[test]
    fn help_ends_with_the_exit_codes() {
        assert!(help().ends_with(EXIT_CODES_HELP));
    }
}
