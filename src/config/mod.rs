//! The resolved, validated, schema-neutral container configuration the
//! runtime uses.
//!
//! Two front ends lower into [`Config`]: container.json (`input` mirrors
//! libcontainer's 2014 schema plus the cheap 2015 additions; `validate` turns
//! it into a `Config` and emits the 2014 implicit system mounts explicitly) and
//! OCI config.json (`crate::oci`). Both then run the cross-field pass
//! [`validate::validate`], so neither can bypass it, and every message names
//! the file the user wrote. Mount options go through one table
//! (`mount_options`). Nothing below this module reads JSON.

pub(crate) mod cgroups;
pub mod input;
pub mod json;
pub mod mount_options;
pub(crate) mod mounts;
pub mod net;
pub(crate) mod process;
pub mod suggest;
pub mod validate;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod validation_tests;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use cgroups::default_name as default_cgroup_name;
pub use validate::{Loaded, config_hash, load, load_str, read_str};

/// A namespace kind, in the order nsinit joins them (user first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Ns {
    User,
    Ipc,
    Uts,
    Net,
    Pid,
    Mnt,
    Cgroup,
    Time,
}

impl Ns {
    /// Every kind, in join order.
    pub const ALL: [Ns; 8] = [
        Ns::User,
        Ns::Ipc,
        Ns::Uts,
        Ns::Net,
        Ns::Pid,
        Ns::Mnt,
        Ns::Cgroup,
        Ns::Time,
    ];

    /// The container.json key (`NEWNS`, …).
    pub fn key(self) -> &'static str {
        match self {
            Ns::User => "NEWUSER",
            Ns::Ipc => "NEWIPC",
            Ns::Uts => "NEWUTS",
            Ns::Net => "NEWNET",
            Ns::Pid => "NEWPID",
            Ns::Mnt => "NEWNS",
            Ns::Cgroup => "NEWCGROUP",
            Ns::Time => "NEWTIME",
        }
    }

    /// The file under `/proc/PID/ns/`.
    pub fn proc_name(self) -> &'static str {
        match self {
            Ns::User => "user",
            Ns::Ipc => "ipc",
            Ns::Uts => "uts",
            Ns::Net => "net",
            Ns::Pid => "pid",
            Ns::Mnt => "mnt",
            Ns::Cgroup => "cgroup",
            Ns::Time => "time",
        }
    }

    /// The `CLONE_NEW*` flag.
    pub fn clone_flag(self) -> u64 {
        use linux_raw_sys::general as g;
        u64::from(match self {
            Ns::User => g::CLONE_NEWUSER,
            Ns::Ipc => g::CLONE_NEWIPC,
            Ns::Uts => g::CLONE_NEWUTS,
            Ns::Net => g::CLONE_NEWNET,
            Ns::Pid => g::CLONE_NEWPID,
            Ns::Mnt => g::CLONE_NEWNS,
            Ns::Cgroup => g::CLONE_NEWCGROUP,
            Ns::Time => g::CLONE_NEWTIME,
        })
    }

    pub fn from_key(key: &str) -> Option<Ns> {
        Ns::ALL.into_iter().find(|n| n.key() == key)
    }
}

/// A set of namespaces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NsSet(u16);

impl NsSet {
    pub fn insert(&mut self, ns: Ns) {
        self.0 |= 1 << ns as u16;
    }
    pub fn remove(&mut self, ns: Ns) {
        self.0 &= !(1 << ns as u16);
    }
    pub fn contains(self, ns: Ns) -> bool {
        self.0 & (1 << ns as u16) != 0
    }
    /// Members, in join order.
    pub fn iter(self) -> impl Iterator<Item = Ns> {
        Ns::ALL.into_iter().filter(move |n| self.contains(*n))
    }
    /// The OR of the members' clone flags.
    pub fn clone_flags(self) -> u64 {
        self.iter().fold(0, |f, n| f | n.clone_flag())
    }
}

impl Serialize for NsSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(
            Ns::ALL
                .iter()
                .filter(|n| self.contains(**n))
                .map(|n| (n.key(), true)),
        )
    }
}

