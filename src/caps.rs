//! Capabilities: keep exactly the configured set in the bounding, permitted,
//! effective and inheritable sets (and ambient for a non-root user).

use rustix::io::Errno;
use rustix::thread::{CapabilitySet, CapabilitySets};

use crate::error::{Context, Result};

/// Drop every capability not in `keep` from the bounding set.
///
/// Why before the user switch: dropping needs CAP_SETPCAP, which a non-root
/// user no longer has afterwards.
pub fn drop_bounding_caps(keep: u64) -> Result<()> {
    for cap in 0..64u32 {
        if keep & (1 << cap) != 0 {
            continue;
        }
        match rustix::thread::remove_capability_from_bounding_set(CapabilitySet::from_bits_retain(
            1 << cap,
        )) {
            Ok(()) => {}
            // Past the kernel's last capability.
            Err(Errno::INVAL) => break,
            Err(e) => return Err(e).ctx(|| format!("drop capability {cap} from the bounding set")),
        }
    }
    Ok(())
}

/// Set effective = permitted = inheritable = `keep`, and raise the ambient set
/// for a non-root user so the capabilities survive execve.
pub fn apply_caps(keep: u64, non_root: bool) -> Result<()> {
    let set = CapabilitySet::from_bits_retain(keep);
    rustix::thread::set_capabilities(
        None,
        CapabilitySets {
            effective: set,
            permitted: set,
            inheritable: set,
        },
    )
    .ctx(|| "capset")?;
    if non_root {
        for cap in (0..64u32).filter(|c| keep & (1 << c) != 0) {
            rustix::thread::configure_capability_in_ambient_set(
                CapabilitySet::from_bits_retain(1 << cap),
                true,
            )
            .ctx(|| format!("raise ambient capability {cap}"))?;
        }
    }
    Ok(())
}

/// Keep permitted capabilities across the setuid to a non-root user.
pub fn keep_caps(on: bool) -> Result<()> {
    rustix::thread::set_keep_capabilities(on).ctx(|| "prctl PR_SET_KEEPCAPS")
}
