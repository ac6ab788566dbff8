//! Where and how the container's process runs: scheduling policy
//! (`sched_setattr`), I/O priority (`ioprio_set`) and CPU affinity
//! (`sched_setaffinity`) — OCI `process.scheduler`, `process.ioPriority`
//! and `process.execCPUAffinity`.

use rustix::thread::CpuSet;

use crate::error::{Error, Result, strerror};
use crate::sys;

/// The policies `sched_setattr` takes, by their OCI names. `SCHED_ISO` is
/// named by the spec but was never merged into Linux.
pub const POLICIES: &[(&str, u32)] = &[
    ("SCHED_OTHER", 0),
    ("SCHED_FIFO", 1),
    ("SCHED_RR", 2),
    ("SCHED_BATCH", 3),
    ("SCHED_IDLE", 5),
    ("SCHED_DEADLINE", 6),
];

/// `SCHED_FLAG_*` from <linux/sched.h>.
pub const FLAGS: &[(&str, u64)] = &[
    ("SCHED_FLAG_RESET_ON_FORK", 0x01),
    ("SCHED_FLAG_RECLAIM", 0x02),
    ("SCHED_FLAG_DL_OVERRUN", 0x04),
    ("SCHED_FLAG_KEEP_POLICY", 0x08),
    ("SCHED_FLAG_KEEP_PARAMS", 0x10),
    ("SCHED_FLAG_UTIL_CLAMP_MIN", 0x20),
    ("SCHED_FLAG_UTIL_CLAMP_MAX", 0x40),
];

