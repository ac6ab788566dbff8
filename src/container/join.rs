//! Join a running container: enter its cgroups, then its namespaces (user
//! first), fork into its PID namespace, apply its process settings, exec.
//!
//! Parent (nsinit, stays on the host): open the namespace files → check the
//! init is still the recorded one → sync pair → block signals → fork the
//! middle child → put it in the container's cgroups → SYNC 1 (release) →
//! SYNC 1b (the joined PID) → SYNC 1c (the pty master) → SYNC 2 (exec'd or
//! error) → supervise.
//! Middle child: non-dumpable, close every descriptor it does not carry in →
//! setns into every namespace → close the namespace descriptors →
//! clone(CLONE_PARENT) so the new process is nsinit's child inside the PID
//! namespace → report its PID, then let the joined process speak (a pipe:
//! they share the sync socket) → exit.
//! Joined process: setsid → root of a container without a mount namespace →
//! console (a pty of the container's devpts) → process settings → close all
//! but the sync socket → exec.
//!
//! Why non-dumpable before the first setns (CVE-2019-5736, CVE-2016-9962):
//! until execve both processes run the host's nsinit image with the caller's
//! descriptors; a dumpable one could be ptraced from inside the container, its
//! descriptors read through `/proc/PID/fd` and the host binary opened through
//! `/proc/PID/exe`. The flag is inherited by the joined process and reset by
//! the exec of the user's command.

use std::os::fd::{AsFd, OwnedFd};

use linux_raw_sys::general as g;
use rustix::process::{Pid, WaitOptions};

use super::process::{self, Prepared, ProcessSpec};
use super::state::{self, State};
use super::supervise::{self, Channels};
use super::sync;
use crate::cgroup::CgroupManager;
use crate::config::{Config, Ns};
use crate::console::RawMode;
use crate::error::{Context, Error, Result};
use crate::sys::{self, SigSet};

/// How to set up the joined process once inside the namespaces.
pub enum Finish<'a> {
    /// The container's user, capabilities, rlimits, env and cwd (from
    /// container.json). `root`: the container's root directory, for a
    /// container without a mount namespace (setns(mnt) sets it otherwise);
    /// opened before entering, while the init is verified.
    Container {
        spec: &'a ProcessSpec,
        root: Option<OwnedFd>,
        /// The container's record: the state a seccomp listener is sent.
        state: &'a State,
    },
    /// nsenter-style: keep our credentials and environment; optionally chroot
    /// to and chdir into the target's root and cwd (opened before entering).
    Plain {
        args: &'a [String],
        env: Vec<String>,
        root: Option<OwnedFd>,
        cwd: Option<OwnedFd>,
    },
}

/// What to enter.
pub struct JoinPlan<'a> {
    pub target: i32,
    /// Opened namespace files, in join order (user first).
    pub namespaces: Vec<(Ns, OwnedFd)>,
    pub cgroup: Option<CgroupManager>,
    pub tty: bool,
    /// The terminal's first size (OCI `process.consoleSize` of `exec`).
    pub console_size: Option<(u16, u16)>,
    pub finish: Finish<'a>,
    /// Return once the process runs instead of supervising it (OCI
    /// `exec --detach`): it must then outlive nsinit (no parent-death signal).
    pub detach: bool,
}

/// How a join ended.
pub enum Joined {
    /// The process exited with this status (supervised).
    Exited(u8),
    /// The process runs on its own (detached): its PID and the pty master.
    Detached { pid: i32, master: Option<OwnedFd> },
}