/// The resolved container configuration.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Config {
    /// Absolute path of the root filesystem (`root_fs`, or the container directory).
    pub rootfs: PathBuf,
    pub hostname: Option<String>,
    /// `name`, `uid`, `name:group` or `uid:gid`, looked up inside the container.
    pub user: Option<String>,
    pub working_dir: Option<String>,
    /// `K=V` entries; the container's environment is exactly this.
    pub environment: Vec<String>,
    pub tty: bool,
    /// Run the built-in init shim as PID 1 (`"init": true` or `exec --init`).
    pub init: bool,
    pub namespaces: NsSet,
    /// Capabilities to keep, as a bit mask of capability numbers
    /// (serialised as the list of names).
    #[serde(serialize_with = "serialize_caps")]
    pub capabilities: u64,
    pub mount: MountConfig,
    pub networks: Vec<Network>,
    pub routes: Vec<Route>,
    pub cgroups: Option<Cgroups>,
    pub restrict_sys: bool,
    /// Paths made read-only inside the container (restrict_sys adds the usual /proc ones).
    pub readonly_paths: Vec<String>,
    /// Paths masked inside the container (restrict_sys adds /proc/kcore and friends).
    pub mask_paths: Vec<String>,
    pub uid_mappings: Vec<IdMap>,
    pub gid_mappings: Vec<IdMap>,
    pub rlimits: Vec<Rlimit>,
    /// Namespaces to join (setns) instead of creating, by file: the user
    /// namespace first. A kind listed here is not in `namespaces`.
    pub ns_paths: Vec<(Ns, PathBuf)>,
    /// setdomainname in the new UTS namespace.
    pub domainname: Option<String>,
    /// `/proc/sys` keys (dotted, `net.ipv4.ip_forward`) and values, written
    /// in the container after its mounts.
    pub sysctl: Vec<(String, String)>,
    /// personality(2) persona for the container's processes.
    pub personality: Option<u32>,
    /// OCI `linux.memoryPolicy`: set_mempolicy(2) for the container's
    /// processes (the init and every exec).
    pub memory_policy: Option<crate::sched::MemoryPolicy>,
    /// Offsets of the new time namespace: (clock, seconds, nanoseconds).
    pub time_offsets: Vec<(String, i64, u32)>,
    /// Accepted for compatibility; nsinit has no AppArmor/SELinux support and says so.
    pub apparmor_profile: Option<String>,
    pub process_label: Option<String>,
    /// Set no_new_privs before exec: setuid binaries and file capabilities
    /// in the image grant nothing.
    pub no_new_privileges: bool,
    /// Keep the caller's session keyring instead of a new one per process.
    pub no_new_keyring: bool,
    /// The compiled seccomp filter (`seccomp`, an OCI `linux.seccomp` object).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::seccomp::serialize"
    )]
    pub seccomp: Option<std::sync::Arc<crate::seccomp::Program>>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct MountConfig {
    pub no_pivot_root: bool,
    pub readonly_fs: bool,
    pub mounts: Vec<Mount>,
    pub device_nodes: Vec<Device>,
    pub mount_label: Option<String>,
    /// Propagation of the container's `/` (`MS_PRIVATE | MS_REC`…); 0 is
    /// the default: see `slave_by_default`.
    pub rootfs_propagation: u64,
    /// Without `rootfs_propagation`, the container's mounts stay slaves of
    /// the host's (runc's default, which the OCI front end asks for): a mount
    /// the host makes below a volume's source reaches the container. When
    /// false (the 2014 default) they are made private (slave with
    /// `no_pivot_root`).
    pub slave_by_default: bool,
}

/// One mount, in the container's mount order: a filesystem of `fstype`, or a
/// bind of the host path `source` (`MS_BIND` in `flags`). The 2014 front end
/// lists the system mounts (proc, /dev, devpts…) here explicitly; OCI configs
/// list their own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mount {
    /// `tmpfs`, `proc`, `sysfs`, …; `bind` for a bind mount.
    pub fstype: String,
    /// The host path of a bind mount (absolute); the device or name of a
    /// filesystem (`proc`, `tmpfs`, `/dev/sdb1`).
    pub source: Option<PathBuf>,
    /// Absolute path inside the container, normalised, without `..`.
    pub destination: String,
    /// `MS_*` flags: `MS_BIND` (`| MS_REC`) for binds, `MS_RDONLY`, `MS_NOSUID`…
    /// A bind mount is made first and remounted with the other flags.
    pub flags: u64,
    /// `MS_PRIVATE`, `MS_SLAVE`, `MS_SHARED` or `MS_UNBINDABLE` (with
    /// `MS_REC`), set after mounting; 0 leaves the mount's own.
    pub propagation: u64,
    /// Filesystem options (`size=64m,mode=755`).
    pub data: Option<String>,
    /// Attributes for the mount and every mount below it (`rro`, …), set
    /// last with mount_setattr(2).
    pub recursive: mount_options::RecAttr,
    /// A tmpfs that starts with a copy of the directory it covers (OCI
    /// `tmpcopyup`, as runc and crun do it for podman's `--read-only`).
    pub copy_up: bool,
    /// An idmapped bind mount (runtime-spec 1.2 `uidMappings`/`gidMappings`,
    /// `idmap`, `ridmap`): made by nsinit on the host, attached by the child.
    pub idmap: Option<Idmap>,
}

