//! PUT's data flow as compressed blocks (`TFDSTAGEPUTZ`): each chunk one
//! block (`tfp_wire::compress`), raw or zstd as the [`Decider`] plans it,
//! with the link and zstd's cost measured on the way.

use super::{Choice, Decider, Plan};
use crate::transfer::{Behind, Progress, PutOutcome};
use crate::{Client, Error};
use std::io::Read;
use std::time::Instant;
use tfp_wire::compress::{data_for_frame, header, Encoder, Kind, Offer, Sampler, HEADER_LEN};

/// One connection's compression: its zstd stream, its sampler and its
/// decider (each stream of a transfer measures its own link).
pub struct Squeeze {
    enc: Encoder,
    sampler: Sampler,
    decider: Decider,
    out: Vec<u8>,
    /// Bytes before and after, of the blocks sent compressed.
    pub(crate) saved: (u64, u64),
}

impl std::fmt::Debug for Squeeze {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Squeeze").field("decider", &self.decider).finish()
    }
}

impl Squeeze {
    /// Compression as `choice` asks, within what the server offers; None
    /// when zstd has no memory (the transfer goes as it is).
    pub fn new(choice: Choice, offer: Offer) -> Option<Squeeze> {
        let decider = Decider::new(choice, offer.level_max);
        Some(Squeeze {
            enc: Encoder::new(decider.level(), offer.window_log)?,
            sampler: Sampler::new()?,
            decider,
            out: Vec::new(),
            saved: (0, 0),
        })
    }

    /// `buf[HEADER_LEN..]` holds the data: sends it as one block, raw in
    /// place or compressed as planned.
    fn send_block(&mut self, c: &mut Client, buf: &mut [u8]) -> Result<(), Error> {
        let data_len = buf.len() - HEADER_LEN;
        let (data, sampler) = (&buf[HEADER_LEN..], &mut self.sampler);
        let plan = self.decider.plan(|| sampler.ratio(data));
        if let Plan::Compress { level } = plan {
            self.out.clear();
            let t = Instant::now();
            let made = self
                .enc
                .set_level(level)
                .and_then(|()| self.enc.compress(data, &mut self.out));
            if made.is_ok() {
                let packed = self.out.len() - HEADER_LEN;
                self.decider.compressed(data_len, packed, t.elapsed());
                self.saved.0 += data_len as u64;
                self.saved.1 += packed as u64;
                let t = Instant::now();
                let n = self.out.len();
                c.chan
                    .tx
                    .send_units_in_place(&(n as i64).to_be_bytes(), &mut self.out)?;
                self.decider.sent(n, t.elapsed());
                return Ok(());
            }
        }
        buf[..HEADER_LEN].copy_from_slice(&header(Kind::Raw, data_len));
        let t = Instant::now();
        c.chan.tx.send_units_in_place(&(buf.len() as i64).to_be_bytes(), buf)?;
        self.decider.sent(buf.len(), t.elapsed());
        Ok(())
    }
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
        sq.enc.fresh();
        let mut buf = vec![0u8; HEADER_LEN + most];
        let outcome = self.put_chunks(&mut buf, HEADER_LEN, data, progress, &mut |c, block| {
            sq.send_block(c, block)
        })?;
        self.put_end(outcome, then)
    }
}
