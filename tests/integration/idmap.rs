//! Idmapped bind mounts (runtime-spec 1.2 `uidMappings`/`gidMappings` on a
//! mount, options `idmap` and `ridmap`) through `nsinit-oci`: owners seen
//! inside through the mount's maps, files created through it owned on the
//! host by the mapped id, a plain bind of the same directory as the control,
//! `ridmap` against `idmap` on a tree with a submount, and the refusals.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::common::{can_run, err, not_applicable, out, processes_with, require};
use crate::oci::Bundle;

/// The container's user namespace: container 0 is host 100000.
const BASE: u32 = 100_000;

/// A bundle running `script`, with its own user namespace when `userns`,
/// and a host directory `src` holding `user` (owned by 1000:1000) and
/// `root` (0:0), the directory itself owned by 1000:1000.
fn setup(name: &str, script: &str, userns: bool) -> (Bundle, Value, PathBuf) {
    let b = Bundle::new(name, &["sh", "-c", script]);
    let src = b.dir.join("src");
    std::fs::create_dir(&src).unwrap();
    for (f, id) in [("user", 1000), ("root", 0)] {
        std::fs::write(src.join(f), f).unwrap();
        std::os::unix::fs::chown(src.join(f), Some(id), Some(id)).unwrap();
    }
    std::os::unix::fs::chown(&src, Some(1000), Some(1000)).unwrap();
    let mut cfg: Value =
        serde_json::from_slice(&std::fs::read(b.dir.join("config.json")).unwrap()).unwrap();
    if userns {
        let map = json!([{"containerID": 0, "hostID": BASE, "size": 65536}]);
        cfg["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        cfg["linux"]["uidMappings"] = map.clone();
        cfg["linux"]["gidMappings"] = map;
    }
    (b, cfg, src)
}

/// Add a bind mount of `src` on `dst` (created in the rootfs: the
/// container's root may not write there) with `options` and `extra` keys.
fn mount(b: &Bundle, cfg: &mut Value, src: &Path, dst: &str, options: &[&str], extra: Value) {
    std::fs::create_dir_all(b.rootfs().join(dst.trim_start_matches('/'))).unwrap();
    let mut m = json!({"destination": dst, "type": "bind", "source": src, "options": options});
    if let Value::Object(extra) = extra {
        m.as_object_mut().unwrap().extend(extra);
    }
    cfg["mounts"].as_array_mut().unwrap().push(m);
}

/// Can `src`'s filesystem be idmapped here? A probe container tries; where
/// the kernel refuses (tmpfs before Linux 6.3: the test VM's /tmp), the
/// refusal must be the clear one, and the test does not apply.
fn idmappable(b: &Bundle, cfg: &Value, src: &Path) -> bool {
    let mut probe = cfg.clone();
    probe["process"]["args"] = json!(["true"]);
    mount(b, &mut probe, src, "/probe", &["bind"], maps(1000, BASE, 1));
    b.write_config(&probe);
    // Its own id: cgroups are named after it, and tests run in parallel.
    let id = format!("probe-{}", b.dir.file_name().unwrap().to_string_lossy());
    let o = run(b, &id);
    if o.status.success() {
        return true;
    }
    let e = err(&o);
    assert!(
        e.contains("the filesystem does not support idmapped mounts"),
        "probe: {e}"
    );
    not_applicable(format!(
        "{} cannot be idmapped by this kernel: {}",
        src.display(),
        e.trim()
    ))
}

/// uid and gid maps of one range: on-disk `from` shows as `to`.
fn maps(from: u32, to: u32, size: u32) -> Value {
    let m = json!([{"containerID": from, "hostID": to, "size": size}]);
    json!({"uidMappings": m, "gidMappings": m})
}

fn run(b: &Bundle, id: &str) -> Output {
    let bundle = b.dir.to_str().unwrap().to_string();
    b.run(&["run", "--bundle", &bundle, id])
}

#[test]
fn mount_maps_show_owners_and_own_new_files_through_the_mapping() {
    if !can_run() {
        return;
    }
    let script = "stat -c '%n %u:%g' /idm/user /idm/root /own/user /own/root /plain/user \
                  /plain/root && touch /idm/new && stat -c '%n %u:%g' /idm/new";
    let (b, mut cfg, src) = setup("basic", script, true);
    if !idmappable(&b, &cfg, &src) {
        return;
    }
    // On-disk 1000 shows as host 100000: the container's root.
    mount(&b, &mut cfg, &src, "/idm", &["bind"], maps(1000, BASE, 1));
    // `idmap` without maps: the container's own, so on-disk ids show as they are.
    mount(&b, &mut cfg, &src, "/own", &["bind", "idmap"], json!({}));
    mount(&b, &mut cfg, &src, "/plain", &["bind"], json!({}));
    b.write_config(&cfg);
    let o = run(&b, "idm1");
    assert!(o.status.success(), "{}", err(&o));
    let lines: Vec<String> = out(&o).lines().map(str::to_string).collect();
    assert_eq!(
        lines,
        [
            "/idm/user 0:0",
            "/idm/root 65534:65534",
            "/own/user 1000:1000",
            "/own/root 0:0",
            // The control: neither host 1000 nor host 0 is mapped in the container.
            "/plain/user 65534:65534",
            "/plain/root 65534:65534",
            "/idm/new 0:0",
        ],
        "{}",
        err(&o)
    );
    // Created by the container's root through the mount: on-disk 1000.
    let meta = std::fs::metadata(src.join("new")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (1000, 1000));
}

/// As in runc 1.2, a mount with its own maps needs no user namespace: the
/// container (host root) sees the mapped owners, and cannot write as root
/// through a mount that does not map it.
#[test]
fn mount_maps_work_without_a_user_namespace() {
    if !can_run() {
        return;
    }
    let script = "stat -c '%n %u' /idm/user /idm/root; touch /idm/x 2>/dev/null || echo refused";
    let (b, mut cfg, src) = setup("nouserns", script, false);
    if !idmappable(&b, &cfg, &src) {
        return;
    }
    mount(&b, &mut cfg, &src, "/idm", &["bind"], maps(1000, BASE, 1));
    b.write_config(&cfg);
    let o = run(&b, "idm2");
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(
        out(&o).lines().collect::<Vec<_>>(),
        ["/idm/user 100000", "/idm/root 65534", "refused"],
        "{}",
        err(&o)
    );
    assert!(!src.join("x").exists());
}

/// `ridmap` maps every mount of an `rbind` tree; `idmap` only its top (the
/// submount shows its host owner, unmapped in the container: 65534).
#[test]
fn ridmap_maps_submounts_and_idmap_only_the_top() {
    if !can_run() || !require("unshare") {
        return;
    }
    let script = "stat -c '%n %u' /r/user /r/sub/f /t/user /t/sub/f";
    let (b, mut cfg, src) = setup("ridmap", script, true);
    if !idmappable(&b, &cfg, &src) {
        return;
    }
    let inner = b.dir.join("inner");
    std::fs::create_dir(&inner).unwrap();
    std::fs::write(inner.join("f"), "f").unwrap();
    std::os::unix::fs::chown(inner.join("f"), Some(1000), Some(1000)).unwrap();
    std::fs::create_dir(src.join("sub")).unwrap();
    mount(
        &b,
        &mut cfg,
        &src,
        "/r",
        &["rbind", "ridmap"],
        maps(1000, BASE, 1),
    );
    mount(
        &b,
        &mut cfg,
        &src,
        "/t",
        &["rbind", "idmap"],
        maps(1000, BASE, 1),
    );
    b.write_config(&cfg);
    let (ok, text) = run_over_submount(&b, &inner, &src.join("sub"), "idm3");
    assert!(ok, "{text}");
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        ["/r/user 0", "/r/sub/f 0", "/t/user 0", "/t/sub/f 65534"],
    );
}

