//! PUT's data flow as compressed blocks (`TFDSTAGEPUTZ`): each chunk one
//! block (`tfp_wire::compress`), raw or zstd as the [`Decider`] plans it,
//! with the link and zstd's cost measured on the way.

use super::choice::Choice;
use super::decide::{Decider, Plan};
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
    saved: (u64, u64),
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

    /// Appends `data` (at most [`tfp_wire::compress::MAX_DATA`] bytes) to
    /// `out` as one block, compressed if the decider plans so (and zstd
    /// manages), else raw; whether it went compressed. For a sender with
    /// frames of its own (a batch's files): report each write with
    /// [`Squeeze::sent`].
    pub fn pack(&mut self, data: &[u8], out: &mut Vec<u8>) -> bool {
        let done = self.squeeze_into(data, out);
        if !done {
            Encoder::raw(data, out);
        }
        done
    }

    /// `bytes` went to the socket in `took`: the decider's view of the link.
    pub fn sent(&mut self, bytes: usize, took: std::time::Duration) {
        self.decider.sent(bytes, took);
    }

    /// The bytes of the blocks sent compressed, before and after.
    pub fn saved(&self) -> (u64, u64) {
        self.saved
    }

    /// Appends `data` to `out` as a compressed block when planned and made.
    fn squeeze_into(&mut self, data: &[u8], out: &mut Vec<u8>) -> bool {
        let sampler = &mut self.sampler;
        let Plan::Compress { level } = self.decider.plan(|| sampler.ratio(data)) else {
            return false;
        };
        let (start, t) = (out.len(), Instant::now());
        if self
            .enc
            .set_level(level)
            .and_then(|()| self.enc.compress(data, out))
            .is_err()
        {
            return false;
        }
        let packed = out.len() - start - HEADER_LEN;
        self.decider.compressed(data.len(), packed, t.elapsed());
        self.saved.0 += data.len() as u64;
        self.saved.1 += packed as u64;
        true
    }

    /// `buf[HEADER_LEN..]` holds the data: sends it as one block, raw in
    /// place or compressed as planned.
    fn send_block(&mut self, c: &mut Client, buf: &mut [u8]) -> Result<(), Error> {
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        let t;
        let n = if self.squeeze_into(&buf[HEADER_LEN..], &mut out) {
            t = Instant::now();
            c.chan
                .tx
                .send_units_in_place(&(out.len() as i64).to_be_bytes(), &mut out)?;
            out.len()
        } else {
            let data_len = buf.len() - HEADER_LEN;
            buf[..HEADER_LEN].copy_from_slice(&header(Kind::Raw, data_len));
            t = Instant::now();
            c.chan.tx.send_units_in_place(&(buf.len() as i64).to_be_bytes(), buf)?;
            buf.len()
        };
        self.decider.sent(n, t.elapsed());
        self.out = out;
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

#[cfg(test)]
mod tests {
    use super::*;
    use tfp_wire::compress::{Decoder, MAX_DATA};

    #[test]
    fn packed_blocks_are_what_a_decoder_reads_back() {
        let offer = Offer {
            level_max: 9,
            window_log: 21,
        };
        let mut sq = Squeeze::new(Choice::Force(None), offer).unwrap();
        let mut dec = Decoder::new(21).unwrap();
        let text: Vec<u8> = (0..40_000)
            .flat_map(|i| format!("line {}\n", i % 100).into_bytes())
            .collect();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let noise: Vec<u8> = (0..100_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        for (data, squeezed) in [(&text, true), (&noise, false), (&text, true)] {
            let mut out = Vec::new();
            assert_eq!(sq.pack(data, &mut out), squeezed);
            let mut got = Vec::new();
            dec.decode(&out, MAX_DATA, &mut got).unwrap();
            assert!(&got == data);
        }
        let (before, after) = sq.saved();
        assert_eq!(before, 2 * text.len() as u64);
        assert!(after * 10 < before, "{after} of {before}");
    }
}
