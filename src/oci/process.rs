//! `process`: what runs and as whom, lowered into a [`ProcessSpec`].

use serde_json::Value;

use super::read::{flag_set, get, known_keys, named, obj, opt_str, strings};
use crate::caps::CapSets;
use crate::config::json::{Diag, join};
use crate::config::process::RLIMIT_NAMES;
use crate::config::validate::{lsm_active, lsm_unsupported};
use crate::config::{Config, Rlimit, capability_number};
use crate::container::process::ProcessSpec;
use crate::sched::{self, IoPriority, Scheduler};

/// The lowered `process` with what belongs to the container's terminal.
pub struct Lowered {
    pub spec: ProcessSpec,
    pub terminal: bool,
}

const KEYS: &[&str] = &[
    "terminal",
    "consoleSize",
    "user",
    "args",
    "commandLine",
    "env",
    "cwd",
    "capabilities",
    "rlimits",
    "noNewPrivileges",
    "apparmorProfile",
    "oomScoreAdj",
    "selinuxLabel",
    "scheduler",
    "ioPriority",
    "execCPUAffinity",
];

/// Lower the `process` object at `path` ("" for a `--process` file).
pub fn lower(v: &Value, path: &str, cfg: &Config, d: &mut Diag) -> Option<Lowered> {
    let p = obj(v, path, d)?;
    known_keys(p, path, KEYS, d);
    let at = |k: &str| join(path, k);
    let terminal = get::<bool>(p, path, "terminal", d).unwrap_or(false);
    let console_size = p.get("consoleSize").filter(|v| !v.is_null()).and_then(|v| {
        let here = at("consoleSize");
        let m = obj(v, &here, d)?;
        known_keys(m, &here, &["height", "width"], d);
        Some((
            get::<u16>(m, &here, "height", d).unwrap_or(0),
            get::<u16>(m, &here, "width", d).unwrap_or(0),
        ))
    });
    let args = strings(p, path, "args", d);
    if args.is_empty() && !d.has_error_at(&at("args")) {
        d.error(&at("args"), "required (the command to run)");
    }
    let env = strings(p, path, "env", d);
    for (i, e) in env.iter().enumerate() {
        if !matches!(e.split_once('='), Some((k, _)) if !k.is_empty()) || e.contains('\0') {
            d.error(
                &format!("{}[{i}]", at("env")),
                format_args!("expected KEY=VALUE, got {e:?}"),
            );
        }
    }
    let cwd = opt_str(p, path, "cwd", d);
    match cwd.as_deref() {
        Some(c) if c.starts_with('/') && !c.contains('\0') => {}
        Some(c) => d.error(
            &at("cwd"),
            format_args!("must be an absolute path, got {c:?}"),
        ),
        None if !d.has_error_at(&at("cwd")) => d.error(&at("cwd"), "required (an absolute path)"),
        None => {}
    }
    let mut spec = ProcessSpec {
        args,
        env,
        cwd,
        no_new_privileges: get::<bool>(p, path, "noNewPrivileges", d).unwrap_or(false),
        ..ProcessSpec::default()
    };
    if let Some(u) = p.get("user").filter(|u| !u.is_null()) {
        lower_user(u, &at("user"), &mut spec, d);
    } else {
        spec.ids = Some((0, 0));
    }
    if let Some(c) = p.get("capabilities").filter(|c| !c.is_null()) {
        spec.caps = lower_caps(c, &at("capabilities"), d);
    }
    if let Some(r) = p.get("rlimits").filter(|r| !r.is_null()) {
        spec.rlimits = lower_rlimits(r, &at("rlimits"), d);
    }
    if let Some(adj) = get::<i64>(p, path, "oomScoreAdj", d) {
        if (-1000..=1000).contains(&adj) {
            spec.oom_score_adj = Some(adj as i32);
        } else {
            d.error(
                &at("oomScoreAdj"),
                format_args!("must be between -1000 and 1000, got {adj}"),
            );
        }
    }
    for (key, lsm) in [("apparmorProfile", "apparmor"), ("selinuxLabel", "selinux")] {
        if let Some(v) = opt_str(p, path, key, d).filter(|s| !s.is_empty()) {
            let active = d.check_host.then(|| lsm_active(lsm));
            d.error(&at(key), lsm_unsupported(&v, lsm, active));
        }
    }
    if let Some(v) = p.get("scheduler").filter(|v| !v.is_null()) {
        spec.scheduler = lower_scheduler(v, &at("scheduler"), cfg, d);
    }
    if let Some(v) = p.get("ioPriority").filter(|v| !v.is_null()) {
        spec.io_priority = lower_io_priority(v, &at("ioPriority"), d);
    }
    spec.memory_policy = cfg.memory_policy.clone();
    // Outside the container's cgroup it runs where the caller runs; inside,
    // on `final` or on every CPU its cpuset allows (runc resets it too).
    spec.affinity = Some(sched::all_cpus());
    if let Some(v) = p.get("execCPUAffinity").filter(|v| !v.is_null()) {
        let here = at("execCPUAffinity");
        if let Some(m) = obj(v, &here, d) {
            known_keys(m, &here, &["initial", "final"], d);
            let mut cpus = |key: &str| {
                let list = opt_str(m, &here, key, d).filter(|s| !s.is_empty())?;
                let set = sched::parse_cpus(&list);
                if set.is_none() {
                    d.error(
                        &join(&here, key),
                        format_args!("expected a CPU list like \"0-3,7\", got {list:?}"),
                    );
                }
                set
            };
            spec.initial_affinity = cpus("initial");
            if let Some(f) = cpus("final") {
                spec.affinity = Some(f);
            }
        }
    }
    if p.get("commandLine").is_some_and(|v| !v.is_null()) {
        d.warn(&at("commandLine"), "ignored (Windows only)");
    }
    spec.console_size = console_size;
    Some(Lowered { spec, terminal })
}

