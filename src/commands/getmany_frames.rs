//! Where a batch download's frames go: the channel, or for a framed batch
//! (`TFDGETMANY <n> <max> … z f`, doc/compatibility.md "Compression") the
//! records of its one zstd stream ([`tfp_wire::batch::framed`]): every
//! reply, data frame, trailer and the closing `OK <n>` of the batch packed
//! together, so a tree of small files costs about what its tarball
//! compressed would, headers and all. The stream is the batch's
//! [`super::compress::Outflow`]'s, its claim on the memory budget held
//! there; the decider times the frames' writes as the blocks' are.

use super::compress::{delivery, Outflow};
use crate::session::Session;
use std::time::Instant;
use tfp_channel::ChannelError;
use tfp_wire::batch::framed::Framer;

/// A batch's frames on their way out.
pub(super) struct Sink {
    framer: Option<Framer>,
    /// The framed stream's bytes on the wire.
    wire: u64,
}

impl Sink {
    /// Frames as they are.
    pub(super) fn plain() -> Sink {
        Sink { framer: None, wire: 0 }
    }

    /// Records of the stream `z` packs; None when `z` has none (no memory,
    /// or no room in the budget for it).
    pub(super) fn framed(z: &mut Outflow) -> Option<Sink> {
        Some(Sink {
            framer: Some(Framer::new(z.take_squeeze()?)),
            wire: 0,
        })
    }

    /// Whether the batch's frames are records of one stream.
    pub(super) fn is_framed(&self) -> bool {
        self.framer.is_some()
    }

    /// One frame made of `parts`: sent, or gathered as a record (whole
    /// frames of the stream sent as they fill).
    pub(super) fn send(&mut self, s: &mut Session, parts: &[&[u8]]) -> Result<(), ChannelError> {
        match self.framer.as_mut() {
            None => s.chan_mut().tx.send_frame_parts(parts),
            Some(f) => {
                f.push_parts(parts);
                self.flush(s, false)
            }
        }
    }

    /// Sends what the stream still holds: the batch's end.
    pub(super) fn finish(&mut self, s: &mut Session) -> Result<(), ChannelError> {
        self.flush(s, true)
    }

    fn flush(&mut self, s: &mut Session, all: bool) -> Result<(), ChannelError> {
        let Some(f) = self.framer.as_mut() else {
            return Ok(());
        };
        let wire = &mut self.wire;
        f.frames(all, |sq, frame| {
            let t = Instant::now();
            s.chan_mut().tx.send_frame(frame)?;
            *wire += frame.len() as u64;
            sq.sent_on(frame.len(), t.elapsed(), || delivery(s.chan().stream()));
            Ok(())
        })
    }
}

impl std::fmt::Display for Sink {
    /// What the log adds to the batch's line: the stream's bytes on the
    /// wire for what it carried.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.framer {
            Some(fr) => {
                let (before, after) = fr.saved();
                write!(
                    f,
                    " ({} on the wire, framed, {before} compressed into {after}, zstd frames)",
                    self.wire
                )
            }
            None => Ok(()),
        }
    }
}
