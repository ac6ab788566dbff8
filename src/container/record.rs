//! The container record: what the host side knows about a container, kept
//! out of the container's reach in a root-only store directory, as flat
//! files named after the container directory's key (or the OCI id):
//! `/run/nsinit/<key>` (empty: the lock), `/run/nsinit/<key>:state.json`,
//! `/run/nsinit/<key>:container.json` (and `<key>:exec.fifo` of a created
//! OCI container).
//!
//! The container directory is often the rootfs itself, the container's own
//! `/`: nothing nsinit acts on is read back from there. The store is 0700
//! and root's; every file in it is opened relative to its descriptor
//! without following links, must be a regular file, and is read with a size
//! cap. Writes are atomic: a temp file created exclusively, then renamed or
//! swapped into place; a state change to a state file of at most a page is
//! one write of a page in place (readers hold the lock; see
//! [`rewrite_in_place`]).
//! Why files, not a directory per record: on a disk-backed `/run` (ext4,
//! as on some hosts and this project's CI machines) a directory gets a block
//! at mkdir, and its rmdir discards it synchronously, 0.1 to 0.4 ms of a
//! start; small files written and removed within seconds never get one.
//! `:` cannot occur in a key (see [`check_name`]), so no record's file name
//! is another record's.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, FlockOperation, Mode, OFlags};
use rustix::io::Errno;

use super::state::State;
use crate::error::{Context, Error, Result};

/// Where root's records live.
pub const STORE: &str = "/run/nsinit";

/// Where records live: [`STORE`] for root, under `$XDG_RUNTIME_DIR`
/// for a user (see [`super::rootless::store`]).
pub fn store() -> Result<PathBuf> {
    super::rootless::store("nsinit")
}
const STATE: &str = "state.json";
const CONFIG: &str = "container.json";
/// A created OCI container's exec fifo (see `nsinit-oci create`).
pub const FIFO: &str = "exec.fifo";
/// Every file a record may have besides its lock.
const FILES: [&str; 3] = [STATE, CONFIG, FIFO];
/// The largest record or config file nsinit reads.
pub const MAX_FILE: u64 = 16 << 20;

/// A locked record (its lock file created if missing). The lock is
/// released when this is dropped.
pub struct Record {
    /// `<store>/<key>`, flocked: the record's identity.
    lock: OwnedFd,
    /// The store, which holds the record's files.
    dir: OwnedFd,
    store: PathBuf,
    pub key: String,
}

/// The record key of a container directory (canonical, absolute): two
/// independent 64-bit FNV-1a hashes of its path, in hex.
pub fn key_of(dir: &Path) -> String {
    let bytes = dir.as_os_str().as_encoded_bytes();
    let fnv = |basis: u64| {
        bytes.iter().fold(basis, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    format!(
        "{:016x}{:016x}",
        fnv(0xcbf2_9ce4_8422_2325),
        fnv(0x6c62_272e_07bb_0142)
    )
}

/// Open (creating it 0700 if needed) a store directory, checking that it
/// is a real directory owned by us and closed to everyone else.
fn open_store(store: &Path) -> Result<OwnedFd> {
    let shown = store.display();
    match rustix::fs::mkdir(store, Mode::RWXU) {
        Ok(()) | Err(Errno::EXIST) => {}
        Err(e) => return Err(e).ctx(|| format!("mkdir {shown}")),
    }
    let fd = rustix::fs::open(
        store,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx(|| format!("open directory {shown}"))?;
    let st = rustix::fs::fstat(&fd).ctx(|| format!("stat {shown}"))?;
    if st.st_uid != rustix::process::geteuid().as_raw() {
        return Err(Error::new(format!(
            "{shown} belongs to uid {}, not to us: refusing to keep container records there",
            st.st_uid
        )));
    }
    if st.st_mode & 0o077 != 0 {
        rustix::fs::fchmod(&fd, Mode::RWXU).ctx(|| format!("chmod 0700 {shown}"))?;
    }
    Ok(fd)
}

/// A record name: a container id (`nsinit-oci`) or a key (`nsinit`).
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 1024
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::new(format!(
            "bad container id {name:?} (letters, digits, `_+.-`, not starting with `.`)"
        ))
        .with_code(2))
    }
}