/// How a bind mount is idmapped: the on-disk id `container_id` shows as
/// `host_id` through it (the maps of a user namespace made for it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Idmap {
    /// The mount's own maps; both empty: those of the container's user
    /// namespace (`idmap` without maps).
    pub uid_mappings: Vec<IdMap>,
    pub gid_mappings: Vec<IdMap>,
    /// `ridmap`: every mount of the tree, not only its top.
    pub recursive: bool,
}

impl Mount {
    pub fn is_bind(&self) -> bool {
        self.flags & u64::from(linux_raw_sys::general::MS_BIND) != 0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum DeviceKind {
    Char,
    Block,
    /// `a`: every device (cgroup rules only).
    All,
    /// A named pipe (`p`, device nodes only: no cgroup rule).
    Fifo,
}

impl DeviceKind {
    /// The letter used in cgroup rules.
    pub fn letter(self) -> char {
        match self {
            DeviceKind::Char => 'c',
            DeviceKind::Block => 'b',
            DeviceKind::All => 'a',
            DeviceKind::Fifo => 'p',
        }
    }
}

/// A device node to create and/or a cgroup device rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Device {
    pub kind: DeviceKind,
    /// Path inside the container; empty for cgroup-only wildcard rules.
    pub path: Option<String>,
    /// `None` is the `-1` wildcard (`*`).
    pub major: Option<u32>,
    pub minor: Option<u32>,
    /// Subset of `rwm`.
    pub permissions: String,
    /// Permission bits for mknod (e.g. 0o666).
    pub file_mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl Device {
    /// A cgroup-only rule (no node to create): `None` numbers are wildcards.
    pub fn rule(
        kind: DeviceKind,
        major: Option<u32>,
        minor: Option<u32>,
        permissions: &str,
    ) -> Device {
        Device {
            kind,
            path: None,
            major,
            minor,
            permissions: permissions.into(),
            file_mode: 0o666,
            uid: 0,
            gid: 0,
        }
    }

    /// The v1 `devices.allow` rule: `c 136:* rwm`.
    pub fn cgroup_rule(&self) -> String {
        let num = |n: Option<u32>| n.map_or("*".to_string(), |n| n.to_string());
        format!(
            "{} {}:{} {}",
            self.kind.letter(),
            num(self.major),
            num(self.minor),
            self.permissions
        )
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Cgroups {
    /// Leaf name; defaults to one derived from the container directory.
    pub name: String,
    /// Parent path; relative to the caller's own cgroup unless absolute.
    pub parent: String,
    pub allow_all_devices: bool,
    pub allowed_devices: Vec<Device>,
    /// Bytes; `None` = not set.
    pub memory: Option<i64>,
    pub memory_reservation: Option<i64>,
    /// memory+swap total in bytes; `Some(-1)` = unlimited swap.
    pub memory_swap: Option<i64>,
    pub cpu_shares: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    /// `cpu.cfs_burst_us` / `cpu.max.burst` (µs); `Some(0)` writes 0.
    pub cpu_burst: Option<u64>,
    /// Realtime group scheduling (µs); cgroup v1 only.
    pub cpu_rt_period: Option<u64>,
    pub cpu_rt_runtime: Option<i64>,
    /// `cpu.idle` (0 or 1; `Some(0)` writes 0).
    pub cpu_idle: Option<u64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub pids_limit: Option<i64>,
    pub blkio_weight: Option<u16>,
    /// Page size (`2MB`) → limit in bytes.
    pub hugetlb_limit: Vec<(String, u64)>,
    /// `FROZEN` / `THAWED` requested at start, if any.
    pub freezer: Option<String>,
    /// `memory.swappiness` (0..=100); cgroup v1 only.
    pub memory_swappiness: Option<u64>,
    /// `memory.oom_control = 1`; cgroup v1 only.
    pub oom_kill_disable: bool,
    /// `memory.kmem.tcp.limit_in_bytes` (`-1` unlimited); cgroup v1 only.
    pub kernel_memory_tcp: Option<i64>,
    /// Per-device weights, blkio scale (10..=1000).
    pub blkio_weight_device: Vec<BlkioDevice>,
    /// Per-device throttles (bytes or I/Os per second, 0 = no limit), in
    /// [`THROTTLES`] order.
    pub blkio_throttle: [Vec<BlkioDevice>; 4],
    /// `net_cls.classid`; cgroup v1 only.
    pub net_cls_classid: Option<u32>,
    /// `net_prio.ifpriomap`: interface → priority; cgroup v1 only.
    pub net_prio_ifpriomap: Vec<(String, u32)>,
    /// OCI `unified`: cgroup v2 files of the leaf and their values, written
    /// last (`memory.high` → `1G`); the file name's prefix is its controller.
    pub unified: Vec<(String, String)>,
    /// `rdma.max`, one line per device.
    pub rdma: Vec<RdmaLimit>,
}

/// The RDMA limits of one device (`None`: left as it is).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RdmaLimit {
    pub device: String,
    pub hca_handles: Option<u32>,
    pub hca_objects: Option<u32>,
}

impl std::fmt::Display for RdmaLimit {
    /// The `rdma.max` line: `mlx5_0 hca_handle=2 hca_object=max`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.device)?;
        for (key, n) in [("handle", self.hca_handles), ("object", self.hca_objects)] {
            if let Some(n) = n {
                write!(f, " hca_{key}={n}")?;
            }
        }
        Ok(())
    }
}

/// One per-device block I/O value: `MAJ:MIN VALUE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BlkioDevice {
    pub major: u32,
    pub minor: u32,
    pub value: u64,
}

impl std::fmt::Display for BlkioDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{} {}", self.major, self.minor, self.value)
    }
}

