//! Whole-file tests: the sample configs, defaults, and one test per bad input
//! (networks and cgroups have their own, in `net.rs` and `cgroups.rs`).

use std::path::Path;

use serde_json::{Value, json};

use super::{Config, Loaded, Ns, load, read_str};

use super::mount_options::{BIND, REC, SLAVE};
const RDONLY: u64 = linux_raw_sys::general::MS_RDONLY as u64;

/// The container directory the tests pretend to load from (it need not exist).
pub(super) const DIR: &str = "/tmp/nsinit-config-test/ct";

/// A valid config (the five usual namespaces) with `extra`'s keys replacing its own.
pub(super) fn config_text(extra: Value) -> String {
    let mut base = json!({
        "namespaces": {"NEWNS": true, "NEWUTS": true, "NEWIPC": true, "NEWPID": true, "NEWNET": true}
    });
    if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
        b.extend(e);
    }
    base.to_string()
}

/// A user namespace with a map missing: as root the error `want` (nothing
/// guesses who is root in the container); any other caller is rootless and
/// gets its own id mapped to 0 where a map is missing.
pub(super) fn missing_map_is(text: &str, want: &[&str]) {
    if !crate::container::rootless::rootless() {
        assert_eq!(errors_of(text), want);
        return;
    }
    let c = match read_str(text, Path::new(DIR), false) {
        Ok(l) => l.config,
        Err(e) => panic!("rootless: expected a config, got {e:#?}"),
    };
    let own = |id: u32| (0, id, 1);
    let first = |m: &[super::IdMap]| m.first().map(|m| (m.container_id, m.host_id, m.size));
    if !text.contains("\"uid_mappings\"") {
        assert_eq!(
            first(&c.uid_mappings),
            Some(own(rustix::process::geteuid().as_raw()))
        );
    }
    if !text.contains("\"gid_mappings\"") {
        assert_eq!(
            first(&c.gid_mappings),
            Some(own(rustix::process::getegid().as_raw()))
        );
    }
}

pub(super) fn load_ok(extra: Value) -> Loaded {
    match read_str(&config_text(extra), Path::new(DIR), false) {
        Ok(l) => l,
        Err(e) => panic!("expected a config, got errors: {e:#?}"),
    }
}

pub(super) fn errors(extra: Value) -> Vec<String> {
    errors_of(&config_text(extra))
}

pub(super) fn errors_of(text: &str) -> Vec<String> {
    match read_str(text, Path::new(DIR), false) {
        Ok(l) => panic!("expected errors, got a config: {:#?}", l.config),
        Err(e) => e,
    }
}

fn sample(name: &str) -> Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample_configs")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    match read_str(&text, Path::new(DIR), false) {
        Ok(l) => {
            assert_eq!(l.warnings, Vec::<String>::new(), "{name}");
            l.config
        }
        Err(e) => panic!("{name}: {e:#?}"),
    }
}

#[test]
fn every_sample_config_loads_without_warnings() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_configs");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    for expected in [
        "minimal.json",
        "attach_to_bridge.json",
        "host_network.json",
        "readonly_rootfs.json",
        "user_namespace.json",
        "limits.json",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    for name in names {
        let config = sample(&name);
        // The printed form (`nsinit config`) is valid JSON with names, not bits.
        let printed = serde_json::to_value(&config).unwrap();
        assert!(
            printed["capabilities"]
                .as_array()
                .unwrap()
                .contains(&json!("CHOWN")),
            "{name}"
        );
    }
}

