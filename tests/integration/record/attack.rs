//! Issue 11.1, as the container: forge the state (a), plant links and
//! special files where the host writes or reads (b), rewrite container.json
//! for the next start (c).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use super::{Layout, fails_within, ok_within, run_within, state_of, tag, until};
use crate::common::{self, can_run, proc_state, require};
use nsinit::container::state::start_time;

/// Host things a forged state could name: a process (by PID and start
/// time), a host link, and a pids and a freezer cgroup with that process
/// in them.
struct Victim {
    child: Child,
    pid: i32,
    start: String,
    link: String,
    cgroups: Vec<PathBuf>,
}

impl Victim {
    fn new() -> Victim {
        let t = tag("victim");
        let child = Command::new("sleep")
            .arg("1000")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let n = t.trim_start_matches("nsrec").split('-').next().unwrap();
        let link = format!("nsrv{}x{n}", std::process::id() % 100_000);
        let mut v = Victim {
            child,
            pid,
            start: start_time(pid).unwrap_or_default(),
            link: link.clone(),
            cgroups: Vec::new(),
        };
        // A veth pair: the kind of link nsinit deletes at teardown.
        let st = Command::new("ip")
            .args([
                "link",
                "add",
                &link,
                "type",
                "veth",
                "peer",
                "name",
                &format!("{link}p"),
            ])
            .status()
            .unwrap();
        assert!(st.success(), "ip link add {link}");
        // v1 hierarchies, or the unified hierarchy on a v2-only host.
        let ctls: &[&str] = if Path::new("/sys/fs/cgroup/pids").is_dir() {
            &["pids", "freezer"]
        } else {
            &[""]
        };
        for ctl in ctls {
            let d = Path::new("/sys/fs/cgroup").join(ctl).join(&t);
            std::fs::create_dir(&d).unwrap();
            v.cgroups.push(d.clone());
            std::fs::write(d.join("cgroup.procs"), pid.to_string()).unwrap();
        }
        v
    }

    fn cgroup(&self, ctl: &str) -> &Path {
        self.cgroups
            .iter()
            .find(|d| d.starts_with(format!("/sys/fs/cgroup/{ctl}")))
            // v2-only: one unified directory holds every controller.
            .or(self.cgroups.first())
            .unwrap()
    }

    /// What a forged state names: this victim as init and supervisor, its
    /// cgroups, its link; in the record's shape and libcontainer's keys.
    fn forged(&self, dir: &Path) -> Value {
        let paths = json!({"pids": self.cgroup("pids"), "freezer": self.cgroup("freezer")});
        json!({
            "dir": dir, "rootfs": dir, "status": "running", "created": 1, "tty": false,
            "init_pid": self.pid, "init_start_time": self.start,
            "nsinit_pid": self.pid, "nsinit_start_time": self.start,
            "namespaces": {},
            "namespace_paths": {"NEWPID": format!("/proc/{}/ns/pid", self.pid)},
            "cgroup": {"paths": paths, "created": self.cgroups},
            "cgroup_paths": paths,
            "network_state": {"veth_host": self.link, "veth_child": "eth0",
                "interfaces": [{"host": self.link, "child": "eth0", "container_name": "eth0"}]}
        })
    }

    /// The victim lives (same start time), in its cgroups, not frozen, and
    /// its link exists.
    fn assert_untouched(&self, when: &str) {
        assert_eq!(
            start_time(self.pid).as_deref(),
            Some(self.start.as_str()),
            "{when}: the victim process {} was killed",
            self.pid
        );
        assert_eq!(proc_state(self.pid), Some('S'), "{when}: victim state");
        for d in &self.cgroups {
            let procs = std::fs::read_to_string(d.join("cgroup.procs"))
                .unwrap_or_else(|e| panic!("{when}: victim cgroup {}: {e}", d.display()));
            assert!(
                procs.lines().any(|l| l == self.pid.to_string()),
                "{when}: the victim left {}",
                d.display()
            );
        }
        let dir = self.cgroup("freezer");
        let thawed = match std::fs::read_to_string(dir.join("freezer.state")) {
            Ok(v1) => v1.trim() == "THAWED",
            // v2: cgroup.freeze is 0 unless frozen.
            Err(_) => {
                std::fs::read_to_string(dir.join("cgroup.freeze")).is_ok_and(|v| v.trim() == "0")
            }
        };
        assert!(thawed, "{when}: victim cgroup frozen");
        let st = Command::new("ip")
            .args(["link", "show", &self.link])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(
            st.success(),
            "{when}: the victim link {} was deleted",
            self.link
        );
    }
}