fn lower_user(v: &Value, path: &str, spec: &mut ProcessSpec, d: &mut Diag) {
    let Some(u) = obj(v, path, d) else {
        return;
    };
    known_keys(
        u,
        path,
        &["uid", "gid", "umask", "additionalGids", "username"],
        d,
    );
    let uid = get::<u32>(u, path, "uid", d).unwrap_or(0);
    let gid = get::<u32>(u, path, "gid", d).unwrap_or(0);
    spec.ids = Some((uid, gid));
    spec.additional_gids = get(u, path, "additionalGids", d).unwrap_or_default();
    if let Some(mask) = get::<u32>(u, path, "umask", d) {
        if mask > 0o777 {
            d.error(
                &join(path, "umask"),
                format_args!("must be at most 0o777 (511), got {mask}"),
            );
        }
        spec.umask = Some(mask);
    }
    if opt_str(u, path, "username", d).is_some_and(|s| !s.is_empty()) {
        d.warn(&join(path, "username"), "ignored (Windows only)");
    }
}

/// The five sets; a name that maps to no kernel capability is a warning
/// and not granted (runtime-spec 1.1+: such a value "MUST be logged as a
/// warning", runtimes "SHOULD NOT fail"; a config written for a newer
/// kernel still runs, as with runc and crun), then the kernel's relations
/// are checked.
fn lower_caps(v: &Value, path: &str, d: &mut Diag) -> CapSets {
    let Some(m) = obj(v, path, d) else {
        return CapSets::default();
    };
    let sets = [
        "bounding",
        "effective",
        "permitted",
        "inheritable",
        "ambient",
    ];
    known_keys(m, path, &sets, d);
    let mut masks = [0u64; 5];
    for (set, mask) in sets.iter().zip(masks.iter_mut()) {
        let here = join(path, set);
        for (i, name) in strings(m, path, set, d).iter().enumerate() {
            match capability_number(name).filter(|_| name.starts_with("CAP_")) {
                Some(n) => *mask |= 1 << n,
                None => d.warn(
                    &format!("{here}[{i}]"),
                    format_args!("unknown capability {name:?} (ignored)"),
                ),
            }
        }
    }
    let caps = CapSets {
        bounding: masks[0],
        effective: masks[1],
        permitted: masks[2],
        inheritable: masks[3],
        ambient: masks[4],
    };
    if let Err(e) = caps.check() {
        let msg = e.to_string();
        d.error(path, msg.strip_prefix("capabilities: ").unwrap_or(&msg));
    }
    caps
}

fn lower_rlimits(v: &Value, path: &str, d: &mut Diag) -> Vec<Rlimit> {
    let Some(items) = super::read::array(v, path, d) else {
        return Vec::new();
    };
    let mut out: Vec<Rlimit> = Vec::new();
    for (i, r) in items.iter().enumerate() {
        let here = format!("{path}[{i}]");
        let Some(m) = obj(r, &here, d) else {
            continue;
        };
        known_keys(m, &here, &["type", "hard", "soft"], d);
        let kind = opt_str(m, &here, "type", d);
        let resource = kind.as_deref().and_then(|t| {
            let n = t
                .strip_prefix("RLIMIT_")
                .and_then(|b| RLIMIT_NAMES.iter().position(|n| *n == b));
            if n.is_none() {
                d.error(
                    &join(&here, "type"),
                    format_args!("unknown resource {t:?} (expected RLIMIT_NOFILE…)"),
                );
            }
            n.map(|n| n as u32)
        });
        if kind.is_none() && !d.has_error_at(&join(&here, "type")) {
            d.error(&join(&here, "type"), "required (e.g. \"RLIMIT_NOFILE\")");
        }
        let limit = |key: &str, d: &mut Diag| {
            let v = get::<u64>(m, &here, key, d);
            if v.is_none() && !d.has_error_at(&join(&here, key)) {
                d.error(&join(&here, key), "required");
            }
            v
        };
        let (hard, soft) = (limit("hard", d), limit("soft", d));
        let (Some(resource), Some(hard), Some(soft)) = (resource, hard, soft) else {
            continue;
        };
        if soft > hard {
            d.error(
                &here,
                format_args!("soft limit {soft} is above the hard limit {hard}"),
            );
        } else if out.iter().any(|o| o.resource == resource) {
            d.error(
                &join(&here, "type"),
                format_args!("{} is listed twice", kind.unwrap_or_default()),
            );
        } else {
            out.push(Rlimit {
                resource,
                soft,
                hard,
            });
        }
    }
    out
}

