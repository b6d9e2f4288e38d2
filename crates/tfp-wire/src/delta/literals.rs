//! The literal bytes a delta's records hold, as the side building the new
//! file reads them: `L` records as they are, `Z` records decoded from the
//! delta's one zstd stream, only where its request asked for them and never
//! beyond the room the record may fill (no decompression bomb reaches
//! memory: a block announcing more is refused before anything is decoded).

use super::{Op, FRAME_DATA};
use crate::compress::Decoder;

/// One delta's literal reader.
pub struct Literals {
    /// The stream's decoder and the room a block is decoded into; None: a
    /// delta asked without compression, where a `Z` record is out of place.
    packed: Option<(Decoder, Vec<u8>)>,
}

impl std::fmt::Debug for Literals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Literals")
            .field("packed", &self.packed.is_some())
            .finish()
    }
}

/// Why a literal record is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// A `Z` record in a delta asked without compression.
    Unasked,
    /// A block that does not decode to what it announced, or announces
    /// more than the record may fill.
    Block,
}

impl Refused {
    /// The reason, as both sides say and log it.
    pub fn reason(self) -> &'static str {
        match self {
            Refused::Unasked => "a compressed delta record the request did not ask for",
            Refused::Block => "a compressed delta record that does not decode to what it announced",
        }
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason())
    }
}

impl Literals {
    /// Literals of a delta asked without compression: `L` records alone.
    pub fn plain() -> Literals {
        Literals { packed: None }
    }

    /// Literals of a delta asked with compression, whose stream keeps
    /// 2^`window_log` bytes of history at most; None when zstd has no
    /// memory.
    pub fn packed(window_log: u32) -> Option<Literals> {
        Some(Literals {
            packed: Some((Decoder::new(window_log)?, Vec::new())),
        })
    }

    /// The bytes of the literal `op` (a copy holds none: empty), at most
    /// `room` of them for a packed one (the new file's bytes left).
    pub fn bytes<'a>(&'a mut self, op: &Op<'a>, room: u64) -> Result<&'a [u8], Refused> {
        match *op {
            Op::Copy { .. } => Ok(&[]),
            Op::Literal(d) => Ok(d),
            Op::Packed(block) => {
                let (dec, buf) = self.packed.as_mut().ok_or(Refused::Unasked)?;
                let cap = usize::try_from(room).unwrap_or(usize::MAX).min(FRAME_DATA);
                dec.data(block, cap, buf).map_err(|_| Refused::Block)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{noise, ops, Records};
    use super::*;
    use crate::compress::{Choice, Offer, Squeeze, DEFAULT_WINDOW_LOG};

    fn squeeze() -> Squeeze {
        let offer = Offer {
            level_max: 3,
            window_log: DEFAULT_WINDOW_LOG,
        };
        Squeeze::new(Choice::Force(Some(3)), offer).unwrap()
    }

    /// What the records of `frames` build, read by `lits`.
    fn built(frames: &[Vec<u8>], lits: &mut Literals) -> Result<Vec<u8>, Refused> {
        let mut out = Vec::new();
        for f in frames {
            for op in ops(f) {
                let op = op.expect("records parse");
                out.extend_from_slice(lits.bytes(&op, 1 << 30)?);
            }
        }
        Ok(out)
    }

    #[test]
    fn packed_literals_shrink_and_read_back_and_noise_goes_as_it_is() {
        let text: Vec<u8> = b"GET /index.html 200 1043 Mozilla/5.0\n".repeat(20_000);
        let random = noise(7, 300_000);
        let mut r = Records::packing(squeeze());
        let mut frames = Vec::new();
        let mut send = |f: &[u8]| -> Result<(), ()> {
            frames.push(f.to_vec());
            Ok(())
        };
        r.literal(&text, &mut send).unwrap();
        r.literal(&random, &mut send).unwrap();
        r.finish(&mut send).unwrap();
        assert!(r.sent < (text.len() / 20 + random.len() + 4096) as u64, "{}", r.sent);
        let (before, after) = r.packed();
        assert!(before >= text.len() as u64 && after < before / 20, "{before} {after}");
        let tags: Vec<u8> = frames
            .iter()
            .flat_map(|f| ops(f).map(|o| o.unwrap()))
            .map(|o| match o {
                Op::Packed(_) => b'Z',
                Op::Literal(_) => b'L',
                Op::Copy { .. } => b'C',
            })
            .collect();
        assert!(tags.contains(&b'Z') && tags.contains(&b'L'), "{tags:?}");
        let mut want = text.clone();
        want.extend_from_slice(&random);
        assert_eq!(
            built(&frames, &mut Literals::packed(DEFAULT_WINDOW_LOG).unwrap()).unwrap(),
            want
        );
        // a delta asked without compression refuses them
        assert_eq!(built(&frames, &mut Literals::plain()), Err(Refused::Unasked));
    }

    #[test]
    fn a_block_beyond_its_room_or_lying_is_refused() {
        let mut r = Records::packing(squeeze());
        let mut frames = Vec::new();
        let zeros = vec![0u8; 200_000];
        r.literal(&zeros, &mut |f: &[u8]| -> Result<(), ()> {
            frames.push(f.to_vec());
            Ok(())
        })
        .unwrap();
        r.finish(&mut |f: &[u8]| -> Result<(), ()> {
            frames.push(f.to_vec());
            Ok(())
        })
        .unwrap();
        let op = ops(&frames[0]).next().unwrap().unwrap();
        assert!(matches!(op, Op::Packed(_)));
        // less room than the block announces: refused before decoding
        let mut lits = Literals::packed(DEFAULT_WINDOW_LOG).unwrap();
        assert_eq!(lits.bytes(&op, 199_999), Err(Refused::Block));
        // a block whose announced length lies (says 1 KiB, holds 200 KB)
        let Op::Packed(block) = op else { unreachable!() };
        let mut liar = block.to_vec();
        liar[1..5].copy_from_slice(&1024u32.to_be_bytes());
        let mut lits = Literals::packed(DEFAULT_WINDOW_LOG).unwrap();
        assert_eq!(lits.bytes(&Op::Packed(&liar), 1 << 30), Err(Refused::Block));
    }
}
