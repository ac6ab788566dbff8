//! `nsinit`: the main CLI.

use std::ffi::OsString;
use std::process::ExitCode;

use crate::error::{Error, Result};

pub fn main(args: Vec<OsString>) -> Result<ExitCode> {
    let _ = args;
    Err(Error::new("not implemented yet"))
}
