//! The two ends of a mirror: the remote directory and the local one, and
//! how what the run tells names each.

use crate::remote::listing::Kind;
use std::path::PathBuf;

/// The two ends of a mirror, and how what it tells names each (a
/// mirror's as given; a tree copy's as its names are shown).
pub(crate) struct Ends {
    /// The remote directory, without a trailing `/` ("" is the root).
    pub(crate) remote: Vec<u8>,
    pub(crate) local: PathBuf,
    pub(crate) remote_shown: String,
    pub(crate) local_shown: String,
    /// What the remote end is, when the caller asked the server this run
    /// (`None` inside: nothing there): not asked again.
    pub(crate) seen: Option<Option<Kind>>,
    /// The caller sent TFDENTRIES of the remote end (as this says), and
    /// its answer is the next on the session (a download's source, listed
    /// behind its FSTAT).
    pub(crate) listed_ahead: Option<crate::remote::zlisting::Asked>,
    /// The tree's name below the destination as given, which the items
    /// ([`crate::engine::events::Events::item`]) start with; empty: the destination itself.
    pub(crate) named: Vec<u8>,
}

/// `path` relative to the remote directory `dir` ("" is the root).
pub(super) fn relative(path: &[u8], dir: &[u8]) -> Option<Vec<u8>> {
    if dir.is_empty() {
        return Some(path.to_vec());
    }
    path.strip_prefix(dir)?.strip_prefix(b"/").map(<[u8]>::to_vec)
}

/// A remote path as given, without a trailing `/` ("" or "/" is the root).
pub(super) fn remote_path(p: &str) -> Vec<u8> {
    p.trim_end_matches('/').as_bytes().to_vec()
}
