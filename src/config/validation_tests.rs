//! The validation gaps of issue 12 (item 12), one test each: hostname control
//! characters, mounts over system filesystems, duplicate keys, the BOM, numbers
//! out of range, refused id maps, LSM keys, host paths.

use std::path::Path;

use serde_json::{Value, json};

use super::read_str;
use super::tests::{DIR, config_text, errors, errors_of, load_ok, missing_map_is};

#[test]
fn hostname_with_control_characters_is_refused_not_truncated() {
    for h in ["a\0b", "a\nb", "tab\there", "del\u{7f}"] {
        assert_eq!(
            errors(json!({ "hostname": h })),
            [format!(
                "container.json: hostname: must not contain control characters (NUL, newline...), got {h:?}"
            )]
        );
    }
    assert_eq!(
        load_ok(json!({"hostname": "a-b.c"}))
            .config
            .hostname
            .as_deref(),
        Some("a-b.c")
    );
}

#[test]
fn mounts_over_the_system_filesystems_are_refused() {
    let mounts: Vec<Value> = ["/", "/proc", "/dev/", "/dev/pts", "/sys", "/./proc"]
        .iter()
        .map(|d| json!({"type": "tmpfs", "destination": d}))
        .chain([json!({"type": "bind", "source": "/tmp", "destination": "/dev"})])
        .collect();
    let dst = |i: usize| format!("container.json: mount_config.mounts[{i}].destination");
    assert_eq!(
        errors(json!({"mount_config": {"mounts": mounts}})),
        [
            format!("{}: must not be \"/\" (the rootfs itself)", dst(0)),
            format!(
                "{}: must not be \"/proc\" (nsinit mounts proc there; the container needs it)",
                dst(1)
            ),
            format!(
                "{}: must not be \"/dev\" (nsinit builds /dev there with the device nodes)",
                dst(2)
            ),
            format!(
                "{}: must not be \"/dev/pts\" (nsinit mounts devpts there for the container's terminals)",
                dst(3)
            ),
            format!(
                "{}: must not be \"/sys\" (nsinit mounts sysfs there; the container needs it)",
                dst(4)
            ),
            format!(
                "{}: must not be \"/proc\" (nsinit mounts proc there; the container needs it)",
                dst(5)
            ),
            format!(
                "{}: must not be \"/dev\" (nsinit builds /dev there with the device nodes)",
                dst(6)
            ),
        ]
    );
    // Below them is fine: /dev/shm sized by the user, a bind over /proc/sys.
    let c = load_ok(json!({"mount_config": {"mounts": [
        {"type": "tmpfs", "destination": "/dev/shm", "data": "size=1g"},
        {"type": "bind", "source": "/proc/sys", "destination": "/proc/sys"},
    ]}}))
    .config;
    assert_eq!(c.mount.mounts.len(), 6 + 2);
}

#[test]
fn duplicate_keys_are_errors_naming_the_key_path() {
    let text = "{\"namespaces\": {\"NEWNS\": true, \"NEWUTS\": true},\n\
                \"hostname\": \"a\",\n\"hostname\": \"b\",\n\
                \"cgroups\": {\"name\": \"x\", \"name\": \"y\"},\n\
                \"namespaces\": {\"NEWNS\": true}}";
    assert_eq!(
        errors_of(text),
        [
            "container.json: hostname: duplicate key at line 3 (each key may appear once)",
            "container.json: cgroups.name: duplicate key at line 4 (each key may appear once)",
            "container.json: namespaces: duplicate key at line 5 (each key may appear once)",
            // The last `namespaces` won in serde_json's map: no NEWUTS.
            "container.json: hostname: \"b\" requires namespaces.NEWUTS (it would rename the host)",
        ]
    );
    assert_eq!(
        errors_of(r#"{"Hostname": "a", "hostname": "b", "namespaces": {"NEWUTS": true}}"#),
        [
            "container.json: hostname: duplicate key: \"Hostname\" sets the same field (keys are case-insensitive)"
        ]
    );
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let text = format!("\u{feff}{}", config_text(json!({"hostname": "bom"})));
    let l = read_str(&text, Path::new(DIR), false).unwrap();
    assert_eq!(l.config.hostname.as_deref(), Some("bom"));
    // The hash is of the file as written, BOM included.
    assert_eq!(l.hash, super::config_hash(&text));
    // Only at the start: anywhere else it is a syntax error.
    assert_eq!(
        errors_of("{}\u{feff}"),
        ["container.json: invalid JSON at line 1 column 3: trailing characters"]
    );
}

#[test]
fn numbers_out_of_range_are_shown_as_written() {
    let errs = errors_of(
        r#"{"tty": 18446744073709551616, "cgroups": {"memory": 18446744073709551616,
            "cpu_shares": 99999999999999999999, "memory_swap": -18446744073709551617},
            "rlimits": [{"type": "NOFILE", "soft": 1, "hard": 1e30}],
            "uid_mappings": [{"container_id": 0, "host_id": 18446744073709551616, "size": 1}]}"#,
    );
    assert_eq!(
        errs,
        [
            "container.json: cgroups.cpu_shares: expected an integer from -9223372036854775808 to 9223372036854775807, got 99999999999999999999",
            "container.json: tty: expected true or false, got 18446744073709551616",
            "container.json: uid_mappings[0].host_id: expected an integer no larger than 4294967295, got 18446744073709551616",
            "container.json: cgroups.memory: too large (more than 1 PiB), got 18446744073709551616",
            "container.json: cgroups.memory_swap: expected bytes, got -18446744073709551617",
            "container.json: rlimits[0].hard: expected a number, -1 or \"unlimited\", got 1e30",
            // The cross-field pass runs last.
            "container.json: uid_mappings: requires namespaces.NEWUSER",
        ]
    );
}

