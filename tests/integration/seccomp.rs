//! seccomp profiles (`"seccomp"` in container.json, issue 15): denied calls
//! fail with the configured errno while the rest of the container works,
//! KILL_PROCESS ends it with SIGSYS, joined processes run under the same
//! filter, and the container cannot slip past it through the i386 or x32
//! system-call ABIs (an attacker binary in tests/attack/seccomp_abi.c).

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::*;

/// A deny-list profile: everything allowed but these rules.
fn deny(rules: Value, arches: &[&str]) -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": arches,
        "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
        "syscalls": rules
    })
}

fn denied_unshare_mkdir() -> Value {
    deny(
        json!([
            {"names": ["unshare"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
        ]),
        &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    )
}

/// A container whose /mnt holds the attacker binary, with `extra` merged
/// into the base config.
fn with_attacker(name: &str, extra: Value) -> Container {
    let c = Container::new(name, &base_config());
    let dir = c.dir.join("bin");
    std::fs::create_dir(&dir).unwrap();
    crate::common::attack_binary("seccomp_abi", &dir.join("seccomp_abi"));
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

/// `getpid=N unshare=M` from the attacker.
fn abi_result(o: &Output) -> (i64, i64) {
    let text = out(o);
    let field = |k: &str| -> i64 {
        let v = text.split_whitespace().find_map(|w| w.strip_prefix(k));
        v.and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {k} in {text:?} (stderr {})", err(o)))
    };
    (field("getpid="), field("unshare="))
}

const SCRIPT: &str = "mkdir /tmp/x; echo mkdir=$?; ls / >/dev/null && echo ls-ok; \
                      ps >/dev/null && echo ps-ok; grep Seccomp: /proc/self/status";

#[test]
fn denied_calls_fail_with_the_configured_errno_and_the_rest_works() {
    if !can_run() {
        return;
    }
    // Control: without the profile the attacker's unshare and mkdir work.
    let c = with_attacker("seccomp-errno", json!({}));
    let o = c.exec(&["/mnt/seccomp_abi", "native"]);
    assert_eq!(
        abi_result(&o).1,
        0,
        "unshare(CLONE_NEWUSER) without a filter"
    );
    let o = c.exec(&["sh", "-c", SCRIPT]);
    assert!(ok(&o).contains("mkdir=0"), "{}", out(&o));
    // With it, with and without no_new_privileges (installed late, or
    // before the capability drop).
    for nnp in [false, true] {
        let c = with_attacker(
            "seccomp-errno",
            json!({"seccomp": denied_unshare_mkdir(), "no_new_privileges": nnp}),
        );
        let o = c.exec(&["/mnt/seccomp_abi", "native"]);
        assert_eq!(abi_result(&o).1, -1, "unshare → EPERM (nnp {nnp})");
        let o = c.exec(&["sh", "-c", SCRIPT]);
        let text = ok(&o);
        assert!(text.contains("mkdir=1"), "{text}");
        assert!(
            err(&o).contains("Function not implemented"),
            "mkdir's errno 38: {}",
            err(&o)
        );
        assert!(text.contains("ls-ok") && text.contains("ps-ok"), "{text}");
        assert!(text.contains("Seccomp:\t2"), "{text}");
    }
}

#[test]
fn kill_process_ends_the_container_with_sigsys() {
    if !can_run() {
        return;
    }
    let profile = deny(
        json!([{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}]),
        &[],
    );
    let mut cfg = base_config();
    cfg["seccomp"] = profile;
    let c = Container::new("seccomp-kill", &cfg);
    let o = c.exec(&["sh", "-c", "echo before; exec mkdir /tmp/x"]);
    assert_eq!(o.status.code(), Some(159), "{}{}", out(&o), err(&o));
    assert_eq!(out(&o), "before\n");
}

#[test]
fn joined_processes_run_under_the_same_filter() {
    if !can_run() {
        return;
    }
    let mut cfg = base_config();
    cfg["seccomp"] = denied_unshare_mkdir();
    let c = Container::new("seccomp-join", &cfg);
    let mut first = c.spawn(&["sleep", "60"]);
    let o = c.exec(&["sh", "-c", SCRIPT]);
    let text = ok(&o);
    assert!(
        text.contains("mkdir=1") && text.contains("Seccomp:\t2"),
        "{text}"
    );
    assert!(err(&o).contains("Function not implemented"), "{}", err(&o));
    let _ = Command::new("kill")
        .args(["-9", &c.init_pid().to_string()])
        .status();
    wait_child(&mut first, Duration::from_secs(10));
}

#[test]
fn other_abis_cannot_slip_past_the_filter() {
    if !can_run() {
        return;
    }
    // Listed: the same rule holds through every ABI; getpid still works.
    // The rule compares the flags: a 64-bit process entering through
    // `int 0x80` can set the upper half of rbx, which the kernel reports to
    // the filter but the i386 call ignores ("i386-hi").
    let newuser = deny(
        json!([{"names": ["unshare"], "action": "SCMP_ACT_ERRNO",
                "args": [{"index": 0, "value": 0x1000_0000u64, "op": "SCMP_CMP_EQ"}]}]),
        &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    );
    let c = with_attacker("seccomp-abi", json!({"seccomp": newuser}));
    for abi in ["native", "i386", "i386-hi", "x32"] {
        let o = c.exec(&["/mnt/seccomp_abi", abi]);
        let (pid, unshare) = abi_result(&o);
        assert_eq!(unshare, -1, "{abi}: unshare must fail with EPERM");
        if abi != "x32" {
            // (x32 getpid is ENOSYS on kernels without the x32 ABI.)
            assert!(pid > 0, "{abi}: getpid {pid}");
        }
    }
    // Not listed: a call through i386 or x32 kills the process, even one
    // the profile allows.
    let only64 = deny(
        json!([{"names": ["unshare"], "action": "SCMP_ACT_ERRNO"}]),
        &["SCMP_ARCH_X86_64"],
    );
    let c = with_attacker("seccomp-abi64", json!({"seccomp": only64}));
    let o = c.exec(&["/mnt/seccomp_abi", "native"]);
    assert_eq!(
        abi_result(&o),
        (1, -1),
        "native getpid in a PID namespace is 1"
    );
    for abi in ["i386", "x32"] {
        let o = c.exec(&["/mnt/seccomp_abi", abi]);
        assert_eq!(o.status.code(), Some(159), "{abi}: {}{}", out(&o), err(&o));
        assert_eq!(out(&o), "", "{abi}: nothing printed before the kill");
    }
}

#[test]
fn bad_profiles_are_refused_before_anything_runs() {
    if !can_run() {
        return;
    }
    let mut cfg = base_config();
    cfg["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_NOPE"},
        {"names": ["write"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 7, "value": 1, "op": "SCMP_CMP_EQ"}]}
    ]});
    let c = Container::new("seccomp-bad", &cfg);
    let o = c.exec(&["true"]);
    assert_eq!(o.status.code(), Some(125));
    let e = err(&o);
    assert!(
        e.contains("container.json: seccomp.syscalls[0].action: expected SCMP_ACT_ALLOW"),
        "{e}"
    );
    assert!(
        e.contains(
            "seccomp.syscalls[1].args[0].index: expected an argument index from 0 to 5, got 7"
        ),
        "{e}"
    );
}

#[test]
fn default_profile_sample_runs_a_shell_and_denies_unshare() {
    if !can_run() {
        return;
    }
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_configs/seccomp-default.json");
    let sample: Value = serde_json::from_slice(&std::fs::read(sample).unwrap()).unwrap();
    let c = with_attacker(
        "seccomp-default",
        json!({"seccomp": sample["seccomp"].clone()}),
    );
    let script = "ls /bin >/dev/null && ps >/dev/null && echo ok; grep Seccomp: /proc/self/status";
    let text = ok(&c.exec(&["sh", "-c", script]));
    assert!(text.contains("ok\nSeccomp:\t2\n"), "{text}");
    // unshare is not in the default allow-list (it works without a filter:
    // see the errno test's control).
    let o = c.exec(&["/mnt/seccomp_abi", "native"]);
    assert_eq!(abi_result(&o), (1, -1));
    let o = c.exec(&["/mnt/seccomp_abi", "i386"]);
    assert_eq!(abi_result(&o), (1, -1));
}
