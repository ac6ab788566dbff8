//! Networking (placeholder until the network branch lands).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::{Network, Route};
use crate::error::Result;

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct NetState {
    pub veth_host: String,
    pub veth_child: String,
    pub ns_path: String,
}

pub fn check_host(_networks: &[Network]) -> Result<()> {
    Ok(())
}
pub fn setup_host(_networks: &[Network], _child_pid: i32) -> Result<NetState> {
    Ok(NetState::default())
}
pub fn setup_container(_networks: &[Network], _routes: &[Route], _state: &NetState) -> Result<()> {
    Ok(())
}
pub fn join_netns(_path: &Path) -> Result<()> {
    Ok(())
}
pub fn teardown_host(_state: &NetState) -> Result<()> {
    Ok(())
}
pub fn stats(_state: &NetState) -> Result<serde_json::Value> {
    Ok(serde_json::Value::Null)
}
