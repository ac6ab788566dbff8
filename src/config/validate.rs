//! Resolve `input` into a validated [`Config`].
//!
//! Validation has no side effects (it reads nothing but the text and, to make
//! paths absolute, the current directory) and collects every error before
//! returning, each one line naming the field path and the bad value:
//! `container.json: mount_config.mounts[0].destination: must be an absolute path, got "tmp"`.

use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use super::input::{ContainerJson, DeviceIn, IdMapIn, MountConfigIn, MountIn, RlimitIn};
use super::json::{Diag, FromJson, Indexed, Raw, index, join, shown};
use super::{
    CAPABILITY_NAMES, Config, Device, DeviceKind, IdMap, Mount, MountConfig, MountKind, Ns, NsSet,
    RESTRICT_MASKED, RESTRICT_READONLY, Rlimit, capability_number, cgroups, net, suggest,
};
use crate::error::{Error, Result};

/// A loaded configuration and the warnings (unknown keys…) met on the way.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<String>,
}

/// Read and validate `<dir>/container.json`. The rootfs defaults to `dir`.
/// On failure the message holds every error (then every warning), one a line.
pub fn load(dir: &Path) -> Result<Loaded> {
    let path = dir.join("container.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::new(format!("read {}: {}", path.display(), io_reason(&e))))?;
    load_str(&text, dir).map_err(|errs| Error::new(errs.join("\n")))
}

fn io_reason(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => crate::error::strerror(rustix::io::Errno::from_raw_os_error(n)),
        None => e.to_string(),
    }
}

/// Validate container.json text found in `dir`. Every error is one line
/// `container.json: FIELD: …`; on failure the warnings follow the errors, since
/// an unknown key (a misspelt `namespaces`) often explains an error.
pub fn load_str(text: &str, dir: &Path) -> std::result::Result<Loaded, Vec<String>> {
    let value: Value = serde_json::from_str(text).map_err(|e| vec![json_syntax_error(&e)])?;
    let mut d = Diag::default();
    let config =
        ContainerJson::from_json(&value, "", &mut d).map(|input| resolve(input, dir, &mut d));
    match config {
        Some(config) if d.errors.is_empty() => Ok(Loaded {
            config,
            warnings: d.warnings,
        }),
        _ => {
            let mut lines = d.errors;
            lines.extend(d.warnings);
            Err(lines)
        }
    }
}

/// `container.json: invalid JSON at line 3 column 5: expected `,` or `}``.
fn json_syntax_error(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let msg = msg.strip_suffix(&suffix).unwrap_or(&msg);
    format!(
        "{}: invalid JSON at line {} column {}: {msg}",
        super::json::FILE,
        e.line(),
        e.column()
    )
}

/// FNV-1a (64 bit) of the file's bytes, in hex: recorded in state.json so a
/// changed container.json can be noticed.
pub fn config_hash(text: &str) -> String {
    format!("{:016x}", fnv1a64(text.as_bytes()))
}

