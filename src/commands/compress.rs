//! tfd's compressed transfers (doc/compatibility.md "Compression"): the
//! probe that tells a client the server takes zstd blocks, and the bounded
//! decoding of a transfer's blocks on their way to the disk.
//!
//! - `TFDZSTD`: `OK <level_max> <window_log>` with `compression yes`,
//!   `UNKNOWN` with `no` (as a server without the extension answers).
//! - `TFDSTAGEPUTZ <path> <hpfile>` (`super::stage::put_blocks`):
//!   TFDSTAGEPUT whose every data chunk is one block (`tfp_wire::compress`),
//!   each through an [`Inflow`].
//! - `TFDGETMANY ... z` (`super::getmany`): a download batch's data as
//!   blocks, through an [`Outflow`].
//! - `TFDPUTMANY <n> z` (`super::putmany`): a batch whose data frames are
//!   blocks of one stream across its files, each through the batch's
//!   [`Inflow`] ([`Inflow::piece`]).
//! - `TFDGETZ <choice> <path> <hpfile>` (`super::hpf::getz`): GET whose
//!   every data unit is one block, through an [`Outflow`] per request.
//! - `TFDGETCANZ <choice> <path> <hpfilecan>` (`super::hpf::getcanz`):
//!   GETCAN whose every chunk is one block, a `get --streams` lane's, through
//!   an [`Outflow`] per request.

use super::{CmdResult, Reply};
use crate::session::Session;
use std::net::TcpStream;
use std::time::Instant;
use tfp_channel::{NetStream, TxHalf};
use tfp_wire::compress::{self as z, Choice, Decoder, Offer, Squeeze, DEFAULT_WINDOW_LOG};

/// What this server offers, from its config.
pub(crate) fn offer(s: &Session) -> Option<Offer> {
    let cfg = &s.ctx().cfg;
    cfg.compression.then(|| Offer {
        level_max: i32::from(cfg.compression_level_max),
        window_log: z::window_log_for(cfg.compression_memory),
    })
}

/// What one zstd stream of a transfer may hold, claimed in the memory
/// budget while it lives: `compression_memory` (its window and zstd's own
/// tables) and one block.
pub(crate) fn stream_held(s: &Session) -> u64 {
    s.ctx().cfg.compression_memory.saturating_add(z::MAX_DATA as u64)
}

/// Whether this server offers compression: the compressed commands' rows
/// are there only then (`super::table`, [`crate::dispatch::Spec::offered`]).
pub(crate) fn offered(s: &Session) -> bool {
    s.ctx().cfg.compression
}

/// What `sock` delivers, as the kernel measured it: the decider's view of
/// the link (timed writes alone took a link shared by four sessions for a
/// fast one while compressing held the sender back).
pub(crate) fn delivery(sock: &TcpStream) -> Option<z::Delivered> {
    use std::os::fd::AsFd as _;
    tfd_sys::tcp_delivery(sock.as_fd()).map(|d| d.parts().into())
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
    /// A block of the stream was refused: the blocks continuing it cannot
    /// be decoded until one starts a new stream (a batch's, [`Inflow::piece`]).
    broken: bool,
}

/// What one data frame of a batch's file brings ([`Inflow::piece`]).
pub(crate) enum Piece<'a> {
    /// The file's next bytes, at most what it has left, never empty.
    Data(&'a [u8]),
    /// A block announcing `n` bytes of the file was refused: the file
    /// fails with the reason, its data are counted on, the batch goes on.
    Refused(u64, String),
}

/// Why a batch's data frame cannot be counted: the batch is out of step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Uncounted {
    /// An empty frame, or a block announcing no data.
    Empty,
    /// A frame this many bytes longer than its file has left.
    Beyond(u64),
    /// A block whose header does not parse.
    Malformed,
}

impl std::fmt::Display for Uncounted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Uncounted::Empty => f.write_str("an empty data frame"),
            Uncounted::Beyond(n) => write!(f, "{n} bytes more than announced"),
            Uncounted::Malformed => f.write_str("a data block that does not parse"),
        }
    }
}

