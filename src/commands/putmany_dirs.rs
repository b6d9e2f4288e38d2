//! A plain batch's directories (`D <path>`, [`tfp_wire::batch::put::DirHead`];
//! doc/compatibility.md "Batch uploads"): a tree's directories made in the
//! batch that carries its files, so they cost bytes in its stream rather
//! than a MKDIR and an answer each.
//!
//! Each is made as MKDIR makes it (mode 0755 less the umask, or the
//! client's source's permission bits less the umask where it sent them;
//! judged as MKDIR is by TFPSFS and LOCK); one that exists is fine and
//! keeps its mode. Unlike MKDIR, no
//! step follows a link (the archive batch's rule, [`super::putmany_archive`]):
//! a link among the path's directories, or at the name itself, refuses the
//! entry, as does a file at the name. What lies below a refused directory,
//! directories and files of the same batch, is refused without being tried
//! ([`Unmade`]), so a file never lands through what stands in the
//! directory's place.

use super::putmany_archive::{parent_of, Refusal};
use crate::fsys::{Kind, RelPath};
use crate::session::Session;
use std::collections::HashSet;
use std::os::fd::AsFd;
use tfd_sys as sys;
use tfp_wire::secfs as bits;
use tfp_wire::Failed;

/// What one batch remembers of its refused directories at most (their
/// paths): 16 MiB, as the archive batch's deferred entries; past it every
/// later entry of the batch is refused ([`Unmade::covers`]), so a hostile
/// batch of 100,000 long refused paths cannot hold 400 MB.
const MAX_UNMADE_BYTES: usize = 16 << 20;

/// What an entry below a refused directory is told.
const BELOW_UNMADE: &str = "its directory could not be made";

/// The directories of a batch that could not be made.
#[derive(Default)]
pub(super) struct Unmade {
    paths: HashSet<Vec<u8>>,
    bytes: usize,
    /// Past [`MAX_UNMADE_BYTES`]: nothing more of the batch is taken.
    full: bool,
}

impl Unmade {
    /// The refusal of an entry at `path` when a refused directory holds it
    /// (or the batch refused too many to remember).
    pub(super) fn covers(&self, path: &[u8]) -> Option<Refusal> {
        if self.full {
            return Some(Refusal(
                Failed::TransferApi,
                "too many directories refused in one batch: send the rest in another".into(),
            ));
        }
        if self.paths.is_empty() {
            return None;
        }
        let p = RelPath::parse(path).ok()?.to_bytes();
        let below = p
            .iter()
            .enumerate()
            .filter(|(_, &b)| b == b'/')
            .any(|(i, _)| self.paths.contains(&p[..i]));
        below.then(|| Refusal(Failed::NoSuchDir, BELOW_UNMADE.into()))
    }

    /// Notes that the directory `path` was refused.
    fn note(&mut self, path: &[u8]) {
        let Ok(p) = RelPath::parse(path) else { return };
        let p = p.to_bytes();
        self.bytes += p.len() + 32;
        if self.bytes > MAX_UNMADE_BYTES {
            self.full = true;
            self.paths = HashSet::new();
            return;
        }
        self.paths.insert(p);
    }
}

/// Makes the directory `path` (with `mode`, the source's bits, less the
/// umask, where the client sent them), or says why not (noted in `unmade`).
pub(super) fn make(s: &Session, path: &[u8], mode: Option<u32>, unmade: &mut Unmade) -> Result<(), Refusal> {
    if let Some(r) = unmade.covers(path) {
        return Err(r);
    }
    let r = make_one(s, path, mode.map_or(0o755, |m| m & 0o777));
    if r.is_err() {
        unmade.note(path);
    }
    r
}

fn make_one(s: &Session, path: &[u8], mode: u32) -> Result<(), Refusal> {
    let p = s.path_for(path, bits::MKDIR)?;
    if p.is_root() {
        return Ok(());
    }
    if let Err(f) = s.check_lock_parent(&p) {
        return Err(Refusal(f, "the directory is locked".into()));
    }
    let (dir, name) = parent_of(s, &p)?;
    // the process's umask takes its bits from `mode`, as MKDIR's
    let e = match sys::mkdirat(dir.as_fd(), &name, mode) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    if e.raw_os_error() != Some(libc::EEXIST) {
        return Err(e.into());
    }
    match sys::fstatat(dir.as_fd(), &name, false) {
        Ok(st) if Kind::of(&st) == Kind::Dir => Ok(()),
        Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFLNK => Err(Refusal(
            Failed::AccessDenied,
            "a symbolic link stands where the directory goes: not followed".into(),
        )),
        Ok(_) => Err(Refusal(
            Failed::NotADirectory,
            "a file stands where the directory goes".into(),
        )),
        Err(e) => Err(e.into()),
    }
}