#[test]
fn a_refused_id_mapping_is_not_reported_as_missing() {
    let userns = json!({"NEWNS": true, "NEWUSER": true});
    let map = json!([{"container_id": 0, "host_id": 100000, "size": 65536}]);
    assert_eq!(
        errors(json!({"namespaces": userns,
            "uid_mappings": [{"container_id": 0, "host_id": 100000, "size": 0}],
            "gid_mappings": map})),
        ["container.json: uid_mappings[0].size: must be at least 1"]
    );
    assert_eq!(
        errors(json!({"namespaces": userns, "uid_mappings": map, "gid_mappings": ["x"]})),
        ["container.json: gid_mappings[0]: expected an object, got \"x\""]
    );
    // No maps at all is an error (there is no identity fallback that would
    // make host root the container's root).
    missing_map_is(
        &config_text(json!({"namespaces": userns})),
        &[
            "container.json: namespaces.NEWUSER: requires uid_mappings (who is root in the container?)",
            "container.json: namespaces.NEWUSER: requires gid_mappings (who is root in the container?)",
        ],
    );
}

#[test]
fn lsm_keys_fail_closed_and_say_how_to_run_unconfined() {
    assert_eq!(
        errors(
            json!({"apparmor_profile": "docker-default", "process_label": "system_u:system_r:svirt_lxc_net_t:s0"})
        ),
        [
            "container.json: apparmor_profile: \"docker-default\": AppArmor profiles are not supported by nsinit, so the container cannot be confined by it; remove the key to run it unconfined",
            "container.json: process_label: \"system_u:system_r:svirt_lxc_net_t:s0\": SELinux labels are not supported by nsinit, so the container cannot be confined by it; remove the key to run it unconfined",
        ]
    );
    use super::validate::lsm_unsupported;
    assert_eq!(
        lsm_unsupported("p", "apparmor", Some(false)),
        "\"p\": AppArmor is not enabled on this host, so the container cannot be confined by it; remove the key to run it unconfined"
    );
    assert_eq!(
        lsm_unsupported("l", "selinux", Some(true)),
        "\"l\": SELinux labels are not supported by nsinit, so the container cannot be confined by it; remove the key to run it unconfined"
    );
    // Empty means unset, as with Go's omitempty.
    load_ok(json!({"apparmor_profile": "", "process_label": ""}));
}

#[test]
fn host_paths_must_exist_when_the_host_is_checked() {
    let dir = std::env::temp_dir().join(format!("nsinit-config-host-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("rootfs")).unwrap();
    std::fs::write(dir.join("file"), "").unwrap();
    let d = dir.display();
    let text = |extra: Value| config_text(extra);
    let check = |t: &str| read_str(t, &dir, true).err().unwrap_or_default();
    let missing_root = check(&text(json!({"root_fs": "nope"})));
    let file_root = check(&text(json!({"root_fs": "file"})));
    let sources = check(&text(
        json!({"root_fs": "rootfs", "mount_config": {"mounts": [
            {"type": "bind", "source": "/no/such/source", "destination": "/a"},
            {"type": "bind", "source": format!("{d}/file"), "destination": "/b"},
            {"type": "bind", "source": format!("{d}/rootfs"), "destination": "/c"},
        ]}}),
    ));
    let ok = read_str(&text(json!({"root_fs": "rootfs"})), &dir, true).map(|l| l.config.rootfs);
    // Unchecked (unit tests, or what the pure pass sees) they pass.
    let unchecked = read_str(&text(json!({"root_fs": "nope"})), &dir, false).is_ok();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        missing_root,
        [format!(
            "container.json: root_fs: {d}/nope: No such file or directory"
        )]
    );
    assert_eq!(
        file_root,
        [format!(
            "container.json: root_fs: {d}/file: not a directory"
        )]
    );
    assert_eq!(
        sources,
        [
            "container.json: mount_config.mounts[0].source: /no/such/source: No such file or directory"
        ]
    );
    assert_eq!(
        ok.unwrap(),
        dir.canonicalize().unwrap_or(dir.clone()).join("rootfs")
    );
    assert!(unchecked);
}
