//! Create a new container: the parent's and the child's step lists, each in
//! one function that reads top to bottom (the parent's here, the child's in
//! [`super::child`]).
//!
//! Parent: check host → record "creating" → cgroups → sync pair →
//! block signals → clone → cgroup join → id maps → host network → SYNC 1
//! (release) → SYNC 1m (idmap the mounts the child clones) → record "running" and the state.json marker while the child
//! builds its root (after SYNC 2 when the child still changes namespaces) →
//! SYNC 1c (the pty master) → SYNC 2a (the seccomp listener) → SYNC 3
//! (start) ahead of "ready" when all is recorded and nothing parks → SYNC 2
//! (ready, parked before exec) → SYNC 3 otherwise → SYNC 4 (exec'd or error)
//! → unlock → supervise → lock → teardown.
//! Child: parent-death signal → SYNC 1 → user ns root → cgroup ns → session
//! → network inside → SYNC 1m → rootfs (with the pty of its devpts on /dev/console) and
//! root switch → console, master to the parent (SYNC 1c) → container.json
//! read-only → hostname → restricted paths → rlimits, user, capabilities, cwd
//! → SYNC 2 → SYNC 3 → exec (SYNC 4 at EOF); with `init`, the child becomes
//! the init shim and its forked child execs.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rustix::process::Pid;

use super::child::{ChildFds, child_main};
use super::delete::{self, write_marker};
use super::hooks;
use super::process::ProcessSpec;
use super::record::Record;
use super::rootless;
use super::state::{self, State, Status};
use super::supervise::{self, Channels};
use super::sync;
use crate::cgroup::{CgroupManager, Entered, Entry, Layout};
use crate::config::{Config, Network, Ns};
use crate::console::{Pty, RawMode};
use crate::error::{Context, Error, Result};
use crate::network;
use crate::rootfs;
use crate::sys;

/// Everything `create` needs besides the config.
pub struct CreateRequest<'a> {
    /// The container directory, canonical (where the state.json marker goes);
    /// `None` for an OCI container, which has no marker.
    pub dir: Option<&'a Path>,
    pub process: ProcessSpec,
    /// container.json as read (once) at create; kept in the record.
    pub config_text: String,
    /// The container's record, locked and empty. Held until the command
    /// runs, so a concurrent `exec` joins instead; retaken for teardown.
    pub record: Record,
    /// The state's starting point (OCI id, bundle, annotations).
    pub state: State,
    /// OCI hooks; the ones of create and start run at their points here
    /// (see [`super::hooks`]).
    pub hooks: Option<&'a crate::oci::Hooks>,
}

/// How the created process waits before it runs the command.
pub enum Park {
    /// On the sync channel: the parent sends SYNC 3 at once and supervises.
    Channel,
    /// On the exec fifo (an `O_PATH` descriptor of the record's `<key>:exec.fifo`):
    /// the parent returns at "ready" and `start`, a later process, opens the
    /// fifo's read end. The child stops depending on its parent.
    Fifo(OwnedFd),
}

/// A container up to "ready" (and, with [`Park::Channel`], running).
pub struct Built {
    pub pid: Pid,
    pub sigfd: OwnedFd,
    pub pty: Option<Pty>,
    pub cgroup: Option<CgroupManager>,
    pub state: State,
    pub record: Record,
    pub kill_rest: bool,
}

/// Start the container and supervise it; returns PID 1's exit code.
pub fn create(cfg: &Config, req: CreateRequest<'_>) -> Result<u8> {
    let built = build(cfg, req, Park::Channel)?;
    supervise_built(built)
}

/// Supervise a running container until PID 1 exits, then tear it down
/// (under the record's lock); returns PID 1's exit code.
pub fn supervise_built(built: Built) -> Result<u8> {
    let Built {
        pid,
        sigfd,
        pty,
        cgroup,
        state: st,
        record,
        kill_rest,
    } = built;
    let raw = match &pty {
        Some(_) => RawMode::enter()?,
        None => None,
    };
    let (store, key) = (record.store().to_path_buf(), record.key.clone());
    drop(record);
    let code = supervise::supervise(pid, &sigfd, pty.as_ref().map(|p| &p.master));
    drop(raw);
    // Only a PID 1 killed by SIGKILL can have been killed by the OOM killer;
    // a container whose PID 1 exited on its own was not (even when a process
    // of its own was), and its exit reads no cgroup file.
    if let Some(cg) = &cgroup
        && code.as_ref().is_ok_and(|c| *c == 128 + 9)
        && cg.oom_killed()
    {
        crate::log::error(
            &"container was killed by the kernel's OOM killer (memory limit reached)",
        );
    }
    // Why under the lock: a concurrent exec waits instead of reusing
    // cgroups being removed; a record that is no longer ours is left alone.
    let cleanup = delete::teardown_own(&store, &key, &st, kill_rest, cgroup.as_ref());
    let code = code?;
    cleanup?;
    Ok(code)
}

