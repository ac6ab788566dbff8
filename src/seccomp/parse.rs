//! Reading an OCI seccomp object (`linux.seccomp`). Every error is one line
//! `PATH: expected WHAT, got VALUE`, the path naming the rule and field
//! (`linux.seccomp.syscalls[3].action`); reading goes on after an error so
//! that all of them are reported at once. Unknown keys are ignored, as the
//! runtime-spec asks.

use serde_json::{Map, Value};

use super::{Arch, Cond, FLAGS, Listener, Op, Profile, Rule, WAIT_KILLABLE_RECV, ret};
use crate::config::json::shown;

static NULL: Value = Value::Null;

/// `SCMP_ACT_*` names (after the prefix) and their values.
const ACTIONS: &str = "KILL KILL_THREAD KILL_PROCESS TRAP ERRNO TRACE ALLOW LOG NOTIFY";
const ACTION_VALUES: [u32; 9] = [
    ret::KILL_THREAD,
    ret::KILL_THREAD,
    ret::KILL_PROCESS,
    ret::TRAP,
    ret::ERRNO,
    ret::TRACE,
    ret::ALLOW,
    ret::LOG,
    ret::USER_NOTIF,
];
/// `SCMP_CMP_*` names (after the prefix), in [`Op`] order.
const OPS: &str = "NE LT LE EQ GE GT MASKED_EQ";
const OP_VALUES: [Op; 7] = [Op::Ne, Op::Lt, Op::Le, Op::Eq, Op::Ge, Op::Gt, Op::MaskedEq];

struct Errors(Vec<String>);

impl Errors {
    fn bad(&mut self, path: &dyn std::fmt::Display, what: &str, v: &Value) {
        self.0
            .push(format!("{path}: expected {what}, got {}", shown(v)));
    }
}

/// Read an OCI seccomp object found at `field` (`linux.seccomp`).
pub fn parse_profile<'v>(v: &'v Value, field: &str) -> Result<Profile<'v>, Vec<String>> {
    let mut e = Errors(Vec::new());
    let p = profile(v, field, &mut e);
    match p {
        Some(p) if e.0.is_empty() => Ok(p),
        _ => Err(e.0),
    }
}

fn key(path: &str, k: &str) -> String {
    format!("{path}.{k}")
}

fn get<'v>(o: &'v Map<String, Value>, k: &str) -> &'v Value {
    o.get(k).unwrap_or(&NULL)
}

fn object<'v>(v: &'v Value, path: &str, e: &mut Errors) -> Option<&'v Map<String, Value>> {
    let o = v.as_object();
    if o.is_none() {
        e.bad(&path, "an object", v);
    }
    o
}

/// The items of an optional array.
fn list<'v>(v: &'v Value, path: &str, e: &mut Errors) -> &'v [Value] {
    match v {
        Value::Array(items) => items,
        Value::Null => &[],
        _ => {
            e.bad(&path, "an array", v);
            &[]
        }
    }
}

fn profile<'v>(v: &'v Value, path: &str, e: &mut Errors) -> Option<Profile<'v>> {
    let o = object(v, path, e)?;
    let default_action = action(o, "defaultAction", "defaultErrnoRet", path, e);
    let mut architectures = vec![Arch::native()];
    let p = key(path, "architectures");
    for (i, item) in list(get(o, "architectures"), &p, e).iter().enumerate() {
        match item.as_str().and_then(Arch::from_oci) {
            Some(Some(a)) if !architectures.contains(&a) => architectures.push(a),
            Some(_) => {}
            None => e.bad(
                &format_args!("{p}[{i}]"),
                "an architecture like SCMP_ARCH_X86_64",
                item,
            ),
        }
    }
    let mut flags = 0;
    let p = key(path, "flags");
    for (i, item) in list(get(o, "flags"), &p, e).iter().enumerate() {
        match FLAGS.iter().find(|(n, _)| item == *n) {
            Some((_, bit)) => flags |= bit,
            None => e.bad(
                &format_args!("{p}[{i}]"),
                "SECCOMP_FILTER_FLAG_TSYNC, _LOG, _SPEC_ALLOW or _WAIT_KILLABLE_RECV",
                item,
            ),
        }
    }
    let p = key(path, "syscalls");
    let mut rules = Vec::new();
    for (i, item) in list(get(o, "syscalls"), &p, e).iter().enumerate() {
        rules.extend(rule(item, &format!("{p}[{i}]"), e));
    }
    if default_action == ret::USER_NOTIF {
        // Every call of nsinit's after the install would wait for a listener
        // that has not got the descriptor yet.
        let what = "an action other than SCMP_ACT_NOTIFY";
        e.bad(&key(path, "defaultAction"), what, get(o, "defaultAction"));
    }
    let notify = rules.iter().any(|r| r.action == ret::USER_NOTIF);
    let listener = listener(o, path, notify, e);
    if flags & WAIT_KILLABLE_RECV != 0 && listener.is_none() {
        let what = "no SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV without SCMP_ACT_NOTIFY rules";
        e.bad(&key(path, "flags"), what, get(o, "flags"));
    }
    Some(Profile {
        default_action,
        architectures,
        flags,
        rules,
        listener,
    })
}

