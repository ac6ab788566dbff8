//! The OCI runtime-spec front end: `config.json` of a bundle lowered into the
//! schema-neutral [`Config`] and a [`ProcessSpec`], with the same diagnostics
//! as container.json (every error at once, each naming its field path:
//! `config.json: linux.resources.memory.limit: …`), then the shared
//! cross-field pass [`crate::config::validate::validate`].
//!
//! Reading goes over a `serde_json::Value` with the path-aware helpers of
//! `config::json` (no derive structs: smaller and every message has a path).
//! Every runtime-spec 1.2 field for Linux is lowered or refused by name;
//! unknown keys warn.

pub mod hooks;
mod linux;
mod process;
mod read;
mod resources;
mod spec;
mod state;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::config::json::{Diag, scan};
use crate::config::mounts::container_path;
use crate::config::validate::{Names, absolute, host_dir, json_syntax_error, validate};
use crate::config::{Config, Idmap, Mount, Ns, mount_options};
use crate::container::process::ProcessSpec;
use crate::error::{Error, Result};

pub use hooks::{Hook, Hooks, run_hook};
pub use spec::{default_spec, features};
pub use state::{hook_state, run_hooks, run_hooks_with, state_doc};

use read::{get, known_keys, obj, opt_str, strings};

/// The file name in messages.
pub const FILE: &str = "config.json";

/// A bundle's config.json, lowered.
#[derive(Clone, Debug)]
pub struct Bundle {
    pub config: Config,
    pub process: ProcessSpec,
    pub hooks: Hooks,
    pub annotations: BTreeMap<String, String>,
    pub oci_version: String,
    /// config.json as read.
    pub text: String,
    /// Warnings met while reading (unknown keys…), one a line.
    pub warnings: Vec<String>,
}

/// Read `<bundle>/config.json` (no link followed, size-capped), lower and
/// validate it. On failure the message holds every error, then every warning.
pub fn load(bundle_dir: &Path) -> Result<Bundle> {
    let dir = rustix::fs::open(
        bundle_dir,
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| Error::sys(format!("open bundle {}", bundle_dir.display()), e))?;
    let bytes = crate::container::record::read_file_at(&dir, FILE)?
        .ok_or_else(|| Error::new(format!("{}/{FILE}: not found", bundle_dir.display())))?;
    let text =
        String::from_utf8(bytes).map_err(|_| Error::new(format!("{FILE}: not valid UTF-8")))?;
    load_text(&text, bundle_dir)
}

/// [`load`] from config.json text already read (the record's copy).
pub fn load_text(text: &str, bundle_dir: &Path) -> Result<Bundle> {
    lower_str(text, bundle_dir, true).map_err(|lines| Error::new(lines.join("\n")))
}

/// The lowered [`Config`] of config.json text (see [`load_text`]).
pub fn load_config_text(text: &str, bundle_dir: &Path) -> Result<Config> {
    load_text(text, bundle_dir).map(|b| b.config)
}

/// Only the hooks of config.json text.
pub fn load_hooks(text: &str) -> Result<Hooks> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| Error::new(json_syntax_error(FILE, &e)))?;
    let mut d = Diag {
        file: FILE,
        ..Diag::default()
    };
    let hooks = match v.get("hooks") {
        Some(h) if !h.is_null() => hooks::lower(h, "hooks", &mut d),
        _ => Hooks::default(),
    };
    if d.errors.is_empty() {
        Ok(hooks)
    } else {
        Err(Error::new(d.errors.join("\n")))
    }
}

