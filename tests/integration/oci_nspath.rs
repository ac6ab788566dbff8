//! `nsinit-oci`: namespaces joined by path (every kind, pid included, as
//! podman `--pod` and Kubernetes sandboxes use them) and rootfsPropagation.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{can_run, err, out, wait_until};
use crate::oci::{Bundle, config};

/// The namespace link (`pid:[4026532…]`) of `pid`'s namespace `kind`.
fn ns_link(pid: i64, kind: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// Start container A (`sleep`, its own namespaces of every kind, in a
/// bundle of its own) and return the bundle with A's host PID.
fn start_a(name: &str) -> (Bundle, i64) {
    let a = Bundle::new(name, &["sleep", "1000"]);
    let mut cfg = config(&["sleep", "1000"]);
    cfg["hostname"] = json!("container-a");
    cfg["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
        {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}, {"type": "time"}]);
    a.write_config(&cfg);
    let bundle = a.dir.to_str().unwrap().to_string();
    a.ok(&["run", "--detach", "--bundle", &bundle, name]);
    let pid = a.state(name)["pid"].as_i64().unwrap();
    (a, pid)
}

#[test]
fn container_joins_another_ones_namespaces_of_every_kind() {
    if !can_run() {
        return;
    }
    let (_a, apid) = start_a("nsjoin-a");
    // B joins all of A's namespaces but the mount namespace.
    let script = "for k in pid net ipc uts cgroup time; do echo $k=$(readlink /proc/self/ns/$k); done; \
                  echo host=$(hostname); echo me=$$; cat /proc/1/cmdline | tr '\\0' ' '; echo";
    let b = Bundle::new("nsjoin-b", &["sh", "-c", script]);
    let mut cfg = config(&["sh", "-c", script]);
    cfg.as_object_mut().unwrap().remove("hostname");
    let path = |k: &str| format!("/proc/{apid}/ns/{k}");
    cfg["linux"]["namespaces"] = json!([
        {"type": "pid", "path": path("pid")}, {"type": "network", "path": path("net")},
        {"type": "ipc", "path": path("ipc")}, {"type": "uts", "path": path("uts")},
        {"type": "cgroup", "path": path("cgroup")}, {"type": "time", "path": path("time")},
        {"type": "mount"}]);
    b.write_config(&cfg);
    let bundle = b.dir.to_str().unwrap().to_string();
    let out = b.ok(&["run", "--bundle", &bundle, "nsjoin-b"]);
    for k in ["pid", "net", "ipc", "uts", "cgroup", "time"] {
        let want = format!("{k}={}", ns_link(apid, k));
        assert!(out.lines().any(|l| l == want), "{want} in\n{out}");
    }
    assert!(out.contains("host=container-a\n"), "{out}");
    // B's shell is not PID 1 of A's namespace, and sees A's PID 1.
    let me: i64 = out
        .lines()
        .find_map(|l| l.strip_prefix("me="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    assert!(me > 1, "B's shell is PID {me} in A's namespace\n{out}");
    assert!(out.contains("sleep 1000"), "B sees A's processes\n{out}");
}

#[test]
fn exec_into_a_container_that_joined_a_pid_namespace() {
    if !can_run() {
        return;
    }
    let (_a, apid) = start_a("nsexec-a");
    let b = Bundle::new("nsexec-b", &["sleep", "1000"]);
    let mut cfg = config(&["sleep", "1000"]);
    cfg["linux"]["namespaces"] = json!([{"type": "pid", "path": format!("/proc/{apid}/ns/pid")},
        {"type": "mount"}, {"type": "uts"}]);
    b.write_config(&cfg);
    let bundle = b.dir.to_str().unwrap().to_string();
    b.ok(&["create", "--bundle", &bundle, "nsexec-b"]);
    let bpid = b.state("nsexec-b")["pid"].as_i64().unwrap();
    assert_eq!(ns_link(bpid, "pid"), ns_link(apid, "pid"));
    // The runtime itself came back to its own pid namespace: B's init is
    // its child (a hook or a later clone would land in A's otherwise).
    assert_ne!(
        ns_link(bpid, "pid"),
        ns_link(std::process::id() as i64, "pid")
    );
    b.ok(&["start", "nsexec-b"]);
    let ps = b.ok(&[
        "exec",
        "nsexec-b",
        "sh",
        "-c",
        "cat /proc/1/cmdline | tr '\\0' ' '",
    ]);
    assert!(ps.contains("sleep 1000"), "{ps}");
    b.ok(&["kill", "nsexec-b", "KILL"]);
    wait_until(Duration::from_secs(10), "B to stop", || {
        b.status("nsexec-b") == "stopped"
    });
    b.ok(&["delete", "nsexec-b"]);
}

#[test]
fn a_namespace_path_of_the_wrong_kind_is_refused_by_name() {
    if !can_run() {
        return;
    }
    let b = Bundle::new("nswrong", &["true"]);
    let mut cfg: Value = config(&["true"]);
    cfg["linux"]["namespaces"] = json!([{"type": "pid"},
        {"type": "network", "path": "/proc/self/ns/uts"}, {"type": "mount"}, {"type": "uts"}]);
    b.write_config(&cfg);
    let bundle = b.dir.to_str().unwrap().to_string();
    let o = b.run(&["run", "--bundle", &bundle, "nswrong"]);
    assert!(!o.status.success());
    assert!(
        err(&o).contains(
            "linux.namespaces[1].path: /proc/self/ns/uts is a uts namespace, not a net namespace"
        ),
        "{}",
        err(&o)
    );
    assert!(!b.root.join("nswrong").exists(), "nothing left");
}

/// The bundle's rootfs made a shared mount on the host (as on systemd
/// hosts, where `/` is shared); unmounted (with what was mounted below it)
/// on drop, before the bundle goes.
struct SharedRootfs(std::path::PathBuf);

impl SharedRootfs {
    fn new(rootfs: &std::path::Path) -> SharedRootfs {
        let r = rootfs.to_str().unwrap();
        let ok = |args: &[&str]| {
            let st = std::process::Command::new("mount")
                .args(args)
                .status()
                .unwrap();
            assert!(st.success(), "mount {args:?}");
        };
        ok(&["--bind", r, r]);
        let guard = SharedRootfs(rootfs.to_path_buf());
        ok(&["--make-shared", r]);
        guard
    }
}

impl Drop for SharedRootfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-R")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// The host's mount points below `dir`.
fn host_mounts_below(dir: &std::path::Path) -> Vec<String> {
    let prefix = format!("{}/", dir.display());
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(&prefix))
        .map(str::to_string)
        .collect()
}

/// Run a container with `linux.rootfsPropagation` = `mode` whose rootfs is a
/// shared mount on the host; once it runs, the host mounts a tmpfs under the
/// rootfs. Returns what the container saw (`seen`/`unseen`, then whether it
/// could bind its own `/`).
fn propagation_seen(mode: &str) -> String {
    let id = format!("prop-{mode}");
    let script = "touch /ready; until [ -e /go ]; do sleep 0.02; done; \
                  if [ -e /probe/flag ]; then echo seen; else echo unseen; fi > /result; \
                  mkdir -p /t; if mount --bind / /t 2>/dev/null; then echo bind-ok; \
                  else echo bind-refused; fi >> /result; touch /done; sleep 1000";
    let b = Bundle::new(&id, &["sh", "-c", script]);
    let mut cfg = config(&["sh", "-c", script]);
    cfg["linux"]["rootfsPropagation"] = json!(mode);
    for set in ["bounding", "effective", "permitted"] {
        cfg["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap()
            .push(json!("CAP_SYS_ADMIN"));
    }
    b.write_config(&cfg);
    let rootfs = b.rootfs();
    std::fs::create_dir_all(rootfs.join("probe")).unwrap();
    let shared = SharedRootfs::new(&rootfs);
    let bundle = b.dir.to_str().unwrap().to_string();
    b.ok(&["run", "--detach", "--bundle", &bundle, &id]);
    wait_until(Duration::from_secs(10), "the container to run", || {
        rootfs.join("ready").exists()
    });
    // Nothing of the container's mounts reached the host.
    assert_eq!(host_mounts_below(&rootfs), Vec::<String>::new(), "{mode}");
    let probe = rootfs.join("probe");
    let st = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "tmpfs", probe.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::write(probe.join("flag"), "").unwrap();
    std::fs::write(rootfs.join("go"), "").unwrap();
    wait_until(Duration::from_secs(10), "the container's answer", || {
        rootfs.join("done").exists()
    });
    let result = std::fs::read_to_string(rootfs.join("result")).unwrap();
    // The container's own mounts (its bind of /) still do not reach the host.
    let leaked: Vec<String> = host_mounts_below(&rootfs)
        .into_iter()
        .filter(|m| !m.ends_with("/probe"))
        .collect();
    assert_eq!(leaked, Vec::<String>::new(), "{mode}");
    b.ok(&["delete", "--force", &id]);
    drop(shared);
    result.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn rootfs_propagation_slave_receives_the_hosts_mounts_shared_as_runc() {
    if !can_run() {
        return;
    }
    assert_eq!(propagation_seen("rslave"), "seen bind-ok");
    // A shared root stays the host's peer, but the mount holding the rootfs
    // (here the rootfs itself) is made private first, as runc and crun do
    // (pivot_root refuses a shared parent): what the host mounts below the
    // rootfs stays out, as with runc 1.1 and crun 1.8 on this scenario.
    // What a shared root is for, a bind with rshared propagating both ways:
    // compat::a_shared_volume_propagates_the_containers_mounts_to_the_host.
    assert_eq!(propagation_seen("shared"), "unseen bind-ok");
}

#[test]
fn rootfs_propagation_private_and_unbindable_do_not() {
    if !can_run() {
        return;
    }
    assert_eq!(propagation_seen("private"), "unseen bind-ok");
    // An unbindable root cannot be bound elsewhere.
    assert_eq!(propagation_seen("runbindable"), "unseen bind-refused");
}

#[test]
fn a_joined_mount_namespace_gets_the_rootfs_and_the_hosts_own_is_refused() {
    if !can_run() || !crate::common::require("unshare") {
        return;
    }
    let mut holder = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "sleep", "1000"])
        .spawn()
        .unwrap();
    let hpid = i64::from(holder.id());
    let own = ns_link(std::process::id() as i64, "mnt");
    wait_until(
        Duration::from_secs(10),
        "unshare to enter its namespace",
        || {
            std::fs::read_link(format!("/proc/{hpid}/ns/mnt"))
                .is_ok_and(|l| l.to_string_lossy() != own)
        },
    );
    let script = "readlink /proc/self/ns/mnt; ls /";
    let b = Bundle::new("nsmnt", &["sh", "-c", script]);
    let mut cfg = config(&["sh", "-c", script]);
    cfg["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "uts"},
        {"type": "mount", "path": format!("/proc/{hpid}/ns/mnt")}]);
    b.write_config(&cfg);
    let bundle = b.dir.to_str().unwrap().to_string();
    let o = b.run(&["run", "--bundle", &bundle, "nsmnt"]);
    let held = ns_link(hpid, "mnt");
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(o.status.success(), "{}", err(&o));
    let out = crate::common::out(&o);
    assert!(out.starts_with(&format!("{held}\n")), "{out}");
    assert!(
        out.lines().any(|l| l == "bin"),
        "the rootfs is its root\n{out}"
    );
    assert!(host_mounts_below(&b.rootfs()).is_empty());
    // The runtime's own mount namespace is refused by name.
    cfg["linux"]["namespaces"][2]["path"] = json!("/proc/self/ns/mnt");
    b.write_config(&cfg);
    let o = b.run(&["run", "--bundle", &bundle, "nsmnt"]);
    assert!(!o.status.success());
    assert!(
        err(&o).contains(
            "linux.namespaces[2].path: /proc/self/ns/mnt is the runtime's own mount namespace"
        ),
        "{}",
        err(&o)
    );
}

