//! Join a running container (placeholder until the join path lands).

use super::process::ProcessSpec;
use super::state::State;
use crate::config::Config;
use crate::error::{Error, Result};

pub fn join_container(_cfg: &Config, _st: &State, _spec: ProcessSpec) -> Result<u8> {
    Err(Error::new("join: not implemented yet"))
}