/// Build the container up to "ready": record, cgroups, clone, the parent's
/// steps. With [`Park::Channel`] the command is started at once.
pub fn build(cfg: &Config, req: CreateRequest<'_>, park: Park) -> Result<Built> {
    if req.process.args.is_empty() {
        return Err(Error::new("exec: no command given").with_code(2));
    }
    // Checks that need no side effect come first: nothing to undo yet.
    let rootless_cfg = rootless::adjust(cfg, &req.process.rlimits)?;
    let cfg = rootless_cfg.as_ref().unwrap_or(cfg);
    network::check_host(&cfg.networks)?;
    super::idmap::check_host(cfg)?;
    let (nsinit_pid, nsinit_start_time) = state::me();
    let mut st = State {
        dir: req.dir.map(Path::to_path_buf).unwrap_or_default(),
        status: Status::Creating,
        nsinit_pid,
        nsinit_start_time,
        rootfs: cfg.rootfs.clone(),
        host_mounts: rootfs::host_mounts(cfg),
        created: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        tty: cfg.tty,
        ..req.state.clone()
    };
    let kill_rest = !cfg.namespaces.contains(Ns::Pid);
    let layout = match &cfg.cgroups {
        Some(c) => {
            let layout = Layout::detect().ctx(|| "cgroups")?;
            st.cgroup_planned = CgroupManager::plan_at(c, &layout).ctx(|| "cgroups")?;
            Some(layout)
        }
        None => None,
    };
    // Why first: from here on, whatever a killed nsinit leaves is named in
    // the record and `nsinit destroy` (or the next exec) removes it.
    if let Err(e) = req.record.write_state(&st) {
        return Err(fail(&req.record, &st, kill_rest, e));
    }
    let cgroup = match (&cfg.cgroups, &layout) {
        (Some(c), Some(layout)) => match CgroupManager::create_at(c, layout) {
            Ok(cg) => Some(cg),
            Err(e) => return Err(fail(&req.record, &st, kill_rest, e)),
        },
        _ => None,
    };
    // Recorded with the container process, while it builds its root (see
    // parent_steps); until then the planned leaves name them.
    if let Some(cg) = &cgroup {
        st.cgroup = cg.record();
    }
    let (pid, sigfd, pty) = match start(cfg, &req, cgroup.as_ref(), &mut st, park) {
        Ok(started) => started,
        Err(e) => return Err(fail(&req.record, &st, kill_rest, e)),
    };
    Ok(Built {
        pid,
        sigfd,
        pty,
        cgroup,
        state: st,
        record: req.record,
        kill_rest,
    })
}

/// Undo a failed start, reporting a cleanup failure alongside the original.
fn fail(record: &Record, st: &State, kill_rest: bool, err: Error) -> Error {
    match delete::teardown(record, st, kill_rest) {
        Ok(()) => err,
        Err(cleanup) => {
            let code = err.code();
            Error::new(format!("{err} (and cleanup failed: {cleanup})")).with_code(code)
        }
    }
}

type Started = (Pid, OwnedFd, Option<Pty>);

