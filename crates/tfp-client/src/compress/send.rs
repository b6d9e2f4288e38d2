//! PUT's data flow as compressed blocks (`TFDSTAGEPUTZ`): each chunk one
//! block (`tfp_wire::compress`), raw or zstd as the sender's `Squeeze`
//! plans it, with the link and zstd's cost measured on the way.

use crate::transfer::{Behind, Progress, PutOutcome};
use crate::{Client, Error};
use std::io::Read;
use std::time::Instant;
use tfp_wire::compress::{data_for_frame, header, Kind, Squeeze, HEADER_LEN, LINK_WINDOW};

/// What the session's socket says it delivers: the kernel's rate in bytes
/// per second and whether the sender limited it ([`Squeeze::sent_on`]).
pub(crate) fn delivery(c: &Client) -> Option<tfp_wire::compress::Delivered> {
    use std::os::fd::AsFd as _;
    tfd_sys::tcp_delivery(c.chan.stream().as_fd()).map(|d| d.parts().into())
}

/// `sq` for a transfer on `c`: a connection that already carried a window
/// of data tells the link at once ([`Squeeze::seed_link`]), so the
/// transfer's first megabyte need not go raw to measure it again.
pub(crate) fn on_link(c: &Client, mut sq: Squeeze) -> Squeeze {
    if c.chan.tx.bytes >= LINK_WINDOW {
        if let Some(d) = delivery(c) {
            sq.seed_link(d.rate);
        }
    }
    sq
}

/// `buf[HEADER_LEN..]` holds the data: the block to send, compressed as
/// `sq` plans into `out` (reused from block to block), or raw in place in
/// `buf`.
pub(crate) fn block<'a>(sq: &mut Squeeze, out: &'a mut Vec<u8>, buf: &'a mut [u8]) -> &'a mut [u8] {
    out.clear();
    if sq.squeeze(&buf[HEADER_LEN..], out) {
        return out;
    }
    let data_len = buf.len() - HEADER_LEN;
    buf[..HEADER_LEN].copy_from_slice(&header(Kind::Raw, data_len));
    buf
}

/// `buf[HEADER_LEN..]` holds the data: sends it as one [`block`].
fn send_block(sq: &mut Squeeze, out: &mut Vec<u8>, c: &mut Client, buf: &mut [u8]) -> Result<(), Error> {
    let b = block(sq, out, buf);
    let t = Instant::now();
    c.chan.tx.send_units_in_place(&(b.len() as i64).to_be_bytes(), b)?;
    let n = b.len();
    sq.sent_on(n, t.elapsed(), || delivery(c));
    Ok(())
}

impl Client {
    /// [`Client::put_granted_then`] for a request whose chunks are blocks
    /// (`TFDSTAGEPUTZ`): each range is a stream of its own (the server
    /// decodes each request afresh), every chunk within `grant` even when
    /// zstd made it larger.
    pub(crate) fn put_blocks_then(
        &mut self,
        grant: usize,
        data: &mut dyn Read,
        progress: Progress<'_>,
        then: Option<Behind<'_>>,
        sq: &mut Squeeze,
    ) -> Result<PutOutcome, Error> {
        let most = data_for_frame(grant);
        if most == 0 {
            return Err(Error::Protocol(format!("a grant of {grant} bytes holds no block")));
        }
        sq.fresh();
        let (mut buf, mut out) = (vec![0u8; HEADER_LEN + most], Vec::new());
        let outcome = self.put_chunks(&mut buf, HEADER_LEN, data, progress, &mut |c, block| {
            send_block(sq, &mut out, c, block)
        })?;
        self.put_end(outcome, then)
    }
}