/// The throttles of [`Cgroups::blkio_throttle`]: the OCI `blockIO` key, the
/// v1 file, the v2 `io.max` key.
pub const THROTTLES: [(&str, &str, &str); 4] = [
    (
        "throttleReadBpsDevice",
        "blkio.throttle.read_bps_device",
        "rbps",
    ),
    (
        "throttleWriteBpsDevice",
        "blkio.throttle.write_bps_device",
        "wbps",
    ),
    (
        "throttleReadIOPSDevice",
        "blkio.throttle.read_iops_device",
        "riops",
    ),
    (
        "throttleWriteIOPSDevice",
        "blkio.throttle.write_iops_device",
        "wiops",
    ),
];

impl Cgroups {
    /// The cgroup path relative to the placement base: `parent/name`.
    pub fn relative_path(&self) -> PathBuf {
        Path::new(&self.parent).join(&self.name)
    }
}

/// An IPv4 or IPv6 address with its prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Network {
    Loopback,
    Veth(Veth),
    Netns { ns_path: PathBuf },
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Veth {
    pub bridge: String,
    pub veth_prefix: String,
    #[serde(serialize_with = "serialize_mac")]
    pub mac_address: Option<[u8; 6]>,
    pub address: Option<Cidr>,
    pub ipv6_address: Option<Cidr>,
    pub gateway: Option<IpAddr>,
    pub ipv6_gateway: Option<IpAddr>,
    /// 0 = leave the kernel's default.
    pub mtu: u32,
    pub txqueuelen: u32,
    /// Create the bridge (and give it the gateway address) when it is missing.
    pub create_bridge: bool,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Route {
    pub destination: Option<Cidr>,
    pub source: Option<IpAddr>,
    pub gateway: Option<IpAddr>,
    pub interface_name: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct IdMap {
    pub container_id: u32,
    pub host_id: u32,
    pub size: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Rlimit {
    /// `RLIMIT_*` number.
    pub resource: u32,
    pub soft: u64,
    pub hard: u64,
}

/// Capability names without `CAP_`, indexed by number.
pub const CAPABILITY_NAMES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// The capability number for a name, with or without the `CAP_` prefix.
pub fn capability_number(name: &str) -> Option<u32> {
    let bare = name.strip_prefix("CAP_").unwrap_or(name);
    CAPABILITY_NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(bare))
        .map(|i| i as u32)
}

/// `/proc` paths made read-only under `restrict_sys`.
pub const RESTRICT_READONLY: [&str; 5] = [
    "/proc/sys",
    "/proc/sysrq-trigger",
    "/proc/irq",
    "/proc/bus",
    "/proc/fs",
];

/// Paths masked under `restrict_sys` (as runc and crun mask them by default).
pub const RESTRICT_MASKED: [&str; 11] = [
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/acpi",
    "/proc/asound",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// The names of the capabilities in `mask`, in number order.
pub fn capability_names(mask: u64) -> Vec<&'static str> {
    CAPABILITY_NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect()
}

fn serialize_caps<S: serde::Serializer>(mask: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(capability_names(*mask))
}

fn serialize_mac<S: serde::Serializer>(mac: &Option<[u8; 6]>, s: S) -> Result<S::Ok, S::Error> {
    match mac {
        Some(m) => s.serialize_str(&format!(
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )),
        None => s.serialize_none(),
    }
}
