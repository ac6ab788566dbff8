//! Mount option strings (`ro`, `nosuid`, `rbind`, `rslave`, `size=64m`) to
//! flags, as crun's `mount_flags` table: each known option sets or clears
//! `MS_*` flags or names a propagation; anything else is filesystem data.

use linux_raw_sys::general as g;

const RDONLY: u64 = g::MS_RDONLY as u64;
const NOSUID: u64 = g::MS_NOSUID as u64;
const NODEV: u64 = g::MS_NODEV as u64;
const NOEXEC: u64 = g::MS_NOEXEC as u64;
const SYNC: u64 = g::MS_SYNCHRONOUS as u64;
const DIRSYNC: u64 = g::MS_DIRSYNC as u64;
const MAND: u64 = g::MS_MANDLOCK as u64;
const NOATIME: u64 = g::MS_NOATIME as u64;
const NODIRATIME: u64 = g::MS_NODIRATIME as u64;
const RELATIME: u64 = g::MS_RELATIME as u64;
const STRICTATIME: u64 = g::MS_STRICTATIME as u64;
const LAZYTIME: u64 = g::MS_LAZYTIME as u64;
const SILENT: u64 = g::MS_SILENT as u64;
const IVERSION: u64 = g::MS_I_VERSION as u64;
const NOSYMFOLLOW: u64 = g::MS_NOSYMFOLLOW as u64;
pub const BIND: u64 = g::MS_BIND as u64;
pub const REC: u64 = g::MS_REC as u64;
pub const PRIVATE: u64 = g::MS_PRIVATE as u64;
pub const SLAVE: u64 = g::MS_SLAVE as u64;
pub const SHARED: u64 = g::MS_SHARED as u64;
pub const UNBINDABLE: u64 = g::MS_UNBINDABLE as u64;

/// `MOUNT_ATTR_*` bits of mount_setattr(2), for the recursive options.
pub const ATTR_RDONLY: u64 = g::MOUNT_ATTR_RDONLY as u64;
pub const ATTR_NOSUID: u64 = g::MOUNT_ATTR_NOSUID as u64;
pub const ATTR_NODEV: u64 = g::MOUNT_ATTR_NODEV as u64;
pub const ATTR_NOEXEC: u64 = g::MOUNT_ATTR_NOEXEC as u64;
const ATTR_NODIRATIME: u64 = g::MOUNT_ATTR_NODIRATIME as u64;
const ATTR_NOSYMFOLLOW: u64 = g::MOUNT_ATTR_NOSYMFOLLOW as u64;
const ATTR_NOATIME: u64 = g::MOUNT_ATTR_NOATIME as u64;
const ATTR_STRICTATIME: u64 = g::MOUNT_ATTR_STRICTATIME as u64;
/// The access-time field: one value of it (relatime is 0) is set by
/// clearing the whole field and setting that value.
const ATTR_ATIME: u64 = g::MOUNT_ATTR__ATIME as u64;

/// What one option does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opt {
    Set(u64),
    Clear(u64),
    Propagation(u64),
    /// runtime-spec 1.1's recursive options (`rro`, `rnosuid`, …):
    /// `MOUNT_ATTR_*` bits set on the mount and every mount below it.
    RecSet(u64),
    /// … and cleared (`rrw`, `rsuid`, …).
    RecClear(u64),
    /// An access-time value for the whole tree (`rnoatime`, `rrelatime`, …).
    RecAtime(u64),
    /// `tmpcopyup`: a tmpfs starts with a copy of what it covers.
    CopyUp,
    /// `idmap` (false) or `ridmap` (true, the whole tree).
    Idmap(bool),
    /// Known, but this build cannot honour it.
    Unsupported,
}

