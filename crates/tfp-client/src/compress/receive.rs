//! The receiving side of a download's blocks: one zstd stream per request
//! (a batch's, a single file's), each block decoded within what its file
//! has left (a block announcing more, decoding to more or less, or corrupt
//! is the server's fault: the caller drops the session and keeps nothing
//! of the block; memory holds one block and zstd's default window).

use crate::Error;
use tfp_wire::compress::{Decoder, MAX_DATA};

/// A request's receiving stream and the buffer a block decodes into.
pub(crate) struct Blocks {
    dec: Decoder,
    buf: Vec<u8>,
    /// The request, naming the server's fault.
    command: &'static str,
}

impl Blocks {
    /// A fresh stream for the blocks of `command`.
    pub(crate) fn new(command: &'static str) -> Result<Blocks, Error> {
        let dec = Decoder::with_default_window()
            .ok_or_else(|| Error::Local(std::io::Error::other("no memory for a zstd stream")))?;
        Ok(Blocks {
            dec,
            buf: Vec::new(),
            command,
        })
    }

    /// The data of one block of a file with `left` bytes to come: at least
    /// one byte, at most `left`.
    pub(crate) fn data<'a>(&'a mut self, frame: &'a [u8], left: u64) -> Result<&'a [u8], Error> {
        let command = self.command;
        match self.dec.data(frame, cap(left), &mut self.buf) {
            Ok([]) => Err(fault(command, "an empty block")),
            Ok(data) => Ok(data),
            Err(e) => Err(fault(command, &e.to_string())),
        }
    }

    /// A small file's one block into `out`: exactly `size` bytes.
    pub(crate) fn small(&mut self, frame: &[u8], size: u64, out: &mut Vec<u8>) -> Result<(), Error> {
        let command = self.command;
        self.dec
            .decode(frame, cap(size), out)
            .map_err(|e| fault(command, &e.to_string()))
    }
}

/// The server's fault in a request's blocks.
fn fault(command: &str, what: &str) -> Error {
    Error::Protocol(format!("{command}: {what}"))
}

/// The most a block may announce with `left` bytes of the file to come.
fn cap(left: u64) -> usize {
    usize::try_from(left).unwrap_or(usize::MAX).min(MAX_DATA)
}
