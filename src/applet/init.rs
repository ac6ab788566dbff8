//! `nsinit-init`: the built-in init shim (PID 1).
//!
//! `nsinit-init [-g] [-s] [--] CMD ARGS…` spawns CMD (found through `PATH`),
//! forwards signals to it, reaps zombies and exits with its status. The work is
//! done by [`crate::init`]; this file only parses the command line.

use std::ffi::OsString;
use std::process::ExitCode;

use crate::cli;
use crate::error::{EXIT_CODES_HELP, Result};
use crate::init::exec::PreparedExec;
use crate::init::{self, Forked, ShimOptions};

pub const USAGE: &str = "\
Usage: nsinit-init [-g] [-s] [--] CMD [ARGS...]

Run CMD as the child of a tiny init: forward signals to it, reap zombies,
exit with its status (128+N when killed by signal N).

Options:
  -g          forward signals to CMD's whole process group
  -s          register as a child subreaper (when not running as PID 1)
  -h, --help  print this help
";

/// USAGE followed by the exit-code table, for `--help`.
pub fn help() -> String {
    format!("{USAGE}\n{EXIT_CODES_HELP}")
}

/// Validated options of the applet.
#[derive(Debug, PartialEq, Eq)]
pub struct InitArgs {
    pub shim: ShimOptions,
    /// CMD and its arguments (never empty).
    pub command: Vec<OsString>,
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    Run(InitArgs),
    Help,
}

/// Parse the arguments after the applet name. Options stop at the first
/// non-option (or `--`): everything from CMD on belongs to CMD.
pub fn parse(args: Vec<OsString>) -> Result<Parsed> {
    use lexopt::Arg::{Long, Short, Value};
    let mut parser = lexopt::Parser::from_args(args);
    let mut shim = ShimOptions::default();
    let mut command = Vec::new();
    while let Some(arg) = parser.next().map_err(|e| cli::usage_error(e, USAGE))? {
        match arg {
            Short('g') => shim.group = true,
            Short('s') => shim.subreaper = true,
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Value(cmd) => {
                command.push(cmd);
                let rest = parser.raw_args().map_err(|e| cli::usage_error(e, USAGE))?;
                command.extend(rest);
                break;
            }
            other => return Err(cli::usage_error(other.unexpected(), USAGE)),
        }
    }
    if command.is_empty() {
        return Err(cli::usage(format!("missing command\n{USAGE}")));
    }
    Ok(Parsed::Run(InitArgs { shim, command }))
}

pub fn main(args: Vec<OsString>) -> Result<ExitCode> {
    let args = match parse(args)? {
        Parsed::Help => {
            cli::out(&help());
            return Ok(ExitCode::SUCCESS);
        }
        Parsed::Run(args) => args,
    };
    let env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    let command = PreparedExec::new(&args.command, &env)?;
    match init::start(args.shim)? {
        Forked::Child => command.exec_or_exit("nsinit-init"),
        Forked::Shim(supervisor) => Ok(ExitCode::from(supervisor.run())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Parsed> {
        parse(args.iter().map(OsString::from).collect())
    }

    fn ok(args: &[&str]) -> InitArgs {
        match run(args) {
            Ok(Parsed::Run(a)) => a,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn command_and_arguments() {
        let a = ok(&["sleep", "100"]);
        assert_eq!(a.command, ["sleep", "100"]);
        assert_eq!(a.shim, ShimOptions::default());
    }

    #[test]
    fn group_and_subreaper_flags() {
        let both = ShimOptions {
            group: true,
            subreaper: true,
            child_mask: None,
        };
        let a = ok(&["-g", "-s", "--", "true"]);
        assert_eq!(a.shim, both);
        assert_eq!(a.command, ["true"]);
        assert_eq!(ok(&["-gs", "true"]).shim, both);
        let s = ok(&["-s", "true"]).shim;
        assert!(s.subreaper && !s.group);
        let g = ok(&["-g", "true"]).shim;
        assert!(g.group && !g.subreaper);
    }

    #[test]
    fn options_after_the_command_belong_to_it() {
        let a = ok(&["sh", "-c", "exit 7", "-g", "--"]);
        assert_eq!(a.command, ["sh", "-c", "exit 7", "-g", "--"]);
        assert!(!a.shim.group);
        let a = ok(&["--", "-s"]);
        assert_eq!(a.command, ["-s"]);
        assert!(!a.shim.subreaper);
    }

    #[test]
    fn help() {
        assert_eq!(run(&["-h"]).ok(), Some(Parsed::Help));
        assert_eq!(run(&["--help", "x"]).ok(), Some(Parsed::Help));
        assert!(super::help().starts_with(USAGE) && super::help().ends_with(EXIT_CODES_HELP));
    }

    #[test]
    fn errors_are_usage_errors() {
        let e = run(&[]).err().unwrap();
        assert_eq!(e.code(), 2);
        assert!(e.to_string().starts_with("missing command\n"), "{e}");
        let e = run(&["--"]).err().unwrap();
        assert!(e.to_string().starts_with("missing command"), "{e}");
        let e = run(&["-x", "true"]).err().unwrap();
        assert_eq!(e.code(), 2);
        assert!(e.to_string().starts_with("invalid option '-x'"), "{e}");
    }
}
