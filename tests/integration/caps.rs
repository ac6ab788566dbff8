//! Capabilities, no_new_privileges and the session keyring, tried as the
//! attacker inside the container (issue 11, items 4 and 5): static helpers
//! from tests/attack/ are bind-mounted read-only on /mnt.

use std::fs::Permissions;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

use crate::common::*;

/// The 12 capabilities of `base_config()` as a mask.
fn default_caps_mask() -> u64 {
    [0, 1, 3, 5, 6, 7, 8, 10, 13, 18, 27, 31]
        .iter()
        .fold(0, |m, b| m | (1u64 << b))
}

/// A container on base_config() with `extra` keys merged in and the attack
/// helpers, compiled statically into its directory, bind-mounted on /mnt:
/// `setuid0`, `suid0` (setuid0 owned by root, mode 4755) and `caps_keyring`.
fn container(name: &str, extra: Value) -> Container {
    let c = Container::new(name, &base_config());
    let dir = c.dir.join("bin");
    std::fs::create_dir(&dir).unwrap();
    for name in ["setuid0", "caps_keyring"] {
        attack_binary(name, &dir.join(name));
    }
    std::fs::copy(dir.join("setuid0"), dir.join("suid0")).unwrap();
    std::fs::set_permissions(dir.join("suid0"), Permissions::from_mode(0o4755)).unwrap();
    // Reachable for `daemon` inside the container.
    for d in [&c.dir, &dir] {
        std::fs::set_permissions(d, Permissions::from_mode(0o755)).unwrap();
    }
    let mut cfg = base_config();
    cfg["mount_config"]["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "bind", "source": dir, "destination": "/mnt", "writable": true}));
    for (k, v) in extra.as_object().unwrap() {
        cfg[k] = v.clone();
    }
    c.write_config(&cfg);
    c
}

/// A `/proc/self/status` field as a number (hex for Cap*, decimal otherwise).
fn field(status: &str, key: &str) -> u64 {
    let line = status
        .lines()
        .find(|l| l.starts_with(&format!("{key}:")))
        .unwrap_or_else(|| panic!("{key} missing in {status}"));
    let v = line.split_whitespace().nth(1).unwrap();
    let radix = if key.starts_with("Cap") { 16 } else { 10 };
    u64::from_str_radix(v, radix).unwrap()
}

#[test]
fn non_root_user_cannot_become_root_through_setresuid_cve_2022_29162() {
    if !can_run() {
        return;
    }
    let c = container("caps-setuid0", json!({}));
    // The configured list includes SETUID: root keeps it, daemon must not.
    let root = ok(&c.exec(&["/mnt/setuid0"]));
    assert_eq!(root, "setresuid=ok uid=0 euid=0 suid=0\n");
    let daemon = ok(&c.exec(&["-u", "daemon", "/mnt/setuid0"]));
    assert_eq!(
        daemon, "setresuid=Operation not permitted uid=1 euid=1 suid=1\n",
        "the container user became root"
    );
}

#[test]
fn inheritable_and_ambient_are_empty_and_the_rest_is_the_configured_list() {
    if !can_run() {
        return;
    }
    let c = container("caps-sets", json!({}));
    let s = ok(&c.exec(&["cat", "/proc/self/status"]));
    for (key, want) in [
        ("CapInh", 0),
        ("CapAmb", 0),
        ("CapBnd", default_caps_mask()),
        ("CapPrm", default_caps_mask()),
        ("CapEff", default_caps_mask()),
    ] {
        assert_eq!(field(&s, key), want, "root {key}:\n{s}");
    }
    let s = ok(&c.exec(&["-u", "daemon", "cat", "/proc/self/status"]));
    for (key, want) in [
        ("CapInh", 0),
        ("CapAmb", 0),
        ("CapPrm", 0),
        ("CapEff", 0),
        ("CapBnd", default_caps_mask()),
    ] {
        assert_eq!(field(&s, key), want, "daemon {key}:\n{s}");
    }
}

#[test]
fn in_a_user_namespace_the_sets_and_the_keyring_are_the_same() {
    if !can_run() {
        return;
    }
    let mut ns = base_config()["namespaces"].clone();
    ns["NEWUSER"] = json!(true);
    let map = json!([{"container_id": 0, "host_id": 100000, "size": 65536}]);
    let c = container(
        "caps-userns",
        json!({"namespaces": ns, "uid_mappings": map, "gid_mappings": map}),
    );
    let s = ok(&c.exec(&["cat", "/proc/self/status"]));
    for (key, want) in [
        ("CapInh", 0),
        ("CapAmb", 0),
        ("CapBnd", default_caps_mask()),
        ("CapPrm", default_caps_mask()),
        ("CapEff", default_caps_mask()),
    ] {
        assert_eq!(field(&s, key), want, "userns root {key}:\n{s}");
    }
    let s = ok(&c.exec(&["-u", "daemon", "/mnt/setuid0"]));
    assert_eq!(s, "setresuid=Operation not permitted uid=1 euid=1 suid=1\n");
    let r = keyring_run(&c, "root");
    assert_ne!(r.ring, r.host_ring);
    assert_eq!(r.hostkey, "Permission denied");
    assert_eq!(r.perm, "3f000000");
}

#[test]
fn joined_processes_get_the_same_sets() {
    if !can_run() {
        return;
    }
    let c = container("caps-join", json!({"no_new_privileges": true}));
    let mut init = c.spawn(&["sleep", "100"]);
    let s = ok(&c.exec(&["-u", "daemon", "cat", "/proc/self/status"]));
    for (key, want) in [
        ("CapInh", 0),
        ("CapAmb", 0),
        ("CapPrm", 0),
        ("CapEff", 0),
        ("CapBnd", default_caps_mask()),
        ("NoNewPrivs", 1),
    ] {
        assert_eq!(field(&s, key), want, "joined daemon {key}:\n{s}");
    }
    let s = ok(&c.exec(&["/mnt/setuid0"]));
    assert_eq!(s, "setresuid=ok uid=0 euid=0 suid=0\n");
    let s = ok(&c.exec(&["-u", "daemon", "/mnt/setuid0"]));
    assert_eq!(s, "setresuid=Operation not permitted uid=1 euid=1 suid=1\n");
    // PID 1, not nsinit: nsinit then tears the container down.
    c.stop(&mut init);
}

#[test]
fn no_new_privileges_is_off_by_default_and_set_when_asked() {
    if !can_run() {
        return;
    }
    let c = container("caps-nnp0", json!({}));
    let s = ok(&c.exec(&["cat", "/proc/self/status"]));
    assert_eq!(field(&s, "NoNewPrivs"), 0, "{s}");
    let c = container("caps-nnp1", json!({"no_new_privileges": true}));
    for user in ["root", "daemon"] {
        let s = ok(&c.exec(&["-u", user, "cat", "/proc/self/status"]));
        assert_eq!(field(&s, "NoNewPrivs"), 1, "{user}: {s}");
    }
}

#[test]
fn no_new_privileges_stops_a_setuid_root_binary_in_the_image() {
    if !can_run() {
        return;
    }
    // Without it, the image's setuid-root binary makes daemon root (proves
    // the attack works here, so the second half can fail).
    let c = container("caps-suid0", json!({}));
    let s = ok(&c.exec(&["-u", "daemon", "/mnt/suid0"]));
    assert_eq!(s, "setresuid=ok uid=0 euid=0 suid=0\n");
    let c = container("caps-suid1", json!({"no_new_privileges": true}));
    let s = ok(&c.exec(&["-u", "daemon", "/mnt/suid0"]));
    assert_eq!(s, "setresuid=Operation not permitted uid=1 euid=1 suid=1\n");
}

/// What `caps_keyring probe` reported inside the container, next to the
/// host's keyring and key.
struct KeyringRun {
    host_ring: String,
    host_key: String,
    ring: String,
    hostkey: String,
    perm: String,
    neighbour: String,
}

/// Start `nsinit exec [-u USER] /mnt/caps_keyring probe KEY` under
/// `caps_keyring host`, which adds the admin's key to a fresh session
/// keyring that nsinit inherits.
fn keyring_run(c: &Container, user: &str) -> KeyringRun {
    let o: Output = Command::new(c.dir.join("bin/caps_keyring"))
        .arg("host")
        .arg(bin())
        .arg("--root")
        .arg(&c.dir)
        .args(["exec", "-u", user, "/mnt/caps_keyring", "probe", "@KEY@"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let s = ok(&o);
    // First line: "host ring=R key=K", from the host side.
    let first = s.lines().next().unwrap_or_default();
    let get = |prefix: &str| {
        first
            .split_whitespace()
            .find_map(|w| w.strip_prefix(prefix))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no {prefix} in {s}"))
    };
    let line = |prefix: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no {prefix} in {s}"))
    };
    KeyringRun {
        host_ring: get("ring="),
        host_key: get("key="),
        ring: line("ring="),
        hostkey: line("hostkey="),
        perm: line("perm="),
        neighbour: line("neighbour="),
    }
}

#[test]
fn the_container_cannot_read_the_admins_session_keyring() {
    if !can_run() {
        return;
    }
    let c = container("caps-keyring", json!({}));
    for user in ["root", "daemon"] {
        let r = keyring_run(&c, user);
        assert!(r.host_key.parse::<i32>().is_ok());
        assert_ne!(r.ring, r.host_ring, "{user}: the host's session keyring");
        assert_eq!(
            r.hostkey, "Permission denied",
            "{user} read the admin's key"
        );
        // Only possessors may do anything with the container's keyring.
        assert_eq!(r.perm, "3f000000", "{user}");
        // Another process of the same uid (another container) cannot even see it.
        assert_eq!(r.neighbour, "Permission denied", "{user}");
    }
}

#[test]
fn no_new_keyring_shares_the_callers_keyring() {
    if !can_run() {
        return;
    }
    // The same probes succeed when the keyring is shared: the test above can fail.
    let c = container("caps-keyring-shared", json!({"no_new_keyring": true}));
    let r = keyring_run(&c, "daemon");
    assert_eq!(r.ring, r.host_ring);
    assert_eq!(r.hostkey, "ok:admin-secret");
    let r = keyring_run(&c, "root");
    assert_eq!(r.ring, r.host_ring);
    assert!(
        r.neighbour.starts_with("ok:keyring;0;0;"),
        "{}",
        r.neighbour
    );
}