impl Drop for Victim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for d in &self.cgroups {
            let _ = std::fs::remove_dir(d);
        }
        let _ = Command::new("ip")
            .args(["link", "del", &self.link])
            .status();
    }
}

/// Issue 11.1a: the container rewrites /state.json (the marker in its own
/// `/`) and a record-shaped file where it guesses the record lives, naming
/// a host process, host cgroups and a host link. Every host-side command
/// acts on the real container, and nothing of the victim's is touched —
/// also by the next start, which finds the forged marker left behind.
#[test]
fn issue_11_1a_a_forged_state_never_reaches_the_host() {
    if !can_run() || !require("ip") {
        return;
    }
    let victim = Victim::new();
    let l = Layout::new("forge", |_| {});
    let forged = victim.forged(&l.dir).to_string();
    let key = l
        .record()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let script = "trap 'echo usr1 >> /got-usr1' USR1
        printf %s \"$FORGED\" > /state.json.new && mv /state.json.new /state.json
        mkdir -p /run/nsinit && : > /run/nsinit/$KEY
        printf %s \"$FORGED\" > /run/nsinit/$KEY:state.json
        cp /container.json /run/nsinit/$KEY:container.json
        echo ready
        while :; do sleep 0.05; done";
    let fenv = format!("FORGED={forged}");
    let kenv = format!("KEY={key}");
    let mut r = l.start(&["-e", &fenv, "-e", &kenv, "sh", "-c", script, &l.tag]);
    let init = r.init();
    assert_ne!(init, victim.pid);
    // The forgery is in place where the container can write.
    let marker: Value = serde_json::from_slice(&std::fs::read(l.marker()).unwrap()).unwrap();
    assert_eq!(
        marker["init_pid"],
        json!(victim.pid),
        "the container forged its marker"
    );

    let st = state_of(&l.dir);
    assert_eq!(st["pid"], json!(init), "state names the real init: {st}");
    assert_eq!(st["status"], json!("running"), "{st}");
    assert!(
        !st.to_string()
            .contains(victim.cgroup("pids").to_str().unwrap()),
        "{st}"
    );

    ok_within(l.cmd(&["kill", "USR1"]));
    until("USR1 at the real PID 1", || l.dir.join("got-usr1").exists());

    let ps = ok_within(l.cmd(&["ps"]));
    let pids: Vec<&str> = ps
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(pids.contains(&init.to_string().as_str()), "ps: {ps}");
    assert!(!pids.contains(&victim.pid.to_string().as_str()), "ps: {ps}");

    ok_within(l.cmd(&["pause"]));
    // `pause` returns once the freezer says frozen; on v1 the task shows it.
    until("the real container paused", || {
        state_of(&l.dir)["status"] == json!("paused")
            && (!Path::new("/sys/fs/cgroup/freezer").is_dir()
                || proc_state(init).is_some_and(|s| "DT".contains(s)))
    });
    victim.assert_untouched("paused");
    ok_within(l.cmd(&["unpause"]));
    until("the real init thawed", || {
        proc_state(init).is_some_and(|s| !"DT".contains(s))
    });

    // Joins go into the real container: its hostname, its root.
    assert_eq!(ok_within(l.join(&["hostname"])), "rec\n");
    assert_eq!(ok_within(l.cmd(&["exec", "cat", "/got-usr1"])), "usr1\n");
    let stats: Value = serde_json::from_str(&ok_within(l.cmd(&["stats"]))).unwrap();
    assert!(
        stats["cgroups"]["pids"]["current"].as_u64() >= Some(1),
        "{stats}"
    );
    victim.assert_untouched("after state, kill, ps, pause, join, exec, stats");

    let e = fails_within(l.cmd(&["destroy"]), 125);
    assert!(e.contains("running"), "{e}");
    ok_within(l.cmd(&["destroy", "--force"]));
    assert_eq!(
        r.wait(),
        Some(137),
        "destroy --force killed the real container"
    );
    victim.assert_untouched("after destroy --force");
    assert_eq!(l.leftovers(), Vec::<String>::new());

    // The stale path: the forged marker and record-shaped file are left for
    // the next start (as a process outliving the container would).
    std::fs::write(l.marker(), &forged).unwrap();
    let fake = l.dir.join("run/nsinit").join(format!("{key}:state.json"));
    std::fs::write(&fake, &forged).unwrap();
    let o = run_within(l.cmd(&["exec", "true"]), std::time::Duration::from_secs(20));
    common::ok(&o);
    assert_eq!(common::err(&o), "", "the next start read the forgery");
    victim.assert_untouched("after the next start");
    assert_eq!(l.leftovers(), Vec::<String>::new());
}