/// The parent's steps up to a running container.
fn start(
    cfg: &Config,
    req: &CreateRequest<'_>,
    cgroup: Option<&CgroupManager>,
    st: &mut State,
    park: Park,
) -> Result<Started> {
    // Why before clone: signals arriving from here on queue on the signalfd
    // and reach PID 1 once it runs, instead of killing nsinit. A pty of the
    // host's only without a mount namespace: the child opens its own in the
    // container's devpts otherwise (SYNC 1c).
    let host_pty = cfg.tty && !rootfs::own_mount_ns(cfg);
    let Channels {
        pty,
        parent_sock,
        child_sock,
        mask,
        sigfd,
    } = supervise::open_channels(host_pty)?;
    if cfg.namespaces.contains(Ns::Time) {
        // CLONE_NEWTIME does not fit clone()'s flags: unshare it for our children.
        sys::unshare(Ns::Time.clone_flag()).ctx(|| "unshare time namespace")?;
        // Why here: offsets are writable until a process enters the namespace.
        rootfs::sysctl::write_time_offsets(&cfg.time_offsets)?;
    }
    let protect = match req.dir {
        Some(dir) => config_in_rootfs(cfg, dir)?,
        None => None,
    };
    // NEWCGROUP is unshared by the child once it is in its cgroups.
    let flags = cfg.namespaces.clone_flags() & !(Ns::Cgroup.clone_flag() | Ns::Time.clone_flag());
    // Why decided here: in the child, geteuid() reads 0 once the maps exist.
    let maps_by_user = rootless::rootless() && cfg.namespaces.contains(Ns::User);
    let self_maps = rootless::self_maps(cfg);
    let mut entry = cgroup.map(|c| c.prepare_entry()).transpose()?;
    // Without a mount namespace: the mounts already under the rootfs, so the
    // container's own are told apart once it is set up.
    let mounts_before = match st.host_mounts.is_empty() {
        true => None,
        false => Some(rootfs::mounts_below(&cfg.rootfs)?),
    };
    // Why the parent: a joined pid namespace holds only the children of the
    // process that joins it, so PID 1 is cloned into it.
    let pid_ns = super::nspath::enter_pid_for_children(cfg)?;
    let cloned = match &mut entry {
        Some(entry) => entry.clone_process(flags),
        None => sys::clone_process(flags).ctx(|| "clone the container process"),
    };
    if let Some(restore) = pid_ns
        && !matches!(cloned, Ok(None))
        && let Err(e) = restore.restore()
    {
        if let Ok(Some(pid)) = cloned {
            supervise::kill_and_wait(pid);
        }
        return Err(e);
    }
    let cloned = cloned?;
    let pid = match cloned {
        None => {
            // Why first: nothing may run outside the container's cgroups.
            let entered = entry.map_or(Entered::Done, Entry::enter_child);
            child_main(
                cfg,
                req,
                ChildFds {
                    sock: child_sock,
                    parent_sock,
                    sigfd,
                    pty,
                    maps_by_user,
                    self_maps,
                },
                protect.as_deref(),
                mask,
                entered,
                &park,
            )
        }
        Some(pid) => pid,
    };
    drop(child_sock);
    // The child has its copy of the slave; with ours closed, the master reads
    // EIO once the container's side is closed.
    let mut pty = pty.map(|p| Pty { slave: None, ..p });
    let cgroup = cgroup.zip(entry);
    let started = parent_steps(
        cfg,
        req,
        cgroup,
        st,
        pid,
        &parent_sock,
        &park,
        &mut pty,
        mounts_before.as_deref(),
    );
    if let Err(e) = started {
        supervise::kill_and_wait(pid);
        // The child may have failed first (the parent then sees EPIPE or ESRCH):
        // its own message is the one that explains.
        return Err(sync::pending_error(&parent_sock).unwrap_or(e));
    }
    Ok((pid, sigfd, pty))
}

/// Parent steps between clone and a running command. `pty`: the host's
/// pty, or where the one the child opens in the container arrives.
#[allow(clippy::too_many_arguments)]
fn parent_steps(
    cfg: &Config,
    req: &CreateRequest<'_>,
    cgroup: Option<(&CgroupManager, Entry)>,
    st: &mut State,
    pid: Pid,
    sock: &OwnedFd,
    park: &Park,
    pty: &mut Option<Pty>,
    mounts_before: Option<&[(u64, PathBuf)]>,
) -> Result<()> {
    let raw_pid = pid.as_raw_nonzero().get();
    if cfg.namespaces.contains(Ns::User) && !rootless::self_maps(cfg) {
        rootless::write_id_maps(raw_pid, &cfg.uid_mappings, &cfg.gid_mappings)?;
    }
    let net = network::setup_host(&cfg.networks, raw_pid)?;
    st.network_state = net.clone();
    // Why before SYNC 1: a child the kernel would not let move itself waits
    // there, and is moved now.
    if let Some((cg, entry)) = cgroup {
        entry.confirm(cg, raw_pid)?;
    }
    sync::release_child(sock, &net)?; // SYNC 1
    super::idmap::idmap_mounts(cfg, raw_pid, sock)?; // SYNC 1m
    // Why not before clone: only joins, `start` and `delete` read it, of a
    // record that says running or created; stored while the child builds
    // its root, it costs the start nothing (a new file, which on ext4 is
    // an inode allocation).
    req.record.save_config(&req.config_text)?;
    // Why here: the child builds its root meanwhile, so recording costs the
    // start nothing once its namespaces are final.
    // The lock keeps every reader out until the command runs; a failure
    // from here on is torn down from what is recorded now.
    st.init_pid = raw_pid;
    st.init_start_time = state::start_time(raw_pid)
        .ok_or_else(|| Error::new("the container process exited before it was started"))?;
    st.status = match park {
        Park::Fifo(_) => Status::Created,
        Park::Channel => Status::Running,
    };
    let mut settled = namespaces_settled(cfg, raw_pid);
    if settled {
        record_started(cfg, req, st, raw_pid)?;
    } else {
        // Its process, cgroups and host veths, before it runs anything.
        req.record.write_state(st)?;
    }
    if let Some(hooks) = hooks::at_create(req.hooks) {
        hooks::runtime_side(sock, hooks, st, raw_pid)?; // SYNC 1h
    }
    if cfg.tty && pty.is_none() {
        let master = sync::recv_console(sock)?; // SYNC 1c
        *pty = Some(Pty {
            master,
            slave: None,
        });
    }
    // Why before "ready": the command runs after it, and may ask at once.
    if let Some(p) = pty {
        crate::console::size_console(&p.master, req.process.console_size);
    }
    let seccomp = req.process.seccomp.as_ref();
    if let Some(l) = seccomp.and_then(|p| p.listener.as_ref()) {
        let fd = sync::recv_seccomp(sock)?; // SYNC 2a
        let state = crate::seccomp::process_state(st, Status::Creating.as_str(), raw_pid);
        crate::seccomp::send_listener(l, &fd, raw_pid, state)?;
    }
    // A cgroup namespace is the child's first step: when it was not yet
    // taken above, it usually is by now, so the record need not wait for
    // "ready".
    if !settled && namespaces_settled(cfg, raw_pid) {
        record_started(cfg, req, st, raw_pid)?;
        settled = true;
    }
    // Why before "ready" when all is recorded and nothing of the parent's
    // can fail any more: the child finds the go waiting when it is ready,
    // instead of sleeping through a round trip between two CPUs.
    // Not with mounts in the host's tree: their ids are read at "ready",
    // before the command could move them.
    let early_start = settled && matches!(park, Park::Channel) && mounts_before.is_none();
    if early_start {
        sync::send_start(sock)?; // SYNC 3
    }
    sync::wait_ready(sock)?; // SYNC 2
    if let Some(before) = mounts_before {
        st.host_mount_ids = rootfs::mounts_below(&cfg.rootfs)?
            .into_iter()
            .filter(|m| !before.contains(m))
            .map(|(id, _)| id)
            .collect();
        if settled {
            req.record.write_state(st)?;
        }
    }
    // Why before the start: the record and the marker are in place before
    // any code of the user's runs, and a failure to store them fails the
    // start cleanly.
    if !settled {
        record_started(cfg, req, st, raw_pid)?;
    }
    if let Park::Fifo(_) = park {
        return Ok(());
    }
    if !early_start {
        sync::send_start(sock)?; // SYNC 3
    }
    sync::wait_exec(sock) // SYNC 4
}

