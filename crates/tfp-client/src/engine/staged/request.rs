//! What a staged upload is asked to do: below both the upload's course
//! (`mod.rs`) and its ranges' sending (`send.rs`), which read it.

use std::path::Path;

/// What a staged upload is asked to do.
pub struct Request<'a> {
    /// The local source (a regular file).
    pub local: &'a Path,
    /// The target on the server.
    pub remote: &'a [u8],
    /// Connections for the data (at least 1).
    pub streams: usize,
    /// The HPF buffer each connection asks for.
    pub bufsz: i64,
    /// Continue what the stage holds for this same source (else start empty).
    pub resume: bool,
    /// Replace an existing target.
    pub overwrite: bool,
    /// The local file's mode and mtime the committed file keeps (`put -r
    /// -p`, `mirror -R`, as a batch's files keep them), taken before its
    /// data is read; None: the target's mode, the server's time.
    pub attrs: Option<tfp_wire::stage::Attrs>,
    /// Send the ranges as compressed blocks (`TFDSTAGEPUTZ`), as the user
    /// chose and within what the server offered; None: as they are.
    pub compress: Option<(tfp_wire::compress::Choice, tfp_wire::compress::Offer)>,
}

impl Request<'_> {
    /// The command a range goes with.
    pub fn put_command(&self) -> &'static str {
        match self.compress {
            Some(_) => tfp_wire::compress::STAGE_PUT,
            None => tfp_wire::stage::PUT,
        }
    }
}
