//! `nsinit-oci`: runc's command line over OCI runtime-spec bundles
//! (`config.json`), so podman, containerd and Docker can drive nsinit.
//!
//! The lifecycle is the one of `nsinit exec`, cut at its seams: `create`
//! builds the container up to "ready" with PID 1 parked on an exec fifo in
//! its record (`--root`/ID), then exits (the caller, a subreaper, becomes PID
//! 1's parent); `start` opens the fifo and the command runs; `delete` tears
//! down from the record. `run` without `--detach` is `nsinit exec`'s path:
//! create, start, supervise in the foreground, delete.

use std::ffi::OsString;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use lexopt::prelude::*;
use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use crate::cli::{string, usage_error};
use crate::container::create::{self, CreateRequest, Park};
use crate::container::delete;
use crate::container::record::{self, Record};
use crate::container::state::{Init, State, Status};
use crate::error::{Context, Error, Result};
use crate::oci::{run_hooks, state_doc};
use crate::{log, oci};

mod handoff;
mod ps;
mod query;
mod update;
use handoff::{send_console, write_pid_file};
use ps::ps;
use query::{events, freeze, list, show_state, spec};

const USAGE: &str = "\
usage: nsinit-oci [GLOBAL OPTIONS] COMMAND [OPTIONS] [ID] [ARGS...]

runc's command line over OCI runtime-spec bundles (config.json). Options may
come before or after the container ID.

commands:
  create ID --bundle DIR   build the container; PID 1 waits for `start`
      [--console-socket PATH] [--pid-file FILE] [--no-pivot]
      [--no-new-keyring] [--preserve-fds N]
  start ID                 run the created container's command
  run ID                   create + start; in the foreground (supervised,
      then deleted) unless --detach; [--keep] keeps the record; create's options
  exec ID [CMD ARGS...]    run a process in the container
      [--process FILE] [-t|--tty] [--cwd DIR] [-e|--env K=V] [-u|--user UID[:GID]]
      [--additional-gids GID] [--cap CAP] [-d|--detach] [--pid-file FILE]
      [--console-socket PATH] [--preserve-fds N] [--no-new-privs]
  kill ID [SIGNAL]         signal PID 1 (default TERM); --all: every process
  delete ID [--force]      remove a stopped container (--force kills first)
  state ID                 the OCI state document
  list [--format table|json] [-q]
  ps ID [--format table|json] [PS ARGS...]   ps(1) (default -ef) of its processes
  pause ID | resume ID
  events ID [--stats] [--interval SECS]
  update ID                change cgroup limits: [-r|--resources FILE|-]
      [--memory N] [--memory-reservation N] [--memory-swap N] [--cpu-shares N]
      [--cpu-quota N] [--cpu-period N] [--cpu-burst N] [--cpu-idle 0|1]
      [--cpu-rt-period N] [--cpu-rt-runtime N] [--cpuset-cpus LIST]
      [--cpuset-mems LIST] [--pids-limit N] [--blkio-weight N]
  spec [--bundle DIR] [--rootless]   write a default config.json
  features                 what this build supports (JSON)
  checkpoint | restore     not supported