pub(super) fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn resolve(c: ContainerJson, dir: &Path, d: &mut Diag) -> Config {
    let dir_abs = absolute(dir);
    let namespaces = resolve_namespaces(c.namespaces.map(|n| n.0).unwrap_or_default(), d);
    let has = |ns| namespaces.contains(ns);

    let rootfs = match c.root_fs.as_deref().filter(|r| !r.is_empty()) {
        Some(r) => absolute(&dir_abs.join(r)),
        None => dir_abs.clone(),
    };

    let hostname = c.hostname.filter(|h| !h.is_empty());
    if let Some(h) = &hostname {
        if !has(Ns::Uts) {
            d.error(
                "hostname",
                format_args!("{h:?} requires namespaces.NEWUTS (it would rename the host)"),
            );
        } else if h.len() > 64 {
            d.error(
                "hostname",
                format_args!("must be at most 64 bytes, got {h:?}"),
            );
        }
    }

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

    let ipc_path = c
        .ipc
        .filter(|p| !p.is_empty())
        .and_then(|p| host_path(&p, "ipc", d));

    let mount = resolve_mount_config(c.mount_config.unwrap_or_default(), d);
    let nets = net::resolve_networks(c.networks.unwrap_or_default(), "networks", namespaces, d);
    let routes = net::resolve_routes(c.routes.unwrap_or_default(), "routes", namespaces, &nets, d);
    let cgroups = cgroups::resolve_cgroups(c.cgroups, "cgroups", &dir_abs, d);
    cgroups::check_device_nodes_allowed(&mount.device_nodes, &cgroups, d);

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

    if !has(Ns::Mnt) {
        let needs_mnt = [
            ("mount_config.mounts", !mount.mounts.is_empty()),
            ("mount_config.device_nodes", !mount.device_nodes.is_empty()),
            ("mount_config.readonly_fs", mount.readonly_fs),
            ("restrict_sys", restrict_sys),
            (
                "readonly_paths",
                !readonly_paths.is_empty() && !restrict_sys,
            ),
            ("mask_paths", !mask_paths.is_empty() && !restrict_sys),
        ];
        for (field, used) in needs_mnt {
            if used {
                d.error(
                    field,
                    "requires namespaces.NEWNS (it would change the host's mounts)",
                );
            }
        }
    }

    let uid_mappings = resolve_id_maps(c.uid_mappings.unwrap_or_default(), "uid_mappings", d);
    let gid_mappings = resolve_id_maps(c.gid_mappings.unwrap_or_default(), "gid_mappings", d);
    check_user_namespace(has(Ns::User), &uid_mappings, &gid_mappings, d);

    let rlimits = resolve_rlimits(c.rlimits.unwrap_or_default(), d);

    let apparmor_profile = c.apparmor_profile.filter(|s| !s.is_empty());
    if apparmor_profile.is_some() {
        d.warn(
            "apparmor_profile",
            "ignored (nsinit has no AppArmor support)",
        );
    }
    let process_label = c.process_label.filter(|s| !s.is_empty());
    if process_label.is_some() {
        d.warn("process_label", "ignored (nsinit has no SELinux support)");
    }

    Config {
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
        ipc_path,
        apparmor_profile,
        process_label,
    }
}

