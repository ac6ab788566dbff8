//! `nsinit stats`: the same JSON fields from v1 and v2 files.
//!
//! ```json
//! {"memory": {"usage", "limit", "max_usage", "failcnt"},
//!  "cpu":    {"usage_total", "usage_per_cpu": [..], "usage_user", "usage_system"},
//!  "pids":   {"current", "limit"},
//!  "blkio":  {"read_bytes", "write_bytes", "read_ops", "write_ops"}}
//! ```
//!
//! CPU times are nanoseconds. A value the kernel does not provide (no such
//! controller, v2 has no per-cpu usage, no peak before Linux 5.19) is `null`
//! (`[]` for `usage_per_cpu`); an unlimited limit is `null` too.

use std::path::Path;

use serde_json::{Value, json};

use super::fs;
use crate::error::Result;

/// v1 reports "no limit" as the largest page-aligned counter value.
const V1_UNLIMITED: u64 = 0x7fff_ffff_ffff_f000;

/// The kernel's USER_HZ, the unit of `cpuacct.stat`.
const USER_HZ: u64 = 100;

fn limit(v: Option<u64>) -> Option<u64> {
    v.filter(|&v| v < V1_UNLIMITED)
}

/// The memory section from a v1 memory cgroup.
pub fn memory_v1(dir: &Path) -> Result<Value> {
    Ok(json!({
        "usage": fs::read_u64(dir, "memory.usage_in_bytes")?,
        "limit": limit(fs::read_u64(dir, "memory.limit_in_bytes")?),
        "max_usage": fs::read_u64(dir, "memory.max_usage_in_bytes")?,
        "failcnt": fs::read_u64(dir, "memory.failcnt")?,
    }))
}

/// The memory section from a v2 cgroup (`failcnt`: times `memory.max` was hit).
pub fn memory_v2(dir: &Path) -> Result<Value> {
    let events = fs::read_opt(dir, "memory.events")?;
    Ok(json!({
        "usage": fs::read_u64(dir, "memory.current")?,
        "limit": fs::read_u64(dir, "memory.max")?,
        "max_usage": fs::read_u64(dir, "memory.peak")?,
        "failcnt": events.and_then(|e| fs::keyed(&e, "max")),
    }))
}

