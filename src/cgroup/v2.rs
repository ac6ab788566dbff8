//! cgroup v2 limit writers (all in the container's one unified directory),
//! controller enabling along the path, and the eBPF device filter.

use std::ffi::CStr;
use std::path::Path;

use super::{bpf, fs, v1};
use crate::config::{BlkioDevice, Cgroups, THROTTLES};
use crate::error::{Context, Error, Result};

/// Enable `controllers` for the children of every level from `top` (the v2
/// mount point) down to `dir`'s parent, by writing `+c …` to each level's
/// `cgroup.subtree_control` where they are not enabled yet.
pub fn enable_controllers(top: &Path, dir: &Path, controllers: &[&str]) -> Result<()> {
    if controllers.is_empty() {
        return Ok(());
    }
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    let Ok(rel) = parent.strip_prefix(top) else {
        return Ok(());
    };
    let mut level = top.to_path_buf();
    let mut levels = vec![level.clone()];
    for part in rel.components() {
        level = level.join(part);
        levels.push(level.clone());
    }
    for level in levels {
        let enabled = fs::read(&level, "cgroup.subtree_control")?;
        let missing: Vec<String> = controllers
            .iter()
            .filter(|c| !enabled.split_whitespace().any(|e| e == **c))
            .map(|c| format!("+{c}"))
            .collect();
        if missing.is_empty() {
            continue;
        }
        fs::write(&level, "cgroup.subtree_control", missing.join(" ")).map_err(|e| {
            if e.errno() == Some(rustix::io::Errno::BUSY) {
                e.context("enable controllers (a cgroup with processes cannot delegate them in cgroup v2; \
                           use an absolute cgroups.parent outside the caller's own cgroup)")
            } else {
                e.context("enable controllers")
            }
        })?;
    }
    Ok(())
}

/// memory: `memory.max`, `memory.low` (reservation), `memory.swap.max`.
///
/// v2 limits swap alone, so `memory.swap.max = memory_swap - memory`
/// (`memory_swap` is the v1-style memory+swap total); `-1` is `max`.
/// `memory_swappiness`, `oom_kill_disable` and `kernel_memory_tcp` have no
/// v2 file: ignored, as runc does (the OCI front end says so).
pub fn set_memory(dir: &Path, cfg: &Cgroups) -> Result<()> {
    if let Some(swap) = cfg.memory_swap {
        let value = swap_max(cfg.memory, swap)?;
        if !fs::exists(dir, "memory.swap.max") {
            return Err(Error::new(format!(
                "memory_swap: {} does not exist (swap accounting is disabled in this kernel)",
                dir.join("memory.swap.max").display()
            )));
        }
        fs::write(dir, "memory.swap.max", value)?;
    }
    if let Some(m) = cfg.memory {
        fs::write(dir, "memory.max", max_or(m))?;
    }
    if let Some(r) = cfg.memory_reservation {
        fs::write(dir, "memory.low", max_or(r))?;
    }
    Ok(())
}

/// `N`, or `max` for a negative value.
fn max_or(v: i64) -> String {
    if v < 0 {
        "max".to_string()
    } else {
        v.to_string()
    }
}

/// The `memory.swap.max` value for a v1-style memory+swap total.
pub fn swap_max(memory: Option<i64>, swap: i64) -> Result<String> {
    match memory {
        _ if swap < 0 => Ok("max".to_string()),
        Some(m) if m < 0 => Ok("max".to_string()),
        Some(m) if swap >= m => Ok((swap - m).to_string()),
        Some(m) => Err(Error::new(format!(
            "memory_swap ({swap}) must not be below memory ({m}): it is memory plus swap"
        ))),
        None => Err(Error::new(
            "memory_swap needs memory to be set on cgroup v2 (swap is limited separately)",
        )),
    }
}

