//! Seeded randomness: workload choices, transfer sizes and file content, hashed
//! as it is made or received.

use sha2::{Digest, Sha256};
use std::io::{self, Read, Write};

/// SplitMix64: fast, seedable, good enough for workload choices and file content.
#[derive(Clone)]
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    pub(crate) fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
}

/// `len` bytes of content from a seed, hashed as they are read.
pub(crate) struct Content {
    pub(crate) rng: Rng,
    pub(crate) left: u64,
    pub(crate) hash: Sha256,
}

impl Content {
    pub(crate) fn new(seed: u64, len: u64) -> Content {
        Content {
            rng: Rng(seed),
            left: len,
            hash: Sha256::new(),
        }
    }
}

impl Read for Content {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize;
        for chunk in buf[..n].chunks_mut(8) {
            let v = self.rng.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        self.hash.update(&buf[..n]);
        self.left -= n as u64;
        Ok(n)
    }
}

/// The SHA-256 and length of what was written.
#[derive(Default)]
pub(crate) struct Sink {
    pub(crate) hash: Sha256,
    pub(crate) len: u64,
}

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.hash.update(b);
        self.len += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub(crate) fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Transfer sizes: mostly small, some up to 1 MiB, a tenth up to `max`.
pub(crate) fn pick_size(rng: &mut Rng, max: u64) -> u64 {
    let s = match rng.below(100) {
        0..=1 => 0,
        2..=56 => rng.below(64 << 10),
        57..=89 => (64 << 10) + rng.below(960 << 10),
        _ => (1 << 20) + rng.below(max.saturating_sub(1 << 20).max(1)),
    };
    s.min(max)
}
