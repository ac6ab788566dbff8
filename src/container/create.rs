//! Create a new container: the parent's and the child's step lists, each in
//! one function that reads top to bottom.
//!
//! Parent: check host → cgroups (made, limited, opened for entry) → pty →
//! sync pair → block signals → clone (into the v2 cgroup) → id maps → host
//! network → cgroup confirmation → SYNC 1 (release) → SYNC 2 (exec'd or
//! error) → state.json → supervise → teardown.
//! Child: enter cgroups → parent-death signal → SYNC 1 → user ns root →
//! cgroup ns → session and console → network inside → rootfs and root switch → hostname →
//! restricted paths → rlimits, user, capabilities, cwd → exec (SYNC 2 at EOF);
//! with `init`, the child becomes the init shim and its forked child execs.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use linux_raw_sys::general as g;
use rustix::process::Pid;

use super::process::{self, ProcessSpec};
use super::state::{self, DirLock, State};
use super::supervise::{self, Channels};
use super::sync;
use crate::cgroup::{CgroupManager, Entered, Entry};
use crate::config::{Config, IdMap, Network, Ns};
use crate::console::{Pty, RawMode};
use crate::error::{Context, Error, Result};
use crate::init::{self, ShimOptions};
use crate::network::{self, NetState};
use crate::rootfs;
use crate::sys::{self, SigSet};

/// Everything `create` needs besides the config.
pub struct CreateRequest<'a> {
    pub dir: &'a Path,
    pub process: ProcessSpec,
    pub config_hash: String,
    /// Held until state.json is written, so a concurrent `exec` joins instead.
    pub lock: DirLock,
}

/// What the parent has set up and must undo, in reverse order.
struct Undo<'a> {
    dir: &'a Path,
    cgroup: Option<CgroupManager>,
    net: Option<NetState>,
    kill_rest: bool,
}

impl Undo<'_> {
    /// Kill stragglers, remove cgroups, host veths and state.json.
    fn run(&mut self) -> Result<()> {
        let mut first_err = None;
        let mut note = |r: Result<()>| {
            if let Err(e) = r {
                first_err.get_or_insert(e);
            }
        };
        if let Some(cg) = self.cgroup.take() {
            if self.kill_rest {
                note(cg.kill_all());
            }
            note(cg.destroy());
        }
        if let Some(net) = self.net.take() {
            note(network::teardown_host(&net));
        }
        note(state::remove(self.dir));
        first_err.map_or(Ok(()), Err)
    }

    /// Undo after `err`, reporting a cleanup failure alongside the original.
    fn fail(&mut self, err: Error) -> Error {
        match self.run() {
            Ok(()) => err,
            Err(cleanup) => {
                let code = err.code();
                Error::new(format!("{err} (and cleanup failed: {cleanup})")).with_code(code)
            }
        }
    }
}

/// Start the container and supervise it; returns PID 1's exit code.
pub fn create(cfg: &Config, req: CreateRequest<'_>) -> Result<u8> {
    if req.process.args.is_empty() {
        return Err(Error::new("exec: no command given").with_code(2));
    }
    // Checks that need no side effect come first: nothing to undo yet.
    network::check_host(&cfg.networks)?;
    let cgroup = match &cfg.cgroups {
        Some(c) => Some(CgroupManager::create(c)?),
        None => None,
    };
    let kill_rest = !cfg.namespaces.contains(Ns::Pid);
    let mut undo = Undo {
        dir: req.dir,
        cgroup,
        net: None,
        kill_rest,
    };
    match start(cfg, &req, &mut undo) {
        Ok((pid, sigfd, pty, raw)) => {
            drop(req.lock);
            let code = supervise::supervise(pid, &sigfd, pty.as_ref().map(|p| &p.master));
            drop(raw);
            if let Some(cg) = &undo.cgroup
                && code.is_ok()
                && cg.oom_killed()
            {
                crate::log::error(
                    &"container was killed by the kernel's OOM killer (memory limit reached)",
                );
            }
            let cleanup = undo.run();
            let code = code?;
            cleanup?;
            Ok(code)
        }
        Err(e) => Err(undo.fail(e)),
    }
}

type Started = (Pid, OwnedFd, Option<Pty>, Option<RawMode>);