impl Record {
    /// Lock the record of the container directory `dir` (canonical),
    /// creating an empty one when there is none.
    pub fn lock(dir: &Path) -> Result<Record> {
        Record::open_in(&store()?, &key_of(dir), true)
    }

    /// Lock the record of `dir` if there is one (nothing is created).
    pub fn find(dir: &Path) -> Result<Option<Record>> {
        Record::find_key(&key_of(dir))
    }

    /// Lock the record `key` (as `nsinit list` shows it) if it exists.
    pub fn find_key(key: &str) -> Result<Option<Record>> {
        Record::find_in(&store()?, key)
    }

    /// Lock the record `name` under `store` if it exists.
    pub fn find_in(store: &Path, key: &str) -> Result<Option<Record>> {
        match Record::open_in(store, key, false) {
            Err(e) if e.errno() == Some(Errno::NOENT) => Ok(None),
            r => r.map(Some),
        }
    }

    /// Lock the record `key` under `store`, creating it when `create`.
    pub fn open_in(store: &Path, key: &str, create: bool) -> Result<Record> {
        check_name(key)?;
        let dir = open_store(store)?;
        let shown = || store.join(key).display().to_string();
        let mut flags =
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        if create {
            flags |= OFlags::CREATE;
        }
        loop {
            let lock = match rustix::fs::openat(&dir, key, flags, Mode::RUSR | Mode::WUSR) {
                Err(Errno::ISDIR) => {
                    return Err(Error::new(format!(
                        "{} is a directory, not a container record of this nsinit (a \
                         record of an older one, whose container must be stopped with \
                         it): remove it by hand",
                        shown()
                    )));
                }
                r => r.ctx(|| format!("open {}", shown()))?,
            };
            rustix::fs::flock(&lock, FlockOperation::LockExclusive)
                .ctx(|| format!("lock {}", shown()))?;
            let st = rustix::fs::fstat(&lock).ctx(|| format!("stat {}", shown()))?;
            if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
                return Err(Error::new(format!(
                    "{} is not a regular file: not a container record",
                    shown()
                )));
            }
            // Whoever held the lock may have removed the record: retry on
            // a fresh lock file then.
            if st.st_nlink > 0 {
                return Ok(Record {
                    lock,
                    dir,
                    store: store.to_path_buf(),
                    key: key.to_string(),
                });
            }
        }
    }

    pub fn store(&self) -> &Path {
        &self.store
    }

    /// The record's lock file, which names it in messages.
    pub fn path(&self) -> PathBuf {
        self.store.join(&self.key)
    }

    /// The name, in [`Record::dir_fd`], of the record's file `name`.
    pub fn file_name(&self, name: &str) -> String {
        format!("{}:{name}", self.key)
    }

    /// The path of the record's file `name`, for messages.
    pub fn file_path(&self, name: &str) -> PathBuf {
        self.store.join(self.file_name(name))
    }

    /// The store directory, which holds the record's files (see
    /// [`Record::file_name`]).
    pub fn dir_fd(&self) -> &OwnedFd {
        &self.dir
    }

    /// The recorded state, `None` when there is none. A state that cannot be
    /// read or parsed is an error, never "no container".
    pub fn state(&self) -> Result<Option<State>> {
        let name = self.file_name(STATE);
        let Some(bytes) = read_file_at(&self.dir, &name)
            .ctx(|| format!("container record {}", self.store.display()))?
        else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            Error::new(format!(
                "container record {} is corrupt: {e} (nothing was changed; \
                 `nsinit destroy --force` removes the record, and a running \
                 container's supervisor removes the rest when it exits)",
                self.file_path(STATE).display()
            ))
        })
    }

    pub fn write_state(&self, st: &State) -> Result<()> {
        let mut text =
            serde_json::to_vec_pretty(st).map_err(|e| Error::new(format!("encode state: {e}")))?;
        text.push(b'\n');
        let name = self.file_name(STATE);
        let done = match rewrite_in_place(&self.dir, &name, &text) {
            Ok(true) => Ok(()),
            Ok(false) => write_file_at(&self.dir, &name, &text),
            Err(e) => Err(e),
        };
        done.ctx(|| format!("container record {}", self.store.display()))
    }

    /// The container.json text the container was created from.
    pub fn config(&self) -> Result<String> {
        let bytes = read_file_at(&self.dir, &self.file_name(CONFIG))
            .ctx(|| format!("container record {}", self.store.display()))?
            .ok_or_else(|| {
                Error::new(format!(
                    "container record {} has no {CONFIG}",
                    self.path().display()
                ))
            })?;
        String::from_utf8(bytes)
            .map_err(|_| Error::new(format!("{}: not UTF-8", self.file_path(CONFIG).display())))
    }

    pub fn save_config(&self, text: &str) -> Result<()> {
        write_file_at(&self.dir, &self.file_name(CONFIG), text.as_bytes())
            .ctx(|| format!("container record {}", self.store.display()))
    }

    /// Remove the record's files, then its lock file (the lock stays held
    /// until drop, so a waiter sees the lock file gone and starts afresh).
    pub fn remove(&self) -> Result<()> {
        for file in FILES {
            let name = self.file_name(file);
            unlink_at(&self.dir, &name)?;
            // A temp file a killed nsinit left mid-write.
            unlink_at(&self.dir, &format!(".{name}.tmp"))?;
        }
        self.unlink_lock()
            .ctx(|| format!("remove {}", self.path().display()))
    }

    /// Unlink the lock file unless it is gone already. While it is linked,
    /// the name is ours: only holders of the lock remove it, and nothing
    /// renames it.
    fn unlink_lock(&self) -> std::result::Result<(), Errno> {
        if rustix::fs::fstat(&self.lock)?.st_nlink == 0 {
            return Ok(());
        }
        match rustix::fs::unlinkat(&self.dir, self.key.as_str(), AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

impl Drop for Record {
    /// A record left empty (a start that failed before writing anything, a
    /// supervisor that found its record destroyed) is removed, still under
    /// the lock, which only a holder removes or replaces.
    fn drop(&mut self) {
        // Removed already (by `remove`, or by another holder before us).
        if rustix::fs::fstat(&self.lock).is_ok_and(|st| st.st_nlink == 0) {
            return;
        }
        let empty = FILES.iter().all(|f| {
            let name = self.file_name(f);
            matches!(
                rustix::fs::statat(&self.dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW),
                Err(Errno::NOENT)
            )
        });
        if empty {
            let _ = self.unlink_lock();
        }
    }
}

/// Every record name in `store`: its lock files (a name with `:` or a
/// leading `.` is a record's file, a temp file or nothing of ours).
pub fn keys(store: &Path) -> Result<Vec<String>> {
    let shown = store.display();
    let fd = match rustix::fs::open(
        store,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Err(Errno::NOENT) => return Ok(Vec::new()),
        r => r.ctx(|| format!("open {shown}"))?,
    };
    let mut keys = Vec::new();
    let mut dir = rustix::fs::Dir::read_from(&fd).ctx(|| format!("read {shown}"))?;
    while let Some(entry) = dir.read() {
        let entry = entry.ctx(|| format!("read {shown}"))?;
        let name = entry.file_name().to_string_lossy();
        if check_name(&name).is_ok() && entry.file_type() != FileType::Directory {
            keys.push(name.into_owned());
        }
    }
    keys.sort();
    Ok(keys)
}

/// Read `name` under `dir` without following a link: `None` if absent; an
/// error unless it is a regular file of at most [`MAX_FILE`] bytes (a FIFO,
/// a device or a link planted there is refused, never opened for reading).
pub fn read_file_at(dir: impl AsFd, name: &str) -> Result<Option<Vec<u8>>> {
    let fd = match rustix::fs::openat(
        &dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(None),
        Err(Errno::LOOP) => return Err(Error::new(format!("{name}: is a symbolic link"))),
        Err(e) => return Err(e).ctx(|| format!("open {name}")),
    };
    let st = rustix::fs::fstat(&fd).ctx(|| format!("stat {name}"))?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(Error::new(format!("{name}: not a regular file")));
    }
    if st.st_size as u64 > MAX_FILE {
        return Err(Error::new(format!(
            "{name}: {} bytes, more than the {MAX_FILE} nsinit reads",
            st.st_size
        )));
    }
    let mut out = Vec::with_capacity(st.st_size as usize);
    let mut buf = [0u8; 16 * 1024];
    loop {
        match rustix::io::read(&fd, &mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                if out.len() as u64 > MAX_FILE {
                    return Err(Error::new(format!("{name}: grew past {MAX_FILE} bytes")));
                }
            }
            Err(Errno::INTR) => {}
            Err(e) => return Err(e).ctx(|| format!("read {name}")),
        }
    }
    Ok(Some(out))
}

