//! OCI hooks at the runtime-spec's points of `create` and `start`
//! (runtime.md "Lifecycle", config.md "POSIX-platform Hooks"):
//! prestart and createRuntime run in the runtime's namespaces once the
//! container's namespaces and mounts exist, before its root switch (the
//! child asks at SYNC 1h and waits); createContainer runs in the child, in
//! the container's namespaces, at that same point, before pivot_root;
//! startContainer runs in the child, inside the container, right before the
//! user's command (once `start` released it). poststart and poststop are the
//! applet's (after `start`, after `delete`).

use std::os::fd::OwnedFd;

use super::state::State;
use super::sync;
use crate::error::Result;
use crate::oci::{Hooks, hook_state, run_hooks_with};

/// The hooks when some run during create or start (the child then stops at
/// SYNC 1h), else `None`.
pub fn at_create(h: Option<&Hooks>) -> Option<&Hooks> {
    h.filter(|h| {
        !(h.prestart.is_empty()
            && h.create_runtime.is_empty()
            && h.create_container.is_empty()
            && h.start_container.is_empty())
    })
}

/// Parent, SYNC 1h: run prestart then createRuntime with the state of the
/// container being created (its host PID), and hand that state to the child.
/// A failing hook fails the create (the caller stops the container and
/// removes what was made).
pub fn runtime_side(sock: &OwnedFd, hooks: &Hooks, st: &State, pid: i32) -> Result<()> {
    sync::wait_hooks_request(sock)?;
    let st = State {
        init_pid: pid,
        ..st.clone()
    };
    let doc = hook_state("createRuntime", &st);
    run_hooks_with("prestart", &hooks.prestart, doc.as_bytes())?;
    run_hooks_with("createRuntime", &hooks.create_runtime, doc.as_bytes())?;
    sync::hooks_done(sock, &doc)
}

/// Child, SYNC 1h: the mounts are made, the root is not switched yet: wait
/// for the runtime's hooks, then run createContainer here (the container's
/// mount namespace, paths still resolving as the runtime's). Returns the
/// state document for startContainer.
pub fn container_side(sock: &OwnedFd, hooks: &Hooks) -> Result<String> {
    sync::request_hooks(sock)?;
    let doc = sync::wait_hooks_done(sock)?;
    run_hooks_with("createContainer", &hooks.create_container, doc.as_bytes())?;
    Ok(doc)
}

/// Child, after `start`, right before exec: startContainer, inside the
/// container (paths resolve in its root), with the state of create.
pub fn start_container(hooks: Option<&Hooks>, doc: Option<&str>) -> Result<()> {
    match (hooks, doc) {
        (Some(hooks), Some(doc)) => {
            run_hooks_with("startContainer", &hooks.start_container, doc.as_bytes())
        }
        _ => Ok(()),
    }
}
