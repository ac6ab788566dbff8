//! `nsinit`: run, join and manage the container described by container.json
//! in the container directory (the cwd, `--root DIR` or `$data_path`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use lexopt::prelude::*;

use crate::cgroup::CgroupManager;
use crate::cli::{string, usage_error};
use crate::config::{self, Config};
use crate::container::process::ProcessSpec;
use crate::container::state::{self, Found};
use crate::container::{self, create};
use crate::error::{Context, Error, Result};
use crate::{log, network};

const USAGE: &str = "\
usage: nsinit [--root DIR] [--debug] COMMAND [ARGS...]

The container directory holds container.json and, while the container runs,
state.json. It is the current directory, or --root DIR, or $data_path.

commands:
  exec [OPTIONS] [--] CMD [ARGS...]   run CMD as PID 1 of a new container, or join
                                      the running one (a second exec joins)
      --init            run the built-in init shim as PID 1, CMD as its child
      -t, --tty         allocate a pty (overrides container.json's tty)
      -u, --user USER   run as USER (name, uid, name:group, uid:gid)
      -w, --cwd DIR     working directory inside the container
      -e, --env K=V     add or override an environment variable (repeatable)
  config [--validate]   print the effective configuration as JSON, or only check it
  state                 print the container's state as JSON
  stats                 print cgroup and network statistics as JSON
  pause | unpause       freeze or thaw every process of the container
  kill [SIGNAL]         send SIGNAL (default TERM) to the container's PID 1
  ps                    list the container's processes
  join ...              same as nsinit-join
  init ...              same as nsinit-init

options:
  --root DIR            the container directory (default: the current directory)
  --debug               debug messages on stderr
  --list                list the applets of this binary
  -V, --version         print the version
  -h, --help            this help
";

pub fn main(args: Vec<OsString>) -> Result<ExitCode> {
    let mut p = lexopt::Parser::from_args(args);
    let mut root: Option<PathBuf> = None;
    let cmd = loop {
        match p.next().map_err(|e| usage_error(e, USAGE))? {
            Some(Long("root")) => root = Some(p.value().map_err(|e| usage_error(e, USAGE))?.into()),
            Some(Long("debug")) => log::set_debug(true),
            Some(Short('h') | Long("help")) => {
                crate::cli::out(USAGE);
                return Ok(ExitCode::SUCCESS);
            }
            Some(Value(v)) => break string(v, "command")?,
            Some(a) => return Err(usage_error(a.unexpected(), USAGE)),
            None => return Err(Error::new(format!("missing command\n{USAGE}")).with_code(2)),
        }
    };
    let dir = container::resolve_dir(root)?;
    match cmd.as_str() {
        "exec" | "run" => exec(&dir, p),
        "config" => show_config(&dir, p),
        "state" => no_args(p).and_then(|_| show_state(&dir)),
        "stats" => no_args(p).and_then(|_| stats(&dir)),
        "pause" => no_args(p).and_then(|_| freeze(&dir, true)),
        "unpause" | "resume" => no_args(p).and_then(|_| freeze(&dir, false)),
        "kill" => kill(&dir, p),
        "ps" => no_args(p).and_then(|_| ps(&dir)),
        other => Err(Error::new(format!(
            "unknown command {other:?} (`nsinit --list` lists the applets)\n{USAGE}"
        ))
        .with_code(crate::error::EXIT_NOT_FOUND)),
    }
}

fn no_args(mut p: lexopt::Parser) -> Result<()> {
    match p.next().map_err(|e| usage_error(e, USAGE))? {
        None => Ok(()),
        Some(Short('h') | Long("help")) => {
            crate::cli::out(USAGE);
            std::process::exit(0)
        }
        Some(a) => Err(usage_error(a.unexpected(), USAGE)),
    }
}

/// Load container.json, printing its warnings.
pub fn load_config(dir: &Path) -> Result<(Config, String)> {
    let loaded = config::load(dir)?;
    for w in &loaded.warnings {
        log::warn(w);
    }
    Ok((loaded.config, loaded.hash))
}

/// Options shared by `exec` and `nsinit-join` for the process they start.
#[derive(Default)]
pub struct ProcessOptions {
    pub init: bool,
    pub tty: Option<bool>,
    pub user: Option<String>,
    pub cwd: Option<String>,
    pub env: Vec<String>,
    pub args: Vec<String>,
}

impl ProcessOptions {
    /// Parse `[OPTIONS] [--] CMD ARGS...`: options end at the first operand.
    pub fn parse(p: &mut lexopt::Parser, usage: &str) -> Result<ProcessOptions> {
        let mut o = ProcessOptions::default();
        let err = |e| usage_error(e, usage);
        loop {
            match p.next().map_err(err)? {
                Some(Long("init")) => o.init = true,
                Some(Short('t') | Long("tty")) => o.tty = Some(true),
                Some(Long("no-tty")) => o.tty = Some(false),
                Some(Short('u') | Long("user")) => {
                    o.user = Some(string(p.value().map_err(err)?, "--user")?)
                }
                Some(Short('w') | Long("cwd")) => {
                    o.cwd = Some(string(p.value().map_err(err)?, "--cwd")?)
                }
                Some(Short('e') | Long("env")) => {
                    let kv = string(p.value().map_err(err)?, "--env")?;
                    if !kv.contains('=') {
                        return Err(Error::new(format!("--env {kv:?}: expected K=V")).with_code(2));
                    }
                    o.env.push(kv);
                }
                Some(Short('h') | Long("help")) => {
                    crate::cli::out(usage);
                    std::process::exit(0)
                }
                Some(Value(v)) => {
                    o.args.push(string(v, "command")?);
                    for a in p.raw_args().map_err(err)? {
                        o.args.push(string(a, "argument")?);
                    }
                    break;
                }
                Some(a) => return Err(usage_error(a.unexpected(), usage)),
                None => break,
            }
        }
        if o.args.is_empty() {
            return Err(Error::new(format!("missing command\n{usage}")).with_code(2));
        }
        Ok(o)
    }

    /// The process spec from the config with these overrides applied.
    pub fn spec(self, cfg: &Config) -> ProcessSpec {
        let mut env = cfg.environment.clone();
        env.extend(self.env);
        ProcessSpec {
            args: self.args,
            env,
            user: self.user.or_else(|| cfg.user.clone()),
            cwd: self.cwd.or_else(|| cfg.working_dir.clone()),
            caps: cfg.capabilities,
            rlimits: cfg.rlimits.clone(),
        }
    }
}

fn exec(dir: &Path, mut p: lexopt::Parser) -> Result<ExitCode> {
    let opts = ProcessOptions::parse(&mut p, USAGE)?;
    let (mut cfg, hash) = load_config(dir)?;
    if let Some(t) = opts.tty {
        cfg.tty = t;
    }
    cfg.init |= opts.init;
    let lock = state::lock(dir)?;
    match state::find(dir)? {
        Found::Live(st) => {
            drop(lock);
            let code = container::join::join_container(&cfg, &st, opts.spec(&cfg))?;
            return Ok(ExitCode::from(code));
        }
        Found::Stale { why } => {
            log::warn(&format!("removing stale state.json: {why}"));
            cleanup_stale(dir)?;
        }
        Found::None => {}
    }
    let spec = opts.spec(&cfg);
    let code = create::create(
        &cfg,
        create::CreateRequest {
            dir,
            process: spec,
            config_hash: hash,
            lock,
        },
    )?;
    Ok(ExitCode::from(code))
}

/// Remove what a crashed nsinit left: its cgroups, host veths and state.json.
fn cleanup_stale(dir: &Path) -> Result<()> {
    let text = std::fs::read_to_string(dir.join(state::STATE_FILE)).unwrap_or_default();
    if let Ok(st) = serde_json::from_str::<state::State>(&text) {
        let cg = CgroupManager::from_paths(&st.cgroup_paths);
        if let Err(e) = cg.and_then(|cg| cg.destroy()) {
            log::warn(&e.context("stale container"));
        }
        if let Err(e) = network::teardown_host(&st.network_state) {
            log::warn(&e.context("stale container"));
        }
    }
    state::remove(dir)
}

fn show_config(dir: &Path, mut p: lexopt::Parser) -> Result<ExitCode> {
    let mut validate = false;
    while let Some(a) = p.next().map_err(|e| usage_error(e, USAGE))? {
        match a {
            Long("validate") => validate = true,
            Short('h') | Long("help") => {
                crate::cli::out(USAGE);
                return Ok(ExitCode::SUCCESS);
            }
            a => return Err(usage_error(a.unexpected(), USAGE)),
        }
    }
    let path = dir.join("container.json");
    let text = std::fs::read_to_string(&path).ctx(|| format!("read {}", path.display()))?;
    match config::load_str(&text, dir) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                log::warn(w);
            }
            if validate {
                crate::cli::out(&format!("{}: valid\n", path.display()));
            } else {
                let json = serde_json::to_string_pretty(&loaded.config)
                    .map_err(|e| Error::new(format!("encode config: {e}")))?;
                crate::cli::out(&format!("{json}\n"));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for e in &errors {
                log::error(e);
            }
            Err(Error::new(format!(
                "{}: {} error(s)",
                path.display(),
                errors.len()
            )))
        }
    }
}

