//! seccomp: OCI profiles (`linux.seccomp`, or `"seccomp"` in container.json)
//! compiled to classic BPF by nsinit itself, without libseccomp.
//!
//! [`parse_profile`] reads and checks the JSON (every error names its field),
//! [`compile()`] turns a [`Profile`] into a [`Program`] for the running
//! architecture (see `compile.rs` for the program's shape), [`install`] loads
//! it into the calling thread just before execve (see `container::process`
//! for where, and why the place depends on no_new_privs).

mod arch;
mod compile;
mod tables;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use serde_json::Value;

pub use arch::Arch;
pub use compile::compile;

use crate::error::{Error, Result};
use crate::sys::raw::{self, SockFilter};

/// `SECCOMP_RET_*` action values (the errno/trace data goes in the low 16 bits).
pub mod ret {
    pub const KILL_PROCESS: u32 = 0x8000_0000;
    pub const KILL_THREAD: u32 = 0;
    pub const TRAP: u32 = 0x0003_0000;
    pub const ERRNO: u32 = 0x0005_0000;
    pub const USER_NOTIF: u32 = 0x7fc0_0000;
    pub const TRACE: u32 = 0x7ff0_0000;
    pub const LOG: u32 = 0x7ffc_0000;
    pub const ALLOW: u32 = 0x7fff_0000;
}

/// A comparison of one argument, as libseccomp's `SCMP_CMP_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    /// `(arg & value) == value_two`.
    MaskedEq,
}

const OPS: [(&str, Op); 7] = [
    ("NE", Op::Ne),
    ("LT", Op::Lt),
    ("LE", Op::Le),
    ("EQ", Op::Eq),
    ("GE", Op::Ge),
    ("GT", Op::Gt),
    ("MASKED_EQ", Op::MaskedEq),
];

/// `args[index] OP value` (unsigned, 64 bits; 32 on 32-bit ABIs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cond {
    pub index: u8,
    pub op: Op,
    pub value: u64,
    pub value_two: u64,
}

/// One `syscalls[]` entry: its conditions are ANDed; entries are tried in
/// order and the first that matches decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub names: Vec<String>,
    /// A `SECCOMP_RET_*` value with its data.
    pub action: u32,
    pub args: Vec<Cond>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub default_action: u32,
    /// Listed architectures (the native one is always included).
    pub architectures: Vec<Arch>,
    /// `SECCOMP_FILTER_FLAG_*` bits.
    pub flags: u32,
    pub rules: Vec<Rule>,
}

/// A compiled filter and the flags to install it with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    pub insns: Vec<SockFilter>,
    pub flags: u32,
}

/// How `nsinit config` shows a filter: its size and flags.
pub fn serialize<S: serde::Serializer>(
    p: &Option<Arc<Program>>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    let p = p.as_deref().map_or((0, 0), |p| (p.insns.len() as u32, p.flags));
    s.collect_map([("instructions", p.0), ("flags", p.1)])
}

const FLAGS: [&str; 4] = ["TSYNC", "LOG", "SPEC_ALLOW", "WAIT_KILLABLE_RECV"];

/// Read an OCI seccomp object found at `field` (`linux.seccomp`). Each error
/// is `FIELD.PATH: what is wrong`.
pub fn parse_profile(v: &Value, field: &str) -> std::result::Result<Profile, Vec<String>> {
    let mut errs = Vec::new();
    let profile = read_profile(v, field, &mut errs);
    match profile {
        Some(p) if errs.is_empty() => Ok(p),
        _ => Err(errs),
    }
}

/// Parse and compile for the running architecture: what a config front end
/// keeps.
pub fn load(v: &Value, field: &str) -> std::result::Result<Arc<Program>, Vec<String>> {
    let p = parse_profile(v, field)?;
    compile(&p, Arch::native())
        .map(Arc::new)
        .map_err(|e| vec![format!("{field}: {e}")])
}

