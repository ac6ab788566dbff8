//! Where the cgroup hierarchies are, as this process sees them: parsed from
//! `/proc/self/mountinfo` (mount points, mount roots, controllers) and
//! `/proc/self/cgroup` (the caller's own cgroup in each hierarchy). No path
//! is assumed: v1, v2 and hybrid layouts all come out of the same parse.

use std::path::{Path, PathBuf};

use crate::error::{Context, Error, Result};

/// One mounted cgroup hierarchy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hierarchy {
    /// Where it is mounted (`/sys/fs/cgroup/memory`).
    pub mount_point: PathBuf,
    /// The cgroup the mount shows as its top (mountinfo field 4), usually `/`.
    pub root: String,
    /// v1: the controllers bound to it (`cpu`, `memory`, `name=systemd`); v2: empty.
    pub controllers: Vec<String>,
    /// The caller's own cgroup in this hierarchy, from `/proc/self/cgroup`.
    pub own: String,
}

impl Hierarchy {
    /// The directory of `cgroup` (an absolute path inside the hierarchy).
    pub fn dir_of(&self, cgroup: &str) -> Result<PathBuf> {
        let rel = if self.root == "/" {
            Some(cgroup.trim_start_matches('/'))
        } else if cgroup == self.root {
            Some("")
        } else {
            cgroup
                .strip_prefix(self.root.as_str())
                .and_then(|r| r.strip_prefix('/'))
        };
        match rel {
            Some("") => Ok(self.mount_point.clone()),
            Some(rel) => Ok(self.mount_point.join(rel)),
            None => Err(Error::new(format!(
                "cgroup {cgroup} is outside the part of the hierarchy mounted at {} (root {})",
                self.mount_point.display(),
                self.root
            ))),
        }
    }

    /// Is this the v1 hierarchy of `controller`?
    pub fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }
}

/// Every cgroup hierarchy this process can use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    /// Mounted v1 hierarchies, in `/proc/self/cgroup` order.
    pub v1: Vec<Hierarchy>,
    /// The cgroup2 hierarchy, when mounted.
    pub unified: Option<Hierarchy>,
}

/// A /proc file whole. Why not `read_to_string`: with no room in the
/// string it probes a file of size 0 with 32-byte reads and doubles, nine
/// read calls for a mountinfo; with room for a page or two it is two.
pub(crate) fn read_proc(path: &str) -> Result<String> {
    use std::io::Read;
    let mut s = String::with_capacity(8192);
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_string(&mut s))
        .ctx(|| format!("read {path}"))?;
    Ok(s)
}

impl Layout {
    /// Read `/proc/self/mountinfo` and `/proc/self/cgroup`.
    pub fn detect() -> Result<Layout> {
        let mountinfo = read_proc("/proc/self/mountinfo")?;
        let cgroup = read_proc("/proc/self/cgroup")?;
        Layout::parse(&mountinfo, &cgroup)
    }

    /// Build the layout from the two files' contents.
    pub fn parse(mountinfo: &str, proc_cgroup: &str) -> Result<Layout> {
        let mounts: Vec<MountLine> = cgroup_mount_lines(mountinfo).collect();
        let mut layout = Layout::default();
        for line in proc_cgroup.lines().filter(|l| !l.is_empty()) {
            let mut parts = line.splitn(3, ':');
            let (Some(_id), Some(list), Some(own)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(Error::new(format!(
                    "/proc/self/cgroup: malformed line {line:?}"
                )));
            };
            if list.is_empty() {
                let found = best_mount(&mounts, own, |m| m.fstype == "cgroup2");
                layout.unified = found.map(|m| Hierarchy {
                    mount_point: m.mount_point.clone(),
                    root: m.root.clone(),
                    controllers: Vec::new(),
                    own: own.to_string(),
                });
                continue;
            }
            let controllers: Vec<String> = list.split(',').map(str::to_string).collect();
            let found = best_mount(&mounts, own, |m| {
                m.fstype == "cgroup" && controllers.iter().all(|c| m.options.iter().any(|o| o == c))
            });
            if let Some(m) = found {
                layout.v1.push(Hierarchy {
                    mount_point: m.mount_point.clone(),
                    root: m.root.clone(),
                    controllers,
                    own: own.to_string(),
                });
            }
        }
        Ok(layout)
    }

    /// The v1 hierarchy carrying `controller`, if one is mounted.
    pub fn v1_for(&self, controller: &str) -> Option<&Hierarchy> {
        self.v1.iter().find(|h| h.has(controller))
    }

