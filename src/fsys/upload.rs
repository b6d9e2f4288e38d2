//! Uploads land in a file that has no name until it is complete, and are linked
//! into place only then, so a client that breaks off, disconnects or fills the
//! disk never leaves a half-written file under the final name. Without
//! overwrite the final step fails atomically if the name exists meanwhile.
//!
//! The file is made with `O_TMPFILE`: it has no name at all while it is written,
//! so it cannot outlive the session, whatever ends it (SIGKILL and power cuts
//! included: the kernel frees an unnamed inode, and the journal replays that).
//! It is linked into place by its descriptor (`AT_EMPTY_PATH`, which Linux
//! 6.10+ allows the process that opened it) or else through the session's own
//! `/proc/self/fd` (the one way an unprivileged process may name an
//! `O_TMPFILE` file on older kernels). That directory is opened before INJAIL's chroot
//! hides `/proc` ([`prepare`]). Where either is missing (a file system without
//! `O_TMPFILE`, such as NFS, or no `/proc`), the file gets a hidden name
//! `.tfd-part-*` and holds an flock for its whole life; a hidden file nobody
//! holds locked is stale, and the sweeper or the quota walk removes it
//! ([`sweep_if_stale`]) once it has proven it tfd's own ([`super::tempmark`]).
//!
//! The temporary is created mode 0600 (another user given its name reads
//! nothing) and gets its final attributes at the commit, unless it has no
//! name and its name was free when the upload began: it is then made with a
//! new file's mode at once (no chmod, no second look at the name, which cost
//! a tenth of a 10,000-file batch's server time), and a file the link finds
//! at the name is judged and its attributes taken then. An overwrite replaces
//! only a file the session's user could open for writing ([`replace_attrs`]:
//! a directory others may write does not let them replace a file they may
//! not write), and keeps the replaced file's mode (less set-uid/set-gid), its
//! owner when tfd runs as root and its group where the session may give it,
//! as `cp` onto an existing file does; a new file gets 0644 less the umask,
//! or the client's source's permission bits less the umask where it sent them
//! ([`Upload::new_file_mode`]), as `cp` gives a new file its source's.
//!
//! With `sync` on, [`Upload::commit`] returns only when the data and the new
//! directory entry are on stable storage: fsync of the file, link or rename,
//! fsync of the directory.

use super::backup::Keep;
use super::tempmark::{self, TempKind};
use super::{cname, FsError, Kind, RelPath, Root};
use std::ffi::{CStr, CString};
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::OnceLock;
use tfd_sys as sys;
use tfd_sys::direct::Staged;
use tfp_wire::entry::Mtime;

/// Prefix of temporary upload names; listings hide them.
pub(crate) const TEMP_PREFIX: &[u8] = b".tfd-part-";

/// A named temporary file unchanged for this long that no upload holds locked
/// is stale. (A live one is locked a moment after it is created; the age only
/// covers that moment, and the short window of an overwriting commit.)
pub(crate) const STALE_AFTER_SECS: i64 = 10;

/// A staged upload (kept for a resume) unchanged for this long that nobody
/// holds is stale: two days, a weekend's interruption being the longest a
/// resume is worth waiting for.
pub(crate) const STAGE_KEEP_SECS: i64 = 2 * 24 * 3600;

/// Mode of a temporary while it is written.
const TEMP_MODE: u32 = 0o600;

/// Mode (before the umask) of a new file, and of an unnamed temporary for a
/// name that was free: only the session's own process can reach that file
/// before its link, through its descriptor.
const NEW_MODE: u32 = 0o644;

/// procfs's magic number (statfs f_type).
const PROC_SUPER_MAGIC: u32 = 0x9fa0;

/// This process's `/proc/self/fd`, opened once (with the pid that opened it: a
/// forked child must not use its parent's).
static PROC_FD: OnceLock<(u32, Option<OwnedFd>)> = OnceLock::new();

fn open_proc_fd() -> Option<OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open("/proc/self/fd")
        .ok()?;
    // a jail's own `proc/self/fd` directory would let its files be linked in
    let magic = nix::sys::statfs::fstatfs(&f).ok()?.filesystem_type().0 as u32;
    (magic == PROC_SUPER_MAGIC).then(|| f.into())
}

