//! The container process's side of create: from clone to exec, as the
//! step list in `create`'s header says (the child line). The parent's side
//! is in [`super::create`].

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use linux_raw_sys::general as g;

use super::create::{CreateRequest, Park};
use super::hooks;
use super::process;
use super::rootless;
use super::sync;
use crate::cgroup::Entered;
use crate::config::{Config, Network, Ns};
use crate::console::Pty;
use crate::error::{Context, Error, Result};
use crate::init::{self, ShimOptions};
use crate::network::{self, NetState};
use crate::rootfs;
use crate::sys::{self, SigSet};

/// Descriptors the child takes over from the parent's stack.
pub(super) struct ChildFds {
    pub sock: OwnedFd,
    pub parent_sock: OwnedFd,
    pub sigfd: OwnedFd,
    pub pty: Option<Pty>,
    /// Rootless: the id maps are written as the user (by the child itself
    /// when it maps only the user's ids, else by newuidmap), so the child
    /// stays dumpable until then (its /proc files are the user's only then).
    pub maps_by_user: bool,
    /// The child writes its own maps ([`rootless::self_maps`], decided
    /// before clone: in the child the user's ids read as unmapped).
    pub self_maps: bool,
}

/// The cloned child: run the steps, report a failure, never return.
pub(super) fn child_main(
    cfg: &Config,
    req: &CreateRequest<'_>,
    fds: ChildFds,
    protect: Option<&str>,
    mask: SigSet,
    cg: Entered,
    park: &Park,
) -> ! {
    let ChildFds {
        sock,
        parent_sock,
        sigfd,
        pty,
        maps_by_user,
        self_maps,
    } = fds;
    drop(parent_sock);
    drop(sigfd);
    let slave = pty.and_then(|p| p.slave);
    let fifo = match park {
        Park::Fifo(fd) => Some(fd),
        Park::Channel => None,
    };
    let hidden = hide_host(
        &sock,
        slave.as_ref(),
        fifo,
        req.process.preserve_fds,
        maps_by_user,
    );
    let steps = hidden.and_then(|()| {
        let steps = ChildSteps {
            cg,
            fifo,
            self_maps,
        };
        child_steps(cfg, req, &sock, slave, protect, steps)
    });
    let prepared = match steps {
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

/// First in the child: non-dumpable (rootless: after SYNC 1, once the user
/// wrote the maps), and no descriptor but 0-2, the sync
/// socket and the pty slave (not the caller's inherited ones, not the
/// directory lock): the init shim never execs, so CLOEXEC is not enough.
/// The closed ones stay owned up the stack, which this process never unwinds.
fn hide_host(
    sock: &OwnedFd,
    slave: Option<&OwnedFd>,
    fifo: Option<&OwnedFd>,
    preserve: u32,
    dumpable: bool,
) -> Result<()> {
    if !dumpable {
        sys::set_non_dumpable().ctx(|| "prctl PR_SET_DUMPABLE 0")?;
    }
    let keep: Vec<i32> = [Some(sock), slave, fifo]
        .into_iter()
        .flatten()
        .map(sys::raw::fd_number)
        .chain((0..preserve).map(|i| 3 + i as i32))
        .collect();
    sys::close_fds_except(&keep).ctx(|| "close inherited descriptors")
}

/// How the child's steps go: decided by the parent or at clone.
struct ChildSteps<'a> {
    cg: Entered,
    fifo: Option<&'a OwnedFd>,
    self_maps: bool,
}

/// The child's steps, in order.
fn child_steps(
    cfg: &Config,
    req: &CreateRequest<'_>,
    sock: &OwnedFd,
    slave: Option<OwnedFd>,
    protect: Option<&str>,
    how: ChildSteps<'_>,
) -> Result<process::Prepared> {
    let ChildSteps {
        cg,
        fifo,
        self_maps,
    } = how;
    // If nsinit dies, the container dies with it.
    sys::set_parent_death_signal(g::SIGKILL as i32).ctx(|| "prctl PR_SET_PDEATHSIG")?;
    // Why the release can wait: the child is in its cgroups already, and
    // without id maps for the parent to write (rootless with only the user's
    // own ids: it writes them itself) or a veth to receive it can build its
    // root while the parent finishes. It still waits for SYNC 1 before
    // running anything of the user's. When the parent must move it, it
    // waits first.
    let spec = &req.process;
    let hooks = hooks::at_create(req.hooks);
    if self_maps {
        rootless::write_self_maps(&cfg.uid_mappings, &cfg.gid_mappings)?;
        sys::set_non_dumpable().ctx(|| "prctl PR_SET_DUMPABLE 0")?;
    }
    let early = needs_early_release(cfg, self_maps) || cg == Entered::ByParent || hooks.is_some();
    let net = if early {
        let net = sync::wait_release(sock)?;
        sys::set_non_dumpable().ctx(|| "prctl PR_SET_DUMPABLE 0")?;
        net
    } else {
        NetState::default()
    }; // SYNC 1
    // Why the user namespace first: the others are joined with its rights.
    for (ns, path) in cfg.ns_paths.iter().filter(|(ns, _)| *ns == Ns::User) {
        join_namespace(path, *ns)?;
    }
    if cfg.namespaces.contains(Ns::User) || cfg.ns_paths.iter().any(|(ns, _)| *ns == Ns::User) {
        become_userns_root()?;
    }
    if cfg.namespaces.contains(Ns::Cgroup) {
        // Why before the mounts: a cgroup2 mount shows the namespace's root,
        // which is the cgroup the child entered as its first step (or, when
        // the parent moved it, at SYNC 1, which it then waited for).
        sys::unshare(Ns::Cgroup.clone_flag()).ctx(|| "unshare cgroup namespace")?;
    }
    rustix::process::setsid().ctx(|| "setsid")?;
    // A pty of the host's (no mount namespace): the terminal from now on.
    if let Some(slave) = &slave {
        crate::console::attach(slave)?;
    }
    drop(slave);
    // The pid namespace was joined for us before the clone.
    for (ns, path) in cfg
        .ns_paths
        .iter()
        .filter(|(ns, _)| !matches!(ns, Ns::User | Ns::Pid))
    {
        join_namespace(path, *ns)?;
    }
    for n in &cfg.networks {
        if let Network::Netns { ns_path } = n {
            network::join_netns(ns_path)?;
        }
    }
    network::setup_container(&cfg.networks, &cfg.routes, &net)?;
    let mut state_doc = None;
    let idmapped = super::idmap::clone_mounts(cfg, sock)?; // SYNC 1m
    let console = rootfs::prepare_rootfs(cfg, cfg.tty, idmapped, || {
        if let Some(h) = hooks {
            state_doc = Some(hooks::container_side(sock, h)?); // SYNC 1h
        }
        Ok(())
    })?;
    if let Some(pty) = console {
        hand_over_console(sock, pty)?; // SYNC 1c
    }
    if let Some(path) = protect {
        protect_config(path)?;
    }
    if let Some(h) = &cfg.hostname {
        rustix::system::sethostname(h.as_bytes()).ctx(|| format!("sethostname {h}"))?;
    }
    if let Some(h) = &cfg.domainname {
        rustix::system::setdomainname(h.as_bytes()).ctx(|| format!("setdomainname {h}"))?;
    }
    // Why before the restricted paths: /proc/sys turns read-only there.
    rootfs::sysctl::write_sysctls(&cfg.sysctl)?;
    rootfs::restrict_paths(cfg)?;
    rootfs::set_root_propagation(cfg)?;
    if let Some(p) = cfg.personality {
        sys::set_personality(p).ctx(|| format!("personality {p:#x}"))?;
    }
    if !early {
        sync::wait_release(sock)?; // SYNC 1
    }
    let prepared = process::finalize(spec, &|fd| sync::send_seccomp(sock, fd))?; // SYNC 2a
    // setuid clears the parent-death signal: set it again.
    sys::set_parent_death_signal(g::SIGKILL as i32).ctx(|| "prctl PR_SET_PDEATHSIG")?;
    // ... and resets dumpability to fs.suid_dumpable.
    sys::set_non_dumpable().ctx(|| "prctl PR_SET_DUMPABLE 0")?;
    match fifo {
        None => {
            sync::report_ready(sock)?; // SYNC 2
            sync::wait_start(sock)?; // SYNC 3
            hooks::start_container(hooks, state_doc.as_deref())?;
        }
        Some(fifo) => {
            // Why before "ready": the creator exits after it, and the
            // container must outlive it (the caller reaps it).
            sys::set_parent_death_signal(0).ctx(|| "prctl PR_SET_PDEATHSIG 0")?;
            sync::report_ready(sock)?; // SYNC 2
            // SYNC 3: `start` opened the read end; startContainer runs
            // before the go, so `start` reports its failure.
            wait_fifo(fifo, || hooks::start_container(hooks, state_doc.as_deref()))?;
        }
    }
    Ok(prepared)
}

/// Block until `start` opens the exec fifo's read end, run `before_go`,
/// then tell `start` we go ("0") or why not (the error's text).
fn wait_fifo(fifo: &OwnedFd, before_go: impl FnOnce() -> Result<()>) -> Result<()> {
    let fd = rustix::fs::open(
        rootfs::paths::fd_path(fifo).as_c_str(),
        rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .ctx(|| "open the exec fifo")
    .inspect_err(say)?;
    if let Err(e) = before_go() {
        let mut text = e.to_string().into_bytes();
        text.truncate(512);
        let _ = rustix::io::write(&fd, &text);
        return Err(e);
    }
    rustix::io::write(&fd, b"0")
        .ctx(|| "write the exec fifo")
        .inspect_err(say)?;
    Ok(())
}

/// Parked, nobody reads the sync channel any more (before "ready" the
/// creator reports errors, after it `start` does): a failure of the fifo
/// itself is said on the caller's stderr.
fn say(e: &Error) {
    crate::log::error(e);
}

/// Bind container.json (at `path`, inside the new root) read-only on itself.
fn protect_config(path: &str) -> Result<()> {
    let root = rustix::fs::open(
        "/",
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .ctx(|| "open /")?;
    let fd = rootfs::paths::open_in_root(root.as_fd(), path).ctx(|| format!("open {path}"))?;
    let st = rustix::fs::fstat(&fd).ctx(|| format!("stat {path}"))?;
    if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile {
        return Err(Error::new(format!("{path}: not a regular file")));
    }
    let src = rootfs::paths::fd_path(&fd);
    let target = rootfs::mount::cstr(path);
    rootfs::mount::bind_mount(&src, &target, false).ctx(|| format!("bind {path} on itself"))?;
    rootfs::mount::remount_readonly(&target, 0).ctx(|| format!("remount {path} read-only"))
}

/// The child must wait for SYNC 1 before any setup when the parent writes its
/// id maps (it is nobody until then) or hands it a veth or idmapped mounts.
fn needs_early_release(cfg: &Config, self_maps: bool) -> bool {
    let veth = cfg.networks.iter().any(|n| matches!(n, Network::Veth(_)));
    veth || (cfg.namespaces.contains(Ns::User) && !self_maps) || super::idmap::any(cfg)
}

/// In a new user namespace, become its root (the maps are written by now).
fn become_userns_root() -> Result<()> {
    let root_gid = rustix::process::Gid::ROOT;
    rustix::thread::set_thread_res_gid(root_gid, root_gid, root_gid)
        .ctx(|| "setgid 0 in the user namespace")?;
    let root = rustix::process::Uid::ROOT;
    rustix::thread::set_thread_res_uid(root, root, root).ctx(|| "setuid 0 in the user namespace")
}

/// SYNC 1c (a container process, create's or join's): make the slave of a
/// pty opened in the container its terminal and send the master to nsinit,
/// as runc's console socket does. Both are closed here: the slave is on
/// 0-2, and nothing in the container keeps the master.
pub fn hand_over_console(sock: &OwnedFd, pty: Pty) -> Result<()> {
    let slave = pty
        .slave
        .as_ref()
        .ok_or_else(|| Error::new("pty without a slave"))?;
    crate::console::attach(slave)?;
    sync::send_console(sock, &pty.master)
}

/// setns into the namespace file at `path`.
/// The kernel checks the file is a namespace of that kind (EINVAL if not).
pub fn join_namespace(path: &Path, ns: Ns) -> Result<()> {
    use rustix::thread::LinkNameSpaceType as T;
    let what = ns.proc_name();
    let fd = rustix::fs::open(
        path,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .ctx(|| format!("open {what} namespace {}", path.display()))?;
    let kind = match ns {
        Ns::User => T::User,
        Ns::Ipc => T::InterProcessCommunication,
        Ns::Uts => T::HostNameAndNISDomainName,
        Ns::Net => T::Network,
        Ns::Pid => T::ProcessID,
        Ns::Mnt => T::Mount,
        Ns::Cgroup => T::ControlGroup,
        Ns::Time => T::Time,
    };
    rustix::thread::move_into_link_name_space(fd.as_fd(), Some(kind))
        .ctx(|| format!("setns {what} namespace {}", path.display()))
}