    /// The layout with every mount point moved under `root` (for tests that
    /// lay out a fake cgroupfs in a temporary directory).
    pub fn rebased(mut self, root: &Path) -> Layout {
        let rebase = |h: &mut Hierarchy| {
            h.mount_point = root.join(h.mount_point.strip_prefix("/").unwrap_or(&h.mount_point));
        };
        self.v1.iter_mut().for_each(rebase);
        self.unified.iter_mut().for_each(rebase);
        self
    }
}

/// The mount points of every cgroup (v1) and cgroup2 mount in `mountinfo`.
pub fn cgroup_mounts(mountinfo: &str) -> Vec<PathBuf> {
    cgroup_mount_lines(mountinfo)
        .map(|m| m.mount_point)
        .collect()
}

/// The cgroup (v1) and cgroup2 mounts of `mountinfo`, parsed; the other
/// lines are skipped on their file system type, unparsed.
fn cgroup_mount_lines(mountinfo: &str) -> impl Iterator<Item = MountLine> + '_ {
    mountinfo
        .lines()
        .filter(|l| {
            l.split_once(" - ")
                .and_then(|(_, post)| post.split(' ').next())
                .is_some_and(|t| t == "cgroup" || t == "cgroup2")
        })
        .filter_map(parse_mount_line)
}

/// The fields of a mountinfo line nsinit uses.
pub(crate) struct MountLine {
    /// The mount id (as statx's `STATX_MNT_ID` gives it).
    pub id: u64,
    pub root: String,
    pub mount_point: PathBuf,
    pub fstype: String,
    /// Superblock options (for cgroup v1: the controllers, `name=…`).
    pub options: Vec<String>,
}

/// `36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue`
pub(crate) fn parse_mount_line(line: &str) -> Option<MountLine> {
    let (pre, post) = line.split_once(" - ")?;
    let pre: Vec<&str> = pre.split(' ').collect();
    let mut post = post.split(' ');
    let (fstype, _source, options) = (post.next()?, post.next()?, post.next()?);
    Some(MountLine {
        id: pre.first()?.parse().ok()?,
        root: unescape(pre.get(3)?),
        mount_point: PathBuf::from(unescape(pre.get(4)?)),
        fstype: fstype.to_string(),
        options: options.split(',').map(str::to_string).collect(),
    })
}

/// Undo mountinfo's octal escapes (`\040` for a space, …).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b
            .get(i + 1..i + 4)
            .filter(|d| b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match oct {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Of the mounts matching `pred`, the one whose root contains `own` most
/// closely (a bind mount of a sub-cgroup loses to the whole hierarchy).
fn best_mount<'a>(
    mounts: &'a [MountLine],
    own: &str,
    pred: impl Fn(&MountLine) -> bool,
) -> Option<&'a MountLine> {
    let contains = |m: &MountLine| {
        m.root == "/"
            || own == m.root
            || own
                .strip_prefix(m.root.as_str())
                .is_some_and(|r| r.starts_with('/'))
    };
    let candidates = mounts.iter().filter(|m| pred(m));
    candidates
        .filter(|m| contains(m))
        .min_by_key(|m| m.root.len())
}

