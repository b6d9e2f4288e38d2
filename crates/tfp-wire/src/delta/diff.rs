//! The differ: a delta of a new file against an old file's signatures.

use super::{rs_ops, signature_entries, Records, RsOp, ENTRY, SIG_HEADER};
use sha2::{Digest, Sha256};

/// Bytes of new data whose signatures are computed at once to check that a
/// run of copied blocks goes on (the fast path of [`Diff::feed`]).
const FAST_BYTES: usize = 1 << 20;
/// Bytes searched at once with the rolling checksum, where the run broke.
const REGION: usize = 1 << 20;

/// Bytes of each sample of the early probe ([`Diff::early_pays`]), at the
/// least (and four blocks).
const SAMPLE: usize = 64 << 10;
/// Samples of the early probe, spread over the bytes it judges.
const SAMPLES: usize = 4;

/// A delta of a new file against an old file's signatures, made as the new
/// file's bytes come ([`Diff::feed`]).
///
/// Most of a changed file is usually its old blocks in order: while a run of
/// copies goes on, the next bytes are checked against the blocks that would
/// continue it, a MiB at a time, with the SIMD signatures librsync makes of
/// the old file (weak checksum and strong hash both, as the rolling search
/// checks a match), several times faster than the byte-by-byte search;
/// where the run breaks, `fast_rsync`'s rolling search takes over until it
/// finds the next match. What matches is what the rolling search alone would
/// find (the same checks); a match is never trusted beyond them: the
/// end-to-end SHA-256 is.
pub struct Diff<'a> {
    entries: &'a [u8],
    index: fast_rsync::IndexedSignature<'a>,
    block: usize,
    /// Whole blocks of the old file, and the length of its short last one.
    full: u64,
    tail: usize,
    /// The old block a run of copies continues with, if one is going on.
    expect: Option<u64>,
    delta: Vec<u8>,
}

