//! `nsinit-oci`'s read-mostly commands: state, list, pause/resume,
//! events, spec.

use super::*;

pub(super) fn show_state(g: &Global, id: &str) -> Result<ExitCode> {
    let (_record, st) = find(g, id)?;
    crate::cli::out_json(&state_doc(&st));
    Ok(ExitCode::SUCCESS)
}

pub(super) fn list(g: &Global, o: &Opts) -> Result<ExitCode> {
    let mut docs = Vec::new();
    for name in record::keys(&g.root)? {
        let Some(record) = Record::find_in(&g.root, &name)? else {
            continue;
        };
        if let Ok(Some(st)) = record.state() {
            docs.push(state_doc(&st));
        }
    }
    if o.flag("quiet") {
        let ids: String = docs
            .iter()
            .map(|d| format!("{}\n", d["id"].as_str().unwrap_or("")))
            .collect();
        crate::cli::out(&ids);
    } else if o.value("format") == Some("json") {
        crate::cli::out_json(&serde_json::Value::Array(docs));
    } else {
        // Every record under one --root is its owner's: the caller's.
        let uid = rustix::process::geteuid();
        let owner = match uid.is_root() {
            true => "root".to_string(),
            false => uid.as_raw().to_string(),
        };
        let head = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from);
        let rows: Vec<[String; 6]> = std::iter::once(head)
            .chain(docs.iter().map(|d| {
                let s = |k: &str| d[k].as_str().unwrap_or("").to_string();
                let pid = d["pid"].as_i64().unwrap_or(0).to_string();
                [
                    s("id"),
                    pid,
                    s("status"),
                    s("bundle"),
                    s("created"),
                    owner.clone(),
                ]
            }))
            .collect();
        // Columns as wide as their widest cell (runc's tabwriter).
        let mut width = [0usize; 6];
        for r in &rows {
            for (w, c) in width.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut text = String::new();
        for r in &rows {
            for (i, c) in r.iter().enumerate() {
                match i {
                    5 => text.push_str(c),
                    _ => text.push_str(&format!("{c:<w$}   ", w = width[i])),
                }
            }
            text.push('\n');
        }
        crate::cli::out(&text);
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn freeze(g: &Global, id: &str, pause: bool) -> Result<ExitCode> {
    let (_record, st) = find(g, id)?;
    let status = st.status();
    let cg = st.cgroup()?;
    match (pause, status) {
        (true, Status::Running) => cg.freeze()?,
        (false, Status::Paused) => cg.thaw()?,
        _ => {
            return Err(Error::new(format!(
                "container {id} is {}: cannot {}",
                status.as_str(),
                if pause { "pause" } else { "resume" }
            )));
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn events(g: &Global, o: &Opts) -> Result<ExitCode> {
    let id = o.id()?.to_string();
    let interval: u64 = o
        .value("interval")
        .map(|v| v.trim_end_matches('s').parse().unwrap_or(5))
        .unwrap_or(5);
    let mut first = true;
    loop {
        let (record, st) = find(g, &id)?;
        drop(record);
        if st.status() == Status::Stopped {
            if first {
                // runc's words and exit status.
                return Err(Error::new(format!("container with id {id} is not running")));
            }
            return Ok(ExitCode::SUCCESS);
        }
        first = false;
        let data = runc_stats(&st.cgroup()?.stats()?);
        let id_json = serde_json::Value::from(id.as_str());
        crate::cli::out(&format!(
            concat!(r#"{{"type":"stats","id":{},"data":{}}}"#, "\n"),
            id_json, data
        ));
        if o.flag("stats") {
            return Ok(ExitCode::SUCCESS);
        }
        let t = rustix::time::Timespec {
            tv_sec: interval.max(1) as i64,
            tv_nsec: 0,
        };
        let _ = rustix::thread::nanosleep(&t);
    }
}

/// nsinit's cgroup statistics as runc's `events` prints them (runc's
/// types.Stats, what readers of `runc events` parse): JSON text. Block I/O
/// is summed over devices (entries without major/minor); a counter the
/// cgroup lacks is null; no memory limit reads as the largest u64, as runc
/// reports cgroup v2's "max".
fn runc_stats(s: &serde_json::Value) -> String {
    let (c, m, p, b) = (&s["cpu"], &s["memory"], &s["pids"], &s["blkio"]);
    let limit = match &m["limit"] {
        serde_json::Value::Null => u64::MAX.to_string(),
        l => l.to_string(),
    };
    let io = |read: &str, write: &str| {
        format!(
            r#"[{{"op":"Read","value":{}}},{{"op":"Write","value":{}}}]"#,
            b[read], b[write]
        )
    };
    format!(
        concat!(
            r#"{{"cpu":{{"usage":{{"total":{},"percpu":{},"kernel":{},"user":{}}},"#,
            r#""throttling":{{}}}},"memory":{{"usage":{{"limit":{},"usage":{},"max":{},"#,
            r#""failcnt":{}}}}},"pids":{{"current":{},"limit":{}}},"#,
            r#""blkio":{{"ioServiceBytesRecursive":{},"ioServicedRecursive":{}}},"#,
            r#""hugetlb":{{}},"intel_rdt":{{}},"network_interfaces":null}}"#
        ),
        c["usage_total"],
        c["usage_per_cpu"],
        c["usage_system"],
        c["usage_user"],
        limit,
        m["usage"],
        m["max_usage"],
        m["failcnt"],
        p["current"],
        p["limit"],
        io("read_bytes", "write_bytes"),
        io("read_ops", "write_ops"),
    )
}

pub(super) fn spec(o: &Opts) -> Result<ExitCode> {
    let dir = o
        .value("bundle")
        .map_or_else(|| PathBuf::from("."), PathBuf::from);
    let dfd = rustix::fs::open(
        &dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| format!("open bundle {}", dir.display()))?;
    if record::read_file_at(&dfd, "config.json").is_ok_and(|f| f.is_some()) {
        return Err(Error::new(format!(
            "{}/config.json already exists: remove it first",
            dir.display()
        )));
    }
    let text = serde_json::to_string_pretty(&oci::default_spec(o.flag("rootless")))
        .map_err(|e| Error::new(e.to_string()))?;
    record::write_file_at(&dfd, "config.json", format!("{text}\n").as_bytes())
        .ctx(|| format!("bundle {}", dir.display()))?;
    Ok(ExitCode::SUCCESS)
}