fn read_profile(v: &Value, field: &str, errs: &mut Vec<String>) -> Option<Profile> {
    let obj = object(v, field, errs)?;
    let get = |k: &str| obj.get(k).filter(|v| !v.is_null());
    let path = |k: &str| format!("{field}.{k}");
    let errno = get("defaultErrnoRet").and_then(|v| errno(v, &path("defaultErrnoRet"), errs));
    let default_action = match get("defaultAction") {
        Some(a) => action(a, errno, &path("defaultAction"), errs),
        None => {
            errs.push(format!("{}: missing", path("defaultAction")));
            None
        }
    };
    let mut architectures = vec![Arch::native()];
    for (i, a) in strings(get("architectures"), &path("architectures"), errs) {
        match Arch::from_oci(a) {
            Some(Some(a)) if !architectures.contains(&a) => architectures.push(a),
            Some(_) => {}
            None => errs.push(format!(
                "{}[{i}]: unknown architecture {a:?} (expected SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32, SCMP_ARCH_AARCH64, ...)",
                path("architectures")
            )),
        }
    }
    let mut flags = 0;
    for (i, f) in strings(get("flags"), &path("flags"), errs) {
        let bit = f
            .strip_prefix("SECCOMP_FILTER_FLAG_")
            .and_then(|b| FLAGS.iter().position(|n| *n == b));
        match bit {
            // The kernel accepts WAIT_KILLABLE_RECV only with a listener.
            Some(3) => errs.push(format!(
                "{}[{i}]: {f} needs a SCMP_ACT_NOTIFY listener, which nsinit does not support yet",
                path("flags")
            )),
            Some(b) => flags |= [1, 2, 4, 32][b],
            None => errs.push(format!(
                "{}[{i}]: unknown flag {f:?} (expected SECCOMP_FILTER_FLAG_TSYNC, _LOG or _SPEC_ALLOW)",
                path("flags")
            )),
        }
    }
    if get("listenerPath").is_some_and(|p| p != "") {
        errs.push(format!(
            "{}: seccomp notify listeners are not supported yet",
            path("listenerPath")
        ));
    }
    let mut rules = Vec::new();
    match get("syscalls") {
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                rules.extend(rule(item, &format!("{}[{i}]", path("syscalls")), errs));
            }
        }
        Some(v) => errs.push(format!("{}: expected an array, got {v}", path("syscalls"))),
        None => {}
    }
    Some(Profile {
        default_action: default_action?,
        architectures,
        flags,
        rules,
    })
}

fn rule(v: &Value, path: &str, errs: &mut Vec<String>) -> Option<Rule> {
    let obj = object(v, path, errs)?;
    let get = |k: &str| obj.get(k).filter(|v| !v.is_null());
    let names: Vec<String> = strings(get("names"), &format!("{path}.names"), errs)
        .into_iter()
        .map(|(_, n)| n.to_string())
        .collect();
    let mut ok = true;
    if names.is_empty() || names.iter().any(|n| n.is_empty()) {
        errs.push(format!("{path}.names: must list syscall names, none empty"));
        ok = false;
    }
    let errno = get("errnoRet").and_then(|v| errno(v, &format!("{path}.errnoRet"), errs));
    let action = match get("action") {
        Some(a) => action(a, errno, &format!("{path}.action"), errs),
        None => {
            errs.push(format!("{path}.action: missing"));
            None
        }
    };
    let mut args = Vec::new();
    match get("args") {
        Some(Value::Array(items)) => {
            for (i, a) in items.iter().enumerate() {
                match cond(a, &format!("{path}.args[{i}]"), errs) {
                    Some(c) => args.push(c),
                    None => ok = false,
                }
            }
        }
        Some(v) => {
            errs.push(format!("{path}.args: expected an array, got {v}"));
            ok = false;
        }
        None => {}
    }
    let action = action?;
    ok.then_some(Rule {
        names,
        action,
        args,
    })
}

fn cond(v: &Value, path: &str, errs: &mut Vec<String>) -> Option<Cond> {
    let obj = object(v, path, errs)?;
    let num = |k: &str, errs: &mut Vec<String>| match obj.get(k) {
        None | Some(Value::Null) => Some(0),
        Some(v) => v.as_u64().or_else(|| {
            errs.push(format!("{path}.{k}: expected an integer from 0 to 2^64-1, got {v}"));
            None
        }),
    };
    let index = match num("index", errs) {
        Some(i @ 0..=5) => Some(i as u8),
        Some(i) => {
            errs.push(format!("{path}.index: must be 0 to 5, got {i}"));
            None
        }
        None => None,
    };
    let value = num("value", errs);
    let value_two = num("valueTwo", errs);
    let op = match obj.get("op") {
        Some(Value::String(s)) => {
            let op = s
                .strip_prefix("SCMP_CMP_")
                .and_then(|b| OPS.iter().find(|(n, _)| *n == b));
            if op.is_none() {
                errs.push(format!(
                    "{path}.op: unknown operator {s:?} (expected SCMP_CMP_NE, _LT, _LE, _EQ, _GE, _GT or _MASKED_EQ)"
                ));
            }
            op.map(|(_, op)| *op)
        }
        other => {
            errs.push(format!("{path}.op: expected an operator name, got {other:?}"));
            None
        }
    };
    Some(Cond {
        index: index?,
        op: op?,
        value: value?,
        value_two: value_two?,
    })
}