/// `process.scheduler`, checked as runc checks it: the kernel would refuse
/// the same settings with a bare EINVAL or EPERM.
fn lower_scheduler(v: &Value, path: &str, cfg: &Config, d: &mut Diag) -> Option<Scheduler> {
    let m = obj(v, path, d)?;
    let keys = [
        "policy", "nice", "priority", "flags", "runtime", "deadline", "period",
    ];
    known_keys(m, path, &keys, d);
    let at = |k: &str| join(path, k);
    let name = opt_str(m, path, "policy", d);
    let policy = match name.as_deref() {
        None => {
            d.error(&at("policy"), "required (e.g. \"SCHED_BATCH\")");
            None
        }
        Some("SCHED_ISO") => {
            d.error(&at("policy"), "SCHED_ISO is not implemented by Linux");
            None
        }
        Some(n) => named(sched::POLICIES, n, "policy", &at("policy"), d),
    };
    let nice = get::<i64>(m, path, "nice", d).unwrap_or(0);
    if !(-20..=19).contains(&nice) {
        d.error(
            &at("nice"),
            format_args!("must be between -20 and 19, got {nice}"),
        );
    }
    let priority = get::<u32>(m, path, "priority", d).unwrap_or(0);
    let flags = flag_set(m, path, "flags", sched::FLAGS, d);
    let [runtime, deadline, period] =
        ["runtime", "deadline", "period"].map(|k| get::<u64>(m, path, k, d).unwrap_or(0));
    let policy = policy?;
    let realtime = matches!(policy, sched::SCHED_FIFO | sched::SCHED_RR);
    if realtime && !(1..=99).contains(&priority) {
        d.error(
            &at("priority"),
            format_args!(
                "must be between 1 and 99 for {}, got {priority}",
                name.unwrap_or_default()
            ),
        );
    } else if !realtime && priority != 0 {
        d.error(
            &at("priority"),
            "can only be set for SCHED_FIFO or SCHED_RR",
        );
    }
    if policy == sched::SCHED_DEADLINE {
        if runtime == 0 || deadline == 0 {
            d.error(path, "SCHED_DEADLINE requires runtime and deadline");
        }
        let cpus = cfg.cgroups.as_ref().and_then(|c| c.cpuset_cpus.as_deref());
        if cpus.is_some() {
            // sched_setattr answers EPERM when the task cannot run on
            // every CPU of its root domain.
            d.error(
                &at("policy"),
                "SCHED_DEADLINE cannot be used together with linux.resources.cpu.cpus",
            );
        }
    } else if runtime != 0 || deadline != 0 || period != 0 {
        d.error(
            path,
            "runtime, deadline and period can only be set for SCHED_DEADLINE",
        );
    }
    Some(Scheduler {
        policy,
        flags,
        nice: nice.clamp(-20, 19) as i32,
        priority,
        runtime,
        deadline,
        period,
    })
}

/// `process.ioPriority`: a class and a level from 0 (highest) to 7.
fn lower_io_priority(v: &Value, path: &str, d: &mut Diag) -> Option<IoPriority> {
    let m = obj(v, path, d)?;
    known_keys(m, path, &["class", "priority"], d);
    let class = match opt_str(m, path, "class", d) {
        Some(c) => named(sched::IO_CLASSES, &c, "class", &join(path, "class"), d),
        None => {
            d.error(&join(path, "class"), "required (e.g. \"IOPRIO_CLASS_BE\")");
            None
        }
    };
    let level = get::<i64>(m, path, "priority", d);
    let level = match level {
        Some(l @ 0..=7) => Some(l as u16),
        Some(l) => {
            d.error(
                &join(path, "priority"),
                format_args!("must be between 0 (highest) and 7 (lowest), got {l}"),
            );
            None
        }
        None => {
            d.error(&join(path, "priority"), "required (0 to 7)");
            None
        }
    };
    Some(IoPriority {
        class: class?,
        level: level?,
    })
}
