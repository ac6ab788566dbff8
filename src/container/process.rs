//! The last steps before the user command runs, shared by the create and the
//! join paths: rlimits, session keyring, user and groups, capabilities,
//! working directory, environment, command lookup in the container's PATH,
//! no_new_privs, the seccomp filter, execve.

use std::collections::HashMap;
use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::sync::Arc;

use rustix::io::Errno;
use rustix::process::{Gid, Uid};
use rustix::thread::CpuSet;

use crate::caps::{self, CapSets};
use crate::config::Rlimit;
use crate::error::{Context, EXIT_CANNOT_EXEC, EXIT_NOT_FOUND, Error, Result};
use crate::sched::{self, IoPriority, Scheduler};
use crate::seccomp::{self, Program};
use crate::sys::{self, CStringArray, SigSet};
use crate::user::{ExecUser, resolve_user};

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What the container process runs and as whom.
#[derive(Clone, Debug, Default)]
pub struct ProcessSpec {
    pub args: Vec<String>,
    pub env: Vec<String>,
    /// `name`, `uid`, `name:group` or `uid:gid`, looked up in the container.
    pub user: Option<String>,
    /// Numeric uid and gid, used as given (OCI `process.user`); wins over `user`.
    pub ids: Option<(u32, u32)>,
    /// Supplementary groups added to those of `user` (the only ones with `ids`).
    pub additional_gids: Vec<u32>,
    /// The umask the command starts with (0o022 when unset).
    pub umask: Option<u32>,
    /// Written to /proc/self/oom_score_adj before the identity switch.
    pub oom_score_adj: Option<i32>,
    pub cwd: Option<String>,
    /// The five capability sets the command starts with.
    pub caps: CapSets,
    pub rlimits: Vec<Rlimit>,
    /// prctl(PR_SET_NO_NEW_PRIVS) before execve: setuid/setgid bits and file
    /// capabilities of what the command runs grant nothing.
    pub no_new_privileges: bool,
    /// Keep the caller's session keyring instead of joining a new one.
    pub no_new_keyring: bool,
    /// Descriptors 3..3+N of the caller pass into the command (OCI
    /// `--preserve-fds`).
    pub preserve_fds: u32,
    /// The seccomp filter the command runs under.
    pub seccomp: Option<Arc<Program>>,
    /// OCI `process.consoleSize` (height, width): the first size of the
    /// terminal it gets (before the caller's, when that is a terminal).
    pub console_size: Option<(u16, u16)>,
    /// OCI `process.scheduler`, set before the identity switch.
    pub scheduler: Option<Scheduler>,
    /// OCI `process.ioPriority`, set before the identity switch.
    pub io_priority: Option<IoPriority>,
    /// The CPUs the command runs on, set inside the container's cgroups
    /// (OCI `execCPUAffinity.final`, else every CPU the cgroup allows).
    /// `None`: inherited from the caller.
    pub affinity: Option<CpuSet>,
    /// OCI `execCPUAffinity.initial`: where the runtime itself runs before
    /// it moves a joined process into the container's cgroups.
    pub initial_affinity: Option<CpuSet>,
    /// The container's NUMA memory policy (OCI `linux.memoryPolicy`).
    pub memory_policy: Option<crate::sched::MemoryPolicy>,
}

/// A command ready for execve.
pub struct Prepared {
    pub preserve_fds: u32,
    pub path: CString,
    pub display: String,
    pub argv: CStringArray,
    pub envp: CStringArray,
    /// A seccomp filter [`exec`] installs right before execve.
    pub seccomp: Option<Arc<Program>>,
}

