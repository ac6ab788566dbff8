//! `nsinit`: run, join and manage the container described by container.json
//! in the container directory (the cwd, `--root DIR` or `$data_path`).

use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use lexopt::prelude::*;

use crate::cli::{string, usage_error};
use crate::config::{self, Config};
use crate::container::delete;
use crate::container::process::ProcessSpec;
use crate::container::record::{self, Record};
use crate::container::state::{Init, State, Status};
use crate::container::{self, create};
use crate::error::{Context, Error, Result};
use crate::{log, network};

const USAGE: &str = "\
usage: nsinit [--root DIR] [--debug] COMMAND [ARGS...]

The container directory holds container.json and, while the container runs,
a state.json marker. It is the current directory, or --root DIR, or
$data_path. What nsinit itself knows of the container (its record) lives in
/run/nsinit/, out of the container's reach; container.json is read once, at
create.

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
                        (KILL also thaws a paused container)
  ps                    list the container's processes
  destroy [--force] [--id ID]
                        remove what a stopped container left (cgroups, veths,
                        record); --force kills a running one first; --id
                        names a record from `list` (its directory may be gone)
  list [--format table|json]
                        every container record on this host
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
                crate::cli::out(&format!("{USAGE}\n{}", crate::error::EXIT_CODES_HELP));
                return Ok(ExitCode::SUCCESS);
            }
            Some(Value(v)) => break string(v, "command")?,
            Some(a) => return Err(usage_error(a.unexpected(), USAGE)),
            None => return Err(Error::new(format!("missing command\n{USAGE}")).with_code(2)),
        }
    };
    if cmd == "list" {
        return list(p);
    }
    if cmd == "destroy" || cmd == "delete" {
        return destroy(root, p);
    }
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

/// container.json of `dir`, read once: without following a link, as a
/// regular file of bounded size (the directory may be the container's own
/// root, where it could plant a link or a FIFO).
pub fn read_config_text(dir: &Path) -> Result<String> {
    let shown = || format!("read {}", dir.join("container.json").display());
    let fd = rustix::fs::open(
        dir,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .ctx(|| format!("open {}", dir.display()))?;
    let bytes = record::read_file_at(&fd, "container.json")
        .ctx(shown)?
        .ok_or_else(|| Error::sys(shown(), rustix::io::Errno::NOENT))?;
    String::from_utf8(bytes).map_err(|_| Error::new(format!("{}: not UTF-8", shown())))
}

/// Validate container.json text, printing its warnings when `warn` (at
/// create; a join lowers the stored text again without looking at the host).
pub fn load_config(text: &str, dir: &Path, warn: bool) -> Result<Config> {
    let loaded = config::read_str(text, dir, warn).map_err(|errs| Error::new(errs.join("\n")))?;
    if warn {
        for w in &loaded.warnings {
            log::warn(w);
        }
    }
    Ok(loaded.config)
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
            caps: crate::caps::CapSets::from_list(cfg.capabilities),
            no_new_privileges: cfg.no_new_privileges,
            no_new_keyring: cfg.no_new_keyring,
            rlimits: cfg.rlimits.clone(),
            seccomp: cfg.seccomp.clone(),
            ..ProcessSpec::default()
        }
    }
}

fn exec(dir: &Path, mut p: lexopt::Parser) -> Result<ExitCode> {
    let opts = ProcessOptions::parse(&mut p, USAGE)?;
    let record = loop {
        let record = Record::lock(dir)?;
        let Some(st) = record.state()? else {
            break record;
        };
        match st.init() {
            Init::Alive(_) if st.status == Status::Running => {
                return join(dir, record, &st, opts);
            }
            // A create whose nsinit died (its init dies of PDEATHSIG).
            Init::Alive(_) => {
                log::warn(&"removing a container whose start was interrupted");
                delete::kill_init(&st)?;
                delete::teardown(&record, &st, true).ctx(|| "stale container")?;
            }
            Init::Gone(why) => {
                log::warn(&format!("removing what a stopped container left: {why}"));
                delete::teardown(&record, &st, true).ctx(|| "stale container")?;
                // The record is gone: lock a fresh one.
            }
        }
    };
    let text = read_config_text(dir)?;
    let mut cfg = load_config(&text, dir, true)?;
    if let Some(t) = opts.tty {
        cfg.tty = t;
    }
    cfg.init |= opts.init;
    let spec = opts.spec(&cfg);
    let code = create::create(
        &cfg,
        create::CreateRequest {
            dir: Some(dir),
            process: spec,
            config_text: text,
            record,
            state: Default::default(),
            hooks: None,
        },
    )?;
    Ok(ExitCode::from(code))
}

