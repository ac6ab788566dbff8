//! config.json lowering: runc's default spec, a maximal config, and one
//! assertion per bad input (each message names its field path).

use std::path::Path;

use serde_json::{Value, json};

use super::*;
use crate::config::mount_options::{BIND, PRIVATE, REC, SLAVE};
use crate::config::{DeviceKind, Ns};

const DIR: &str = "/tmp/nsinit-oci-test/bundle";
const RDONLY: u64 = linux_raw_sys::general::MS_RDONLY as u64;
const NOSUID: u64 = linux_raw_sys::general::MS_NOSUID as u64;
const NODEV: u64 = linux_raw_sys::general::MS_NODEV as u64;
const NOEXEC: u64 = linux_raw_sys::general::MS_NOEXEC as u64;

fn lowered(v: &Value) -> Bundle {
    match lower_str(&v.to_string(), Path::new(DIR), false) {
        Ok(b) => b,
        Err(e) => panic!("expected a bundle, got {e:#?}"),
    }
}

/// The default spec with `edit` applied (JSON pointer → value; null removes).
fn edited(edits: &[(&str, Value)]) -> Value {
    let mut v = default_spec(false);
    for (ptr, val) in edits {
        let (parent, key) = ptr.rsplit_once('/').unwrap();
        let obj = v.pointer_mut(parent).unwrap();
        match (obj, val) {
            (Value::Object(m), Value::Null) => {
                m.remove(key);
            }
            (Value::Object(m), _) => {
                m.insert(key.to_string(), val.clone());
            }
            (Value::Array(a), _) => match key.parse::<usize>().unwrap() {
                i if i == a.len() => a.push(val.clone()),
                i => a[i] = val.clone(),
            },
            _ => panic!("{ptr}"),
        }
    }
    v
}

fn errors(edits: &[(&str, Value)]) -> Vec<String> {
    match lower_str(&edited(edits).to_string(), Path::new(DIR), false) {
        Ok(b) => panic!("expected errors, got {:#?}", b.config),
        Err(e) => e
            .into_iter()
            .filter(|l| !l.contains("unknown key"))
            .collect(),
    }
}

#[test]
fn runc_default_spec_lowers_cleanly() {
    let b = lowered(&default_spec(false));
    assert!(b.warnings.is_empty(), "{:?}", b.warnings);
    let c = &b.config;
    assert_eq!(c.rootfs, Path::new(DIR).join("rootfs"));
    assert!(c.mount.readonly_fs && c.tty);
    assert_eq!(c.hostname.as_deref(), Some("runc"));
    let ns: Vec<Ns> = c.namespaces.iter().collect();
    assert_eq!(
        ns,
        [Ns::Ipc, Ns::Uts, Ns::Net, Ns::Pid, Ns::Mnt, Ns::Cgroup]
    );
    let dsts: Vec<&str> = c
        .mount
        .mounts
        .iter()
        .map(|m| m.destination.as_str())
        .collect();
    assert_eq!(
        dsts,
        [
            "/proc",
            "/dev",
            "/dev/pts",
            "/dev/shm",
            "/dev/mqueue",
            "/sys",
            "/sys/fs/cgroup"
        ]
    );
    let dev = &c.mount.mounts[1];
    assert_eq!(dev.fstype, "tmpfs");
    assert_eq!(dev.data.as_deref(), Some("mode=755,size=65536k"));
    let pts = &c.mount.mounts[2];
    assert_eq!(pts.flags, NOSUID | NOEXEC);
    assert_eq!(
        pts.data.as_deref(),
        Some("newinstance,ptmxmode=0666,mode=0620,gid=5")
    );
    assert_eq!(c.mount.mounts[5].flags, NOSUID | NOEXEC | NODEV | RDONLY);
    assert_eq!(c.mask_paths.len(), 11);
    assert_eq!(c.readonly_paths.len(), 5);
    // Default devices: six nodes; the device rules deny all, then runc's defaults.
    assert_eq!(c.mount.device_nodes.len(), 6);
    let cg = c.cgroups.as_ref().unwrap();
    assert!(!cg.allow_all_devices);
    let rules: Vec<String> = cg.allowed_devices.iter().map(|d| d.cgroup_rule()).collect();
    assert_eq!(
        &rules[..4],
        ["c *:* m", "b *:* m", "c 136:* rwm", "c 5:2 rwm"]
    );
    assert!(rules.contains(&"c 1:3 rwm".to_string()));
    assert_eq!(cg.name, crate::config::default_cgroup_name(Path::new(DIR)));
    let p = &b.process;
    assert_eq!(p.args, ["sh"]);
    assert_eq!(p.ids, Some((0, 0)));
    assert_eq!(p.cwd.as_deref(), Some("/"));
    let caps = 1 << 29 | 1 << 5 | 1 << 10;
    assert_eq!(
        (p.caps.bounding, p.caps.effective, p.caps.permitted),
        (caps, caps, caps)
    );
    assert_eq!((p.caps.inheritable, p.caps.ambient), (0, 0));
    assert!(p.no_new_privileges && c.no_new_privileges);
    assert_eq!(p.rlimits[0].resource, 7);
    assert_eq!(b.oci_version, "1.2.0");
}

