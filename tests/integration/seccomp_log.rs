//! SCMP_ACT_LOG (issue 15): the call is allowed and the kernel writes an
//! audit record (type 1326, SECCOMP) for it, which without auditd reaches
//! the kernel log.

use std::time::Duration;

use serde_json::json;

use crate::common::*;

/// The kernel's SECCOMP audit records of a logged (code 0x7ffc0000) mkdir.
fn logged_mkdirs() -> usize {
    let o = std::process::Command::new("dmesg").output().unwrap();
    out(&o)
        .lines()
        .filter(|l| {
            l.contains("type=1326")
                && l.contains("code=0x7ffc0000")
                && (l.contains("syscall=83 ") || l.contains("syscall=258 "))
        })
        .count()
}

#[test]
fn log_action_allows_the_call_and_audits_it() {
    if !can_run() || !require("dmesg") {
        return;
    }
    let logged = std::fs::read_to_string("/proc/sys/kernel/seccomp/actions_logged");
    if !logged.is_ok_and(|l| l.split_whitespace().any(|a| a == "log")) {
        not_applicable("kernel.seccomp.actions_logged lacks log");
        return;
    }
    let mut cfg = base_config();
    cfg["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_LOG"}]});
    let c = Container::new("seccomp-log", &cfg);
    let before = logged_mkdirs();
    let text = ok(&c.exec(&["sh", "-c", "mkdir /tmp/l && test -d /tmp/l && echo made"]));
    assert_eq!(text, "made\n");
    wait_until(
        Duration::from_secs(10),
        "an audit record of the mkdir",
        || logged_mkdirs() > before,
    );
}
