//! Rootless (issue 17): `nsinit exec`, joins and `nsinit-oci` run as an
//! unprivileged user (`nsinit-test`, created with useradd if missing) through
//! `setpriv`, with a user namespace. Checked from inside (`/proc/self/uid_map`,
//! `id`) and from the host (a root-owned file stays unwritten, no record or
//! process is left).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::*;
use crate::tty::{tmux, tmux_session, wait_pane};

const USER: &str = "nsinit-test";
static USER_LOCK: Mutex<()> = Mutex::new(());

/// The unprivileged user: (uid, gid, first subordinate id), created (with
/// /etc/subuid and /etc/subgid entries) when missing.
fn test_user() -> Option<(u32, u32, u32)> {
    if !can_run() || !require_all(&["setpriv", "useradd"]) {
        return None;
    }
    let _guard = USER_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let id = |flag: &str| {
        let o = Command::new("id").args([flag, USER]).output().unwrap();
        o.status
            .success()
            .then(|| out(&o).trim().parse::<u32>().ok())
            .flatten()
    };
    if id("-u").is_none() {
        let o = Command::new("useradd")
            .args(["-M", "-s", "/usr/sbin/nologin", USER])
            .output()
            .unwrap();
        // A parallel test binary may have created it meanwhile.
        assert!(
            o.status.success() || id("-u").is_some(),
            "useradd {USER}: {}",
            err(&o)
        );
    }
    let (uid, gid) = (id("-u")?, id("-g")?);
    let sub = subid_start("/etc/subuid");
    let subg = subid_start("/etc/subgid");
    assert_eq!(sub, subg, "use one range for uids and gids of {USER}");
    Some((uid, gid, sub))
}

/// The start of USER's 65536 subordinate ids in `file`, appended (above
/// every existing range) when there is none.
fn subid_start(file: &str) -> u32 {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let mut end = 100_000u32;
    for line in text.lines() {
        let f: Vec<&str> = line.split(':').collect();
        let (Some(start), Some(count)) = (
            f.get(1).and_then(|s| s.parse::<u32>().ok()),
            f.get(2).and_then(|s| s.parse::<u32>().ok()),
        ) else {
            continue;
        };
        if f[0] == USER && count >= 65536 {
            return start;
        }
        end = end.max(start + count);
    }
    let mut new = text;
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str(&format!("{USER}:{end}:65536\n"));
    std::fs::write(file, new).unwrap();
    end
}

/// A directory owned by the user (mode `mode`), removed on drop.
struct UserDir(PathBuf);

impl UserDir {
    fn new(name: &str, uid: u32, gid: u32, mode: u32) -> UserDir {
        let n = std::process::id();
        let p = std::env::temp_dir().join(format!("nsinit-rl-{name}-{n}"));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        std::os::unix::fs::chown(&p, Some(uid), Some(gid)).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        UserDir(p)
    }
}

impl Drop for UserDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One rootless setup: the container directory and `$XDG_RUNTIME_DIR`,
/// both the user's.
struct Rootless {
    uid: u32,
    gid: u32,
    sub: u32,
    dir: UserDir,
    xdg: UserDir,
}

impl Rootless {
    fn new(name: &str) -> Option<Rootless> {
        let (uid, gid, sub) = test_user()?;
        Some(Rootless {
            uid,
            gid,
            sub,
            dir: UserDir::new(name, uid, gid, 0o755),
            xdg: UserDir::new(&format!("{name}-xdg"), uid, gid, 0o700),
        })
    }

    fn write_config(&self, cfg: &Value) {
        let p = self.dir.0.join("container.json");
        std::fs::write(&p, serde_json::to_vec_pretty(cfg).unwrap()).unwrap();
        std::os::unix::fs::chown(&p, Some(self.uid), Some(self.gid)).unwrap();
    }

    /// `nsinit ARGS…` as the user, with a clean environment.
    fn nsinit(&self, args: &[&str]) -> Command {
        self.nsinit_path(args, "/usr/sbin:/usr/bin:/sbin:/bin")
    }

