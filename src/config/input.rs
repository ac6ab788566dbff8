//! container.json as written: libcontainer's 2014 schema (commit 75442b3) plus
//! the cheap 2015 additions (`uid_mappings`, `gid_mappings`, `rlimits`,
//! `readonly_paths`, `mask_paths`, cgroup `pids_limit`, `cpuset_mems`,
//! `blkio_weight`, `hugetlb_limit`) and nsinit's own (`init`,
//! `networks[].create_bridge`, tmpfs `data`, `no_new_privileges`,
//! `no_new_keyring`, `seccomp`).
//!
//! Every field is optional and `null` means absent, as with Go's `omitempty`.
//! Fields that accept several spellings (bytes as `536870912` or `"512m"`,
//! device `type` as `99` or `"c"`) are kept [`Raw`] for the validator. No
//! logic here; see `validate`.

use serde_json::Value;

use super::json::{Diag, FromJson, Indexed, Raw, json_object, mismatch};

json_object! {
    /// The whole file.
    pub struct ContainerJson {
        mount_config: MountConfigIn,
        root_fs: String,
        hostname: String,
        user: String,
        working_dir: String,
        environment: Vec<String>,
        tty: bool,
        init: bool,
        namespaces: NamespacesIn,
        capabilities: Vec<String>,
        networks: Indexed<NetworkIn>,
        ipc: String,
        routes: Indexed<RouteIn>,
        cgroups: CgroupsIn,
        apparmor_profile: String,
        process_label: String,
        restrict_sys: bool,
        uid_mappings: Indexed<IdMapIn>,
        gid_mappings: Indexed<IdMapIn>,
        rlimits: Indexed<RlimitIn>,
        readonly_paths: Vec<String>,
        mask_paths: Vec<String>,
        no_new_privileges: bool,
        no_new_keyring: bool,
        /// OCI `linux.seccomp`, read by `seccomp::parse_profile`.
        seccomp: Value,
    }
}

json_object! {
    pub struct MountConfigIn {
        no_pivot_root: bool,
        readonly_fs: bool,
        mounts: Indexed<MountIn>,
        device_nodes: Indexed<DeviceIn>,
        mount_label: String,
    }
}

json_object! {
    pub struct MountIn {
        kind = "type": String,
        source: String,
        destination: String,
        writable: bool,
        relabel: String,
        private: bool,
        slave: bool,
        data: String,
    }
}

json_object! {
    /// A device node (`mount_config.device_nodes`) or cgroup rule
    /// (`cgroups.allowed_devices`).
    pub struct DeviceIn {
        /// `99` ('c'), `98` ('b'), `97` ('a'), or the letter as a string.
        kind = "type": Raw,
        path: String,
        /// `-1` is the wildcard.
        major_number: i64,
        minor_number: i64,
        cgroup_permissions: String,
        /// A number (`438` = 0o666) or an octal string (`"0666"`).
        file_mode: Raw,
        uid: u32,
        gid: u32,
    }
}

json_object! {
    pub struct CgroupsIn {
        name: String,
        parent: String,
        allow_all_devices: bool,
        allowed_devices: Indexed<DeviceIn>,
        memory: Raw,
        memory_reservation: Raw,
        memory_swap: Raw,
        cpu_shares: i64,
        cpu_quota: i64,
        cpu_period: i64,
        cpuset_cpus: String,
        cpuset_mems: String,
        freezer: String,
        /// systemd driver only; accepted and ignored.
        slice: String,
        pids_limit: i64,
        blkio_weight: i64,
        hugetlb_limit: Indexed<HugetlbIn>,
    }
}

json_object! {
    pub struct HugetlbIn {
        page_size: String,
        limit: Raw,
    }
}

json_object! {
    pub struct NetworkIn {
        kind = "type": String,
        ns_path: String,
        bridge: String,
        veth_prefix: String,
        mac_address: String,
        address: String,
        ipv6_address: String,
        gateway: String,
        ipv6_gateway: String,
        mtu: i64,
        txqueuelen: i64,
        create_bridge: bool,
    }
}

json_object! {
    pub struct RouteIn {
        destination: String,
        source: String,
        gateway: String,
        interface_name: String,
    }
}

json_object! {
    pub struct IdMapIn {
        container_id: u32,
        host_id: u32,
        size: u32,
    }
}

json_object! {
    pub struct RlimitIn {
        /// `"RLIMIT_NOFILE"`, `"NOFILE"` or the number.
        kind = "type": Raw,
        /// A number, `-1` or `"unlimited"`.
        hard: Raw,
        soft: Raw,
    }
}

/// The `namespaces` map, entries in key order. Keys are checked by the
/// validator (an unknown namespace is an error, not a warning).
#[derive(Debug, Default, Clone)]
pub struct NamespacesIn(pub Vec<(String, bool)>);

impl FromJson for NamespacesIn {
    fn from_json(v: &Value, path: &str, d: &mut Diag) -> Option<Self> {
        let Value::Object(map) = v else {
            return mismatch(v, path, "an object like {\"NEWNS\": true}", d);
        };
        let mut out = Vec::new();
        for (key, value) in map {
            let sub = super::json::join(path, key);
            match value {
                Value::Bool(b) => out.push((key.clone(), *b)),
                Value::Null => {}
                _ => {
                    let _: Option<()> = mismatch(value, &sub, "true or false", d);
                }
            }
        }
        Some(NamespacesIn(out))
    }
}