#[test]
fn minimal_sample_has_the_documented_contents() {
    let c = sample("minimal.json");
    let ns: Vec<Ns> = c.namespaces.iter().collect();
    assert_eq!(ns, [Ns::Ipc, Ns::Uts, Ns::Net, Ns::Pid, Ns::Mnt]);
    assert_eq!(c.capabilities.count_ones(), 12);
    assert_eq!(c.hostname.as_deref(), Some("nsinit"));
    assert!(!c.tty && c.user.is_none() && c.restrict_sys);
    assert_eq!(c.mount.device_nodes.len(), 6);
    assert!(c.mount.device_nodes.iter().all(|d| d.file_mode == 0o666));
    let cg = c.cgroups.as_ref().unwrap();
    assert_eq!(cg.allowed_devices.len(), 14);
    assert_eq!(cg.allowed_devices[0].cgroup_rule(), "c *:* m");
    assert_eq!(cg.allowed_devices[5].cgroup_rule(), "c 136:* rwm");
    assert_eq!(cg.name, super::default_cgroup_name(Path::new(DIR)));
    // The six system mounts come first, then the configured ones.
    let dsts: Vec<&str> = c
        .mount
        .mounts
        .iter()
        .map(|m| m.destination.as_str())
        .collect();
    assert_eq!(
        dsts[..6],
        [
            "/proc",
            "/dev",
            "/dev/pts",
            "/dev/shm",
            "/dev/mqueue",
            "/sys"
        ]
    );
    assert!(c.mount.mounts[5].flags & super::mount_options::BIND == 0);
    assert_eq!(c.mount.mounts[6].fstype, "tmpfs");
    assert!(c.mask_paths.contains(&"/proc/kcore".to_string()));
}

#[test]
fn other_samples_have_their_point() {
    let c = sample("attach_to_bridge.json");
    let printed = serde_json::to_value(&c).unwrap();
    assert_eq!(printed["networks"][1]["type"], "veth");
    assert_eq!(
        printed["networks"][1]["address"],
        json!({"addr": "10.88.0.2", "prefix": 24})
    );
    assert_eq!(printed["networks"][1]["create_bridge"], true);

    let c = sample("host_network.json");
    assert!(!c.namespaces.contains(Ns::Net) && c.networks.is_empty());

    let c = sample("readonly_rootfs.json");
    assert!(c.mount.readonly_fs && c.mount.mounts[6].flags & RDONLY == 0);

    let c = sample("user_namespace.json");
    assert!(c.namespaces.contains(Ns::User));
    assert_eq!(
        (c.uid_mappings[0].host_id, c.gid_mappings[0].size),
        (100000, 65536)
    );

    let c = sample("limits.json");
    let cg = c.cgroups.unwrap();
    assert_eq!(
        (cg.memory, cg.memory_swap, cg.pids_limit),
        (Some(256 << 20), Some(512 << 20), Some(64))
    );
    assert_eq!(
        (cg.cpu_shares, cg.cpu_quota, cg.cpu_period),
        (Some(512), Some(50000), Some(100000))
    );
    assert_eq!((c.rlimits[0].resource, c.rlimits[0].soft), (7, 1024));
}

#[test]
fn defaults_fill_in_a_bare_config() {
    let l = read_str("{}", Path::new(DIR), false).unwrap();
    let c = l.config;
    assert_eq!(c.rootfs, Path::new(DIR));
    assert_eq!(c.namespaces.clone_flags(), 0);
    assert_eq!(c.capabilities, 0);
    assert!(c.hostname.is_none() && c.environment.is_empty() && !c.tty && !c.init);
    // No cgroups section: still a cgroup (for tracking), restricting nothing.
    let cg = c.cgroups.unwrap();
    assert!(cg.name.starts_with("nsinit-ct-") && cg.name.len() == "nsinit-ct-".len() + 8);
    assert!(cg.allow_all_devices && cg.memory.is_none() && cg.parent.is_empty());
    assert!(l.warnings.is_empty());
}

#[test]
fn root_fs_is_resolved_against_the_container_dir() {
    let c = load_ok(json!({"root_fs": "rootfs"})).config;
    assert_eq!(c.rootfs, Path::new(DIR).join("rootfs"));
    let c = load_ok(json!({"root_fs": "/srv/./img"})).config;
    assert_eq!(c.rootfs, Path::new("/srv/img"));
    // A relative container dir is made absolute too.
    let c = read_str("{}", Path::new("some/dir"), false).unwrap().config;
    assert!(
        c.rootfs.is_absolute() && c.rootfs.ends_with("some/dir"),
        "{:?}",
        c.rootfs
    );
}