/// The hierarchy-absolute path of the container's cgroup: `parent/name`,
/// under `own` unless `parent` is absolute. Refuses `..` and an empty or
/// slash-containing `name`.
pub fn cgroup_path(own: &str, parent: &str, name: &str) -> Result<String> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(Error::new(format!("invalid cgroup name {name:?}")));
    }
    if parent.split('/').any(|c| c == "..") {
        return Err(Error::new(format!(
            "invalid cgroup parent {parent:?}: contains \"..\""
        )));
    }
    let base = if parent.starts_with('/') { "" } else { own };
    let parts = base.split('/').chain(parent.split('/')).chain([name]);
    let mut path = String::new();
    for part in parts.filter(|p| !p.is_empty() && *p != ".") {
        path.push('/');
        path.push_str(part);
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine's layout: v1 controllers one per hierarchy, a named
    /// systemd hierarchy, and cgroup2 at /sys/fs/cgroup/unified (hybrid).
    pub const HYBRID_MOUNTINFO: &str = "\
22 1 8:1 / / rw,relatime - ext4 /dev/vda rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    pub const HYBRID_CGROUP: &str = "\
9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/9089
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
";

    #[test]
    fn parses_a_hybrid_layout() {
        let l = Layout::parse(HYBRID_MOUNTINFO, HYBRID_CGROUP).unwrap();
        assert_eq!(l.v1.len(), 9);
        let mem = l.v1_for("memory").unwrap();
        assert_eq!(mem.mount_point, Path::new("/sys/fs/cgroup/memory"));
        assert_eq!(mem.own, "/process_api/9089");
        assert_eq!(mem.root, "/");
        assert_eq!(
            l.v1_for("name=systemd").unwrap().mount_point,
            Path::new("/sys/fs/cgroup/systemd")
        );
        assert!(l.v1_for("hugetlb").is_none());
        let u = l.unified.unwrap();
        assert_eq!(u.mount_point, Path::new("/sys/fs/cgroup/unified"));
        assert_eq!(u.own, "/");
    }

    #[test]
    fn parses_comounted_controllers_and_pure_v2() {
        let mi = "\
30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:10 - cgroup cgroup rw,cpu,cpuacct
31 25 0:27 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup cgroup rw,net_cls,net_prio
";
        let cg = "4:net_cls,net_prio:/\n3:cpu,cpuacct:/user.slice\n2:memory:/\n";
        let l = Layout::parse(mi, cg).unwrap();
        assert_eq!(l.v1.len(), 2, "memory is not mounted, so it is not usable");
        let cpu = l.v1_for("cpuacct").unwrap();
        assert_eq!(cpu.mount_point, Path::new("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(cpu.controllers, ["cpu", "cpuacct"]);
        assert!(l.unified.is_none());

        let mi = "29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev - cgroup2 cgroup2 rw,nsdelegate\n";
        let l = Layout::parse(mi, "0::/user.slice/user-0.slice/session-1.scope\n").unwrap();
        assert!(l.v1.is_empty());
        let u = l.unified.unwrap();
        assert_eq!(u.own, "/user.slice/user-0.slice/session-1.scope");
        assert_eq!(
            u.dir_of(&u.own).unwrap(),
            Path::new("/sys/fs/cgroup/user.slice/user-0.slice/session-1.scope")
        );
    }

    #[test]
    fn mount_roots_and_escapes() {
        // A container's view: the hierarchy is mounted from /docker/abc, and
        // a path with a space is escaped as \040.
        let mi = "\
40 31 0:37 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
41 31 0:38 /docker/abc /my\\040cg rw - cgroup2 none rw
";
        let l = Layout::parse(mi, "4:memory:/docker/abc/inner\n0::/docker/abc\n").unwrap();
        let mem = l.v1_for("memory").unwrap();
        assert_eq!(
            mem.dir_of("/docker/abc/inner/c1").unwrap(),
            Path::new("/sys/fs/cgroup/memory/inner/c1")
        );
        assert_eq!(
            mem.dir_of("/docker/abc").unwrap(),
            Path::new("/sys/fs/cgroup/memory")
        );
        let err = mem.dir_of("/docker/abcd/x").unwrap_err().to_string();
        assert!(err.contains("outside the part of the hierarchy"), "{err}");
        assert_eq!(l.unified.unwrap().mount_point, Path::new("/my cg"));
    }

    #[test]
    fn placement_relative_and_absolute() {
        assert_eq!(
            cgroup_path("/process_api/x", "nsinit", "c1").unwrap(),
            "/process_api/x/nsinit/c1"
        );
        assert_eq!(cgroup_path("/", "", "c1").unwrap(), "/c1");
        assert_eq!(
            cgroup_path("/user.slice", "/docker/", "c1").unwrap(),
            "/docker/c1"
        );
        assert_eq!(cgroup_path("/a", "b//./c", "d").unwrap(), "/a/b/c/d");
        assert!(
            cgroup_path("/", "../../etc", "c1")
                .unwrap_err()
                .to_string()
                .contains("..")
        );
        assert!(cgroup_path("/", "", "a/b").is_err());
        assert!(cgroup_path("/", "", "").is_err());
        assert!(cgroup_path("/", "", "..").is_err());
    }

    #[test]
    fn rebasing_moves_every_mount_point() {
        let l = Layout::parse(HYBRID_MOUNTINFO, HYBRID_CGROUP)
            .unwrap()
            .rebased(Path::new("/tmp/t"));
        assert_eq!(
            l.v1_for("pids").unwrap().mount_point,
            Path::new("/tmp/t/sys/fs/cgroup/pids")
        );
        assert_eq!(
            l.unified.unwrap().mount_point,
            Path::new("/tmp/t/sys/fs/cgroup/unified")
        );
    }
}
