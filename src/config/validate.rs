//! Resolve `input` into a validated [`Config`].
//!
//! Validation has no side effects and collects every error before returning,
//! each one line naming the field path and the bad value:
//! `container.json: mount_config.mounts[0].destination: must be an absolute path, got "tmp"`.
//! Besides the text it reads the current directory (to make paths absolute)
//! and, in [`load`] and [`load_str`], the host: `root_fs` must be a directory,
//! bind sources must exist, and the LSM keys are explained by what the host
//! runs. [`read_str`] without `check_host` is the pure part, for unit tests.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::input::ContainerJson;
use super::json::{Diag, FromJson, index};
use super::mounts::{container_paths, host_path, resolve_mount_config, system_mounts};
use super::process::{resolve_id_maps, resolve_rlimits};
use super::{
    CAPABILITY_NAMES, Config, Ns, NsSet, RESTRICT_MASKED, RESTRICT_READONLY, capability_number,
    cgroups, net, suggest,
};
use crate::error::{Error, Result};

/// A loaded configuration and the warnings (unknown keys…) met on the way.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<String>,
    /// FNV-1a of the text (recorded in state.json).
    pub hash: String,
}

/// Read and validate `<dir>/container.json`. The rootfs defaults to `dir`.
/// On failure the message holds every error (then every warning), one a line.
pub fn load(dir: &Path) -> Result<Loaded> {
    let path = dir.join("container.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::new(format!("read {}: {}", path.display(), io_reason(&e))))?;
    load_str(&text, dir).map_err(|errs| Error::new(errs.join("\n")))
}

pub(crate) fn io_reason(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => crate::error::strerror(rustix::io::Errno::from_raw_os_error(n)),
        None => e.to_string(),
    }
}

/// Validate container.json text found in `dir`. Every error is one line
/// `container.json: FIELD: …`; on failure the warnings follow the errors, since
/// an unknown key (a misspelt `namespaces`) often explains an error.
pub fn load_str(text: &str, dir: &Path) -> std::result::Result<Loaded, Vec<String>> {
    read_str(text, dir, true)
}

/// [`load_str`], looking at the host only when `check_host` is set.
///
/// A leading UTF-8 byte-order mark is skipped: it carries no meaning, RFC 8259
/// (section 8.1) lets parsers ignore it, and editors on some systems add one
/// unasked, so refusing it would only produce an error at "line 1 column 1"
/// about an invisible character.
pub fn read_str(
    text: &str,
    dir: &Path,
    check_host: bool,
) -> std::result::Result<Loaded, Vec<String>> {
    let json = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value =
        serde_json::from_str(json).map_err(|e| vec![json_syntax_error(super::json::FILE, &e)])?;
    let mut d = Diag {
        check_host,
        ..Diag::default()
    };
    super::json::scan(json, &mut d);
    let config =
        ContainerJson::from_json(&value, "", &mut d).map(|input| resolve(input, dir, &mut d));
    match config {
        Some(config) if d.errors.is_empty() => Ok(Loaded {
            config,
            warnings: d.warnings,
            hash: config_hash(text),
        }),
        _ => {
            let mut lines = d.errors;
            lines.extend(d.warnings);
            Err(lines)
        }
    }
}

/// `container.json: invalid JSON at line 3 column 5: expected `,` or `}``.
pub(crate) fn json_syntax_error(file: &str, e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let msg = msg.strip_suffix(&suffix).unwrap_or(&msg);
    format!(
        "{file}: invalid JSON at line {} column {}: {msg}",
        e.line(),
        e.column()
    )
}

/// FNV-1a (64 bit) of the file's bytes, in hex: recorded in state.json so a
/// changed container.json can be noticed.
pub fn config_hash(text: &str) -> String {
    format!("{:016x}", fnv1a64(text.as_bytes()))
}

pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn resolve(c: ContainerJson, dir: &Path, d: &mut Diag) -> Config {
    let dir_abs = absolute(dir);
    let namespaces = resolve_namespaces(c.namespaces.map(|n| n.0).unwrap_or_default(), d);
    let has = |ns| namespaces.contains(ns);

    let rootfs = match c.root_fs.as_deref().filter(|r| !r.is_empty()) {
        Some(r) if r.contains('\0') => {
            d.error(
                "root_fs",
                format_args!("must not contain a NUL byte, got {r:?}"),
            );
            dir_abs.clone()
        }
        Some(r) => absolute(&dir_abs.join(r)),
        None => dir_abs.clone(),
    };
    if d.check_host {
        host_dir(&rootfs, "root_fs", d);
    }

    let hostname = c.hostname.filter(|h| !h.is_empty());

    let user = c.user.filter(|u| !u.is_empty());
    if let Some(u) = &user {
        let ok = u.split(':').count() <= 2 && u.split(':').all(|p| !p.is_empty());
        if !ok {
            d.error(
                "user",
                format_args!("expected NAME, UID, NAME:GROUP or UID:GID, got {u:?}"),
            );
        }
    }

    let working_dir = c.working_dir.filter(|w| !w.is_empty());
    if let Some(w) = &working_dir
        && !w.starts_with('/')
    {
        d.error(
            "working_dir",
            format_args!("must be an absolute path, got {w:?}"),
        );
    }

    let environment = c.environment.unwrap_or_default();
    for (i, e) in environment.iter().enumerate() {
        if !matches!(e.split_once('='), Some((k, _)) if !k.is_empty()) || e.contains('\0') {
            d.error(
                &index("environment", i),
                format_args!("expected KEY=VALUE, got {e:?}"),
            );
        }
    }

    let capabilities = resolve_capabilities(c.capabilities.unwrap_or_default(), d);

    let ns_paths: Vec<(Ns, PathBuf)> = c
        .ipc
        .filter(|p| !p.is_empty())
        .and_then(|p| host_path(&p, "ipc", d))
        .map(|p| (Ns::Ipc, p))
        .into_iter()
        .collect();

    let mount = resolve_mount_config(c.mount_config.unwrap_or_default(), d);
    let configured_mounts = mount.mounts.len();
    let nets = net::resolve_networks(c.networks.unwrap_or_default(), "networks", namespaces, d);
    let routes = net::resolve_routes(c.routes.unwrap_or_default(), "routes", namespaces, &nets, d);
    let mut cgroups = cgroups::resolve_cgroups(c.cgroups, "cgroups", &dir_abs, d);
    cgroups::allow_device_nodes(&mount.device_nodes, &mut cgroups, d);

    let restrict_sys = c.restrict_sys.unwrap_or(false);
    let mut readonly_paths =
        container_paths(c.readonly_paths.unwrap_or_default(), "readonly_paths", d);
    let mut mask_paths = container_paths(c.mask_paths.unwrap_or_default(), "mask_paths", d);
    if restrict_sys {
        readonly_paths.extend(RESTRICT_READONLY.iter().map(|s| s.to_string()));
        mask_paths.extend(RESTRICT_MASKED.iter().map(|s| s.to_string()));
    }
    dedup(&mut readonly_paths);
    dedup(&mut mask_paths);

    let uid_mappings = resolve_id_maps(c.uid_mappings.unwrap_or_default(), "uid_mappings", d);
    let gid_mappings = resolve_id_maps(c.gid_mappings.unwrap_or_default(), "gid_mappings", d);

    let rlimits = resolve_rlimits(c.rlimits.unwrap_or_default(), d);

    let apparmor_profile = c.apparmor_profile.filter(|s| !s.is_empty());
    let process_label = c.process_label.filter(|s| !s.is_empty());
    for (field, value, lsm_name) in [
        ("apparmor_profile", &apparmor_profile, "apparmor"),
        ("process_label", &process_label, "selinux"),
    ] {
        if let Some(v) = value {
            let active = d.check_host.then(|| lsm_active(lsm_name));
            d.error(field, lsm_unsupported(v, lsm_name, active));
        }
    }

    let seccomp = c.seccomp.and_then(|v| {
        crate::seccomp::load(&v, "seccomp")
            .map_err(|errs| {
                errs.iter().for_each(|e| d.error("", e));
            })
            .ok()
    });

    let mut mount = mount;
    if has(Ns::Mnt) {
        // The 2014 schema's implicit system mounts, made explicit, first.
        let mut all = system_mounts(restrict_sys);
        all.append(&mut mount.mounts);
        mount.mounts = all;
    }
    let mut cfg = Config {
        rootfs,
        hostname,
        user,
        working_dir,
        environment,
        tty: c.tty.unwrap_or(false),
        init: c.init.unwrap_or(false),
        namespaces,
        capabilities,
        mount,
        networks: nets,
        routes,
        cgroups: Some(cgroups),
        restrict_sys,
        readonly_paths,
        mask_paths,
        uid_mappings,
        gid_mappings,
        rlimits,
        ns_paths,
        apparmor_profile,
        process_label,
        no_new_privileges: c.no_new_privileges.unwrap_or(false),
        no_new_keyring: c.no_new_keyring.unwrap_or(false),
        seccomp,
        ..Config::default()
    };
    // Not root: a user namespace without maps maps the caller to 0 (also
    // when a join lowers the stored text again).
    crate::container::rootless::default_own_maps(&mut cfg);
    validate(&cfg, &CONTAINER_JSON, configured_mounts, d);
    cfg
}