    fn nsinit_path(&self, args: &[&str], path: &str) -> Command {
        let mut c = Command::new("setpriv");
        c.args(["--reuid", &self.uid.to_string()])
            .args(["--regid", &self.gid.to_string()])
            .args(["--clear-groups", "env", "-i"])
            .arg(format!("PATH={path}"))
            .arg(format!("XDG_RUNTIME_DIR={}", self.xdg.0.display()))
            .arg(bin())
            .args(args)
            .current_dir(&self.dir.0)
            .stdin(Stdio::null());
        c
    }

    fn exec(&self, args: &[&str]) -> Output {
        let mut full = vec!["exec"];
        full.extend_from_slice(args);
        self.nsinit(&full).output().unwrap()
    }

    /// Nothing left: no record under `$XDG_RUNTIME_DIR/nsinit*`, no marker.
    fn assert_clean(&self) {
        for store in ["nsinit", "nsinit-oci"] {
            let p = self.xdg.0.join(store);
            let left: Vec<_> = std::fs::read_dir(&p)
                .map(|d| d.flatten().map(|e| e.file_name()).collect())
                .unwrap_or_default();
            assert!(left.is_empty(), "records left in {}: {left:?}", p.display());
        }
        assert!(!self.dir.0.join("state.json").exists(), "state.json left");
    }
}

/// base_config with a user namespace and no maps (the caller becomes root).
fn rootless_config() -> Value {
    let mut cfg = base_config();
    cfg["namespaces"]["NEWUSER"] = json!(true);
    cfg
}

