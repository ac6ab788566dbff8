//! `nsinit-init`: the built-in init shim (PID 1).

use std::ffi::OsString;
use std::process::ExitCode;

use crate::error::{Error, Result};

pub fn main(_args: Vec<OsString>) -> Result<ExitCode> {
    Err(Error::new("init: not implemented yet"))
}