#[test]
fn restrict_sys_adds_the_proc_paths_once() {
    let c = load_ok(
        json!({"restrict_sys": true, "readonly_paths": ["/proc/sys", "/etc"],
                           "mask_paths": ["/proc//kcore"]}),
    )
    .config;
    assert_eq!(
        c.readonly_paths
            .iter()
            .filter(|p| *p == "/proc/sys")
            .count(),
        1
    );
    assert_eq!(c.readonly_paths[..2], ["/proc/sys", "/etc"]);
    assert_eq!(c.readonly_paths.len(), 1 + super::RESTRICT_READONLY.len());
    assert_eq!(
        c.mask_paths.iter().filter(|p| *p == "/proc/kcore").count(),
        1
    );
    assert_eq!(c.mask_paths.len(), super::RESTRICT_MASKED.len());
}

#[test]
fn capabilities_accept_the_prefix_and_any_case() {
    let c = load_ok(json!({"capabilities": ["CAP_NET_ADMIN", "kill", "SYS_ADMIN"]})).config;
    assert_eq!(c.capabilities, 1 << 12 | 1 << 5 | 1 << 21);
    let printed = serde_json::to_value(&c).unwrap();
    assert_eq!(
        printed["capabilities"],
        json!(["KILL", "NET_ADMIN", "SYS_ADMIN"])
    );
}

#[test]
fn unknown_keys_warn_with_the_nearest_key_and_do_not_fail() {
    let l = load_ok(json!({"hostnme": "x", "mount_config": {"readonly_f": true}, "frobnicate": 1}));
    assert_eq!(
        l.warnings,
        [
            "container.json: unknown key \"frobnicate\" (ignored)",
            "container.json: unknown key \"hostnme\" (did you mean \"hostname\"?)",
            "container.json: unknown key \"mount_config.readonly_f\" (did you mean \"mount_config.readonly_fs\"?)",
        ]
    );
}

#[test]
fn keys_moved_by_the_2015_schema_point_to_their_2014_place() {
    let l = load_ok(json!({"rootfs": "/srv", "readonlyfs": true, "devices": []}));
    assert_eq!(
        l.warnings,
        [
            "container.json: unknown key \"devices\" (did you mean \"mount_config.device_nodes\"?)",
            "container.json: unknown key \"readonlyfs\" (did you mean \"mount_config.readonly_fs\"?)",
            "container.json: unknown key \"rootfs\" (did you mean \"root_fs\"?)",
        ]
    );
}