/// Replace `name` under `dir` atomically without following links: write a
/// temp file created exclusively (a planted one is removed first, never
/// followed), then put it in `name`'s place (see [`replace_at`]). The temp
/// file never outlives a failure.
pub fn write_file_at(dir: impl AsFd, name: &str, bytes: &[u8]) -> Result<()> {
    let tmp = format!(".{name}.tmp");
    unlink_at(&dir, &tmp)?;
    let fd = rustix::fs::openat(
        &dir,
        tmp.as_str(),
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::RUSR | Mode::WUSR,
    )
    .ctx(|| format!("create {tmp}"))?;
    let written = write_all(&fd, bytes).ctx(|| format!("write {tmp}"));
    drop(fd);
    let done = written.and_then(|()| replace_at(&dir, &tmp, name));
    if done.is_err() {
        let _ = rustix::fs::unlinkat(&dir, tmp.as_str(), AtFlags::empty());
    }
    done
}

/// Move `tmp` to `name` atomically. An existing `name` is swapped with
/// `tmp` (`RENAME_EXCHANGE`) and the old file then unlinked: ext4 flushes a
/// file renamed over another at once (`auto_da_alloc`), which costs a start
/// milliseconds on the rename and again on the unlink at teardown, which
/// waits for that write. A plain rename where there is nothing to swap with
/// or the filesystem cannot swap.
fn replace_at(dir: impl AsFd, tmp: &str, name: &str) -> Result<()> {
    use rustix::fs::RenameFlags;
    match rustix::fs::renameat_with(&dir, tmp, &dir, name, RenameFlags::EXCHANGE) {
        Ok(()) => return unlink_at(&dir, tmp),
        Err(Errno::NOENT | Errno::INVAL | Errno::NOSYS | Errno::NOTSUP) => {}
        Err(e) => return Err(e).ctx(|| format!("exchange {tmp} with {name}")),
    }
    rustix::fs::renameat(&dir, tmp, &dir, name).ctx(|| format!("rename {tmp} to {name}"))
}

