//! Staged uploads: tfd's extension for uploads that several connections write
//! at once (`tf put --streams N`) or that resume after any interruption
//! (`tf put --resume`), and that still replace their target in one atomic
//! step, only once complete and verified.
//!
//! A stage is a hidden temporary beside its target, `.tfd-part-s<16 hex>`,
//! its name derived from the session's uid and the target's name, so every
//! session of the same user reaches the same stage for the same target (a
//! resume after SIGKILL of tf, of the session or of the whole server finds it
//! by name; nothing the client sends can name another one). It is created
//! 0600 by the session's user, marked tfd's own ([`super::tempmark`]) and
//! carries its journal in extended attributes, which move with the file and
//! are written with one call each:
//! - `user.tfd.id`: `<size> <identity>`, the source's size and the identity
//!   the client gave (its size, modification time and a hash of its content);
//!   a stage opened for another identity starts again from empty;
//! - `user.tfd.r.<start>`: `<end>`, a range `[start, end)` that is written
//!   (each connection keeps its own key, so concurrent writers never race on
//!   one value). A range is recorded after its data is written, so what the
//!   journal names is on the file (through a process's death; a power cut is
//!   caught by the final hash).
//!
//! - `user.tfd.epoch`: a random value written each time the stage is emptied,
//!   so a session that hashed bytes as it wrote them can tell at the commit
//!   that nobody emptied the stage since (its digest then still describes the
//!   file).
//!
//! The commit compares the stage's SHA-256 with the client's SHA-256 of its
//! source: only an exact match replaces the target (by rename, with the
//! target's mode and owner: [`super::upload::final_attrs`]); a mismatch
//! empties the stage, so the next attempt moves everything again. The bytes
//! a session wrote from offset 0 are hashed as they are written (the commit
//! on that session continues from there); whatever else the stage holds (an
//! earlier run's ranges, another connection's) is read back and hashed at
//! the commit, so nothing recorded but never proven in this session passes.

use super::tempmark::{self, TempKind};
use super::upload::{apply_attrs, final_attrs, replace_attrs, stamp_mtime, sync_dir, with_client_mode, TEMP_PREFIX};
use super::{FsError, Kind, RelPath, Root};
use sha2::{Digest, Sha256};
use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use tfd_sys as sys;
use tfp_wire::stage::Attrs;

/// The journal's identity attribute.
pub(super) const ID: &std::ffi::CStr = c"user.tfd.id";
/// The stage's epoch attribute (changes whenever the stage is emptied).
const EPOCH: &std::ffi::CStr = c"user.tfd.epoch";
/// The stage's generation: a new random value whenever a writer rewrites
/// bytes another writer may have written (and another session may have
/// hashed): a hash taken before it changed no longer proves the file.
const GEN: &std::ffi::CStr = c"user.tfd.gen";
/// The target's name (its last component), so that the stage's owner sees
/// what it is a stage of (`TFDSTAGES`).
pub(super) const NAME: &std::ffi::CStr = c"user.tfd.name";
/// Prefix of the range attributes (`user.tfd.r.<start>`).
const RANGE_PREFIX: &str = "user.tfd.r.";
/// Ranges kept after a compaction (a file system bounds a file's attributes:
/// ext4 to one block); more are merged away or forgotten, and moved again.
pub const MAX_RANGES: usize = 32;
/// The byte whose open-file-description read lock marks a `TFDSTAGEPUT`
/// writing ([`Stage::writing`]): past any data (8 EiB), and OFD locks never
/// meet the `flock` the stage's users and the sweeper take.
const WRITING_AT: i64 = i64::MAX - 1;

/// An open stage.
pub struct Stage {
    dir: OwnedFd,
    /// The target's name in `dir`.
    name: CString,
    /// The stage's own name in `dir`.
    tmp: CString,
    file: File,
    /// The declared size of the source.
    pub size: u64,
    /// This opener's token in the ranges it records.
    token: String,
}