/// How a front end names the fields the cross-field rules talk about.
pub struct Names {
    pub hostname: &'static str,
    pub domainname: &'static str,
    /// The key that asks for a namespace (`namespaces.NEWUTS`).
    pub namespace: fn(Ns) -> String,
    pub mounts: &'static str,
    pub device_nodes: &'static str,
    pub readonly_fs: &'static str,
    pub readonly_paths: &'static str,
    pub mask_paths: &'static str,
    pub uid_mappings: &'static str,
    pub gid_mappings: &'static str,
    pub sysctl: &'static str,
    pub time_offsets: &'static str,
    /// Mounts and device nodes without a mount namespace go into the
    /// host's tree under the rootfs (OCI, as runc and crun do), instead of
    /// being refused (container.json).
    pub host_mounts: bool,
}

/// container.json's names.
pub const CONTAINER_JSON: Names = Names {
    hostname: "hostname",
    domainname: "domainname",
    namespace: |ns| format!("namespaces.{}", ns.key()),
    mounts: "mount_config.mounts",
    device_nodes: "mount_config.device_nodes",
    readonly_fs: "mount_config.readonly_fs",
    readonly_paths: "readonly_paths",
    mask_paths: "mask_paths",
    uid_mappings: "uid_mappings",
    gid_mappings: "gid_mappings",
    sysctl: "sysctl",
    time_offsets: "time_offsets",
    host_mounts: false,
};