/// An action name with its errno (`errnoRet`; EPERM when absent).
fn action(v: &Value, errno: Option<u32>, path: &str, errs: &mut Vec<String>) -> Option<u32> {
    let name = v.as_str().unwrap_or_default();
    let base = match name.strip_prefix("SCMP_ACT_").unwrap_or_default() {
        "KILL" | "KILL_THREAD" => ret::KILL_THREAD,
        "KILL_PROCESS" => ret::KILL_PROCESS,
        "TRAP" => ret::TRAP,
        "ERRNO" => ret::ERRNO,
        "TRACE" => ret::TRACE,
        "ALLOW" => ret::ALLOW,
        "LOG" => ret::LOG,
        "NOTIFY" => {
            errs.push(format!(
                "{path}: SCMP_ACT_NOTIFY is not supported yet (no seccomp listener support)"
            ));
            return None;
        }
        _ => {
            errs.push(format!(
                "{path}: unknown action {v} (expected SCMP_ACT_ALLOW, _ERRNO, _KILL, _KILL_PROCESS, _KILL_THREAD, _TRAP, _TRACE, _LOG or _NOTIFY)"
            ));
            return None;
        }
    };
    if base == ret::ERRNO || base == ret::TRACE {
        Some(base | errno.unwrap_or(1))
    } else if errno.is_some() {
        errs.push(format!(
            "{path}: errnoRet goes only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not {name}"
        ));
        None
    } else {
        Some(base)
    }
}

fn errno(v: &Value, path: &str, errs: &mut Vec<String>) -> Option<u32> {
    let n = v.as_u64().filter(|n| *n <= 4095);
    if n.is_none() {
        errs.push(format!("{path}: expected an errno from 0 to 4095, got {v}"));
    }
    n.map(|n| n as u32)
}

fn object<'v>(
    v: &'v Value,
    path: &str,
    errs: &mut Vec<String>,
) -> Option<&'v serde_json::Map<String, Value>> {
    let o = v.as_object();
    if o.is_none() {
        errs.push(format!("{path}: expected an object, got {v}"));
    }
    o
}

/// The strings of an optional array, with their indexes; errors for the rest.
fn strings<'v>(v: Option<&'v Value>, path: &str, errs: &mut Vec<String>) -> Vec<(usize, &'v str)> {
    let items: &[Value] = match v {
        Some(Value::Array(items)) => items,
        Some(v) => {
            errs.push(format!("{path}: expected an array of strings, got {v}"));
            &[]
        }
        None => &[],
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            Some(s) => out.push((i, s)),
            None => errs.push(format!("{path}[{i}]: expected a string, got {item}")),
        }
    }
    out
}

/// Load `prog` into the calling thread (with its flags). Needs no_new_privs
/// or CAP_SYS_ADMIN; a flag the kernel lacks is named.
pub fn install(prog: &Program) -> Result<()> {
    for (i, name) in FLAGS.iter().enumerate() {
        let bit = [1, 2, 4, 32][i];
        if prog.flags & bit != 0 && !raw::seccomp_flag_known(bit) {
            return Err(Error::new(format!(
                "seccomp: this kernel does not support SECCOMP_FILTER_FLAG_{name}"
            )));
        }
    }
    match raw::seccomp_set_mode_filter(prog.flags, &prog.insns) {
        Ok(0) => Ok(()),
        Ok(tid) => Err(Error::new(format!(
            "seccomp: SECCOMP_FILTER_FLAG_TSYNC: thread {tid} cannot be synchronized"
        ))),
        Err(e) => Err(Error::sys(
            format!(
                "seccomp SECCOMP_SET_MODE_FILTER ({} instructions)",
                prog.insns.len()
            ),
            e,
        )),
    }
}