/// A writer's mark on its stage ([`Stage::writing`]), let go when dropped: the
/// open file may live on (a hash following the writers shares it).
pub struct Writing<'a>(&'a File);

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        let _ = sys::ofd_setlk_range(self.0.as_fd(), sys::OfdLock::Unlock, WRITING_AT, 1);
    }
}

/// Why a stage cannot be had.
#[derive(Debug)]
pub enum StageError {
    /// A path or file-system failure.
    Fs(FsError),
    /// No stage exists for this target (TFDSTAGE first).
    Missing,
    /// The file system keeps no user attributes, so no journal.
    NoAttributes,
    /// Something not made by tfd holds the stage's name.
    Foreign,
    /// A stage left by a cut commit that another connection still holds.
    Busy,
}

impl From<FsError> for StageError {
    fn from(e: FsError) -> Self {
        StageError::Fs(e)
    }
}

impl From<std::io::Error> for StageError {
    fn from(e: std::io::Error) -> Self {
        StageError::Fs(e.into())
    }
}

/// An open of the stage's name that failed: a symlink there is not tfd's.
fn open_error(e: std::io::Error) -> StageError {
    if e.raw_os_error() == Some(libc::ELOOP) {
        StageError::Foreign
    } else {
        e.into()
    }
}

/// Removes what a commit cut between [`apply_attrs`] and its rename (the
/// session killed there) left under the stage's name: tfd's stage mark still
/// on it but the target's mode, and for a root session its owner, or (the
/// link(2) fallback cut before its unlink) a second name, the target's. It is
/// no longer provably private, so it is never reused: when nobody holds it
/// its name is unlinked and true is returned, for the caller to create a
/// fresh stage; while someone does (a commit still running holds it a
/// moment, the writers of a killed upload until their connections go),
/// [`StageError::Busy`], for the caller to wait. False: not such a stage.
fn cleared_cut_commit(
    dir: std::os::fd::BorrowedFd<'_>,
    tmp: &std::ffi::CStr,
    fd: std::os::fd::BorrowedFd<'_>,
    st: &libc::stat,
    me: u32,
) -> Result<bool, StageError> {
    // only root's commit gives a stage another owner
    if (st.st_uid != me && me != 0) || tempmark::proven(fd, st) != Some(TempKind::Stage) {
        return Ok(false);
    }
    if !sys::try_lock_exclusive(fd)? {
        return Err(StageError::Busy);
    }
    match sys::fstatat(dir, tmp, false) {
        Ok(now) if (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino) => {}
        // gone or replaced since: look again
        _ => return Ok(true),
    }
    sys::unlinkat(dir, tmp, false)?;
    log::info!(
        "stage {}: left by a commit cut before its rename (mode {:o}, owner {}, {} links); removed, the upload starts afresh",
        tmp.to_string_lossy(),
        st.st_mode & 0o7777,
        st.st_uid,
        st.st_nlink
    );
    Ok(true)
}

/// The stage's name for target `name` of user `uid`.
pub fn stage_name(uid: u32, name: &[u8]) -> CString {
    let mut h = Sha256::new();
    h.update(uid.to_be_bytes());
    h.update(name);
    let d = h.finalize();
    let mut t = TEMP_PREFIX.to_vec();
    t.push(b's');
    t.extend(tfp_wire::hex::encode(&d[..8]).into_bytes());
    // hex and the prefix: no NUL
    CString::new(t).unwrap_or_default()
}