/// Issue 11.1b: links and special files planted where the host writes the
/// marker (`.state.json.tmp`, `state.json`) or could read it: the host never
/// follows them, never reads the marker, and never blocks on it.
#[test]
fn issue_11_1b_planted_links_and_fifos_are_never_followed_or_read() {
    if !can_run() {
        return;
    }
    let l = Layout::new("plant", |_| {});
    let victim = std::env::temp_dir().join(format!("{}-victim", l.tag));
    std::fs::write(&victim, "precious\n").unwrap();
    let _rm = RemoveOnDrop(victim.clone());
    let untouched = |when: &str| {
        let meta = std::fs::symlink_metadata(&victim).unwrap();
        assert!(meta.is_file(), "{when}: victim replaced");
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap(),
            "precious\n",
            "{when}"
        );
    };
    let v = victim.to_str().unwrap();

    // The container plants host-pointing links, then exits.
    let script = "ln -s \"$1\" /.state.json.tmp && rm /state.json && ln -s \"$1\" /state.json \
                  && echo planted";
    let out = ok_within(l.cmd(&["exec", "sh", "-c", script, &l.tag, v]));
    assert_eq!(out, "planted\n");
    untouched("after a container planted links and exited");
    assert_eq!(
        l.leftovers(),
        Vec::<String>::new(),
        "teardown removes the plants"
    );

    // Left for the next start, whose marker write must replace, not follow.
    std::os::unix::fs::symlink(&victim, l.dir.join(".state.json.tmp")).unwrap();
    std::os::unix::fs::symlink(&victim, l.marker()).unwrap();
    let script = "rm /state.json && mkfifo /state.json && echo ready
        while [ ! -e /go ]; do sleep 0.02; done
        rm /state.json && ln -s /dev/zero /state.json && echo zero
        while :; do sleep 0.05; done";
    let mut r = l.start(&["sh", "-c", script, &l.tag]);
    untouched("after the next start wrote its marker");
    let init = r.init();
    for kind in ["a FIFO", "a link to /dev/zero"] {
        assert!(!l.marker().is_file(), "the marker is {kind}");
        // Each returns promptly: nothing opens or reads the marker.
        assert_eq!(state_of(&l.dir)["pid"], json!(init), "state, marker {kind}");
        assert_eq!(
            ok_within(l.cmd(&["exec", "hostname"])),
            "rec\n",
            "exec, {kind}"
        );
        assert_eq!(ok_within(l.join(&["hostname"])), "rec\n", "join, {kind}");
        assert!(
            ok_within(l.cmd(&["ps"])).contains(&init.to_string()),
            "ps, {kind}"
        );
        let list = ok_within(super::nsinit_in(&l.dir, &["list", "--format", "json"]));
        assert!(list.contains(&l.tag), "list, {kind}");
        std::fs::write(l.dir.join("go"), "").unwrap();
        if kind.starts_with("a FIFO") {
            assert_eq!(r.line(), "zero");
        }
    }
    ok_within(l.cmd(&["kill", "KILL"]));
    assert_eq!(r.wait(), Some(137));
    untouched("after the container ended");
    assert_eq!(l.leftovers(), Vec::<String>::new());

    // FIFOs left at both names do not hang the next start either.
    for name in ["state.json", ".state.json.tmp"] {
        rustix::fs::mknodat(
            rustix::fs::CWD,
            l.dir.join(name),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
    }
    assert_eq!(ok_within(l.cmd(&["exec", "hostname"])), "rec\n");
    assert_eq!(l.leftovers(), Vec::<String>::new());
}

