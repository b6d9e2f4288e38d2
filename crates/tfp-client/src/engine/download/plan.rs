//! What a plan of many files down is made of: each file, and the
//! directories made as their files land. Below the batches and the runner,
//! which both read it.

use super::super::landing::Landing;
use tfp_wire::entry::Mtime;

/// One file of a plan down: its landing, its path there, its remote path,
/// and what the chooser ([`crate::engine::route::tree_down`]) needs to know
/// of it.
pub(crate) struct File<'a> {
    pub(crate) land: &'a Landing,
    pub(crate) rel: &'a [u8],
    pub(crate) remote: &'a [u8],
    /// Give the file the server's permission bits (`get -r -p`).
    pub(crate) keep_mode: bool,
    /// The directory it goes in when that is made on demand ([`Dir`]).
    pub(crate) dir: Option<&'a Dir<'a>>,
    /// A partial of it waits here, to be continued as far as its journal
    /// proves.
    pub(crate) resume: bool,
    /// It needs the engine's journal: a partial to continue, or a run that
    /// resumes (`get -r --resume`), which keeps one for every file.
    pub(crate) journal: bool,
    /// The server's size of it, when the plan knows it (a mirror's
    /// listing), and the size of the copy here: with both, a changed file
    /// may come as a delta ([`crate::engine::route::delta_down`]).
    pub(crate) size: Option<u64>,
    pub(crate) ours: Option<u64>,
    /// Its mtime to the nanosecond as a listing said (TFDENTRIES): a file
    /// landed with that second gets these nanoseconds ([`finer`]).
    pub(crate) mtime: Option<Mtime>,
    /// `-S`: runs of zeros a batch brings are not written, so they land as
    /// holes (rsync -S's receiver).
    pub(crate) sparse: bool,
}

/// The mtime a file landed with `landed` (the second its transfer said)
/// is given: the listing's, to the nanosecond, when it names that second.
pub(crate) fn finer(landed: Mtime, listed: Option<Mtime>) -> Mtime {
    listed
        .filter(|l| l.sec == landed.sec && landed.nsec == 0)
        .unwrap_or(landed)
}

/// A directory of a tree download, made by the session that first lands a
/// file in it (or by [`Dir::make`] after the batches, for those holding
/// none), not all before the first batch: making 100 directories in one
/// parent took 0.1 s on a quiet machine and 0.5 s at load 15 (ext4's inode
/// allocation), all of it before any file's data was asked for; made here
/// they overlap the transfer. Made once, however many sessions ask.
pub(crate) struct Dir<'a> {
    land: &'a Landing,
    rel: &'a [u8],
    /// What it is made with, less the umask.
    mode: u32,
    made: std::sync::OnceLock<Result<(), String>>,
}

impl<'a> Dir<'a> {
    /// Directory `rel` below `land`, not made yet.
    pub(crate) fn new(land: &'a Landing, rel: &'a [u8]) -> Dir<'a> {
        Dir {
            land,
            rel,
            mode: 0o777,
            made: std::sync::OnceLock::new(),
        }
    }

    /// Made with `mode` (less the umask) rather than 0777.
    pub(crate) fn with_mode(self, mode: u32) -> Dir<'a> {
        Dir { mode, ..self }
    }

    /// Makes it and its missing parents ([`Landing::create_dir`]) unless
    /// done; why not, the same for every caller.
    pub(crate) fn make(&self) -> Result<(), &str> {
        match self.made.get_or_init(|| {
            self.land
                .create_dir_mode(self.rel, self.mode)
                .map_err(|e| e.to_string())
        }) {
            Ok(()) => Ok(()),
            Err(why) => Err(why),
        }
    }
}
