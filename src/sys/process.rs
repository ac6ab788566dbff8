//! Raw system calls of the process itself: clone into namespaces (and a
//! cgroup), execve, exit, the parent-death signal, namespaces (unshare, the
//! kind of a namespace file), pidfd signals, descriptor hygiene, the
//! session keyring, personality.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::os::fd::{AsFd, AsRawFd};

use linux_raw_sys::general as g;
use rustix::io::Errno;
use rustix::process::Pid;

use super::raw::{check, fd_number, opt_ptr, syscall6};

/// `clone(flags | SIGCHLD, NULL, NULL, NULL, 0)`: fork into new namespaces.
///
/// Returns `Some(pid)` in the parent and `None` in the child, like fork(2). The
/// child runs on a copy of the caller's stack and memory.
///
/// The caller must be single-threaded (nsinit never starts threads): only the
/// calling thread exists in the child, so any lock held by another thread would
/// stay locked forever. <https://man7.org/linux/man-pages/man2/clone.2.html>
pub fn clone_process(flags: u64) -> Result<Option<Pid>, Errno> {
    let flags = flags | u64::from(g::SIGCHLD);
    // SAFETY: without CLONE_VM, CLONE_SETTLS or CLONE_*TID the kernel copies the
    // address space exactly as fork(2) does, and a NULL stack means "the same
    // stack pointer" in the copy, so the child returns here on its own stack
    // copy. No pointers are passed. The x86_64 argument order is
    // (flags, stack, parent_tid, child_tid, tls); aarch64 uses
    // (flags, stack, parent_tid, tls, child_tid); all but flags are zero here.
    let ret = unsafe { syscall6(g::__NR_clone, [flags as usize, 0, 0, 0, 0, 0]) };
    let pid = check(ret)?;
    Ok(Pid::from_raw(pid as i32))
}

/// `clone3({flags, exit_signal: SIGCHLD, cgroup: fd}, sizeof)` with
/// `CLONE_INTO_CGROUP`: fork into new namespaces *and* straight into the cgroup
/// v2 directory `cgroup` (Linux 5.7), so the child never runs outside it.
///
/// Returns `Some(pid)` in the parent and `None` in the child, like
/// [`clone_process`], with the same single-threaded rule. Kernels before 5.7
/// answer `ENOSYS` (no clone3, or a seccomp filter hiding it), `E2BIG` (a
/// larger `clone_args` than they know) or `EINVAL`; `EBUSY` means the cgroup
/// has controllers enabled for children (cgroup v2's leaf rule).
/// <https://man7.org/linux/man-pages/man2/clone3.2.html>
pub fn clone_into_cgroup(flags: u64, cgroup: impl AsFd) -> Result<Option<Pid>, Errno> {
    let args = g::clone_args {
        flags: flags | g::CLONE_INTO_CGROUP,
        pidfd: 0,
        child_tid: 0,
        parent_tid: 0,
        exit_signal: u64::from(g::SIGCHLD),
        stack: 0,
        stack_size: 0,
        tls: 0,
        set_tid: 0,
        set_tid_size: 0,
        cgroup: cgroup.as_fd().as_raw_fd() as u64,
    };
    // SAFETY: `args` is a valid, initialised clone_args that lives across the
    // call, and its size is passed with it. Without CLONE_VM, CLONE_SETTLS or
    // CLONE_*TID, and with stack = 0 and stack_size = 0, the kernel copies the
    // address space as fork(2) does and the child continues on its copy of
    // this stack; no pointer in `args` is used (pidfd, tids, set_tid are 0).
    let ret = unsafe {
        syscall6(
            g::__NR_clone3,
            [
                &args as *const g::clone_args as usize,
                core::mem::size_of::<g::clone_args>(),
                0,
                0,
                0,
                0,
            ],
        )
    };
    let pid = check(ret)?;
    Ok(Pid::from_raw(pid as i32))
}

/// `execve(path, argv, envp)`. Returns only on failure.
///
/// `argv` and `envp` must be NUL-terminated pointer arrays built by
/// [`CStringArray`]. <https://man7.org/linux/man-pages/man2/execve.2.html>
pub fn execve(path: &CStr, argv: &CStringArray, envp: &CStringArray) -> Errno {
    // SAFETY: path is a valid C string; argv and envp point to NULL-terminated
    // arrays of valid C strings that outlive the call (CStringArray owns them).
    let ret = unsafe {
        syscall6(
            g::__NR_execve,
            [
                path.as_ptr() as usize,
                argv.as_ptr() as usize,
                envp.as_ptr() as usize,
                0,
                0,
                0,
            ],
        )
    };
    match check(ret) {
        Err(e) => e,
        Ok(_) => Errno::INVAL,
    }
}

