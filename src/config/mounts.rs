//! `mount_config` (mounts and device nodes) and the in-container path rules
//! shared with `readonly_paths`, `mask_paths` and `cgroups.allowed_devices`.

use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use super::input::{DeviceIn, MountConfigIn, MountIn};
use super::json::{Diag, Raw, index, join};
use super::mount_options::{BIND, PRIVATE, REC, SLAVE};
use super::validate::io_reason;
use super::{Device, DeviceKind, Mount, MountConfig};

const NOSUID: u64 = linux_raw_sys::general::MS_NOSUID as u64;
const NODEV: u64 = linux_raw_sys::general::MS_NODEV as u64;
const NOEXEC: u64 = linux_raw_sys::general::MS_NOEXEC as u64;
const RDONLY: u64 = linux_raw_sys::general::MS_RDONLY as u64;
const STRICTATIME: u64 = linux_raw_sys::general::MS_STRICTATIME as u64;
/// nosuid, noexec, nodev: libcontainer's `defaultMountFlags`.
pub const DEFAULT_FLAGS: u64 = NOSUID | NOEXEC | NODEV;

/// The mounts the 2014 schema gives every container with a mount namespace,
/// in mount order: proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys (read-only
/// under `restrict_sys`).
pub fn system_mounts(restrict_sys: bool) -> Vec<Mount> {
    let sys_ro = if restrict_sys { RDONLY } else { 0 };
    [
        ("proc", "/proc", "proc", DEFAULT_FLAGS, ""),
        (
            "tmpfs",
            "/dev",
            "tmpfs",
            NOSUID | STRICTATIME,
            "mode=755,size=65536k",
        ),
        (
            "devpts",
            "/dev/pts",
            "devpts",
            NOSUID | NOEXEC,
            "newinstance,ptmxmode=0666,mode=620,gid=5",
        ),
        (
            "shm",
            "/dev/shm",
            "tmpfs",
            DEFAULT_FLAGS,
            "mode=1777,size=65536k",
        ),
        ("mqueue", "/dev/mqueue", "mqueue", DEFAULT_FLAGS, ""),
        ("sysfs", "/sys", "sysfs", DEFAULT_FLAGS | sys_ro, ""),
    ]
    .into_iter()
    .map(|(source, destination, fstype, flags, data)| Mount {
        fstype: fstype.into(),
        source: Some(source.into()),
        destination: destination.into(),
        flags,
        propagation: 0,
        data: (!data.is_empty()).then(|| data.into()),
        recursive: Default::default(),
        copy_up: false,
        idmap: None,
    })
    .collect()
}

/// An absolute path inside the container, normalised (`/a/./b//c` → `/a/b/c`).
/// `..` is refused outright: it could only be meant to climb out of the rootfs.
pub(crate) fn container_path(p: &str, path: &str, d: &mut Diag) -> Option<String> {
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
pub(crate) fn host_path(p: &str, path: &str, d: &mut Diag) -> Option<PathBuf> {
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

pub(crate) fn container_paths(list: Vec<String>, path: &str, d: &mut Diag) -> Vec<String> {
    list.iter()
        .enumerate()
        .filter_map(|(i, p)| container_path(p, &index(path, i), d))
        .collect()
}

pub(crate) fn resolve_mount_config(m: MountConfigIn, d: &mut Diag) -> MountConfig {
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
        rootfs_propagation: 0,
        slave_by_default: false,
    }
}

/// Why a mount destination is refused: the rootfs itself, or a filesystem
/// nsinit mounts for every container (covering it breaks the container).
fn reserved_destination(dst: &str) -> Option<&'static str> {
    match dst {
        "/" => Some("the rootfs itself"),
        "/proc" => Some("nsinit mounts proc there; the container needs it"),
        "/dev" => Some("nsinit builds /dev there with the device nodes"),
        "/dev/pts" => Some("nsinit mounts devpts there for the container's terminals"),
        "/sys" => Some("nsinit mounts sysfs there; the container needs it"),
        _ => None,
    }
}

#[derive(PartialEq)]
enum Kind {
    Bind,
    Tmpfs,
}

fn resolve_mount(m: MountIn, path: &str, d: &mut Diag) -> Option<Mount> {
    let kind = match m.kind.as_deref() {
        Some("bind") => Some(Kind::Bind),
        Some("tmpfs") => Some(Kind::Tmpfs),
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
    if let Some(why) = destination.as_deref().and_then(reserved_destination) {
        d.error(
            &join(path, "destination"),
            format_args!(
                "must not be {:?} ({why})",
                destination.as_deref().unwrap_or_default()
            ),
        );
    }
    let source = m.source.filter(|s| !s.is_empty());
    let source = match (&kind, source) {
        (Some(Kind::Bind), None) => {
            d.error(&join(path, "source"), "required for a bind mount");
            None
        }
        (Some(Kind::Bind), Some(s)) => {
            let here = join(path, "source");
            let p = host_path(&s, &here, d);
            if let Some(p) = p.as_deref().filter(|_| d.check_host)
                && let Err(e) = std::fs::metadata(p)
            {
                d.error(&here, format_args!("{}: {}", p.display(), io_reason(&e)));
            }
            p
        }
        (Some(Kind::Tmpfs), Some(_)) => {
            d.warn(&join(path, "source"), "ignored for a tmpfs mount");
            None
        }
        _ => None,
    };
    let data = m.data.filter(|s| !s.is_empty());
    if let Some(data) = &data {
        if kind == Some(Kind::Bind) {
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
    // libcontainer); a tmpfs is always mounted writable, as before.
    let ro = if m.writable.unwrap_or(false) {
        0
    } else {
        RDONLY
    };
    let (fstype, source, flags) = match kind {
        Kind::Bind => ("bind", source, BIND | REC | ro),
        Kind::Tmpfs => ("tmpfs", Some("tmpfs".into()), DEFAULT_FLAGS),
    };
    let propagation = match (private, slave) {
        (_, true) => SLAVE | REC,
        (true, _) => PRIVATE,
        _ => 0,
    };
    Some(Mount {
        fstype: fstype.into(),
        source,
        destination: destination?,
        flags,
        propagation,
        data,
        recursive: Default::default(),
        copy_up: false,
        idmap: None,
    })
}

/// A device from `device_nodes` (`node`: mknod needs a real type and numbers)
/// or from `cgroups.allowed_devices` (wildcards and `a` allowed).
pub(crate) fn resolve_device(
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
            let here = join(path, "type");
            let got = d.show(v, &here);
            d.error(&here, format_args!("expected {expected}, got {got}"));
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
            let here = join(path, "file_mode");
            let got = d.show(v, &here);
            d.error(
                &here,
                format_args!("expected permission bits up to 4095 (0o7777), got {got}"),
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