/// `cpu.weight` for v1 `cpu.shares`, with the formula runc (1.3.2+,
/// opencontainers/cgroups `ConvertCPUSharesToCgroupV2Value`) and crun 1.23+
/// use: with l = log2(shares), weight = ceil(10^((l² + 125·l) / 612 − 7/34)).
/// It maps the ranges onto each other ([2, 262144] to [1, 10000]) and, unlike
/// the older linear `1 + (shares − 2)·9999/262142`, maps the v1 default 1024
/// to the v2 default 100 (the linear one gave 39).
pub fn cpu_weight(shares: u64) -> u64 {
    if shares <= 2 {
        return 1;
    }
    if shares >= 262144 {
        return 10000;
    }
    let l = (shares as f64).log2();
    let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
    10f64.powf(exponent).ceil() as u64
}

/// `cpu.max`: `QUOTA PERIOD` (`max` for no quota; the period is left as it
/// is when not configured).
pub fn cpu_max(quota: Option<i64>, period: Option<u64>) -> Option<String> {
    let q = match quota {
        Some(q) if q > 0 => q.to_string(),
        _ => "max".to_string(),
    };
    match (quota, period) {
        (None, None) => None,
        (_, Some(p)) => Some(format!("{q} {p}")),
        (Some(_), None) => Some(q),
    }
}

/// cpu: `cpu.weight` (converted from shares) and `cpu.idle`, then
/// `cpu.max.burst` with `cpu.max` (see [`v1::write_pair`]). Realtime
/// scheduling has no v2 files: refused, as crun does.
pub fn set_cpu(dir: &Path, cfg: &Cgroups) -> Result<()> {
    if cfg.cpu_rt_period.is_some() || cfg.cpu_rt_runtime.is_some() {
        return Err(Error::new(
            "cpu_rt_period, cpu_rt_runtime: cgroup v2 has no realtime group scheduling \
             (cpu.rt_period_us and cpu.rt_runtime_us are cgroup v1 files)",
        ));
    }
    let weight = cfg.cpu_shares.filter(|s| *s != 0).map(cpu_weight);
    v1::set_weight_and_idle(dir, "cpu.weight", weight, cfg.cpu_idle)?;
    let max = cpu_max(cfg.cpu_quota, cfg.cpu_period).map(|v| ("cpu.max", v));
    v1::write_pair(dir, v1::burst(dir, "cpu.max.burst", cfg)?, max)
}

/// rdma (v1 and v2 alike): one `rdma.max` line per device.
pub fn set_rdma(dir: &Path, cfg: &Cgroups) -> Result<()> {
    let lines: Vec<String> = cfg.rdma.iter().map(ToString::to_string).collect();
    fs::write_each(dir, "rdma.max", &lines)
}

/// cpuset: `cpuset.cpus`, `cpuset.mems` (empty means "the parent's" in v2,
/// so nothing needs copying down).
pub fn set_cpuset(dir: &Path, cfg: &Cgroups) -> Result<()> {
    super::v1::set_cpuset(dir, cfg)
}

/// pids: `pids.max`.
pub fn set_pids(dir: &Path, cfg: &Cgroups) -> Result<()> {
    super::v1::set_pids(dir, cfg)
}

/// The `io.weight` value ([1, 10000]) for a v1 blkio weight ([10, 1000]).
pub fn io_weight(blkio: u16) -> u64 {
    let b = u64::from(blkio.clamp(10, 1000));
    1 + (b - 10) * 9999 / 990
}

