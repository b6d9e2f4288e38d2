//! What one upload is asked to do, as its caller describes it: below the
//! chooser (`route.rs`) and the runners (`run.rs`), which both read it.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::AtomicU64;

/// Where the bytes come from.
pub enum Source<'a> {
    /// A local regular file and its size when the caller looked.
    File(&'a Path, u64),
    /// A stream read once (standard input, a Python object): only the
    /// 2.4.1 commands take it.
    Stream(&'a mut dyn Read),
}

impl Source<'_> {
    /// The file's size; None for a stream.
    pub fn size(&self) -> Option<u64> {
        match self {
            Source::File(_, n) => Some(*n),
            Source::Stream(_) => None,
        }
    }
}

/// What the upload means for the remote file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Replace it whole, by the best route the server has (`tf put`,
    /// Python's `put`).
    Put,
    /// SNDFILE as the document has it (`tf sndfile`).
    Sndfile {
        /// Replace an existing file.
        overwrite: bool,
    },
    /// SUP (`tf sup`).
    Sup,
}

/// Whether a changed file may go as a delta (rsync's `--whole-file` and
/// `--no-whole-file`), for a single file and a mirror alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeltaRule {
    /// Where the link is slow ([`Link::slow`]).
    #[default]
    Auto,
    /// Never (`--whole-file`).
    Never,
    /// Whatever the link (`--no-whole-file`).
    Always,
}

/// What the caller knows of the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dest {
    /// A file's name, or nothing known.
    #[default]
    Known,
    /// Nothing there (FSTAT said so): no delta is asked for.
    Absent,
    /// Not asked whether it is a directory (`put FILE NAME`, as cp takes
    /// it): a stage's TFDSTAGE refuses a directory at no round trip of its
    /// own; any other route asks FSTAT first, which also tells a name with
    /// nothing there ([`Dest::Absent`]). A directory takes the file under
    /// the local file's name.
    Deferred,
}

/// One upload, as the caller describes it.
pub struct Request<'a> {
    /// The bytes.
    pub source: Source<'a>,
    /// The target on the server.
    pub remote: &'a [u8],
    /// What the upload means.
    pub kind: Kind,
    /// `--offset`: write in place from here.
    pub offset: Option<u64>,
    /// Continue an earlier upload of this file.
    pub resume: bool,
    /// Connections for the data.
    pub streams: usize,
    /// The HPF buffer PUT and the stages ask for.
    pub bufsz: i64,
    /// The server is to check the SHA-256 of what it stores.
    pub verify: bool,
    /// Whether a delta may be sent.
    pub delta: DeltaRule,
    /// What is known of the destination.
    pub dest: Dest,
    /// A file of a tree (`put -r`, `mirror -R`) that no batch carried: its
    /// big files go resumable through a stage, the rest whole.
    pub member: bool,
    /// The mode and mtime the file is to keep on the server (`put -r -p`,
    /// `mirror -R`), as a batch's header carries them: a stage's commit
    /// gives them to the file.
    pub attrs: Option<tfp_wire::stage::Attrs>,
    /// Whether the data may go compressed (staged uploads, for now).
    pub compress: tfp_wire::compress::Choice,
    /// `-S` and the file has holes: a file of a tree goes through a stage
    /// whatever its size, which makes the holes without their zeros sent.
    pub holes: bool,
    /// The attributes the file lands with (`-X`, `-A` of a tree's file):
    /// registered for a staged or delta commit (`TFDLANDXATTRS`).
    pub land: Option<crate::engine::land_attrs::Carry>,
    /// The local file's permission bits, which a new file on the server
    /// takes less the server's umask where the route carries them (a batch
    /// of a server that says it takes them, a staged commit); [`super::send`]
    /// reads them. A file they would not give another mode than a server's
    /// default (0644) goes by the route it would take without them.
    pub new_mode: Option<u32>,
}

impl<'a> Request<'a> {
    /// `kind` of `source` onto `remote`, with the defaults of a plain `put`.
    pub fn new(source: Source<'a>, remote: &'a [u8], kind: Kind) -> Request<'a> {
        Request {
            source,
            remote,
            kind,
            offset: None,
            resume: false,
            streams: 1,
            bufsz: 4 << 20,
            verify: false,
            delta: DeltaRule::Auto,
            dest: Dest::Known,
            member: false,
            attrs: None,
            compress: tfp_wire::compress::Choice::Auto,
            holes: false,
            land: None,
            new_mode: None,
        }
    }
}

/// The counters an upload keeps as it goes.
pub struct Progress<'a> {
    /// Bytes sent are added to it (a delta, which only a single file takes,
    /// sets it to the bytes of the local file done).
    pub done: &'a AtomicU64,
    /// Bytes the route will send: the file's size, less what the server
    /// already holds for an in-place resume.
    pub total: &'a AtomicU64,
}

/// What happened on the way that the caller may tell its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// The server has no staged uploads: the file is written in place, so
    /// an interruption leaves it neither the old nor the new file.
    NoStages,
}

/// The last component of the local path `p`, the name a file keeps inside
/// a remote directory (None for `-`, `.`, `..` or nothing).
pub fn file_name(p: &str) -> Option<&str> {
    let n = p.trim_end_matches('/').rsplit('/').next()?;
    (!n.is_empty() && n != "-" && n != "." && n != "..").then_some(n)
}

/// `name` inside the remote directory `dest`.
pub fn in_dir(dest: &str, name: &str) -> String {
    let dir = dest.trim_end_matches('/');
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}
