//! Changing a running container's limits (`nsinit-oci update`, runc's
//! `update`): each requested group of limits goes to the directory the
//! container already has for it, v1 first, as at create.

use super::{CgroupManager, GROUPS, Layout, UNIFIED, v2};
use crate::config::Cgroups;
use crate::error::{Context, Error, Result};

impl CgroupManager {
    /// Apply the limits set in `cfg` to the existing cgroups. The device
    /// rules are left as they are (they are fixed at create). On cgroup v2 a
    /// controller the container was created without is enabled on the way
    /// down to its leaf first.
    pub fn update(&self, cfg: &Cgroups) -> Result<()> {
        let mut layout = None;
        for g in GROUPS.iter().filter(|g| !g.v2.is_empty()) {
            let fields = (g.requested)(cfg);
            if fields.is_empty() {
                continue;
            }
            if let Some(dir) = self.paths.get(g.v1) {
                (g.apply_v1)(dir, cfg).ctx(|| format!("update {}", fields.join(", ")))?;
            } else if let Some(dir) = self.paths.get(UNIFIED) {
                if layout.is_none() {
                    layout = Some(Layout::detect().ctx(|| "cgroups")?);
                }
                if let Some(u) = layout.as_ref().and_then(|l| l.unified.as_ref()) {
                    if !super::v2_offered(u)?.iter().any(|c| c == g.v2) {
                        return Err(Error::new(format!(
                            "cannot update {}: cgroup v2 has no {} controller",
                            fields.join(", "),
                            g.v2
                        )));
                    }
                    v2::enable_controllers(&u.mount_point, dir, &[g.v2])?;
                }
                (g.apply_v2)(dir, cfg).ctx(|| format!("update {}", fields.join(", ")))?;
            } else {
                return Err(Error::new(format!(
                    "cannot update {}: the container has no {} cgroup",
                    fields.join(", "),
                    g.v1
                )));
            }
        }
        if let Some((file, _)) = cfg.unified.first()
            && !self.paths.contains_key(UNIFIED)
        {
            return Err(Error::new(format!(
                "cannot update unified {file:?}: the container has no cgroup v2 directory"
            )));
        }
        for (file, value) in &cfg.unified {
            let dir = &self.paths[UNIFIED];
            super::fs::write(dir, file, value).ctx(|| format!("update unified {file:?}"))?;
        }
        Ok(())
    }
}