fn show_state(dir: &Path) -> Result<ExitCode> {
    let out = match state::find(dir)? {
        Found::Live(st) => {
            let paused = CgroupManager::from_paths(&st.cgroup_paths).is_ok_and(|c| c.is_frozen());
            let mut v = serde_json::to_value(&st).map_err(|e| Error::new(e.to_string()))?;
            v["status"] = (if paused { "paused" } else { "running" }).into();
            v["running"] = true.into();
            v["pid"] = st.init_pid.into();
            v
        }
        Found::None => serde_json::json!({"running": false, "status": "stopped"}),
        Found::Stale { why } => {
            serde_json::json!({"running": false, "status": "stopped", "stale": why})
        }
    };
    crate::cli::out(&format!(
        "{}\n",
        serde_json::to_string_pretty(&out).unwrap_or_default()
    ));
    Ok(ExitCode::SUCCESS)
}

fn stats(dir: &Path) -> Result<ExitCode> {
    let st = state::require_live(dir)?;
    let cg = CgroupManager::from_paths(&st.cgroup_paths)?.stats()?;
    let net = network::stats(&st.network_state)?;
    let out = serde_json::json!({"cgroups": cg, "network": net});
    crate::cli::out(&format!(
        "{}\n",
        serde_json::to_string_pretty(&out).unwrap_or_default()
    ));
    Ok(ExitCode::SUCCESS)
}