/// A network namespace kept by a bind mount, as `ip netns add`, podman's
/// default network and CRI pod sandboxes make them (`/run/netns/NAME`):
/// the descriptor's link names the mount, not `net:[…]`, so the kind must
/// come from the kernel. Unmounted on drop.
struct PersistedNetns(std::path::PathBuf);

impl Drop for PersistedNetns {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_bind_mounted_network_namespace_is_joined() {
    if !can_run() {
        return;
    }
    let b = Bundle::new("nsbound", &["true"]);
    let file = b.dir.join("netns");
    std::fs::write(&file, "").unwrap();
    let made = std::process::Command::new("unshare")
        .arg(format!("--net={}", file.display()))
        .arg("true")
        .status()
        .unwrap();
    assert!(made.success(), "unshare --net={}", file.display());
    let _keep = PersistedNetns(file.clone());
    use std::os::unix::fs::MetadataExt;
    let ino = std::fs::metadata(&file).unwrap().ino();
    let script = "readlink /proc/self/ns/net";
    let mut cfg: Value = config(&["sh", "-c", script]);
    cfg["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "mount"}, {"type": "uts"},
        {"type": "network", "path": file.to_str().unwrap()}]);
    b.write_config(&cfg);
    let bundle = b.dir.to_str().unwrap().to_string();
    let out = b.ok(&["run", "--bundle", &bundle, "nsbound"]);
    assert_eq!(
        out.trim(),
        format!("net:[{ino}]"),
        "joined the persisted netns"
    );
}

