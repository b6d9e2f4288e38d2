//! TFPSFS as the session meets it: how a command meets the document's secure
//! filesystem ([`Tfpsfs`], a fact of the command's row) and the session's state
//! that applies it to every path a handler resolves ([`SecfsState`]). Below the
//! session, so the dispatcher can judge paths without naming a command family.

use crate::fsys::{secfs, FsError, Pin, RelPath, Root};
use std::cell::{Cell, RefCell};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// The directory a batch's file was pinned in and judged, held for the next
/// file in the same directory ([`SecfsState::pin_in`]).
#[derive(Debug)]
pub struct Held {
    /// Its path, as the client named it.
    parent: Vec<u8>,
    dir: OwnedFd,
    /// What its judgement asked.
    need: Option<u32>,
}

impl Held {
    /// The directory held.
    pub fn dir(&self) -> BorrowedFd<'_> {
        self.dir.as_fd()
    }
}

/// How a command meets TFPSFS, the document's secure filesystem ("TFProtocol
/// Secure Filesystem"). The session enforces it in one place: every path a
/// handler resolves through `Session::path` is checked against the secure
/// directory it lands in (see [`crate::fsys::secfs::judge`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tfpsfs {
    /// Not tagged `[Supports TFPSFS]`: every path it names fails with `FAILED 1`
    /// in (or for an entry of) a secure directory. Right for commands without paths.
    Untagged,
    /// Tagged: the n-th path the handler resolves needs every bit of `bits[n]`
    /// (the last entry repeats: COPY is `[RFILE, WFILE]`, source then target;
    /// FSIZELS `[RFILE, STAT]`, the list then each line).
    Needs(&'static [u32]),
    /// SETFSPERM, REMFSPERM, GETFSPERM, ISSECFS: they apply the document's own
    /// rules to the directory they manage, so paths pass unchecked.
    Manages,
}

/// A session's TFPSFS state: its identity and the rule of the command running.
#[derive(Debug)]
pub struct SecfsState {
    /// The identity from SETFSID; None until one is set (such a session is only
    /// ever "everybody else", and can never SETFSPERM/REMFSPERM: decisions.md).
    /// Never logged: knowing it is what grants its permissions.
    id: Option<Vec<u8>>,
    /// The running command's row.
    rule: Tfpsfs,
    /// How many paths the running command has resolved so far.
    next: Cell<usize>,
    /// Which rule (by position) judged each path the running command pinned,
    /// so a path looked up again after a stale handle ([`SecfsState::repin`])
    /// is judged as it was the first time.
    judged: RefCell<Vec<(Vec<u8>, usize)>>,
}

impl Default for SecfsState {
    fn default() -> Self {
        SecfsState {
            id: None,
            rule: Tfpsfs::Untagged,
            next: Cell::new(0),
            judged: RefCell::new(Vec::new()),
        }
    }
}

impl SecfsState {
    /// Called by the dispatcher before each handler.
    pub fn begin(&mut self, rule: Tfpsfs) {
        self.rule = rule;
        self.next.set(0);
        self.judged.borrow_mut().clear();
    }

    /// SETFSID: the identity from now on (None clears it).
    pub fn set_id(&mut self, id: Option<Vec<u8>>) {
        self.id = id;
    }

    /// The identity, if SETFSID set one.
    pub fn id(&self) -> Option<&[u8]> {
        self.id.as_deref()
    }

    /// Pins the next path the running command resolves and checks it (see
    /// [`Tfpsfs`]): the command acts through the returned path, so what it acts
    /// on is what was judged.
    pub fn pin(&self, root: &Root, p: &RelPath) -> Result<RelPath, FsError> {
        let n = self.next.get();
        self.next.set(n.saturating_add(1));
        self.pin_nth(root, p, n)
    }

    /// [`SecfsState::pin`] for a batch's files: a file in the directory
    /// `held` holds (that of the file before, judged for the same need) is
    /// pinned in it, neither looking it up nor judging it again: the same
    /// open directory cannot have become another. Otherwise `held` then
    /// holds this file's directory, once judged.
    pub fn pin_in(&self, root: &Root, p: &RelPath, held: &mut Option<Held>) -> Result<RelPath, FsError> {
        let n = self.next.get();
        self.next.set(n.saturating_add(1));
        self.in_held(p, self.need(n), held, |dir| self.pin_judged(root, p, n, dir))
    }

