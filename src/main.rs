//! nsinit: a Linux container runtime in one static multi-call binary.
//!
//! This file holds the applet table and the dispatch on argv[0], nothing else.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::process::ExitCode;

use nsinit::applet;
use nsinit::error::{EXIT_NOT_FOUND, Result};
use nsinit::log;

/// One entry of the applet table: the single registry of entry points.
pub struct Applet {
    pub name: &'static str,
    pub entry: fn(Vec<OsString>) -> Result<ExitCode>,
    pub help: &'static str,
}

pub static APPLETS: &[Applet] = &[
    Applet {
        name: "nsinit",
        entry: applet::nsinit::main,
        help: "run, join and manage a container described by container.json",
    },
    Applet {
        name: "nsinit-join",
        entry: applet::join::main,
        help: "enter a running container (by directory, or nsenter-style by PID)",
    },
    Applet {
        name: "nsinit-oci",
        entry: applet::oci::main,
        help: "runc-compatible runtime over OCI bundles (config.json)",
    },
    Applet {
        name: "nsinit-init",
        entry: applet::init::main,
        help: "tiny PID 1: spawn a command, forward signals, reap zombies",
    },
];

/// Find an applet by name; `join` and `init` are short for `nsinit-join`/`nsinit-init`.
pub fn find_applet(name: &str) -> Option<&'static Applet> {
    APPLETS
        .iter()
        .find(|a| a.name == name || a.name.strip_prefix("nsinit-") == Some(name))
}

/// The applet table as `--list` prints it.
pub fn applet_list() -> String {
    APPLETS
        .iter()
        .map(|a| format!("  {:<12} {}\n", a.name, a.help))
        .collect()
}

fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    // argv[0] is untrusted: it only picks the CLI, never privileges.
    let argv0 = args.first().cloned().unwrap_or_default();
    let base = std::path::Path::new(&argv0)
        .file_name()
        .map(|b| b.to_string_lossy().into_owned())
        .unwrap_or_default();
    let applet = match find_applet(&base) {
        Some(a) => a,
        None => {
            eprintln!(
                "{base}: unknown applet; this binary provides:\n{}",
                applet_list()
            );
            return ExitCode::from(EXIT_NOT_FOUND);
        }
    };
    args.remove(0);
    // `nsinit <applet> ARGS…` reaches every applet without a symlink.
    let applet = match args.first().and_then(|a| a.to_str()) {
        Some(name) if applet.name == "nsinit" && name != "nsinit" => match find_applet(name) {
            Some(other) => {
                args.remove(0);
                other
            }
            None => applet,
        },
        _ => applet,
    };
    log::set_applet(applet.name);
    match args.first().and_then(|a| a.to_str()) {
        Some("--list") if applet.name == "nsinit" => {
            nsinit::cli::out(&applet_list());
            return ExitCode::SUCCESS;
        }
        Some("--version" | "-V") => {
            let v = format!(
                "{} {} (commit {})\n",
                applet.name,
                env!("CARGO_PKG_VERSION"),
                env!("NSINIT_COMMIT")
            );
            nsinit::cli::out(&v);
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    match (applet.entry)(args) {
        Ok(code) => code,
        Err(e) => {
            log::error(&e);
            ExitCode::from(e.code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applet_names_resolve_by_full_and_short_name_only() {
        assert_eq!(find_applet("nsinit").map(|a| a.name), Some("nsinit"));
        assert_eq!(
            find_applet("nsinit-join").map(|a| a.name),
            Some("nsinit-join")
        );
        assert_eq!(find_applet("join").map(|a| a.name), Some("nsinit-join"));
        assert_eq!(find_applet("init").map(|a| a.name), Some("nsinit-init"));
        for bad in [
            "",
            "nsinit-",
            "-join",
            "nsinit-foo",
            "NSINIT",
            "nsinit join",
        ] {
            assert!(find_applet(bad).is_none(), "{bad:?}");
        }
        assert_eq!(applet_list().lines().count(), APPLETS.len());
    }
}
