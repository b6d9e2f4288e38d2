//! Bytes written into a stage whose commit waits for the caller: what a
//! transaction (fsspec's `fs.transaction`, the Python package's) needs so
//! that its files appear together at its end, or none of them when it is
//! given up. Each file is staged whole ([`stage`]: TFDSTAGE, TFDSTAGEPUT)
//! and left invisible; [`commit`] renames it over its target
//! (TFDSTAGEDONE, checked against the SHA-256 of what was staged) and
//! [`drop`] removes it (TFDSTAGEDROP).

use crate::transfer::PutOutcome;
use crate::{Client, Error};
use sha2::{Digest, Sha256};
use tfp_wire::stage as wire;
use tfp_wire::Status;

/// The HPF buffer a staged file's TFDSTAGEPUT asks for.
const BUFSZ: i64 = 4 << 20;

/// A file staged and not yet committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The target on the server.
    pub remote: Vec<u8>,
    /// The SHA-256 of the staged bytes, as the server writes one (`0x…`).
    pub sha256: String,
    /// Replace an existing target when committed.
    pub overwrite: bool,
}

/// Stages `data` for `remote` (a fresh stage: anything an earlier upload
/// left there is emptied); nothing is visible at `remote` until [`commit`].
/// A server without stages refuses TFDSTAGE with `UNKNOWN`
/// ([`super::unsupported`]).
pub fn stage(c: &mut Client, remote: &[u8], data: &[u8], overwrite: bool) -> Result<Held, Error> {
    let sha = tfp_wire::sha256_text(&Sha256::digest(data).into());
    let sha256: String = sha.iter().map(|&b| b as char).collect();
    // the identity names these bytes: a stage for them is never resumed
    // from another source's
    let id = format!("mem:{}:{}", data.len(), &sha256[2..34]);
    let open = wire::Open {
        size: data.len() as u64,
        identity: id.as_bytes(),
        fresh: true,
        path: remote,
    };
    match c.call(wire::OPEN, &open.encode())? {
        Status::Ok(_) => {}
        st => return Err(Error::refused(wire::OPEN, st)),
    }
    let held = Held {
        remote: remote.to_vec(),
        sha256,
        overwrite,
    };
    if data.is_empty() {
        return Ok(held);
    }
    let outcome = c.put_as(wire::PUT, remote, 0, BUFSZ, &mut &data[..], &mut |_| {});
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            let _ = drop(c, &held);
            return Err(e);
        }
    };
    // TFDSTAGEPUT's own last frame: the write's real status
    let st = Status::parse(&c.chan.rx.recv_frame()?);
    match (outcome, st) {
        (PutOutcome::Done, Status::Ok(_)) => Ok(held),
        (PutOutcome::ReadFailed(e), _) => Err(Error::Local(e)),
        (_, Status::Ok(_)) => {
            let _ = drop(c, &held);
            Err(Error::Cancelled { command: wire::PUT })
        }
        (_, st) => Err(Error::refused(wire::PUT, st)),
    }
}

/// Puts the staged file in place: refused (the target as it was) when the
/// stage is gone or does not hold the bytes staged.
pub fn commit(c: &mut Client, held: &Held) -> Result<(), Error> {
    let done = wire::Done {
        sha256: held.sha256.as_bytes(),
        overwrite: held.overwrite,
        path: &held.remote,
        attrs: None,
    };
    match c.call(wire::DONE, &done.encode())? {
        Status::Ok(_) => Ok(()),
        st => Err(Error::refused(wire::DONE, st)),
    }
}

/// Gives the staged file up: its stage is removed, the target untouched.
pub fn drop(c: &mut Client, held: &Held) -> Result<(), Error> {
    super::discard(c, &held.remote)
}