/// Apply rlimits, keyring, identity and capabilities, chdir, resolve the
/// command and set no_new_privs. Runs inside the container (after the root
/// switch on the create path). The seccomp filter waits in the result for
/// [`exec`], unless it must go in before the capability drop or has a
/// listener: then `send_listener` gets its notification descriptor at once.
pub fn finalize(
    spec: &ProcessSpec,
    send_listener: &dyn Fn(&OwnedFd) -> Result<()>,
) -> Result<Prepared> {
    apply_rlimits(&spec.rlimits)?;
    let passwd = crate::user::read_db("/etc/passwd");
    let group = crate::user::read_db("/etc/group");
    let user = match spec.ids {
        Some((uid, gid)) => ExecUser {
            uid,
            gid,
            groups: spec.additional_gids.clone(),
            home: resolve_user(Some(&uid.to_string()), &passwd, &group)
                .ok()
                .filter(|u| u.uid == uid)
                .map_or_else(|| "/".to_string(), |u| u.home),
        },
        None => {
            let mut user = resolve_user(spec.user.as_deref(), &passwd, &group)?;
            user.groups.extend(&spec.additional_gids);
            user
        }
    };
    let env = build_env(&spec.env, &user);
    if let Some(adj) = spec.oom_score_adj {
        // Why before the user switch: lowering the score needs CAP_SYS_RESOURCE.
        write_oom_score_adj(adj)?;
    }
    // Why before the user switch: raising a priority or a real-time policy
    // needs CAP_SYS_NICE (an RT I/O class, CAP_SYS_ADMIN). Affinity first:
    // SCHED_DEADLINE wants every CPU of its root domain.
    if let Some(cpus) = &spec.affinity {
        sched::set_affinity(cpus, "process.execCPUAffinity.final")?;
    }
    if let Some(s) = &spec.scheduler {
        s.apply()?;
    }
    if let Some(io) = &spec.io_priority {
        io.apply()?;
    }
    if let Some(m) = &spec.memory_policy {
        m.apply()?;
    }
    if let Some(mask) = spec.umask {
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(mask & 0o777));
    }
    if !spec.no_new_keyring {
        // Why before the user switch: the keyring belongs to (and is charged
        // to) the uid that creates it; KEYCTL_SETPERM needs to possess it.
        join_new_session_keyring()?;
    }
    // Why here: loading a filter needs no_new_privs or CAP_SYS_ADMIN. With
    // neither in the final state, it goes in while the capability is still
    // held, before the drop (as runc does); otherwise as late as possible,
    // right before execve, so the profile need not allow nsinit's own calls.
    let sys_admin = 1u64 << linux_raw_sys::general::CAP_SYS_ADMIN;
    let mut late = spec.seccomp.clone();
    if !spec.no_new_privileges
        && spec.caps.effective & sys_admin == 0
        && let Some(prog) = late.take()
    {
        install_seccomp(&prog, send_listener)?;
    }
    // Why before the user switch: chown needs CAP_CHOWN.
    give_stdio_to(user.uid);
    set_identity(&user, &spec.caps)?;
    let cwd = spec.cwd.as_deref().unwrap_or("/");
    rustix::process::chdir(cwd).ctx(|| format!("chdir {cwd}"))?;
    let mut prepared = prepare_command(&spec.args, &env)?;
    prepared.preserve_fds = spec.preserve_fds;
    if spec.no_new_privileges {
        // Why last: after the identity switch nothing needs to gain privilege,
        // and it holds across fork (the init shim) and execve.
        rustix::thread::set_no_new_privs(true).ctx(|| "prctl PR_SET_NO_NEW_PRIVS")?;
    }
    // Why now for a listener: its descriptor must reach the host while the
    // parent still waits (an OCI `create` returns once the process is ready).
    if let Some(prog) = late.take_if(|p| p.listener.is_some()) {
        install_seccomp(&prog, send_listener)?;
    }
    prepared.seccomp = late;
    Ok(prepared)
}

/// Install `prog` and pass on its notification descriptor, if it has one.
fn install_seccomp(prog: &Program, send_listener: &dyn Fn(&OwnedFd) -> Result<()>) -> Result<()> {
    match seccomp::install(prog)? {
        Some(fd) => send_listener(&fd),
        None => Ok(()),
    }
}

/// Write `/proc/self/oom_score_adj`, checked to be on procfs: the
/// container's /proc could be anything its image put there.
fn write_oom_score_adj(adj: i32) -> Result<()> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        "/proc/self/oom_score_adj",
        OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
        Mode::empty(),
    )
    .ctx(|| "open /proc/self/oom_score_adj")?;
    let fs = rustix::fs::fstatfs(&fd).ctx(|| "statfs /proc/self/oom_score_adj")?;
    if fs.f_type != rustix::fs::PROC_SUPER_MAGIC {
        return Err(Error::new(
            "/proc/self/oom_score_adj is not on procfs: refusing to write it",
        ));
    }
    rustix::io::write(&fd, adj.to_string().as_bytes())
        .ctx(|| format!("write /proc/self/oom_score_adj {adj}"))
        .map(|_| ())
}