global options:
  --root DIR               state directory (default /run/nsinit-oci; not root:
                           $XDG_RUNTIME_DIR/nsinit-oci)
  --log FILE               also log to FILE
  --log-format text|json   JSON lines {\"level\",\"msg\",\"time\"} in --log
  --debug                  debug messages
  --systemd-cgroup         refused: the systemd cgroup driver is not implemented
  -v, --version            version
  -h, --help               this help
";

/// Options every command sees.
struct Global {
    root: PathBuf,
}

/// The parsed command line of one command: its options and operands.
#[derive(Default)]
struct Opts {
    values: Vec<(String, String)>,
    flags: Vec<String>,
    args: Vec<String>,
}

impl Opts {
    fn value(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn all(&self, name: &str) -> Vec<String> {
        self.values
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
    fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }
    fn id(&self) -> Result<&str> {
        let id = self
            .args
            .first()
            .ok_or_else(|| Error::new(format!("missing container ID\n{USAGE}")).with_code(2))?;
        record::check_name(id)?;
        Ok(id)
    }
}

/// Options that take a value, per command (long name, short name).
const VALUED: &[(&str, char)] = &[
    ("bundle", 'b'),
    ("console-socket", '\0'),
    ("pid-file", '\0'),
    ("preserve-fds", '\0'),
    ("process", 'p'),
    ("cwd", '\0'),
    ("env", 'e'),
    ("user", 'u'),
    ("additional-gids", 'g'),
    ("cap", 'c'),
    ("format", 'f'),
    ("interval", '\0'),
    ("resources", 'r'),
    ("signal", 's'),
];

/// Parse a command's options and operands, in any order; after the first
/// operand of `exec` the rest is the command, after `ps`'s ID the rest is
/// ps(1)'s arguments (runc's `ps ID -ef`; a leading `--` is dropped).
fn parse(mut p: lexopt::Parser, cmd: &str) -> Result<Opts> {
    let exec = cmd == "exec";
    let ps = cmd == "ps";
    let mut o = Opts::default();
    let err = |e| usage_error(e, USAGE);
    while let Some(a) = p.next().map_err(err)? {
        let name = match &a {
            Long(n) => n.to_string(),
            // runc's `delete -f` is --force (elsewhere -f is --format).
            Short('f') if cmd == "delete" => "force".into(),
            Short(c) => match VALUED.iter().find(|(_, s)| s == c) {
                Some((n, _)) => n.to_string(),
                None => match c {
                    't' => "tty".into(),
                    'd' => "detach".into(),
                    'a' => "all".into(),
                    'q' => "quiet".into(),
                    'h' => "help".into(),
                    other => return Err(usage_error(Short(*other).unexpected(), USAGE)),
                },
            },
            Value(v) => {
                o.args.push(string(v.clone(), "argument")?);
                if ps {
                    let rest = p.raw_args().map_err(err)?;
                    for (i, a) in rest.enumerate() {
                        if i > 0 || a != "--" {
                            o.args.push(string(a, "argument")?);
                        }
                    }
                    break;
                }
                if exec && o.args.len() == 1 {
                    // The ID; what follows its first non-option operand is the command.
                    continue;
                }
                if exec {
                    for rest in p.raw_args().map_err(err)? {
                        o.args.push(string(rest, "argument")?);
                    }
                    break;
                }
                continue;
            }
        };
        if name == "help" {
            crate::cli::out(USAGE);
            std::process::exit(0);
        }
        if VALUED.iter().any(|(n, _)| *n == name) || update::valued().any(|n| n == name) {
            let v = string(p.value().map_err(err)?, &name)?;
            o.values.push((name, v));
        } else {
            o.flags.push(name);
        }
    }
    Ok(o)
}

pub fn main(args: Vec<OsString>) -> Result<ExitCode> {
    let mut p = lexopt::Parser::from_args(args);
    let mut root: Option<PathBuf> = None;
    let mut log_file: Option<PathBuf> = None;
    let mut json = false;
    let cmd = loop {
        match p.next().map_err(|e| usage_error(e, USAGE))? {
            Some(Long("root")) => root = Some(p.value().map_err(|e| usage_error(e, USAGE))?.into()),
            Some(Long("log")) => {
                log_file = Some(p.value().map_err(|e| usage_error(e, USAGE))?.into())
            }
            Some(Long("log-format")) => {
                json = match string(
                    p.value().map_err(|e| usage_error(e, USAGE))?,
                    "--log-format",
                )?
                .as_str()
                {
                    "json" => true,
                    "text" => false,
                    f => {
                        return Err(
                            Error::new(format!("--log-format {f:?}: text or json")).with_code(2)
                        );
                    }
                }
            }
            Some(Long("debug")) => log::set_debug(true),
            Some(Long("systemd-cgroup")) => {
                return Err(Error::new(
                    "--systemd-cgroup: the systemd cgroup driver is not implemented \
                     (use the cgroupfs driver)",
                ));
            }
            Some(Short('v') | Long("version")) => {
                crate::cli::out(&format!(
                    "nsinit-oci version {}\ncommit: {}\nspec: 1.2.0\n",
                    env!("CARGO_PKG_VERSION"),
                    env!("NSINIT_COMMIT")
                ));
                return Ok(ExitCode::SUCCESS);
            }
            Some(Short('h') | Long("help")) => {
                crate::cli::out(&format!("{USAGE}\n{}", crate::error::EXIT_CODES_HELP));
                return Ok(ExitCode::SUCCESS);
            }
            Some(Value(v)) => break string(v, "command")?,
            Some(a) => return Err(usage_error(a.unexpected(), USAGE)),
            None => return Err(Error::new(format!("missing command\n{USAGE}")).with_code(2)),
        }
    };
    if let Some(path) = log_file {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .ctx(|| format!("open log file {}", path.display()))?;
        log::set_file(f, json);
    }
    // Default: /run/nsinit-oci, or $XDG_RUNTIME_DIR/nsinit-oci for a user
    // (not needed, nor checked, by the commands that keep no record).
    let root = match root {
        Some(r) => r,
        None if matches!(cmd.as_str(), "spec" | "features") => PathBuf::new(),
        None => crate::container::rootless::store("nsinit-oci")?,
    };
    let g = Global { root };
    let o = parse(p, &cmd)?;
    match cmd.as_str() {
        "create" => create_cmd(&g, &o).map(|()| ExitCode::SUCCESS),
        "start" => start(&g, o.id()?).map(|()| ExitCode::SUCCESS),
        "run" => run(&g, &o),
        "exec" => exec_cmd(&g, &o),
        "kill" => kill(&g, &o),
        "delete" => delete_cmd(&g, o.id()?, o.flag("force")),
        "state" => show_state(&g, o.id()?),
        "list" => list(&g, &o),
        "ps" => ps(&g, &o),
        "pause" => freeze(&g, o.id()?, true),
        "resume" => freeze(&g, o.id()?, false),
        "events" => events(&g, &o),
        "spec" => spec(&o),
        "features" => {
            crate::cli::out_json(&oci::features());
            Ok(ExitCode::SUCCESS)
        }
        "update" => update::update(&g, &o),
        "checkpoint" | "restore" => Err(Error::new(format!(
            "{cmd}: checkpoint/restore is not supported by nsinit"
        ))
        .with_code(1)),
        other => Err(Error::new(format!("unknown command {other:?}\n{USAGE}")).with_code(2)),
    }
}

fn parse_u32(o: &Opts, name: &str) -> Result<u32> {
    o.value(name).map_or(Ok(0), |v| {
        v.parse()
            .map_err(|_| Error::new(format!("--{name} {v:?}: not a number")).with_code(2))
    })
}

/// The locked record of `id` and its state (an error if there is none).
fn find(g: &Global, id: &str) -> Result<(Record, State)> {
    let missing = || Error::new(format!("container {id} does not exist"));
    let record = Record::find_in(&g.root, id)?.ok_or_else(missing)?;
    let st = record.state()?.ok_or_else(missing)?;
    Ok((record, st))
}

/// `create` and `run`: build the container; returns what `run` needs.
fn build(g: &Global, o: &Opts, id: &str, detach: bool) -> Result<(create::Built, oci::Hooks)> {
    let bundle = o
        .value("bundle")
        .map_or_else(|| PathBuf::from("."), PathBuf::from);
    let bundle =
        crate::rootfs::paths::canonical(&bundle).ctx(|| format!("bundle {}", bundle.display()))?;
    let b = oci::load(&bundle)?;
    for w in &b.warnings {
        log::warn(w);
    }
    let mut cfg = b.config;
    // Without linux.cgroupsPath the cgroup is named after the container (not
    // the bundle, which several containers may share).
    let raw: serde_json::Value = serde_json::from_str(&b.text).unwrap_or_default();
    if raw["linux"]["cgroupsPath"]
        .as_str()
        .is_none_or(str::is_empty)
        && let Some(cg) = cfg.cgroups.as_mut()
    {
        cg.name = format!("nsinit-oci-{id}");
    }
    if o.flag("no-pivot") {
        cfg.mount.no_pivot_root = true;
    }
    let mut process = b.process;
    // execCPUAffinity is not for the init (runtime-spec): it runs on what
    // its cgroup allows, whatever the caller was pinned to.
    process.affinity = Some(crate::sched::all_cpus());
    process.initial_affinity = None;
    process.no_new_keyring |= o.flag("no-new-keyring");
    process.preserve_fds = parse_u32(o, "preserve-fds")?;
    let console = o.value("console-socket");
    if cfg.tty && detach && console.is_none() {
        return Err(Error::new(
            "process.terminal is set: --console-socket is required to receive the console",
        )
        .with_code(2));
    }
    // runc's MkdirAll: containerd's shim passes --root /run/containerd/runc/NS.
    if let Some(parent) = g.root.parent() {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .ctx(|| format!("mkdir {}", parent.display()))?;
    }
    let record = Record::open_in(&g.root, id, true)?;
    if record.state()?.is_some() {
        return Err(Error::new(format!("container {id} already exists")));
    }
    let park = if detach {
        Park::Fifo(make_fifo(&record)?)
    } else {
        Park::Channel
    };
    let state = State {
        id: id.to_string(),
        bundle,
        annotations: b.annotations,
        ..State::default()
    };
    // For the poststop hooks of a failed create (runtime.md: an error at
    // create "continues the lifecycle at step 12", i.e. delete).
    let stopped = State {
        status: Status::Stopped,
        ..state.clone()
    };
    let req = CreateRequest {
        dir: None,
        process,
        config_text: b.text,
        record,
        state,
        hooks: Some(&b.hooks),
    };
    let built = match create::build(&cfg, req, park) {
        Ok(b) => b,
        Err(e) => {
            // build() removed what it made; a record it never wrote goes too.
            if let Ok(Some(r)) = Record::find_in(&g.root, id)
                && r.state().is_ok_and(|s| s.is_none())
            {
                let _ = r.remove();
            }
            let _ = run_hooks("poststop", &b.hooks.poststop, &stopped);
            return Err(e);
        }
    };
    Ok((built, b.hooks))
}

fn make_fifo(record: &Record) -> Result<OwnedFd> {
    let dir = record.dir_fd();
    let name = record.file_name(record::FIFO);
    let shown = || record.file_path(record::FIFO).display().to_string();
    let _ = rustix::fs::unlinkat(dir, name.as_str(), rustix::fs::AtFlags::empty());
    rustix::fs::mknodat(
        dir,
        name.as_str(),
        FileType::Fifo,
        Mode::RUSR | Mode::WUSR,
        0,
    )
    .ctx(|| format!("mkfifo {}", shown()))?;
    // Writable by all, as runc's: PID 1 opens it after switching to
    // process.user. Only the record store (0700) leads to it, and PID 1
    // is non-dumpable, so its descriptor is not reachable through /proc.
    rustix::fs::chmodat(
        dir,
        name.as_str(),
        Mode::from_raw_mode(0o622),
        AtFlags::empty(),
    )
    .ctx(|| format!("chmod {}", shown()))?;
    rustix::fs::openat(
        dir,
        name.as_str(),
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| format!("open {}", shown()))
}

/// Undo a created container after a later step failed.
fn abandon(built: &create::Built, err: Error) -> Error {
    let _ = crate::sys::kill_raw(built.pid.as_raw_nonzero().get(), 9);
    let _ = rustix::process::waitpid(Some(built.pid), rustix::process::WaitOptions::empty());
    match delete::teardown(&built.record, &built.state, true) {
        Ok(()) => err,
        Err(c) => Error::new(format!("{err} (and cleanup failed: {c})")).with_code(err.code()),
    }
}

/// The steps after "ready" of `create`: console, pid file. (The hooks of
/// create ran at their points in it; see container::hooks.)
fn after_ready(o: &Opts, built: &create::Built) -> Result<()> {
    if let (Some(sock), Some(pty)) = (o.value("console-socket"), &built.pty) {
        send_console(sock, &pty.master)?;
    }
    if let Some(path) = o.value("pid-file") {
        write_pid_file(path, built.state.init_pid)?;
    }
    Ok(())
}

fn create_cmd(g: &Global, o: &Opts) -> Result<()> {
    let id = o.id()?;
    let (built, _) = build(g, o, id, true)?;
    if let Err(e) = after_ready(o, &built) {
        return Err(abandon(&built, e));
    }
    Ok(())
}

fn start(g: &Global, id: &str) -> Result<()> {
    let (record, mut st) = find(g, id)?;
    let status = st.status();
    if status != Status::Created {
        return Err(Error::new(format!(
            "cannot start container {id}: it is {}",
            status.as_str()
        )));
    }
    let Init::Alive(pidfd) = st.init() else {
        return Err(Error::new(format!(
            "cannot start container {id}: it has exited"
        )));
    };
    let hooks = oci::load_hooks(&record.config()?)?;
    // startContainer hooks run in the container before it reports back.
    release_fifo(&record, &pidfd)?;
    st.status = Status::Running;
    record.write_state(&st)?;
    // Failures of poststart hooks are warnings (runtime-spec).
    if let Err(e) = run_hooks("poststart", &hooks.poststart, &st) {
        log::warn(&e);
    }
    Ok(())
}

/// Open the exec fifo's read end (without blocking: the init may have died)
/// and wait for the init's byte, or its death.
fn release_fifo(record: &Record, pidfd: &OwnedFd) -> Result<()> {
    let name = record.file_name(record::FIFO);
    let fifo = rustix::fs::openat(
        record.dir_fd(),
        name.as_str(),
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| format!("open {}", record.file_path(record::FIFO).display()))?;
    let st = rustix::fs::fstat(&fifo).ctx(|| "stat exec.fifo")?;
    if FileType::from_raw_mode(st.st_mode) != FileType::Fifo {
        return Err(Error::new("exec.fifo is not a fifo"));
    }
    loop {
        use rustix::event::{PollFd, PollFlags};
        let mut fds = [
            PollFd::new(&fifo, PollFlags::IN),
            PollFd::new(pidfd, PollFlags::IN),
        ];
        match rustix::event::poll(&mut fds, None) {
            Err(rustix::io::Errno::INTR) => continue,
            r => r.ctx(|| "poll the exec fifo")?,
        };
        let (fifo_ready, died) = (!fds[0].revents().is_empty(), !fds[1].revents().is_empty());
        if fifo_ready {
            let mut b = [0u8; 512];
            match rustix::io::read(&fifo, &mut b) {
                Ok(1) if b[0] == b'0' => break,
                Ok(n) if n > 0 => {
                    return Err(Error::new(format!(
                        "the container did not start: {}",
                        String::from_utf8_lossy(&b[..n])
                    )));
                }
                Ok(_) | Err(rustix::io::Errno::AGAIN) if !died => continue,
                _ => {
                    return Err(Error::new(
                        "the container's process exited before it started",
                    ));
                }
            }
        }
        if died {
            return Err(Error::new(
                "the container's process exited before it started",
            ));
        }
    }
    let _ = rustix::fs::unlinkat(record.dir_fd(), name.as_str(), rustix::fs::AtFlags::empty());
    Ok(())
}

fn run(g: &Global, o: &Opts) -> Result<ExitCode> {
    let id = o.id()?.to_string();
    let detach = o.flag("detach");
    if detach {
        create_cmd(g, o)?;
        start(g, &id)?;
        return Ok(ExitCode::SUCCESS);
    }
    let (built, hooks) = build(g, o, &id, false)?;
    // Foreground: the command already runs (nsinit exec's handshake); the
    // hooks of the later stages run now.
    if let Some(path) = o.value("pid-file")
        && let Err(e) = write_pid_file(path, built.state.init_pid)
    {
        return Err(abandon(&built, e));
    }
    if let Err(e) = run_hooks("poststart", &hooks.poststart, &built.state) {
        log::warn(&e);
    }
    let st = built.state.clone();
    let code = if o.flag("keep") {
        keep_supervise(built)?
    } else {
        create::supervise_built(built)?
    };
    if let Err(e) = run_hooks("poststop", &hooks.poststop, &st) {
        log::warn(&e);
    }
    Ok(ExitCode::from(code))
}

/// `run --keep`: supervise, but leave the record (a later `delete` removes it).
fn keep_supervise(built: create::Built) -> Result<u8> {
    let create::Built {
        pid,
        sigfd,
        pty,
        record,
        ..
    } = built;
    drop(record);
    crate::container::supervise::supervise(pid, &sigfd, pty.as_ref().map(|p| &p.master))
}

fn exec_cmd(g: &Global, o: &Opts) -> Result<ExitCode> {
    let id = o.id()?;
    let (record, st) = find(g, id)?;
    let status = st.status();
    if status != Status::Running {
        return Err(Error::new(format!(
            "cannot exec in container {id}: it is {}",
            status.as_str()
        )));
    }
    let stored = oci::load_text(&record.config()?, &st.bundle)?;
    let mut cfg = stored.config;
    let mut terminal = false;
    let mut spec = match o.value("process") {
        Some(path) => {
            let text = std::fs::read_to_string(path).ctx(|| format!("read {path}"))?;
            let v: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| Error::new(format!("{path}: {e}")))?;
            terminal = v["terminal"].as_bool().unwrap_or(false);
            oci::lower_process(&v, &cfg)?
        }
        None => {
            // The container's own process settings, with these arguments.
            let mut base = stored.process;
            base.args = o.args[1..].to_vec();
            if base.args.is_empty() {
                return Err(Error::new(format!("exec: missing command\n{USAGE}")).with_code(2));
            }
            base
        }
    };
    if let Some(cwd) = o.value("cwd") {
        spec.cwd = Some(cwd.to_string());
    }
    spec.env.extend(o.all("env"));
    if let Some(u) = o.value("user") {
        exec_user(&mut spec, u)?;
    }
    for g in o.all("additional-gids") {
        let gid = g.parse().map_err(|_| {
            Error::new(format!("--additional-gids {g:?}: not a number")).with_code(2)
        })?;
        spec.additional_gids.push(gid);
    }
    spec.no_new_privileges |= o.flag("no-new-privs");
    spec.preserve_fds = parse_u32(o, "preserve-fds")?;
    for cap in o.all("cap") {
        let n = crate::config::capability_number(cap.trim_start_matches("CAP_"))
            .ok_or_else(|| Error::new(format!("--cap {cap:?}: unknown capability")).with_code(2))?;
        let bit = 1u64 << n;
        spec.caps.bounding |= bit;
        spec.caps.effective |= bit;
        spec.caps.permitted |= bit;
    }
    cfg.tty = o.flag("tty") || terminal;
    let detach = o.flag("detach");
    if cfg.tty && detach && o.value("console-socket").is_none() {
        return Err(Error::new("exec --tty --detach needs --console-socket").with_code(2));
    }
    drop(record);
    use crate::container::join::{Joined, join_container_as};
    match join_container_as(&cfg, &st, spec, detach)? {
        Joined::Exited(code) => Ok(ExitCode::from(code)),
        Joined::Detached { pid, master } => {
            if let (Some(sock), Some(m)) = (o.value("console-socket"), &master) {
                send_console(sock, m)?;
            }
            if let Some(path) = o.value("pid-file") {
                write_pid_file(path, pid)?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `exec --user`: runc's `UID[:GID]` replaces the process's numeric ids
/// (the GID stays when only the UID is given); anything else is a name
/// looked up in the container, as `nsinit exec --user` does.
fn exec_user(spec: &mut crate::container::process::ProcessSpec, u: &str) -> Result<()> {
    let (uid, gid) = u.split_once(':').map_or((u, None), |(a, b)| (a, Some(b)));
    let Ok(uid) = uid.parse::<u32>() else {
        spec.user = Some(u.to_string());
        spec.ids = None;
        return Ok(());
    };
    let gid = match gid {
        Some(g) => g.parse().map_err(|_| {
            Error::new(format!("--user {u:?}: GID {g:?} is not a number")).with_code(2)
        })?,
        None => spec.ids.map_or(0, |(_, g)| g),
    };
    spec.ids = Some((uid, gid));
    spec.user = None;
    Ok(())
}

fn kill(g: &Global, o: &Opts) -> Result<ExitCode> {
    let id = o.id()?;
    let sig = match o.args.get(1).map(String::as_str).or(o.value("signal")) {
        Some(s) => parse_signal(s)?,
        None => 15,
    };
    let (_record, st) = find(g, id)?;
    let status = st.status();
    if !status.can_kill() {
        return kill_not_running(id, &st, status, sig, o.flag("all"));
    }
    let Init::Alive(pidfd) = st.init() else {
        return kill_not_running(id, &st, Status::Stopped, sig, o.flag("all"));
    };
    if o.flag("all") {
        signal_all(&st, sig)?;
    } else {
        crate::sys::raw::pidfd_kill(&pidfd, sig)
            .ctx(|| format!("kill {} with signal {sig}", st.init_pid))?;
    }
    if sig == 9 && status == Status::Paused {
        st.cgroup()?.thaw_for_kill()?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A signal as runc's `kill` takes it: a number (0 probes, as kill(2)) or a
/// name with or without SIG, in any case (`KILL`, `SIGKILL`, `sigkill`).
fn parse_signal(s: &str) -> Result<i32> {
    match s {
        "0" => Ok(0),
        _ => crate::applet::nsinit::parse_signal(&s.to_ascii_uppercase())
            .map_err(|_| Error::new(format!("kill: unknown signal {s:?}")).with_code(2)),
    }
}

/// `kill --all`: `sig` to every process in the container's cgroups.
fn signal_all(st: &State, sig: i32) -> Result<()> {
    for pid in st.cgroup()?.pids().unwrap_or_default() {
        let _ = crate::sys::kill_raw(pid, sig);
    }
    Ok(())
}

/// `kill` of a container whose init is gone, as runc 1.1 answers it:
/// `--all` on a stopped one signals what is left in its cgroup (processes
/// outside its pid namespace) and succeeds; otherwise "container not
/// running", the words containerd's runc shim maps to "already finished"
/// (its CRI kills every exited task with `--all` before deleting it, and
/// retries for ever on any other answer).
fn kill_not_running(id: &str, st: &State, status: Status, sig: i32, all: bool) -> Result<ExitCode> {
    if all && status == Status::Stopped {
        let _ = signal_all(st, sig);
        return Ok(ExitCode::SUCCESS);
    }
    Err(Error::new(format!(
        "container {id} is {}: container not running",
        status.as_str()
    )))
}

fn delete_cmd(g: &Global, id: &str, force: bool) -> Result<ExitCode> {
    let Some(record) = Record::find_in(&g.root, id)? else {
        if force {
            return Ok(ExitCode::SUCCESS);
        }
        return Err(Error::new(format!("container {id} does not exist")));
    };
    let Some(st) = record.state()? else {
        record.remove()?;
        return Ok(ExitCode::SUCCESS);
    };
    let status = st.status();
    if !status.can_delete() {
        if !force {
            return Err(Error::new(format!(
                "cannot delete container {id} that is not stopped: {}",
                status.as_str()
            )));
        }
        delete::kill_init(&st)?;
    }
    let hooks = record.config().and_then(|t| oci::load_hooks(&t));
    delete::teardown(&record, &st, true)?;
    match hooks {
        Ok(h) => {
            if let Err(e) = run_hooks("poststop", &h.poststop, &st) {
                log::warn(&e);
            }
        }
        Err(e) => log::warn(&e),
    }
    Ok(ExitCode::SUCCESS)
}