/// A bundle whose container has no mount namespace (only a PID namespace,
/// no hostname, masked or read-only paths) and runs `script`, with `more`
/// mounts after the defaults.
fn no_mount_ns_bundle(name: &str, script: &str, more: &[Value]) -> Bundle {
    let b = Bundle::new(name, &["true"]);
    let mut c = config(&["sh", "-c", script]);
    c["linux"]["namespaces"] = json!([{"type": "pid"}]);
    c.as_object_mut().unwrap().remove("hostname");
    for k in ["maskedPaths", "readonlyPaths"] {
        c["linux"].as_object_mut().unwrap().remove(k);
    }
    c["mounts"]
        .as_array_mut()
        .unwrap()
        .extend(more.iter().cloned());
    b.write_config(&c);
    b
}

/// `nsinit-oci run` of `b` as `id`, in a mount namespace of the test's own
/// (so a leak could not reach the host's), after `before` and followed by
/// `after`, shell lines in which `$ROOT` is the rootfs.
fn run_in_own_mount_ns(b: &Bundle, id: &str, before: &str, after: &str) -> std::process::Output {
    let script =
        format!("{before} \"$0\" oci --root \"$1\" run --bundle \"$2\" {id} || exit 9; {after}");
    std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .arg(crate::common::bin())
        .arg(&b.root)
        .arg(&b.dir)
        .env("ROOT", b.rootfs())
        .output()
        .unwrap()
}

