//! A local file to send and what the server is to keep of it: below the
//! engine's routes and the tree's runs that both hand files to them.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// One file of an upload: the local file and its remote name.
#[derive(Clone)]
pub(crate) struct Up {
    pub(crate) local: PathBuf,
    pub(crate) remote: Vec<u8>,
    /// Its size when the walk saw it: batches are split and balanced by it
    /// without a second look at each file (10,000 more stats, 40 ms and
    /// more on a loaded machine, on the path before the first byte is
    /// sent). What is sent is what the file holds when read.
    pub(crate) size: Option<u64>,
    /// The size of the server's copy, when the plan knows the server has
    /// one as a file: a changed file may go as a delta onto it.
    pub(crate) theirs: Option<u64>,
}

impl Up {
    /// A file whose size is looked at when needed.
    pub(crate) fn new(local: PathBuf, remote: Vec<u8>) -> Up {
        Up {
            local,
            remote,
            size: None,
            theirs: None,
        }
    }

    /// Its size: the walk's, else the file's now (0 when unreadable).
    pub(crate) fn size(&self) -> u64 {
        self.size
            .unwrap_or_else(|| std::fs::symlink_metadata(&self.local).map_or(0, |m| m.len()))
    }
}

/// What a batch upload keeps of the local file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Keep {
    /// The permission bits.
    pub mode: bool,
    /// The modification time.
    pub mtime: bool,
    /// Mirror's guard for its quick check (git's "racy" rule): a file read
    /// within a second of its mtime gets that mtime less one second on the
    /// server, so the next run compares it by SHA-256 ([`crate::tree::sync::Rule`])
    /// and an edit made later in that same second is not taken for the copy.
    pub not_fresh: bool,
    /// Archive headers (`TFDPUTMANY <n> a`, a server with TFDENTRIES): the
    /// whole mode (the server keeps set-id bits for root alone) and the
    /// mtime to the nanosecond, as it is (no [`Keep::not_fresh`]: the plan
    /// corrects a time alone).
    pub archive: bool,
    /// With [`Keep::archive`]: each file's owner and group by number, in its
    /// header (a session the server lets give owners: tfd's root).
    pub owner: bool,
    /// Whether the data may go compressed (`TFDPUTMANY <n> z`), as
    /// [`crate::engine::route::compresses`] judges it: the run's `-z`,
    /// `--compress`, `--no-compress`, or measured.
    pub compress: tfp_wire::compress::Choice,
    /// A new file takes the local file's permission bits less the server's
    /// umask, as `cp` gives a new file its source's (a file it replaces
    /// keeps its own): where the server's probe said its batches take them
    /// ([`crate::caps::Ext::BatchModes`]), and in a staged commit. Without
    /// [`Keep::mode`], which keeps the bits exactly.
    pub new_mode: bool,
    /// The attributes each file lands with (`-X`, `-A`): read from the
    /// descriptor its data is read from and given to the server's
    /// temporary before its rename, where the server takes them
    /// ([`crate::engine::land_attrs`]).
    pub land: Option<crate::engine::land_attrs::Carry>,
}

impl Keep {
    /// The mtime the server is to give a file whose local mtime is `mtime`
    /// (seconds): less one second when [`Keep::not_fresh`] and it was read
    /// within a second of it. Batches and mirror's deltas stamp alike.
    pub fn stamped_mtime(&self, mtime: i64) -> i64 {
        if self.archive {
            return mtime;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        if self.not_fresh && now < mtime.saturating_add(2) {
            mtime.saturating_sub(1)
        } else {
            mtime
        }
    }

    /// The mode and mtime of the file `m` describes that a staged commit
    /// gives the file on the server, as a batch's header does.
    pub(crate) fn attrs(&self, m: &std::fs::Metadata) -> Option<tfp_wire::stage::Attrs> {
        (self.mode || self.mtime || self.new_mode).then(|| tfp_wire::stage::Attrs {
            mode: self.mode.then(|| m.mode() & 0o777),
            mtime: self.mtime.then(|| self.stamped_mtime(m.mtime())),
            new_mode: (self.new_mode && !self.mode).then(|| m.mode() & 0o777),
        })
    }
}
