//! cgroup v1 limit writers: one function per controller, each writing into
//! the container's directory of that controller's hierarchy.

use std::path::Path;

use rustix::io::Errno;

use super::fs;
use crate::config::{BlkioDevice, Cgroups, THROTTLES};
use crate::error::{Error, Result};

/// memory: `memory.limit_in_bytes`, `memory.memsw.limit_in_bytes`,
/// `memory.soft_limit_in_bytes`.
///
/// The kernel keeps `limit <= memsw.limit` at every moment, so which of the
/// two goes first depends on the current limit (see [`memsw_first`]).
pub fn set_memory(dir: &Path, cfg: &Cgroups) -> Result<()> {
    const LIMIT: &str = "memory.limit_in_bytes";
    const MEMSW: &str = "memory.memsw.limit_in_bytes";
    match cfg.memory_swap {
        Some(swap) => {
            if !fs::exists(dir, MEMSW) {
                return Err(Error::new(format!(
                    "memory_swap: {} does not exist (swap accounting is disabled in this kernel)",
                    dir.join(MEMSW).display()
                )));
            }
            check_swap_not_below_memory(cfg.memory, swap)?;
            let current = fs::read_u64(dir, LIMIT)?;
            if memsw_first(current, swap) {
                fs::write(dir, MEMSW, swap)?;
                if let Some(m) = cfg.memory {
                    fs::write(dir, LIMIT, m)?;
                }
            } else {
                if let Some(m) = cfg.memory {
                    fs::write(dir, LIMIT, m)?;
                }
                fs::write(dir, MEMSW, swap)?;
            }
        }
        None => {
            if let Some(m) = cfg.memory {
                fs::write(dir, LIMIT, m)?;
            }
        }
    }
    if let Some(r) = cfg.memory_reservation {
        fs::write(dir, "memory.soft_limit_in_bytes", r)?;
    }
    if cfg.oom_kill_disable {
        fs::write(dir, "memory.oom_control", 1u64)?;
    }
    if let Some(s) = cfg.memory_swappiness {
        fs::write(dir, "memory.swappiness", s)?;
    }
    if let Some(t) = cfg.kernel_memory_tcp {
        // Kernels without v1 kernel memory accounting have no such file.
        const TCP: &str = "memory.kmem.tcp.limit_in_bytes";
        if fs::exists(dir, TCP) {
            fs::write(dir, TCP, t)?;
        } else {
            crate::log::warn(&format_args!(
                "kernel_memory_tcp ignored: {} does not exist",
                dir.join(TCP).display()
            ));
        }
    }
    Ok(())
}

/// `memory_swap` is the memory+swap total, so it cannot be below `memory`.
pub fn check_swap_not_below_memory(memory: Option<i64>, swap: i64) -> Result<()> {
    match memory {
        Some(m) if m > 0 && swap >= 0 && swap < m => Err(Error::new(format!(
            "memory_swap ({swap}) must not be below memory ({m}): it is memory plus swap"
        ))),
        _ => Ok(()),
    }
}

/// Write memsw before the memory limit? Yes when the new memsw value is not
/// below the current memory limit (raising, or `-1`); otherwise the memory
/// limit must come down first. `current` is `None` when unreadable.
pub fn memsw_first(current: Option<u64>, swap: i64) -> bool {
    swap < 0 || current.is_some_and(|c| swap as u64 >= c)
}

/// cpu: `cpu.shares` and `cpu.idle` ([`set_weight_and_idle`]),
/// `cpu.cfs_period_us` before `cpu.cfs_quota_us` (a quota is checked against
/// the period in force), `cpu.cfs_burst_us` with the quota ([`write_pair`]),
/// then realtime ([`set_rt`]).
pub fn set_cpu(dir: &Path, cfg: &Cgroups) -> Result<()> {
    let shares = cfg.cpu_shares.filter(|s| *s != 0);
    set_weight_and_idle(dir, "cpu.shares", shares, cfg.cpu_idle)?;
    if let Some(p) = cfg.cpu_period {
        fs::write(dir, "cpu.cfs_period_us", p)?;
    }
    let quota = cfg
        .cpu_quota
        .map(|q| ("cpu.cfs_quota_us", if q > 0 { q } else { -1 }.to_string()));
    write_pair(dir, burst(dir, "cpu.cfs_burst_us", cfg)?, quota)?;
    set_rt(dir, cfg)
}

