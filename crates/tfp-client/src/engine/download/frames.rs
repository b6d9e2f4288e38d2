//! Where a batch download's frames come from: the channel, or for a framed
//! batch (`TFDGETMANY … z f`, doc/compatibility.md "Compression") the
//! records of the server's one zstd stream ([`tfp_wire::batch::framed`]),
//! read with the bounds a plain batch's frames have. A frame decoding to
//! more or less than it announces, corrupt, or a record longer than allowed
//! is the server's fault: the batch fails with one sentence naming it, the
//! session is dropped, and the file being received is discarded.

use crate::Error;
use tfp_wire::batch::framed::Unframer;
use tfp_wire::compress::DEFAULT_WINDOW_LOG;
use tfp_wire::MAX_FRAME;

/// The receiving half of a session's channel.
pub(super) type Rx = tfp_channel::RxHalf<tfp_channel::NetStream>;

/// A batch's frames as they are read.
pub(super) struct Frames<'a> {
    pub(super) rx: &'a mut Rx,
    framed: Option<Unframer>,
}

impl<'a> Frames<'a> {
    /// Frames from `rx`, records of one zstd stream when `framed` (its
    /// window zstd's default, as every stream tf receives).
    pub(super) fn new(rx: &'a mut Rx, framed: bool) -> Result<Frames<'a>, Error> {
        let framed = match framed {
            true => Some(
                Unframer::new(DEFAULT_WINDOW_LOG)
                    .ok_or_else(|| Error::Local(std::io::Error::other("no memory for a zstd stream")))?,
            ),
            false => None,
        };
        Ok(Frames { rx, framed })
    }

    /// The next frame, of at most `max` bytes.
    pub(super) fn next(&mut self, max: usize) -> Result<Vec<u8>, Error> {
        let Some(u) = self.framed.as_mut() else {
            return Ok(self.rx.recv_frame_max(max)?);
        };
        let rx = &mut *self.rx;
        match u.record(max, || rx.recv_frame_max(MAX_FRAME))? {
            Ok(r) => Ok(r),
            Err(e) => Err(Error::Protocol(format!(
                "TFDGETMANY: the server's compressed stream was refused ({e})"
            ))),
        }
    }

    /// The next frame, of at most [`MAX_FRAME`] bytes.
    pub(super) fn frame(&mut self) -> Result<Vec<u8>, Error> {
        self.next(MAX_FRAME)
    }

    /// At the batch's end: a framed stream that went on past its last
    /// record is the server's fault.
    pub(super) fn end(&self) -> Result<(), Error> {
        match self.framed.as_ref().map_or(0, Unframer::leftover) {
            0 => Ok(()),
            n => Err(Error::Protocol(format!(
                "TFDGETMANY: {n} bytes of the server's compressed stream after its end"
            ))),
        }
    }
}
