//! Raw system calls, written with `core::arch::asm!` and numbered from
//! linux-raw-sys. Each wrapper is small, documented with its C prototype, and each
//! `unsafe` block carries its safety argument.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use linux_raw_sys::general as g;
use rustix::io::Errno;
use rustix::process::Pid;

/// Issue a raw syscall with up to six arguments; returns the kernel's result
/// (negative errno on failure).
///
/// # Safety
/// The caller must pass arguments that are valid for syscall `nr`: pointers must
/// point to memory of the size and lifetime the kernel expects.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) unsafe fn syscall6(nr: u32, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the x86_64 syscall ABI: number in rax, args in rdi, rsi, rdx, r10,
    // r8, r9; rcx and r11 are clobbered. Argument validity is the caller's duty.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a[0], in("rsi") a[1], in("rdx") a[2],
            in("r10") a[3], in("r8") a[4], in("r9") a[5],
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// Issue a raw syscall with up to six arguments (aarch64).
///
/// # Safety
/// As for the x86_64 variant.
#[cfg(target_arch = "aarch64")]
#[inline(always)]
pub(super) unsafe fn syscall6(nr: u32, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the aarch64 syscall ABI: number in x8, args in x0..x5, result in x0.
    unsafe {
        core::arch::asm!(
            "svc 0",
            in("x8") nr as usize,
            inlateout("x0") a[0] as isize => ret,
            in("x1") a[1], in("x2") a[2], in("x3") a[3], in("x4") a[4], in("x5") a[5],
            options(nostack),
        );
    }
    ret
}

pub(super) fn check(ret: isize) -> Result<usize, Errno> {
    if (-4095..0).contains(&ret) {
        Err(Errno::from_raw_os_error(-ret as i32))
    } else {
        Ok(ret as usize)
    }
}

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

/// A kernel signal set (64 signals, as `rt_sigprocmask` takes it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigSet(pub u64);

impl SigSet {
    pub fn of(signals: &[i32]) -> Self {
        SigSet(signals.iter().fold(0u64, |m, &s| m | (1u64 << (s - 1))))
    }

    /// Every signal a process may catch (all but KILL and STOP).
    pub fn catchable() -> Self {
        let all = u64::MAX;
        SigSet(all & !(1 << (g::SIGKILL - 1)) & !(1 << (g::SIGSTOP - 1)))
    }

    pub fn contains(self, sig: i32) -> bool {
        (1..=64).contains(&sig) && self.0 & (1u64 << (sig - 1)) != 0
    }
}

fn sigprocmask(how: u32, set: SigSet) -> Result<SigSet, Errno> {
    let mut old = 0u64;
    // SAFETY: `set` and `old` are valid 8-byte signal sets for the duration of
    // the call, and the size argument (8) matches them.
    let ret = unsafe {
        syscall6(
            g::__NR_rt_sigprocmask,
            [
                how as usize,
                &set.0 as *const u64 as usize,
                &mut old as *mut u64 as usize,
                8,
                0,
                0,
            ],
        )
    };
    check(ret)?;
    Ok(SigSet(old))
}

/// Block `set` and return the previous mask. `rt_sigprocmask(SIG_BLOCK, …)`.
pub fn block_signals(set: SigSet) -> Result<SigSet, Errno> {
    sigprocmask(g::SIG_BLOCK, set)
}

/// Install `old` as the signal mask. `rt_sigprocmask(SIG_SETMASK, …)`.
pub fn restore_signal_mask(old: SigSet) -> Result<(), Errno> {
    sigprocmask(g::SIG_SETMASK, old).map(|_| ())
}

