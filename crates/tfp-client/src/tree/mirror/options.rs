//! What a mirror may do: its options, as `tf mirror`'s flags and the
//! Python package's keywords give them.

use crate::engine::backup::Wanted;
use crate::engine::upload::DeltaRule;
use crate::tree::filter::Filter;
use crate::tree::select::Select;
use crate::tree::sync::Keeps;

/// What a mirror may do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The source is local and the destination on the server (`-R`).
    pub upload: bool,
    /// Remove what the destination has and the source has not.
    pub delete: bool,
    /// Judge files of the same size by SHA-256 rather than by mtime.
    pub checksum: bool,
    /// Files sent up land with their source's mtime and mode (a mirror's
    /// quick check needs them). A tree copy asked for neither (`put -r -l`,
    /// `-o`, `--checksum` without `-p`, `-a`) leaves them landing as `put -r`
    /// and `rsync -r` leave them: the time of the copy, a new file the
    /// source's mode less the umask.
    pub times: bool,
    /// Plan only: [`MirrorReport::planned`] says what a run would do.
    pub dry_run: bool,
    /// Sessions moving files at once.
    pub jobs: usize,
    /// The caller's session entered with Fast Access: the pool's do too.
    pub fai: bool,
    /// `--exclude`/`--include`, on both sides.
    pub filter: Filter,
    /// When a changed file the destination has goes as a delta, both ways
    /// (`mirror -R` sends one, `mirror` fetches one); the rest go whole (up:
    /// in batches).
    pub delta: DeltaRule,
    /// What is kept beyond files' data and directories: by default what
    /// `rsync -a` keeps (modes, mtimes to the nanosecond, links, FIFOs and
    /// sockets), where the server says them (a download from a server with
    /// TFDENTRIES).
    pub keeps: Keeps,
    /// `-L`: the source's symlinks are what they name: a file's contents
    /// land as a file, a directory's tree as a directory.
    pub copy_links: bool,

    // Selection (issue 68)
    /// Sizes, update modes and `--delete-excluded`, applied to the plan.
    pub select: Select,
    // backups and moves (issue 68)
    /// `--backup`, `--backup-dir`, `--suffix`: every file the run replaces
    /// or removes at the destination is kept (rsync's meaning).
    pub backup: Option<Wanted>,
    /// `--remove-source-files`: each source file whose copy is proven the
    /// same is removed once the run is over ([`super::moves`]).
    pub remove_source: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            upload: false,
            delete: false,
            checksum: false,
            times: true,
            dry_run: false,
            jobs: crate::tree::options::DEFAULT_JOBS,
            fai: false,
            filter: Filter::default(),
            delta: DeltaRule::Auto,
            keeps: Keeps::archive(),
            copy_links: false,
            select: Select::default(),
            backup: None,
            remove_source: false,
        }
    }
}