/// Lower config.json text of the bundle `dir`; `check_host` looks at the
/// host (root.path must be a directory, LSM state), off in unit tests.
pub fn lower_str(
    text: &str,
    dir: &Path,
    check_host: bool,
) -> std::result::Result<Bundle, Vec<String>> {
    let json = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value = serde_json::from_str(json).map_err(|e| vec![json_syntax_error(FILE, &e)])?;
    let mut d = Diag {
        file: FILE,
        check_host,
        ..Diag::default()
    };
    scan(json, &mut d);
    let bundle = lower(&value, &absolute(dir), &mut d);
    match bundle {
        Some(mut b) if d.errors.is_empty() => {
            b.text = text.to_string();
            b.process.seccomp = b.config.seccomp.clone();
            b.warnings = d.warnings;
            Ok(b)
        }
        _ => {
            let mut lines = d.errors;
            lines.extend(d.warnings);
            Err(lines)
        }
    }
}

/// `exec --process FILE`: a `process` object lowered as config.json's is,
/// against the container's config. Messages name the file `--process`.
pub fn lower_process(v: &Value, cfg: &Config) -> Result<ProcessSpec> {
    let mut d = Diag {
        file: "--process",
        ..Diag::default()
    };
    let p = process::lower(v, "", cfg, &mut d);
    match p {
        Some(mut p) if d.errors.is_empty() => {
            p.spec.seccomp = cfg.seccomp.clone();
            Ok(p.spec)
        }
        _ => Err(Error::new(d.errors.join("\n"))),
    }
}

const TOP_KEYS: &[&str] = &[
    "ociVersion",
    "process",
    "root",
    "hostname",
    "domainname",
    "mounts",
    "hooks",
    "annotations",
    "linux",
    "solaris",
    "windows",
    "vm",
    "zos",
];

/// The names the cross-field rules use in config.json.
const OCI_NAMES: Names = Names {
    hostname: "hostname",
    domainname: "domainname",
    namespace: |ns| format!("linux.namespaces[type={}]", linux::ns_type(ns)),
    mounts: "mounts",
    device_nodes: "linux.devices",
    readonly_fs: "root.readonly",
    readonly_paths: "linux.readonlyPaths",
    mask_paths: "linux.maskedPaths",
    uid_mappings: "linux.uidMappings",
    gid_mappings: "linux.gidMappings",
    sysctl: "linux.sysctl",
    time_offsets: "linux.timeOffsets",
    host_mounts: true,
};

fn lower(v: &Value, dir: &Path, d: &mut Diag) -> Option<Bundle> {
    let top = obj(v, "", d)?;
    known_keys(top, "", TOP_KEYS, d);
    let oci_version = check_version(top, d);
    let mut cfg = Config::default();
    lower_root(top, dir, &mut cfg, d);
    cfg.hostname = opt_str(top, "", "hostname", d).filter(|s| !s.is_empty());
    cfg.domainname = opt_str(top, "", "domainname", d).filter(|s| !s.is_empty());
    let mounts = lower_mounts(top.get("mounts"), dir, d);
    let configured_mounts = mounts.len();
    match top.get("linux") {
        Some(l) if !l.is_null() => linux::lower(l, dir, &mut cfg, d),
        _ => d.error("linux", "required (this runtime runs Linux containers)"),
    }
    let userns = cfg.namespaces.contains(Ns::User) || cfg.ns_paths.iter().any(|p| p.0 == Ns::User);
    for (i, m) in mounts {
        if !userns && m.idmap.as_ref().is_some_and(|x| x.uid_mappings.is_empty()) {
            d.error(
                &format!("mounts[{i}].options"),
                "\"idmap\" without uidMappings/gidMappings uses the container's maps: requires linux.namespaces[type=user]",
            );
        }
        cfg.mount.mounts.push(m);
    }
    for other in ["solaris", "windows", "vm", "zos"] {
        if top.get(other).is_some_and(|v| !v.is_null()) {
            d.error(other, "not supported (this runtime runs Linux containers)");
        }
    }
    let process = match top.get("process") {
        Some(p) if !p.is_null() => match process::lower(p, "process", &cfg, d) {
            Some(p) => {
                cfg.tty = p.terminal;
                p.spec
            }
            None => ProcessSpec::default(),
        },
        _ => {
            d.error("process", "required");
            ProcessSpec::default()
        }
    };
    cfg.capabilities = process.caps.bounding;
    cfg.no_new_privileges = process.no_new_privileges;
    cfg.rlimits = process.rlimits.clone();
    let hooks = match top.get("hooks") {
        Some(h) if !h.is_null() => hooks::lower(h, "hooks", d),
        _ => Hooks::default(),
    };
    let annotations = match top.get("annotations") {
        Some(a) if !a.is_null() => read::string_map(a, "annotations", d).into_iter().collect(),
        _ => BTreeMap::new(),
    };
    // Not root: a user namespace without maps maps the caller to 0 (also
    // when a join lowers the stored text again).
    crate::container::rootless::default_own_maps(&mut cfg);
    validate(&cfg, &OCI_NAMES, configured_mounts, d);
    Some(Bundle {
        config: cfg,
        process,
        hooks,
        annotations,
        oci_version: oci_version.unwrap_or_default(),
        text: String::new(),
        warnings: Vec::new(),
    })
}

