//! Raw system calls for scheduling and memory placement: sched_setattr(2),
//! set_mempolicy(2), ioprio_set(2).
#![allow(unsafe_code)]

use linux_raw_sys::general as g;
use rustix::io::Errno;

use super::raw::{check, syscall6};

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