/// What a batch's data frame announces of its file, that has `left` bytes
/// to come: its own length, or with `blocks` the length its block decodes
/// to, never more than `left` (a block announcing more is counted as the
/// file's last).
pub(crate) fn counted(frame: &[u8], left: u64, blocks: bool) -> Result<u64, Uncounted> {
    let n = if blocks {
        let (_, n) = z::Block::announced(frame).ok_or(Uncounted::Malformed)?;
        (n as u64).min(left)
    } else if frame.len() as u64 > left {
        return Err(Uncounted::Beyond(frame.len() as u64 - left));
    } else {
        frame.len() as u64
    };
    if n == 0 {
        return Err(Uncounted::Empty);
    }
    Ok(n)
}

impl Inflow {
    /// Chunks as they came.
    pub(crate) fn plain() -> Inflow {
        Inflow {
            blocks: None,
            wire: 0,
            broken: false,
        }
    }

    /// Chunks that are blocks of a stream keeping 2^`window_log` bytes of
    /// history at most.
    pub(crate) fn blocks(window_log: u32) -> std::io::Result<Inflow> {
        let d = Decoder::new(window_log).ok_or_else(|| std::io::Error::other("no memory for a zstd stream"))?;
        Ok(Inflow {
            blocks: Some((d, Vec::new())),
            wire: 0,
            broken: false,
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

impl Inflow {
    /// One data frame of a batch's file that has `left` bytes to come
    /// ([`counted`] frames it). A block is decoded within what the file has
    /// left (never beyond [`z::MAX_DATA`]) even for a file already failed,
    /// since the files after it continue its stream. A block refused fails
    /// its file alone: the data are counted by the blocks' announcements,
    /// so the batch stays in step; a compressed block refused leaves the
    /// stream broken, and every block continuing it is refused (its file
    /// fails) until one starts a new stream. Err: out of step.
    pub(crate) fn piece<'a>(&'a mut self, frame: &'a [u8], left: u64) -> Result<Piece<'a>, Uncounted> {
        let n = counted(frame, left, self.blocks.is_some())?;
        let Some((d, buf)) = &mut self.blocks else {
            return Ok(Piece::Data(frame));
        };
        self.wire += frame.len() as u64;
        let Some((kind, announced)) = z::Block::announced(frame) else {
            return Err(Uncounted::Malformed);
        };
        match kind {
            z::Kind::ZstdFresh => self.broken = false,
            z::Kind::Zstd if self.broken => {
                return Ok(Piece::Refused(
                    n,
                    "refused: a block continuing a compressed stream refused before it".into(),
                ))
            }
            _ => {}
        }
        if announced as u64 > left {
            self.broken |= kind != z::Kind::Raw;
            return Ok(Piece::Refused(
                n,
                format!("refused: a block announcing {announced} bytes, more than the file's {left} left"),
            ));
        }
        let cap = usize::try_from(left).unwrap_or(usize::MAX);
        match d.data(frame, cap, buf) {
            Ok(data) => Ok(Piece::Data(data)),
            Err(e) => {
                self.broken |= kind != z::Kind::Raw;
                Ok(Piece::Refused(n, format!("refused: {e}")))
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

/// A stream this server sends, as `choice` asks; None when this server
/// offers no compression (`compression no`): the request is refused as one
/// it does not know. The stream is None (every block goes raw) when zstd
/// has no memory or the memory budget no room for it, whose claim is held
/// with it. Its window is zstd's default at most (2^[`DEFAULT_WINDOW_LOG`]):
/// what a client's decoder keeps.
pub(crate) fn sending(s: &Session, choice: Choice) -> Option<(Option<Squeeze>, Option<crate::session::Hold>)> {
    let offer = offer(s)?;
    let offer = Offer {
        window_log: offer.window_log.min(DEFAULT_WINDOW_LOG),
        ..offer
    };
    // the sender chooses raw whenever it likes: where the budget has no
    // room for a stream, the data go as they are rather than refused
    let held = s.try_hold(stream_held(s), "a compressed download's stream");
    let squeeze = held.as_ref().and_then(|_| Squeeze::new(choice, offer)).map(|mut sq| {
        // a connection that already carried data knows its link: the
        // next request of a session (a tree's batches come in parts)
        // need not send its first window raw to learn it again
        if s.chan().tx.bytes >= z::LINK_WINDOW {
            if let Some(d) = delivery(s.chan().stream()) {
                sq.seed_link(d.rate);
            }
        }
        sq
    });
    Some((squeeze, held))
}

/// A download's data as blocks: one zstd stream across the whole transfer,
/// each block compressed or raw as the [`Squeeze`] decides from this
/// server's own socket writes (on a fast link every block goes raw), never
/// above `compression_level_max`. The stream's window is zstd's default
/// (2^[`DEFAULT_WINDOW_LOG`], or less when `compression_memory` is
/// smaller): what a client's decoder keeps at most.
pub(crate) struct Outflow {
    /// None when zstd had no memory, or the memory budget no room for the
    /// stream: every block goes raw.
    squeeze: Option<Squeeze>,
    out: Vec<u8>,
    /// The stream's claim on the memory budget.
    _held: Option<crate::session::Hold>,
}

impl Outflow {
    /// Blocks as `choice` asks; None when this server offers no compression
    /// (`compression no`): the request is refused as one it does not know.
    pub(crate) fn new(s: &Session, choice: Choice) -> Option<Outflow> {
        let (squeeze, held) = sending(s, choice)?;
        Some(Outflow {
            squeeze,
            out: Vec::new(),
            _held: held,
        })
    }

    /// `data` (at most [`z::MAX_DATA`] bytes) as one compressed block into
    /// the scratch buffer, if the decider plans it: the block, else None
    /// (the data goes raw, outside the stream).
    pub(crate) fn squeeze(&mut self, data: &[u8]) -> Option<&[u8]> {
        self.out.clear();
        let sq = self.squeeze.as_mut()?;
        sq.squeeze(data, &mut self.out).then_some(&self.out[..])
    }

    /// Sends `data` as one frame holding one block, timing the write for
    /// the decider.
    pub(crate) fn send(&mut self, s: &mut Session, data: &[u8]) -> Result<(), tfp_channel::ChannelError> {
        let t = Instant::now();
        let n = match self.squeeze(data) {
            Some(block) => {
                let n = block.len();
                s.chan_mut().tx.send_frame(block)?;
                n
            }
            None => {
                let head = z::header(z::Kind::Raw, data.len());
                s.chan_mut().tx.send_frame_parts(&[&head, data])?;
                data.len() + head.len()
            }
        };
        self.sent(s.chan().stream(), n, t);
        Ok(())
    }

    /// `data` (at most [`z::MAX_DATA`] bytes) as one raw-mode HPF unit (its
    /// length, then the block), timing the write for the decider.
    pub(crate) fn send_unit(
        &mut self,
        tx: &mut TxHalf<NetStream>,
        data: &[u8],
    ) -> Result<(), tfp_channel::ChannelError> {
        if self.squeeze(data).is_none() {
            self.out.clear();
            self.out.extend_from_slice(&z::header(z::Kind::Raw, data.len()));
            self.out.extend_from_slice(data);
        }
        let n = self.out.len();
        let t = Instant::now();
        tx.send_units_in_place(&(n as i64).to_be_bytes(), &mut self.out)?;
        self.sent(tx.get_ref().get_ref(), n, t);
        Ok(())
    }

    /// `bytes` of this transfer's went to `sock` since `t`.
    pub(crate) fn sent(&mut self, sock: &TcpStream, bytes: usize, t: Instant) {
        if let Some(sq) = self.squeeze.as_mut() {
            sq.sent_on(bytes, t.elapsed(), || delivery(sock));
        }
    }

    /// The stream, for a sender that packs it itself (a framed batch
    /// download's [`tfp_wire::batch::framed::Framer`]); the claim on the
    /// memory budget stays with this.
    pub(crate) fn take_squeeze(&mut self) -> Option<Squeeze> {
        self.squeeze.take()
    }

    /// The bytes of the blocks sent compressed, before and after.
    pub(crate) fn saved(&self) -> (u64, u64) {
        self.squeeze.as_ref().map_or((0, 0), Squeeze::saved)
    }
}

impl std::fmt::Debug for Outflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outflow").field("squeeze", &self.squeeze).finish()
    }
}