/// The most [`rewrite_in_place`] writes: one page, which a single write
/// at offset 0 copies in one step (a killed writer leaves all or nothing).
const IN_PLACE_MAX: usize = 4096;

/// Rewrite the record file `name` in place, without a new file: `false`
/// (nothing done) when there is none or it or `bytes` is larger than a
/// page, then the caller writes a new one. Only for files in the locked
/// record directory, whose readers hold the lock: one `pwrite` at offset 0
/// of at most a page, padded with JSON whitespace to the old length so no
/// truncation is needed, is all-or-nothing for a killed writer. Why: a
/// new file per state change costs an inode allocation and a deletion,
/// which on an ext4 without journal (`/run` on some hosts) scans every
/// recently deleted inode and discards the freed blocks at once.
fn rewrite_in_place(dir: impl AsFd, name: &str, bytes: &[u8]) -> Result<bool> {
    if bytes.len() > IN_PLACE_MAX {
        return Ok(false);
    }
    let fd = match rustix::fs::openat(
        &dir,
        name,
        OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        // A link or anything odd at the name is replaced by a new file.
        Err(Errno::NOENT | Errno::LOOP | Errno::NXIO | Errno::ISDIR) => return Ok(false),
        Err(e) => return Err(e).ctx(|| format!("open {name}")),
    };
    let st = rustix::fs::fstat(&fd).ctx(|| format!("stat {name}"))?;
    let old = usize::try_from(st.st_size).unwrap_or(usize::MAX);
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile
        || st.st_nlink != 1
        || old > IN_PLACE_MAX
    {
        return Ok(false);
    }
    let mut page = [b' '; IN_PLACE_MAX];
    page[..bytes.len()].copy_from_slice(bytes);
    let len = bytes.len().max(old);
    match rustix::io::pwrite(&fd, &page[..len], 0) {
        Ok(n) if n == len => Ok(true),
        // Never seen for one page of a regular file; a new file then
        // replaces whatever this left.
        Ok(_) | Err(Errno::INTR) => Ok(false),
        Err(e) => Err(e).ctx(|| format!("write {name}")),
    }
}

