//! What a mirror did: its counts and a dry run's plan.

use crate::engine::events::Report;

/// One step of a plan, as a dry run reports it (paths relative to the
/// destination).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    /// Remove an extra entry (`delete`).
    Delete(Vec<u8>),
    /// Remove an entry of another kind in the way of the source's.
    Replace(Vec<u8>),
    /// Make a directory.
    Mkdir(Vec<u8>),
    /// Move a file.
    Copy(Vec<u8>),
    /// Make a symlink, FIFO or socket (as rsync -n -v names it).
    Node(Vec<u8>),
}

/// The counts of a mirror that got as far as its plan.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Files moved (a dry run: to move).
    pub transferred: usize,
    /// Extra entries removed (a dry run: to remove).
    pub deleted: usize,
    /// Files found the same on both sides.
    pub unchanged: usize,
    /// Files, names and directories that failed.
    pub failed: usize,
}

/// What a mirror did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MirrorReport {
    /// Failures and kept partials, as for any tree run.
    pub report: Report,
    /// `None` when the run stopped before it had a plan (a side could not
    /// be read: said through [`crate::engine::events::Events::failed`]).
    pub summary: Option<Summary>,
    /// A dry run's plan, in the order it would run.
    pub planned: Vec<Planned>,
}

/// What a direction returns: the counts and a dry run's plan, or nothing
/// when it stopped before the plan.
pub(crate) type Ran = Option<(Summary, Vec<Planned>)>;