pub(crate) fn proc_fd() -> Option<BorrowedFd<'static>> {
    let (pid, fd) = PROC_FD.get_or_init(|| (std::process::id(), open_proc_fd()));
    if *pid != std::process::id() {
        return None;
    }
    fd.as_ref().map(|f| f.as_fd())
}

/// The process's umask, read once from `/proc/self/status` (umask(2) would
/// change it for a moment); 022, tfd's own, where /proc says nothing.
static UMASK: OnceLock<u32> = OnceLock::new();

fn umask() -> u32 {
    *UMASK.get_or_init(|| {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|t| {
                let l = t.lines().find(|l| l.starts_with("Umask:"))?;
                u32::from_str_radix(l["Umask:".len()..].trim(), 8).ok()
            })
            .unwrap_or(0o022)
    })
}

/// Opens this process's `/proc/self/fd` if it is not open yet; a session calls
/// it before a chroot, after which `/proc` is out of reach.
pub fn prepare() {
    let _ = proc_fd();
    let _ = umask();
}

/// The mode and owner a file written for `dir/name` gets when it replaces
/// it: those of the file there now (a regular file), else 0644 less the
/// umask and no owner change.
pub(crate) fn final_attrs(dir: BorrowedFd<'_>, name: &CStr) -> (u32, Option<(u32, u32)>) {
    final_attrs_new(dir, name, NEW_MODE)
}

/// [`final_attrs`] where a new file takes `new` (the client's source's
/// permission bits) less the umask.
fn final_attrs_new(dir: BorrowedFd<'_>, name: &CStr, new: u32) -> (u32, Option<(u32, u32)>) {
    attrs_of(sys::fstatat(dir, name, false).ok().as_ref(), new)
}

/// [`final_attrs_new`] of what is at the name (`st`, its lstat; None: nothing).
fn attrs_of(st: Option<&libc::stat>, new: u32) -> (u32, Option<(u32, u32)>) {
    match st {
        Some(st) if Kind::of(st) == Kind::File => {
            // never set-uid/set-gid: the replacement is new content, which
            // the kernel strips them from on any write
            let mode = st.st_mode & 0o7777 & !(libc::S_ISUID | libc::S_ISGID);
            (mode, Some((st.st_uid, st.st_gid)))
        }
        _ => (new & 0o777 & !umask(), None),
    }
}

/// [`final_attrs`] for a file that is to replace `dir/name`, once the
/// session's user is shown to be allowed to: an existing regular file is
/// replaced only when that user could open it for writing, as `cp` onto it
/// would (in a directory others may write, a rename alone would let any of
/// them replace, and take over, a file they may not write). The check is an
/// open O_WRONLY|O_NOFOLLOW without O_TRUNC, as the session's user, and the
/// attributes come from that same descriptor; EACCES/EPERM is `Access`
/// (FAILED Access denied), and nothing was changed. Not a regular file
/// (none, a link, a directory): as [`final_attrs`] says.
pub(crate) fn replace_attrs(dir: BorrowedFd<'_>, name: &CStr) -> Result<(u32, Option<(u32, u32)>), FsError> {
    replace_attrs_new(dir, name, NEW_MODE)
}

/// [`replace_attrs`] where a new file takes `new` less the umask.
fn replace_attrs_new(dir: BorrowedFd<'_>, name: &CStr, new: u32) -> Result<(u32, Option<(u32, u32)>), FsError> {
    match sys::fstatat(dir, name, false) {
        Ok(st) if Kind::of(&st) == Kind::File => {}
        other => return Ok(attrs_of(other.ok().as_ref(), new)),
    }
    // O_NONBLOCK: had a FIFO been swapped in since, the open must not wait
    let flags = libc::O_WRONLY | libc::O_NONBLOCK | libc::O_NOCTTY;
    let fd = match sys::openat_nofollow(dir, name, flags, 0) {
        Ok(fd) => fd,
        // gone meanwhile: a new file
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(final_attrs_new(dir, name, new)),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) => return Err(FsError::Access),
        Err(e) => return Err(e.into()),
    };
    let st = sys::fstat(fd.as_fd())?;
    if Kind::of(&st) != Kind::File {
        return Err(FsError::NotRegular);
    }
    let mode = st.st_mode & 0o7777 & !(libc::S_ISUID | libc::S_ISGID);
    Ok((mode, Some((st.st_uid, st.st_gid))))
}