fn write_all(fd: &OwnedFd, mut bytes: &[u8]) -> std::result::Result<(), Errno> {
    while !bytes.is_empty() {
        match rustix::io::write(fd, bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Remove `name` under `dir` (missing is fine; a directory there is not ours
/// and is left alone with an error).
pub fn unlink_at(dir: impl AsFd, name: &str) -> Result<()> {
    match rustix::fs::unlinkat(&dir, name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(e).ctx(|| format!("remove {name}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir(tag: &str) -> (PathBuf, OwnedFd) {
        let dir = std::env::temp_dir().join(format!("nsinit-rec-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let fd = open_store(&dir).unwrap();
        (dir, fd)
    }

    #[test]
    fn keys_differ_and_are_hex() {
        let a = key_of(Path::new("/a/b"));
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, key_of(Path::new("/a/c")));
        assert_eq!(a, key_of(Path::new("/a/b")));
    }

    #[test]
    fn files_are_written_atomically_and_links_refused() {
        let (dir, fd) = tempdir("files");
        assert_eq!(read_file_at(&fd, "x").unwrap(), None);
        write_file_at(&fd, "x", b"one").unwrap();
        assert_eq!(read_file_at(&fd, "x").unwrap().unwrap(), b"one");
        // A link planted at the temp name is replaced, not followed.
        let victim = dir.join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join(".x.tmp")).unwrap();
        write_file_at(&fd, "x", b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(read_file_at(&fd, "x").unwrap().unwrap(), b"two");
        // A link or a FIFO at the name itself is refused for reading.
        std::os::unix::fs::symlink(&victim, dir.join("link")).unwrap();
        let e = read_file_at(&fd, "link").unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        rustix::fs::mknodat(&fd, "fifo", FileType::Fifo, Mode::RUSR | Mode::WUSR, 0).unwrap();
        let e = read_file_at(&fd, "fifo").unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_replaced_file_is_swapped_in_and_the_old_one_removed() {
        let (dir, fd) = tempdir("swap");
        write_file_at(&fd, "x", b"one").unwrap();
        let before = std::fs::metadata(dir.join("x")).unwrap();
        let mut held = std::fs::File::open(dir.join("x")).unwrap();
        write_file_at(&fd, "x", b"two").unwrap();
        assert_eq!(read_file_at(&fd, "x").unwrap().unwrap(), b"two");
        assert!(!dir.join(".x.tmp").exists(), "the old file was left");
        let after = std::fs::metadata(dir.join("x")).unwrap();
        assert_ne!(
            std::os::unix::fs::MetadataExt::ino(&before),
            std::os::unix::fs::MetadataExt::ino(&after),
            "a new file, not a rewrite"
        );
        // A reader of the old file still sees it whole.
        let mut old = String::new();
        std::io::Read::read_to_string(&mut held, &mut old).unwrap();
        assert_eq!(old, "one");
        // A link planted at the name is replaced, never followed.
        let victim = dir.join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::fs::remove_file(dir.join("x")).unwrap();
        std::os::unix::fs::symlink(&victim, dir.join("x")).unwrap();
        write_file_at(&fd, "x", b"three").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(read_file_at(&fd, "x").unwrap().unwrap(), b"three");
        assert!(!dir.join(".x.tmp").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_state_change_is_written_in_place_and_reads_back_whole() {
        let (store, _fd) = tempdir("inplace");
        let r = Record::open_in(&store, "k", true).unwrap();
        let path = store.join(format!("k:{STATE}"));
        let mut st = State {
            rootfs: "/a/long/rootfs/path/to/make/the/first/state/longer".into(),
            ..State::default()
        };
        r.write_state(&st).unwrap();
        let ino = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&path).unwrap());
        let long = std::fs::metadata(&path).unwrap().len();
        // Shorter: the same file, padded with whitespace, parsing as the new state.
        st.rootfs = "/r".into();
        st.init_pid = 42;
        r.write_state(&st).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(
            std::os::unix::fs::MetadataExt::ino(&meta),
            ino,
            "rewritten in place"
        );
        assert_eq!(meta.len(), long);
        let back = r.state().unwrap().unwrap();
        assert_eq!((back.rootfs, back.init_pid), (PathBuf::from("/r"), 42));
        // Larger than a page: a new file swapped in.
        st.rootfs = "/x".repeat(3000).into();
        r.write_state(&st).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_ne!(std::os::unix::fs::MetadataExt::ino(&meta), ino);
        assert_eq!(r.state().unwrap().unwrap().rootfs, st.rootfs);
        // A link at the name is replaced, never written through.
        let victim = store.join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        st.rootfs = "/r".into();
        r.write_state(&st).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(r.state().unwrap().unwrap().rootfs, Path::new("/r"));
        r.remove().unwrap();
        drop(r);
        std::fs::remove_dir_all(&store).unwrap();
    }

    #[test]
    fn a_record_is_flat_files_and_leaves_nothing_when_removed() {
        let (store, _fd) = tempdir("flat");
        let r = Record::open_in(&store, "a.b", true).unwrap();
        r.write_state(&State::default()).unwrap();
        r.save_config("{}").unwrap();
        let mut names: Vec<String> = std::fs::read_dir(&store)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["a.b", "a.b:container.json", "a.b:state.json"]);
        // Only lock files are records; a directory at a key (an older
        // nsinit's record) is named in the error, never used.
        std::fs::create_dir(store.join("old")).unwrap();
        assert_eq!(keys(&store).unwrap(), ["a.b"]);
        let e = Record::open_in(&store, "old", true)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("old is a directory"), "{e}");
        std::fs::remove_dir(store.join("old")).unwrap();
        r.remove().unwrap();
        drop(r);
        assert_eq!(std::fs::read_dir(&store).unwrap().count(), 0);
        std::fs::remove_dir_all(&store).unwrap();
    }

    #[test]
    fn an_empty_record_goes_with_its_lock_and_a_corrupt_one_stays() {
        let (store, _fd) = tempdir("store");
        let key = "00ff";
        let path = store.join(key);
        // Nothing written: the lock file goes when the lock is dropped.
        drop(Record::open_in(&store, key, true).unwrap());
        assert!(!path.exists(), "an empty record was left");
        // A record with a state stays; a corrupt state is an error naming
        // it, and nothing is changed.
        let r = Record::open_in(&store, key, true).unwrap();
        r.write_state(&State::default()).unwrap();
        drop(r);
        let state = store.join(format!("{key}:{STATE}"));
        std::fs::write(&state, "{\"status\": ").unwrap();
        let r = Record::find_in(&store, key).unwrap().expect("the record");
        let e = r.state().unwrap_err().to_string();
        assert!(
            e.contains(&format!("{} is corrupt", state.display())),
            "{e}"
        );
        drop(r);
        assert_eq!(std::fs::read_to_string(&state).unwrap(), "{\"status\": ");
        // Removed under the lock: a waiter retries on a fresh lock file.
        let r = Record::find_in(&store, key).unwrap().unwrap();
        r.remove().unwrap();
        drop(r);
        assert!(Record::find_in(&store, key).unwrap().is_none());
        std::fs::remove_dir_all(&store).unwrap();
    }
}