impl<'a> Diff<'a> {
    /// A differ against `sig`, the signatures of an old file of `old_size`
    /// bytes (in blocks of `sig`'s block size).
    pub fn new(sig: &'a fast_rsync::Signature, old_size: u64, block: u32) -> Diff<'a> {
        let entries = sig.serialized().get(SIG_HEADER..).unwrap_or_default();
        let b = block.max(1) as u64;
        let (mut full, tail) = (old_size / b, (old_size % b) as usize);
        // signatures that do not describe such a file: the rolling search only
        if entries.len() as u64 != super::entries(old_size, block) * ENTRY as u64 {
            full = 0;
        }
        Diff {
            entries,
            index: sig.index(),
            block: b as usize,
            full,
            tail: if full == 0 { 0 } else { tail },
            expect: Some(0),
            delta: Vec::new(),
        }
    }

    /// Literal bytes a delta of `data` (the file's first bytes) would send:
    /// whether a delta pays (`None`: `fast_rsync` wrote a delta this cannot
    /// read). The differ is left as new.
    pub fn literal_share(&mut self, data: &[u8]) -> Option<u64> {
        let mut r = Records::default();
        let fed = self.feed(data, true, &mut r, &mut |_| Ok::<(), ()>(()), &|| ());
        self.expect = Some(0);
        fed.ok().map(|_| r.literal)
    }

    /// Whether a delta of `data` (the file's first bytes) pays, judged early
    /// on [`SAMPLES`] samples spread over it (at its start and every quarter,
    /// each of [`SAMPLE`] bytes or four blocks, the more): at least
    /// `percent` of their bytes together reused; all of `data` when the
    /// samples would cover it. A quarter of the rolling search over a MiB
    /// that matches nothing (issue 43: a file that changed entirely, forced
    /// as a delta on loopback, waited 3.4 ms of CPU for that search before
    /// it went whole), while a front rewritten for less than three quarters
    /// of `data` still finds its blocks past it, as the whole search would.
    /// `true` when `fast_rsync` wrote a delta this cannot read (the full
    /// probe will tell).
    pub fn early_pays(&mut self, data: &[u8], percent: u64) -> bool {
        let n = SAMPLE.max(4 * self.block);
        let (mut literal, mut probed) = (0u64, 0u64);
        for k in 0..SAMPLES {
            let (at, end) = if n * SAMPLES >= data.len() {
                (0, data.len())
            } else {
                let at = k * data.len() / SAMPLES;
                (at, (at + n).min(data.len()))
            };
            // past the start, no run of the old file's first blocks to check first
            let expect = (at == 0).then_some(0);
            match self.literal_from(&data[at..end], expect) {
                Some(l) => literal += l,
                None => return true,
            }
            probed += (end - at) as u64;
            if end == data.len() && at == 0 {
                break;
            }
        }
        literal * 100 <= probed * (100 - percent.min(100))
    }

    /// [`Diff::literal_share`] of `data`, with the run of copies it first
    /// checks for starting at old block `expect`.
    fn literal_from(&mut self, data: &[u8], expect: Option<u64>) -> Option<u64> {
        self.expect = expect;
        let r = self.literal_share(data);
        self.expect = Some(0);
        r
    }

    /// How many of the whole blocks of `data` are old blocks `i`, `i + 1`, …
    fn run(&self, data: &[u8], i: u64) -> usize {
        let got = signature_entries(data, self.block as u32);
        let from = i as usize * ENTRY;
        let want = self.entries.get(from..from + got.len()).unwrap_or_default();
        got.chunks(ENTRY)
            .zip(want.chunks(ENTRY))
            .take_while(|(a, b)| a == b)
            .count()
    }

    /// Diffs `data`, the new file's next bytes (`last`: they end it), into
    /// records for `out`. Returns how many bytes it settled: all when
    /// `last`, else all but at most `block - 1` at the end, which may begin
    /// a match the next bytes complete (give them again, first). `bad()`
    /// when `fast_rsync` writes a delta this cannot read.
    pub fn feed<E>(
        &mut self,
        data: &[u8],
        last: bool,
        out: &mut Records,
        send: &mut dyn FnMut(&[u8]) -> Result<(), E>,
        bad: &dyn Fn() -> E,
    ) -> Result<usize, E> {
        let b = self.block;
        let mut pos = 0usize;
        while pos < data.len() {
            let left = data.len() - pos;
            if let Some(i) = self.expect {
                if left >= b && i < self.full {
                    let k = ((left / b) as u64)
                        .min(self.full - i)
                        .min((FAST_BYTES / b).max(1) as u64) as usize;
                    let m = self.run(&data[pos..pos + k * b], i);
                    if m > 0 {
                        out.copy(i * b as u64, (m * b) as u64, send)?;
                        pos += m * b;
                        self.expect = Some(i + m as u64);
                    }
                    if m < k {
                        self.expect = None;
                    }
                    continue;
                }
                if i == self.full && self.tail > 0 && last && left == self.tail {
                    // the old file's short last block, at the new file's end
                    if self.run(&data[pos..], i) == 1 {
                        out.copy(i * b as u64, self.tail as u64, send)?;
                        pos += self.tail;
                    }
                    self.expect = None;
                    continue;
                }
                if left < b && !last {
                    break;
                }
                self.expect = None;
            }
            let end = pos + left.min(REGION.max(2 * b));
            let ends = last && end == data.len();
            let mut delta = std::mem::take(&mut self.delta);
            delta.clear();
            let made = fast_rsync::diff(&self.index, &data[pos..end], &mut delta);
            let r = made
                .map_err(|_| bad())
                .and_then(|()| self.settle(&delta, end - pos, ends, out, send, bad));
            self.delta = delta;
            let settled = r?;
            if settled == 0 {
                // fewer bytes than a block, not the file's end: wait for more
                break;
            }
            pos += settled;
        }
        Ok(pos)
    }

    /// Hands the records of one rolling search over `len` bytes to `out`;
    /// unless it `ends` the file, a literal at its end keeps its last
    /// `block - 1` bytes back (a match may start there). Returns the bytes
    /// settled.
    fn settle<E>(
        &mut self,
        delta: &[u8],
        len: usize,
        ends: bool,
        out: &mut Records,
        send: &mut dyn FnMut(&[u8]) -> Result<(), E>,
        bad: &dyn Fn() -> E,
    ) -> Result<usize, E> {
        let mut at = 0usize;
        let mut pending: Option<&[u8]> = None;
        let mut copy_end = None;
        for op in rs_ops(delta) {
            match op.map_err(|()| bad())? {
                RsOp::Literal(d) => {
                    if let Some(p) = pending.take() {
                        out.literal(p, send)?;
                    }
                    pending = Some(d);
                    at += d.len();
                    copy_end = None;
                }
                RsOp::Copy { offset, len } => {
                    if let Some(p) = pending.take() {
                        out.literal(p, send)?;
                    }
                    out.copy(offset, len, send)?;
                    at = at.saturating_add(len as usize);
                    copy_end = offset.checked_add(len);
                }
            }
        }
        if at != len {
            return Err(bad());
        }
        let mut settled = len;
        if let Some(p) = pending {
            let keep = if ends { 0 } else { p.len().min(self.block - 1) };
            let (now, later) = p.split_at(p.len() - keep);
            if !now.is_empty() {
                out.literal(now, send)?;
            }
            settled -= later.len();
        }
        let b = self.block as u64;
        self.expect = copy_end.filter(|e| e % b == 0 && e / b <= self.full).map(|e| e / b);
        Ok(settled)
    }

    /// [`Diff::feed`], with `hash` taking the bytes settled in order: most of
    /// them on a second thread while this one diffs.
    pub fn feed_hashing<E>(
        &mut self,
        data: &[u8],
        last: bool,
        hash: &mut Sha256,
        out: &mut Records,
        send: &mut dyn FnMut(&[u8]) -> Result<(), E>,
        bad: &dyn Fn() -> E,
    ) -> Result<usize, E> {
        // at least this much is settled, whatever the records
        let sure = if last {
            data.len()
        } else {
            data.len().saturating_sub(self.block - 1)
        };
        let (early, rest) = data.split_at(sure);
        let r = std::thread::scope(|s| {
            let h = s.spawn(|| {
                let mut h = hash.clone();
                h.update(early);
                h
            });
            let r = self.feed(data, last, out, send, bad);
            (r, h.join())
        });
        let (r, h) = r;
        let n = r?;
        *hash = match h {
            Ok(h) => h,
            Err(_) => {
                let mut h = hash.clone();
                h.update(early);
                h
            }
        };
        match n.checked_sub(sure) {
            Some(more) if more <= rest.len() => hash.update(&rest[..more]),
            _ => return Err(bad()),
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use sha2::{Digest, Sha256};

    /// The delta of `new` against `old` fed in windows of `window` bytes,
    /// applied to `old`; and the literal bytes it sent.
    fn round_trip(old: &[u8], new: &[u8], window: usize) -> (Vec<u8>, u64) {
        let block = block_size(old.len() as u64).clamp(MIN_BLOCK, 1024);
        let sig =
            fast_rsync::Signature::deserialize([sig_header(block).to_vec(), signature_entries(old, block)].concat())
                .unwrap();
        let mut d = Diff::new(&sig, old.len() as u64, block);
        let mut out = Records::default();
        let mut frames = Vec::new();
        let mut send = |f: &[u8]| -> Result<(), ()> {
            frames.extend_from_slice(f);
            Ok(())
        };
        let mut hash = Sha256::new();
        let mut at = 0;
        loop {
            let end = (at + window).min(new.len());
            let last = end == new.len();
            let n = d
                .feed_hashing(&new[at..end], last, &mut hash, &mut out, &mut send, &|| ())
                .unwrap();
            at += n;
            if last {
                assert_eq!(at, new.len());
                break;
            }
            assert!(end - at < block as usize, "settled all but less than a block");
        }
        out.finish(&mut send).unwrap();
        assert_eq!(hash.finalize().as_slice(), Sha256::digest(new).as_slice());
        let mut built = Vec::new();
        for op in ops(&frames) {
            match op.unwrap() {
                Op::Copy { offset, len } => built.extend_from_slice(&old[offset as usize..(offset + len) as usize]),
                Op::Literal(d) => built.extend_from_slice(d),
                Op::Packed(_) => panic!("a packed record from records made without compression"),
            }
        }
        (built, out.literal)
    }

    #[test]
    fn the_differ_rebuilds_every_kind_of_change() {
        let old = noise(7, 300_000);
        let mut rewritten = old.clone();
        rewritten[100_000..104_096].iter_mut().for_each(|b| *b = !*b);
        let inserted = [noise(9, 1024), old.clone()].concat();
        let deleted = [&old[..50_000], &old[53_333..]].concat();
        let truncated = old[..222_222].to_vec();
        let grown = [old.clone(), noise(11, 77_777)].concat();
        let moved = [&old[150_000..], &old[..150_000]].concat();
        let cases = [
            ("unchanged", old.clone(), 0u64),
            ("rewritten", rewritten, 4096 + 2 * 1024),
            ("inserted", inserted, 1024 + 1024),
            ("deleted", deleted, 2 * 1024),
            ("truncated", truncated, 1024),
            ("grown", grown, 77_777 + 1024),
            ("moved", moved, 2 * 1024),
            ("new", noise(13, 123_456), 123_456),
            ("empty", Vec::new(), 0),
        ];
        for (what, new, most) in cases {
            for window in [1000, 4096, 65_536, 1 << 20] {
                let (built, literal) = round_trip(&old, &new, window);
                assert!(built == new, "{what}, windows of {window}: rebuilt wrong");
                // windows never cost literal bytes: what is held back is given again
                assert!(literal <= most, "{what}, windows of {window}: {literal} literal bytes");
            }
        }
    }

    #[test]
    fn the_early_probe_samples_the_first_mib_as_the_whole_probe_judges_it() {
        let old = noise(31, 4 << 20);
        let block = 8192;
        let sig =
            fast_rsync::Signature::deserialize([sig_header(block).to_vec(), signature_entries(&old, block)].concat())
                .unwrap();
        let mut d = Diff::new(&sig, old.len() as u64, block);
        let mib = 1 << 20;
        // unchanged, 1 KiB inserted at the front, moved by 2 MiB: it pays
        assert!(d.early_pays(&old[..mib], 20));
        assert!(d.early_pays(&[noise(32, 1024), old[..mib].to_vec()].concat()[..mib], 20));
        assert!(d.early_pays(&old[2 * mib..3 * mib], 20));
        // its front rewritten for 400 KiB: the samples past it find the
        // rest, as the whole probe does (60% reused)
        let front = [noise(33, 400 << 10), old[400 << 10..mib].to_vec()].concat();
        assert!(d.early_pays(&front, 20));
        assert!(d.literal_share(&front).unwrap() <= 400 << 10);
        // rewritten for 900 KiB, or entirely: it does not pay (nor would
        // the whole probe say so: 12% reused)
        let most = [noise(34, 900 << 10), old[900 << 10..mib].to_vec()].concat();
        assert!(!d.early_pays(&most, 20));
        assert!(!d.early_pays(&noise(35, mib), 20));
        // a small probe is judged whole
        assert!(d.early_pays(&old[..100_000], 20));
        assert!(!d.early_pays(&noise(36, 100_000), 20));
    }

    #[test]
    fn the_probe_tells_a_changed_file() {
        let old = noise(3, 200_000);
        let block = 1024;
        let sig =
            fast_rsync::Signature::deserialize([sig_header(block).to_vec(), signature_entries(&old, block)].concat())
                .unwrap();
        let mut d = Diff::new(&sig, old.len() as u64, block);
        assert_eq!(d.literal_share(&old[..100 * 1024]), Some(0));
        assert_eq!(d.literal_share(&noise(5, 100_000)), Some(100_000));
        let sig_of = signature_entries(&old, block);
        let one = fast_rsync::Signature::calculate(
            &old,
            fast_rsync::SignatureOptions {
                block_size: block,
                crypto_hash_size: STRONG,
            },
        );
        assert_eq!(sig_of, one.serialized()[SIG_HEADER..].to_vec());
        let big = noise(17, 5 << 20);
        let one = fast_rsync::Signature::calculate(
            &big,
            fast_rsync::SignatureOptions {
                block_size: 1000,
                crypto_hash_size: STRONG,
            },
        );
        assert_eq!(
            signature_entries(&big, 1000),
            one.serialized()[SIG_HEADER..].to_vec(),
            "two threads, one signature"
        );
    }
}
