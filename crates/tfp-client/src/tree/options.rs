//! What a tree run (`put -r`, `get -r`, the Python package's trees) may do:
//! its options, read by [`super::copy`] and [`super::copy_down`] as they
//! build the plan the engine carries out.

use super::filter::Filter;
use super::select::Select;
use super::sync::Keeps;
use crate::engine::opening::Opening;

/// What a tree run may do.
#[derive(Debug, Clone)]
pub struct Options {
    /// Descend into directories (`-r`); without it a directory source fails.
    pub recursive: bool,
    /// Downloads: continue the partials an interrupted run kept, as far as
    /// their journals prove.
    pub resume: bool,
    /// `--exclude`/`--include`, applied below each directory source.
    pub filter: Filter,
    /// Sessions moving files at once (the caller's and `jobs - 1` more).
    pub jobs: usize,
    /// The caller's session entered with Fast Access: the pool's do too
    /// (one after the other, each with the key the last one was handed).
    pub fai: bool,
    /// Every directory source's contents go to the destination itself (made
    /// if missing), as rsync's `src/` and `cp -rT` do, rather than into a
    /// directory of the source's name in it (what a source given with a
    /// trailing `/` gets without this; the Python package's trees ask it).
    pub contents: bool,
    /// `-p`: uploads keep each file's mode and mtime (on a server with
    /// batches, doc/compatibility.md "Batch uploads").
    pub preserve: bool,
    /// `-a`: what is kept as `rsync -a` keeps it (these [`Keeps`]): each
    /// directory source is copied as `tf mirror` copies a tree (without
    /// removing anything, [`super::archive`]), so a second run moves only
    /// what changed; a file source keeps its whole mode and mtime.
    pub keeps: Option<Keeps>,
    /// `-L`: a symlink is what it names (a file, a directory's tree).
    pub copy_links: bool,
    /// `--checksum`: a directory source's files of the same size at the
    /// destination are judged by SHA-256 (its plan's, as `tf mirror
    /// --checksum`), so those the same are left as they are.
    pub checksum: bool,
    /// The run's other sessions, when the caller started opening them
    /// before its own session was open ([`Opening::start`]).
    pub opening: Opening,

    // Selection (issue 68: sizes, update modes)
    /// `--max-size`, `--min-size`, `--update`, `--ignore-existing`,
    /// `--existing`: a directory source given one is copied through a
    /// mirror's plan ([`super::archive`]), which knows the destination.
    pub select: Select,
    // what the run shows (`-n`, `-i`, `--json`)
    /// Plan only: nothing is made, moved or removed on either side; the
    /// items ([`crate::engine::events::Events::item`]) say what would be.
    pub dry_run: bool,
    /// Tell each entry that changes as an item: directory sources go
    /// through the plan (as with `-a`, keeping what `keeps` says), which
    /// moves what differs and says why; a file source is compared first.
    pub itemize: bool,
    // backups and moves (issue 68)
    /// `--backup`, `--backup-dir`, `--suffix`: every file the run replaces
    /// at the destination is kept (rsync's meaning).
    pub backup: Option<crate::engine::backup::Wanted>,
    /// `--remove-source-files`: each source file whose copy is proven the
    /// same is removed once the run is over.
    pub remove_source: bool,

    // the progress line (issue 68)
    /// The plan learns the size of every file it moves, the whole of a
    /// progress line: a tree's listing is TFDLIST's, not the names alone
    /// (TFDNAMES, half the bytes) that suffice to move the files.
    pub sized: bool,
}

impl Options {
    /// Whether directory sources go through the plan, as `-a`'s do.
    pub fn by_plan(&self) -> bool {
        self.keeps.is_some() || self.checksum || self.dry_run || self.itemize || self.select.needs_plan()
    }

    /// Whether files sent up land with their source's mode and mtime: `-p`,
    /// `-a` (rsync's -p and -t), and a plan that compares by mtime on the
    /// next run (the selection's, `-n`'s, `-i`'s); not for `-l`, `-o`, `-g`
    /// or `--checksum` alone, which keep no more than `rsync -r` with them.
    pub fn keeps_times(&self) -> bool {
        self.preserve || self.keeps.is_some_and(|k| k.attrs) || self.dry_run || self.itemize || self.select.needs_plan()
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            recursive: true,
            resume: false,
            filter: Filter::default(),
            jobs: DEFAULT_JOBS,
            fai: false,
            contents: false,
            preserve: false,
            keeps: None,
            copy_links: false,
            checksum: false,
            opening: Opening::default(),
            select: Select::default(),
            dry_run: false,
            itemize: false,
            backup: None,
            remove_source: false,
            sized: false,
        }
    }
}

/// Sessions of the pool unless told otherwise.
pub const DEFAULT_JOBS: usize = 4;