/// `ociVersion`: required, 1.0.x to 1.2.x.
fn check_version(top: &Map<String, Value>, d: &mut Diag) -> Option<String> {
    let Some(v) = opt_str(top, "", "ociVersion", d) else {
        if !d.has_error_at("ociVersion") {
            d.error("ociVersion", "required (e.g. \"1.2.0\")");
        }
        return None;
    };
    let mut parts = v.split(['.', '-', '+']);
    let ok = parts.next() == Some("1")
        && matches!(parts.next(), Some("0" | "1" | "2" | "3"))
        && parts
            .next()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !ok {
        d.error(
            "ociVersion",
            format_args!("unsupported version {v:?} (this runtime reads 1.0.0 to 1.3.x)"),
        );
    }
    Some(v)
}

/// `root`: path (relative to the bundle) and readonly.
fn lower_root(top: &Map<String, Value>, dir: &Path, cfg: &mut Config, d: &mut Diag) {
    let Some(root) = top.get("root").filter(|r| !r.is_null()) else {
        d.error("root", "required (root.path names the rootfs)");
        return;
    };
    let Some(root) = obj(root, "root", d) else {
        return;
    };
    known_keys(root, "root", &["path", "readonly"], d);
    match opt_str(root, "root", "path", d).filter(|p| !p.is_empty()) {
        Some(p) if p.contains('\0') => d.error("root.path", "must not contain a NUL byte"),
        Some(p) => {
            cfg.rootfs = absolute(&dir.join(p));
            if d.check_host {
                host_dir(&cfg.rootfs, "root.path", d);
            }
        }
        None if !d.has_error_at("root.path") => d.error("root.path", "required"),
        None => {}
    }
    cfg.mount.readonly_fs = get::<bool>(root, "root", "readonly", d).unwrap_or(false);
    // runc's default: `/` rslave before the rootfs is built.
    cfg.mount.slave_by_default = true;
}

/// `mounts`: each with its options folded by the option table, and its
/// index in the list.
fn lower_mounts(v: Option<&Value>, dir: &Path, d: &mut Diag) -> Vec<(usize, Mount)> {
    let Some(list) = v.filter(|v| !v.is_null()) else {
        return Vec::new();
    };
    let Some(items) = read::array(list, "mounts", d) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, m) in items.iter().enumerate() {
        let here = format!("mounts[{i}]");
        if let Some(m) = lower_mount(m, &here, dir, d) {
            out.push((i, m));
        }
    }
    out
}

const MOUNT_KEYS: &[&str] = &[
    "destination",
    "type",
    "source",
    "options",
    "uidMappings",
    "gidMappings",
];