/// The cross-field rules, a pass over the lowered [`Config`] that every front
/// end runs: what needs which namespace, and the user namespace's maps.
/// `configured_mounts` counts the mounts the user wrote (not implicit ones).
pub fn validate(cfg: &Config, n: &Names, configured_mounts: usize, d: &mut Diag) {
    let joined = |ns| cfg.ns_paths.iter().any(|(k, _)| *k == ns);
    let has = |ns| cfg.namespaces.contains(ns) || joined(ns);
    // A namespace joined by path that is the runtime's own is the host's
    // (Docker's `--network host`, `--uts host`): what the config sets in it
    // would change the host's, and runc refuses it.
    let check_host = d.check_host;
    let host_ns = |ns| {
        cfg.ns_paths
            .iter()
            .find(|(k, p)| *k == ns && check_host && crate::container::nspath::is_own(p, ns))
            .map(|(_, p)| p)
    };
    if let Some(h) = &cfg.hostname {
        if !has(Ns::Uts) {
            d.error(
                n.hostname,
                format_args!(
                    "{h:?} requires {} (it would rename the host)",
                    (n.namespace)(Ns::Uts)
                ),
            );
        } else if h.chars().any(char::is_control) {
            d.error(
                n.hostname,
                format_args!("must not contain control characters (NUL, newline...), got {h:?}"),
            );
        } else if h.len() > 64 {
            d.error(
                n.hostname,
                format_args!("must be at most 64 bytes, got {h:?}"),
            );
        }
    }
    if let Some(h) = &cfg.domainname {
        if !has(Ns::Uts) {
            d.error(
                n.domainname,
                format_args!(
                    "{h:?} requires {} (it would rename the host)",
                    (n.namespace)(Ns::Uts)
                ),
            );
        } else if h.chars().any(char::is_control) || h.len() > 64 {
            d.error(
                n.domainname,
                format_args!("must be at most 64 bytes without control characters, got {h:?}"),
            );
        }
    }
    if let Some(path) = host_ns(Ns::Uts) {
        for (field, set) in [
            (n.hostname, cfg.hostname.is_some()),
            (n.domainname, cfg.domainname.is_some()),
        ] {
            if set {
                d.error(
                    field,
                    format_args!(
                        "{} is the host's uts namespace (it would rename the host)",
                        path.display()
                    ),
                );
            }
        }
    }
    if !has(Ns::Mnt) {
        let restrict_sys = cfg.restrict_sys;
        let idmapped = cfg.mount.mounts.iter().any(|m| m.idmap.is_some());
        let needs_mnt = [
            (
                n.mounts,
                configured_mounts > 0 && (!n.host_mounts || idmapped),
            ),
            (
                n.device_nodes,
                !cfg.mount.device_nodes.is_empty() && !n.host_mounts,
            ),
            (n.readonly_fs, cfg.mount.readonly_fs),
            ("restrict_sys", restrict_sys),
            (
                n.readonly_paths,
                !cfg.readonly_paths.is_empty() && !restrict_sys,
            ),
            (n.mask_paths, !cfg.mask_paths.is_empty() && !restrict_sys),
            (n.sysctl, !cfg.sysctl.is_empty()),
        ];
        for (field, used) in needs_mnt {
            if used {
                d.error(
                    field,
                    format_args!(
                        "requires {} (it would change the host's mounts)",
                        (n.namespace)(Ns::Mnt)
                    ),
                );
            }
        }
    }
    let userns = cfg.namespaces.contains(Ns::User);
    for (field, maps) in [
        (n.uid_mappings, &cfg.uid_mappings),
        (n.gid_mappings, &cfg.gid_mappings),
    ] {
        // An entry that was written but refused (size 0…) has its own error.
        if userns && maps.is_empty() && !d.has_error_at(field) {
            d.error(
                &(n.namespace)(Ns::User),
                format_args!("requires {field} (who is root in the container?)"),
            );
        } else if !userns && !maps.is_empty() {
            let why = if joined(Ns::User) {
                " to be created, not joined (the joined one has its maps)"
            } else {
                ""
            };
            d.error(
                field,
                format_args!("requires {}{why}", (n.namespace)(Ns::User)),
            );
        }
    }
    for (key, _) in &cfg.sysctl {
        let ns = sysctl_namespace(key);
        match ns {
            None => d.error(
                n.sysctl,
                format_args!("{key:?} is not namespaced: it would change the host"),
            ),
            Some(ns) if !has(ns) => d.error(
                n.sysctl,
                format_args!(
                    "{key:?} requires {} (it would change the host's)",
                    (n.namespace)(ns)
                ),
            ),
            Some(ns) => {
                if let Some(path) = host_ns(ns) {
                    d.error(
                        n.sysctl,
                        format_args!(
                            "{key:?}: {} is the host's {} namespace (it would change the host's)",
                            path.display(),
                            ns.proc_name()
                        ),
                    );
                }
            }
        }
    }
    if !cfg.time_offsets.is_empty() && !cfg.namespaces.contains(Ns::Time) {
        d.error(
            n.time_offsets,
            format_args!(
                "requires a new time namespace ({})",
                (n.namespace)(Ns::Time)
            ),
        );
    }
}

