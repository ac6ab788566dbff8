//! `user` resolution against the container's own /etc/passwd and /etc/group:
//! `name`, `uid`, `name:group` or `uid:gid`, with supplementary groups from
//! /etc/group membership and HOME from passwd.

use std::io::Read;

use rustix::fs::{FileType, Mode, OFlags};

use crate::error::{Error, Result};

/// The most of /etc/passwd or /etc/group read (a real one is a few KiB).
const MAX_DB: u64 = 1 << 20;

/// The text of the container's /etc/passwd or /etc/group (`path`, opened in
/// the container's root), or "" when there is none. The container owns the
/// file: a FIFO there must not stall a start or a join (opened non-blocking,
/// regular files only), nor a link to /dev/zero fill memory (capped); such a
/// file counts as missing, with a warning.
pub fn read_db(path: &str) -> String {
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let Ok(fd) = rustix::fs::open(path, flags, Mode::empty()) else {
        return String::new();
    };
    let regular = rustix::fs::fstat(&fd)
        .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::RegularFile);
    if !regular {
        crate::log::warn(&format_args!(
            "the container's {path} is not a regular file: ignored"
        ));
        return String::new();
    }
    let mut text = String::new();
    let read = std::fs::File::from(fd)
        .take(MAX_DB + 1)
        .read_to_string(&mut text);
    if read.is_err() || text.len() as u64 > MAX_DB {
        crate::log::warn(&format_args!(
            "the container's {path} is not text of at most {MAX_DB} bytes: ignored"
        ));
        return String::new();
    }
    text
}

/// The identity a container process runs as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecUser {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub home: String,
}

struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

fn passwd_entries(passwd: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    passwd.lines().filter_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() < 7 || l.starts_with('#') {
            return None;
        }
        Some(PasswdEntry {
            name: f[0],
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
            home: f[5],
        })
    })
}

/// (name, gid, members) of each /etc/group line.
fn group_entries(group: &str) -> impl Iterator<Item = (&str, u32, Vec<&str>)> {
    group.lines().filter_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() < 4 || l.starts_with('#') {
            return None;
        }
        let members = f[3].split(',').filter(|m| !m.is_empty()).collect();
        Some((f[0], f[2].parse().ok()?, members))
    })
}

/// Resolve `spec` (None = root) against the text of /etc/passwd and /etc/group.
pub fn resolve_user(spec: Option<&str>, passwd: &str, group: &str) -> Result<ExecUser> {
    let spec = spec.unwrap_or("0");
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let entry =
        passwd_entries(passwd).find(|e| e.name == user_part || e.uid.to_string() == user_part);
    let (uid, mut gid, home, name) = match (&entry, user_part.parse::<u32>()) {
        (Some(e), _) => (e.uid, e.gid, e.home.to_string(), Some(e.name)),
        (None, Ok(uid)) => (uid, 0, "/".to_string(), None),
        (None, Err(_)) => {
            return Err(Error::new(format!(
                "user {user_part:?}: no such user in the container's /etc/passwd"
            )));
        }
    };
    if let Some(g) = group_part {
        gid = match group_entries(group).find(|(n, id, _)| *n == g || id.to_string() == g) {
            Some((_, id, _)) => id,
            None => g.parse().map_err(|_| {
                Error::new(format!(
                    "group {g:?}: no such group in the container's /etc/group"
                ))
            })?,
        };
    }
    let mut groups: Vec<u32> = match name {
        Some(n) => group_entries(group)
            .filter(|(_, _, m)| m.contains(&n))
            .map(|(_, id, _)| id)
            .collect(),
        None => Vec::new(),
    };
    groups.retain(|g| *g != gid);
    groups.dedup();
    Ok(ExecUser {
        uid,
        gid,
        groups,
        home,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
    const GROUP: &str =
        "root:x:0:\ndaemon:x:1:\naudio:x:29:daemon\nplugdev:x:46:daemon,nobody\nnogroup:x:65534:\n";

    #[test]
    fn root_by_default() {
        let u = resolve_user(None, PASSWD, GROUP).unwrap();
        assert_eq!(
            u,
            ExecUser {
                uid: 0,
                gid: 0,
                groups: vec![],
                home: "/root".into()
            }
        );
    }

    #[test]
    fn name_gives_home_and_supplementary_groups() {
        let u = resolve_user(Some("daemon"), PASSWD, GROUP).unwrap();
        assert_eq!(
            u,
            ExecUser {
                uid: 1,
                gid: 1,
                groups: vec![29, 46],
                home: "/usr/sbin".into()
            }
        );
    }

    #[test]
    fn numeric_forms() {
        let u = resolve_user(Some("1000:1000"), PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (1000, 1000, "/"));
        let u = resolve_user(Some("65534"), PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid), (65534, 65534));
        let u = resolve_user(Some("nobody:audio"), PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid, u.groups.clone()), (65534, 29, vec![46]));
    }

    #[test]
    fn unknown_names_are_errors() {
        let e = resolve_user(Some("alice"), PASSWD, GROUP).unwrap_err();
        assert_eq!(
            e.to_string(),
            "user \"alice\": no such user in the container's /etc/passwd"
        );
        let e = resolve_user(Some("daemon:wheel"), PASSWD, GROUP).unwrap_err();
        assert_eq!(
            e.to_string(),
            "group \"wheel\": no such group in the container's /etc/group"
        );
    }
}
