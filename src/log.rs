//! A tiny logger: messages go to stderr prefixed with the applet name.
//!
//! `NSINIT_DEBUG=1` (or `--debug`) enables debug lines.

use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

static APPLET: OnceLock<&'static str> = OnceLock::new();
static DEBUG: AtomicBool = AtomicBool::new(false);

pub fn set_applet(name: &'static str) {
    let _ = APPLET.set(name);
    if std::env::var_os("NSINIT_DEBUG").is_some_and(|v| v != "0") {
        DEBUG.store(true, Ordering::Relaxed);
    }
}

pub fn set_debug(on: bool) {
    DEBUG.store(on, Ordering::Relaxed);
}

fn applet() -> &'static str {
    APPLET.get().copied().unwrap_or("nsinit")
}

fn emit(level: &str, msg: &dyn std::fmt::Display) {
    let line = format!("{}: {level}{msg}\n", applet());
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

pub fn error(msg: &dyn std::fmt::Display) {
    emit("", msg);
}

pub fn warn(msg: &dyn std::fmt::Display) {
    emit("warning: ", msg);
}

pub fn debug(msg: &dyn std::fmt::Display) {
    if DEBUG.load(Ordering::Relaxed) {
        emit("debug: ", msg);
    }
}