/// `listenerPath` and `listenerMetadata`, needed (and only kept) when a rule
/// notifies.
fn listener(o: &Map<String, Value>, path: &str, notify: bool, e: &mut Errors) -> Option<Listener> {
    let lp = get(o, "listenerPath");
    let meta = get(o, "listenerMetadata");
    let metadata = match meta {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        _ => {
            e.bad(&key(path, "listenerMetadata"), "a string", meta);
            String::new()
        }
    };
    match lp.as_str().filter(|s| s.starts_with('/')) {
        Some(s) if notify => Some(Listener {
            path: s.to_string(),
            metadata,
        }),
        _ if notify => {
            let what = "an absolute socket path (SCMP_ACT_NOTIFY rules need a listener)";
            e.bad(&key(path, "listenerPath"), what, lp);
            None
        }
        None if !lp.is_null() && lp != "" => {
            e.bad(&key(path, "listenerPath"), "an absolute socket path", lp);
            None
        }
        _ => None,
    }
}

fn rule<'v>(v: &'v Value, path: &str, e: &mut Errors) -> Option<Rule<'v>> {
    let o = object(v, path, e)?;
    let names_path = key(path, "names");
    let mut names = Vec::new();
    for (i, n) in list(get(o, "names"), &names_path, e).iter().enumerate() {
        match n.as_str().filter(|s| !s.is_empty()) {
            Some(s) => names.push(s),
            None => e.bad(&format_args!("{names_path}[{i}]"), "a syscall name", n),
        }
    }
    if names.is_empty() {
        e.bad(&names_path, "a list of syscall names", get(o, "names"));
    }
    let action = action(o, "action", "errnoRet", path, e);
    if action == ret::USER_NOTIF && names.contains(&"sendmsg") {
        // nsinit hands the descriptor over with sendmsg, after the install.
        let what = "an action other than SCMP_ACT_NOTIFY for sendmsg";
        e.bad(&key(path, "action"), what, get(o, "action"));
    }
    let p = key(path, "args");
    let mut args = Vec::new();
    for (i, a) in list(get(o, "args"), &p, e).iter().enumerate() {
        args.extend(cond(a, &format!("{p}[{i}]"), e));
    }
    Some(Rule {
        names,
        action,
        args,
    })
}

fn cond(v: &Value, path: &str, e: &mut Errors) -> Option<Cond> {
    let o = object(v, path, e)?;
    let mut num = |k: &str, max: u64, what: &str| {
        let x = get(o, k);
        match x.as_u64().filter(|n| *n <= max) {
            Some(n) => n,
            None if x.is_null() => 0,
            None => {
                e.bad(&format_args!("{path}.{k}"), what, x);
                0
            }
        }
    };
    let index = num("index", 5, "an argument index from 0 to 5") as u8;
    let value = num("value", u64::MAX, "an integer from 0 to 2^64-1");
    let value_two = num("valueTwo", u64::MAX, "an integer from 0 to 2^64-1");
    let op = get(o, "op");
    let i = op
        .as_str()
        .and_then(|s| s.strip_prefix("SCMP_CMP_"))
        .and_then(|b| OPS.split(' ').position(|n| n == b));
    if i.is_none() {
        let what = "SCMP_CMP_NE, _LT, _LE, _EQ, _GE, _GT or _MASKED_EQ";
        e.bad(&format_args!("{path}.op"), what, op);
    }
    Some(Cond {
        index,
        op: OP_VALUES[i.unwrap_or(0)],
        value,
        value_two,
    })
}

/// The action at `path.act` with its errno at `path.errno` (EPERM when absent).
fn action(o: &Map<String, Value>, act: &str, errno: &str, path: &str, e: &mut Errors) -> u32 {
    let ev = get(o, errno);
    let n = ev.as_u64().filter(|n| *n <= 4095);
    if n.is_none() && !ev.is_null() {
        e.bad(
            &format_args!("{path}.{errno}"),
            "an errno from 0 to 4095",
            ev,
        );
    }
    let av = get(o, act);
    let i = av
        .as_str()
        .and_then(|s| s.strip_prefix("SCMP_ACT_"))
        .and_then(|b| ACTIONS.split(' ').position(|n| n == b));
    let Some(i) = i else {
        let what = "SCMP_ACT_ALLOW, _ERRNO, _KILL, _KILL_PROCESS, _KILL_THREAD, _TRAP, _TRACE, \
                    _LOG or _NOTIFY";
        e.bad(&format_args!("{path}.{act}"), what, av);
        return 0;
    };
    let base = ACTION_VALUES[i];
    if base == ret::ERRNO || base == ret::TRACE {
        return base | n.unwrap_or(1) as u32;
    }
    if !ev.is_null() {
        let what = "none: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errnoRet";
        e.bad(&format_args!("{path}.{errno}"), what, ev);
    }
    base
}
