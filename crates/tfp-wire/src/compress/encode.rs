//! The sending side: one zstd context kept across the blocks of a transfer.

use super::{header, Kind, HEADER_LEN, MAX_DATA, MAX_LEVEL};
use zstd::zstd_safe::{self, zstd_sys::ZSTD_EndDirective, CCtx, CParameter, InBuffer, OutBuffer, ResetDirective};

/// Compresses the blocks of one transfer into one zstd stream, each block
/// flushed so the receiver decodes it as soon as it arrives. Blocks sent raw
/// do not enter the stream; [`Encoder::fresh`] starts a new one (a file that
/// must not share history with the files before it).
pub struct Encoder {
    ctx: CCtx<'static>,
    level: i32,
    /// The next compressed block starts a new stream (the receiver resets too).
    fresh: bool,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder").field("level", &self.level).finish()
    }
}

/// zstd refused a parameter or ran out of memory: the sender sends raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeError;

impl Encoder {
    /// A context at `level` (clamped to 1..=[`MAX_LEVEL`]) keeping at most
    /// 2^`window_log` bytes of history: the receiver's agreed window.
    pub fn new(level: i32, window_log: u32) -> Option<Encoder> {
        let ctx = CCtx::try_create()?;
        let window_log = window_log.clamp(super::MIN_WINDOW_LOG, super::MAX_WINDOW_LOG);
        let mut e = Encoder {
            ctx,
            level: 0,
            fresh: true,
        };
        e.ctx.set_parameter(CParameter::WindowLog(window_log)).ok()?;
        e.set_level(level).ok()?;
        Some(e)
    }

    /// The level of the blocks to come. A new level starts a new stream:
    /// zstd (1.5) applies a level given in the middle of a frame only with
    /// worker threads (`cParamsChanged` is read under `nbWorkers > 0`), so
    /// a single-threaded stream kept its first level while the decider
    /// believed it climbed, and timed level 3 as level 9. The history
    /// restarts; the decider moves its level at most once a block, and
    /// holds it while compressing costs between half the wire's time and
    /// all of it.
    pub fn set_level(&mut self, level: i32) -> Result<(), EncodeError> {
        let level = level.clamp(1, MAX_LEVEL);
        if level != self.level {
            // The window set at creation stays: an explicit parameter wins
            // over the level's own.
            self.ctx
                .set_parameter(CParameter::CompressionLevel(level))
                .map_err(|_| EncodeError)?;
            if self.level != 0 {
                self.fresh = true;
            }
            self.level = level;
        }
        Ok(())
    }

    /// The level in force.
    pub fn level(&self) -> i32 {
        self.level
    }

    /// The next compressed block starts a new stream: nothing sent before
    /// it can be referred to from it.
    pub fn fresh(&mut self) {
        self.fresh = true;
    }

    /// Appends `data` to `out` as a raw block. The stream is not touched.
    pub fn raw(data: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(&header(Kind::Raw, data.len()));
        out.extend_from_slice(data);
    }

    /// Appends `data` (at most [`MAX_DATA`] bytes) to `out` as a compressed
    /// block of the stream and returns its kind. The block goes as zstd
    /// made it even if it did not shrink: the receiver's stream must see
    /// what this one saw (decide beforehand, with a sample, whether to
    /// compress at all). On an error `out` is as it was and the stream is
    /// restarted, so the caller sends the data raw and carries on.
    pub fn compress(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<Kind, EncodeError> {
        if data.len() > MAX_DATA {
            return Err(EncodeError);
        }
        let start = out.len();
        let kind = if self.fresh { Kind::ZstdFresh } else { Kind::Zstd };
        if self.fresh {
            self.ctx.reset(ResetDirective::SessionOnly).map_err(|_| EncodeError)?;
        }
        out.extend_from_slice(&header(kind, data.len()));
        match self.flush_into(data, out) {
            Ok(()) => {
                self.fresh = false;
                Ok(kind)
            }
            Err(e) => {
                out.truncate(start);
                self.fresh = true;
                Err(e)
            }
        }
    }

    fn flush_into(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.reserve(zstd_safe::compress_bound(data.len()) + HEADER_LEN);
        let mut input = InBuffer::around(data);
        loop {
            let pos = out.len();
            let mut output = OutBuffer::around_pos(out, pos);
            let left = self
                .ctx
                .compress_stream2(&mut output, &mut input, ZSTD_EndDirective::ZSTD_e_flush)
                .map_err(|_| EncodeError)?;
            if left == 0 && input.pos() == data.len() {
                return Ok(());
            }
            out.reserve(left.max(4096));
        }
    }
}