/// No mount namespace (runtime-spec: the container inherits the runtime's):
/// the configured mounts go into that namespace under the rootfs, as runc
/// and crun make them, and teardown takes them away again (runc and crun
/// leave them). What is asserted is seen from the caller's namespace.
#[test]
fn without_a_mount_namespace_mounts_go_in_the_callers_and_come_out_again() {
    if !can_run() || !crate::common::require("unshare") {
        return;
    }
    let b = no_mount_ns_bundle(
        "nomntns",
        "readlink /proc/self/ns/mnt; grep -c ' /proc proc ' /proc/self/mounts; \
         grep -c ' /dev/shm tmpfs ' /proc/self/mounts",
        &[],
    );
    let o = run_in_own_mount_ns(
        &b,
        "nm1",
        "readlink /proc/self/ns/mnt;",
        "grep -c \" $ROOT/\" /proc/self/mountinfo",
    );
    let text = out(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}{}", err(&o));
    // The container's mount namespace is the caller's.
    assert_eq!(lines[0], lines[1], "{text}");
    // It saw its /proc and /dev/shm mounted ...
    assert_eq!(&lines[2..4], ["1", "1"], "{text}");
    // ... and nothing is left under the rootfs afterwards.
    assert_eq!(lines[4], "0", "{text}");
    assert!(!b.root.join("nm1").exists(), "no record left");
}

/// Attack, no mount namespace: the container renames the directory that
/// holds one of its mounts (`/a` with a tmpfs on `/a/b` becomes `/c`, and
/// `/a` a link to it), so the mount's recorded destination no longer leads
/// to it without following a link. Teardown still finds that mount, by the
/// id it had when the container was set up, and nothing is left under the
/// rootfs.
#[test]
fn without_a_mount_namespace_a_mount_the_container_moved_still_comes_out() {
    if !can_run() || !crate::common::require("unshare") {
        return;
    }
    let b = no_mount_ns_bundle(
        "nomntmv",
        "mv /a /c && ln -s /c /a && grep -c ' /c/b tmpfs ' /proc/self/mounts",
        &[json!({"destination": "/a/b", "type": "tmpfs", "source": "tmpfs"})],
    );
    let o = run_in_own_mount_ns(
        &b,
        "nm2",
        "",
        "grep -c \" $ROOT/\" /proc/self/mountinfo; grep \" $ROOT/\" /proc/self/mountinfo >&2",
    );
    let text = out(&o);
    let lines: Vec<&str> = text.lines().collect();
    // The container moved its mount: it saw it at the new place ...
    assert_eq!(lines.first(), Some(&"1"), "{text}{}", err(&o));
    // ... and teardown took it away all the same.
    assert_eq!(
        lines.get(1),
        Some(&"0"),
        "left under the rootfs:\n{}",
        err(&o)
    );
    assert!(!b.root.join("nm2").exists(), "no record left");
}
