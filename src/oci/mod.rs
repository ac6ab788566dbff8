//! TEMPORARY stand-in for the OCI front end (replaced by the real lowering):
//! maps the few config.json fields the lifecycle tests use onto the 2014
//! schema.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::config::Config;
use crate::container::process::ProcessSpec;
use crate::error::{Error, Result};

pub struct Bundle {
    pub config: Config,
    pub process: ProcessSpec,
    pub hooks: Hooks,
    pub annotations: BTreeMap<String, String>,
    pub oci_version: String,
    pub text: String,
    pub console_size: Option<(u16, u16)>,
}

#[derive(Default)]
pub struct Hooks {
    pub prestart: Vec<Hook>,
    pub create_runtime: Vec<Hook>,
    pub create_container: Vec<Hook>,
    pub start_container: Vec<Hook>,
    pub poststart: Vec<Hook>,
    pub poststop: Vec<Hook>,
}

pub struct Hook {
    pub path: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub timeout: Option<u32>,
}

fn to_2014(v: &Value, bundle: &Path) -> Value {
    let root = v["root"]["path"].as_str().unwrap_or("rootfs");
    let mut ns = serde_json::Map::new();
    for n in v["linux"]["namespaces"].as_array().into_iter().flatten() {
        let key = match n["type"].as_str().unwrap_or("") {
            "mount" => "NEWNS",
            "uts" => "NEWUTS",
            "ipc" => "NEWIPC",
            "pid" => "NEWPID",
            "network" => "NEWNET",
            _ => continue,
        };
        ns.insert(key.into(), json!(true));
    }
    let caps: Vec<Value> = v["process"]["capabilities"]["bounding"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str().map(|c| json!(c.trim_start_matches("CAP_"))))
        .collect();
    json!({
        "root_fs": bundle.join(root),
        "hostname": v["hostname"],
        "namespaces": ns,
        "capabilities": caps,
        "environment": v["process"]["env"],
        "working_dir": v["process"]["cwd"],
        "tty": v["process"]["terminal"].as_bool().unwrap_or(false),
        "restrict_sys": true,
        "mount_config": {"mounts": [{"type": "tmpfs", "destination": "/tmp"}],
            "device_nodes": [
                {"type": 99, "path": "/dev/null", "major_number": 1, "minor_number": 3, "file_mode": 438},
                {"type": 99, "path": "/dev/zero", "major_number": 1, "minor_number": 5, "file_mode": 438}]},
    })
}

pub fn load_config_text(text: &str, bundle: &Path) -> Result<Config> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| Error::new(format!("config.json: {e}")))?;
    let c = to_2014(&v, bundle).to_string();
    crate::config::read_str(&c, bundle, false)
        .map(|l| l.config)
        .map_err(|e| Error::new(e.join("\n")))
}

pub fn load(bundle: &Path) -> Result<Bundle> {
    let dfd = rustix::fs::open(
        bundle,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| Error::sys(format!("open bundle {}", bundle.display()), e))?;
    let bytes = crate::container::record::read_file_at(&dfd, "config.json")?
        .ok_or_else(|| Error::new(format!("{}/config.json: missing", bundle.display())))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let config = load_config_text(&text, bundle)?;
    let v: Value = serde_json::from_str(&text).map_err(|e| Error::new(e.to_string()))?;
    let process = lower_process(&v["process"], &config)?;
    Ok(Bundle {
        config,
        process,
        hooks: load_hooks(&text)?,
        annotations: BTreeMap::new(),
        oci_version: v["ociVersion"].as_str().unwrap_or("").into(),
        text,
        console_size: None,
    })
}

pub fn lower_process(v: &Value, cfg: &Config) -> Result<ProcessSpec> {
    let strs = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(String::from))
            .collect()
    };
    Ok(ProcessSpec {
        args: strs(&v["args"]),
        env: strs(&v["env"]),
        user: Some(format!(
            "{}:{}",
            v["user"]["uid"].as_u64().unwrap_or(0),
            v["user"]["gid"].as_u64().unwrap_or(0)
        )),
        cwd: v["cwd"].as_str().map(String::from),
        caps: crate::caps::CapSets::from_list(cfg.capabilities),
        ..ProcessSpec::default()
    })
}

pub fn load_hooks(_text: &str) -> Result<Hooks> {
    Ok(Hooks::default())
}

pub fn run_hook(h: &Hook, _state: &[u8]) -> Result<()> {
    Err(Error::new(format!(
        "hook {}: not supported yet",
        h.path.display()
    )))
}

pub fn default_spec(_rootless: bool) -> Value {
    json!({})
}

pub fn features() -> Value {
    json!({})
}