fn freeze(dir: &Path, pause: bool) -> Result<ExitCode> {
    let st = state::require_live(dir)?;
    let cg = CgroupManager::from_paths(&st.cgroup_paths)?;
    if pause {
        cg.freeze()?
    } else {
        cg.thaw()?
    }
    Ok(ExitCode::SUCCESS)
}

/// Parse `TERM`, `SIGTERM`, `15`.
pub fn parse_signal(s: &str) -> Result<i32> {
    const NAMES: [&str; 31] = [
        "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
        "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
        "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
    ];
    if let Ok(n) = s.parse::<i32>()
        && (1..=64).contains(&n)
    {
        return Ok(n);
    }
    let bare = s.strip_prefix("SIG").unwrap_or(s).to_ascii_uppercase();
    NAMES
        .iter()
        .position(|n| *n == bare)
        .map(|i| i as i32 + 1)
        .ok_or_else(|| Error::new(format!("kill: unknown signal {s:?}")).with_code(2))
}

fn kill(dir: &Path, mut p: lexopt::Parser) -> Result<ExitCode> {
    let mut sig = 15;
    while let Some(a) = p.next().map_err(|e| usage_error(e, USAGE))? {
        match a {
            Value(v) => sig = parse_signal(&string(v, "signal")?)?,
            Short('h') | Long("help") => {
                crate::cli::out(USAGE);
                return Ok(ExitCode::SUCCESS);
            }
            a => return Err(usage_error(a.unexpected(), USAGE)),
        }
    }
    let st = state::require_live(dir)?;
    crate::sys::kill_raw(st.init_pid, sig)
        .ctx(|| format!("kill {} with signal {sig}", st.init_pid))?;
    Ok(ExitCode::SUCCESS)
}

fn ps(dir: &Path) -> Result<ExitCode> {
    let st = state::require_live(dir)?;
    let mut pids = CgroupManager::from_paths(&st.cgroup_paths)?
        .pids()
        .unwrap_or_default();
    if pids.is_empty() {
        pids = container::same_pid_namespace(st.init_pid);
    }
    pids.sort_unstable();
    let mut text = format!("{:>8} {:<16} CMD\n", "PID", "COMM");
    for pid in pids {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmd: Vec<String> = cmd
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into())
            .collect();
        text.push_str(&format!("{pid:>8} {:<16} {}\n", comm.trim(), cmd.join(" ")));
    }
    crate::cli::out(&text);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_and_number() {
        assert_eq!(parse_signal("TERM").unwrap(), 15);
        assert_eq!(parse_signal("SIGKILL").unwrap(), 9);
        assert_eq!(parse_signal("usr1").unwrap(), 10);
        assert_eq!(parse_signal("2").unwrap(), 2);
        assert_eq!(parse_signal("WINCH").unwrap(), 28);
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("0").is_err());
    }
}