/// `run` with `inner` bound on `sub` in a mount namespace of the run's own
/// (nothing of it reaches the host's, whatever happens): success, and the
/// output.
fn run_over_submount(b: &Bundle, inner: &Path, sub: &Path, id: &str) -> (bool, String) {
    let res = b.dir.join(".res");
    let status = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg("mount --bind \"$1\" \"$2\" && shift 2 && exec \"$@\" > \"$RES\" 2>&1")
        .args(["sh", &inner.to_string_lossy(), &sub.to_string_lossy()])
        .arg(crate::common::bin())
        .arg("oci")
        .arg("--root")
        .arg(&b.root)
        .args(["run", "--bundle"])
        .arg(&b.dir)
        .arg(id)
        .env("RES", &res)
        .status()
        .unwrap();
    (
        status.success(),
        std::fs::read_to_string(&res).unwrap_or_default(),
    )
}

/// The attack: the container's root, with CAP_SYS_ADMIN in its user
/// namespace, unmounts the submount of an idmapped `rbind` to read what it
/// covers on the host. The kernel's lock on the submount must hold, as for
/// a plain `rbind` (a tree cloned on the host side would carry no lock).
#[test]
fn the_container_cannot_unmount_a_submount_to_see_what_it_covers() {
    if !can_run() || !require("unshare") {
        return;
    }
    let script = "umount /r/sub && echo UNMOUNTED; cat /r/sub/covered; umount -l /r/sub; \
                  cat /r/sub/covered; echo done";
    let (b, mut cfg, src) = setup("covered", script, true);
    if !idmappable(&b, &cfg, &src) {
        return;
    }
    for set in ["bounding", "effective", "permitted"] {
        let caps = cfg["process"]["capabilities"][set].as_array_mut().unwrap();
        caps.push(json!("CAP_SYS_ADMIN"));
    }
    let inner = b.dir.join("inner");
    std::fs::create_dir(&inner).unwrap();
    std::fs::create_dir(src.join("sub")).unwrap();
    std::fs::write(src.join("sub/covered"), "host secret under the submount").unwrap();
    mount(
        &b,
        &mut cfg,
        &src,
        "/r",
        &["rbind", "ridmap"],
        maps(1000, BASE, 1),
    );
    b.write_config(&cfg);
    let (_, text) = run_over_submount(&b, &inner, &src.join("sub"), "idm6");
    assert!(
        text.ends_with("done\n"),
        "the script ran to its end: {text}"
    );
    assert!(!text.contains("UNMOUNTED"), "{text}");
    assert!(!text.contains("host secret"), "{text}");
}