/// May `field` be written to `dir/file`? A missing file is an error naming
/// both, unless the value is the kernel's default (`default`): then there is
/// nothing to write.
pub(super) fn knob(dir: &Path, file: &str, field: &str, default: bool, why: &str) -> Result<bool> {
    match fs::exists(dir, file) {
        true => Ok(true),
        false if default => Ok(false),
        false => Err(Error::new(format!(
            "{field}: {} does not exist ({why})",
            dir.join(file).display()
        ))),
    }
}

/// The weight (`cpu.shares` / `cpu.weight`) and `cpu.idle`: the kernel
/// refuses a weight for an idle cgroup (EINVAL), so the weight goes after
/// `idle 0` and before `idle 1`; a cgroup already idle keeps its weight for
/// when it is no longer idle.
pub(super) fn set_weight_and_idle(
    dir: &Path,
    file: &str,
    weight: Option<u64>,
    idle: Option<u64>,
) -> Result<()> {
    let set_idle = |v: u64| match knob(dir, "cpu.idle", "cpu_idle", v == 0, "Linux 5.15+")? {
        true => fs::write(dir, "cpu.idle", v),
        false => Ok(()),
    };
    if idle == Some(0) {
        set_idle(0)?;
    }
    if let Some(w) = weight {
        match fs::write(dir, file, w) {
            Err(e) if idle == Some(1) && e.errno() == Some(Errno::INVAL) => {}
            r => r?,
        }
    }
    match idle {
        Some(1) => set_idle(1),
        _ => Ok(()),
    }
}

/// The burst write (`cpu.cfs_burst_us` / `cpu.max.burst`), if one is asked.
pub(super) fn burst(
    dir: &Path,
    file: &'static str,
    cfg: &Cgroups,
) -> Result<Option<(&'static str, String)>> {
    Ok(match cfg.cpu_burst {
        Some(b) if knob(dir, file, "cpu_burst", b == 0, "Linux 5.14+")? => {
            Some((file, b.to_string()))
        }
        _ => None,
    })
}

/// Write `a`, then `b`. The kernel checks each against the other's value in
/// force (a burst against the quota, a realtime period against the
/// runtime): when it refuses `a` (EINVAL) and `b` is to be written too, `b`
/// goes first and `a` after it.
pub(super) fn write_pair(
    dir: &Path,
    a: Option<(&str, String)>,
    b: Option<(&str, String)>,
) -> Result<()> {
    let first = match &a {
        Some((file, v)) => fs::write(dir, file, v),
        None => Ok(()),
    };
    match (first, a, b) {
        (Err(e), Some((af, av)), Some((bf, bv))) if e.errno() == Some(Errno::INVAL) => {
            fs::write(dir, bf, bv)?;
            fs::write(dir, af, av)
        }
        (r, _, b) => {
            r?;
            b.map_or(Ok(()), |(file, v)| fs::write(dir, file, v))
        }
    }
}

const RT_PERIOD: &str = "cpu.rt_period_us";
const RT_RUNTIME: &str = "cpu.rt_runtime_us";

/// cpu (realtime): `cpu.rt_period_us`, then `cpu.rt_runtime_us` (see
/// [`write_pair`]). Only kernels built with CONFIG_RT_GROUP_SCHED have them;
/// the kernel refuses a runtime above the period or above what the parent
/// grants, and the error says what the parent has.
fn set_rt(dir: &Path, cfg: &Cgroups) -> Result<()> {
    let field = match (cfg.cpu_rt_period, cfg.cpu_rt_runtime) {
        (None, None) => return Ok(()),
        (_, None) => "cpu_rt_period",
        _ => "cpu_rt_runtime",
    };
    for file in [RT_PERIOD, RT_RUNTIME] {
        knob(
            dir,
            file,
            field,
            false,
            "no CONFIG_RT_GROUP_SCHED in this kernel",
        )?;
    }
    let period = cfg.cpu_rt_period.map(|p| (RT_PERIOD, p.to_string()));
    let runtime = cfg.cpu_rt_runtime.map(|r| (RT_RUNTIME, r.to_string()));
    write_pair(dir, period, runtime).map_err(|e| match e.errno() {
        Some(Errno::INVAL) => e.context(format_args!(
            "{field}: a runtime must fit in the period and in what the parent grants ({})",
            dir.parent().unwrap_or(dir).join(RT_RUNTIME).display()
        )),
        _ => e,
    })
}

