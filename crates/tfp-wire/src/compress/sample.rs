//! How well a block would compress, judged on a sample of it at zstd's
//! fastest level: what the sender's decider reads before it commits a block
//! to the stream (a block compressed into the stream must be sent as zstd
//! made it, so the choice comes first).

use zstd::zstd_safe::{CCtx, CParameter};

/// The bytes taken from a block to judge it: four slices of 4 KiB spread
/// over it (a file's header alone would misjudge a tar of mixed members).
pub const SAMPLE: usize = 16 * 1024;

/// A scratch context for samples, kept across blocks so judging allocates
/// nothing after the first.
pub struct Sampler {
    ctx: CCtx<'static>,
    sample: Vec<u8>,
    out: Vec<u8>,
}

impl std::fmt::Debug for Sampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sampler")
    }
}

impl Sampler {
    pub fn new() -> Option<Sampler> {
        let mut ctx = CCtx::try_create()?;
        ctx.set_parameter(CParameter::CompressionLevel(1)).ok()?;
        let out = Vec::with_capacity(zstd::zstd_safe::compress_bound(SAMPLE));
        Some(Sampler {
            ctx,
            sample: Vec::with_capacity(SAMPLE),
            out,
        })
    }

    /// The sample's compressed size over its size (1.0 when zstd fails or
    /// the block is empty: such a block goes raw).
    pub fn ratio(&mut self, block: &[u8]) -> f64 {
        let data = if block.len() <= SAMPLE {
            block
        } else {
            self.sample.clear();
            let slice = SAMPLE / 4;
            let step = (block.len() - slice) / 3;
            for i in 0..4 {
                self.sample.extend_from_slice(&block[i * step..i * step + slice]);
            }
            &self.sample[..]
        };
        if data.is_empty() {
            return 1.0;
        }
        self.out.clear();
        match self.ctx.compress2(&mut self.out, data) {
            Ok(n) => n as f64 / data.len() as f64,
            Err(_) => 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_samples_small_and_noise_does_not() {
        let mut s = Sampler::new().unwrap();
        let text: Vec<u8> = (0..20_000)
            .flat_map(|i| format!("GET /index{} 200\n", i % 50).into_bytes())
            .collect();
        assert!(s.ratio(&text) < 0.3);
        assert!(s.ratio(&crate::compress::tests::noise(100_000)) > 0.99);
        assert_eq!(s.ratio(b""), 1.0);
        assert!(s.ratio(b"a") > 1.0);
    }
}