/// The name of `value` in a `(name, value)` table ("?" when missing).
pub fn name_of<T: Copy + PartialEq>(table: &[(&'static str, T)], value: T) -> &'static str {
    table
        .iter()
        .find(|(_, v)| *v == value)
        .map_or("?", |(n, _)| n)
}

/// The names of a `(name, value)` table, in order.
pub fn names<T>(table: &[(&'static str, T)]) -> Vec<&'static str> {
    table.iter().map(|(n, _)| *n).collect()
}

pub const SCHED_FIFO: u32 = 1;
pub const SCHED_RR: u32 = 2;
pub const SCHED_DEADLINE: u32 = 6;

/// A scheduling policy with its parameters, as `sched_setattr` takes them
/// (SCHED_DEADLINE's runtime, deadline and period in nanoseconds).
pub use crate::sys::SchedAttr as Scheduler;

impl Scheduler {
    /// Set it on the calling thread; what it forks and execs inherits it
    /// (unless `SCHED_FLAG_RESET_ON_FORK`).
    pub fn apply(&self) -> Result<()> {
        sys::sched_setattr(self).map_err(|e| {
            let realtime = matches!(self.policy, SCHED_FIFO | SCHED_RR);
            let hint = if e == rustix::io::Errno::PERM && realtime {
                " (a real-time policy needs a real-time budget in the container's cpu \
                 cgroup where the kernel schedules groups: linux.resources.cpu.realtimeRuntime)"
            } else {
                ""
            };
            Error::new(format!(
                "process.scheduler: sched_setattr {}: {}{hint}",
                name_of(POLICIES, self.policy),
                strerror(e)
            ))
        })
    }
}

/// The I/O scheduling classes, by their OCI names (`IOPRIO_CLASS_*`).
pub const IO_CLASSES: &[(&str, u16)] = &[
    ("IOPRIO_CLASS_RT", 1),
    ("IOPRIO_CLASS_BE", 2),
    ("IOPRIO_CLASS_IDLE", 3),
];

/// An I/O priority: class and level (0 highest … 7 lowest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoPriority {
    pub class: u16,
    pub level: u16,
}

impl IoPriority {
    /// Set it on the calling process; its children inherit it.
    pub fn apply(&self) -> Result<()> {
        let value = (self.class << 13) | self.level;
        sys::ioprio_set_self(value).map_err(|e| {
            let class = name_of(IO_CLASSES, self.class);
            Error::sys(
                format!("process.ioPriority: ioprio_set {class} {}", self.level),
                e,
            )
        })
    }
}

/// Parse a list such as `0-3,7` into a bit mask of 1024 bits (`None`:
/// malformed, or a number beyond them).
fn parse_list(list: &str) -> Option<[u64; 16]> {
    let mut mask = [0u64; 16];
    let num = |s: &str| {
        s.parse::<usize>()
            .ok()
            .filter(|&n| n < 1024 && !s.starts_with('+'))
    };
    for part in list.split(',') {
        let (first, last) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(part)?, num(part)?),
        };
        if first > last {
            return None;
        }
        (first..=last).for_each(|n| mask[n / 64] |= 1 << (n % 64));
    }
    Some(mask)
}

/// Parse a CPU list such as `0-3,7` into a set (`None`: malformed, or a
/// CPU beyond what the kernel's affinity calls take here).
pub fn parse_cpus(list: &str) -> Option<CpuSet> {
    let mask = parse_list(list)?;
    let mut set = CpuSet::new();
    for n in (0..CpuSet::MAX_CPU.min(1024)).filter(|n| mask[n / 64] & (1 << (n % 64)) != 0) {
        set.set(n);
    }
    Some(set)
}

/// The NUMA memory policy modes `set_mempolicy` takes (`MPOL_*`).
pub const MPOL_MODES: &[(&str, u32)] = &[
    ("MPOL_DEFAULT", 0),
    ("MPOL_PREFERRED", 1),
    ("MPOL_BIND", 2),
    ("MPOL_INTERLEAVE", 3),
    ("MPOL_LOCAL", 4),
    ("MPOL_PREFERRED_MANY", 5),
    ("MPOL_WEIGHTED_INTERLEAVE", 6),
];

/// Its mode flags (`MPOL_F_*`).
pub const MPOL_FLAGS: &[(&str, u32)] = &[
    ("MPOL_F_NUMA_BALANCING", 1 << 13),
    ("MPOL_F_RELATIVE_NODES", 1 << 14),
    ("MPOL_F_STATIC_NODES", 1 << 15),
];

/// A NUMA memory policy (OCI `linux.memoryPolicy`): mode with its flags,
/// and the node mask (empty: none given).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MemoryPolicy {
    pub mode: u32,
    pub flags: u32,
    pub nodes: Vec<u64>,
}

impl MemoryPolicy {
    /// A node list such as `0-3,7` as the kernel's mask (`None`: malformed).
    pub fn parse_nodes(list: &str) -> Option<Vec<u64>> {
        let mask = parse_list(list)?;
        let used = mask.iter().rposition(|w| *w != 0).map_or(0, |i| i + 1);
        Some(mask[..used].to_vec())
    }

    /// Set it on the calling thread; what it forks and execs inherits it.
    pub fn apply(&self) -> Result<()> {
        sys::set_mempolicy(self.mode | self.flags, &self.nodes).map_err(|e| {
            let mode = name_of(MPOL_MODES, self.mode);
            Error::sys(format!("linux.memoryPolicy: set_mempolicy {mode}"), e)
        })
    }
}

/// Every CPU: as an affinity, the kernel narrows it to what the cgroup's
/// cpuset allows, which undoes any pinning the caller inherited.
pub fn all_cpus() -> CpuSet {
    let mut set = CpuSet::new();
    (0..CpuSet::MAX_CPU).for_each(|n| set.set(n));
    set
}

/// Pin the calling thread (and what it forks) to `cpus`; `what` names the
/// setting for the message.
pub fn set_affinity(cpus: &CpuSet, what: &str) -> Result<()> {
    rustix::thread::sched_setaffinity(None, cpus)
        .map_err(|e| Error::sys(format!("{what}: sched_setaffinity"), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(s: &CpuSet) -> Vec<usize> {
        (0..CpuSet::MAX_CPU).filter(|&n| s.is_set(n)).collect()
    }

    #[test]
    fn cpu_lists_parse_as_the_kernel_writes_them() {
        assert_eq!(members(&parse_cpus("0-3,7").unwrap()), [0, 1, 2, 3, 7]);
        assert_eq!(members(&parse_cpus("5").unwrap()), [5]);
        assert_eq!(members(&parse_cpus("1,1-2").unwrap()), [1, 2]);
        for bad in ["", "3-1", "a", "1,", "-1", "+1", "0-99999", "1 2"] {
            assert!(parse_cpus(bad).is_none(), "{bad:?}");
        }
        assert_eq!(members(&all_cpus()).len(), CpuSet::MAX_CPU);
    }
}