/// Give the command's stdio to its user, as runc does: a pipe or socket of
/// the engine's, or the container's own terminal, stays owned by root
/// otherwise, and a non-root command cannot reopen it (`echo > /dev/stdout`,
/// `/proc/self/fd/1`, a program opening `/dev/tty` or its tty by name).
///
/// Only what belongs to nobody else changes owner: an anonymous pipe, a
/// socket, or a terminal of the container's devpts (the same filesystem as
/// its `/dev/pts`). A host file or terminal the caller passed on keeps its
/// owner (runc would give those away too); /dev/null is never touched. The
/// group stays. As in runc, a descriptor whose owner is not mapped in a user
/// namespace (EPERM, EINVAL) is left as it is.
fn give_stdio_to(uid: u32) {
    use rustix::fs::{FileType, fstat, fstatfs};
    use rustix::stdio::{stderr, stdin, stdout};
    let mut devpts = None;
    for fd in [stdin(), stdout(), stderr()] {
        let Ok(st) = fstat(fd) else { continue };
        if st.st_uid == uid {
            continue;
        }
        let ours = match FileType::from_raw_mode(st.st_mode) {
            FileType::Socket => true,
            FileType::Fifo => fstatfs(fd).is_ok_and(|f| f.f_type as u32 == PIPEFS_MAGIC),
            FileType::CharacterDevice => {
                let pts = devpts.get_or_insert_with(container_devpts);
                *pts == Some(st.st_dev)
            }
            _ => false,
        };
        if ours {
            let _ = rustix::fs::fchown(fd, Some(Uid::from_raw(uid)), None);
        }
    }
}

const PIPEFS_MAGIC: u32 = linux_raw_sys::general::PIPEFS_MAGIC;

/// The device of the container's devpts (its `/dev/pts`), if it has one.
fn container_devpts() -> Option<u64> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::open("/dev/pts", flags, Mode::empty()).ok()?;
    let fs = rustix::fs::fstatfs(&fd).ok()?;
    if fs.f_type as u32 != linux_raw_sys::general::DEVPTS_SUPER_MAGIC {
        return None;
    }
    rustix::fs::fstat(&fd).ok().map(|st| st.st_dev)
}

/// Leave the caller's session keyring for a new, anonymous one, so the
/// container cannot read or link the admin's keys (which it possesses through
/// an inherited session keyring, whatever its uid).
///
/// runc joins a keyring named `_ses.<container id>` (setns processes join the
/// same one) and adds search permission so they can find it by name; any
/// process of the same uid can then join it too. nsinit's keyring has no name:
/// every started or joined process gets its own, and only possessors (the
/// processes that inherit it) have any permission on it, so another container
/// running as the same uid can neither view nor link it. A kernel without
/// keyrings (ENOSYS) is not an error, as in runc.
fn join_new_session_keyring() -> Result<()> {
    let serial = match sys::join_session_keyring(None) {
        Ok(serial) => serial,
        Err(Errno::NOSYS) => return Ok(()),
        Err(e) => return Err(e).ctx(|| "keyctl KEYCTL_JOIN_SESSION_KEYRING"),
    };
    sys::set_key_permissions(serial, sys::KEY_POS_ALL)
        .ctx(|| format!("keyctl KEYCTL_SETPERM session keyring {serial}"))
}

/// Resolve `args[0]` through the PATH of `env` and build execve's arrays.
pub fn prepare_command(args: &[String], env: &[String]) -> Result<Prepared> {
    let path_var = env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    let cmd = args
        .first()
        .ok_or_else(|| Error::new("no command given").with_code(2))?;
    let path = find_command(cmd, path_var)?;
    let cstrings = |v: &[String]| CStringArray::new(v.iter().map(|s| cstr_lossy(s)).collect());
    Ok(Prepared {
        preserve_fds: 0,
        path: cstr_lossy(&path),
        display: cmd.clone(),
        argv: cstrings(args),
        envp: cstrings(env),
        seccomp: None,
    })
}

fn cstr_lossy(s: &str) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

/// The configured environment (last duplicate wins, in the order of the
/// last occurrences), plus HOME from passwd when absent. Linear: one pass to
/// find each key's last entry, one to keep those.
pub fn build_env(env: &[String], user: &ExecUser) -> Vec<String> {
    let last: HashMap<&str, usize> = env
        .iter()
        .enumerate()
        .map(|(i, e)| (env_key(e), i))
        .collect();
    let mut out: Vec<String> = Vec::with_capacity(last.len() + 1);
    out.extend(
        env.iter()
            .enumerate()
            .filter(|(i, e)| last.get(env_key(e)) == Some(i))
            .map(|(_, e)| e.clone()),
    );
    if !out.iter().any(|e| e.starts_with("HOME=")) {
        out.push(format!("HOME={}", user.home));
    }
    out
}