#[test]
fn rootless_default_spec_lowers_cleanly() {
    let b = lowered(&default_spec(true));
    assert!(b.warnings.is_empty(), "{:?}", b.warnings);
    let c = &b.config;
    assert!(c.namespaces.contains(Ns::User) && !c.namespaces.contains(Ns::Net));
    assert_eq!(c.uid_mappings.len(), 1);
    assert_eq!(
        c.uid_mappings[0].host_id,
        rustix::process::getuid().as_raw()
    );
    let sys = c
        .mount
        .mounts
        .iter()
        .find(|m| m.destination == "/sys")
        .unwrap();
    assert!(sys.is_bind() && sys.flags & REC != 0 && sys.flags & RDONLY != 0);
    assert!(c.cgroups.as_ref().unwrap().allow_all_devices);
    assert!(!c.mount.mounts[2].data.as_deref().unwrap().contains("gid=5"));
}

#[test]
fn a_maximal_config_lowers_every_field() {
    let v = edited(&[
        ("/hostname", json!("box")),
        ("/domainname", json!("example.org")),
        ("/annotations", json!({"a": "1", "b": "2"})),
        (
            "/process/user",
            json!({"uid": 1000, "gid": 100, "umask": 18, "additionalGids": [5, 6]}),
        ),
        ("/process/consoleSize", json!({"height": 24, "width": 80})),
        ("/process/oomScoreAdj", json!(-500)),
        ("/process/env", json!(["A=1", "PATH=/bin"])),
        ("/process/capabilities/ambient", json!(["CAP_KILL"])),
        ("/process/capabilities/inheritable", json!(["CAP_KILL"])),
        (
            "/mounts/7",
            json!({"destination": "/data", "type": "bind", "source": "data", "options": ["rbind", "ro", "rslave", "nosuid"]}),
        ),
        (
            "/mounts/8",
            json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["size=64m", "private", "noatime"]}),
        ),
        (
            "/hooks",
            json!({"createRuntime": [{"path": "/bin/true", "args": ["true", "x"], "env": ["A=b"], "timeout": 5}],
                   "poststop": [{"path": "/bin/rm"}]}),
        ),
        (
            "/linux/uidMappings",
            json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
        ),
        (
            "/linux/gidMappings",
            json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
        ),
        ("/linux/namespaces/6", json!({"type": "user"})),
        ("/linux/namespaces/7", json!({"type": "time"})),
        (
            "/linux/timeOffsets",
            json!({"monotonic": {"secs": 10, "nanosecs": 5}}),
        ),
        ("/linux/cgroupsPath", json!("/machine/ct1")),
        (
            "/linux/sysctl",
            json!({"net.ipv4.ip_forward": "1", "kernel.shmmax": "1000000"}),
        ),
        ("/linux/rootfsPropagation", json!("rslave")),
        ("/linux/personality", json!({"domain": "LINUX32"})),
        (
            "/linux/devices",
            json!([{"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229, "fileMode": 438},
                   {"type": "p", "path": "/dev/pipe"}]),
        ),
        (
            "/linux/resources",
            json!({"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 10, "minor": 200, "access": "rw"}],
                   "memory": {"limit": 536870912, "reservation": 268435456, "swap": 1073741824},
                   "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0-1", "mems": "0"},
                   "pids": {"limit": 64}, "blockIO": {"weight": 500},
                   "hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}]}),
        ),
    ]);
    let b = lowered(&v);
    assert!(b.warnings.is_empty(), "{:?}", b.warnings);
    let c = &b.config;
    assert_eq!(c.domainname.as_deref(), Some("example.org"));
    assert_eq!(b.annotations.len(), 2);
    assert_eq!(b.process.console_size, Some((24, 80)));
    let p = &b.process;
    assert_eq!(
        (p.ids, p.umask, &p.additional_gids[..]),
        (Some((1000, 100)), Some(18), &[5, 6][..])
    );
    assert_eq!((p.oom_score_adj, p.caps.ambient), (Some(-500), 1 << 5));
    let data = &c.mount.mounts[7];
    assert_eq!(
        data.source.as_deref(),
        Some(Path::new(DIR).join("data").as_path())
    );
    assert_eq!(data.flags, BIND | REC | RDONLY | NOSUID);
    assert_eq!(data.propagation, SLAVE | REC);
    let tmp = &c.mount.mounts[8];
    assert_eq!(
        (tmp.propagation, tmp.data.as_deref()),
        (PRIVATE, Some("size=64m"))
    );
    assert_eq!(b.hooks.create_runtime[0].args, ["true", "x"]);
    assert_eq!(b.hooks.create_runtime[0].timeout, Some(5));
    assert_eq!(b.hooks.poststop[0].path, Path::new("/bin/rm"));
    assert!(c.namespaces.contains(Ns::User) && c.namespaces.contains(Ns::Time));
    assert_eq!(c.time_offsets, [("monotonic".to_string(), 10, 5)]);
    assert_eq!(c.mount.rootfs_propagation, SLAVE | REC);
    assert_eq!(c.personality, Some(8));
    assert_eq!(c.sysctl.len(), 2);
    let cg = c.cgroups.as_ref().unwrap();
    assert_eq!((cg.parent.as_str(), cg.name.as_str()), ("/machine", "ct1"));
    assert_eq!(
        (cg.memory, cg.memory_reservation, cg.memory_swap),
        (Some(512 << 20), Some(256 << 20), Some(1 << 30))
    );
    assert_eq!(
        (cg.cpu_shares, cg.cpu_quota, cg.cpu_period),
        (Some(512), Some(50000), Some(100000))
    );
    assert_eq!((cg.pids_limit, cg.blkio_weight), (Some(64), Some(500)));
    assert_eq!(cg.hugetlb_limit, [("2MB".to_string(), 2 << 20)]);
    let rules: Vec<String> = cg.allowed_devices.iter().map(|d| d.cgroup_rule()).collect();
    assert_eq!(rules[0], "c 10:200 rw");
    assert!(rules.contains(&"c 10:229 rwm".to_string()));
    let pipe = c
        .mount
        .device_nodes
        .iter()
        .find(|d| d.kind == DeviceKind::Fifo);
    assert_eq!(pipe.and_then(|p| p.path.as_deref()), Some("/dev/pipe"));
}