/// Option → effect. `atime`-style options clear the `no` flag.
const TABLE: [(&str, Opt); 64] = [
    ("defaults", Opt::Set(0)),
    ("bind", Opt::Set(BIND)),
    ("rbind", Opt::Set(BIND | REC)),
    ("ro", Opt::Set(RDONLY)),
    ("rw", Opt::Clear(RDONLY)),
    ("nosuid", Opt::Set(NOSUID)),
    ("suid", Opt::Clear(NOSUID)),
    ("nodev", Opt::Set(NODEV)),
    ("dev", Opt::Clear(NODEV)),
    ("noexec", Opt::Set(NOEXEC)),
    ("exec", Opt::Clear(NOEXEC)),
    ("sync", Opt::Set(SYNC)),
    ("async", Opt::Clear(SYNC)),
    ("dirsync", Opt::Set(DIRSYNC)),
    ("mand", Opt::Set(MAND)),
    ("nomand", Opt::Clear(MAND)),
    ("noatime", Opt::Set(NOATIME)),
    ("atime", Opt::Clear(NOATIME)),
    ("nodiratime", Opt::Set(NODIRATIME)),
    ("diratime", Opt::Clear(NODIRATIME)),
    ("relatime", Opt::Set(RELATIME)),
    ("norelatime", Opt::Clear(RELATIME)),
    ("strictatime", Opt::Set(STRICTATIME)),
    ("nostrictatime", Opt::Clear(STRICTATIME)),
    ("lazytime", Opt::Set(LAZYTIME)),
    ("nolazytime", Opt::Clear(LAZYTIME)),
    ("silent", Opt::Set(SILENT)),
    ("loud", Opt::Clear(SILENT)),
    ("iversion", Opt::Set(IVERSION)),
    ("noiversion", Opt::Clear(IVERSION)),
    ("nosymfollow", Opt::Set(NOSYMFOLLOW)),
    ("symfollow", Opt::Clear(NOSYMFOLLOW)),
    ("private", Opt::Propagation(PRIVATE)),
    ("rprivate", Opt::Propagation(PRIVATE | REC)),
    ("slave", Opt::Propagation(SLAVE)),
    ("rslave", Opt::Propagation(SLAVE | REC)),
    ("shared", Opt::Propagation(SHARED)),
    ("rshared", Opt::Propagation(SHARED | REC)),
    ("unbindable", Opt::Propagation(UNBINDABLE)),
    ("runbindable", Opt::Propagation(UNBINDABLE | REC)),
    ("idmap", Opt::Idmap(false)),
    ("ridmap", Opt::Idmap(true)),
    ("rro", Opt::RecSet(ATTR_RDONLY)),
    ("rrw", Opt::RecClear(ATTR_RDONLY)),
    ("rnosuid", Opt::RecSet(ATTR_NOSUID)),
    ("rsuid", Opt::RecClear(ATTR_NOSUID)),
    ("rnodev", Opt::RecSet(ATTR_NODEV)),
    ("rdev", Opt::RecClear(ATTR_NODEV)),
    ("rnoexec", Opt::RecSet(ATTR_NOEXEC)),
    ("rexec", Opt::RecClear(ATTR_NOEXEC)),
    ("rnodiratime", Opt::RecSet(ATTR_NODIRATIME)),
    ("rdiratime", Opt::RecClear(ATTR_NODIRATIME)),
    ("rnosymfollow", Opt::RecSet(ATTR_NOSYMFOLLOW)),
    ("rsymfollow", Opt::RecClear(ATTR_NOSYMFOLLOW)),
    ("rnoatime", Opt::RecAtime(ATTR_NOATIME)),
    ("rstrictatime", Opt::RecAtime(ATTR_STRICTATIME)),
    ("rrelatime", Opt::RecAtime(0)),
    // Clearing noatime or strictatime leaves the kernel's default, relatime.
    ("ratime", Opt::RecAtime(0)),
    ("rnostrictatime", Opt::RecAtime(0)),
    ("rnorelatime", Opt::RecAtime(0)),
    ("tmpcopyup", Opt::CopyUp),
    ("copy-symlink", Opt::Unsupported),
    ("src-nofollow", Opt::Unsupported),
    ("remount", Opt::Unsupported),
];

/// The effect of one option, `None` for filesystem data (`size=64m`).
pub fn lookup(opt: &str) -> Option<Opt> {
    TABLE.iter().find(|(name, _)| *name == opt).map(|(_, o)| *o)
}

/// Every option name of the table, in its order.
pub fn names() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|(name, _)| *name)
}

