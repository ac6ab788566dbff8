//! Capabilities: the five sets of a container process (bounding, effective,
//! permitted, inheritable, ambient), applied in the order the kernel allows
//! and read back afterwards, bubblewrap-style: a set that is not exactly what
//! was asked aborts the start.
//!
//! Nothing is inherited from nsinit's caller: the inheritable and ambient sets
//! are empty unless configured (CVE-2022-29162: with inheritable = permitted, a
//! non-root user got ambient capabilities and a binary calling setresuid(0)
//! became root).

use rustix::io::Errno;
use rustix::thread::{CapabilitySet, CapabilitySets};

use crate::config::CAPABILITY_NAMES;
use crate::error::{Context, Error, Result};

/// The five capability sets of a container process, each a bit mask of
/// capability numbers (`1 << CAP_SETUID`…).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapSets {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

impl CapSets {
    /// container.json's `capabilities` list (2014 schema): the bounding,
    /// effective and permitted sets; inheritable and ambient stay empty.
    pub fn from_list(list: u64) -> Self {
        CapSets {
            bounding: list,
            effective: list,
            permitted: list,
            inheritable: 0,
            ambient: 0,
        }
    }

    /// The relations the kernel enforces (or that execve would silently undo),
    /// checked before anything is changed; the error names the capability.
    pub fn check(&self) -> Result<()> {
        let rules = [
            (
                self.effective & !self.permitted,
                "effective",
                "permitted set",
            ),
            (
                self.inheritable & !self.bounding,
                "inheritable",
                "bounding set (the kernel refuses it)",
            ),
            (
                self.ambient & !(self.permitted & self.inheritable),
                "ambient",
                "permitted and inheritable sets (the kernel requires both)",
            ),
        ];
        for (stray, set, needs) in rules {
            if stray != 0 {
                return Err(Error::new(format!(
                    "capabilities: {set} {} is not in the {needs}",
                    cap_name(stray.trailing_zeros())
                )));
            }
        }
        Ok(())
    }
}

/// `CAP_NAME` for a capability number (the number when nsinit has no name).
pub fn cap_name(cap: u32) -> String {
    match CAPABILITY_NAMES.get(cap as usize) {
        Some(n) => format!("CAP_{n}"),
        None => format!("capability {cap}"),
    }
}

fn one(cap: u32) -> CapabilitySet {
    CapabilitySet::from_bits_retain(1 << cap)
}

/// Drop every capability not in `keep` from the bounding set.
///
/// Why before the user switch: dropping needs CAP_SETPCAP, which a non-root
/// user no longer has afterwards.
pub fn drop_bounding_caps(keep: u64) -> Result<()> {
    for cap in 0..64u32 {
        if keep & (1 << cap) != 0 {
            continue;
        }
        match rustix::thread::remove_capability_from_bounding_set(one(cap)) {
            Ok(()) => {}
            // Past the kernel's last capability.
            Err(Errno::INVAL) => break,
            Err(e) => {
                return Err(e).ctx(|| format!("drop {} from the bounding set", cap_name(cap)));
            }
        }
    }
    Ok(())
}

/// capset the effective, permitted and inheritable sets, then make the
/// ambient set exactly `sets.ambient`. Runs after the uid switch (with
/// PR_SET_KEEPCAPS for a non-root user, so the permitted set survived it),
/// on sets that passed [`CapSets::check`].
pub fn apply_caps(sets: &CapSets) -> Result<()> {
    rustix::thread::set_capabilities(
        None,
        CapabilitySets {
            effective: CapabilitySet::from_bits_retain(sets.effective),
            permitted: CapabilitySet::from_bits_retain(sets.permitted),
            inheritable: CapabilitySet::from_bits_retain(sets.inheritable),
        },
    )
    .map_err(|e| {
        // Asking for more than nsinit holds (a caller whose bounding set
        // lacks some: a container, a restricted service): say which.
        let held = rustix::thread::capabilities(None).map_or(0, |c| c.permitted.bits());
        let more = names(" (nsinit itself does not hold ", sets.permitted & !held);
        Error::sys(format!("capset{more}"), e)
    })?;
    // Why clear first: nsinit's caller may have run it with ambient capabilities.
    rustix::thread::clear_ambient_capability_set().ctx(|| "prctl PR_CAP_AMBIENT_CLEAR_ALL")?;
    for cap in (0..64u32).filter(|c| sets.ambient & (1 << c) != 0) {
        rustix::thread::configure_capability_in_ambient_set(one(cap), true)
            .ctx(|| format!("raise ambient {}", cap_name(cap)))?;
    }
    Ok(())
}

