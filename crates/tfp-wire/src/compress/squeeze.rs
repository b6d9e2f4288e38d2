//! One sender's compression: its zstd stream, its sampler and its decider,
//! packing data into blocks as the decider plans. The same judgement for
//! every sender, tf's or tfd's, whatever frames the blocks travel in; the
//! sender reports each write ([`Squeeze::sent`]) so the decider sees its
//! own link (each stream of a transfer measures its own).

use super::clock::Clock;
use super::{Choice, Decider, Encoder, Offer, Plan, Sampler, HEADER_LEN};
use std::time::Duration;

/// One connection's compression.
pub struct Squeeze {
    enc: Encoder,
    sampler: Sampler,
    decider: Decider,
    /// Bytes before and after, of the blocks sent compressed.
    saved: (u64, u64),
}

impl std::fmt::Debug for Squeeze {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Squeeze").field("decider", &self.decider).finish()
    }
}

impl Squeeze {
    /// Compression as `choice` asks, within what the receiver offers; None
    /// when zstd has no memory (the transfer goes as it is).
    pub fn new(choice: Choice, offer: Offer) -> Option<Squeeze> {
        let decider = Decider::new(choice, offer.level_max);
        Some(Squeeze {
            enc: Encoder::new(decider.level(), offer.window_log)?,
            sampler: Sampler::new()?,
            decider,
            saved: (0, 0),
        })
    }

    /// Appends `data` (at most [`super::MAX_DATA`] bytes) to `out` as one
    /// block, compressed if the decider plans so (and zstd manages), else
    /// raw; whether it went compressed.
    pub fn pack(&mut self, data: &[u8], out: &mut Vec<u8>) -> bool {
        let done = self.squeeze(data, out);
        if !done {
            Encoder::raw(data, out);
        }
        done
    }

    /// Appends `data` to `out` as a compressed block when the decider plans
    /// it and zstd manages; false (and `out` as it was) when the block is to
    /// go raw, for a sender that frames raw data in place.
    pub fn squeeze(&mut self, data: &[u8], out: &mut Vec<u8>) -> bool {
        let sampler = &mut self.sampler;
        let Plan::Compress { level } = self.decider.plan(|| sampler.ratio(data)) else {
            return false;
        };
        let (start, t) = (out.len(), Clock::start());
        if self
            .enc
            .set_level(level)
            .and_then(|()| self.enc.compress(data, out))
            .is_err()
        {
            return false;
        }
        let packed = out.len() - start - HEADER_LEN;
        let (cpu, wall) = t.elapsed();
        self.decider.compressed(data.len(), packed, cpu);
        self.decider.waited(cpu, wall);
        self.saved.0 += data.len() as u64;
        self.saved.1 += packed as u64;
        true
    }

    /// The next block starts a new zstd stream (data that must not share
    /// history with what came before, or a receiver decoding afresh).
    pub fn fresh(&mut self) {
        self.enc.fresh();
    }

    /// `bytes` went to the socket in `took`: the decider's view of the link.
    pub fn sent(&mut self, bytes: usize, took: Duration) {
        self.decider.sent(bytes, took);
    }

    /// [`Squeeze::sent`] on a socket that tells the rate it delivers
    /// ([`Decider::sent_on`]: asked once a window).
    pub fn sent_on(&mut self, bytes: usize, took: Duration, socket: impl FnOnce() -> Option<super::Delivered>) {
        self.decider.sent_on(bytes, took, socket);
    }

    /// The link as the socket measured it before this transfer
    /// ([`Decider::seed_link`]).
    pub fn seed_link(&mut self, rate: u64) {
        self.decider.seed_link(rate);
    }

    /// The bytes of the blocks sent compressed, before and after.
    pub fn saved(&self) -> (u64, u64) {
        self.saved
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::noise;
    use super::super::{Decoder, MAX_DATA};
    use super::*;

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
        let noise = noise(100_000);
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
