//! A tiny logger: messages go to stderr prefixed with the applet name.
//!
//! `NSINIT_DEBUG=1` (or `--debug`) enables debug lines.

use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

static APPLET: OnceLock<&'static str> = OnceLock::new();
static DEBUG: AtomicBool = AtomicBool::new(false);
/// `--log FILE` (and whether its lines are JSON, `--log-format json`).
static FILE: OnceLock<(std::sync::Mutex<std::fs::File>, bool)> = OnceLock::new();

/// Also write every message to `file`, as text or as JSON lines
/// `{"level","msg","time"}` (what containerd and podman read).
pub fn set_file(file: std::fs::File, json: bool) {
    let _ = FILE.set((std::sync::Mutex::new(file), json));
}

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
    if let Some((file, json)) = FILE.get()
        && let Ok(mut f) = file.lock()
    {
        let _ = if *json {
            // RFC 3339, as runc's logrus: containerd parses it as a time.
            let time = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let time = rfc3339(time);
            let name = match level {
                "" => "error",
                "warning: " => "warning",
                _ => "debug",
            };
            let v = serde_json::json!({"level": name, "msg": msg.to_string(), "time": time});
            f.write_all(format!("{v}\n").as_bytes())
        } else {
            f.write_all(line.as_bytes())
        };
    }
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

/// Seconds since the epoch as an RFC 3339 UTC time.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