/// Options parsed in order: a later option wins over an earlier one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub flags: u64,
    pub propagation: u64,
    /// Options no table entry knows, comma-joined, in order.
    pub data: Vec<String>,
    /// Known options this build does not implement.
    pub unsupported: Vec<String>,
    /// The recursive options folded: `MOUNT_ATTR_*` to set and to clear.
    pub recursive: RecAttr,
    /// `tmpcopyup` was given.
    pub copy_up: bool,
    /// `idmap` or `ridmap` (`Some(true)`), the last one given.
    pub idmap: Option<bool>,
}

/// Attributes set and cleared on a mount tree with mount_setattr(2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RecAttr {
    pub set: u64,
    pub clear: u64,
}

impl RecAttr {
    pub fn is_empty(&self) -> bool {
        *self == RecAttr::default()
    }
}

/// Fold a list of options into flags, propagation and data.
pub fn parse<'a>(opts: impl IntoIterator<Item = &'a str>) -> Parsed {
    let mut p = Parsed::default();
    for o in opts {
        match lookup(o) {
            Some(Opt::Set(f)) => p.flags |= f,
            Some(Opt::Clear(f)) => p.flags &= !f,
            Some(Opt::Propagation(f)) => p.propagation = f,
            Some(Opt::RecSet(f)) => {
                p.recursive.set |= f;
                p.recursive.clear &= !f;
            }
            Some(Opt::RecClear(f)) => {
                p.recursive.clear |= f;
                p.recursive.set &= !f;
            }
            Some(Opt::RecAtime(f)) => {
                p.recursive.set = (p.recursive.set & !ATTR_ATIME) | f;
                p.recursive.clear |= ATTR_ATIME;
            }
            Some(Opt::CopyUp) => p.copy_up = true,
            Some(Opt::Idmap(rec)) => p.idmap = Some(rec),
            Some(Opt::Unsupported) => p.unsupported.push(o.to_string()),
            None if o.is_empty() => {}
            None => p.data.push(o.to_string()),
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_sets_clears_and_collects_data() {
        let p = parse([
            "nosuid",
            "strictatime",
            "mode=755",
            "size=65536k",
            "ro",
            "rw",
        ]);
        assert_eq!(p.flags, NOSUID | STRICTATIME);
        assert_eq!(p.data, ["mode=755", "size=65536k"]);
        assert_eq!(p.propagation, 0);
        let p = parse(["rbind", "ro", "rslave", "nodev", "dev", "noexec"]);
        assert_eq!(p.flags, BIND | REC | RDONLY | NOEXEC);
        assert_eq!(p.propagation, SLAVE | REC);
        let p = parse(["private", "rshared"]);
        assert_eq!(p.propagation, SHARED | REC);
        assert_eq!(parse(["relatime", "norelatime", "suid"]).flags, 0);
        assert!(parse(["tmpcopyup", "rro"]).copy_up);
        assert_eq!(parse(["copy-symlink", "rro"]).unsupported, ["copy-symlink"]);
        assert_eq!(parse(["ridmap", "idmap"]).idmap, Some(false));
        assert_eq!(parse(["rbind", "ridmap"]).idmap, Some(true));
        let r = parse(["rro", "rnosuid", "rsuid", "rnoatime"]).recursive;
        assert_eq!(r.set, ATTR_RDONLY | ATTR_NOATIME);
        assert_eq!(r.clear, ATTR_NOSUID | ATTR_ATIME);
        let r = parse(["rnoatime", "rrelatime", "rro", "rrw"]).recursive;
        assert_eq!((r.set, r.clear), (0, ATTR_ATIME | ATTR_RDONLY));
        assert_eq!(parse(["ro", "nosuid"]).recursive, RecAttr::default());
        assert_eq!(lookup("noatime"), Some(Opt::Set(NOATIME)));
        assert_eq!(lookup("atime"), Some(Opt::Clear(NOATIME)));
        assert_eq!(lookup("gid=5"), None);
    }

    #[test]
    fn every_option_is_listed_once() {
        for (i, (a, _)) in TABLE.iter().enumerate() {
            assert!(TABLE[i + 1..].iter().all(|(b, _)| a != b), "{a}");
        }
    }
}