    /// [`SecfsState::pin_in`] judged for `need`, whatever the command's row
    /// says: TFDLINKS' existing files are judged as TFDLINK judges its
    /// first path (read), their new names as its second (write), however
    /// many it links.
    pub fn pin_in_for(&self, root: &Root, p: &RelPath, need: u32, held: &mut Option<Held>) -> Result<RelPath, FsError> {
        let need = (self.rule != Tfpsfs::Manages).then_some(need);
        self.in_held(p, need, held, |dir| {
            let kept = dir.is_some();
            let pinned = root.pin_in(p, dir);
            if need.is_some() {
                secfs::judge(root, &pinned, self.id(), need, kept)?;
            }
            Ok(pinned)
        })
    }

    /// `p` pinned and judged for `need` by `pin`, given the directory
    /// `held` holds where that is `p`'s, judged for the same need; else
    /// `held` then holds `p`'s directory, once judged.
    fn in_held(
        &self,
        p: &RelPath,
        need: Option<u32>,
        held: &mut Option<Held>,
        pin: impl FnOnce(Option<OwnedFd>) -> Result<RelPath, FsError>,
    ) -> Result<RelPath, FsError> {
        let parent = p.parent().to_bytes();
        let same = held.as_ref().filter(|h| h.parent == parent && h.need == need);
        let dir = same.and_then(|h| h.dir.try_clone().ok());
        let kept = dir.is_some();
        let pinned = pin(dir)?;
        if !kept {
            *held = match pinned.pinned() {
                Some(Pin::At(e)) => e.dir.try_clone().ok().map(|dir| Held { parent, dir, need }),
                _ => None,
            };
        }
        Ok(pinned)
    }

    /// Pins `p` and judges it for `need`, whatever the command's row says:
    /// a batch's entry doing another command's work (an archive batch's
    /// attributes alone are judged as CHMOD judges them).
    pub fn pin_for(&self, root: &Root, p: &RelPath, need: u32) -> Result<RelPath, FsError> {
        let pinned = root.pin(p);
        if self.rule != Tfpsfs::Manages {
            secfs::judge(root, &pinned, self.id(), Some(need), false)?;
        }
        Ok(pinned)
    }

    /// Pins and checks one more path under the rule of the path resolved last:
    /// a command that makes its path level by level (RMKDIR, FLYCONTEXT) judges
    /// every directory it creates in, where it creates it.
    pub fn pin_again(&self, root: &Root, p: &RelPath) -> Result<RelPath, FsError> {
        self.pin_nth(root, p, self.next.get().saturating_sub(1))
    }

    /// Pins `p` afresh after its pin went stale (ESTALE: another node replaced
    /// what it held) and judges it again under the rule that judged it first:
    /// the command acts only on what is judged, never on a bare lookup.
    pub fn repin(&self, root: &Root, p: &RelPath) -> Result<RelPath, FsError> {
        let key = p.to_bytes();
        let n = self
            .judged
            .borrow()
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, n)| *n)
            .unwrap_or_else(|| self.next.get().saturating_sub(1));
        self.pin_nth(root, &p.unpinned(), n)
    }

    fn pin_nth(&self, root: &Root, p: &RelPath, n: usize) -> Result<RelPath, FsError> {
        self.pin_judged(root, p, n, None)
    }

    /// The need of the `n`-th path (None: untagged, or managed).
    fn need(&self, n: usize) -> Option<u32> {
        match self.rule {
            Tfpsfs::Manages | Tfpsfs::Untagged => None,
            Tfpsfs::Needs(bits) => Some(bits.get(n).or(bits.last()).copied().unwrap_or(0)),
        }
    }

    /// Pins `p` and judges it under the `n`-th rule; in `held`, a directory
    /// judged for the same need, when given (see [`SecfsState::pin_in`]).
    fn pin_judged(&self, root: &Root, p: &RelPath, n: usize, held: Option<OwnedFd>) -> Result<RelPath, FsError> {
        if let Ok(mut j) = self.judged.try_borrow_mut() {
            // bounded: a command resolves a handful of paths (LSR walks its own)
            if j.len() < 64 {
                j.push((p.to_bytes(), n));
            }
        }
        let judged = held.is_some();
        let pinned = root.pin_in(p, held);
        if self.rule == Tfpsfs::Manages {
            return Ok(pinned);
        }
        secfs::judge(root, &pinned, self.id(), self.need(n), judged)?;
        Ok(pinned)
    }
}