/// Join the container running in `dir` (`nsinit-join --root DIR`).
pub fn join_dir(dir: &Path, opts: ProcessOptions) -> Result<ExitCode> {
    let none = |why: &str| Error::new(format!("no running container in {}: {why}", dir.display()));
    let (record, st) = find(dir)?.ok_or_else(|| none("no record"))?;
    match st.init() {
        Init::Alive(_) if st.status == Status::Running => join(dir, record, &st, opts),
        Init::Alive(_) => Err(none(&format!("it is {}", st.status.as_str()))),
        Init::Gone(why) => Err(none(&why)),
    }
}

/// Join the running container recorded in `st`, with the config it was
/// created from (container.json is never re-read).
fn join(dir: &Path, record: Record, st: &State, opts: ProcessOptions) -> Result<ExitCode> {
    if st.cgroup().is_ok_and(|c| c.is_frozen()) {
        return Err(Error::new(format!(
            "the container in {} is paused: `nsinit unpause` it before joining",
            dir.display()
        )));
    }
    let mut cfg = load_config(&record.config()?, dir, false)?;
    if let Some(t) = opts.tty {
        cfg.tty = t;
    }
    drop(record);
    match container::join::join_container(&cfg, st, opts.spec(&cfg)) {
        Ok(code) => Ok(ExitCode::from(code)),
        // A join that lost the race with the container's exit says so; what
        // the kernel answered a dying container (ENOMEM from a fork into a
        // PID namespace without init, ENODEV from its cgroups) only with --debug.
        Err(e) => match st.init() {
            Init::Gone(why) => {
                log::debug(&e);
                Err(Error::new(format!(
                    "the container exited while joining ({why})"
                )))
            }
            Init::Alive(_) => Err(e),
        },
    }
}

/// The locked record of `dir` and its state, if there is one.
fn find(dir: &Path) -> Result<Option<(Record, State)>> {
    let Some(record) = Record::find(dir)? else {
        return Ok(None);
    };
    Ok(record.state()?.map(|st| (record, st)))
}