/// The attributes `found` ([`final_attrs`], [`replace_attrs`]) with the
/// permission bits of the client's `mode` when it sent one (TFDPUTMANY's
/// header, TFDSTAGEDONE's attributes): the owner stays the one found. With
/// no `mode`, a new file (no owner found: nothing was there) takes the
/// client's `new` (its source's bits) less the umask where it sent them.
pub fn with_client_mode(
    found: (u32, Option<(u32, u32)>),
    mode: Option<u32>,
    new: Option<u32>,
) -> (u32, Option<(u32, u32)>) {
    match (mode, new, found.1) {
        (Some(m), _, owner) => (m & 0o777, owner),
        (None, Some(n), None) => (n & 0o777 & !umask(), None),
        _ => found,
    }
}

/// Gives the finished file `fd` the client's `mtime` (seconds) when it sent
/// one: the last change to its data's times before it gets its name.
pub fn stamp_mtime(fd: BorrowedFd<'_>, mtime: Option<i64>) -> std::io::Result<()> {
    match mtime {
        Some(t) => sys::set_mtime(fd, t),
        None => Ok(()),
    }
}

/// Gives the finished temporary `fd` the attributes [`final_attrs`] found:
/// the owner only as root (a user keeps the group where allowed), then the
/// mode (a chown clears set-id bits, so the mode comes last).
pub(crate) fn apply_attrs(fd: BorrowedFd<'_>, (mode, owner): (u32, Option<(u32, u32)>)) -> std::io::Result<()> {
    if let Some((uid, gid)) = owner {
        if sys::geteuid() == 0 {
            sys::fchown(fd, uid, gid)?;
        } else {
            // not a member of that group: the file keeps the session's
            let _ = sys::fchown(fd, u32::MAX, gid);
        }
    }
    sys::fchmod(fd, mode)
}

/// What gave the file in progress its attributes.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Attrs {
    /// Nothing yet: the commit gives them.
    Unset,
    /// A new file's (the name was free): a file the link finds at the name
    /// is judged then, and its mode and owner taken.
    New,
    /// The client's mode, the name having been free: a file the link finds
    /// there gives only its owner.
    Client(u32),
    /// Final: the replaced file's, or set by [`Upload::finish_like`].
    Set,
}

/// How the file in progress is held.
enum Temp {
    /// `O_TMPFILE`: no name until the commit.
    Anonymous,
    /// A hidden name, locked (flock) while the upload lives.
    Named(CString),
}

/// An upload in progress.
pub struct Upload {
    dir: OwnedFd,
    name: CString,
    temp: Temp,
    file: Staged,
    sync: bool,
    done: bool,
    /// Where the file's attributes stand.
    attrs: Attrs,
    /// The name was free when the upload began, and the file (unnamed) was
    /// made with a new file's mode.
    fresh: bool,
    /// The file's device, once a stat found it.
    dev: Option<u64>,
    /// The mode a new file takes less the umask: [`NEW_MODE`], or the
    /// client's source's bits ([`Upload::new_file_mode`]).
    new_mode: u32,
    /// Bytes written so far.
    pub written: u64,
    /// Where the file this upload replaces is kept (TFDBACKUP).
    keep: Option<Keep>,
}

/// Whether this process links its `O_TMPFILE` files by descriptor
/// ([`Upload::link_at`]): until the kernel refuses it once.
static EMPTY_PATH_LINKS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// A fresh hidden name (listings hide it): an upload's temporary, or an
/// archive batch's entry being made ([`super::place`]).
pub(crate) fn temp_name() -> Result<CString, FsError> {
    let mut r = [0u8; 8];
    getrandom::getrandom(&mut r)?;
    let mut t = TEMP_PREFIX.to_vec();
    t.extend(tfp_wire::hex::encode(&r).into_bytes());
    cname(&t)
}

