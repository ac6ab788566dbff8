//! `nsinit-oci spec` (runc's default config.json) and `features` (what this
//! build supports, as the runtime-spec features document).

use serde_json::{Value, json};

use crate::config::CAPABILITY_NAMES;
use crate::config::mount_options::{self, Opt, lookup};

/// runc's default spec: busybox-friendly `sh` on a terminal, the usual
/// mounts, masked and read-only paths, a deny-all device rule.
const DEFAULT_SPEC: &str = r#"{
"ociVersion":"1.2.0",
"process":{"terminal":true,"user":{"uid":0,"gid":0},"args":["sh"],
"env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","TERM=xterm"],
"cwd":"/",
"capabilities":{"bounding":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"],
"effective":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"],
"permitted":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"]},
"rlimits":[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}],
"noNewPrivileges":true},
"root":{"path":"rootfs","readonly":true},
"hostname":"runc",
"mounts":[
{"destination":"/proc","type":"proc","source":"proc"},
{"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]},
{"destination":"/dev/pts","type":"devpts","source":"devpts","options":["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620","gid=5"]},
{"destination":"/dev/shm","type":"tmpfs","source":"shm","options":["nosuid","noexec","nodev","mode=1777","size=65536k"]},
{"destination":"/dev/mqueue","type":"mqueue","source":"mqueue","options":["nosuid","noexec","nodev"]},
{"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]},
{"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["nosuid","noexec","nodev","relatime","ro"]}],
"linux":{"resources":{"devices":[{"allow":false,"access":"rwm"}]},
"namespaces":[{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"cgroup"}],
"maskedPaths":["/proc/acpi","/proc/asound","/proc/kcore","/proc/keys","/proc/latency_stats","/proc/timer_list",
"/proc/timer_stats","/proc/sched_debug","/sys/firmware","/proc/scsi","/sys/devices/virtual/powercap"],
"readonlyPaths":["/proc/bus","/proc/fs","/proc/irq","/proc/sys","/proc/sysrq-trigger"]}
}"#;

/// The default config.json; `rootless` makes it runnable by the calling
/// user: a user namespace mapping them to root, no network namespace or
/// cgroup limits, /sys bound from the host, no gid=5 on devpts.
pub fn default_spec(rootless: bool) -> Value {
    let mut spec: Value = serde_json::from_str(DEFAULT_SPEC).unwrap_or_default();
    if !rootless {
        return spec;
    }
    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    let linux = &mut spec["linux"];
    linux["namespaces"] = json!([{"type":"pid"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"cgroup"},{"type":"user"}]);
    linux["uidMappings"] = json!([{"containerID": 0, "hostID": uid, "size": 1}]);
    linux["gidMappings"] = json!([{"containerID": 0, "hostID": gid, "size": 1}]);
    if let Some(obj) = linux.as_object_mut() {
        obj.remove("resources");
    }
    if let Some(mounts) = spec["mounts"].as_array_mut() {
        mounts.retain(|m| m["destination"] != "/sys/fs/cgroup");
        for m in mounts.iter_mut() {
            if m["destination"] == "/sys" {
                *m = json!({"destination":"/sys","type":"none","source":"/sys",
                    "options":["rbind","nosuid","noexec","nodev","ro"]});
            } else if let Some(opts) = m["options"].as_array_mut() {
                opts.retain(|o| o != "gid=5");
            }
        }
    }
    spec
}

const FEATURES: &str = r#"{
"ociVersionMin":"1.0.0","ociVersionMax":"1.2.0",
"hooks":["prestart","createRuntime","createContainer","startContainer","poststart","poststop"],
"linux":{"namespaces":["cgroup","ipc","mount","network","pid","time","user","uts"],
"cgroup":{"v1":true,"v2":true,"systemd":false,"systemdUser":false,"rdma":true},
"seccomp":{"enabled":true,"actions":["SCMP_ACT_ALLOW","SCMP_ACT_ERRNO","SCMP_ACT_KILL","SCMP_ACT_KILL_PROCESS","SCMP_ACT_KILL_THREAD","SCMP_ACT_LOG","SCMP_ACT_NOTIFY","SCMP_ACT_TRACE","SCMP_ACT_TRAP"],"operators":["SCMP_CMP_EQ","SCMP_CMP_GE","SCMP_CMP_GT","SCMP_CMP_LE","SCMP_CMP_LT","SCMP_CMP_MASKED_EQ","SCMP_CMP_NE"],"archs":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32","SCMP_ARCH_AARCH64"]},"apparmor":{"enabled":false},"selinux":{"enabled":false},
"intelRdt":{"enabled":false},"mountExtensions":{"idmap":{"enabled":true}}}
}"#;

/// The runtime-spec features document: only what this build implements.
pub fn features() -> Value {
    let mut f: Value = serde_json::from_str(FEATURES).unwrap_or_default();
    let mount_options: Vec<&str> = mount_options::names()
        .filter(|o| lookup(o) != Some(Opt::Unsupported))
        .collect();
    f["mountOptions"] = json!(mount_options);
    let caps: Vec<String> = CAPABILITY_NAMES
        .iter()
        .map(|c| format!("CAP_{c}"))
        .collect();
    f["linux"]["capabilities"] = json!(caps);
    f["linux"]["memoryPolicy"] = json!({
        "modes": crate::sched::names(crate::sched::MPOL_MODES),
        "flags": crate::sched::names(crate::sched::MPOL_FLAGS),
    });
    f["annotations"] = json!({"org.nsinit.version": env!("CARGO_PKG_VERSION")});
    f
}