/// io: `io.bfq.weight` (same scale as blkio) when BFQ is in use, else
/// `io.weight` converted, for the default and per device (`MAJ:MIN W`);
/// the throttles in `io.max` (`MAJ:MIN rbps=N`, a rate of 0 is `max`).
pub fn set_io(dir: &Path, cfg: &Cgroups) -> Result<()> {
    let bfq = || match fs::exists(dir, "io.bfq.weight") {
        true => Ok(true),
        false if fs::exists(dir, "io.weight") => Ok(false),
        false => Err(Error::new(format!(
            "blkio_weight: neither io.weight nor io.bfq.weight exists in {}",
            dir.display()
        ))),
    };
    let weight = |bfq: bool, w: u64| if bfq { w } else { io_weight(w as u16) };
    let file = |bfq: bool| if bfq { "io.bfq.weight" } else { "io.weight" };
    if let Some(w) = cfg.blkio_weight {
        let bfq = bfq()?;
        let w = weight(bfq, u64::from(w));
        fs::write(
            dir,
            file(bfq),
            if bfq {
                w.to_string()
            } else {
                format!("default {w}")
            },
        )?;
    }
    if !cfg.blkio_weight_device.is_empty() {
        let bfq = bfq()?;
        let rules: Vec<BlkioDevice> = cfg
            .blkio_weight_device
            .iter()
            .map(|d| BlkioDevice {
                value: weight(bfq, d.value),
                ..*d
            })
            .collect();
        fs::write_each(dir, file(bfq), &super::v1::lines(&rules))?;
    }
    let limits = THROTTLES
        .iter()
        .zip(&cfg.blkio_throttle)
        .flat_map(|((_, _, key), list)| {
            list.iter().map(move |d| match d.value {
                0 => format!("{}:{} {key}=max", d.major, d.minor),
                n => format!("{}:{} {key}={n}", d.major, d.minor),
            })
        });
    fs::write_each(dir, "io.max", &limits.collect::<Vec<_>>())
}

/// hugetlb: `hugetlb.<size>.max` per page size.
pub fn set_hugetlb(dir: &Path, cfg: &Cgroups) -> Result<()> {
    fs::write_hugetlb_limits(dir, cfg, "max")
}

