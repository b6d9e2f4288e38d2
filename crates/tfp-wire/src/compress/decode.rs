//! The receiving side: decodes blocks into a buffer no larger than what
//! each announced and the receiver allows.

use super::{Block, BlockError, Kind, DEFAULT_WINDOW_LOG};
use zstd::zstd_safe::{DCtx, DParameter, InBuffer, OutBuffer, ResetDirective};

/// The receiver's zstd stream for one transfer, bounded twice: a block is
/// decoded only if it announces at most the cap given to [`Decoder::decode`],
/// and zstd keeps at most 2^`window_log` bytes of history (a stream asking
/// for more is refused, not allocated).
pub struct Decoder {
    ctx: DCtx<'static>,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Decoder")
    }
}

impl Decoder {
    /// A stream keeping at most 2^`window_log` bytes of history.
    pub fn new(window_log: u32) -> Option<Decoder> {
        let mut ctx = DCtx::try_create()?;
        let log = window_log.clamp(super::MIN_WINDOW_LOG, super::MAX_WINDOW_LOG);
        ctx.set_parameter(DParameter::WindowLogMax(log)).ok()?;
        Some(Decoder { ctx })
    }

    /// A stream with the default window.
    pub fn with_default_window() -> Option<Decoder> {
        Decoder::new(DEFAULT_WINDOW_LOG)
    }

    /// Decodes one block (header and payload, as [`Block::parse`] reads it)
    /// into `out`, which is cleared first and holds exactly the announced
    /// data on success. `out` never grows beyond the announced length, which
    /// is itself at most `cap`. After an error the stream is unusable: the
    /// transfer is over (the receiver answers FAILED and keeps nothing).
    pub fn decode(&mut self, frame: &[u8], cap: usize, out: &mut Vec<u8>) -> Result<(), BlockError> {
        let block = Block::parse(frame, cap)?;
        out.clear();
        if block.kind == Kind::Raw {
            out.extend_from_slice(block.payload);
            return Ok(());
        }
        self.stream(block, out)
    }

    /// [`Decoder::decode`] without copying a raw block: its data is the
    /// frame's own bytes; a compressed one is decoded into `buf` (bounded
    /// alike).
    pub fn data<'a>(&mut self, frame: &'a [u8], cap: usize, buf: &'a mut Vec<u8>) -> Result<&'a [u8], BlockError> {
        let block = Block::parse(frame, cap)?;
        if block.kind == Kind::Raw {
            return Ok(block.payload);
        }
        buf.clear();
        self.stream(block, buf)?;
        Ok(&buf[..])
    }

    /// A compressed block, into the empty `out`.
    fn stream(&mut self, block: Block<'_>, out: &mut Vec<u8>) -> Result<(), BlockError> {
        if block.kind == Kind::ZstdFresh {
            self.ctx
                .reset(ResetDirective::SessionOnly)
                .map_err(|_| BlockError::Corrupt)?;
        }
        self.inflate(block, out)
    }

    fn inflate(&mut self, block: Block<'_>, out: &mut Vec<u8>) -> Result<(), BlockError> {
        out.resize(block.len, 0);
        let mut input = InBuffer::around(block.payload);
        let mut output = OutBuffer::around(&mut out[..]);
        loop {
            let before = (input.pos(), output.pos());
            self.ctx
                .decompress_stream(&mut output, &mut input)
                .map_err(|_| BlockError::Corrupt)?;
            if (input.pos(), output.pos()) == before {
                break;
            }
        }
        if input.pos() < block.payload.len() {
            // zstd stops only when the buffer is full: more than announced.
            return Err(BlockError::Overflow);
        }
        let written = output.pos();
        // All input taken: zstd may still hold decoded bytes it had no room
        // for. One more byte of room tells.
        let mut probe = [0u8; 1];
        let mut spare = OutBuffer::around(&mut probe[..]);
        self.ctx
            .decompress_stream(&mut spare, &mut InBuffer::around(&[]))
            .map_err(|_| BlockError::Corrupt)?;
        if spare.pos() != 0 {
            return Err(BlockError::Overflow);
        }
        if written != block.len {
            return Err(BlockError::Short);
        }
        Ok(())
    }
}