#[test]
fn namespace_paths_are_joined_user_first() {
    let v = edited(&[
        (
            "/linux/namespaces",
            json!([{"type": "network", "path": "/run/netns/x"}, {"type": "user", "path": "/proc/1/ns/user"},
                   {"type": "mount"}, {"type": "uts"}]),
        ),
        ("/linux/resources", Value::Null),
    ]);
    let c = lowered(&v).config;
    assert_eq!(
        c.ns_paths,
        [
            (Ns::User, "/proc/1/ns/user".into()),
            (Ns::Net, "/run/netns/x".into())
        ]
    );
    assert!(!c.namespaces.contains(Ns::Net) && !c.namespaces.contains(Ns::User));
}

/// JSON-pointer edits of the default spec.
type Edits = Vec<(&'static str, Value)>;

#[test]
fn bad_configs_name_their_field() {
    let cases: Vec<(Edits, Vec<&str>)> = vec![
        (
            vec![("/ociVersion", json!("2.0.0"))],
            vec![
                "config.json: ociVersion: unsupported version \"2.0.0\" (this runtime reads 1.0.0 to 1.3.x)",
            ],
        ),
        (
            vec![("/ociVersion", Value::Null)],
            vec!["config.json: ociVersion: required (e.g. \"1.2.0\")"],
        ),
        (
            vec![("/root/path", json!(""))],
            vec!["config.json: root.path: required"],
        ),
        (
            vec![("/process/args", json!([])), ("/process/cwd", json!("tmp"))],
            vec![
                "config.json: process.args: required (the command to run)",
                "config.json: process.cwd: must be an absolute path, got \"tmp\"",
            ],
        ),
        (
            vec![("/process/env", json!(["NOEQUALS"]))],
            vec!["config.json: process.env[0]: expected KEY=VALUE, got \"NOEQUALS\""],
        ),
        (
            vec![("/process/capabilities/effective", json!(["CAP_SYS_ADMIN"]))],
            vec![
                "config.json: process.capabilities: effective CAP_SYS_ADMIN is not in the permitted set",
            ],
        ),
        (
            vec![("/process/apparmorProfile", json!("docker-default"))],
            vec![
                "config.json: process.apparmorProfile: \"docker-default\": AppArmor profiles are not supported by nsinit, so the container cannot be confined by it; remove the key to run it unconfined",
            ],
        ),
        (
            vec![("/process/oomScoreAdj", json!(2000))],
            vec!["config.json: process.oomScoreAdj: must be between -1000 and 1000, got 2000"],
        ),
        (
            vec![("/process/scheduler", json!({"policy": "SCHED_FIFO"}))],
            vec![
                "config.json: process.scheduler.priority: must be between 1 and 99 for SCHED_FIFO, got 0",
            ],
        ),
        (
            vec![(
                "/process/rlimits",
                json!([{"type": "RLIMIT_FOO", "hard": 1, "soft": 1}, {"type": "RLIMIT_NOFILE", "hard": 1, "soft": 2}]),
            )],
            vec![
                "config.json: process.rlimits[0].type: unknown resource \"RLIMIT_FOO\" (expected RLIMIT_NOFILE…)",
                "config.json: process.rlimits[1]: soft limit 2 is above the hard limit 1",
            ],
        ),
        (
            vec![("/linux/seccomp", json!({"defaultAction": "SCMP_ACT_FOO"}))],
            vec![
                "config.json: linux.seccomp.defaultAction: expected SCMP_ACT_ALLOW, _ERRNO, _KILL, _KILL_PROCESS, _KILL_THREAD, _TRAP, _TRACE, _LOG or _NOTIFY, got \"SCMP_ACT_FOO\"",
            ],
        ),
        (
            vec![("/linux/resources/memory", json!({"limit": -5}))],
            vec![
                "config.json: linux.resources.memory.limit: must be -1 (unlimited) or a size in bytes, got -5",
            ],
        ),
        (
            vec![(
                "/linux/resources/memory",
                json!({"limit": 1000000, "swap": 1000}),
            )],
            vec![
                "config.json: linux.resources.memory.swap: must be at least memory.limit (1000000): it is memory+swap, got 1000",
            ],
        ),
        (
            vec![("/linux/resources/memory", json!({"swappiness": 101}))],
            vec![
                "config.json: linux.resources.memory.swappiness: must be between 0 and 100, got 101",
            ],
        ),
        (
            vec![(
                "/linux/resources/cpu",
                json!({"quota": 10, "realtimeRuntime": 5000, "realtimePeriod": 1000}),
            )],
            vec![
                "config.json: linux.resources.cpu.quota: must be -1 (unlimited) or at least 1000 (microseconds), got 10",
                "config.json: linux.resources.cpu.realtimeRuntime: must not exceed realtimePeriod (1000), got 5000",
            ],
        ),
        (
            vec![("/linux/resources/network", json!({"classID": -1}))],
            vec![
                "config.json: linux.resources.network.classID: expected a non-negative integer, got -1",
            ],
        ),
        (
            vec![(
                "/linux/resources/unified",
                json!({"memory.high": 1, "a/b.c": "1"}),
            )],
            vec![
                "config.json: linux.resources.unified.a/b.c: expected a cgroup v2 file name (controller.file, no '/')",
                "config.json: linux.resources.unified.memory.high: expected a string",
            ],
        ),
        (
            vec![(
                "/linux/resources/devices",
                json!([{"allow": false, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]),
            )],
            vec![
                "config.json: linux.resources.devices[0]: denying some devices while allowing all others is not supported by this build (start with {\"allow\": false, \"access\": \"rwm\"})",
            ],
        ),
        (
            vec![("/linux/cgroupsPath", json!("system.slice:nsinit:ct1"))],
            vec![
                "config.json: linux.cgroupsPath: \"system.slice:nsinit:ct1\" is a systemd slice:prefix:name path: the systemd cgroup driver is not supported",
            ],
        ),
        (
            vec![("/linux/cgroupsPath", json!("/a/../b"))],
            vec![
                "config.json: linux.cgroupsPath: expected a path like \"/machine/ct1\" without \"..\", got \"/a/../b\"",
            ],
        ),
        (
            vec![(
                "/linux/sysctl",
                json!({"kernel.panic": "1", "net.ipv4.ip_forward": "1"}),
            )],
            vec![
                "config.json: linux.sysctl: \"kernel.panic\" is not namespaced: it would change the host",
            ],
        ),
        (
            vec![
                ("/linux/namespaces/1", json!({"type": "mount"})),
                ("/linux/sysctl", json!({"net.ipv4.ip_forward": "1"})),
            ],
            vec![
                "config.json: linux.namespaces[4].type: \"mount\" is listed twice",
                "config.json: linux.sysctl: \"net.ipv4.ip_forward\" requires linux.namespaces[type=network] (it would change the host's)",
            ],
        ),
        (
            vec![("/linux/namespaces/3", json!({"type": "net"}))],
            vec![
                "config.json: linux.namespaces[3].type: unknown namespace \"net\" (expected pid, network, mount, ipc, uts, user, cgroup or time)",
                "config.json: hostname: \"runc\" requires linux.namespaces[type=uts] (it would rename the host)",
            ],
        ),
        (
            vec![(
                "/linux/uidMappings",
                json!([{"containerID": 0, "hostID": 1000, "size": 0}, {"containerID": 0, "hostID": 1000, "size": 1}]),
            )],
            vec![
                "config.json: linux.uidMappings[0].size: must be at least 1",
                "config.json: linux.uidMappings: requires linux.namespaces[type=user]",
            ],
        ),
        (
            vec![("/linux/timeOffsets", json!({"boottime": {"secs": 1}}))],
            vec![
                "config.json: linux.timeOffsets: requires a new time namespace (linux.namespaces[type=time])",
            ],
        ),
        (
            vec![
                ("/linux/mountLabel", json!("system_u:object_r:x:s0")),
                ("/linux/rootfsPropagation", json!("rbogus")),
            ],
            vec![
                "config.json: linux.rootfsPropagation: expected shared, slave, private, unbindable (or r…), got \"rbogus\"",
                "config.json: linux.mountLabel: \"system_u:object_r:x:s0\": SELinux labels are not supported by this build",
            ],
        ),
        (
            vec![(
                "/mounts/0",
                json!({"destination": "proc", "type": "proc", "options": ["idmap"]}),
            )],
            vec![
                "config.json: mounts[0].destination: must be an absolute path, got \"proc\"",
                "config.json: mounts[0].options: idmapped mounts are only supported for bind mounts (type \"bind\", or option \"bind\" or \"rbind\")",
            ],
        ),
        (
            vec![(
                "/mounts/1",
                json!({"destination": "/d", "type": "bind", "source": "/tmp",
                       "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}),
            )],
            vec![
                "config.json: mounts[1]: uidMappings and gidMappings go together (an idmapped mount maps both)",
            ],
        ),
        (
            vec![(
                "/mounts/1",
                json!({"destination": "/d", "source": "/tmp", "options": ["rbind", "ridmap"]}),
            )],
            vec![
                "config.json: mounts[1].options: \"idmap\" without uidMappings/gidMappings uses the container's maps: requires linux.namespaces[type=user]",
            ],
        ),
        (
            vec![(
                "/mounts/1",
                json!({"destination": "/d", "source": "/tmp", "options": ["bind"],
                       "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 0}],
                       "gidMappings": [{"containerID": 0, "hostID": 1000}]}),
            )],
            vec![
                "config.json: mounts[1].uidMappings[0].size: must be at least 1",
                "config.json: mounts[1].gidMappings[0].size: required",
            ],
        ),
        (
            vec![(
                "/mounts/1",
                json!({"destination": "/data", "options": ["rbind"]}),
            )],
            vec!["config.json: mounts[1].source: required for a bind mount"],
        ),
        (
            vec![("/mounts/1", json!({"destination": "/data"}))],
            vec!["config.json: mounts[1].type: required unless the mount is a bind mount"],
        ),
        (
            vec![(
                "/linux/devices",
                json!([{"type": "x", "path": "/dev/x"}, {"type": "c", "path": "/dev/y", "major": 1}]),
            )],
            vec![
                "config.json: linux.devices[0].type: expected \"c\", \"u\", \"b\" or \"p\", got \"x\"",
                "config.json: linux.devices[1].minor: required for a device node",
            ],
        ),
        (
            vec![(
                "/hooks",
                json!({"prestart": [{"path": "hook"}, {"path": "/bin/x", "timeout": 0}]}),
            )],
            vec![
                "config.json: hooks.prestart[0].path: must be an absolute path, got \"hook\"",
                "config.json: hooks.prestart[1].timeout: must be a positive number of seconds, got 0",
            ],
        ),
        (
            vec![("/hostname", json!(7))],
            vec!["config.json: hostname: expected a string, got 7"],
        ),
        (
            vec![("/windows", json!({}))],
            vec!["config.json: windows: not supported (this runtime runs Linux containers)"],
        ),
    ];
    for (edits, want) in cases {
        assert_eq!(errors(&edits), want, "{edits:?}");
    }
    // A user namespace without maps: an error as root (nothing guesses who
    // is root in the container); any other caller is rootless and its own
    // ids become 0.
    let userns = [("/linux/namespaces/6", json!({"type": "user"}))];
    if crate::container::rootless::rootless() {
        let c = lowered(&edited(&userns)).config;
        let first =
            |m: &[crate::config::IdMap]| m.first().map(|m| (m.container_id, m.host_id, m.size));
        assert_eq!(
            first(&c.uid_mappings),
            Some((0, rustix::process::geteuid().as_raw(), 1))
        );
        assert_eq!(
            first(&c.gid_mappings),
            Some((0, rustix::process::getegid().as_raw(), 1))
        );
    } else {
        assert_eq!(
            errors(&userns),
            [
                "config.json: linux.namespaces[type=user]: requires linux.uidMappings (who is root in the container?)",
                "config.json: linux.namespaces[type=user]: requires linux.gidMappings (who is root in the container?)",
            ]
        );
    }
}

#[test]
fn unknown_keys_warn_with_the_nearest_key() {
    let v = edited(&[("/hostnam", json!("x")), ("/linux/maskPaths", json!([]))]);
    let b = lowered(&v);
    assert_eq!(
        b.warnings,
        [
            "config.json: unknown key \"hostnam\" (did you mean \"hostname\"?)",
            "config.json: unknown key \"linux.maskPaths\" (did you mean \"linux.maskedPaths\"?)",
        ]
    );
}

#[test]
fn invalid_json_names_the_file_and_position() {
    let e = lower_str("{\"ociVersion\": }", Path::new(DIR), false).unwrap_err();
    assert_eq!(
        e,
        ["config.json: invalid JSON at line 1 column 16: expected value"]
    );
}

#[test]
fn exec_process_files_lower_like_config_json() {
    let cfg = lowered(&default_spec(false)).config;
    let p = lower_process(
        &json!({"args": ["ps"], "cwd": "/", "user": {"uid": 5, "gid": 6}, "env": ["A=1"]}),
        &cfg,
    )
    .unwrap();
    assert_eq!((p.args, p.ids), (vec!["ps".to_string()], Some((5, 6))));
    let e = lower_process(&json!({"args": [], "cwd": "x"}), &cfg).unwrap_err();
    assert_eq!(
        e.to_string(),
        "--process: args: required (the command to run)\n--process: cwd: must be an absolute path, got \"x\""
    );
}

#[test]
fn features_list_only_what_is_implemented() {
    let f = features();
    assert_eq!(f["ociVersionMax"], "1.2.0");
    assert_eq!(f["hooks"].as_array().unwrap().len(), 6);
    let opts = f["mountOptions"].as_array().unwrap();
    assert_eq!(f["linux"]["seccomp"]["enabled"], true);
    assert!(!opts.contains(&json!("copy-symlink")) && opts.contains(&json!("rro")));
    assert!(opts.contains(&json!("tmpcopyup")));
    assert!(opts.contains(&json!("idmap")) && opts.contains(&json!("ridmap")));
    assert_eq!(f["linux"]["mountExtensions"]["idmap"]["enabled"], true);
    assert_eq!(f["linux"]["cgroup"]["systemd"], false);
    assert_eq!(f["linux"]["apparmor"]["enabled"], false);
    assert_eq!(f["linux"]["namespaces"].as_array().unwrap().len(), 8);
    let caps = f["linux"]["capabilities"].as_array().unwrap();
    assert_eq!(caps[0], "CAP_CHOWN");
    assert_eq!(caps.len(), crate::config::CAPABILITY_NAMES.len());
}

#[test]
fn hooks_get_state_on_stdin_and_fail_by_name() {
    let dir = std::env::temp_dir().join(format!("nsinit-hook-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("out");
    let hook = |script: String, timeout| Hook {
        path: "/bin/sh".into(),
        args: vec!["sh".into(), "-c".into(), script],
        env: vec!["X=42".into()],
        timeout,
    };
    run_hook(
        &hook(
            format!("cat > {0}; echo \" $X\" >> {0}", out.display()),
            Some(5),
        ),
        b"{\"id\":\"c1\"}",
    )
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "{\"id\":\"c1\"} 42\n"
    );
    let e = run_hook(&hook("exit 3".into(), None), b"").unwrap_err();
    assert_eq!(e.to_string(), "hook /bin/sh: exit status 3");
    let start = std::time::Instant::now();
    let e = run_hook(&hook("exec sleep 30".into(), Some(1)), b"").unwrap_err();
    assert_eq!(e.to_string(), "hook /bin/sh: timed out after 1 s (killed)");
    assert!(start.elapsed() < std::time::Duration::from_secs(10));
    // A hook that never reads its stdin still succeeds (EPIPE is no error).
    run_hook(&hook("exit 0".into(), Some(5)), &vec![b'x'; 1 << 20]).unwrap();
    let missing = Hook {
        path: "/nonexistent/hook".into(),
        ..Hook::default()
    };
    assert_eq!(
        run_hook(&missing, b"").unwrap_err().to_string(),
        "hook /nonexistent/hook: exit status 127 (not found or not executable?)"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn device_file_mode_may_carry_the_nodes_type_bits() {
    // podman: the host's st_mode, S_IFCHR | 0o666 and S_IFBLK | 0o660.
    let v = edited(&[(
        "/linux/devices",
        json!([{"type": "c", "path": "/dev/xnull", "major": 1, "minor": 3, "fileMode": 0o20666},
               {"type": "b", "path": "/dev/xloop", "major": 7, "minor": 0, "fileMode": 0o60660}]),
    )]);
    let b = lowered(&v);
    let modes: Vec<u32> = b
        .config
        .mount
        .device_nodes
        .iter()
        .filter(|d| d.path.as_deref().is_some_and(|p| p.starts_with("/dev/x")))
        .map(|d| d.file_mode)
        .collect();
    assert_eq!(modes, [0o666, 0o660]);
    // Type bits of another kind, or more than permission bits: refused.
    let e = errors(&[(
        "/linux/devices",
        json!([{"type": "c", "path": "/dev/x", "major": 1, "minor": 3, "fileMode": 0o60666},
               {"type": "c", "path": "/dev/y", "major": 1, "minor": 3, "fileMode": 0o17777}]),
    )]);
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(
        e[0].contains("linux.devices[0].fileMode") && e[0].contains("0o60666"),
        "{e:?}"
    );
    assert!(e[1].contains("linux.devices[1].fileMode"), "{e:?}");
}

#[test]
fn namespace_paths_of_every_kind_are_checked_on_the_host() {
    let text = edited(&[
        (
            "/linux/namespaces/0",
            json!({"type": "pid", "path": "/proc/self/ns/pid"}),
        ),
        (
            "/linux/namespaces/1",
            json!({"type": "network", "path": "/proc/self/ns/uts"}),
        ),
        (
            "/linux/namespaces/2",
            json!({"type": "ipc", "path": "/proc/self/status"}),
        ),
    ])
    .to_string();
    let dir = std::env::temp_dir().join(format!("nsinit-oci-nspath-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("rootfs")).unwrap();
    let errs = lower_str(&text, &dir, true).err().unwrap_or_default();
    std::fs::remove_dir_all(&dir).unwrap();
    let errs: Vec<_> = errs.iter().filter(|l| !l.contains("unknown key")).collect();
    assert_eq!(
        errs,
        [
            "config.json: linux.namespaces[1].path: /proc/self/ns/uts is a uts namespace, not a net namespace",
            "config.json: linux.namespaces[2].path: /proc/self/status: not a namespace file",
        ]
    );
    // Unchecked, a pid (or time) path lowers: it is joined before the clone.
    let b = lowered(&edited(&[(
        "/linux/namespaces/0",
        json!({"type": "pid", "path": "/proc/1/ns/pid"}),
    )]));
    assert!(
        b.config
            .ns_paths
            .contains(&(Ns::Pid, "/proc/1/ns/pid".into()))
    );
    assert!(!b.config.namespaces.contains(Ns::Pid));
}

#[test]
fn idmapped_mounts_lower_as_runc_reads_them() {
    let map = json!([{"containerID": 0, "hostID": 1000, "size": 10}]);
    let b = lowered(&edited(&[
        (
            "/mounts/7",
            json!({"destination": "/a", "type": "bind", "source": "/tmp",
                   "uidMappings": map, "gidMappings": map}),
        ),
        (
            "/mounts/8",
            json!({"destination": "/b", "source": "/tmp", "options": ["rbind", "ridmap"],
                   "uidMappings": map, "gidMappings": map}),
        ),
        (
            "/mounts/9",
            json!({"destination": "/c", "source": "/tmp", "options": ["bind", "idmap"]}),
        ),
        ("/linux/namespaces/5", json!({"type": "user"})),
        ("/linux/uidMappings", map.clone()),
        ("/linux/gidMappings", map.clone()),
    ]));
    let m = &b.config.mount.mounts;
    let (a, bb, c) = (
        m[7].idmap.as_ref().unwrap(),
        m[8].idmap.as_ref().unwrap(),
        m[9].idmap.as_ref().unwrap(),
    );
    // Maps without the option: the top mount only.
    assert_eq!(
        (a.uid_mappings[0].host_id, a.gid_mappings[0].size),
        (1000, 10)
    );
    assert!(!a.recursive && bb.recursive && m[8].flags & REC != 0);
    // The option without maps: the container's (empty here).
    assert!(c.uid_mappings.is_empty() && !c.recursive);
    assert!(m[..7].iter().all(|m| m.idmap.is_none()));
}