/// The name of a `KEY=VALUE` entry (the whole entry when it has no `=`).
fn env_key(e: &str) -> &str {
    e.split_once('=').map_or(e, |(k, _)| k)
}

fn apply_rlimits(rlimits: &[Rlimit]) -> Result<()> {
    for r in rlimits {
        let res = rlimit_resource(r.resource)
            .ok_or_else(|| Error::new(format!("rlimit {}: unknown resource", r.resource)))?;
        let lim = rustix::process::Rlimit {
            current: (r.soft != u64::MAX).then_some(r.soft),
            maximum: (r.hard != u64::MAX).then_some(r.hard),
        };
        rustix::process::setrlimit(res, lim)
            .ctx(|| format!("setrlimit {:?} {}/{}", res, r.soft, r.hard))?;
    }
    Ok(())
}

pub(super) fn rlimit_resource(n: u32) -> Option<rustix::process::Resource> {
    use rustix::process::Resource as R;
    [
        R::Cpu,
        R::Fsize,
        R::Data,
        R::Stack,
        R::Core,
        R::Rss,
        R::Nproc,
        R::Nofile,
        R::Memlock,
        R::As,
        R::Locks,
        R::Sigpending,
        R::Msgqueue,
        R::Nice,
        R::Rtprio,
        R::Rttime,
    ]
    .into_iter()
    .find(|r| *r as u32 == n)
}

/// Bounding set, groups, gid, uid, then the capability sets, verified.
fn set_identity(user: &ExecUser, caps: &CapSets) -> Result<()> {
    // Why before any change: a set the kernel would refuse fails with its name.
    caps.check()?;
    // Why first: PR_CAPBSET_DROP needs CAP_SETPCAP, gone after a non-root setuid.
    caps::drop_bounding_caps(caps.bounding)?;
    let non_root = user.uid != 0;
    if non_root {
        caps::keep_caps(true)?;
    }
    let groups: Vec<Gid> = user.groups.iter().map(|g| Gid::from_raw(*g)).collect();
    match rustix::thread::set_thread_groups(&groups) {
        // Rootless with only the caller's gid mapped, setgroups is denied:
        // the inherited groups stay (seen as the overflow gid).
        Err(rustix::io::Errno::PERM) if super::rootless::setgroups_denied(&user.groups)? => {}
        r => r.ctx(|| format!("setgroups {:?}", user.groups))?,
    }
    let gid = Gid::from_raw(user.gid);
    rustix::thread::set_thread_res_gid(gid, gid, gid).ctx(|| format!("setgid {}", user.gid))?;
    let uid = Uid::from_raw(user.uid);
    rustix::thread::set_thread_res_uid(uid, uid, uid).ctx(|| format!("setuid {}", user.uid))?;
    if non_root {
        caps::keep_caps(false)?;
    }
    caps::apply_caps(caps)?;
    caps::verify_caps(caps)
}

/// Look `cmd` up in `path_var` like execvp: a name with a slash is used as is.
///
/// A command that cannot run fails here, before "ready" (so `create` fails,
/// as with runc), not as exit status 127 or 126 after `start` succeeded.
pub fn find_command(cmd: &str, path_var: &str) -> Result<String> {
    if cmd.contains('/') {
        return match executable(cmd) {
            Ok(()) => Ok(cmd.to_string()),
            Err(e) => Err(not_runnable(cmd, e, false)),
        };
    }
    let mut denied = false;
    for dir in path_var.split(':').filter(|d| !d.is_empty()) {
        let candidate = format!("{dir}/{cmd}");
        match executable(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(Errno::ACCESS) => denied = true,
            Err(_) => continue,
        }
    }
    let errno = if denied { Errno::ACCESS } else { Errno::NOENT };
    Err(not_runnable(cmd, errno, true))
}

/// `path` is a regular file we may execute (`EACCES` for anything else).
fn executable(path: &str) -> std::result::Result<(), Errno> {
    rustix::fs::access(path, rustix::fs::Access::EXEC_OK)?;
    match rustix::fs::stat(path) {
        Ok(st) if rustix::fs::FileType::from_raw_mode(st.st_mode).is_file() => Ok(()),
        Ok(_) => Err(Errno::ACCESS),
        Err(e) => Err(e),
    }
}

