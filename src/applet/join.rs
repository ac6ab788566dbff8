//! `nsinit-join`: enter a running container.

use std::ffi::OsString;
use std::process::ExitCode;

use crate::error::{Error, Result};

pub fn main(_args: Vec<OsString>) -> Result<ExitCode> {
    Err(Error::new("join: not implemented yet"))
}
