//! The SHA-256 of a local file in the server's text form (`0x…`), as the
//! SHA256 command answers it: what `--verify`, `tf sha256`'s comparisons and
//! a staged upload's commit compare with the server's.

use sha2::{Digest, Sha256};
use std::io;
use std::path::Path;

/// The SHA-256 of the file at `p`, read one chunk ahead of the hash, through
/// the page cache: an upload may be reading the same file beside it.
pub fn sha256_file(p: &Path) -> io::Result<String> {
    let f = std::fs::File::open(p)?;
    let mut h = Sha256::new();
    tfd_sys::direct::each_chunk(&f, 0, false, &mut |b| h.update(b))?;
    Ok(tfp_wire::sha256_text(&h.finalize().into())
        .iter()
        .map(|&b| b as char)
        .collect())
}