/// Whether the container process's namespaces are final: the child joins
/// none later (no namespace paths, no netns network), and a cgroup
/// namespace, which it unshares once as its first step in its cgroups, is
/// unshared already (its `/proc/PID/ns/cgroup` is no longer ours).
fn namespaces_settled(cfg: &Config, pid: i32) -> bool {
    let joins_later = !cfg.ns_paths.is_empty()
        || cfg
            .networks
            .iter()
            .any(|n| matches!(n, Network::Netns { .. }));
    if joins_later || !cfg.namespaces.contains(Ns::Cgroup) {
        return !joins_later;
    }
    let ino = |p: &str| rustix::fs::stat(p).ok().map(|st| st.st_ino);
    ino(&format!("/proc/{pid}/ns/cgroup"))
        .is_some_and(|theirs| Some(theirs) != ino("/proc/self/ns/cgroup"))
}

/// Record the started container: its namespaces, the state and, for a
/// running one, the marker.
fn record_started(cfg: &Config, req: &CreateRequest<'_>, st: &mut State, pid: i32) -> Result<()> {
    st.namespaces = state::namespace_inodes(&state::container_namespaces(cfg), pid);
    req.record.write_state(st)?;
    match req.dir {
        Some(dir) if st.status == Status::Running => write_marker(dir, st),
        _ => Ok(()),
    }
}

/// container.json's path inside the rootfs when the container directory
/// lies in it (the 2014 layout): the child binds it read-only so the
/// container cannot rewrite the config of its next start. Layouts where that
/// cannot hold are refused: a directory below the rootfs's root (the
/// container could rename a parent away and put another container.json in
/// its place) and a rootfs without a mount namespace (nothing to bind in).
fn config_in_rootfs(cfg: &Config, dir: &Path) -> Result<Option<String>> {
    // Both are canonical already: the directory from `resolve_dir`, the
    // rootfs from the config's lowering (a rootfs it could not resolve
    // failed the config check).
    let root = &cfg.rootfs;
    if !dir.starts_with(root) {
        return Ok(None);
    }
    let why = if dir != root.as_path() {
        "the container directory lies inside the rootfs, below its root: the container could \
         swap it and rewrite the container.json of its next start; use the rootfs itself or a \
         directory outside it"
    } else if !cfg.namespaces.contains(Ns::Mnt) {
        "container.json lies in the rootfs and the container has no mount namespace (NEWNS) to \
         protect it: the container could rewrite the config of its next start; enable NEWNS or \
         keep container.json outside the rootfs"
    } else {
        return Ok(Some("/container.json".to_string()));
    };
    Err(Error::new(format!(
        "{}: {why}",
        dir.join("container.json").display()
    )))
}