/// cpuset: copy `cpuset.cpus` and `cpuset.mems` down from the parent where a
/// level's file is empty (a task cannot join a cpuset with no cpus or mems),
/// for every level from below `top` down to `dir`.
pub fn copy_cpuset_down(top: &Path, dir: &Path) -> Result<()> {
    let Ok(rel) = dir.strip_prefix(top) else {
        return Ok(());
    };
    let mut parent = top.to_path_buf();
    for part in rel.components() {
        let cur = parent.join(part);
        for file in ["cpuset.cpus", "cpuset.mems"] {
            if fs::read(&cur, file)?.is_empty() {
                let value = fs::read(&parent, file)?;
                fs::write(&cur, file, value)?;
            }
        }
        parent = cur;
    }
    Ok(())
}

/// cpuset: `cpuset.cpus`, `cpuset.mems`.
pub fn set_cpuset(dir: &Path, cfg: &Cgroups) -> Result<()> {
    if let Some(c) = &cfg.cpuset_cpus {
        fs::write(dir, "cpuset.cpus", c)?;
    }
    if let Some(m) = &cfg.cpuset_mems {
        fs::write(dir, "cpuset.mems", m)?;
    }
    Ok(())
}

/// pids: `pids.max` (`max` for a limit of 0 or less).
pub fn set_pids(dir: &Path, cfg: &Cgroups) -> Result<()> {
    if let Some(limit) = cfg.pids_limit {
        fs::write(dir, "pids.max", pids_max(limit))?;
    }
    Ok(())
}

/// The `pids.max` value for a configured limit.
pub fn pids_max(limit: i64) -> String {
    if limit > 0 {
        limit.to_string()
    } else {
        "max".to_string()
    }
}

/// blkio: `blkio.weight` and `blkio.weight_device` (CFQ), or their
/// `blkio.bfq.` twins when that is what the kernel offers (BFQ); the
/// `blkio.throttle.*_device` rules, one `MAJ:MIN RATE` per write.
pub fn set_blkio(dir: &Path, cfg: &Cgroups) -> Result<()> {
    if let Some(w) = cfg.blkio_weight {
        let files = ["blkio.weight", "blkio.bfq.weight"];
        fs::write(dir, weight_file(dir, files, "blkio_weight")?, w)?;
    }
    if !cfg.blkio_weight_device.is_empty() {
        let files = ["blkio.weight_device", "blkio.bfq.weight_device"];
        let file = weight_file(dir, files, "blkio_weight_device")?;
        fs::write_each(dir, file, &lines(&cfg.blkio_weight_device))?;
    }
    for ((_, file, _), list) in THROTTLES.iter().zip(&cfg.blkio_throttle) {
        fs::write_each(dir, file, &lines(list))?;
    }
    Ok(())
}

