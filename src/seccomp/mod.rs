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
mod notify;
mod parse;
mod tables;
#[cfg(test)]
mod tests;

use std::os::fd::OwnedFd;
use std::sync::Arc;

use serde_json::Value;

pub use arch::Arch;
pub use compile::compile;
pub use notify::{process_state, send_listener};
pub use parse::parse_profile;

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
pub struct Rule<'a> {
    /// Borrowed from the JSON: a profile lists hundreds.
    pub names: Vec<&'a str>,
    /// A `SECCOMP_RET_*` value with its data.
    pub action: u32,
    pub args: Vec<Cond>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile<'a> {
    pub default_action: u32,
    /// Listed architectures (the native one is always included).
    pub architectures: Vec<Arch>,
    /// `SECCOMP_FILTER_FLAG_*` bits.
    pub flags: u32,
    pub rules: Vec<Rule<'a>>,
    /// Where the user-notification descriptor goes (a profile with
    /// SCMP_ACT_NOTIFY rules).
    pub listener: Option<Listener>,
}

/// `listenerPath` and `listenerMetadata`: the unix socket nsinit connects to
/// once the filter is in, to hand over its notification descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    pub path: String,
    pub metadata: String,
}

/// A compiled filter and the flags to install it with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    pub insns: Vec<SockFilter>,
    pub flags: u32,
    pub listener: Option<Listener>,
}

/// How `nsinit config` shows a filter: its size and flags.
pub fn serialize<S: serde::Serializer>(
    p: &Option<Arc<Program>>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    let p = p
        .as_deref()
        .map_or((0, 0), |p| (p.insns.len() as u32, p.flags));
    s.collect_map([("instructions", p.0), ("flags", p.1)])
}

/// `SECCOMP_FILTER_FLAG_*` names and bits a profile may use.
const FLAGS: [(&str, u32); 4] = [
    ("SECCOMP_FILTER_FLAG_TSYNC", 1),
    ("SECCOMP_FILTER_FLAG_LOG", 2),
    ("SECCOMP_FILTER_FLAG_SPEC_ALLOW", 4),
    ("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", WAIT_KILLABLE_RECV),
];
const TSYNC: u32 = 1;
const TSYNC_ESRCH: u32 = 16;
const WAIT_KILLABLE_RECV: u32 = 32;
const NEW_LISTENER: u32 = raw::SECCOMP_FILTER_FLAG_NEW_LISTENER;

/// Parse and compile for the running architecture: what a config front end
/// keeps.
pub fn load(v: &Value, field: &str) -> std::result::Result<Arc<Program>, Vec<String>> {
    let t = std::time::Instant::now();
    let p = parse_profile(v, field)?;
    let read = t.elapsed().as_micros();
    let t = std::time::Instant::now();
    let mut unknown = Vec::new();
    let prog = compile::compile_noting(&p, Arch::native(), &mut unknown);
    let us = t.elapsed().as_micros();
    compile::log_unknown(&unknown);
    let prog = prog.map_err(|e| vec![format!("{field}: {e}")])?;
    let n = prog.insns.len();
    crate::log::debug(&format_args!(
        "seccomp: {n} instructions compiled in {us} µs (the profile read in {read} µs)"
    ));

    Ok(Arc::new(prog))
}

/// Load `prog` into the calling thread (with its flags). Needs no_new_privs
/// or CAP_SYS_ADMIN; a flag the kernel lacks is named. A program with a
/// listener returns its notification descriptor.
pub fn install(prog: &Program) -> Result<Option<OwnedFd>> {
    let mut flags = prog.flags;
    if prog.listener.is_some() && flags & TSYNC != 0 {
        // The result must be the descriptor, never a thread id (5.7+).
        flags |= TSYNC_ESRCH;
    }
    let named = FLAGS.into_iter().chain([
        ("SECCOMP_FILTER_FLAG_NEW_LISTENER", NEW_LISTENER),
        ("SECCOMP_FILTER_FLAG_TSYNC_ESRCH", TSYNC_ESRCH),
    ]);
    for (name, bit) in named {
        let wanted = flags & bit != 0 || (prog.listener.is_some() && bit == NEW_LISTENER);
        // WAIT_KILLABLE_RECV is only valid with NEW_LISTENER.
        let probe = if bit == WAIT_KILLABLE_RECV {
            bit | NEW_LISTENER
        } else {
            bit
        };
        if wanted && !raw::seccomp_flag_known(probe) {
            return Err(Error::new(format!(
                "seccomp: this kernel does not support {name}"
            )));
        }
    }
    let what = || {
        format!(
            "seccomp SECCOMP_SET_MODE_FILTER ({} instructions)",
            prog.insns.len()
        )
    };
    if prog.listener.is_some() {
        return raw::seccomp_set_mode_filter_listener(flags, &prog.insns)
            .map(Some)
            .map_err(|e| Error::sys(what(), e));
    }
    match raw::seccomp_set_mode_filter(flags, &prog.insns) {
        Ok(0) => Ok(None),
        Ok(tid) => Err(Error::new(format!(
            "seccomp: SECCOMP_FILTER_FLAG_TSYNC: thread {tid} cannot be synchronized"
        ))),
        Err(e) => Err(Error::sys(what(), e)),
    }
}