/// The parent's steps up to a running container.
fn start(cfg: &Config, req: &CreateRequest<'_>, undo: &mut Undo<'_>) -> Result<Started> {
    // Why before clone: signals arriving from here on queue on the signalfd
    // and reach PID 1 once it runs, instead of killing nsinit.
    let Channels {
        pty,
        parent_sock,
        child_sock,
        mask,
        sigfd,
    } = supervise::open_channels(cfg.tty)?;
    if cfg.namespaces.contains(Ns::Time) {
        // CLONE_NEWTIME does not fit clone()'s flags: unshare it for our children.
        sys::unshare(Ns::Time.clone_flag()).ctx(|| "unshare time namespace")?;
    }
    // NEWCGROUP is unshared by the child once it is in its cgroups.
    let flags = cfg.namespaces.clone_flags() & !(Ns::Cgroup.clone_flag() | Ns::Time.clone_flag());
    let mut entry = undo
        .cgroup
        .as_ref()
        .map(|c| c.prepare_entry())
        .transpose()?;
    let cloned = match &mut entry {
        Some(entry) => entry.clone_process(flags)?,
        None => sys::clone_process(flags).ctx(|| "clone the container process")?,
    };
    let pid = match cloned {
        None => {
            // Why first: nothing may run outside the container's cgroups.
            let entered = entry.map_or(Entered::Done, Entry::enter_child);
            drop(undo.cgroup.take()); // the creator's lock stays with the parent
            child_main(
                cfg,
                &req.process,
                ChildFds {
                    sock: child_sock,
                    parent_sock,
                    sigfd,
                    pty,
                },
                mask,
                entered,
            )
        }
        Some(pid) => pid,
    };
    drop(child_sock);
    let started = parent_steps(cfg, req, undo, pid, &parent_sock, entry);
    if let Err(e) = started {
        supervise::kill_and_wait(pid);
        // The child may have failed first (the parent then sees EPIPE or ESRCH):
        // its own message is the one that explains.
        return Err(sync::pending_error(&parent_sock).unwrap_or(e));
    }
    let raw = match &pty {
        Some(_) => RawMode::enter()?,
        None => None,
    };
    Ok((pid, sigfd, pty, raw))
}

/// Parent steps between clone and a running command.
fn parent_steps(
    cfg: &Config,
    req: &CreateRequest<'_>,
    undo: &mut Undo<'_>,
    pid: Pid,
    sock: &OwnedFd,
    entry: Option<Entry>,
) -> Result<()> {
    let raw_pid = pid.as_raw_nonzero().get();
    if cfg.namespaces.contains(Ns::User) {
        write_id_maps(raw_pid, &cfg.uid_mappings, &cfg.gid_mappings)?;
    }
    let net = network::setup_host(&cfg.networks, raw_pid)?;
    undo.net = Some(net.clone());
    // Why before SYNC 1: a child the kernel would not let move itself waits
    // there, and is moved now.
    if let (Some(entry), Some(cg)) = (entry, &undo.cgroup) {
        entry.confirm(cg, raw_pid)?;
    }
    sync::release_child(sock, &net)?; // SYNC 1
    sync::wait_exec(sock)?; // SYNC 2
    let state = State {
        init_pid: raw_pid,
        init_start_time: state::start_time(raw_pid).unwrap_or_default(),
        nsinit_pid: rustix::process::getpid().as_raw_nonzero().get(),
        namespace_paths: namespace_paths(cfg, raw_pid),
        cgroup_paths: undo.cgroup.as_ref().map(|c| c.paths()).unwrap_or_default(),
        network_state: net,
        config_hash: req.config_hash.clone(),
        rootfs: cfg.rootfs.clone(),
        created: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        tty: cfg.tty,
    };
    state::write(req.dir, &state)
}

/// `/proc/PID/ns/*` of the namespaces the container owns (and a joined netns).
pub fn namespace_paths(cfg: &Config, pid: i32) -> std::collections::BTreeMap<String, String> {
    let mut set = cfg.namespaces;
    if cfg
        .networks
        .iter()
        .any(|n| matches!(n, Network::Netns { .. }))
    {
        set.insert(Ns::Net);
    }
    if cfg.ipc_path.is_some() {
        set.insert(Ns::Ipc);
    }
    set.iter()
        .map(|ns| {
            (
                ns.key().to_string(),
                format!("/proc/{pid}/ns/{}", ns.proc_name()),
            )
        })
        .collect()
}

/// Write uid_map and gid_map (identity over the whole range when none given).
fn write_id_maps(pid: i32, uids: &[IdMap], gids: &[IdMap]) -> Result<()> {
    let full = [IdMap {
        container_id: 0,
        host_id: 0,
        size: u32::MAX,
    }];
    for (file, maps) in [("uid_map", uids), ("gid_map", gids)] {
        let maps = if maps.is_empty() { &full[..] } else { maps };
        let text: String = maps
            .iter()
            .map(|m| format!("{} {} {}\n", m.container_id, m.host_id, m.size))
            .collect();
        let path = PathBuf::from(format!("/proc/{pid}/{file}"));
        std::fs::write(&path, text).ctx(|| format!("write {}", path.display()))?;
    }
    Ok(())
}

/// Descriptors the child takes over from the parent's stack.
struct ChildFds {
    sock: OwnedFd,
    parent_sock: OwnedFd,
    sigfd: OwnedFd,
    pty: Option<Pty>,
}