/// A NULL-terminated array of C strings, as execve wants for argv and envp.
pub struct CStringArray {
    strings: Vec<std::ffi::CString>,
    ptrs: Vec<*const u8>,
}

impl CStringArray {
    pub fn new(strings: Vec<std::ffi::CString>) -> Self {
        let mut ptrs: Vec<*const u8> = strings.iter().map(|s| s.as_ptr().cast()).collect();
        ptrs.push(std::ptr::null());
        CStringArray { strings, ptrs }
    }

    pub fn as_ptr(&self) -> *const *const u8 {
        self.ptrs.as_ptr()
    }

    pub fn strings(&self) -> &[std::ffi::CString] {
        &self.strings
    }
}

/// `exit_group(code)`: leave at once, without running atexit handlers or
/// flushing stdio buffers shared with the parent. Used in cloned children.
pub fn exit_now(code: u8) -> ! {
    // SAFETY: exit_group takes an integer and never returns.
    unsafe {
        syscall6(g::__NR_exit_group, [code as usize, 0, 0, 0, 0, 0]);
    }
    unreachable!("exit_group returned")
}

/// `prctl(PR_SET_PDEATHSIG, sig)`: the signal this process gets when its parent dies.
pub fn set_parent_death_signal(sig: i32) -> Result<(), Errno> {
    // SAFETY: PR_SET_PDEATHSIG takes an integer signal number.
    check(unsafe {
        syscall6(
            g::__NR_prctl,
            [
                linux_raw_sys::prctl::PR_SET_PDEATHSIG as usize,
                sig as usize,
                0,
                0,
                0,
                0,
            ],
        )
    })
    .map(|_| ())
}

/// `CLOSE_RANGE_CLOEXEC` from <linux/close_range.h> (not in linux-raw-sys).
const CLOSE_RANGE_CLOEXEC: usize = 1 << 2;

/// `close_range(first, ~0, CLOSE_RANGE_CLOEXEC)`: mark every descriptor from
/// `first` on close-on-exec, so nothing of nsinit's leaks into the container.
pub fn cloexec_from(first: u32) -> Result<(), Errno> {
    // SAFETY: close_range takes integers only.
    let ret = unsafe {
        syscall6(
            g::__NR_close_range,
            [
                first as usize,
                u32::MAX as usize,
                CLOSE_RANGE_CLOEXEC,
                0,
                0,
                0,
            ],
        )
    };
    check(ret).map(|_| ())
}

/// `unshare(flags)` of namespaces only: any other flag is `EINVAL` here.
/// rustix deprecates its safe wrapper because unsharing CLONE_FILES (a
/// thread's own descriptor table) under other threads breaks what they own;
/// namespaces are no memory or descriptor of anyone's (CLONE_NEWUSER, which
/// needs a single thread, is the kernel's EINVAL otherwise).
pub fn unshare(flags: u64) -> Result<(), Errno> {
    const NAMESPACES: u64 = (g::CLONE_NEWNS
        | g::CLONE_NEWCGROUP
        | g::CLONE_NEWUTS
        | g::CLONE_NEWIPC
        | g::CLONE_NEWUSER
        | g::CLONE_NEWPID
        | g::CLONE_NEWNET
        | g::CLONE_NEWTIME) as u64;
    if flags & !NAMESPACES != 0 {
        return Err(Errno::INVAL);
    }
    // SAFETY: unshare takes an integer, here namespace flags only, which
    // change no memory and no descriptor table.
    check(unsafe { syscall6(g::__NR_unshare, [flags as usize, 0, 0, 0, 0, 0]) }).map(|_| ())
}

/// The kind of namespace `fd` refers to, as its `CLONE_NEW*` flag
/// (`ioctl(fd, NS_GET_NSTYPE)`), or `None` when `fd` is not on nsfs. Works
/// for `/proc/PID/ns/*` and for bind-mounted namespace files alike
/// (`/run/netns/x`), whose descriptor link names the mount, not the kind.
/// <https://man7.org/linux/man-pages/man2/ioctl_nsfs.2.html>
pub fn ns_type(fd: impl AsFd) -> Result<Option<u64>, Errno> {
    let fd = fd.as_fd();
    // Why first: the ioctl number means something else on other files.
    if rustix::fs::fstatfs(fd)?.f_type as u32 != g::NSFS_MAGIC {
        return Ok(None);
    }
    let req = linux_raw_sys::ioctl::NS_GET_NSTYPE as usize;
    // SAFETY: an nsfs descriptor borrowed for the call; NS_GET_NSTYPE takes
    // no argument and returns an integer.
    let kind =
        check(unsafe { syscall6(g::__NR_ioctl, [fd_number(fd) as usize, req, 0, 0, 0, 0]) })?;
    Ok(Some(kind as u64))
}