/// Open a namespace file of another process. Without root, the files of a
/// process that is not dumpable are root's: a container's init is so from
/// its clone until its execve, which may still be under way right after
/// `start` (rootless joins); that window is waited out (bounded, 2 s),
/// then the EACCES is the error.
fn open_ns_file(path: &str) -> std::result::Result<OwnedFd, rustix::io::Errno> {
    let open = || {
        rustix::fs::open(
            path,
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match open() {
            Err(rustix::io::Errno::ACCESS)
                if !rustix::process::geteuid().is_root()
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            r => return r,
        }
    }
}

/// Open `/proc/PID/ns/<kind>` for each kind, in join order, skipping those we already share.
pub fn open_namespaces(pid: i32, kinds: impl Iterator<Item = Ns>) -> Result<Vec<(Ns, OwnedFd)>> {
    let mut out = Vec::new();
    for ns in kinds {
        let path = format!("/proc/{pid}/ns/{}", ns.proc_name());
        let mine = format!("/proc/self/ns/{}", ns.proc_name());
        match (std::fs::read_link(&path), std::fs::read_link(&mine)) {
            (Ok(a), Ok(b)) if a == b => continue,
            (Err(e), _)
                if e.kind() == std::io::ErrorKind::NotFound
                    && !std::path::Path::new(&format!("/proc/{pid}")).exists() =>
            {
                return Err(Error::new(format!("process {pid} is gone")));
            }
            _ => {}
        }
        let fd = open_ns_file(&path).ctx(|| format!("open {path}"))?;
        out.push((ns, fd));
    }
    Ok(out)
}

/// The namespaces of the first child of `init`, checked to be its child
/// still once they are open (a PID reused meanwhile is refused).
fn shim_child_namespaces(init: i32, kinds: crate::config::NsSet) -> Result<Vec<(Ns, OwnedFd)>> {
    let path = format!("/proc/{init}/task/{init}/children");
    let list = std::fs::read_to_string(&path).ctx(|| format!("read {path}"))?;
    let child = list
        .split_whitespace()
        .next()
        .and_then(|p| p.parse::<i32>().ok())
        .ok_or_else(|| Error::new(format!("init {init} has no child to join through")))?;
    let namespaces = open_namespaces(child, kinds.iter())?;
    if state::parent_pid(child) != Some(init) {
        return Err(Error::new(format!(
            "process {child} left init {init} while joining"
        )));
    }
    Ok(namespaces)
}

/// Join the container recorded in `st` with the process `spec`; returns its
/// exit status.
pub fn join_container(cfg: &Config, st: &State, spec: ProcessSpec) -> Result<u8> {
    match join_container_as(cfg, st, spec, false)? {
        Joined::Exited(code) => Ok(code),
        Joined::Detached { .. } => Ok(0),
    }
}

/// [`join_container`], detached when `detach`.
pub fn join_container_as(
    cfg: &Config,
    st: &State,
    spec: ProcessSpec,
    detach: bool,
) -> Result<Joined> {
    let mut kinds = cfg.namespaces;
    for key in st.namespaces.keys() {
        if let Some(ns) = Ns::from_key(key) {
            kinds.insert(ns);
        }
    }
    let namespaces = match open_namespaces(st.init_pid, kinds.iter()) {
        // A rootless caller and an init that never exec'd (nsinit's shim,
        // kept non-dumpable, so closed to the user): the same namespaces
        // through the command the shim forked in them.
        Err(e) if e.errno() == Some(rustix::io::Errno::ACCESS) => {
            shim_child_namespaces(st.init_pid, kinds).map_err(|_| e)?
        }
        r => r?,
    };
    // Without a mount namespace the init only chrooted into the rootfs: the
    // joined process must too, or it runs on the host's `/`.
    let root = if namespaces.iter().any(|(ns, _)| *ns == Ns::Mnt) {
        None
    } else {
        Some(open_proc_dir(st.init_pid, "root")?)
    };
    // The descriptors are open: if the init is still the recorded process
    // (pidfd, start time, namespace inodes), they belong to the container
    // and not to a reused PID.
    if let state::Init::Gone(why) = st.init() {
        return Err(Error::new(format!(
            "the container exited while joining: {why}"
        )));
    }
    // Where the runtime runs until the process is in the container's
    // cgroups (OCI `execCPUAffinity.initial`); the process leaves it there.
    if let Some(cpus) = &spec.initial_affinity {
        crate::sched::set_affinity(cpus, "process.execCPUAffinity.initial")?;
    }
    let plan = JoinPlan {
        target: st.init_pid,
        namespaces,
        cgroup: Some(CgroupManager::from_record(&st.cgroup)?),
        tty: cfg.tty,
        console_size: spec.console_size,
        finish: Finish::Container {
            spec: &spec,
            root,
            state: st,
        },
        detach,
    };
    join(plan)
}

/// `/proc/PID/<what>` (`root`, `cwd`) as an `O_PATH` directory descriptor.
pub fn open_proc_dir(pid: i32, what: &str) -> Result<OwnedFd> {
    let path = format!("/proc/{pid}/{what}");
    rustix::fs::open(
        path.as_str(),
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .ctx(|| format!("open {path}"))
}

/// Run a process inside the planned namespaces and supervise it.
pub fn join(plan: JoinPlan<'_>) -> Result<Joined> {
    // No pty here: the joined process opens it inside (SYNC 1c).
    let Channels {
        parent_sock,
        child_sock,
        mask,
        sigfd,
        ..
    } = supervise::open_channels(false)?;
    let mid = match sys::clone_process(0).ctx(|| "fork")? {
        None => {
            drop(parent_sock);
            drop(sigfd);
            middle_main(&plan, child_sock, mask)
        }
        Some(pid) => pid,
    };
    drop(child_sock);
    let (joined, master) = match release(&plan, mid, &parent_sock) {
        Ok(joined) => joined,
        Err(e) => {
            supervise::kill_and_wait(mid);
            return Err(e);
        }
    };
    if plan.detach {
        return Ok(Joined::Detached {
            pid: joined.as_raw_nonzero().get(),
            master,
        });
    }
    let _raw = match &master {
        Some(_) => RawMode::enter()?,
        None => None,
    };
    supervise::supervise(joined, &sigfd, master.as_ref()).map(Joined::Exited)
}

/// Parent: cgroups, release, and collect the joined PID.
fn release(plan: &JoinPlan<'_>, mid: Pid, sock: &OwnedFd) -> Result<(Pid, Option<OwnedFd>)> {
    // Why before release: the joined process must be accounted before it can fork.
    if let Some(cg) = &plan.cgroup {
        cg.add_process(mid.as_raw_nonzero().get())
            .ctx(|| "join the container's cgroups")?;
    }
    sync::release_child(sock, &Default::default())?; // SYNC 1
    let pid = sync::wait_pid(sock); // SYNC 1b
    let _ = rustix::process::waitpid(Some(mid), WaitOptions::empty());
    let pid = Pid::from_raw(pid?).ok_or_else(|| Error::new("sync: bad pid"))?;
    let master = match plan.tty {
        true => sync::recv_console(sock).and_then(|m| {
            // SYNC 1c
            crate::console::size_console(&m, plan.console_size);
            sync::send_start(sock).map(|()| Some(m)) // SYNC 1d
        }),
        false => Ok(None),
    };
    let master = master.and_then(|m| pass_listener(plan, pid, sock).map(|()| m)); // SYNC 1e
    let done = master.and_then(|m| sync::wait_exec(sock).map(|()| m)); // SYNC 2
    match done {
        Ok(master) => Ok((pid, master)),
        Err(e) => {
            let _ = sys::kill_raw(pid.as_raw_nonzero().get(), g::SIGKILL as i32);
            let _ = rustix::process::waitpid(Some(pid), WaitOptions::empty());
            Err(e)
        }
    }
}

/// SYNC 1e (parent): hand the joined process's seccomp notification
/// descriptor to the profile's listener.
fn pass_listener(plan: &JoinPlan<'_>, pid: Pid, sock: &OwnedFd) -> Result<()> {
    let Finish::Container { spec, state, .. } = &plan.finish else {
        return Ok(());
    };
    let Some(l) = spec.seccomp.as_ref().and_then(|p| p.listener.as_ref()) else {
        return Ok(());
    };
    let fd = sync::recv_seccomp(sock)?;
    let doc = crate::seccomp::process_state(state, state.status.as_str(), state.init_pid);
    crate::seccomp::send_listener(l, &fd, pid.as_raw_nonzero().get(), doc)
}

/// The middle child: enter the namespaces and fork the joined process.
fn middle_main(plan: &JoinPlan<'_>, sock: OwnedFd, mask: SigSet) -> ! {
    let r = (|| -> Result<()> {
        // Why first: nothing of the host may be reachable once we are in.
        sys::set_non_dumpable().ctx(|| "prctl PR_SET_DUMPABLE 0")?;
        let mut keep = carried_fds(plan, &sock);
        keep.extend(
            plan.namespaces
                .iter()
                .map(|(_, fd)| sys::raw::fd_number(fd)),
        );
        sys::close_fds_except(&keep).ctx(|| "close inherited descriptors")?;
        sync::wait_release(&sock)?; // SYNC 1
        for (ns, fd) in &plan.namespaces {
            rustix::thread::move_into_link_name_space(fd.as_fd(), None).ctx(|| {
                format!(
                    "setns into the {} namespace of {}",
                    ns.proc_name(),
                    plan.target
                )
            })?;
        }
        // The namespace descriptors must not follow us in. They stay owned by
        // `plan`, which this process never drops: it ends in exit_now.
        sys::close_fds_except(&carried_fds(plan, &sock))
            .ctx(|| "close the namespace descriptors")?;
        // Why a pipe: the joined process shares the sync socket, and its
        // first message (the console, an error) must not reach nsinit
        // before its PID does; it waits until the PID is sent (or we die).
        let (after_pid, pid_sent) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
            .ctx(|| "pipe for the joined process")?;
        // CLONE_PARENT: the joined process becomes nsinit's child, inside the PID namespace.
        match sys::clone_process(u64::from(g::CLONE_PARENT)).ctx(|| "fork into the container")? {
            None => {
                drop(pid_sent);
                while rustix::io::read(&after_pid, &mut [0u8; 1]) == Err(rustix::io::Errno::INTR) {}
                drop(after_pid);
                joined_main(plan, &sock, mask)
            }
            Some(pid) => {
                sync::send_pid(&sock, pid.as_raw_nonzero().get())?; // SYNC 1b
                rustix::io::write(&pid_sent, b"1").ctx(|| "release the joined process")?;
                Ok(())
            }
        }
    })();
    match r {
        Ok(()) => sys::exit_now(0),
        Err(e) => {
            sync::report_error(&sock, &e);
            sys::exit_now(e.code())
        }
    }
}

/// The descriptors that go into the container with the joined process: the
/// sync socket and the directories it chroots/chdirs into.
fn carried_fds(plan: &JoinPlan<'_>, sock: &OwnedFd) -> Vec<i32> {
    let dirs = match &plan.finish {
        Finish::Container { root, .. } => [root.as_ref(), None],
        Finish::Plain { root, cwd, .. } => [root.as_ref(), cwd.as_ref()],
    };
    [Some(sock)]
        .into_iter()
        .chain(dirs)
        .flatten()
        .map(sys::raw::fd_number)
        .collect()
}

/// chroot into the directory `root` (an `O_PATH` descriptor).
fn enter_root(root: &OwnedFd) -> Result<()> {
    rustix::process::fchdir(root).ctx(|| "chdir to the container's root")?;
    rustix::process::chroot(".").ctx(|| "chroot to the container's root")?;
    rustix::process::chdir("/").ctx(|| "chdir /")
}

/// The joined process: console, process settings, exec (SYNC 2 at EOF).
fn joined_main(plan: &JoinPlan<'_>, sock: &OwnedFd, mask: SigSet) -> ! {
    let r = (|| -> Result<Prepared> {
        sys::set_parent_death_signal(g::SIGKILL as i32).ctx(|| "prctl PR_SET_PDEATHSIG")?;
        rustix::process::setsid().ctx(|| "setsid")?;
        let (Finish::Container { root, .. } | Finish::Plain { root, .. }) = &plan.finish;
        if let Some(root) = root {
            enter_root(root)?;
        }
        if plan.tty {
            // Why inside: the terminal must be one of the container's own
            // devpts (a host pty is not a tty by its name in there); the
            // master goes to nsinit, as runc's console socket does.
            let pty = crate::console::open_pty(c"/dev/ptmx")?;
            super::child::hand_over_console(sock, pty)?; // SYNC 1c
            // Why wait: the parent sets the window size before the command
            // can ask for it.
            sync::wait_start(sock)?; // SYNC 1d
        }
        let prepared = match &plan.finish {
            Finish::Container { spec, .. } => {
                process::finalize(spec, &|fd| sync::send_seccomp(sock, fd))? // SYNC 1e
            }
            Finish::Plain { args, env, cwd, .. } => {
                if let Some(cwd) = cwd {
                    rustix::process::fchdir(cwd).ctx(|| "chdir to the target's cwd")?;
                }
                process::prepare_command(args, env)?
            }
        };
        // Detached, the process outlives nsinit (the caller reaps it).
        let pdeath = if plan.detach { 0 } else { g::SIGKILL as i32 };
        sys::set_parent_death_signal(pdeath).ctx(|| "prctl PR_SET_PDEATHSIG")?;
        // A uid/gid change resets dumpability to fs.suid_dumpable: set it again.
        sys::set_non_dumpable().ctx(|| "prctl PR_SET_DUMPABLE 0")?;
        // Only the sync socket (CLOEXEC: EOF tells the parent we exec'd) is
        // left; the slave is on 0-2 by now, the directories are entered.
        sys::close_fds_except(&[sys::raw::fd_number(sock)])
            .ctx(|| "close inherited descriptors")?;
        Ok(prepared)
    })();
    let err = match r {
        Ok(p) => process::exec(&p, mask),
        Err(e) => e,
    };
    sync::report_error(sock, &err);
    sys::exit_now(err.code())
}