/// Why `cmd` cannot run, in runc's words, which engines read: docker and
/// podman turn "no such file or directory" and "executable file not found"
/// into exit status 127 and "permission denied" into 126, as nsinit does.
fn not_runnable(cmd: &str, errno: Errno, searched: bool) -> Error {
    let (why, code) = match errno {
        Errno::NOENT if searched => ("executable file not found in $PATH".into(), EXIT_NOT_FOUND),
        Errno::NOENT => (
            format!("stat {cmd}: no such file or directory"),
            EXIT_NOT_FOUND,
        ),
        Errno::NOTDIR => (format!("stat {cmd}: not a directory"), EXIT_NOT_FOUND),
        Errno::ACCESS => ("permission denied".into(), EXIT_CANNOT_EXEC),
        e => (e.to_string().to_ascii_lowercase(), EXIT_CANNOT_EXEC),
    };
    Error::new(format!("exec: {cmd:?}: {why}")).with_code(code)
}

/// Restore the signal state a fresh process expects and execve. Returns only
/// on failure, with 127 (not found) or 126 (not executable).
pub fn exec(p: &Prepared, mask: SigSet) -> Error {
    let _ = sys::cloexec_from(3 + p.preserve_fds);
    sys::reset_signal_dispositions();
    let _ = sys::restore_signal_mask(mask);
    if let Some(prog) = &p.seccomp
        && let Err(e) = seccomp::install(prog)
    {
        return e;
    }
    let errno = sys::execve(&p.path, &p.argv, &p.envp);
    let code = if errno == Errno::NOENT {
        EXIT_NOT_FOUND
    } else {
        EXIT_CANNOT_EXEC
    };
    Error::sys(format!("exec {:?}", p.display), errno).with_code(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_last_duplicate_wins_and_home_is_filled() {
        let user = ExecUser {
            uid: 0,
            gid: 0,
            groups: vec![],
            home: "/root".into(),
        };
        let env = build_env(
            &["DEBUG=true".into(), "A=1".into(), "DEBUG=false".into()],
            &user,
        );
        assert_eq!(env, ["A=1", "DEBUG=false", "HOME=/root"]);
        let env = build_env(&["HOME=/x".into()], &user);
        assert_eq!(env, ["HOME=/x"]);
    }

    #[test]
    fn env_of_20k_entries_keeps_the_last_of_each_in_order() {
        let user = ExecUser {
            uid: 1,
            gid: 1,
            groups: vec![],
            home: "/home/u".into(),
        };
        // 20 000 entries over 10 000 keys: V0..V9999 then again, new values.
        let env: Vec<String> = (0..20_000)
            .map(|i| format!("V{}={i}", i % 10_000))
            .collect();
        let out = build_env(&env, &user);
        assert_eq!(out.len(), 10_001);
        assert_eq!(out[0], "V0=10000");
        assert_eq!(out[9_999], "V9999=19999");
        assert!(
            out[..10_000]
                .iter()
                .enumerate()
                .all(|(k, e)| *e == format!("V{k}={}", k + 10_000))
        );
        assert_eq!(out[10_000], "HOME=/home/u");
    }

    #[test]
    fn command_lookup_follows_path() {
        assert_eq!(find_command("sh", "/nonexistent:/bin").unwrap(), "/bin/sh");
        assert_eq!(find_command("/bin/sh", "").unwrap(), "/bin/sh");
        let e = find_command("/x/y", "").unwrap_err();
        assert_eq!(
            e.to_string(),
            "exec: \"/x/y\": stat /x/y: no such file or directory"
        );
        assert_eq!(e.code(), 127);
        let e = find_command("/etc/passwd", "/bin").unwrap_err();
        assert_eq!(e.to_string(), "exec: \"/etc/passwd\": permission denied");
        assert_eq!(e.code(), 126);
        let e = find_command("/", "").unwrap_err();
        assert_eq!(e.code(), 126, "a directory is not a command");
        let e = find_command("nsinit-no-such-cmd", "/bin:/usr/bin").unwrap_err();
        assert_eq!(
            e.to_string(),
            "exec: \"nsinit-no-such-cmd\": executable file not found in $PATH"
        );
        assert_eq!(e.code(), 127);
    }
}