fn lower_mount(v: &Value, here: &str, dir: &Path, d: &mut Diag) -> Option<Mount> {
    let m = obj(v, here, d)?;
    known_keys(m, here, MOUNT_KEYS, d);
    let at = |k: &str| format!("{here}.{k}");
    let destination = match opt_str(m, here, "destination", d) {
        Some(p) if !p.is_empty() => container_path(&p, &at("destination"), d),
        _ => {
            d.error(&at("destination"), "required");
            None
        }
    };
    let fstype = opt_str(m, here, "type", d).unwrap_or_default();
    let options = strings(m, here, "options", d);
    let opts = mount_options::parse(options.iter().map(String::as_str));
    if opts.copy_up && fstype != "tmpfs" {
        d.error(&at("options"), "\"tmpcopyup\" applies to tmpfs mounts only");
    }
    for o in &opts.unsupported {
        d.error(
            &at("options"),
            format_args!("{o:?} is not supported by this build"),
        );
    }
    let mut flags = opts.flags;
    if fstype == "bind" {
        flags |= mount_options::BIND;
    }
    let bind = flags & mount_options::BIND != 0;
    let idmap = lower_idmap(m, here, opts.idmap, bind, d);
    let source = opt_str(m, here, "source", d).filter(|s| !s.is_empty());
    if source.as_deref().is_some_and(|s| s.contains('\0')) {
        d.error(&at("source"), "must not contain a NUL byte");
        return None;
    }
    let data = (!opts.data.is_empty()).then(|| opts.data.join(","));
    if bind {
        let Some(src) = source else {
            d.error(&at("source"), "required for a bind mount");
            return None;
        };
        if let Some(data) = &data {
            d.warn(
                &at("options"),
                format_args!("{data:?} ignored for a bind mount"),
            );
        }
        // A relative source is relative to the bundle, as in runc.
        let src = dir.join(src);
        if d.check_host
            && let Err(e) = std::fs::metadata(&src)
        {
            d.error(
                &at("source"),
                format_args!(
                    "{}: {}",
                    src.display(),
                    crate::config::validate::io_reason(&e)
                ),
            );
        }
        return Some(Mount {
            fstype: "bind".into(),
            source: Some(src),
            destination: destination?,
            flags,
            propagation: opts.propagation,
            data: None,
            recursive: opts.recursive,
            copy_up: false,
            idmap,
        });
    }
    if fstype.is_empty() {
        d.error(&at("type"), "required unless the mount is a bind mount");
        return None;
    }
    Some(Mount {
        source: Some(source.unwrap_or_else(|| fstype.clone()).into()),
        fstype,
        destination: destination?,
        flags,
        propagation: opts.propagation,
        data,
        recursive: opts.recursive,
        copy_up: opts.copy_up,
        idmap: None,
    })
}

/// A mount's `uidMappings`/`gidMappings` and `idmap`/`ridmap` (`option`):
/// maps without the option idmap the top mount, as runc 1.2 does; the
/// option without maps uses the container's (checked once the namespaces
/// are read).
fn lower_idmap(
    m: &Map<String, Value>,
    here: &str,
    option: Option<bool>,
    bind: bool,
    d: &mut Diag,
) -> Option<Idmap> {
    let given = |k: &str| {
        m.get(k)
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
    };
    let (uid, gid) = (given("uidMappings"), given("gidMappings"));
    if !uid && !gid && option.is_none() {
        return None;
    }
    if uid != gid {
        d.error(
            here,
            "uidMappings and gidMappings go together (an idmapped mount maps both)",
        );
        return None;
    }
    if !bind {
        let field = if uid || gid { "uidMappings" } else { "options" };
        d.error(
            &format!("{here}.{field}"),
            "idmapped mounts are only supported for bind mounts (type \"bind\", or option \
             \"bind\" or \"rbind\")",
        );
        return None;
    }
    let uid_mappings = linux::id_maps(m, here, "uidMappings", d);
    let gid_mappings = linux::id_maps(m, here, "gidMappings", d);
    // Maps given but every entry refused (each has its error).
    if uid && (uid_mappings.is_empty() || gid_mappings.is_empty()) {
        return None;
    }
    Some(Idmap {
        uid_mappings,
        gid_mappings,
        recursive: option == Some(true),
    })
}
