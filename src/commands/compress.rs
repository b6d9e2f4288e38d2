//! tfd's compressed transfers (doc/compatibility.md "Compression"): the
//! probe that tells a client the server takes zstd blocks, and the bounded
//! decoding of a transfer's blocks on their way to the disk.
//!
//! - `TFDZSTD`: `OK <level_max> <window_log>` with `compression yes`,
//!   `UNKNOWN` with `no` (as a server without the extension answers).
//! - `TFDSTAGEPUTZ <path> <hpfile>` (`super::stage::put_blocks`):
//!   TFDSTAGEPUT whose every data chunk is one block (`tfp_wire::compress`),
//!   each through an [`Inflow`].

use super::{CmdResult, Reply};
use crate::session::Session;
use tfp_wire::compress::{self as z, Decoder, Offer};

/// What this server offers, from its config.
pub(crate) fn offer(s: &Session) -> Option<Offer> {
    let cfg = &s.ctx().cfg;
    cfg.compression.then(|| Offer {
        level_max: i32::from(cfg.compression_level_max),
        window_log: z::window_log_for(cfg.compression_memory),
    })
}

/// `TFDZSTD`.
pub fn tfdzstd(s: &mut Session, _arg: &[u8]) -> CmdResult {
    Ok(match offer(s) {
        Some(o) => Reply::Data(o.encode()),
        None => Reply::Unknown,
    })
}

/// A transfer's chunks as the disk takes them: as they came, or each one
/// block decoded within the room the file has left (a block announcing
/// more, or decoding to more or less than it announced, fails the write:
/// nothing of it is kept, and memory never holds more than one block).
pub(crate) struct Inflow {
    blocks: Option<(Decoder, Vec<u8>)>,
    /// The blocks' bytes as they came, for the log.
    wire: u64,
}

impl Inflow {
    /// Chunks as they came.
    pub(crate) fn plain() -> Inflow {
        Inflow { blocks: None, wire: 0 }
    }

    /// Chunks that are blocks of a stream keeping 2^`window_log` bytes of
    /// history at most.
    pub(crate) fn blocks(window_log: u32) -> std::io::Result<Inflow> {
        let d = Decoder::new(window_log).ok_or_else(|| std::io::Error::other("no memory for a zstd stream"))?;
        Ok(Inflow {
            blocks: Some((d, Vec::new())),
            wire: 0,
        })
    }

    /// The data `chunk` holds, at most `room` bytes.
    pub(crate) fn data<'a>(&'a mut self, chunk: &'a [u8], room: u64) -> std::io::Result<&'a [u8]> {
        match &mut self.blocks {
            None => Ok(chunk),
            Some((d, buf)) => {
                self.wire += chunk.len() as u64;
                let cap = usize::try_from(room).unwrap_or(usize::MAX);
                Ok(d.data(chunk, cap, buf)?)
            }
        }
    }
}

impl std::fmt::Display for Inflow {
    /// What the log adds to a transfer's line: the bytes on the wire of
    /// compressed blocks; nothing for plain data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.blocks {
            Some(_) => write!(f, " ({} on the wire, zstd blocks)", self.wire),
            None => Ok(()),
        }
    }
}