/// `signalfd4(-1, set, 8, SFD_CLOEXEC)`: a descriptor that reads the blocked
/// signals in `set`. <https://man7.org/linux/man-pages/man2/signalfd.2.html>
pub fn signalfd(set: SigSet, nonblock: bool) -> Result<OwnedFd, Errno> {
    let mut flags = g::O_CLOEXEC as usize;
    if nonblock {
        flags |= g::O_NONBLOCK as usize;
    }
    // SAFETY: `set` is a valid 8-byte signal set; -1 asks for a new descriptor.
    let ret = unsafe {
        syscall6(
            g::__NR_signalfd4,
            [
                -1isize as usize,
                &set.0 as *const u64 as usize,
                8,
                flags,
                0,
                0,
            ],
        )
    };
    let fd = check(ret)? as i32;
    // SAFETY: the kernel just returned this new descriptor and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// One record read from a signalfd: the signal and the sending pid.
#[derive(Clone, Copy, Debug)]
pub struct SignalInfo {
    pub signo: i32,
    pub pid: i32,
}

/// Read one `struct signalfd_siginfo` (128 bytes) from a signalfd.
pub fn read_signal(fd: impl AsFd) -> Result<Option<SignalInfo>, Errno> {
    let mut buf = [0u8; 128];
    match rustix::io::read(fd.as_fd(), &mut buf) {
        Ok(128) => Ok(Some(SignalInfo {
            signo: u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as i32,
            pid: u32::from_ne_bytes([buf[12], buf[13], buf[14], buf[15]]) as i32,
        })),
        Ok(_) => Ok(None),
        Err(Errno::AGAIN) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `kill(pid, sig)` with a raw signal number (rustix's `Signal` rejects
/// real-time signals, which nsinit forwards too).
pub fn kill_raw(pid: i32, sig: i32) -> Result<(), Errno> {
    // SAFETY: kill takes two integers.
    check(unsafe {
        syscall6(
            g::__NR_kill,
            [pid as isize as usize, sig as usize, 0, 0, 0, 0],
        )
    })
    .map(|_| ())
}

/// Reset every catchable signal to its default disposition
/// (`rt_sigaction(sig, {SIG_DFL}, NULL, 8)`), as a new container process expects.
pub fn reset_signal_dispositions() {
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: u64,
        restorer: usize,
        mask: u64,
    }
    let act = KernelSigaction {
        handler: 0,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    for sig in 1..=64usize {
        if sig == g::SIGKILL as usize || sig == g::SIGSTOP as usize {
            continue;
        }
        // SAFETY: `act` is a valid kernel sigaction (SIG_DFL, no flags) that
        // outlives the call; the old-action pointer is NULL; size 8 matches the
        // kernel's sigset. Failures (signals reserved by the kernel) are ignored.
        unsafe {
            syscall6(
                g::__NR_rt_sigaction,
                [sig, &act as *const _ as usize, 0, 8, 0, 0],
            );
        }
    }
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

/// Raw descriptor number, for building `/proc/self/fd/N` paths.
pub fn fd_number(fd: impl AsFd) -> i32 {
    fd.as_fd().as_raw_fd()
}

fn opt_ptr(s: Option<&CStr>) -> usize {
    s.map_or(0, |s| s.as_ptr() as usize)
}

/// `mount(source, target, fstype, flags, data)` with the kernel's raw `MS_*`
/// flags, so propagation, remount and bind bits can be combined as the mount
/// table says. <https://man7.org/linux/man-pages/man2/mount.2.html>
pub fn mount(
    source: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: u64,
    data: Option<&CStr>,
) -> Result<(), Errno> {
    // SAFETY: every pointer is NULL or a valid NUL-terminated string that
    // outlives the call; flags is a plain integer.
    let ret = unsafe {
        syscall6(
            g::__NR_mount,
            [
                opt_ptr(source),
                target.as_ptr() as usize,
                opt_ptr(fstype),
                flags as usize,
                opt_ptr(data),
                0,
            ],
        )
    };
    check(ret).map(|_| ())
}

/// `umount2(target, flags)`.
pub fn umount2(target: &CStr, flags: u32) -> Result<(), Errno> {
    // SAFETY: target is a valid C string; flags an integer.
    let ret = unsafe {
        syscall6(
            g::__NR_umount2,
            [target.as_ptr() as usize, flags as usize, 0, 0, 0, 0],
        )
    };
    check(ret).map(|_| ())
}

/// `mount_setattr(AT_FDCWD, target, AT_RECURSIVE, {attr_set, attr_clr})`:
/// `MOUNT_ATTR_*` bits set and cleared on the mount at `target` and every
/// mount below it (Linux 5.12; older kernels answer `ENOSYS`). Setting
/// read-only is allowed in a user namespace, clearing a locked flag is not.
/// <https://man7.org/linux/man-pages/man2/mount_setattr.2.html>
pub fn mount_setattr_recursive(target: &CStr, set: u64, clear: u64) -> Result<(), Errno> {
    let attr = g::mount_attr {
        attr_set: set,
        attr_clr: clear,
        propagation: 0,
        userns_fd: 0,
    };
    mount_setattr(g::AT_FDCWD, target, g::AT_RECURSIVE, &attr)
}

/// `mount_setattr(tree, "", AT_EMPTY_PATH [| AT_RECURSIVE],
/// {attr_set: MOUNT_ATTR_IDMAP, userns_fd})`: idmap the detached mount
/// `tree` (from `open_tree(OPEN_TREE_CLONE)`), and with `recursive` every
/// mount below it, as the user namespace `userns` maps ids (Linux 5.12).
/// `EINVAL` when a filesystem of the tree cannot be idmapped.
pub fn mount_setattr_idmap(
    tree: impl AsFd,
    userns: impl AsFd,
    recursive: bool,
) -> Result<(), Errno> {
    let attr = g::mount_attr {
        attr_set: u64::from(g::MOUNT_ATTR_IDMAP),
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_fd().as_raw_fd() as u64,
    };
    let rec = if recursive { g::AT_RECURSIVE } else { 0 };
    mount_setattr(tree.as_fd().as_raw_fd(), c"", g::AT_EMPTY_PATH | rec, &attr)
}

fn mount_setattr(dirfd: i32, path: &CStr, flags: u32, attr: &g::mount_attr) -> Result<(), Errno> {
    // SAFETY: path is a valid C string and `attr` a valid mount_attr that
    // outlives the call; its size is passed as the kernel expects. A bad
    // descriptor number is an error (EBADF), not undefined behaviour.
    let ret = unsafe {
        syscall6(
            g::__NR_mount_setattr,
            [
                dirfd as isize as usize,
                path.as_ptr() as usize,
                flags as usize,
                attr as *const g::mount_attr as usize,
                core::mem::size_of::<g::mount_attr>(),
                0,
            ],
        )
    };
    check(ret).map(|_| ())
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

/// `setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &1, 4)`: ask the kernel to
/// explain netlink errors (rustix has no public generic setsockopt).
/// <https://man7.org/linux/man-pages/man7/netlink.7.html>
pub fn set_netlink_ext_ack(fd: impl AsFd) -> Result<(), Errno> {
    use linux_raw_sys::{net::SOL_NETLINK, netlink::NETLINK_EXT_ACK};
    let on: u32 = 1;
    let fd = fd.as_fd().as_raw_fd() as usize;
    let args = [
        fd,
        SOL_NETLINK as usize,
        NETLINK_EXT_ACK as usize,
        &on as *const u32 as usize,
    ];
    // SAFETY: `on` is a valid 4-byte int that outlives the call and the length
    // argument (4) matches it; `fd` is borrowed for the duration of the call.
    check(unsafe {
        syscall6(
            g::__NR_setsockopt,
            [args[0], args[1], args[2], args[3], 4, 0],
        )
    })
    .map(|_| ())
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

/// `struct sched_attr` from <linux/sched/types.h>, in its second version
/// (with the utilization clamps, left at "no clamp" unless a
/// `SCHED_FLAG_UTIL_CLAMP_*` flag asks the kernel to read them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedAttr {
    pub policy: u32,
    pub flags: u64,
    pub nice: i32,
    pub priority: u32,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
}

/// `sched_setattr(0, attr, 0)`: the calling thread's scheduling policy and
/// parameters. <https://man7.org/linux/man-pages/man2/sched_setattr.2.html>
pub fn sched_setattr(a: &SchedAttr) -> Result<(), Errno> {
    // The kernel's layout: size, policy, flags, nice, priority, runtime,
    // deadline, period, util_min, util_max (56 bytes).
    #[repr(C)]
    struct Raw {
        size: u32,
        policy: u32,
        flags: u64,
        nice: i32,
        priority: u32,
        runtime: u64,
        deadline: u64,
        period: u64,
        util_min: u32,
        util_max: u32,
    }
    let raw = Raw {
        size: core::mem::size_of::<Raw>() as u32,
        policy: a.policy,
        flags: a.flags,
        nice: a.nice,
        priority: a.priority,
        runtime: a.runtime,
        deadline: a.deadline,
        period: a.period,
        util_min: 0,
        util_max: 1024,
    };
    // SAFETY: `raw` is a valid sched_attr whose size field matches its
    // layout; it outlives the call, which only reads it.
    let ret = unsafe {
        syscall6(
            g::__NR_sched_setattr,
            [0, &raw as *const Raw as usize, 0, 0, 0, 0],
        )
    };
    check(ret).map(|_| ())
}

/// `set_mempolicy(mode, nodemask, maxnode)`: the calling thread's NUMA
/// memory policy (`mode` with its `MPOL_F_*` flags) over the nodes of
/// `nodes` (bit N of word N/64 is node N; empty: no mask).
/// <https://man7.org/linux/man-pages/man2/set_mempolicy.2.html>
pub fn set_mempolicy(mode: u32, nodes: &[u64]) -> Result<(), Errno> {
    let (mask, maxnode) = match nodes {
        [] => (0, 0),
        // The kernel reads maxnode - 1 bits.
        n => (n.as_ptr() as usize, n.len() * 64 + 1),
    };
    // SAFETY: `nodes` is a valid slice of `maxnode - 1` bits that outlives
    // the call, which only reads it; an empty mask is passed as NULL, 0.
    let ret = unsafe {
        syscall6(
            g::__NR_set_mempolicy,
            [mode as usize, mask, maxnode, 0, 0, 0],
        )
    };
    check(ret).map(|_| ())
}

/// `ioprio_set(IOPRIO_WHO_PROCESS, 0, value)`: the calling process's I/O
/// class and level (`class << 13 | level`).
/// <https://man7.org/linux/man-pages/man2/ioprio_set.2.html>
pub fn ioprio_set_self(value: u16) -> Result<(), Errno> {
    const IOPRIO_WHO_PROCESS: usize = 1;
    // SAFETY: ioprio_set takes integers only.
    let ret = unsafe {
        syscall6(
            g::__NR_ioprio_set,
            [IOPRIO_WHO_PROCESS, 0, value as usize, 0, 0, 0],
        )
    };
    check(ret).map(|_| ())
}

/// One classic-BPF instruction, `struct sock_filter` from <linux/filter.h>.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockFilter {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// `struct sock_fprog` from <linux/filter.h>.
#[repr(C)]
struct SockFprog {
    len: u16,
    filter: *const SockFilter,
}

/// `SECCOMP_SET_MODE_FILTER` from <linux/seccomp.h>.
const SECCOMP_SET_MODE_FILTER: usize = 1;

/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog)`: install a filter on the
/// calling thread (all threads with TSYNC). Returns the kernel's result: 0, a
/// thread id for a failed TSYNC, or a listener fd with NEW_LISTENER (which
/// nsinit never passes). The kernel needs no_new_privs or CAP_SYS_ADMIN.
/// <https://man7.org/linux/man-pages/man2/seccomp.2.html>
pub fn seccomp_set_mode_filter(flags: u32, filter: &[SockFilter]) -> Result<usize, Errno> {
    let len = u16::try_from(filter.len()).map_err(|_| Errno::INVAL)?;
    let prog = SockFprog {
        len,
        filter: filter.as_ptr(),
    };
    // SAFETY: `prog` points to `len` valid instructions that outlive the call;
    // the kernel copies the program before returning and keeps no pointer.
    let ret = unsafe {
        syscall6(
            g::__NR_seccomp,
            [
                SECCOMP_SET_MODE_FILTER,
                flags as usize,
                &prog as *const SockFprog as usize,
                0,
                0,
                0,
            ],
        )
    };
    check(ret)
}

/// Whether the kernel knows the filter flag `flag`: `seccomp(SET_MODE_FILTER,
/// flag, NULL)` checks the flags before reading the program, so it fails with
/// `EFAULT` for a known flag and `EINVAL` for an unknown one; it installs
/// nothing either way.
pub fn seccomp_flag_known(flag: u32) -> bool {
    // SAFETY: a NULL program pointer is never dereferenced by us; the kernel
    // validates it (copy_from_user fails with EFAULT) after checking the flags.
    let ret = unsafe {
        syscall6(
            g::__NR_seccomp,
            [SECCOMP_SET_MODE_FILTER, flag as usize, 0, 0, 0, 0],
        )
    };
    check(ret) != Err(Errno::INVAL)
}

/// `SECCOMP_FILTER_FLAG_NEW_LISTENER` from <linux/seccomp.h>.
pub const SECCOMP_FILTER_FLAG_NEW_LISTENER: u32 = 8;

/// [`seccomp_set_mode_filter`] with `SECCOMP_FILTER_FLAG_NEW_LISTENER` added:
/// the filter's user-notification descriptor (close-on-exec, as the kernel
/// creates it). With TSYNC the caller must pass TSYNC_ESRCH too, so that the
/// result cannot be a thread id.
pub fn seccomp_set_mode_filter_listener(
    flags: u32,
    filter: &[SockFilter],
) -> Result<OwnedFd, Errno> {
    let fd = seccomp_set_mode_filter(flags | SECCOMP_FILTER_FLAG_NEW_LISTENER, filter)?;
    let fd = i32::try_from(fd).map_err(|_| Errno::INVAL)?;
    // SAFETY: with NEW_LISTENER (and without TSYNC, or with TSYNC_ESRCH) a
    // successful call returns a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