impl Upload {
    /// Creates the file in progress in `p`'s directory (mode 0644 less the
    /// umask). With `direct_min` not 0, data is gathered and written in pieces
    /// of that size that bypass the page cache (see [`tfd_sys::direct`]); `sync`
    /// makes the commit durable.
    pub(crate) fn begin(root: &Root, p: &RelPath, direct_min: usize, sync: bool) -> Result<Upload, FsError> {
        let (dir, name) = root.parent_new(p)?;
        if proc_fd().is_some() {
            let fresh = Root::pinned_absent(p);
            let mode = if fresh { NEW_MODE } else { TEMP_MODE };
            match sys::openat_nofollow(dir.as_fd(), c".", libc::O_WRONLY | libc::O_TMPFILE, mode) {
                // unmarked: with no name it needs no proof for the sweep; the
                // mark comes only with a hidden name (`link_anonymous`)
                Ok(fd) => {
                    let mut up = Upload::new(fd, dir, name, Temp::Anonymous, direct_min, sync);
                    up.fresh = fresh;
                    return Ok(up);
                }
                // no O_TMPFILE on this file system (EISDIR: kernels before 3.11)
                Err(e) if matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Self::begin_named(dir, name, direct_min, sync)
    }

    fn new(fd: OwnedFd, dir: OwnedFd, name: CString, temp: Temp, direct_min: usize, sync: bool) -> Upload {
        Upload {
            dir,
            name,
            temp,
            file: Staged::new(File::from(fd), 0, direct_min),
            sync,
            done: false,
            attrs: Attrs::Unset,
            fresh: false,
            dev: None,
            new_mode: NEW_MODE,
            written: 0,
            keep: None,
        }
    }

    /// The fallback of [`Upload::begin`]: a hidden, locked temporary name.
    fn begin_named(dir: OwnedFd, name: CString, direct_min: usize, sync: bool) -> Result<Upload, FsError> {
        for _ in 0..8 {
            let tmp = temp_name()?;
            match sys::openat_nofollow(
                dir.as_fd(),
                &tmp,
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
                TEMP_MODE,
            ) {
                Ok(fd) => {
                    // the sweeper's proof that it is ours (unmarked, it is never swept):
                    // the access-time mark, not the attribute, on the network file
                    // systems that lack O_TMPFILE: on GlusterFS the attribute's set
                    // and removal left the other node failing its next two opens of
                    // the replaced name (scaling::gluster_every_upload_…, 8 of 17 runs)
                    if let Err(e) = sys::set_atime(fd.as_fd(), tempmark::ATIME_MARK) {
                        log::warn!("upload temporary left unmarked (the sweeper will not remove it): {e}");
                    }
                    // marks it live for the sweep (no flock on this file system: the age still protects it)
                    let _ = sys::try_lock_exclusive(fd.as_fd());
                    return Ok(Upload::new(fd, dir, name, Temp::Named(tmp), direct_min, sync));
                }
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(FsError::Exists)
    }

    /// A new file takes `mode` (the client's source's permission bits, when
    /// it sent them) less the umask, as `cp` gives a new file its source's;
    /// a file it replaces keeps its own mode. Never set-id or sticky bits.
    pub(crate) fn new_file_mode(&mut self, mode: Option<u32>) {
        if let Some(m) = mode {
            self.new_mode = m & 0o777;
        }
    }

    /// Keeps the file an overwriting commit replaces at `keep`'s backup
    /// name, linked there just before the new file takes the name.
    pub(crate) fn keep_replaced(&mut self, keep: Option<Keep>) {
        self.keep = keep;
    }

    /// Whether the file in progress has no name (`O_TMPFILE`).
    pub fn is_anonymous(&self) -> bool {
        matches!(self.temp, Temp::Anonymous)
    }

    /// Appends data (which may reach the disk only at a later write or the
    /// commit, so a failure may show there).
    pub fn write(&mut self, data: &[u8]) -> Result<(), FsError> {
        self.file.write(data)?;
        self.written += data.len() as u64;
        Ok(())
    }

    /// Appends a chunk gathered by the caller (in an aligned buffer, to go
    /// direct: see [`Staged::write_chunk`]).
    pub(crate) fn write_chunk(&mut self, data: &[u8]) -> Result<(), FsError> {
        self.file.write_chunk(data)?;
        self.written += data.len() as u64;
        Ok(())
    }

    /// Writes what is gathered, gives the temporary file `mode` (and `owner`,
    /// when given) and syncs it, so that a replacement keeps the replaced file's
    /// attributes and is on disk before its name is.
    pub(crate) fn finish_like(&mut self, mode: u32, owner: Option<(u32, u32)>) -> Result<(), FsError> {
        self.file.flush()?;
        let f = self.file.file();
        if let Some((uid, gid)) = owner {
            sys::fchown(f.as_fd(), uid, gid)?;
        }
        sys::fchmod(f.as_fd(), mode)?;
        f.sync_all()?;
        self.attrs = Attrs::Set;
        Ok(())
    }

    /// Writes what is gathered, then gives the temporary file `mode` (only
    /// its permission bits; the replaced file's owner is kept as by
    /// [`Upload::commit`]) and `mtime` (seconds), each when given: the
    /// client's own times and modes (TFDPUTMANY). Nothing after it changes
    /// the file's mtime.
    pub fn stamp(&mut self, mode: Option<u32>, mtime: Option<i64>) -> Result<(), FsError> {
        self.stamp_whole(mode.map(|m| m & 0o777), mtime.map(Mtime::secs), None)
    }

    /// [`Upload::stamp`] of an archive batch: the whole `mode` (set-id and
    /// sticky bits too: the caller strips what the session may not give),
    /// the mtime to the nanosecond, and `owner` when given (root's only), the
    /// owner before the mode, which a chown would strip of its set-id bits.
    pub(crate) fn stamp_whole(
        &mut self,
        mode: Option<u32>,
        mtime: Option<Mtime>,
        owner: Option<(u32, u32)>,
    ) -> Result<(), FsError> {
        self.file.flush()?;
        match (mode, owner) {
            (None, None) => {}
            (Some(mode), None) if self.fresh => {
                self.give_mode(mode)?;
                self.attrs = Attrs::Client(mode);
            }
            (mode, None) => {
                let found = final_attrs_new(self.dir.as_fd(), &self.name, self.new_mode);
                apply_attrs(self.file.file().as_fd(), (mode.unwrap_or(found.0), found.1))?;
                self.attrs = Attrs::Set;
            }
            (mode, Some((uid, gid))) => {
                let mode = mode.unwrap_or_else(|| final_attrs_new(self.dir.as_fd(), &self.name, self.new_mode).0);
                let fd = self.file.file().as_fd();
                sys::fchown(fd, uid, gid)?;
                sys::fchmod(fd, mode)?;
                self.attrs = Attrs::Set;
            }
        }
        if let Some(t) = mtime {
            sys::set_mtime_ns(self.file.file().as_fd(), t.sec, t.nsec)?;
        }
        Ok(())
    }

    /// Gives the temporary the sets it lands with (`-X`, `-A`), after its
    /// mode, owner and mtime (a chown would drop a file capability) and
    /// before its name: see [`super::land`].
    pub(crate) fn give_land(&mut self, land: &super::land::Landing) -> Result<(), FsError> {
        self.file.flush()?;
        Ok(land.give(self.file.file().as_fd())?)
    }

    /// Writes what is gathered and moves the finished file into place.
    /// `overwrite` false fails with `Exists` if the name exists now (the file
    /// in progress is then thrown away). With `sync`, the data is fsynced
    /// before the file gets its name and the directory after.
    pub fn commit(mut self, overwrite: bool) -> Result<(), FsError> {
        self.file.flush()?;
        // an overwrite replaces only a file the session's user may write
        // ([`replace_attrs`]), whoever set the attributes; a file without a
        // name whose attributes are set meets a file there only as the
        // link's EEXIST, and is checked then ([`Upload::link_anonymous`])
        let anonymous = matches!(self.temp, Temp::Anonymous);
        self.take_new_mode()?;
        let attrs = if self.attrs != Attrs::Unset && anonymous {
            None
        } else if overwrite {
            Some(replace_attrs_new(self.dir.as_fd(), &self.name, self.new_mode)?)
        } else {
            Some(final_attrs_new(self.dir.as_fd(), &self.name, self.new_mode))
        };
        if let (Attrs::Unset, Some(attrs)) = (self.attrs, attrs) {
            apply_attrs(self.file.file().as_fd(), attrs)?;
        }
        if self.sync {
            // the data and its size; the name comes with the directory's fsync
            self.file.file().sync_data()?;
        }
        if let (true, Some(keep)) = (overwrite, &self.keep) {
            keep.link(self.dir.as_fd(), &self.name)?;
        }
        let r = match &self.temp {
            Temp::Anonymous => self.link_anonymous(overwrite, attrs.is_some_and(|a| a.1.is_some())),
            Temp::Named(tmp) => self.rename_named(tmp, overwrite).map(|()| false),
        };
        let marked = r?;
        self.done = true;
        if marked {
            tempmark::unmark(self.file.file().as_fd());
        }
        if self.sync {
            sync_dir(self.dir.as_fd(), self.file.file().as_fd())?;
        }
        Ok(())
    }

    /// Whether this upload may be committed in a group ([`Upload::commit_grouped`]):
    /// its file system is a local one whose syncfs(2) commits everything
    /// written before it (ext4, XFS, btrfs, tmpfs). A network or FUSE file
    /// system (GlusterFS, NFS) may not honour syncfs, so its uploads keep
    /// their own fsyncs. The device is the group's key; `known` holds the
    /// devices judged already (one statfs a file system, not one a file).
    pub(crate) fn groupable(&self, known: &mut Vec<(u64, bool)>) -> Option<u64> {
        const LOCAL: [i64; 4] = [0xEF53, 0x5846_5342, 0x9123_683E, 0x0102_1994];
        if !self.sync {
            return None;
        }
        let dev = match self.dev {
            Some(dev) => dev,
            None => sys::fstat(self.file.file().as_fd()).ok()?.st_dev,
        };
        let local = match known.iter().find(|(d, _)| *d == dev) {
            Some(&(_, local)) => local,
            None => {
                let st = nix::sys::statfs::fstatfs(self.file.file()).ok()?;
                let local = LOCAL.contains(&(st.filesystem_type().0 as i64));
                known.push((dev, local));
                local
            }
        };
        local.then_some(dev)
    }

    /// A descriptor of the upload's file system that outlives the upload
    /// (a duplicate of its file's: the directory's may be an O_PATH handle,
    /// which syncfs refuses): what a group syncs its file system through
    /// (syncfs(2)), before any upload of the group gets its name (their
    /// data) and after (their names). One commit of the file system for many
    /// uploads, where each upload's own [`Upload::commit`] costs two.
    pub(crate) fn fs_handle(&self) -> std::io::Result<OwnedFd> {
        self.file.file().try_clone().map(OwnedFd::from)
    }

    /// Readies the upload for a group commit: whatever is gathered written
    /// and the file given its final attributes (`overwrite`: those of the
    /// file it replaces, which the session's user must be able to write), so
    /// that the group's first sync covers all of it but the name.
    pub(crate) fn ready_for_group(&mut self, overwrite: bool) -> Result<(), FsError> {
        self.file.flush()?;
        self.take_new_mode()?;
        if self.attrs == Attrs::Unset {
            let attrs = if overwrite {
                replace_attrs_new(self.dir.as_fd(), &self.name, self.new_mode)?
            } else {
                final_attrs_new(self.dir.as_fd(), &self.name, self.new_mode)
            };
            apply_attrs(self.file.file().as_fd(), attrs)?;
            self.attrs = Attrs::Set;
        }
        Ok(())
    }

    /// A free name's upload whose attributes nothing set yet takes a new
    /// file's mode, without a look at the name (see the module's doc).
    fn take_new_mode(&mut self) -> Result<(), FsError> {
        if self.fresh && self.attrs == Attrs::Unset {
            self.give_mode(self.new_mode & !umask())?;
            self.attrs = Attrs::New;
        }
        Ok(())
    }

    /// Gives the file `mode` unless it has it: the mode it was made with is
    /// a new file's, which is mostly the one wanted (a default ACL on the
    /// directory may have made another). The stat also gives the device a
    /// group commit asks for ([`Upload::groupable`]).
    fn give_mode(&mut self, mode: u32) -> Result<(), FsError> {
        let fd = self.file.file().as_fd();
        let st = sys::fstat(fd)?;
        self.dev = Some(st.st_dev);
        if st.st_mode & 0o7777 != mode {
            sys::fchmod(fd, mode)?;
        }
        Ok(())
    }

    /// [`Upload::commit`] without its fsyncs, for an upload readied by
    /// [`Upload::ready_for_group`] whose file system the caller syncs before
    /// and after ([`Upload::fs_handle`]).
    pub(crate) fn commit_grouped(mut self, overwrite: bool) -> Result<(), FsError> {
        self.sync = false;
        self.commit(overwrite)
    }

    /// Names the `O_TMPFILE` file: straight at its name (link fails with EEXIST
    /// if it exists), or, to overwrite a file that is there, at a hidden name
    /// renamed over it. A new name costs one link: a batch of 10,000 new
    /// files spent a quarter of its server time on the hidden names' renames
    /// and marks. Whether the file was marked on the way (the mark is then
    /// to be taken off).
    /// `replacing`: the overwrite's check found a file to replace (else it is
    /// checked here, when the link finds one).
    fn link_anonymous(&self, overwrite: bool, replacing: bool) -> Result<bool, FsError> {
        match self.link_at(&self.name) {
            Err(e) if overwrite && e.raw_os_error() == Some(libc::EEXIST) => {
                if !replacing {
                    // a file came since the check: replaced only as any
                    // other overwrite is, when the session's user may write
                    // it (and given its attributes, unless set already)
                    let (mode, owner) = replace_attrs_new(self.dir.as_fd(), &self.name, self.new_mode)?;
                    let fd = self.file.file().as_fd();
                    match self.attrs {
                        Attrs::Unset | Attrs::New => apply_attrs(fd, (mode, owner))?,
                        Attrs::Client(mode) => apply_attrs(fd, (mode, owner))?,
                        Attrs::Set => {}
                    }
                }
            }
            r => return Ok(r.map(|()| false)?),
        }
        // the sweep's proof that a hidden name left by a crash is tfd's own
        let marked = tempmark::mark(self.file.file().as_fd(), TempKind::Upload).is_ok();
        for _ in 0..8 {
            let tmp = temp_name()?;
            match self.link_at(&tmp) {
                Ok(()) => {
                    let r = sys::renameat2(self.dir.as_fd(), &tmp, self.dir.as_fd(), &self.name, false);
                    if r.is_err() {
                        let _ = sys::unlinkat(self.dir.as_fd(), &tmp, false);
                    }
                    r?;
                    return Ok(marked);
                }
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(FsError::Exists)
    }

    /// Links the `O_TMPFILE` file at `to` in its directory: by its
    /// descriptor where the kernel lets the process that opened it
    /// (`AT_EMPTY_PATH`, Linux 6.10+), else through `/proc/self/fd`, whose
    /// walk through procfs was a quarter of the link's time.
    fn link_at(&self, to: &CStr) -> std::io::Result<()> {
        if EMPTY_PATH_LINKS.load(std::sync::atomic::Ordering::Relaxed) {
            match sys::link_fd(self.file.file().as_fd(), self.dir.as_fd(), to) {
                // an older kernel, or other credentials than the opener's, or
                // a directory removed meanwhile: only when the link through
                // /proc works was it the descriptor that was refused, and the
                // process stops trying it
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::EPERM)) => {
                    let r = self.link_by_proc(to);
                    if r.is_ok() {
                        EMPTY_PATH_LINKS.store(false, std::sync::atomic::Ordering::Relaxed);
                    }
                    return r;
                }
                r => return r,
            }
        }
        self.link_by_proc(to)
    }

    /// [`Upload::link_at`] through `/proc/self/fd`.
    fn link_by_proc(&self, to: &CStr) -> std::io::Result<()> {
        let proc = proc_fd().ok_or_else(|| std::io::Error::other("/proc/self/fd is gone"))?;
        let fd = std::os::fd::AsRawFd::as_raw_fd(self.file.file());
        // digits hold no NUL
        let fd_name = CString::new(fd.to_string()).unwrap_or_default();
        sys::link_following(proc, &fd_name, self.dir.as_fd(), to)
    }

    fn rename_named(&self, tmp: &CStr, overwrite: bool) -> Result<(), FsError> {
        let mut r = sys::renameat2(self.dir.as_fd(), tmp, self.dir.as_fd(), &self.name, !overwrite);
        if !overwrite && r.as_ref().err().and_then(|e| e.raw_os_error()) == Some(libc::EINVAL) {
            // The Linux NFS and CephFS clients refuse every rename flag (EINVAL),
            // and a shared data root on them is how tfd scales out.
            r = self.link_into_place(tmp);
        }
        Ok(r?)
    }

    /// `RENAME_NOREPLACE` by other means: link(2) fails with EEXIST, atomically
    /// (on the NFS server too), when the name exists; then the temporary name goes.
    fn link_into_place(&self, tmp: &CStr) -> std::io::Result<()> {
        let dir = Some(std::os::fd::AsRawFd::as_raw_fd(&self.dir));
        nix::unistd::linkat(dir, tmp, dir, self.name.as_c_str(), nix::fcntl::AtFlags::empty())?;
        let _ = sys::unlinkat(self.dir.as_fd(), tmp, false);
        Ok(())
    }

    /// Throws the upload away.
    pub fn abort(self) {}
}

impl Drop for Upload {
    fn drop(&mut self) {
        if let (false, Temp::Named(tmp)) = (self.done, &self.temp) {
            let _ = sys::unlinkat(self.dir.as_fd(), tmp, false);
        }
    }
}

/// fsync of a directory (`dir` may be an O_PATH handle, which fsync refuses, so
/// the directory is opened again); a directory that may not be read (mode
/// 0733, a drop box) is committed with its whole file system through `file`.
pub(crate) fn sync_dir(dir: BorrowedFd<'_>, file: BorrowedFd<'_>) -> std::io::Result<()> {
    match sys::openat_nofollow(dir, c".", libc::O_RDONLY | libc::O_DIRECTORY, 0) {
        Ok(d) => File::from(d).sync_all(),
        Err(_) => sys::syncfs(file),
    }
}

/// Removes `dir/name` if it is a stale upload temporary (a hidden
/// `.tfd-part-*` file left by a session that died where `O_TMPFILE` was not
/// used, or a staged upload nobody resumed): proven tfd's own by its mark
/// ([`tempmark::proven`]; the name alone proves nothing), unchanged for
/// [`STALE_AFTER_SECS`] ([`STAGE_KEEP_SECS`] for a staged upload) and not
/// locked by a live upload. `st` is its lstat. True when it was removed.
pub(crate) fn sweep_if_stale(dir: BorrowedFd<'_>, name: &CStr, st: &libc::stat) -> bool {
    if !name.to_bytes().starts_with(TEMP_PREFIX) || Kind::of(st) != Kind::File {
        return false;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let age = now.saturating_sub(st.st_mtime);
    if age < STALE_AFTER_SECS {
        return false;
    }
    let Ok(fd) = sys::openat_nofollow(dir, name, libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY, 0) else {
        return false;
    };
    let Ok(now_st) = sys::fstat(fd.as_fd()) else {
        return false;
    };
    if (now_st.st_dev, now_st.st_ino) != (st.st_dev, st.st_ino) {
        return false;
    }
    let keep = match tempmark::proven(fd.as_fd(), &now_st) {
        Some(TempKind::Upload) => STALE_AFTER_SECS,
        Some(TempKind::Stage) => STAGE_KEEP_SECS,
        None => return false,
    };
    // holding the lock while unlinking: no upload can take the file over meanwhile
    age >= keep && sys::try_lock_exclusive(fd.as_fd()).unwrap_or(false) && sys::unlinkat(dir, name, false).is_ok()
}

#[cfg(test)]
mod tests;