struct RemoveOnDrop(PathBuf);
impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// CapEff of a process, from its /proc status text.
fn cap_eff(status: &str) -> u64 {
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .unwrap_or_else(|| panic!("no CapEff in {status}"));
    u64::from_str_radix(hex.trim(), 16).unwrap()
}

const CAP_SYS_MODULE: u64 = 1 << 16;
const CAP_SYS_ADMIN: u64 = 1 << 21;

/// The config a container would like for its next start: host `/` bound
/// read-write at /host, CAP_SYS_ADMIN and CAP_SYS_MODULE.
fn evil(cfg: &Value) -> Value {
    let mut e = cfg.clone();
    for cap in ["SYS_ADMIN", "SYS_MODULE"] {
        e["capabilities"].as_array_mut().unwrap().push(json!(cap));
    }
    e["mount_config"]["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "bind", "source": "/", "destination": "/host", "writable": true}));
    e
}

const PROBE: &str = "grep CapEff /proc/self/status; cat /proc/self/mountinfo";

/// CapEff and whether /host is a mount, from the output of [`PROBE`].
fn probe(out: &str) -> (u64, bool) {
    let host = out.lines().any(|l| l.split(' ').nth(4) == Some("/host"));
    (cap_eff(out), host)
}

/// Issue 11.1c: the container tries to rewrite /container.json (its own
/// config, in its own `/`) for a next start with host `/` and SYS_ADMIN:
/// every way fails, and the next start has the original capabilities and no
/// host mount. The probe is shown to see the attack when the admin writes
/// the same config. A link or FIFO at container.json is refused.
#[test]
fn issue_11_1c_the_container_cannot_rewrite_its_next_config() {
    if !can_run() {
        return;
    }
    let l = Layout::new("config", |_| {});
    let original = std::fs::read(l.config()).unwrap();
    let cfg: Value = serde_json::from_slice(&original).unwrap();
    let evil_text = serde_json::to_string(&evil(&cfg)).unwrap();
    let script =
        "try() { if eval \"$1\" 2>/dev/null; then echo \"BROKE: $1\"; else echo \"held: $1\"; fi; }
        try 'printf %s \"$EVIL\" > /container.json'
        try 'printf %s \"$EVIL\" >> /container.json'
        try 'rm -f /container.json'
        try 'mv /container.json /cj'
        try 'ln /container.json /cj'
        try 'chmod 666 /container.json'
        try 'touch /container.json'
        try 'mv /x /container.json'";
    std::fs::write(l.dir.join("x"), &evil_text).unwrap();
    let envv = format!("EVIL={evil_text}");
    let out = ok_within(l.cmd(&["exec", "-e", &envv, "sh", "-c", script, &l.tag]));
    assert_eq!(out.lines().count(), 8, "{out}");
    assert!(
        !out.contains("BROKE"),
        "the container changed container.json:\n{out}"
    );
    assert_eq!(
        std::fs::read(l.config()).unwrap(),
        original,
        "container.json changed"
    );

    let (caps, host) = probe(&ok_within(l.cmd(&["exec", "sh", "-c", PROBE])));
    assert_eq!(
        caps & (CAP_SYS_ADMIN | CAP_SYS_MODULE),
        0,
        "next start: {caps:#x}"
    );
    assert!(!host, "next start has host / at /host");
    assert!(caps != 0, "the probe reads CapEff");

    // The probe sees the attack when the config really says so.
    std::fs::write(l.config(), &evil_text).unwrap();
    let (evil_caps, evil_host) = probe(&ok_within(l.cmd(&["exec", "sh", "-c", PROBE])));
    assert_ne!(evil_caps & CAP_SYS_ADMIN, 0, "probe: {evil_caps:#x}");
    assert!(evil_host, "probe: /host");
    std::fs::write(l.config(), &original).unwrap();

    // A link at container.json (to a valid config) or a FIFO there.
    let real = std::env::temp_dir().join(format!("{}-real.json", l.tag));
    let _rm = RemoveOnDrop(real.clone());
    std::fs::rename(l.config(), &real).unwrap();
    std::os::unix::fs::symlink(&real, l.config()).unwrap();
    let e = fails_within(l.cmd(&["exec", "true"]), 125);
    assert!(
        e.contains("container.json") && e.contains("symbolic link"),
        "{e}"
    );
    assert_eq!(l.leftovers(), Vec::<String>::new());
    std::fs::remove_file(l.config()).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        l.config(),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let e = fails_within(l.cmd(&["exec", "true"]), 125);
    assert!(
        e.contains("container.json") && e.contains("not a regular file"),
        "{e}"
    );
    assert_eq!(l.leftovers(), Vec::<String>::new());
    std::fs::remove_file(l.config()).unwrap();
    std::fs::rename(&real, l.config()).unwrap();
    assert_eq!(ok_within(l.cmd(&["exec", "hostname"])), "rec\n");
}

/// Issue 11.1c, container directory below the rootfs's root (e.g.
/// `rootfs/etc/app`, `root_fs` "../.."): container.json is bound read-only,
/// but the container renames its parent directory away and puts a new
/// container.json in its place. The next start must not run with it.
#[test]
fn issue_11_1c_a_container_directory_inside_the_rootfs_cannot_be_swapped() {
    if !can_run() {
        return;
    }
    let l = Layout::new("subdir", |_| {});
    let cfg: Value = serde_json::from_slice(&std::fs::read(l.config()).unwrap()).unwrap();
    let sub = l.dir.join("etc/app");
    std::fs::create_dir_all(&sub).unwrap();
    let mut inner = cfg.clone();
    inner["root_fs"] = json!("../..");
    std::fs::write(sub.join("container.json"), inner.to_string()).unwrap();
    let evil_text = evil(&inner).to_string();
    let script = "mv /etc/app /etc/app.old && mkdir /etc/app \
                  && printf %s \"$EVIL\" > /etc/app/container.json; echo done";
    let envv = format!("EVIL={evil_text}");
    let o = run_within(
        super::nsinit_in(&sub, &["exec", "-e", &envv, "sh", "-c", script, &l.tag]),
        std::time::Duration::from_secs(20),
    );
    let o2 = run_within(
        super::nsinit_in(&sub, &["exec", "sh", "-c", PROBE]),
        std::time::Duration::from_secs(20),
    );
    let _ = std::fs::remove_dir_all(l.dir.join("etc/app.old"));
    if o.status.success() && o2.status.success() {
        let (caps, host) = probe(&common::out(&o2));
        assert_eq!(
            caps & CAP_SYS_ADMIN,
            0,
            "the swapped config was used: {caps:#x}"
        );
        assert!(!host, "the swapped config bound host / at /host");
    }
    assert_eq!(super::leftovers(&sub, &l.tag), Vec::<String>::new());
}

/// Issue 11.1c without a mount namespace: the container's root is the
/// container directory, chrooted, with nothing to bind container.json
/// read-only in; it rewrites it, and the next start must not run with it.
#[test]
fn issue_11_1c_without_a_mount_namespace_the_config_cannot_be_rewritten() {
    if !can_run() {
        return;
    }
    let l = Layout::new("nomntns", |c| {
        c["namespaces"]["NEWNS"] = json!(false);
        c["restrict_sys"] = json!(false);
        c["mount_config"] = json!({});
    });
    let mut cfg: Value = serde_json::from_slice(&std::fs::read(l.config()).unwrap()).unwrap();
    cfg["capabilities"]
        .as_array_mut()
        .unwrap()
        .push(json!("SYS_ADMIN"));
    let envv = format!("EVIL={cfg}");
    let o = run_within(
        l.cmd(&[
            "exec",
            "-e",
            &envv,
            "sh",
            "-c",
            "printf %s \"$EVIL\" > /container.json",
            &l.tag,
        ]),
        std::time::Duration::from_secs(20),
    );
    // No /proc inside: the host reads the next start's capabilities.
    let next = std::panic::catch_unwind(|| {
        let mut r = l.start(&["sh", "-c", "echo ready; read x", &l.tag]);
        let status = std::fs::read_to_string(format!("/proc/{}/status", r.init())).unwrap();
        drop(r.child.stdin.take());
        r.wait();
        cap_eff(&status)
    });
    if let (true, Ok(caps)) = (o.status.success(), next) {
        assert_eq!(
            caps & CAP_SYS_ADMIN,
            0,
            "the rewritten config was used: {caps:#x}"
        );
    }
    assert_eq!(l.leftovers(), Vec::<String>::new());
}