/// Sorts and merges ranges, dropping empty ones and what lies past `limit`.
pub fn merge(mut v: Vec<(u64, u64)>, limit: u64) -> Vec<(u64, u64)> {
    v.retain(|&(a, b)| b > a && a < limit);
    v.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (a, b) in v {
        let b = b.min(limit);
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// The ranges the journal of the stage open as `f` names (unmerged).
pub(super) fn recorded_of(f: &File) -> Vec<(u64, u64)> {
    records_of(f).into_iter().map(|(a, b, _)| (a, b)).collect()
}

/// The ranges the journal names, each with the token of the writer that
/// recorded it last (`<end> <token>`; empty from an older tfd).
fn records_of(f: &File) -> Vec<(u64, u64, String)> {
    let Ok(names) = sys::flistxattr(f.as_fd()) else {
        return Vec::new();
    };
    names
        .iter()
        .filter_map(|n| {
            let start: u64 = std::str::from_utf8(n.strip_prefix(RANGE_PREFIX.as_bytes())?)
                .ok()?
                .parse()
                .ok()?;
            let key = CString::new(n.clone()).ok()?;
            let v = sys::fgetxattr(f.as_fd(), &key, 64).ok()?;
            let v = std::str::from_utf8(&v).ok()?;
            let (end, token) = v.split_once(' ').unwrap_or((v, ""));
            Some((start, end.parse().ok()?, token.to_string()))
        })
        .collect()
}

/// A fresh random token (hex).
fn token() -> String {
    let mut e = [0u8; 8];
    let _ = getrandom::getrandom(&mut e);
    tfp_wire::hex::encode(&e)
}

/// How far from `at` the stage open as `f` is written without a gap, as its
/// journal says (`at` itself when nothing there is recorded yet).
pub fn written_to(f: &File, at: u64, size: u64) -> u64 {
    merge(recorded_of(f), size)
        .into_iter()
        .find(|&(a, b)| a <= at && at <= b)
        .map_or(at, |(_, b)| b)
}

impl Stage {
    /// Opens (creating it if missing) the stage of `p` for a source of `size`
    /// bytes and `identity`; returns it and the ranges already written for
    /// that same source. `fresh` (or another identity) starts from empty.
    pub fn open(
        root: &Root,
        p: &RelPath,
        size: u64,
        identity: &[u8],
        fresh: bool,
    ) -> Result<(Stage, Vec<(u64, u64)>), StageError> {
        let mut st = Self::open_in(root, p, true)?;
        // best effort: a stage without it is listed by its own name
        let _ = sys::fsetxattr(st.file.as_fd(), NAME, st.name.as_bytes());
        let want = [size.to_string().as_bytes(), b" ", identity].concat();
        let have = sys::fgetxattr(st.file.as_fd(), ID, 512).ok();
        st.size = size;
        if fresh || have.as_deref() != Some(&want[..]) {
            st.reset(Some(&want))?;
            return Ok((st, Vec::new()));
        }
        // only what the file really holds: a range past its end (a crash
        // lost the tail) is not done
        let len = st.file.metadata()?.len().min(size);
        let mut done = merge(st.recorded(), len);
        done.truncate(MAX_RANGES);
        st.clear_ranges();
        for &(a, b) in &done {
            st.record(a, b);
        }
        Ok((st, done))
    }

    /// Opens the stage of `p`, which must exist (a range write, the commit).
    pub fn open_existing(root: &Root, p: &RelPath) -> Result<Stage, StageError> {
        let mut st = Self::open_in(root, p, false)?;
        let id = sys::fgetxattr(st.file.as_fd(), ID, 512).map_err(|_| StageError::Missing)?;
        let size = id
            .split(|&b| b == b' ')
            .next()
            .and_then(|n| std::str::from_utf8(n).ok()?.parse().ok());
        st.size = size.ok_or(StageError::Missing)?;
        Ok(st)
    }

    /// Opens the stage of `p`: created `O_CREAT|O_EXCL|O_NOFOLLOW` 0600 when
    /// missing (and `create`); an existing one is used only when it is
    /// provably this user's stage: a regular file owned by the session's
    /// uid, mode 0600 (no group or other bits), one link, and tfd's stage
    /// mark — or, empty and unmarked, a stage this same uid created and did
    /// not get to mark. Anything else (another account's file planted under
    /// the computable name, a hard link, a file others could open) is
    /// refused as [`StageError::Foreign`], never written through.
    fn open_in(root: &Root, p: &RelPath, create: bool) -> Result<Stage, StageError> {
        let (dir, name) = root.parent_new(p)?;
        let me = sys::geteuid();
        let tmp = stage_name(me, name.as_bytes());
        for _ in 0..4 {
            let base = libc::O_RDWR | libc::O_NONBLOCK | libc::O_NOCTTY;
            let (fd, made) = match create
                .then(|| sys::openat_nofollow(dir.as_fd(), &tmp, base | libc::O_CREAT | libc::O_EXCL, 0o600))
            {
                Some(Ok(fd)) => (fd, true),
                Some(Err(e)) if e.raw_os_error() != Some(libc::EEXIST) => return Err(open_error(e)),
                _ => match sys::openat_nofollow(dir.as_fd(), &tmp, base, 0) {
                    Ok(fd) => (fd, false),
                    // removed since (the sweeper, a commit): try again
                    Err(e) if create && e.raw_os_error() == Some(libc::ENOENT) => continue,
                    Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Err(StageError::Missing),
                    Err(e) => return Err(open_error(e)),
                },
            };
            let st = sys::fstat(fd.as_fd())?;
            if Kind::of(&st) != Kind::File {
                return Err(StageError::Foreign);
            }
            if st.st_uid != me || st.st_nlink != 1 || (!made && st.st_mode & 0o7777 != 0o600) {
                if create && cleared_cut_commit(dir.as_fd(), &tmp, fd.as_fd(), &st, me)? {
                    continue;
                }
                return Err(StageError::Foreign);
            }
            if made {
                // the umask may have taken bits; a stage is 0600 exactly
                sys::fchmod(fd.as_fd(), 0o600)?;
            }
            // held shared while in use: the sweeper needs it exclusive
            sys::lock_shared(fd.as_fd())?;
            // the sweeper may have removed it between the open and the lock
            match sys::fstatat(dir.as_fd(), &tmp, false) {
                Ok(now) if (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino) => {}
                _ => continue,
            }
            match tempmark::proven(fd.as_fd(), &st) {
                Some(TempKind::Stage) => {}
                None if create && st.st_size == 0 && sys::fgetxattr(fd.as_fd(), ID, 8).is_err() => {
                    if let Err(e) = tempmark::mark(fd.as_fd(), TempKind::Stage) {
                        let _ = sys::unlinkat(dir.as_fd(), &tmp, false);
                        return Err(if tempmark::is_unsupported(&e) {
                            StageError::NoAttributes
                        } else {
                            e.into()
                        });
                    }
                }
                _ => return Err(StageError::Foreign),
            }
            return Ok(Stage {
                dir,
                name,
                tmp,
                file: File::from(fd),
                size: 0,
                token: token(),
            });
        }
        Err(StageError::Fs(FsError::Stale))
    }

    /// The file, for writing ranges (positioned writes by the caller).
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Marks the stage written through this opener until the mark is dropped
    /// or the open file goes (SIGKILL included), so that a commit on another
    /// connection waits for what it still writes ([`Stage::others_writing`]).
    /// `None` where the file system keeps no such locks: no commit waits.
    pub fn writing(&self) -> Option<Writing<'_>> {
        // never refused: a read lock meets only write locks, which nobody takes
        match sys::ofd_setlk_range(self.file.as_fd(), sys::OfdLock::Shared, WRITING_AT, 1) {
            Ok(taken) => taken.then_some(Writing(&self.file)),
            Err(e) => {
                log::warn!("stage: no writer's mark on the stage ({e}): a commit will not wait for this writer");
                None
            }
        }
    }

    /// Whether another opener (connection) holds its [`Stage::writing`] mark
    /// now; this one's own never counts; without such locks, no one.
    pub fn others_writing(&self) -> bool {
        sys::ofd_held_range(self.file.as_fd(), sys::OfdLock::Exclusive, WRITING_AT, 1).unwrap_or(false)
    }

    /// The ranges the journal names (unmerged).
    fn recorded(&self) -> Vec<(u64, u64)> {
        recorded_of(&self.file)
    }

    /// A second descriptor on the stage (a hash that follows the writers).
    pub fn clone_file(&self) -> Result<File, StageError> {
        Ok(self.file.try_clone()?)
    }

    fn clear_ranges(&self) {
        for n in sys::flistxattr(self.file.as_fd()).unwrap_or_default() {
            if n.starts_with(RANGE_PREFIX.as_bytes()) {
                if let Ok(k) = CString::new(n) {
                    let _ = sys::fremovexattr(self.file.as_fd(), &k);
                }
            }
        }
    }

    /// Records `[start, end)` as written (best effort: a range the file
    /// system has no room to record is moved again by a resume).
    /// A range another writer recorded under the same start (two writers
    /// racing from one offset) starts a new generation.
    pub fn record(&self, start: u64, end: u64) {
        if let Ok(k) = CString::new(format!("{RANGE_PREFIX}{start}")) {
            if let Ok(v) = sys::fgetxattr(self.file.as_fd(), &k, 64) {
                let theirs = v.splitn(2, |&b| b == b' ').nth(1).unwrap_or_default();
                if theirs != self.token.as_bytes() {
                    self.bump_generation();
                }
            }
            let _ = sys::fsetxattr(self.file.as_fd(), &k, format!("{end} {}", self.token).as_bytes());
        }
    }

    /// The stage's generation (None: never rewritten).
    pub fn generation(&self) -> Option<Vec<u8>> {
        sys::fgetxattr(self.file.as_fd(), GEN, 64).ok()
    }

    /// A new generation: bytes another writer may have written (and another
    /// session hashed) are being rewritten.
    pub fn bump_generation(&self) {
        let _ = sys::fsetxattr(self.file.as_fd(), GEN, token().as_bytes());
    }

    /// Whether a write starting at `at` rewrites bytes the journal already
    /// names as written.
    pub fn rewrites_at(&self, at: u64) -> bool {
        records_of(&self.file).iter().any(|&(a, b, _)| a <= at && at < b)
    }

    /// Whether `[start, end)`, which this opener just wrote, overlaps a range
    /// another writer recorded (a writer racing this one over the same bytes).
    pub fn overlaps_others(&self, start: u64, end: u64) -> bool {
        records_of(&self.file)
            .iter()
            .any(|(a, b, t)| *a < end && start < *b && !(*a == start && *t == self.token))
    }

    /// The stage's epoch: changes whenever it is emptied (None: an older
    /// server's stage, or no attribute).
    pub fn epoch(&self) -> Option<Vec<u8>> {
        sys::fgetxattr(self.file.as_fd(), EPOCH, 64).ok()
    }

    /// The stage's device and inode.
    pub fn key(&self) -> Result<(u64, u64), StageError> {
        let st = sys::fstat(self.file.as_fd())?;
        Ok((st.st_dev, st.st_ino))
    }

    /// Empties the stage: no data, no ranges; `id` replaces the identity.
    pub fn reset(&mut self, id: Option<&[u8]>) -> Result<(), StageError> {
        // the ranges go first: a crash in between leaves ranges of nothing
        // named, never a journal naming data that is gone
        self.clear_ranges();
        // a new epoch before the data goes: a digest taken of the old data no
        // longer matches the stage
        let mut e = [0u8; 8];
        let _ = getrandom::getrandom(&mut e);
        let e = tfp_wire::hex::encode(&e);
        let _ = sys::fsetxattr(self.file.as_fd(), EPOCH, e.as_bytes());
        self.file.set_len(0)?;
        if let Some(id) = id {
            sys::fsetxattr(self.file.as_fd(), ID, id)?;
        }
        Ok(())
    }

    /// Removes the stage (a refusal that more data cannot cure: quota, disk
    /// full), so it neither holds the space nor passes for a partial worth
    /// resuming. Writers still holding it write into an unnamed file.
    pub fn discard(&self) {
        let Ok(st) = sys::fstat(self.file.as_fd()) else { return };
        if let Ok(now) = sys::fstatat(self.dir.as_fd(), &self.tmp, false) {
            if (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino) {
                self.clear_ranges();
                let _ = self.file.set_len(0);
                let _ = sys::unlinkat(self.dir.as_fd(), &self.tmp, false);
            }
        }
    }

    /// What is missing before the stage holds the whole source: `None` when
    /// complete.
    pub fn missing(&self) -> Result<Option<u64>, StageError> {
        let len = self.file.metadata()?.len();
        let done = merge(self.recorded(), self.size);
        let have: u64 = done.iter().map(|(a, b)| b - a).sum();
        Ok((len != self.size || have != self.size).then(|| self.size.saturating_sub(have).max(1)))
    }

    /// The SHA-256 of the stage, as the SHA256 command writes it (`0x…`).
    pub fn sha256(&self) -> Result<Vec<u8>, StageError> {
        self.sha256_from(Sha256::new(), 0)
    }

    /// The SHA-256 of the stage, `h` holding its bytes before `from` (hashed
    /// as they were written): the rest is read back one block ahead of the
    /// hash, its pages given back (they were kept for this read only).
    pub fn sha256_from(&self, mut h: Sha256, from: u64) -> Result<Vec<u8>, StageError> {
        tfd_sys::direct::each_chunk(&self.file, from, true, &mut |b| h.update(b))?;
        Ok(tfp_wire::sha256_text(&h.finalize().into()).to_vec())
    }

    /// Replaces the target by the stage in one rename, with the target's
    /// attributes, but for the client's `own` mode and mtime where it sent
    /// them (as a batch's file gets them, [`super::upload::Upload::stamp`]);
    /// `overwrite` false fails with `Exists` if the target exists. With
    /// `sync`, the data is on disk before the name, the name after. `keep`:
    /// where the replaced file is kept (TFDBACKUP), linked just before.
    /// `land`: the sets the file lands with, given last before the rename.
    pub fn commit(
        self,
        (overwrite, sync): (bool, bool),
        own: Attrs,
        keep: Option<&super::backup::Keep>,
        land: Option<&super::land::Landing>,
    ) -> Result<(), StageError> {
        let fd = self.file.as_fd();
        let attrs = if overwrite {
            // only a file the session's user may write is replaced
            replace_attrs(self.dir.as_fd(), &self.name)?
        } else {
            final_attrs(self.dir.as_fd(), &self.name)
        };
        // before the stage takes the target's attributes: a refusal leaves it as it was
        if let (true, Some(keep)) = (overwrite, keep) {
            keep.link(self.dir.as_fd(), &self.name)?;
        }
        apply_attrs(fd, with_client_mode(attrs, own.mode, own.new_mode))?;
        stamp_mtime(fd, own.mtime)?;
        if let Some(land) = land {
            land.give(fd)?;
        }
        if sync {
            self.file.sync_data()?;
        }
        let mut r = sys::renameat2(self.dir.as_fd(), &self.tmp, self.dir.as_fd(), &self.name, !overwrite);
        if !overwrite && r.as_ref().err().and_then(|e| e.raw_os_error()) == Some(libc::EINVAL) {
            // NFS and CephFS refuse rename flags: link(2) fails atomically on an existing name
            let d = Some(std::os::fd::AsRawFd::as_raw_fd(&self.dir));
            r = nix::unistd::linkat(
                d,
                self.tmp.as_c_str(),
                d,
                self.name.as_c_str(),
                nix::fcntl::AtFlags::empty(),
            )
            .map_err(std::io::Error::from)
            .map(|()| {
                let _ = sys::unlinkat(self.dir.as_fd(), &self.tmp, false);
            });
        }
        if let Err(e) = r {
            // still the stage: its owner and mode back, or the next open
            // would take it for another's
            let me = sys::geteuid();
            let _ = sys::fchown(fd, me, u32::MAX);
            let _ = sys::fchmod(fd, 0o600);
            return Err(StageError::Fs(e.into()));
        }
        // the committed file keeps no journal
        self.clear_ranges();
        let _ = sys::fremovexattr(fd, ID);
        let _ = sys::fremovexattr(fd, EPOCH);
        let _ = sys::fremovexattr(fd, GEN);
        let _ = sys::fremovexattr(fd, NAME);
        tempmark::unmark(fd);
        if sync {
            sync_dir(self.dir.as_fd(), fd)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_sorts_joins_and_clips() {
        assert_eq!(merge(vec![(10, 20), (0, 5), (5, 10), (30, 30)], 100), [(0, 20)]);
        assert_eq!(merge(vec![(50, 200), (0, 4)], 100), [(0, 4), (50, 100)]);
        assert_eq!(merge(vec![(100, 200)], 100), []);
    }

    /// The journal survives a reopen (another session, a restarted server),
    /// names only what was recorded for the same identity, starts empty for
    /// another one, and the commit needs every byte and leaves no journal.
    #[test]
    fn journal_reopen_identity_and_commit() {
        use std::os::unix::fs::{FileExt, PermissionsExt};
        let tmp = std::env::temp_dir().join(format!("tfd-stage-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).unwrap();
        std::fs::write(tmp.join("t"), b"old").unwrap();
        std::fs::set_permissions(tmp.join("t"), std::fs::Permissions::from_mode(0o640)).unwrap();
        let root = Root::open_root(&tmp).unwrap();
        let p = RelPath::parse(b"t").unwrap();
        let (st, done) = Stage::open(&root, &p, 8192, b"id1", false).unwrap();
        assert!(done.is_empty());
        st.file().write_all_at(&[7u8; 4096], 0).unwrap();
        st.record(0, 4096);
        assert_eq!(st.missing().unwrap(), Some(4096));
        drop(st);
        let (st, done) = Stage::open(&root, &p, 8192, b"id1", false).unwrap();
        assert_eq!(done, [(0, 4096)], "kept for the same source");
        st.file().write_all_at(&[8u8; 4096], 4096).unwrap();
        st.record(4096, 8192);
        assert_eq!(st.missing().unwrap(), None);
        drop(st);
        let (_, done) = Stage::open(&root, &p, 8192, b"id2", false).unwrap();
        assert!(done.is_empty(), "another source starts empty");
        let (st, _) = Stage::open(&root, &p, 4, b"id3", false).unwrap();
        st.file().write_all_at(b"new!", 0).unwrap();
        st.record(0, 4);
        drop(st);
        let st = Stage::open_existing(&root, &p).unwrap();
        assert_eq!(st.size, 4);
        st.commit((true, false), Attrs::default(), None, None).unwrap();
        assert_eq!(std::fs::read(tmp.join("t")).unwrap(), b"new!");
        let m = std::fs::metadata(tmp.join("t")).unwrap();
        assert_eq!(m.permissions().mode() & 0o777, 0o640, "the target's mode");
        let f = File::open(tmp.join("t")).unwrap();
        assert!(
            sys::flistxattr(f.as_fd()).unwrap().is_empty(),
            "no journal left on the file"
        );
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 1, "the stage became the file");
        assert!(matches!(Stage::open_existing(&root, &p), Err(StageError::Missing)));
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn names_differ_by_user_and_target() {
        let a = stage_name(1000, b"a.bin");
        assert!(a.to_bytes().starts_with(b".tfd-part-s"));
        assert_ne!(a, stage_name(1001, b"a.bin"));
        assert_ne!(a, stage_name(1000, b"b.bin"));
        assert_eq!(a, stage_name(1000, b"a.bin"));
    }
}

#[cfg(test)]
mod follow_tests {
    use super::*;

    #[test]
    fn written_to_follows_the_journal() {
        use std::os::unix::fs::FileExt;
        let tmp = std::env::temp_dir().join(format!("tfd-stage-w-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).unwrap();
        let root = Root::open_root(&tmp).unwrap();
        let p = RelPath::parse(b"t").unwrap();
        let (st, _) = Stage::open(&root, &p, 16384, b"id1", false).unwrap();
        let f = st.clone_file().unwrap();
        assert_eq!(written_to(&f, 0, 16384), 0);
        st.file().write_all_at(&[7u8; 4096], 0).unwrap();
        st.record(0, 4096);
        assert_eq!(written_to(&f, 0, 16384), 4096);
        st.file().write_all_at(&[7u8; 4096], 8192).unwrap();
        st.record(8192, 12288);
        assert_eq!(written_to(&f, 4096, 16384), 4096, "a gap stops it");
        st.file().write_all_at(&[7u8; 4096], 4096).unwrap();
        st.record(4096, 8192);
        assert_eq!(written_to(&f, 4096, 16384), 12288);
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
