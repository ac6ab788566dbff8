//! cgroups (placeholder until the cgroup branch lands).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::config::Cgroups;
use crate::error::Result;

#[derive(Debug, Default)]
pub struct CgroupManager {
    paths: BTreeMap<String, PathBuf>,
}

impl CgroupManager {
    pub fn create(_cfg: &Cgroups) -> Result<CgroupManager> {
        Ok(CgroupManager::default())
    }
    pub fn from_paths(paths: &BTreeMap<String, PathBuf>) -> CgroupManager {
        CgroupManager {
            paths: paths.clone(),
        }
    }
    pub fn paths(&self) -> BTreeMap<String, PathBuf> {
        self.paths.clone()
    }
    pub fn add_process(&self, _pid: i32) -> Result<()> {
        Ok(())
    }
    pub fn pids(&self) -> Result<Vec<i32>> {
        Ok(vec![])
    }
    pub fn kill_all(&self) -> Result<()> {
        Ok(())
    }
    pub fn destroy(&self) -> Result<()> {
        Ok(())
    }
    pub fn freeze(&self) -> Result<()> {
        Ok(())
    }
    pub fn thaw(&self) -> Result<()> {
        Ok(())
    }
    pub fn stats(&self) -> Result<serde_json::Value> {
        Ok(serde_json::Value::Null)
    }
    pub fn oom_killed(&self) -> bool {
        false
    }
}

impl CgroupManager {
    pub fn is_frozen(&self) -> bool {
        false
    }
}
