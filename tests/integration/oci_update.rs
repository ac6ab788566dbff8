//! `nsinit-oci update`: a running container's limits change in its cgroup
//! files, inside (fork fails past the new pids limit), in `events --stats`
//! and in the recorded config a later `update` starts from.

use std::io::Write;
use std::process::Stdio;

use serde_json::{Value, json};

use crate::common::{can_run, err, out};
use crate::oci::{Bundle, config};

/// The host directory of `pid`'s cgroup for `controller` (v1), or its v2
/// directory when no v1 hierarchy has the controller.
fn cgroup_file(pid: i64, controller: &str, v1: &str, v2: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctl, path) = (f.next(), f.next().unwrap_or(""), f.next().unwrap_or(""));
        if ctl.split(',').any(|c| c == controller) {
            return std::path::PathBuf::from(format!("/sys/fs/cgroup/{controller}{path}/{v1}"));
        }
    }
    let path = text.lines().find_map(|l| l.strip_prefix("0::")).unwrap();
    let top = if std::path::Path::new("/sys/fs/cgroup/unified").is_dir() {
        "/sys/fs/cgroup/unified"
    } else {
        "/sys/fs/cgroup"
    };
    std::path::PathBuf::from(format!("{top}{path}/{v2}"))
}

fn read(p: &std::path::Path) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .trim()
        .to_string()
}

#[test]
fn update_changes_memory_and_pids_of_a_running_container() {
    if !can_run() {
        return;
    }
    let id = "upd-1";
    let b = Bundle::new(id, &["sleep", "1000"]);
    let mut cfg = config(&["sleep", "1000"]);
    cfg["linux"]["resources"] = json!({"memory": {"limit": 256 << 20}, "pids": {"limit": 100}});
    b.write_config(&cfg);
    let bundle = b.dir.to_str().unwrap().to_string();
    b.ok(&["run", "--detach", "--bundle", &bundle, id]);
    let pid = b.state(id)["pid"].as_i64().unwrap();
    let mem = cgroup_file(pid, "memory", "memory.limit_in_bytes", "memory.max");
    let pids = cgroup_file(pid, "pids", "pids.max", "pids.max");
    assert_eq!(read(&mem), (256u64 << 20).to_string());
    assert_eq!(read(&pids), "100");

    b.ok(&["update", "--memory", "64m", "--pids-limit", "3", id]);
    assert_eq!(read(&mem), (64u64 << 20).to_string());
    assert_eq!(read(&pids), "3");
    // Inside: with sleep and this shell counted, the third fork fails.
    let o = b.run(&[
        "exec",
        id,
        "sh",
        "-c",
        "for i in 1 2 3; do sleep 100 & done; echo spawned",
    ]);
    assert!(
        err(&o).contains("fork") || err(&o).contains("Resource temporarily unavailable"),
        "fork must fail at the new limit: {} / {}",
        out(&o),
        err(&o)
    );
    let stats: Value = serde_json::from_str(&b.ok(&["events", "--stats", id])).unwrap();
    assert_eq!(
        stats["data"]["memory"]["usage"]["limit"],
        json!(64u64 << 20),
        "{stats}"
    );
    assert_eq!(stats["data"]["pids"]["limit"], 3, "{stats}");

    // --resources on stdin; the earlier memory change is kept in the record.
    let mut child = b
        .cmd(&["update", "--resources", "-", id])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"pids": {"limit": 50}}"#)
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(read(&pids), "50");
    // The record keeps config.json's text (under the record's name for it).
    let recorded: Value = serde_json::from_slice(
        &std::fs::read(b.root.join(format!("{id}:container.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(recorded["linux"]["resources"]["memory"]["limit"], 64 << 20);
    assert_eq!(recorded["linux"]["resources"]["pids"]["limit"], 50);
    assert_eq!(read(&mem), (64u64 << 20).to_string());

    // Refused and bad values name the flag; nothing changes.
    let o = b.run(&["update", "--l3-cache-schema", "L3:0=f", id]);
    assert!(!o.status.success());
    assert!(err(&o).contains("--l3-cache-schema"), "{}", err(&o));
    let o = b.run(&["update", "--memory", "lots", id]);
    assert!(!o.status.success());
    assert!(err(&o).contains("--memory \"lots\""), "{}", err(&o));
    let o = b.run(&["update", "--pids-limit", "-5", id]);
    assert!(!o.status.success());
    assert!(
        err(&o).contains("linux.resources.pids.limit"),
        "{}",
        err(&o)
    );
    assert_eq!(read(&pids), "50");
    // --kernel-memory is accepted and ignored, as runc does on cgroup v2.
    let o = b.run(&["update", "--kernel-memory", "10m", id]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(err(&o).contains("ignored"), "{}", err(&o));
}