/// Read all five sets back (capget, PR_CAPBSET_READ for every capability up
/// to the kernel's last, PR_CAP_AMBIENT_IS_SET where an ambient bit can be)
/// and fail on any difference from `want`.
pub fn verify_caps(want: &CapSets) -> Result<()> {
    let have = current_caps()?;
    let sets = [
        ("bounding", want.bounding, have.bounding),
        ("effective", want.effective, have.effective),
        ("permitted", want.permitted, have.permitted),
        ("inheritable", want.inheritable, have.inheritable),
        ("ambient", want.ambient, have.ambient),
    ];
    for (set, want, have) in sets {
        if want != have {
            return Err(Error::new(format!(
                "verify capabilities: the {set} set is {have:#x}, expected {want:#x}{}{}",
                names(" (missing ", want & !have),
                names(" (unexpected ", have & !want),
            )));
        }
    }
    Ok(())
}

fn names(label: &str, mask: u64) -> String {
    if mask == 0 {
        return String::new();
    }
    let list: Vec<String> = (0..64u32)
        .filter(|c| mask & (1 << c) != 0)
        .map(cap_name)
        .collect();
    format!("{label}{})", list.join(", "))
}

/// The calling thread's five sets, as the kernel reports them.
///
/// The bounding set is read up to the kernel's last capability, where
/// PR_CAPBSET_READ fails with EINVAL (/proc, which names it, may be the
/// container's by now). The ambient set is asked only for capabilities in
/// both the permitted and inheritable sets just read: "no capability can ever
/// be ambient if it is not both permitted and inheritable" (capabilities(7);
/// `cap_capset` intersects the ambient set with both), so any other bit is 0.
pub fn current_caps() -> Result<CapSets> {
    let three = rustix::thread::capabilities(None).ctx(|| "capget")?;
    let mut sets = CapSets {
        effective: three.effective.bits(),
        permitted: three.permitted.bits(),
        inheritable: three.inheritable.bits(),
        ..CapSets::default()
    };
    let mut known = false;
    for cap in 0..64u32 {
        match rustix::thread::capability_is_in_bounding_set(one(cap)) {
            Ok(b) => sets.bounding |= u64::from(b) << cap,
            Err(Errno::INVAL) if known => break,
            Err(e) => return Err(e).ctx(|| format!("prctl PR_CAPBSET_READ {}", cap_name(cap))),
        }
        known = true;
    }
    let possible = sets.permitted & sets.inheritable;
    for cap in (0..64u32).filter(|c| possible & (1 << c) != 0) {
        let in_ambient = rustix::thread::capability_is_in_ambient_set(one(cap))
            .ctx(|| format!("prctl PR_CAP_AMBIENT_IS_SET {}", cap_name(cap)))?;
        sets.ambient |= u64::from(in_ambient) << cap;
    }
    Ok(sets)
}

/// Keep permitted capabilities across the setuid to a non-root user.
pub fn keep_caps(on: bool) -> Result<()> {
    rustix::thread::set_keep_capabilities(on).ctx(|| "prctl PR_SET_KEEPCAPS")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETUID: u64 = 1 << 7;
    const KILL: u64 = 1 << 5;

    #[test]
    fn the_2014_list_lowers_to_three_sets() {
        let s = CapSets::from_list(SETUID | KILL);
        assert_eq!(
            s,
            CapSets {
                bounding: SETUID | KILL,
                effective: SETUID | KILL,
                permitted: SETUID | KILL,
                inheritable: 0,
                ambient: 0,
            }
        );
        assert_eq!(s.check(), Ok(()));
    }

    #[test]
    fn check_names_the_capability_that_breaks_a_kernel_rule() {
        let mut s = CapSets::from_list(KILL);
        s.ambient = SETUID;
        assert_eq!(
            s.check().unwrap_err().to_string(),
            "capabilities: ambient CAP_SETUID is not in the permitted and inheritable sets \
             (the kernel requires both)"
        );
        s = CapSets::from_list(KILL);
        s.effective |= SETUID;
        assert_eq!(
            s.check().unwrap_err().to_string(),
            "capabilities: effective CAP_SETUID is not in the permitted set"
        );
        s = CapSets::from_list(KILL);
        s.inheritable = SETUID;
        assert_eq!(
            s.check().unwrap_err().to_string(),
            "capabilities: inheritable CAP_SETUID is not in the bounding set (the kernel refuses it)"
        );
        s = CapSets::from_list(SETUID | KILL);
        s.inheritable = SETUID;
        s.ambient = SETUID;
        assert_eq!(s.check(), Ok(()));
    }

    #[test]
    fn names_unknown_numbers_too() {
        assert_eq!(cap_name(7), "CAP_SETUID");
        assert_eq!(cap_name(63), "capability 63");
    }

    #[test]
    fn the_test_process_reads_back_consistently() {
        // No privilege needed: reading our own sets.
        let have = current_caps().unwrap();
        assert_eq!(verify_caps(&have), Ok(()));
        let mut other = have;
        other.ambient ^= KILL;
        let e = verify_caps(&other).unwrap_err().to_string();
        assert!(
            e.starts_with("verify capabilities: the ambient set is "),
            "{e}"
        );
        assert!(e.contains("CAP_KILL)"), "{e}");
    }
}