/// The maps inside, one `inside outside count` per line, whitespace-normalised.
fn map_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn rootless_exec_maps_the_user_to_root_and_the_host_stays_closed() {
    let Some(rl) = Rootless::new("basic") else {
        return;
    };
    // A host file the user cannot write, in a directory bound writable into
    // the container: the container's root is the user, not root.
    let host = UserDir::new("basic-host", 0, 0, 0o755);
    let victim = host.0.join("victim");
    std::fs::write(&victim, "host\n").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut cfg = rootless_config();
    cfg["mount_config"]["mounts"] = json!([
        {"type": "tmpfs", "destination": "/tmp"},
        {"type": "bind", "source": host.0, "destination": "/mnt", "writable": true}
    ]);
    rl.write_config(&cfg);
    let script = "cat /proc/self/uid_map; echo --; cat /proc/self/gid_map; echo --; id -u; \
                  echo pwned > /mnt/victim && echo WROTE; chmod 666 /mnt/victim && echo CHMOD; \
                  echo x > /proc/sys/kernel/hostname && echo SYSCTL; \
                  ip link add dummy0 type dummy 2>/dev/null; hostname; echo done";
    let o = rl.exec(&["sh", "-c", script]);
    let text = ok(&o);
    let parts: Vec<&str> = text.split("--\n").collect();
    assert_eq!(parts.len(), 3, "{text}");
    assert_eq!(map_lines(parts[0]), [format!("0 {} 1", rl.uid)]);
    assert_eq!(map_lines(parts[1]), [format!("0 {} 1", rl.gid)]);
    let rest: Vec<&str> = parts[2].lines().collect();
    assert_eq!(rest[0], "0", "{text}");
    assert!(!text.contains("WROTE") && !text.contains("CHMOD"), "{text}");
    assert!(!text.contains("SYSCTL"), "/proc/sys writable: {text}");
    assert!(text.contains("koye\ndone"), "{text}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "host\n");
    let mode = std::fs::metadata(&victim).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    // The hybrid/v1 host has no delegated subtree: a note, not a failure.
    if std::path::Path::new("/sys/fs/cgroup/unified").exists() {
        assert!(
            err(&o).contains("no writable delegated cgroup v2 subtree"),
            "{}",
            err(&o)
        );
    }
    rl.assert_clean();
}

#[test]
fn rootless_range_through_newuidmap() {
    let Some(rl) = Rootless::new("range") else {
        return;
    };
    if !require_all(&["newuidmap", "newgidmap"]) {
        return;
    }
    let maps = json!([
        {"container_id": 0, "host_id": rl.uid, "size": 1},
        {"container_id": 1, "host_id": rl.sub, "size": 65536}
    ]);
    let gmaps = json!([
        {"container_id": 0, "host_id": rl.gid, "size": 1},
        {"container_id": 1, "host_id": rl.sub, "size": 65536}
    ]);
    let mut cfg = rootless_config();
    cfg["uid_mappings"] = maps;
    cfg["gid_mappings"] = gmaps;
    cfg["user"] = json!("1000:1000");
    rl.write_config(&cfg);
    let o = rl.exec(&[
        "sh",
        "-c",
        "cat /proc/self/uid_map; echo --; id -u; id -g; touch /tmp/f; stat -c %u /tmp/f",
    ]);
    let text = ok(&o);
    let (maps, ids) = text.split_once("--\n").unwrap();
    assert_eq!(
        map_lines(maps),
        [format!("0 {} 1", rl.uid), format!("1 {} 65536", rl.sub)]
    );
    assert_eq!(
        ids.lines().collect::<Vec<_>>(),
        ["1000", "1000", "1000"],
        "{text}"
    );
    rl.assert_clean();
}

#[test]
fn rootless_maps_without_helpers_or_rights_fail_clearly() {
    let Some(rl) = Rootless::new("fail") else {
        return;
    };
    let mut cfg = rootless_config();
    cfg["uid_mappings"] = json!([{"container_id": 0, "host_id": rl.uid, "size": 1},
                                 {"container_id": 1, "host_id": rl.sub, "size": 10}]);
    cfg["gid_mappings"] = json!([{"container_id": 0, "host_id": rl.gid, "size": 1}]);
    rl.write_config(&cfg);
    // No newuidmap in PATH.
    let o = rl
        .nsinit_path(&["exec", "true"], "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(125), "{}", err(&o));
    let e = err(&o);
    assert!(
        e.contains("`newuidmap`: not found in PATH") && e.contains("uidmap"),
        "{e}"
    );
    rl.assert_clean();
    // A range the user has no /etc/subuid entry for.
    cfg["uid_mappings"][1]["host_id"] = json!(rl.sub + 65536 * 64);
    rl.write_config(&cfg);
    if require("newuidmap") {
        let o = rl.exec(&["true"]);
        assert_eq!(o.status.code(), Some(125), "{}", err(&o));
        assert!(
            err(&o).contains("newuidmap refused the uid maps"),
            "{}",
            err(&o)
        );
        rl.assert_clean();
    }
    // Without a PID namespace, without a user namespace, with a veth: refused
    // before anything is made.
    let mut no_pid = rootless_config();
    no_pid["namespaces"]["NEWPID"] = json!(false);
    let mut no_user = base_config();
    no_user["cgroups"] = json!(null);
    let mut veth = rootless_config();
    veth["networks"] = json!([{"type": "veth", "bridge": "docker0", "prefix": "rl",
                               "address": "172.17.0.99/16", "mtu": 1500}]);
    for (cfg, want) in [
        (no_pid, "needs a PID namespace"),
        (no_user, "needs a user namespace"),
        (veth, "veth and bridge networks need root"),
    ] {
        rl.write_config(&cfg);
        let o = rl.exec(&["true"]);
        assert_eq!(o.status.code(), Some(125), "{want}: {}", err(&o));
        assert!(err(&o).contains(want), "{want}: {}", err(&o));
        rl.assert_clean();
    }
}

/// Spawn `nsinit exec ARGS…` as the user; returns once state.json exists.
fn spawn(rl: &Rootless, args: &[&str]) -> Child {
    let mut full = vec!["exec"];
    full.extend_from_slice(args);
    let child = rl
        .nsinit(&full)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let marker = rl.dir.0.join("state.json");
    wait_until(Duration::from_secs(10), "state.json", || marker.exists());
    child
}

#[test]
fn rootless_join_enters_the_user_namespace_first() {
    let Some(rl) = Rootless::new("join") else {
        return;
    };
    rl.write_config(&rootless_config());
    let tag = format!("31{}", std::process::id() % 100_000);
    let mut child = spawn(&rl, &["sleep", &tag]);
    let probe = "cat /proc/self/uid_map; id -u; ps -o comm | grep -c sleep";
    let want = |text: &str| {
        let lines: Vec<String> = map_lines(text);
        assert_eq!(
            lines,
            [format!("0 {} 1", rl.uid), "0".into(), "1".into()],
            "{text}"
        );
    };
    // A second `nsinit exec` joins.
    want(&ok(&rl.exec(&["sh", "-c", probe])));
    // nsinit-join by directory and by PID.
    let dir = rl.dir.0.to_string_lossy().into_owned();
    want(&ok(&rl
        .nsinit(&["join", "--root", &dir, "--", "sh", "-c", probe])
        .output()
        .unwrap()));
    let st: Value =
        serde_json::from_slice(&std::fs::read(rl.dir.0.join("state.json")).unwrap()).unwrap();
    let pid = st["init_pid"].as_i64().unwrap().to_string();
    want(&ok(&rl
        .nsinit(&["join", "-t", &pid, "-a", "--", "sh", "-c", probe])
        .output()
        .unwrap()));
    // The init dies; everything goes.
    let _ = Command::new("kill").args(["-KILL", &pid]).status();
    let status = wait_child(&mut child, Duration::from_secs(10));
    assert!(!status.success());
    assert!(processes_running(&format!("sleep {tag}")).is_empty());
    rl.assert_clean();
}

/// With `--init` PID 1 is nsinit's own shim, which never execs: it must not
/// stay closed to the user who runs the container (non-dumpable). Before,
/// `state` read a live container as stopped whenever its namespaces had been
/// recorded, and a second `exec` then tore it down and started another; when
/// they had not, the join failed on `/proc/PID/ns/user` (EACCES).
#[test]
fn rootless_init_shim_is_running_and_joined_not_replaced() {
    let Some(rl) = Rootless::new("shim") else {
        return;
    };
    rl.write_config(&rootless_config());
    let tag = format!("32{}", std::process::id() % 100_000);
    let mut child = spawn(&rl, &["--init", "sleep", &tag]);
    let state = rl.nsinit(&["state"]).output().unwrap();
    let joined = rl.exec(&["sh", "-c", "ps -o comm | grep -c sleep; id -u"]);
    let alive = child.try_wait().unwrap().is_none();
    // Stop it whatever the checks say (a failed run leaves nothing behind).
    let _ = rl.nsinit(&["kill", "KILL"]).output();
    let _ = Command::new("pkill")
        .args(["-KILL", "-f", &format!("sleep {tag}")])
        .status();
    let status = wait_child(&mut child, Duration::from_secs(10));
    let st: Value = serde_json::from_str(&ok(&state)).unwrap();
    assert_eq!(st["status"], json!("running"), "{st}");
    assert_eq!(
        map_lines(&ok(&joined)),
        ["1", "0"],
        "joined the running container"
    );
    assert!(alive, "the container was torn down by the join");
    assert!(!status.success());
    assert!(processes_running(&format!("sleep {tag}")).is_empty());
    rl.assert_clean();
}

#[test]
fn rootless_tty_shows_a_prompt() {
    let Some(rl) = Rootless::new("tty") else {
        return;
    };
    if !require("tmux") {
        return;
    }
    let mut cfg = rootless_config();
    cfg["tty"] = json!(true);
    cfg["environment"] = json!(["PATH=/bin:/sbin:/usr/bin", "PS1=rl-prompt# ", "TERM=xterm"]);
    rl.write_config(&cfg);
    let sock = format!("nsinit-rl-tty-{}", std::process::id());
    let cmd = format!(
        "cd {dir} && setpriv --reuid {u} --regid {g} --clear-groups env -i PATH=/usr/bin:/bin \
         XDG_RUNTIME_DIR={xdg} {bin} exec sh; echo exited=$?; sleep 30",
        dir = rl.dir.0.display(),
        u = rl.uid,
        g = rl.gid,
        xdg = rl.xdg.0.display(),
        bin = bin().display()
    );
    tmux_session(&sock, 100, 30, &cmd);
    wait_pane(&sock, "t.0", "rl-prompt#");
    tmux(
        &sock,
        &[
            "send-keys",
            "-t",
            "t.0",
            "tty; cat /proc/self/uid_map; exit 7",
            "Enter",
        ],
    );
    let text2 = wait_pane(&sock, "t.0", "exited=7");
    tmux(&sock, &["kill-server"]);
    assert!(
        text2.contains("/dev/pts/") || text2.contains("/dev/console"),
        "{text2}"
    );
    assert!(
        map_lines(&text2).contains(&format!("0 {} 1", rl.uid)),
        "{text2}"
    );
    rl.assert_clean();
}

/// A bundle for `nsinit-oci spec --rootless`, written by the user.
fn oci_bundle(rl: &Rootless) -> PathBuf {
    let bundle = rl.dir.0.clone();
    std::os::unix::fs::symlink(rootfs(), bundle.join("rootfs")).unwrap();
    ok(&rl.nsinit(&["oci", "spec", "--rootless"]).output().unwrap());
    bundle
}

fn edit_config(bundle: &Path, f: impl FnOnce(&mut Value)) {
    let p = bundle.join("config.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
}

#[test]
fn rootless_oci_run_exec_and_delete() {
    let Some(rl) = Rootless::new("oci") else {
        return;
    };
    let bundle = oci_bundle(&rl);
    let id = format!("rl-oci-{}", std::process::id());
    edit_config(&bundle, |v| {
        v["process"]["terminal"] = json!(false);
        v["process"]["args"] = json!([
            "sh",
            "-c",
            "cat /proc/self/uid_map; id -u; echo x > /proc/sys/kernel/hostname || echo RO"
        ]);
    });
    // Default --root: $XDG_RUNTIME_DIR/nsinit-oci.
    let o = rl.nsinit(&["oci", "run", &id]).output().unwrap();
    let text = ok(&o);
    assert_eq!(
        map_lines(&text),
        [format!("0 {} 1", rl.uid), "0".into(), "RO".into()],
        "{text}"
    );
    rl.assert_clean();
    edit_config(&bundle, |v| v["process"]["args"] = json!(["sleep", "1000"]));
    // Detached, the container keeps our stdio: let it have none.
    let st = rl
        .nsinit(&["oci", "run", "--detach", &id])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let store = rl.xdg.0.join("nsinit-oci");
    assert!(store.join(&id).is_file(), "the record's lock file");
    assert!(store.join(format!("{id}:state.json")).is_file());
    let o = rl
        .nsinit(&[
            "oci",
            "exec",
            &id,
            "sh",
            "-c",
            "cat /proc/self/uid_map; id -u",
        ])
        .output()
        .unwrap();
    assert_eq!(map_lines(&ok(&o)), [format!("0 {} 1", rl.uid), "0".into()]);
    ok(&rl
        .nsinit(&["oci", "delete", "--force", &id])
        .output()
        .unwrap());
    rl.assert_clean();
}

/// A cgroup v2 subtree delegated to the user (systemd's `Delegate=yes`
/// contract: the directory and its cgroup.procs, cgroup.subtree_control and
/// cgroup.threads chowned), with a `launch` leaf for the user's shell;
/// removed on drop.
struct Delegated(PathBuf);

impl Drop for Delegated {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(self.0.join("launch"));
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn rootless_uses_a_delegated_cgroup_v2_subtree() {
    let Some(rl) = Rootless::new("deleg") else {
        return;
    };
    let mnt = match nsinit::cgroup::Layout::detect() {
        Ok(l) if l.v1.is_empty() && l.unified.is_some() => l.unified.unwrap().mount_point,
        _ => {
            not_applicable(
                "a delegated cgroup v2 subtree needs a cgroup-v2-only host (`make test-vm`)",
            );
            return;
        }
    };
    let name = format!("nsinit-deleg-{}", std::process::id());
    let d = Delegated(mnt.join(&name));
    std::fs::create_dir(&d.0).unwrap();
    std::fs::write(mnt.join("cgroup.subtree_control"), "+memory +pids").unwrap();
    std::fs::write(d.0.join("cgroup.subtree_control"), "+memory +pids").unwrap();
    std::fs::create_dir(d.0.join("launch")).unwrap();
    for p in [
        "",
        "cgroup.procs",
        "cgroup.subtree_control",
        "cgroup.threads",
        "launch",
        "launch/cgroup.procs",
    ] {
        std::os::unix::fs::chown(d.0.join(p), Some(rl.uid), Some(rl.gid)).unwrap();
    }
    let mut cfg = rootless_config();
    cfg["cgroups"]["name"] = json!("rl-deleg");
    cfg["cgroups"]["parent"] = json!(format!("/{name}"));
    cfg["cgroups"]["memory"] = json!(32 << 20);
    cfg["cgroups"]["pids_limit"] = json!(64);
    rl.write_config(&cfg);
    let script =
        "cat /proc/self/cgroup; x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived";
    let user = rl.nsinit(&["exec", "sh", "-c", script]);
    // The user's shell sits in the delegated subtree, as under systemd.
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > {}/launch/cgroup.procs && exec \"$@\"",
            d.0.display()
        ))
        .arg("sh")
        .arg(user.get_program())
        .args(user.get_args())
        .current_dir(&rl.dir.0)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = out(&o);
    assert!(!err(&o).contains("no writable delegated"), "{}", err(&o));
    assert!(
        text.contains(&format!("0::/{name}/rl-deleg\n")),
        "in its leaf of the delegated subtree: {text}\n{}",
        err(&o)
    );
    assert!(!text.contains("survived"), "the 32 MiB limit holds: {text}");
    let events = std::fs::read_to_string(d.0.join("memory.events")).unwrap();
    assert!(
        events
            .lines()
            .any(|l| l.strip_prefix("oom_kill ").is_some_and(|n| n != "0")),
        "{events}"
    );
    assert!(!d.0.join("rl-deleg").exists(), "the leaf is removed");
    rl.assert_clean();
}

/// Without a network namespace of its own the rootless container cannot
/// mount a sysfs: the host's /sys is bound in instead, and every mount below
/// it (cgroupfs, tracefs, …) is read-only too, not only the top.
#[test]
fn rootless_host_sys_is_read_only_all_the_way_down() {
    let Some(rl) = Rootless::new("sysro") else {
        return;
    };
    let mut cfg = rootless_config();
    cfg["namespaces"]["NEWNET"] = json!(false);
    cfg.as_object_mut().unwrap().remove("networks");
    rl.write_config(&cfg);
    let o = rl.exec(&["cat", "/proc/self/mountinfo"]);
    let text = ok(&o);
    let sys: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.split(' ')
                .nth(4)
                .is_some_and(|m| m == "/sys" || m.starts_with("/sys/"))
        })
        .collect();
    assert!(sys.len() > 1, "the host's /sys and its submounts: {text}");
    for line in &sys {
        let opts = line.split(' ').nth(5).unwrap_or("");
        assert!(
            opts.split(',').any(|o| o == "ro"),
            "writable under /sys: {line}"
        );
    }
    rl.assert_clean();
}

