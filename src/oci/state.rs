//! The OCI state document (`state`, `list`, and every hook's stdin) and
//! running the hooks of one kind with the failure rule of that kind
//! (runtime-spec runtime.md, "Lifecycle").

use serde_json::Value;

use super::hooks::{Hook, run_hook};
use crate::container::state::{State, Status};
use crate::error::{Context, Result};

/// The OCI state document.
pub fn state_doc(st: &State) -> Value {
    let status = st.status();
    let pid = if status == Status::Stopped {
        0
    } else {
        st.init_pid
    };
    serde_json::json!({
        "ociVersion": "1.2.0",
        "id": st.id,
        "status": status.as_str(),
        "pid": pid,
        "bundle": st.bundle,
        "rootfs": st.rootfs,
        "created": crate::log::rfc3339(st.created),
        "owner": "",
        "annotations": st.annotations,
    })
}

/// The state a hook of `kind` reads: the status of its lifecycle point and
/// the recorded PID (a command that already exited still reads as running
/// to poststart, as the spec orders it). The hooks of create read
/// "created", as crun's do and runtime-tools' hooks_stdin expects: the
/// container exists, its command has not run.
pub fn hook_state(kind: &str, st: &State) -> String {
    let mut doc = state_doc(st);
    let status = match kind {
        "prestart" | "createRuntime" | "createContainer" | "startContainer" => Status::Created,
        "poststop" => Status::Stopped,
        _ => Status::Running,
    };
    doc["status"] = status.as_str().into();
    doc["pid"] = st.init_pid.into();
    doc.to_string()
}

/// Run the hooks of one kind with the container's state on stdin.
/// prestart, createRuntime, createContainer and startContainer stop at the
/// first failure, which is the error (the runtime then stops the
/// container); a failing poststart or poststop hook is a warning and the
/// rest still run.
pub fn run_hooks(kind: &str, hooks: &[Hook], st: &State) -> Result<()> {
    if hooks.is_empty() {
        return Ok(());
    }
    run_hooks_with(kind, hooks, hook_state(kind, st).as_bytes())
}

/// [`run_hooks`] with the state document given.
pub fn run_hooks_with(kind: &str, hooks: &[Hook], doc: &[u8]) -> Result<()> {
    let warn_only = matches!(kind, "poststart" | "poststop");
    for (i, h) in hooks.iter().enumerate() {
        let ran = run_hook(h, doc).ctx(|| format!("hooks.{kind}[{i}]"));
        match ran {
            Err(e) if warn_only => crate::log::warn(&e),
            r => r?,
        }
    }
    Ok(())
}