/// The namespace a sysctl belongs to (runc's list), `None` when it is global.
pub fn sysctl_namespace(key: &str) -> Option<Ns> {
    const IPC: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    if IPC.contains(&key) || key.starts_with("fs.mqueue.") {
        Some(Ns::Ipc)
    } else if key.starts_with("net.") {
        Some(Ns::Net)
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        Some(Ns::Uts)
    } else {
        None
    }
}

/// Record an error unless `path` (a host path from `field`) is a directory.
pub(crate) fn host_dir(path: &Path, field: &str, d: &mut Diag) {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => d.error(field, format_args!("{}: not a directory", path.display())),
        Err(e) => d.error(field, format_args!("{}: {}", path.display(), io_reason(&e))),
    }
}

/// Whether the host runs the LSM `name` (`apparmor`, `selinux`): from
/// securityfs, or from the module's own files when securityfs is not mounted.
pub(crate) fn lsm_active(name: &str) -> bool {
    match std::fs::read_to_string("/sys/kernel/security/lsm") {
        Ok(list) => list.trim().split(',').any(|n| n == name),
        Err(_) if name == "apparmor" => {
            std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
                .is_ok_and(|s| s.trim() == "Y")
        }
        Err(_) => Path::new("/sys/fs/selinux/enforce").exists(),
    }
}

/// The error for an LSM key. nsinit implements no LSM, so the key is always an
/// error (fail closed: a container asked to be confined never runs unconfined
/// silently); the message says whether the host could confine it at all and
/// how to run without confinement on purpose.
pub(crate) fn lsm_unsupported(value: &str, lsm: &str, active: Option<bool>) -> String {
    let (what, how) = match lsm {
        "apparmor" => ("AppArmor", "profile"),
        _ => ("SELinux", "label"),
    };
    let why = match active {
        Some(false) => format!("{what} is not enabled on this host"),
        _ => format!("{what} {how}s are not supported by nsinit"),
    };
    format!(
        "{value:?}: {why}, so the container cannot be confined by it; \
         remove the key to run it unconfined"
    )
}

/// `path` made absolute: canonical when it exists, else joined to the cwd.
pub(crate) fn absolute(path: &Path) -> PathBuf {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    crate::rootfs::paths::canonical(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

fn dedup(v: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    v.retain(|s| seen.insert(s.clone()));
}

fn resolve_namespaces(entries: Vec<(String, bool)>, d: &mut Diag) -> NsSet {
    let mut set = NsSet::default();
    for (key, on) in entries {
        match Ns::from_key(&key) {
            Some(ns) if on => set.insert(ns),
            Some(_) => {}
            None => {
                let hint = match suggest::nearest(&key, Ns::ALL.iter().map(|n| n.key())) {
                    Some(k) => format!("did you mean \"{k}\"?"),
                    None => {
                        let all: Vec<&str> = Ns::ALL.iter().map(|n| n.key()).collect();
                        format!("known: {}", all.join(", "))
                    }
                };
                d.error(
                    "namespaces",
                    format_args!("unknown namespace {key:?} ({hint})"),
                );
            }
        }
    }
    set
}

fn resolve_capabilities(names: Vec<String>, d: &mut Diag) -> u64 {
    let mut mask = 0u64;
    for (i, name) in names.iter().enumerate() {
        match capability_number(name) {
            Some(n) => mask |= 1 << n,
            None => {
                let bare = name.strip_prefix("CAP_").unwrap_or(name);
                let hint = suggest::did_you_mean(bare, CAPABILITY_NAMES);
                d.error(
                    &index("capabilities", i),
                    format_args!("unknown capability {name:?}{hint}"),
                );
            }
        }
    }
    mask
}