/// `pidfd_send_signal(pidfd, sig, NULL, 0)` with a raw signal number: the
/// signal reaches exactly the process the pidfd was opened on, never a
/// process that reused its PID.
/// <https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html>
pub fn pidfd_kill(pidfd: impl AsFd, sig: i32) -> Result<(), Errno> {
    // SAFETY: a borrowed descriptor, an integer, NULL siginfo and zero flags.
    check(unsafe {
        syscall6(
            g::__NR_pidfd_send_signal,
            [fd_number(pidfd) as usize, sig as usize, 0, 0, 0, 0],
        )
    })
    .map(|_| ())
}

/// `KEYCTL_JOIN_SESSION_KEYRING` from <linux/keyctl.h> (not in linux-raw-sys).
const KEYCTL_JOIN_SESSION_KEYRING: usize = 1;
/// `KEYCTL_SETPERM` from <linux/keyctl.h>.
const KEYCTL_SETPERM: usize = 5;
/// `KEY_POS_ALL` from <linux/keyctl.h>: every permission for a possessor.
pub const KEY_POS_ALL: u32 = 0x3f00_0000;

/// `keyctl(KEYCTL_JOIN_SESSION_KEYRING, name)`: replace the calling process's
/// session keyring with a new anonymous one (`name` is `None`) or the keyring
/// called `name` (created if absent). Returns the keyring's serial.
/// <https://man7.org/linux/man-pages/man2/keyctl_join_session_keyring.3.html>
pub fn join_session_keyring(name: Option<&CStr>) -> Result<i32, Errno> {
    // SAFETY: the name pointer is NULL or a valid C string that outlives the
    // call; the other arguments are unused by this operation.
    let ret = unsafe {
        syscall6(
            g::__NR_keyctl,
            [KEYCTL_JOIN_SESSION_KEYRING, opt_ptr(name), 0, 0, 0, 0],
        )
    };
    check(ret).map(|serial| serial as i32)
}

/// `keyctl(KEYCTL_SETPERM, key, perm)`: set a key's permission mask.
/// <https://man7.org/linux/man-pages/man2/keyctl_setperm.3.html>
pub fn set_key_permissions(key: i32, perm: u32) -> Result<(), Errno> {
    // SAFETY: KEYCTL_SETPERM takes two integers.
    let ret = unsafe {
        syscall6(
            g::__NR_keyctl,
            [KEYCTL_SETPERM, key as u32 as usize, perm as usize, 0, 0, 0],
        )
    };
    check(ret).map(|_| ())
}

/// Close every descriptor from 3 on except those in `keep`: `close_range(2)`
/// over the gaps between them. Unlike [`cloexec_from`], the descriptors are
/// gone at once, not only at the next execve — for processes that run code
/// before (or instead of) an exec inside a container: the init shim, the
/// join's middle child and joined process.
///
/// Meant for a freshly forked child: descriptors still owned by an `OwnedFd`
/// somewhere up the stack are closed under it, so such a child must end in
/// execve or [`exit_now`] without dropping them (every caller does). Closing a
/// descriptor never touches memory; at worst a later drop would close a
/// reused number, which these children never do.
/// <https://man7.org/linux/man-pages/man2/close_range.2.html>
pub fn close_fds_except(keep: &[i32]) -> Result<(), Errno> {
    let mut kept: Vec<u32> = keep
        .iter()
        .filter(|&&fd| fd > 2)
        .map(|&fd| fd as u32)
        .collect();
    kept.sort_unstable();
    kept.dedup();
    let mut first = 3u32;
    for fd in kept.into_iter().chain([u32::MAX]) {
        if fd > first {
            let last = if fd == u32::MAX { u32::MAX } else { fd - 1 };
            // SAFETY: close_range takes integers only.
            let ret = unsafe {
                syscall6(
                    g::__NR_close_range,
                    [first as usize, last as usize, 0, 0, 0, 0],
                )
            };
            check(ret)?;
        }
        first = fd.saturating_add(1);
    }
    Ok(())
}

/// `personality(persona)`: the execution domain of this process and what it
/// execs (`PER_LINUX`, `PER_LINUX32`, with flags).
pub fn set_personality(persona: u32) -> Result<(), Errno> {
    // SAFETY: personality takes one integer and touches no memory of ours.
    check(unsafe { syscall6(g::__NR_personality, [persona as usize, 0, 0, 0, 0, 0]) }).map(|_| ())
}