/// The cpu section from a v1 cpuacct cgroup.
pub fn cpu_v1(dir: &Path) -> Result<Value> {
    let per_cpu: Vec<u64> = fs::read_opt(dir, "cpuacct.usage_percpu")?
        .map(|s| {
            s.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let stat = fs::read_opt(dir, "cpuacct.stat")?.unwrap_or_default();
    let ticks = |key| fs::keyed(&stat, key).map(|t| t * (1_000_000_000 / USER_HZ));
    let user = fs::read_u64(dir, "cpuacct.usage_user")?.or_else(|| ticks("user"));
    let system = fs::read_u64(dir, "cpuacct.usage_sys")?.or_else(|| ticks("system"));
    Ok(json!({
        "usage_total": fs::read_u64(dir, "cpuacct.usage")?,
        "usage_per_cpu": per_cpu,
        "usage_user": user,
        "usage_system": system,
    }))
}

/// The cpu section from a v2 cgroup's `cpu.stat` (microseconds there).
pub fn cpu_v2(dir: &Path) -> Result<Value> {
    let stat = fs::read_opt(dir, "cpu.stat")?.unwrap_or_default();
    let ns = |key| fs::keyed(&stat, key).map(|us| us * 1000);
    Ok(json!({
        "usage_total": ns("usage_usec"),
        "usage_per_cpu": Vec::<u64>::new(),
        "usage_user": ns("user_usec"),
        "usage_system": ns("system_usec"),
    }))
}

/// The pids section (same files on v1 and v2).
pub fn pids(dir: &Path) -> Result<Value> {
    Ok(json!({
        "current": fs::read_u64(dir, "pids.current")?,
        "limit": fs::read_u64(dir, "pids.max")?,
    }))
}

/// Sum a v1 blkio file's `MAJ:MIN Read|Write N` lines by operation.
fn blkio_sums(content: &str) -> (u64, u64) {
    let mut read = 0;
    let mut write = 0;
    for line in content.lines() {
        let mut f = line.split_whitespace();
        let (Some(_dev), Some(op), Some(n)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let n: u64 = n.parse().unwrap_or(0);
        match op {
            "Read" => read += n,
            "Write" => write += n,
            _ => {}
        }
    }
    (read, write)
}

/// The blkio section from a v1 blkio cgroup: the throttle layer's counters
/// (they see every bio), else the CFQ/BFQ ones.
pub fn blkio_v1(dir: &Path) -> Result<Value> {
    let first = |files: &[&str]| -> Result<Option<String>> {
        for f in files {
            if let Some(s) = fs::read_opt(dir, f)? {
                return Ok(Some(s));
            }
        }
        Ok(None)
    };
    let bytes = first(&[
        "blkio.throttle.io_service_bytes_recursive",
        "blkio.io_service_bytes_recursive",
        "blkio.bfq.io_service_bytes_recursive",
    ])?
    .map(|s| blkio_sums(&s));
    let ops = first(&[
        "blkio.throttle.io_serviced_recursive",
        "blkio.io_serviced_recursive",
        "blkio.bfq.io_serviced_recursive",
    ])?
    .map(|s| blkio_sums(&s));
    Ok(json!({
        "read_bytes": bytes.map(|b| b.0),
        "write_bytes": bytes.map(|b| b.1),
        "read_ops": ops.map(|o| o.0),
        "write_ops": ops.map(|o| o.1),
    }))
}

/// The blkio section from a v2 cgroup's `io.stat`
/// (`MAJ:MIN rbytes=N wbytes=N rios=N wios=N …` per device).
pub fn io_v2(dir: &Path) -> Result<Value> {
    let Some(stat) = fs::read_opt(dir, "io.stat")? else {
        return Ok(
            json!({"read_bytes": null, "write_bytes": null, "read_ops": null, "write_ops": null}),
        );
    };
    let mut sums = [0u64; 4];
    for field in stat.split_whitespace() {
        let Some((k, v)) = field.split_once('=') else {
            continue;
        };
        let i = match k {
            "rbytes" => 0,
            "wbytes" => 1,
            "rios" => 2,
            "wios" => 3,
            _ => continue,
        };
        sums[i] += v.parse::<u64>().unwrap_or(0);
    }
    Ok(
        json!({"read_bytes": sums[0], "write_bytes": sums[1], "read_ops": sums[2], "write_ops": sums[3]}),
    )
}

/// Every field null: the section for a controller that is not there.
pub fn absent(section: &str) -> Value {
    match section {
        "memory" => json!({"usage": null, "limit": null, "max_usage": null, "failcnt": null}),
        "cpu" => {
            json!({"usage_total": null, "usage_per_cpu": [], "usage_user": null, "usage_system": null})
        }
        "pids" => json!({"current": null, "limit": null}),
        _ => json!({"read_bytes": null, "write_bytes": null, "read_ops": null, "write_ops": null}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(tag: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("nsinit-stats-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (f, v) in files {
            std::fs::write(dir.join(f), v).unwrap();
        }
        dir
    }

    #[test]
    fn v1_and_v2_give_the_same_fields() {
        let v1 = tree(
            "v1",
            &[
                ("memory.usage_in_bytes", "4096\n"),
                ("memory.limit_in_bytes", "9223372036854771712\n"),
                ("memory.max_usage_in_bytes", "8192\n"),
                ("memory.failcnt", "2\n"),
                ("cpuacct.usage", "300\n"),
                ("cpuacct.usage_percpu", "100 200 \n"),
                ("cpuacct.stat", "user 3\nsystem 1\n"),
                ("pids.current", "3\n"),
                ("pids.max", "max\n"),
                (
                    "blkio.throttle.io_service_bytes_recursive",
                    "8:0 Read 4096\n8:0 Write 512\n8:0 Sync 0\n8:16 Read 4\nTotal 4612\n",
                ),
                (
                    "blkio.throttle.io_serviced_recursive",
                    "8:0 Read 2\n8:0 Write 1\nTotal 3\n",
                ),
            ],
        );
        let v2 = tree(
            "v2",
            &[
                ("memory.current", "4096\n"),
                ("memory.max", "33554432\n"),
                ("memory.events", "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n"),
                ("cpu.stat", "usage_usec 7\nuser_usec 4\nsystem_usec 3\n"),
                ("pids.current", "1\n"),
                ("pids.max", "10\n"),
                (
                    "io.stat",
                    "8:0 rbytes=100 wbytes=20 rios=3 wios=1 dbytes=0 dios=0\n8:16 rbytes=1 wbytes=0 rios=1 wios=0\n",
                ),
            ],
        );
        let m1 = memory_v1(&v1).unwrap();
        let m2 = memory_v2(&v2).unwrap();
        assert_eq!(
            m1,
            json!({"usage": 4096, "limit": null, "max_usage": 8192, "failcnt": 2})
        );
        assert_eq!(
            m2,
            json!({"usage": 4096, "limit": 33554432, "max_usage": null, "failcnt": 5})
        );
        let c1 = cpu_v1(&v1).unwrap();
        assert_eq!(
            c1,
            json!({"usage_total": 300, "usage_per_cpu": [100, 200], "usage_user": 30_000_000u64, "usage_system": 10_000_000u64})
        );
        let c2 = cpu_v2(&v2).unwrap();
        assert_eq!(
            c2,
            json!({"usage_total": 7000, "usage_per_cpu": [], "usage_user": 4000, "usage_system": 3000})
        );
        assert_eq!(pids(&v1).unwrap(), json!({"current": 3, "limit": null}));
        assert_eq!(pids(&v2).unwrap(), json!({"current": 1, "limit": 10}));
        let b1 = blkio_v1(&v1).unwrap();
        assert_eq!(
            b1,
            json!({"read_bytes": 4100, "write_bytes": 512, "read_ops": 2, "write_ops": 1})
        );
        let b2 = io_v2(&v2).unwrap();
        assert_eq!(
            b2,
            json!({"read_bytes": 101, "write_bytes": 20, "read_ops": 4, "write_ops": 1})
        );
        for (a, b) in [(&m1, &m2), (&c1, &c2), (&b1, &b2)] {
            let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
            assert_eq!(keys(a), keys(b));
        }
        for s in ["memory", "cpu", "pids", "blkio"] {
            let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
            let real = match s {
                "memory" => &m1,
                "cpu" => &c1,
                "blkio" => &b1,
                _ => &json!({"current": 0, "limit": 0}),
            };
            assert_eq!(keys(&absent(s)), keys(real), "{s}");
        }
        std::fs::remove_dir_all(v1).unwrap();
        std::fs::remove_dir_all(v2).unwrap();
    }
}