/// devices: load the allow-list program and attach it to `dir`.
pub fn set_devices(dir: &Path, cfg: &Cgroups) -> Result<()> {
    if cfg.allow_all_devices {
        return Ok(());
    }
    let insns = bpf::encode(&bpf::device_program(&cfg.allowed_devices));
    let prog = load_program(&insns)?;
    let cgroup = rustix::fs::open(
        dir,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .ctx(|| format!("open {}", dir.display()))?;
    crate::sys::bpf::attach_cgroup_device_program(
        std::os::fd::AsFd::as_fd(&cgroup),
        std::os::fd::AsFd::as_fd(&prog),
    )
    .ctx(|| format!("attach the device filter to {}", dir.display()))
}

/// `BPF_PROG_LOAD`; on failure, load again with a log to report the verifier's words.
fn load_program(insns: &[crate::sys::bpf::RawInsn]) -> Result<std::os::fd::OwnedFd> {
    const LICENSE: &CStr = c"Apache-2.0";
    const NAME: &str = "nsinit_devices";
    match crate::sys::bpf::load_cgroup_device_program(insns, LICENSE, NAME, &mut []) {
        Ok(fd) => Ok(fd),
        Err(e) => {
            let mut log = vec![0u8; 1 << 16];
            let _ = crate::sys::bpf::load_cgroup_device_program(insns, LICENSE, NAME, &mut log);
            let end = log.iter().position(|&b| b == 0).unwrap_or(0);
            let text = String::from_utf8_lossy(&log[..end]);
            let text = text.trim();
            let op = if text.is_empty() {
                "load the device filter (bpf BPF_PROG_LOAD)".to_string()
            } else {
                format!(
                    "load the device filter (verifier: {})",
                    text.replace('\n', "; ")
                )
            };
            Err(Error::sys(op, e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_to_weight() {
        assert_eq!(cpu_weight(2), 1);
        assert_eq!(cpu_weight(0), 1);
        assert_eq!(cpu_weight(1024), 100, "v1 default maps to v2 default");
        assert_eq!(cpu_weight(262144), 10000);
        assert_eq!(cpu_weight(1 << 20), 10000);
        // Values published with the runc change (opencontainers/runc#4896).
        assert_eq!(cpu_weight(2000), 170);
        // Monotonic over the range.
        let mut last = 0;
        for s in (2..=262144).step_by(97) {
            let w = cpu_weight(s);
            assert!(w >= last && (1..=10000).contains(&w), "shares {s} -> {w}");
            last = w;
        }
    }

    #[test]
    fn cpu_max_values() {
        assert_eq!(
            cpu_max(Some(50000), Some(100000)).as_deref(),
            Some("50000 100000")
        );
        assert_eq!(cpu_max(Some(50000), None).as_deref(), Some("50000"));
        assert_eq!(
            cpu_max(Some(-1), Some(100000)).as_deref(),
            Some("max 100000")
        );
        assert_eq!(cpu_max(None, Some(20000)).as_deref(), Some("max 20000"));
        assert_eq!(cpu_max(None, None), None);
    }

    #[test]
    fn cpu_idle_burst_rdma_and_no_realtime() {
        let dir = std::env::temp_dir().join(format!("nsinit-v2-cpu-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for f in [
            "cpu.weight",
            "cpu.max",
            "cpu.max.burst",
            "cpu.idle",
            "rdma.max",
        ] {
            std::fs::write(dir.join(f), "").unwrap();
        }
        let get = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
        let mut cfg = Cgroups {
            cpu_shares: Some(1024),
            cpu_quota: Some(50000),
            cpu_period: Some(100000),
            cpu_burst: Some(10000),
            cpu_idle: Some(1),
            rdma: vec![
                crate::config::RdmaLimit {
                    device: "mlx5_0".into(),
                    hca_handles: Some(2),
                    hca_objects: None,
                },
                crate::config::RdmaLimit {
                    device: "mlx4_0".into(),
                    hca_handles: Some(0),
                    hca_objects: Some(2000),
                },
            ],
            ..Default::default()
        };
        set_cpu(&dir, &cfg).unwrap();
        set_rdma(&dir, &cfg).unwrap();
        assert_eq!(
            [
                get("cpu.weight"),
                get("cpu.max"),
                get("cpu.max.burst"),
                get("cpu.idle")
            ],
            ["100", "50000 100000", "10000", "1"]
        );
        // One device per write (a plain file keeps them back to back).
        assert_eq!(
            get("rdma.max"),
            "mlx5_0 hca_handle=2mlx4_0 hca_handle=0 hca_object=2000"
        );
        cfg.cpu_rt_runtime = Some(1000);
        let err = set_cpu(&dir, &cfg).unwrap_err().to_string();
        assert!(
            err.starts_with(
                "cpu_rt_period, cpu_rt_runtime: cgroup v2 has no realtime group scheduling"
            ),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn swap_is_limited_separately() {
        assert_eq!(swap_max(Some(100), 150).unwrap(), "50");
        assert_eq!(swap_max(Some(100), 100).unwrap(), "0");
        assert_eq!(swap_max(Some(100), -1).unwrap(), "max");
        assert_eq!(swap_max(Some(-1), 100).unwrap(), "max");
        assert!(
            swap_max(Some(100), 50)
                .unwrap_err()
                .to_string()
                .contains("must not be below")
        );
        assert!(
            swap_max(None, 50)
                .unwrap_err()
                .to_string()
                .contains("needs memory")
        );
    }

    #[test]
    fn io_device_weights_and_throttles() {
        let dir = std::env::temp_dir().join(format!("nsinit-v2-io-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for f in ["io.weight", "io.max"] {
            std::fs::write(dir.join(f), "").unwrap();
        }
        let dev = |minor, value| BlkioDevice {
            major: 254,
            minor,
            value,
        };
        let cfg = Cgroups {
            blkio_weight_device: vec![dev(0, 1000)],
            blkio_throttle: [
                vec![dev(0, 1 << 20)],
                vec![dev(0, 0)],
                vec![],
                vec![dev(16, 7)],
            ],
            ..Default::default()
        };
        set_io(&dir, &cfg).unwrap();
        let get = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
        assert_eq!(
            get("io.weight"),
            "254:0 10000",
            "converted to the io.weight scale"
        );
        assert_eq!(
            get("io.max"),
            "254:0 rbps=1048576254:0 wbps=max254:16 wiops=7"
        );
        // BFQ takes the blkio scale as it is.
        std::fs::write(dir.join("io.bfq.weight"), "").unwrap();
        set_io(&dir, &cfg).unwrap();
        assert_eq!(get("io.bfq.weight"), "254:0 1000");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn blkio_to_io_weight() {
        assert_eq!(io_weight(10), 1);
        assert_eq!(io_weight(1000), 10000);
        assert_eq!(io_weight(500), 1 + 490 * 9999 / 990);
    }
}