/// The cloned child: run the steps, report a failure, never return.
fn child_main(cfg: &Config, spec: &ProcessSpec, fds: ChildFds, mask: SigSet, cg: Entered) -> ! {
    let ChildFds {
        sock,
        parent_sock,
        sigfd,
        pty,
    } = fds;
    drop(parent_sock);
    drop(sigfd);
    let (slave, slave_path) = match pty {
        Some(p) => {
            drop(p.master);
            (Some(p.slave), Some(p.slave_path))
        }
        None => (None, None),
    };
    let prepared = match child_steps(cfg, spec, &sock, slave, slave_path.as_deref(), cg) {
        Ok(prepared) => prepared,
        Err(e) => {
            sync::report_error(&sock, &e);
            sys::exit_now(e.code())
        }
    };
    let (err, sock) = if cfg.init {
        // The shim stays PID 1 and forks the command; the sync socket goes to
        // the command's side only, so the parent sees EOF at its exec.
        let opts = ShimOptions {
            subreaper: true,
            group: false,
            child_mask: Some(mask),
        };
        let (err, sock) = init::run_shim(opts, sock, |sock| {
            // If the shim dies, its command dies too (even without NEWPID).
            let _ = sys::set_parent_death_signal(g::SIGKILL as i32);
            let err = process::exec(&prepared, mask);
            sync::report_error(&sock, &err);
            sys::exit_now(err.code())
        });
        (err.context("init shim"), sock)
    } else {
        (process::exec(&prepared, mask), sock)
    };
    sync::report_error(&sock, &err);
    sys::exit_now(err.code())
}

/// The child's steps, in order.
fn child_steps(
    cfg: &Config,
    spec: &ProcessSpec,
    sock: &OwnedFd,
    slave: Option<OwnedFd>,
    slave_path: Option<&str>,
    cg: Entered,
) -> Result<process::Prepared> {
    // If nsinit dies, the container dies with it.
    sys::set_parent_death_signal(g::SIGKILL as i32).ctx(|| "prctl PR_SET_PDEATHSIG")?;
    // Why the release can wait: the child is in its cgroups already, and
    // without id maps to write or a veth to receive it can build its root
    // while the parent finishes. It still waits for SYNC 1 before running
    // anything of the user's. When the parent must move it, it waits first.
    let early = needs_early_release(cfg) || cg == Entered::ByParent;
    let net = if early {
        sync::wait_release(sock)?
    } else {
        NetState::default()
    }; // SYNC 1
    if cfg.namespaces.contains(Ns::User) {
        become_userns_root()?;
    }
    rustix::process::setsid().ctx(|| "setsid")?;
    if let Some(slave) = &slave {
        attach_console(slave)?;
    }
    drop(slave);
    if let Some(path) = &cfg.ipc_path {
        join_namespace(path, "ipc")?;
    }
    for n in &cfg.networks {
        if let Network::Netns { ns_path } = n {
            network::join_netns(ns_path)?;
        }
    }
    network::setup_container(&cfg.networks, &cfg.routes, &net)?;
    rootfs::prepare_rootfs(cfg, slave_path)?;
    if let Some(h) = &cfg.hostname {
        rustix::system::sethostname(h.as_bytes()).ctx(|| format!("sethostname {h}"))?;
    }
    rootfs::restrict_paths(cfg)?;
    if !early {
        sync::wait_release(sock)?; // SYNC 1
    }
    if cfg.namespaces.contains(Ns::Cgroup) {
        // Why after SYNC 1: the namespace's root is the cgroup we were just put in.
        sys::unshare(Ns::Cgroup.clone_flag()).ctx(|| "unshare cgroup namespace")?;
    }
    let prepared = process::finalize(spec)?;
    // setuid clears the parent-death signal: set it again.
    sys::set_parent_death_signal(g::SIGKILL as i32).ctx(|| "prctl PR_SET_PDEATHSIG")?;
    Ok(prepared)
}

/// The child must wait for SYNC 1 before any setup when the parent writes its
/// id maps (it is nobody until then) or hands it a veth.
fn needs_early_release(cfg: &Config) -> bool {
    cfg.namespaces.contains(Ns::User) || cfg.networks.iter().any(|n| matches!(n, Network::Veth(_)))
}

/// In a new user namespace, become its root (the maps are written by now).
fn become_userns_root() -> Result<()> {
    let root_gid = rustix::process::Gid::ROOT;
    rustix::thread::set_thread_res_gid(root_gid, root_gid, root_gid)
        .ctx(|| "setgid 0 in the user namespace")?;
    let root = rustix::process::Uid::ROOT;
    rustix::thread::set_thread_res_uid(root, root, root).ctx(|| "setuid 0 in the user namespace")
}

/// Make the pty slave the controlling terminal and stdin/stdout/stderr.
pub fn attach_console(slave: &OwnedFd) -> Result<()> {
    rustix::process::ioctl_tiocsctty(slave).ctx(|| "ioctl TIOCSCTTY")?;
    rustix::stdio::dup2_stdin(slave).ctx(|| "dup2 console to stdin")?;
    rustix::stdio::dup2_stdout(slave).ctx(|| "dup2 console to stdout")?;
    rustix::stdio::dup2_stderr(slave).ctx(|| "dup2 console to stderr")
}

/// setns into the namespace file at `path`.
pub fn join_namespace(path: &Path, what: &str) -> Result<()> {
    let fd = rustix::fs::open(
        path,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .ctx(|| format!("open {what} namespace {}", path.display()))?;
    rustix::thread::move_into_link_name_space(fd.as_fd(), None)
        .ctx(|| format!("setns {what} namespace {}", path.display()))
}