/// podman `--read-only` rootless: `tmpcopyup` copies what the tmpfs covers
/// in the user namespace too; a device node there cannot be made in one
/// (nor used on its nodev mounts) and is left out instead of failing.
#[test]
fn rootless_tmpcopyup_copies_and_leaves_device_nodes_out() {
    let Some(rl) = Rootless::new("copyup") else {
        return;
    };
    let bundle = rl.dir.0.clone();
    let root = bundle.join("rootfs");
    let cp = Command::new("cp")
        .arg("-a")
        .arg(rootfs())
        .arg(&root)
        .status();
    assert!(cp.unwrap().success());
    let run = root.join("run");
    let _ = std::fs::remove_dir_all(&run);
    std::fs::create_dir_all(run.join("sub")).unwrap();
    std::fs::write(run.join("sub/file"), "kept\n").unwrap();
    let mknod = Command::new("mknod")
        .arg(run.join("null"))
        .args(["c", "1", "3"])
        .status();
    assert!(mknod.unwrap().success());
    ok(&rl.nsinit(&["oci", "spec", "--rootless"]).output().unwrap());
    let id = format!("rl-cu-{}", std::process::id());
    edit_config(&bundle, |v| {
        v["process"]["terminal"] = json!(false);
        v["process"]["args"] = json!(["sh", "-c", "cat /run/sub/file; ls -A /run"]);
        v["root"]["readonly"] = json!(true);
        v["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/run", "type": "tmpfs", "source": "tmpfs",
            "options": ["nosuid", "nodev", "tmpcopyup"]}));
    });
    let o = rl.nsinit(&["oci", "run", &id]).output().unwrap();
    assert_eq!(ok(&o), "kept\nsub\n");
    rl.assert_clean();
}
