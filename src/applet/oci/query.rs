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
    loop {
        let (record, st) = find(g, &id)?;
        drop(record);
        if st.status() == Status::Stopped {
            return Ok(ExitCode::SUCCESS);
        }
        let data = st.cgroup()?.stats()?;
        crate::cli::out(&format!(
            "{}\n",
            serde_json::json!({"type": "stats", "id": id, "data": data})
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