/// `path` made absolute: canonical when it exists, else joined to the cwd.
fn absolute(path: &Path) -> PathBuf {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    path.canonicalize()
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

/// An absolute path inside the container, normalised (`/a/./b//c` → `/a/b/c`).
/// `..` is refused outright: it could only be meant to climb out of the rootfs.
pub(super) fn container_path(p: &str, path: &str, d: &mut Diag) -> Option<String> {
    if !p.starts_with('/') {
        d.error(path, format_args!("must be an absolute path, got {p:?}"));
        return None;
    }
    if p.contains('\0') {
        d.error(path, format_args!("must not contain a NUL byte, got {p:?}"));
        return None;
    }
    let mut parts = Vec::new();
    for c in Path::new(p).components() {
        match c {
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            Component::ParentDir => {
                d.error(path, format_args!("must not contain \"..\", got {p:?}"));
                return None;
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// An absolute host path (bind source, namespace file), kept as written.
pub(super) fn host_path(p: &str, path: &str, d: &mut Diag) -> Option<PathBuf> {
    if !p.starts_with('/') {
        d.error(path, format_args!("must be an absolute path, got {p:?}"));
        None
    } else if p.contains('\0') {
        d.error(path, format_args!("must not contain a NUL byte, got {p:?}"));
        None
    } else {
        Some(PathBuf::from(p))
    }
}

fn container_paths(list: Vec<String>, path: &str, d: &mut Diag) -> Vec<String> {
    list.iter()
        .enumerate()
        .filter_map(|(i, p)| container_path(p, &index(path, i), d))
        .collect()
}

fn resolve_mount_config(m: MountConfigIn, d: &mut Diag) -> MountConfig {
    const P: &str = "mount_config";
    let mounts = m
        .mounts
        .unwrap_or_default()
        .0
        .into_iter()
        .filter_map(|(i, mnt)| resolve_mount(mnt, &index(&join(P, "mounts"), i), d))
        .collect();
    let nodes_path = join(P, "device_nodes");
    let mut device_nodes: Vec<Device> = Vec::new();
    let mut node_index: Vec<usize> = Vec::new();
    for (i, dev) in m.device_nodes.unwrap_or_default().0 {
        let here = index(&nodes_path, i);
        let Some(dev) = resolve_device(dev, &here, true, d) else {
            continue;
        };
        if let Some(prev) = device_nodes.iter().position(|p| p.path == dev.path) {
            let first = index(&nodes_path, node_index[prev]);
            d.error(
                &join(&here, "path"),
                format_args!(
                    "{:?} is already created by {first}",
                    dev.path.unwrap_or_default()
                ),
            );
            continue;
        }
        device_nodes.push(dev);
        node_index.push(i);
    }
    let mount_label = m.mount_label.filter(|s| !s.is_empty());
    if mount_label.is_some() {
        d.warn(
            &join(P, "mount_label"),
            "ignored (nsinit has no SELinux support)",
        );
    }
    MountConfig {
        no_pivot_root: m.no_pivot_root.unwrap_or(false),
        readonly_fs: m.readonly_fs.unwrap_or(false),
        mounts,
        device_nodes,
        mount_label,
    }
}

fn resolve_mount(m: MountIn, path: &str, d: &mut Diag) -> Option<Mount> {
    let kind = match m.kind.as_deref() {
        Some("bind") => Some(MountKind::Bind),
        Some("tmpfs") => Some(MountKind::Tmpfs),
        Some(other) => {
            d.error(
                &join(path, "type"),
                format_args!("unsupported mount type {other:?} (expected bind or tmpfs)"),
            );
            None
        }
        None => {
            d.error(&join(path, "type"), "required (bind or tmpfs)");
            None
        }
    };
    let destination = match m.destination.as_deref() {
        None | Some("") => {
            d.error(&join(path, "destination"), "required");
            None
        }
        Some(p) => container_path(p, &join(path, "destination"), d),
    };
    if destination.as_deref() == Some("/") {
        d.error(
            &join(path, "destination"),
            "must not be \"/\" (the rootfs itself)",
        );
    }
    let source = m.source.filter(|s| !s.is_empty());
    let source = match (&kind, source) {
        (Some(MountKind::Bind), None) => {
            d.error(&join(path, "source"), "required for a bind mount");
            None
        }
        (Some(MountKind::Bind), Some(s)) => host_path(&s, &join(path, "source"), d),
        (Some(MountKind::Tmpfs), Some(_)) => {
            d.warn(&join(path, "source"), "ignored for a tmpfs mount");
            None
        }
        _ => None,
    };
    let data = m.data.filter(|s| !s.is_empty());
    if let Some(data) = &data {
        if kind == Some(MountKind::Bind) {
            d.error(
                &join(path, "data"),
                format_args!("only tmpfs mounts take data, got {data:?}"),
            );
        } else if data.contains('\0') {
            d.error(
                &join(path, "data"),
                format_args!("must not contain a NUL byte, got {data:?}"),
            );
        }
    }
    if m.relabel.as_deref().is_some_and(|r| !r.is_empty()) {
        d.warn(
            &join(path, "relabel"),
            "ignored (nsinit has no SELinux support)",
        );
    }
    let (private, slave) = (m.private.unwrap_or(false), m.slave.unwrap_or(false));
    if private && slave {
        d.error(path, "private and slave exclude each other");
    }
    let kind = kind?;
    // `writable` is about bind mounts (read-only unless set, as in
    // libcontainer); a tmpfs is writable unless explicitly `false`.
    let writable = m.writable.unwrap_or(kind == MountKind::Tmpfs);
    Some(Mount {
        kind,
        source,
        destination: destination?,
        writable,
        private,
        slave,
        data,
    })
}

/// A device from `device_nodes` (`node`: mknod needs a real type and numbers)
/// or from `cgroups.allowed_devices` (wildcards and `a` allowed).
pub(super) fn resolve_device(
    dev: DeviceIn,
    path: &str,
    node: bool,
    d: &mut Diag,
) -> Option<Device> {
    let expected = if node {
        "99 ('c') or 98 ('b')"
    } else {
        "99 ('c'), 98 ('b') or 97 ('a')"
    };
    let kind = match &dev.kind {
        None => {
            d.error(
                &join(path, "type"),
                format_args!("required, expected {expected}"),
            );
            None
        }
        Some(Raw(v)) => match device_kind(v) {
            Some(DeviceKind::All) if node => None,
            Some(k) => Some(k),
            None => None,
        }
        .or_else(|| {
            d.error(
                &join(path, "type"),
                format_args!("expected {expected}, got {}", shown(v)),
            );
            None
        }),
    };
    let dev_path = dev.path.filter(|p| !p.is_empty());
    let dev_path = match dev_path {
        Some(p) => container_path(&p, &join(path, "path"), d),
        None if node => {
            d.error(&join(path, "path"), "required for a device node");
            None
        }
        None => None,
    };
    let major = device_number(dev.major_number, &join(path, "major_number"), 4095, node, d);
    let minor = device_number(
        dev.minor_number,
        &join(path, "minor_number"),
        0xf_ffff,
        node,
        d,
    );
    let permissions = match dev.cgroup_permissions.filter(|p| !p.is_empty()) {
        None => "rwm".to_string(),
        Some(p) => {
            let mut seen = String::new();
            for c in p.chars() {
                if !"rwm".contains(c) || seen.contains(c) {
                    d.error(
                        &join(path, "cgroup_permissions"),
                        format_args!("expected letters from \"rwm\", got {p:?}"),
                    );
                    break;
                }
                seen.push(c);
            }
            p
        }
    };
    let file_mode = match &dev.file_mode {
        None => 0,
        Some(Raw(v)) => file_mode(v).unwrap_or_else(|| {
            d.error(
                &join(path, "file_mode"),
                format_args!(
                    "expected permission bits up to 4095 (0o7777), got {}",
                    shown(v)
                ),
            );
            0
        }),
    };
    if node && (dev_path.is_none() || major.is_none() || minor.is_none()) {
        return None;
    }
    Some(Device {
        kind: kind?,
        path: dev_path,
        major: major?,
        minor: minor?,
        permissions,
        file_mode,
        uid: dev.uid.unwrap_or(0),
        gid: dev.gid.unwrap_or(0),
    })
}

fn device_kind(v: &Value) -> Option<DeviceKind> {
    let code = match v {
        Value::Number(_) => super::json::integer(v)?,
        Value::String(s) if s.len() == 1 => i128::from(s.as_bytes()[0]),
        _ => return None,
    };
    match code {
        99 => Some(DeviceKind::Char),
        98 => Some(DeviceKind::Block),
        97 => Some(DeviceKind::All),
        _ => None,
    }
}

/// `Some(None)` is the `-1` wildcard; absent is 0 (Go's omitempty drops zeros).
fn device_number(
    n: Option<i64>,
    path: &str,
    max: i64,
    node: bool,
    d: &mut Diag,
) -> Option<Option<u32>> {
    match n.unwrap_or(0) {
        -1 if node => {
            d.error(
                path,
                "a device node needs a real number, not the -1 wildcard",
            );
            None
        }
        -1 => Some(None),
        n if (0..=max).contains(&n) => Some(Some(n as u32)),
        n => {
            d.error(
                path,
                format_args!("expected a number from 0 to {max} or -1 (any), got {n}"),
            );
            None
        }
    }
}

/// A permission-bits number (`438`) or an octal string (`"0666"`).
fn file_mode(v: &Value) -> Option<u32> {
    let n = match v {
        Value::Number(_) => super::json::integer(v)?,
        Value::String(s) => {
            let digits = s.strip_prefix("0o").unwrap_or(s);
            i128::from_str_radix(digits, 8).ok()?
        }
        _ => return None,
    };
    u32::try_from(n).ok().filter(|m| *m <= 0o7777)
}

fn resolve_id_maps(maps: Indexed<IdMapIn>, path: &str, d: &mut Diag) -> Vec<IdMap> {
    let mut out: Vec<(usize, IdMap)> = Vec::new();
    for (i, m) in maps.0 {
        let here = index(path, i);
        let map = IdMap {
            container_id: m.container_id.unwrap_or(0),
            host_id: m.host_id.unwrap_or(0),
            size: m.size.unwrap_or(0),
        };
        if map.size == 0 {
            d.error(&join(&here, "size"), "must be at least 1");
            continue;
        }
        let mut fits = true;
        for (what, first) in [("container_id", map.container_id), ("host_id", map.host_id)] {
            if u64::from(first) + u64::from(map.size) > 1 << 32 {
                d.error(
                    &here,
                    format_args!(
                        "{what} {first} + size {} is past the last id 4294967295",
                        map.size
                    ),
                );
                fits = false;
            }
        }
        if !fits {
            continue;
        }
        for (j, prev) in &out {
            let clash = |x: u32, y: u32| {
                u64::from(x) < u64::from(y) + u64::from(prev.size)
                    && u64::from(y) < u64::from(x) + u64::from(map.size)
            };
            if clash(map.container_id, prev.container_id) || clash(map.host_id, prev.host_id) {
                d.error(&here, format_args!("overlaps {}", index(path, *j)));
            }
        }
        out.push((i, map));
    }
    out.into_iter().map(|(_, m)| m).collect()
}

fn check_user_namespace(userns: bool, uids: &[IdMap], gids: &[IdMap], d: &mut Diag) {
    for (field, maps) in [("uid_mappings", uids), ("gid_mappings", gids)] {
        if userns && maps.is_empty() {
            d.error(
                "namespaces.NEWUSER",
                format_args!("requires {field} (who is root in the container?)"),
            );
        } else if !userns && !maps.is_empty() {
            d.error(field, "requires namespaces.NEWUSER");
        }
    }
}

/// `RLIMIT_*` names, indexed by resource number.
const RLIMIT_NAMES: [&str; 16] = [
    "CPU",
    "FSIZE",
    "DATA",
    "STACK",
    "CORE",
    "RSS",
    "NPROC",
    "NOFILE",
    "MEMLOCK",
    "AS",
    "LOCKS",
    "SIGPENDING",
    "MSGQUEUE",
    "NICE",
    "RTPRIO",
    "RTTIME",
];

fn resolve_rlimits(list: Indexed<RlimitIn>, d: &mut Diag) -> Vec<Rlimit> {
    let mut out: Vec<(usize, Rlimit)> = Vec::new();
    for (i, r) in list.0 {
        let here = index("rlimits", i);
        let resource = match &r.kind {
            None => {
                d.error(&join(&here, "type"), "required (e.g. \"RLIMIT_NOFILE\")");
                None
            }
            Some(Raw(v)) => rlimit_resource(v, &join(&here, "type"), d),
        };
        let soft = rlimit_value(r.soft.as_ref(), &join(&here, "soft"), d);
        let hard = rlimit_value(r.hard.as_ref(), &join(&here, "hard"), d);
        let (Some(resource), Some(soft), Some(hard)) = (resource, soft, hard) else {
            continue;
        };
        if soft > hard {
            d.error(
                &here,
                format_args!("soft limit {soft} is above the hard limit {hard}"),
            );
            continue;
        }
        if let Some((j, _)) = out.iter().find(|(_, o)| o.resource == resource) {
            d.error(
                &join(&here, "type"),
                format_args!(
                    "RLIMIT_{} is already set by {}",
                    RLIMIT_NAMES[resource as usize],
                    index("rlimits", *j)
                ),
            );
            continue;
        }
        out.push((
            i,
            Rlimit {
                resource,
                soft,
                hard,
            },
        ));
    }
    out.into_iter().map(|(_, r)| r).collect()
}

fn rlimit_resource(v: &Value, path: &str, d: &mut Diag) -> Option<u32> {
    let found = match v {
        Value::String(s) => {
            let bare = s
                .strip_prefix("RLIMIT_")
                .or_else(|| s.strip_prefix("rlimit_"))
                .unwrap_or(s);
            RLIMIT_NAMES
                .iter()
                .position(|n| n.eq_ignore_ascii_case(bare))
                .map(|n| n as u32)
        }
        _ => super::json::integer(v)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| (*n as usize) < RLIMIT_NAMES.len()),
    };
    if found.is_none() {
        let hint = match v {
            Value::String(s) => {
                let bare = s.strip_prefix("RLIMIT_").unwrap_or(s);
                suggest::nearest(bare, RLIMIT_NAMES).map_or(String::new(), |n| {
                    format!(" (did you mean \"RLIMIT_{n}\"?)")
                })
            }
            _ => String::new(),
        };
        d.error(path, format_args!("unknown resource {}{hint}", shown(v)));
    }
    found
}

/// A limit: a number, or `-1` / `"unlimited"` for RLIM_INFINITY.
fn rlimit_value(v: Option<&Raw>, path: &str, d: &mut Diag) -> Option<u64> {
    let Some(Raw(v)) = v else {
        d.error(path, "required (a number, or \"unlimited\")");
        return None;
    };
    let n = match v {
        Value::String(s) if s == "unlimited" || s == "infinity" => Some(u64::MAX),
        _ => match super::json::integer(v) {
            Some(-1) => Some(u64::MAX),
            Some(n) => u64::try_from(n).ok(),
            None => None,
        },
    };
    if n.is_none() {
        d.error(
            path,
            format_args!("expected a number, -1 or \"unlimited\", got {}", shown(v)),
        );
    }
    n
}