/// `MAJ:MIN VALUE` lines.
pub(super) fn lines(list: &[BlkioDevice]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

/// The first of `files` (CFQ's, BFQ's) that exists.
fn weight_file(dir: &Path, files: [&'static str; 2], field: &str) -> Result<&'static str> {
    files
        .into_iter()
        .find(|f| fs::exists(dir, f))
        .ok_or_else(|| {
            Error::new(format!(
                "{field}: neither {} nor {} exists in {} (no CFQ or BFQ I/O scheduler)",
                files[0],
                files[1],
                dir.display()
            ))
        })
}

/// net_cls: `net_cls.classid`.
pub fn set_net_cls(dir: &Path, cfg: &Cgroups) -> Result<()> {
    match cfg.net_cls_classid {
        Some(id) => fs::write(dir, "net_cls.classid", u64::from(id)),
        None => Ok(()),
    }
}

/// net_prio: `net_prio.ifpriomap`, one `IFNAME PRIO` per write.
pub fn set_net_prio(dir: &Path, cfg: &Cgroups) -> Result<()> {
    let map = cfg.net_prio_ifpriomap.iter();
    let map: Vec<String> = map.map(|(n, p)| format!("{n} {p}")).collect();
    fs::write_each(dir, "net_prio.ifpriomap", &map)
}

/// hugetlb: `hugetlb.<size>.limit_in_bytes` per page size.
pub fn set_hugetlb(dir: &Path, cfg: &Cgroups) -> Result<()> {
    fs::write_hugetlb_limits(dir, cfg, "limit_in_bytes")
}

/// devices: deny everything (`a` to `devices.deny`), then allow each rule
/// (`c 136:* rwm` to `devices.allow`). Left alone under `allow_all_devices`.
pub fn set_devices(dir: &Path, cfg: &Cgroups) -> Result<()> {
    if cfg.allow_all_devices {
        return Ok(());
    }
    fs::write(dir, "devices.deny", "a")?;
    // One open, one write per rule (the kernel parses one rule per write).
    let rules: Vec<String> = cfg
        .allowed_devices
        .iter()
        .map(|d| d.cgroup_rule())
        .collect();
    fs::write_each(dir, "devices.allow", &rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Device, DeviceKind};
    use std::path::PathBuf;

    struct TempDir(PathBuf);
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A directory holding `files` with the given initial contents.
    fn knobs(tag: &str, files: &[(&str, &str)]) -> TempDir {
        let dir = std::env::temp_dir().join(format!("nsinit-v1-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (f, v) in files {
            std::fs::write(dir.join(f), v).unwrap();
        }
        TempDir(dir)
    }

    fn get(d: &TempDir, f: &str) -> String {
        std::fs::read_to_string(d.0.join(f)).unwrap()
    }

    const UNLIMITED: &str = "9223372036854771712\n";

    #[test]
    fn memory_limits_and_reservation() {
        let d = knobs(
            "mem",
            &[
                ("memory.limit_in_bytes", UNLIMITED),
                ("memory.memsw.limit_in_bytes", UNLIMITED),
                ("memory.soft_limit_in_bytes", UNLIMITED),
            ],
        );
        let cfg = Cgroups {
            memory: Some(33554432),
            memory_swap: Some(67108864),
            memory_reservation: Some(16777216),
            ..Default::default()
        };
        set_memory(&d.0, &cfg).unwrap();
        assert_eq!(get(&d, "memory.limit_in_bytes"), "33554432");
        assert_eq!(get(&d, "memory.memsw.limit_in_bytes"), "67108864");
        assert_eq!(get(&d, "memory.soft_limit_in_bytes"), "16777216");
    }

    #[test]
    fn swap_requested_without_memsw_file_is_an_error() {
        let d = knobs("noswap", &[("memory.limit_in_bytes", UNLIMITED)]);
        let cfg = Cgroups {
            memory: Some(1 << 25),
            memory_swap: Some(-1),
            ..Default::default()
        };
        let err = set_memory(&d.0, &cfg).unwrap_err().to_string();
        assert!(err.starts_with("memory_swap: "), "{err}");
        assert!(
            err.contains("memory.memsw.limit_in_bytes does not exist"),
            "{err}"
        );
        assert_eq!(
            get(&d, "memory.limit_in_bytes"),
            UNLIMITED,
            "nothing written"
        );
        // Without swap, memory alone is fine.
        let cfg = Cgroups {
            memory: Some(1 << 25),
            ..Default::default()
        };
        set_memory(&d.0, &cfg).unwrap();
        assert_eq!(get(&d, "memory.limit_in_bytes"), "33554432");
    }

    #[test]
    fn swap_below_memory_is_rejected() {
        let err = check_swap_not_below_memory(Some(100), 50)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("memory_swap (50) must not be below memory (100)"),
            "{err}"
        );
        assert!(check_swap_not_below_memory(Some(100), -1).is_ok());
        assert!(check_swap_not_below_memory(Some(100), 100).is_ok());
        assert!(check_swap_not_below_memory(None, 5).is_ok());
    }

    #[test]
    fn memsw_order_follows_the_current_limit() {
        // Fresh cgroup (unlimited): a finite memsw must wait for the memory limit.
        assert!(!memsw_first(Some(9223372036854771712), 1 << 26));
        // Raising above the current limit: memsw first.
        assert!(memsw_first(Some(1 << 25), 1 << 26));
        // Lowering below it: memory first.
        assert!(!memsw_first(Some(1 << 27), 1 << 26));
        // Unlimited swap can always go first.
        assert!(memsw_first(Some(1 << 25), -1));
        assert!(memsw_first(None, -1));
    }

    #[test]
    fn cpu_shares_period_quota() {
        let d = knobs(
            "cpu",
            &[
                ("cpu.shares", "1024"),
                ("cpu.cfs_period_us", "100000"),
                ("cpu.cfs_quota_us", "-1"),
            ],
        );
        let cfg = Cgroups {
            cpu_shares: Some(512),
            cpu_period: Some(50000),
            cpu_quota: Some(25000),
            ..Default::default()
        };
        set_cpu(&d.0, &cfg).unwrap();
        assert_eq!(get(&d, "cpu.shares"), "512");
        assert_eq!(get(&d, "cpu.cfs_period_us"), "50000");
        assert_eq!(get(&d, "cpu.cfs_quota_us"), "25000");
        set_cpu(
            &d.0,
            &Cgroups {
                cpu_quota: Some(0),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(get(&d, "cpu.cfs_quota_us"), "-1");
        assert_eq!(get(&d, "cpu.shares"), "512", "unset knobs untouched");
    }

    #[test]
    fn cpu_burst_idle_and_realtime() {
        let d = knobs(
            "cpux",
            &[
                ("cpu.shares", "1024"),
                ("cpu.cfs_quota_us", "-1"),
                ("cpu.cfs_burst_us", "0"),
                ("cpu.idle", "0"),
                ("cpu.rt_period_us", "1000000"),
                ("cpu.rt_runtime_us", "0"),
            ],
        );
        let cfg = Cgroups {
            cpu_shares: Some(512),
            cpu_quota: Some(50000),
            cpu_burst: Some(20000),
            cpu_idle: Some(1),
            cpu_rt_period: Some(500000),
            cpu_rt_runtime: Some(10000),
            ..Default::default()
        };
        set_cpu(&d.0, &cfg).unwrap();
        for (file, want) in [
            ("cpu.shares", "512"),
            ("cpu.cfs_quota_us", "50000"),
            ("cpu.cfs_burst_us", "20000"),
            ("cpu.idle", "1"),
            ("cpu.rt_period_us", "500000"),
            ("cpu.rt_runtime_us", "10000"),
        ] {
            assert_eq!(get(&d, file), want, "{file}");
        }

        // A kernel without the files: an error naming the field and the
        // file, except for a value that asks for the default (0).
        for f in ["cpu.cfs_burst_us", "cpu.idle", "cpu.rt_runtime_us"] {
            std::fs::remove_file(d.0.join(f)).unwrap();
        }
        let zero = Cgroups {
            cpu_burst: Some(0),
            cpu_idle: Some(0),
            ..Default::default()
        };
        set_cpu(&d.0, &zero).unwrap();
        for (cfg, field, file, why) in [
            (
                Cgroups {
                    cpu_burst: Some(1),
                    ..Default::default()
                },
                "cpu_burst",
                "cpu.cfs_burst_us",
                "Linux 5.14+",
            ),
            (
                Cgroups {
                    cpu_idle: Some(1),
                    ..Default::default()
                },
                "cpu_idle",
                "cpu.idle",
                "Linux 5.15+",
            ),
            (
                Cgroups {
                    cpu_rt_period: Some(1000),
                    ..Default::default()
                },
                "cpu_rt_period",
                "cpu.rt_runtime_us",
                "no CONFIG_RT_GROUP_SCHED in this kernel",
            ),
        ] {
            let err = set_cpu(&d.0, &cfg).unwrap_err().to_string();
            let want = format!(
                "{field}: {} does not exist ({why})",
                d.0.join(file).display()
            );
            assert_eq!(err, want);
        }
        assert_eq!(get(&d, "cpu.rt_period_us"), "500000", "nothing written");
    }

    #[test]
    fn pairs_are_written_in_order() {
        let d = knobs("pair", &[("a", "0"), ("b", "0")]);
        let v = |f, n: u64| Some((f, n.to_string()));
        write_pair(&d.0, v("a", 1), v("b", 2)).unwrap();
        assert_eq!((get(&d, "a"), get(&d, "b")), ("1".into(), "2".into()));
        write_pair(&d.0, None, v("b", 3)).unwrap();
        write_pair(&d.0, v("a", 4), None).unwrap();
        assert_eq!((get(&d, "a"), get(&d, "b")), ("4".into(), "3".into()));
        // Only EINVAL swaps the order: any other failure is the error.
        let err = write_pair(&d.0, v("missing", 1), v("b", 5)).unwrap_err();
        assert_eq!(err.errno(), Some(Errno::NOENT));
        assert_eq!(get(&d, "b"), "3");
    }

    #[test]
    fn cpuset_is_copied_down_where_empty() {
        let d = knobs(
            "cpuset",
            &[("cpuset.cpus", "0-3\n"), ("cpuset.mems", "0\n")],
        );
        let a = d.0.join("a");
        let b = a.join("b");
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(a.join("cpuset.cpus"), "1-2\n").unwrap();
        std::fs::write(a.join("cpuset.mems"), "\n").unwrap();
        std::fs::write(b.join("cpuset.cpus"), "").unwrap();
        std::fs::write(b.join("cpuset.mems"), "").unwrap();
        copy_cpuset_down(&d.0, &b).unwrap();
        assert_eq!(
            std::fs::read_to_string(a.join("cpuset.cpus")).unwrap(),
            "1-2\n",
            "kept"
        );
        assert_eq!(std::fs::read_to_string(a.join("cpuset.mems")).unwrap(), "0");
        assert_eq!(
            std::fs::read_to_string(b.join("cpuset.cpus")).unwrap(),
            "1-2"
        );
        assert_eq!(std::fs::read_to_string(b.join("cpuset.mems")).unwrap(), "0");
        let cfg = Cgroups {
            cpuset_cpus: Some("1".into()),
            ..Default::default()
        };
        set_cpuset(&b, &cfg).unwrap();
        assert_eq!(std::fs::read_to_string(b.join("cpuset.cpus")).unwrap(), "1");
        assert_eq!(std::fs::read_to_string(b.join("cpuset.mems")).unwrap(), "0");
    }

    #[test]
    fn pids_blkio_hugetlb() {
        let d = knobs(
            "misc",
            &[
                ("pids.max", "max"),
                ("blkio.bfq.weight", "100"),
                ("hugetlb.2MB.limit_in_bytes", "0"),
            ],
        );
        let cfg = Cgroups {
            pids_limit: Some(10),
            blkio_weight: Some(300),
            hugetlb_limit: vec![("2MB".into(), 4 << 20)],
            ..Default::default()
        };
        set_pids(&d.0, &cfg).unwrap();
        set_blkio(&d.0, &cfg).unwrap();
        set_hugetlb(&d.0, &cfg).unwrap();
        assert_eq!(get(&d, "pids.max"), "10");
        assert_eq!(get(&d, "blkio.bfq.weight"), "300");
        assert_eq!(get(&d, "hugetlb.2MB.limit_in_bytes"), "4194304");
        set_pids(
            &d.0,
            &Cgroups {
                pids_limit: Some(0),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(get(&d, "pids.max"), "max");

        let cfg = Cgroups {
            hugetlb_limit: vec![("1GB".into(), 1 << 30)],
            ..Default::default()
        };
        let err = set_hugetlb(&d.0, &cfg).unwrap_err().to_string();
        assert!(
            err.starts_with("hugetlb_limit: page size 1GB is not supported"),
            "{err}"
        );
        std::fs::remove_file(d.0.join("blkio.bfq.weight")).unwrap();
        let err = set_blkio(
            &d.0,
            &Cgroups {
                blkio_weight: Some(5),
                ..Default::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("blkio_weight: neither blkio.weight nor blkio.bfq.weight"),
            "{err}"
        );
    }

    #[test]
    fn v1_memory_knobs_block_devices_and_network() {
        let d = knobs(
            "knobs",
            &[
                ("memory.oom_control", ""),
                ("memory.swappiness", "60"),
                ("blkio.bfq.weight_device", ""),
                ("blkio.throttle.read_bps_device", ""),
                ("blkio.throttle.write_iops_device", ""),
                ("net_cls.classid", "0"),
                ("net_prio.ifpriomap", ""),
            ],
        );
        let dev = |minor, value| BlkioDevice {
            major: 8,
            minor,
            value,
        };
        let cfg = Cgroups {
            memory_swappiness: Some(0),
            oom_kill_disable: true,
            // No memory.kmem.tcp.limit_in_bytes here: a warning, not an error.
            kernel_memory_tcp: Some(1 << 20),
            blkio_weight_device: vec![dev(0, 300), dev(16, 200)],
            blkio_throttle: [vec![dev(0, 1 << 20)], vec![], vec![], vec![dev(0, 0)]],
            net_cls_classid: Some(0x100001),
            net_prio_ifpriomap: vec![("lo".into(), 5), ("eth0".into(), 1)],
            ..Default::default()
        };
        set_memory(&d.0, &cfg).unwrap();
        set_blkio(&d.0, &cfg).unwrap();
        set_net_cls(&d.0, &cfg).unwrap();
        set_net_prio(&d.0, &cfg).unwrap();
        assert_eq!(get(&d, "memory.oom_control"), "1");
        assert_eq!(get(&d, "memory.swappiness"), "0");
        assert!(!d.0.join("memory.kmem.tcp.limit_in_bytes").exists());
        // One rule per write (a plain file keeps them all, back to back).
        assert_eq!(get(&d, "blkio.bfq.weight_device"), "8:0 3008:16 200");
        assert_eq!(get(&d, "blkio.throttle.read_bps_device"), "8:0 1048576");
        assert_eq!(get(&d, "blkio.throttle.write_iops_device"), "8:0 0");
        assert_eq!(get(&d, "net_cls.classid"), "1048577");
        assert_eq!(get(&d, "net_prio.ifpriomap"), "lo 5eth0 1");
        std::fs::write(d.0.join("memory.kmem.tcp.limit_in_bytes"), "").unwrap();
        set_memory(&d.0, &cfg).unwrap();
        assert_eq!(get(&d, "memory.kmem.tcp.limit_in_bytes"), "1048576");
        std::fs::remove_file(d.0.join("blkio.bfq.weight_device")).unwrap();
        let err = set_blkio(&d.0, &cfg).unwrap_err().to_string();
        assert!(
            err.starts_with(
                "blkio_weight_device: neither blkio.weight_device nor blkio.bfq.weight_device"
            ),
            "{err}"
        );
    }

    #[test]
    fn devices_deny_all_then_allow_each_rule() {
        let d = knobs("dev", &[("devices.deny", ""), ("devices.allow", "")]);
        let cfg = Cgroups {
            allowed_devices: vec![
                Device::rule(DeviceKind::Char, Some(1), Some(3), "rwm"),
                Device::rule(DeviceKind::Char, Some(136), None, "rwm"),
            ],
            ..Default::default()
        };
        set_devices(&d.0, &cfg).unwrap();
        assert_eq!(get(&d, "devices.deny"), "a");
        // Each rule is its own write on one open file: a plain file keeps them all.
        assert_eq!(get(&d, "devices.allow"), "c 1:3 rwmc 136:* rwm");

        let d = knobs("devall", &[("devices.deny", "untouched")]);
        set_devices(
            &d.0,
            &Cgroups {
                allow_all_devices: true,
                ..cfg
            },
        )
        .unwrap();
        assert_eq!(get(&d, "devices.deny"), "untouched");
    }
}