#[test]
fn warnings_follow_the_errors_they_may_explain() {
    let e = errors_of(r#"{"namespace": {"NEWUTS": true}, "hostname": "x"}"#);
    assert_eq!(
        e,
        [
            "container.json: hostname: \"x\" requires namespaces.NEWUTS (it would rename the host)",
            "container.json: unknown key \"namespace\" (did you mean \"namespaces\"?)",
        ]
    );
}

#[test]
fn malformed_json_names_line_and_column() {
    assert_eq!(
        errors_of("{\n  \"hostname\": \"x\",\n}"),
        ["container.json: invalid JSON at line 3 column 1: trailing comma"]
    );
    assert_eq!(
        errors_of("{\"tty\": tru}"),
        ["container.json: invalid JSON at line 1 column 12: expected ident"]
    );
    assert_eq!(
        errors_of("[]"),
        ["container.json: expected an object, got an array"]
    );
}

#[test]
fn wrong_types_name_the_field_path_and_index() {
    assert_eq!(
        errors(
            json!({"tty": "yes", "environment": ["A=1", 5], "mount_config": {"mounts": [{"type": "tmpfs", "destination": "/t", "writable": 1}]}})
        ),
        [
            "container.json: environment[1]: expected a string, got 5",
            "container.json: mount_config.mounts[0].writable: expected true or false, got 1",
            "container.json: tty: expected true or false, got \"yes\"",
        ]
    );
    assert_eq!(
        errors(json!({"namespaces": {"NEWNS": "true"}})),
        ["container.json: namespaces.NEWNS: expected true or false, got \"true\""]
    );
    assert_eq!(
        errors(json!({"namespaces": [{"type": "NEWNS"}]})),
        ["container.json: namespaces: expected an object like {\"NEWNS\": true}, got an array"]
    );
}

#[test]
fn unknown_capabilities_and_namespaces_are_errors() {
    assert_eq!(
        errors(json!({"capabilities": ["CHOWN", "SYS_ADMN", "CAP_FOO_BAR_BAZ"]})),
        [
            "container.json: capabilities[1]: unknown capability \"SYS_ADMN\" (did you mean \"SYS_ADMIN\"?)",
            "container.json: capabilities[2]: unknown capability \"CAP_FOO_BAR_BAZ\"",
        ]
    );
    assert_eq!(
        errors(json!({"namespaces": {"NEWNET": true, "NEWUSR": true, "BOGUS": false}})),
        [
            "container.json: namespaces: unknown namespace \"BOGUS\" (known: NEWUSER, NEWIPC, NEWUTS, NEWNET, NEWPID, NEWNS, NEWCGROUP, NEWTIME)",
            "container.json: namespaces: unknown namespace \"NEWUSR\" (did you mean \"NEWUSER\"?)",
        ]
    );
}

#[test]
fn hostname_user_working_dir_and_environment() {
    assert_eq!(
        errors_of(r#"{"hostname": "koye"}"#),
        [
            "container.json: hostname: \"koye\" requires namespaces.NEWUTS (it would rename the host)"
        ]
    );
    assert_eq!(
        errors(json!({"hostname": "h".repeat(65), "user": "a:b:c", "working_dir": "srv"})),
        // Field errors first, then the cross-field pass (`validate`).
        [
            "container.json: user: expected NAME, UID, NAME:GROUP or UID:GID, got \"a:b:c\"".into(),
            "container.json: working_dir: must be an absolute path, got \"srv\"".into(),
            format!(
                "container.json: hostname: must be at most 64 bytes, got \"{}\"",
                "h".repeat(65)
            ),
        ]
    );
    assert_eq!(
        errors(json!({"environment": ["PATH=/bin", "FOO", "=x", "EMPTY="]})),
        [
            "container.json: environment[1]: expected KEY=VALUE, got \"FOO\"",
            "container.json: environment[2]: expected KEY=VALUE, got \"=x\"",
        ]
    );
    let c = load_ok(json!({"user": "1000:1000", "working_dir": "/srv", "init": true})).config;
    assert_eq!(
        (c.user.as_deref(), c.working_dir.as_deref(), c.init),
        (Some("1000:1000"), Some("/srv"), true)
    );
}

#[test]
fn user_namespace_needs_mappings_and_mappings_need_it() {
    let maps = json!([{"container_id": 0, "host_id": 100000, "size": 65536}]);
    assert_eq!(
        errors_of(&json!({"uid_mappings": maps, "gid_mappings": maps}).to_string()),
        [
            "container.json: uid_mappings: requires namespaces.NEWUSER",
            "container.json: gid_mappings: requires namespaces.NEWUSER",
        ]
    );
    missing_map_is(
        r#"{"namespaces": {"NEWUSER": true}, "uid_mappings": [{"host_id": 1000, "size": 1}]}"#,
        &[
            "container.json: namespaces.NEWUSER: requires gid_mappings (who is root in the container?)",
        ],
    );
    let ns = json!({"NEWUSER": true, "NEWNS": true});
    assert_eq!(
        errors(
            json!({"namespaces": ns, "gid_mappings": maps, "uid_mappings": [
                {"container_id": 0, "host_id": 100000, "size": 1000},
                {"container_id": 500, "host_id": 200000, "size": 10},
                {"container_id": 2000, "host_id": 100500, "size": 10},
                {"container_id": 4294967295u32, "host_id": 0, "size": 2},
                {"container_id": 3000, "host_id": 300000},
            ]})
        ),
        [
            "container.json: uid_mappings[1]: overlaps uid_mappings[0]",
            "container.json: uid_mappings[2]: overlaps uid_mappings[0]",
            "container.json: uid_mappings[3]: container_id 4294967295 + size 2 is past the last id 4294967295",
            "container.json: uid_mappings[4].size: must be at least 1",
        ]
    );
}

#[test]
fn mounts_destinations_are_absolute_normalised_and_never_climb() {
    let c = load_ok(json!({"mount_config": {"mounts": [
        {"type": "tmpfs", "destination": "/a/./b//c/", "data": "size=64m"},
        {"type": "bind", "source": "/srv/data", "destination": "/data", "writable": true, "slave": true},
        {"type": "bind", "source": "/etc/hosts", "destination": "/etc/hosts"},
    ]}}))
    .config;
    let m = &c.mount.mounts[6..];
    assert_eq!(
        (
            m[0].destination.as_str(),
            m[0].data.as_deref(),
            m[0].flags & RDONLY
        ),
        ("/a/b/c", Some("size=64m"), 0)
    );
    assert_eq!(
        (
            m[1].source.as_deref(),
            m[1].flags & RDONLY,
            m[1].propagation
        ),
        (Some(Path::new("/srv/data")), 0, SLAVE | REC)
    );
    assert!(
        m[2].flags & RDONLY != 0,
        "bind mounts are read-only unless writable"
    );
    assert_eq!(m[2].flags & (BIND | REC), BIND | REC);

    assert_eq!(
        errors(json!({"mount_config": {"mounts": [
            {"type": "tmpfs", "destination": "tmp"},
            {"type": "tmpfs", "destination": "/a/../../etc"},
            {"type": "bind", "destination": "/x"},
            {"type": "bind", "source": "data", "destination": "/x"},
            {"type": "nfs", "destination": "/x"},
            {"destination": "/x"},
            {"type": "tmpfs"},
            {"type": "bind", "source": "/x", "destination": "/", "data": "ro", "private": true, "slave": true},
        ]}})),
        [
            "container.json: mount_config.mounts[0].destination: must be an absolute path, got \"tmp\"",
            "container.json: mount_config.mounts[1].destination: must not contain \"..\", got \"/a/../../etc\"",
            "container.json: mount_config.mounts[2].source: required for a bind mount",
            "container.json: mount_config.mounts[3].source: must be an absolute path, got \"data\"",
            "container.json: mount_config.mounts[4].type: unsupported mount type \"nfs\" (expected bind or tmpfs)",
            "container.json: mount_config.mounts[5].type: required (bind or tmpfs)",
            "container.json: mount_config.mounts[6].destination: required",
            "container.json: mount_config.mounts[7].destination: must not be \"/\" (the rootfs itself)",
            "container.json: mount_config.mounts[7].data: only tmpfs mounts take data, got \"ro\"",
            "container.json: mount_config.mounts[7]: private and slave exclude each other",
        ]
    );
}

#[test]
fn device_nodes_need_a_type_path_and_real_numbers() {
    let node = |extra: Value| {
        let mut d = json!({"type": 99, "path": "/dev/null", "major_number": 1, "minor_number": 3, "file_mode": 438});
        if let (Value::Object(b), Value::Object(e)) = (&mut d, extra) {
            b.extend(e);
        }
        d
    };
    let c = load_ok(json!({"cgroups": {"allow_all_devices": true}, "mount_config": {"device_nodes": [
        node(json!({})),
        node(json!({"type": "b", "path": "/dev/loop0", "major_number": 7, "minor_number": null, "file_mode": "0660", "gid": 6})),
    ]}}))
    .config;
    let d = &c.mount.device_nodes;
    assert_eq!(d[0].cgroup_rule(), "c 1:3 rwm");
    assert_eq!(
        (d[1].cgroup_rule(), d[1].file_mode, d[1].gid),
        ("b 7:0 rwm".into(), 0o660, 6)
    );

    assert_eq!(
        errors(json!({"mount_config": {"device_nodes": [
            node(json!({"type": 97})),
            node(json!({"type": 100})),
            node(json!({"path": "dev/null"})),
            node(json!({"major_number": -1, "minor_number": 2000000})),
            node(json!({"path": null, "cgroup_permissions": "rwx", "file_mode": 70000})),
            node(json!({"path": "/dev/zero", "type": null})),
            node(json!({"path": "/dev/full"})),
            node(json!({"path": "/dev//full/"})),
        ]}})),
        [
            "container.json: mount_config.device_nodes[0].type: expected 99 ('c') or 98 ('b'), got 97",
            "container.json: mount_config.device_nodes[1].type: expected 99 ('c') or 98 ('b'), got 100",
            "container.json: mount_config.device_nodes[2].path: must be an absolute path, got \"dev/null\"",
            "container.json: mount_config.device_nodes[3].major_number: a device node needs a real number, not the -1 wildcard",
            "container.json: mount_config.device_nodes[3].minor_number: expected a number from 0 to 1048575 or -1 (any), got 2000000",
            "container.json: mount_config.device_nodes[4].path: required for a device node",
            "container.json: mount_config.device_nodes[4].cgroup_permissions: expected letters from \"rwm\", got \"rwx\"",
            "container.json: mount_config.device_nodes[4].file_mode: expected permission bits up to 4095 (0o7777), got 70000",
            "container.json: mount_config.device_nodes[5].type: required, expected 99 ('c') or 98 ('b')",
            "container.json: mount_config.device_nodes[7].path: \"/dev/full\" is already created by mount_config.device_nodes[6]",
        ]
    );
}

#[test]
fn device_nodes_outside_the_cgroup_whitelist_warn() {
    let l = load_ok(json!({
        "cgroups": {"allowed_devices": [{"type": 99, "major_number": 1, "minor_number": -1, "cgroup_permissions": "rwm"}]},
        "mount_config": {"device_nodes": [
            {"type": 99, "path": "/dev/null", "major_number": 1, "minor_number": 3, "file_mode": 438},
            {"type": 99, "path": "/dev/tty", "major_number": 5, "file_mode": 438},
        ]}
    }));
    assert_eq!(
        l.warnings,
        [
            "container.json: mount_config.device_nodes: /dev/tty (c 5:0 rwm) is not in cgroups.allowed_devices, so opening it will fail (nsinit adds \"c 5:0 m\" so it can create it)"
        ]
    );
    // Issue 18: every node nsinit creates is creatable under its own rules.
    let rules: Vec<String> = l
        .config
        .cgroups
        .unwrap()
        .allowed_devices
        .iter()
        .map(|d| d.cgroup_rule())
        .collect();
    assert_eq!(rules, ["c 1:* rwm", "c 5:0 m"]);
}

#[test]
fn mount_features_need_a_mount_namespace() {
    assert_eq!(
        errors_of(
            &json!({"restrict_sys": true, "mask_paths": ["/x"], "mount_config": {"readonly_fs": true,
                "mounts": [{"type": "tmpfs", "destination": "/tmp"}]}})
            .to_string()
        ),
        [
            "container.json: mount_config.mounts: requires namespaces.NEWNS (it would change the host's mounts)",
            "container.json: mount_config.readonly_fs: requires namespaces.NEWNS (it would change the host's mounts)",
            "container.json: restrict_sys: requires namespaces.NEWNS (it would change the host's mounts)",
        ]
    );
    assert_eq!(
        errors_of(r#"{"readonly_paths": ["/proc/sys"]}"#),
        [
            "container.json: readonly_paths: requires namespaces.NEWNS (it would change the host's mounts)"
        ]
    );
}

#[test]
fn mask_and_readonly_paths_are_absolute() {
    assert_eq!(
        errors(json!({"readonly_paths": ["proc/sys"], "mask_paths": ["/ok", "/../etc/shadow"]})),
        [
            "container.json: readonly_paths[0]: must be an absolute path, got \"proc/sys\"",
            "container.json: mask_paths[1]: must not contain \"..\", got \"/../etc/shadow\"",
        ]
    );
}

#[test]
fn ipc_path_rlimits_and_compat_fields() {
    let l = load_ok(json!({
        "ipc": "/proc/1/ns/ipc",
        "rlimits": [{"type": "NOFILE", "hard": 4096, "soft": 1024}, {"type": 4, "hard": -1, "soft": "unlimited"}],
        "mount_config": {"mount_label": "system_u:object_r:svirt_sandbox_file_t:s0"},
    }));
    let c = &l.config;
    assert_eq!(c.ns_paths, [(Ns::Ipc, "/proc/1/ns/ipc".into())]);
    assert_eq!(
        (c.rlimits[0].resource, c.rlimits[0].soft, c.rlimits[0].hard),
        (7, 1024, 4096)
    );
    assert_eq!((c.rlimits[1].resource, c.rlimits[1].soft), (4, u64::MAX));
    assert_eq!(
        l.warnings,
        ["container.json: mount_config.mount_label: ignored (nsinit has no SELinux support)",]
    );
    assert_eq!(
        errors(json!({"ipc": "ns/ipc", "rlimits": [
            {"type": "RLIMIT_NOFILES", "hard": 1, "soft": 1},
            {"type": "NPROC", "hard": 10, "soft": 20},
            {"type": "RLIMIT_CORE", "hard": 1.5},
            {"type": 7, "hard": 1, "soft": 1},
            {"type": "nofile", "hard": 1, "soft": 1},
        ]})),
        [
            "container.json: ipc: must be an absolute path, got \"ns/ipc\"",
            "container.json: rlimits[0].type: unknown resource \"RLIMIT_NOFILES\" (did you mean \"RLIMIT_NOFILE\"?)",
            "container.json: rlimits[1]: soft limit 20 is above the hard limit 10",
            "container.json: rlimits[2].soft: required (a number, or \"unlimited\")",
            "container.json: rlimits[2].hard: expected a number, -1 or \"unlimited\", got 1.5",
            "container.json: rlimits[4].type: RLIMIT_NOFILE is already set by rlimits[3]",
        ]
    );
}

#[test]
fn load_reads_the_file_and_joins_errors_by_line() {
    let dir = std::env::temp_dir().join(format!("nsinit-config-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = load(&dir).unwrap_err().to_string();
    assert_eq!(
        missing,
        format!(
            "read {}/container.json: No such file or directory",
            dir.display()
        )
    );
    std::fs::write(
        dir.join("container.json"),
        r#"{"tty": 1, "environment": ["X"]}"#,
    )
    .unwrap();
    let err = load(&dir).unwrap_err().to_string();
    std::fs::write(dir.join("container.json"), "{}").unwrap();
    let ok = load(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        err,
        // Type errors are found while reading, before validation.
        "container.json: tty: expected true or false, got 1\n\
         container.json: environment[0]: expected KEY=VALUE, got \"X\""
    );
    assert_eq!(ok.unwrap().config.rootfs, dir.canonicalize().unwrap_or(dir));
}

#[test]
fn config_hash_is_fnv1a_64() {
    assert_eq!(super::config_hash(""), "cbf29ce484222325");
    assert_eq!(super::config_hash("a"), "af63dc4c8601ec8c");
    assert_ne!(super::config_hash("{}"), super::config_hash("{ }"));
}

#[test]
fn no_new_privileges_and_no_new_keyring_are_known_keys() {
    let c = load_ok(json!({})).config;
    assert!(!c.no_new_privileges && !c.no_new_keyring);
    let l = load_ok(json!({"no_new_privileges": true, "no_new_keyring": true}));
    assert_eq!(l.warnings, Vec::<String>::new());
    assert!(l.config.no_new_privileges && l.config.no_new_keyring);
    let l = load_ok(json!({"no_new_privilege": true}));
    assert_eq!(
        l.warnings,
        ["container.json: unknown key \"no_new_privilege\" (did you mean \"no_new_privileges\"?)"]
    );
    assert_eq!(
        errors(json!({"no_new_keyring": "yes"})),
        ["container.json: no_new_keyring: expected true or false, got \"yes\""]
    );
}
