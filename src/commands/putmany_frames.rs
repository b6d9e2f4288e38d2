//! Where a batch upload's frames come from: the channel, or for a framed
//! batch (`TFDPUTMANY <n> z f`, doc/compatibility.md "Compression") the
//! records of its one zstd stream ([`tfp_wire::batch::framed`]), read with
//! the same bounds a plain batch's frames have. A frame or record the
//! stream refuses (a bomb, a record longer than the batch allows there, a
//! frame out of step) ends the batch: `FAILED`, the session closed, the
//! files not yet received whole left as they were.

use super::CmdError;
use crate::session::Session;
use tfp_channel::ChannelError;
use tfp_wire::batch::framed::Unframer;
use tfp_wire::MAX_FRAME;

/// A batch's frames.
pub(super) struct Source {
    framed: Option<Unframer>,
    /// Why the framed stream could not be read on.
    refused: Option<String>,
}

impl Source {
    /// Frames as the channel brings them.
    pub(super) fn plain() -> Source {
        Source {
            framed: None,
            refused: None,
        }
    }

    /// Records of one zstd stream keeping at most 2^`window_log` bytes.
    pub(super) fn framed(window_log: u32) -> Result<Source, CmdError> {
        let u = Unframer::new(window_log)
            .ok_or_else(|| CmdError::Told(tfp_wire::Failed::TransferApi, "no memory for a zstd stream".into()))?;
        Ok(Source {
            framed: Some(u),
            refused: None,
        })
    }

    /// The batch's next frame, of at most `max` bytes. A refusal of the
    /// framed stream comes as a closed channel, its reason kept for
    /// [`Source::refused`].
    pub(super) fn next(&mut self, s: &mut Session, max: usize) -> Result<Vec<u8>, CmdError> {
        let Some(u) = self.framed.as_mut() else {
            return Ok(s.chan_mut().rx.recv_frame_max(max)?);
        };
        match u.record(max, || s.chan_mut().rx.recv_frame_max(MAX_FRAME))? {
            Ok(r) => Ok(r),
            Err(e) => {
                self.refused = Some(e.to_string());
                Err(CmdError::Channel(ChannelError::Closed))
            }
        }
    }

    /// Why the framed stream was refused, if it was; after the end frame,
    /// also decoded bytes left over (the stream went on past the batch).
    pub(super) fn refused(&self) -> Option<String> {
        if let Some(why) = &self.refused {
            return Some(why.clone());
        }
        let left = self.framed.as_ref().map_or(0, Unframer::leftover);
        (left > 0).then(|| format!("{left} bytes of the compressed stream after its end frame"))
    }
}

impl std::fmt::Display for Source {
    /// What the log adds to the batch's line: the frames' bytes on the wire.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.framed {
            Some(u) => write!(f, " ({} on the wire for {} framed, zstd frames)", u.wire, u.decoded),
            None => Ok(()),
        }
    }
}

/// The longest frame a batch's header read takes: its kind of header, or
/// an attributes frame where the batch says `x`.
pub(super) fn header_max(batch: tfp_wire::batch::put::PutMany) -> usize {
    let head = if batch.archive {
        tfp_wire::entry::Head::MAX
    } else {
        tfp_wire::batch::put::MAX_HEADER
    };
    if batch.attrs {
        head.max(tfp_wire::batch::put::AttrsHead::MAX)
    } else {
        head
    }
}

/// A header frame and the sets an attributes frame before it gave.
pub(super) type Landed = (Vec<u8>, Option<tfp_wire::xattr::Land>);

/// An entry's header read by `next`, with the sets an attributes frame
/// before it gives (a batch that says `x`; see
/// [`tfp_wire::batch::put::AttrsHead`]). The inner `Err` is a batch out of
/// step: an attributes frame that does not parse, or two in a row.
pub(super) fn header_with_land(
    batch: tfp_wire::batch::put::PutMany,
    mut next: impl FnMut(usize) -> Result<Vec<u8>, CmdError>,
) -> Result<Result<Landed, &'static str>, CmdError> {
    let max = header_max(batch);
    let head = next(max)?;
    if !(batch.attrs && head.starts_with(b"X ")) {
        return Ok(Ok((head, None)));
    }
    let Some(a) = tfp_wire::batch::put::AttrsHead::parse(&head) else {
        return Ok(Err("an attributes frame that does not parse"));
    };
    let head = next(max)?;
    if head.starts_with(b"X ") {
        return Ok(Err("two attributes frames in a row"));
    }
    Ok(Ok((head, Some(a.land))))
}