/// The container of `dir` if it runs (or is paused): its record, state,
/// observed status and a pidfd on its init.
fn require_live(dir: &Path) -> Result<(Record, State, Status, OwnedFd)> {
    let none = |why: &str| Error::new(format!("no running container in {}: {why}", dir.display()));
    let (record, st) = find(dir)?.ok_or_else(|| none("no record"))?;
    if st.status != Status::Running {
        return Err(none(&format!("it is {}", st.observe(|| false).as_str())));
    }
    match st.init() {
        Init::Alive(fd) => {
            let status = st.status();
            Ok((record, st, status, fd))
        }
        Init::Gone(why) => Err(none(&why)),
    }
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
    let text = read_config_text(dir)?;
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

/// The state document: the record, the status the kernel confirms, and
/// whether the supervising nsinit still runs.
fn state_json(record: &Record, st: &State) -> Result<serde_json::Value> {
    let status = st.status();
    let mut v = st.view();
    v["status"] = status.as_str().into();
    v["running"] = matches!(status, Status::Running | Status::Paused).into();
    v["pid"] = st.init_pid.into();
    v["supervisor"] = (if st.supervisor_alive() {
        "alive"
    } else {
        "gone"
    })
    .into();
    v["id"] = record.key.clone().into();
    if status == Status::Stopped {
        // Without a PID namespace, PID 1's death leaves the rest running.
        let left = st.cgroup().and_then(|c| c.pids()).unwrap_or_default();
        v["processes_left"] = left.len().into();
        v["hint"] = match left.len() {
            0 => "leftovers remain until `nsinit destroy` or the next exec".into(),
            n => format!("{n} processes remain in its cgroups: `nsinit destroy` kills them").into(),
        };
    }
    Ok(v)
}

fn show_state(dir: &Path) -> Result<ExitCode> {
    let out = match find(dir)? {
        Some((record, st)) => state_json(&record, &st)?,
        None => serde_json::json!({"running": false, "status": "stopped"}),
    };
    crate::cli::out_json(&out);
    Ok(ExitCode::SUCCESS)
}

fn stats(dir: &Path) -> Result<ExitCode> {
    let (_record, st, _, _) = require_live(dir)?;
    let cg = st.cgroup()?.stats()?;
    let net = network::stats(&st.network_state)?;
    crate::cli::out_json(&serde_json::json!({"cgroups": cg, "network": net}));
    Ok(ExitCode::SUCCESS)
}

fn freeze(dir: &Path, pause: bool) -> Result<ExitCode> {
    let (_record, st, status, _) = require_live(dir)?;
    let cg = st.cgroup()?;
    if pause && status.can_pause() {
        cg.freeze()?
    } else if !pause && status.can_resume() {
        cg.thaw()?
    } else {
        return Err(Error::new(format!(
            "the container in {} is {}: nothing to {}",
            dir.display(),
            status.as_str(),
            if pause { "pause" } else { "unpause" }
        )));
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
    let (_record, st, status, pidfd) = require_live(dir)?;
    crate::sys::raw::pidfd_kill(&pidfd, sig)
        .ctx(|| format!("kill {} with signal {sig}", st.init_pid))?;
    // Why thaw: a frozen process cannot die; runc thaws for KILL too.
    if sig == 9 && status == Status::Paused {
        st.cgroup()?.thaw_for_kill()?;
    }
    Ok(ExitCode::SUCCESS)
}

fn ps(dir: &Path) -> Result<ExitCode> {
    let (_record, st, _, _) = require_live(dir)?;
    let mut text = format!("{:>8} {:<16} CMD\n", "PID", "COMM");
    for pid in st.pids() {
        let comm = std::fs::read(format!("/proc/{pid}/comm")).unwrap_or_default();
        text.push_str(&format!(
            "{pid:>8} {:<16} {}\n",
            crate::cli::escape(comm.strip_suffix(b"\n").unwrap_or(&comm)),
            crate::cli::cmdline(pid)
        ));
    }
    crate::cli::out(&text);
    Ok(ExitCode::SUCCESS)
}

fn destroy(root: Option<PathBuf>, mut p: lexopt::Parser) -> Result<ExitCode> {
    let mut force = false;
    let mut id: Option<String> = None;
    while let Some(a) = p.next().map_err(|e| usage_error(e, USAGE))? {
        match a {
            Short('f') | Long("force") => force = true,
            Long("id") => {
                id = Some(string(
                    p.value().map_err(|e| usage_error(e, USAGE))?,
                    "--id",
                )?)
            }
            Short('h') | Long("help") => {
                crate::cli::out(USAGE);
                return Ok(ExitCode::SUCCESS);
            }
            a => return Err(usage_error(a.unexpected(), USAGE)),
        }
    }
    let record = match &id {
        Some(key) => Record::find_key(key)?,
        None => Record::find(&container::resolve_dir(root)?)?,
    };
    let Some(record) = record else {
        if id.is_some() {
            return Err(Error::new(format!(
                "no container record {:?}",
                id.unwrap_or_default()
            )));
        }
        return Ok(ExitCode::SUCCESS);
    };
    let st = match record.state() {
        Ok(Some(st)) => st,
        Ok(None) => {
            record.remove()?;
            return Ok(ExitCode::SUCCESS);
        }
        Err(_) if force => {
            log::warn(&format_args!(
                "removing the unreadable container record {}; a running container's \
                 supervisor removes the rest when it exits",
                record.path().display()
            ));
            record.remove()?;
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(e),
    };
    let status = st.status();
    if !status.can_delete() {
        if !force {
            return Err(Error::new(format!(
                "the container in {} is {} (PID {}): stop it, or destroy --force to kill it",
                st.dir.display(),
                status.as_str(),
                st.init_pid
            )));
        }
        delete::kill_init(&st)?;
    }
    delete::teardown(&record, &st, true)?;
    Ok(ExitCode::SUCCESS)
}

fn list(mut p: lexopt::Parser) -> Result<ExitCode> {
    let mut json = false;
    while let Some(a) = p.next().map_err(|e| usage_error(e, USAGE))? {
        match a {
            Long("format") => {
                json = match string(p.value().map_err(|e| usage_error(e, USAGE))?, "--format")?
                    .as_str()
                {
                    "json" => true,
                    "table" => false,
                    f => {
                        return Err(
                            Error::new(format!("--format {f:?}: table or json")).with_code(2)
                        );
                    }
                }
            }
            Short('h') | Long("help") => {
                crate::cli::out(USAGE);
                return Ok(ExitCode::SUCCESS);
            }
            a => return Err(usage_error(a.unexpected(), USAGE)),
        }
    }
    let mut rows = Vec::new();
    for key in record::keys(&record::store()?)? {
        let Some(record) = Record::find_key(&key)? else {
            continue;
        };
        let row = match record.state() {
            Ok(Some(st)) => {
                let mut v = state_json(&record, &st)?;
                v["dir_exists"] = st.dir.is_dir().into();
                v
            }
            Ok(None) => continue,
            Err(e) => serde_json::json!({"id": key, "status": "unknown", "error": e.to_string()}),
        };
        rows.push(row);
    }
    if json {
        crate::cli::out_json(&serde_json::Value::Array(rows));
        return Ok(ExitCode::SUCCESS);
    }
    let mut text = format!("{:<32} {:<9} {:>8} DIR\n", "ID", "STATUS", "PID");
    for r in &rows {
        let dir = r["dir"].as_str().unwrap_or("");
        let gone = if r["dir_exists"] == false {
            " (missing)"
        } else {
            ""
        };
        text.push_str(&format!(
            "{:<32} {:<9} {:>8} {}{gone}\n",
            r["id"].as_str().unwrap_or(""),
            r["status"].as_str().unwrap_or(""),
            r["pid"].as_i64().unwrap_or(0),
            crate::cli::escape(dir.as_bytes()),
        ));
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