#[test]
fn bad_idmapped_mounts_are_refused_by_field() {
    if !can_run() {
        return;
    }
    let (b, cfg, src) = setup("badcfg", "true", false);
    let n = cfg["mounts"].as_array().unwrap().len();
    let cases = [
        (
            json!({"options": ["rbind", "ridmap"]}),
            format!(
                "config.json: mounts[{n}].options: \"idmap\" without uidMappings/gidMappings uses the container's maps: \
                 requires linux.namespaces[type=user]"
            ),
        ),
        (
            json!({"options": ["bind"],
                   "uidMappings": [{"containerID": 0, "hostID": BASE, "size": 1}]}),
            format!(
                "config.json: mounts[{n}]: uidMappings and gidMappings go together (an idmapped \
                 mount maps both)"
            ),
        ),
    ];
    for (extra, want) in cases {
        let mut c = cfg.clone();
        let mut m = json!({"destination": "/m", "type": "bind", "source": src});
        m.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        c["mounts"].as_array_mut().unwrap().push(m);
        b.write_config(&c);
        let o = run(&b, "idm4");
        assert_eq!(o.status.code(), Some(125), "{}", err(&o));
        assert!(err(&o).contains(&want), "want {want}\ngot {}", err(&o));
    }
    assert!(!b.root.join("idm4").exists(), "nothing left behind");
}

/// procfs cannot be idmapped: the failure names the call and the source,
/// and the failed start leaves no record, no helper process, no mount.
#[test]
fn a_filesystem_without_idmap_support_fails_cleanly() {
    if !can_run() {
        return;
    }
    let (b, mut cfg, _) = setup("noidmap", "true", true);
    mount(
        &b,
        &mut cfg,
        Path::new("/proc/sys"),
        "/m",
        &["rbind"],
        maps(0, BASE, 65536),
    );
    b.write_config(&cfg);
    let o = run(&b, "idm5");
    assert_eq!(o.status.code(), Some(125), "{}", err(&o));
    assert!(
        err(&o).contains(
            "mount_setattr MOUNT_ATTR_IDMAP /proc/sys: the filesystem does not support idmapped \
             mounts: Invalid argument"
        ),
        "{}",
        err(&o)
    );
    assert!(!b.root.join("idm5").exists(), "no record left");
    let root = b.root.to_string_lossy().into_owned();
    assert_eq!(processes_with(&root), Vec::<i32>::new(), "no process left");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(b.dir.to_str().unwrap()), "{mounts}");
}
